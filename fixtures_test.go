package main

import (
	"io"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"outdial/models/dbtest"
)

// Helpers shared by the acceptance tests of the core API: mutation strings
// beyond those of the walkthrough, small constructors and checks.

const (
	createQueueFull = `mutation($name: String!, $channel: QueueChannel!, $desc: String) {
		createQueue(input: {name: $name, channel: $channel, description: $desc}) {
			queue { id name channel description } userErrors { field message code } } }`
	updateQueueName = `mutation($id: ID!, $name: String) {
		updateQueue(input: {id: $id, name: $name}) { queue { id name } userErrors { field message code } } }`
	deleteQueueM = `mutation($id: ID!) { deleteQueue(input: {id: $id}) { deletedId userErrors { field message code } } }`
	setOverflow  = `mutation($q: ID!, $to: String!, $num: ID!) {
		setQueueOverflow(input: {queueId: $q, transferTo: $to, callerIdNumberId: $num}) {
			queue { id overflow { transferTo callerId { e164 } } } userErrors { field message code } } }`
	clearOverflow   = `mutation($id: ID!) { clearQueueOverflow(input: {id: $id}) { queue { id overflow { transferTo } } userErrors { field message code } } }`
	removeFromQueue = `mutation($q: ID!, $agents: [ID!]!) {
		removeAgentsFromQueue(input: {queueId: $q, agentIds: $agents}) { queue { id agentCount } userErrors { field message code } } }`
	updateCapacity = `mutation($id: ID!, $name: String, $limit: Int, $reset: ResetFrequency, $block: Boolean) {
		updateCapacityProfile(input: {id: $id, name: $name, workItemLimit: $limit, resetFrequency: $reset, blockAssignment: $block}) {
			capacityProfile { id name workItemLimit resetFrequency blockAssignment } userErrors { field message code } } }`
	deleteCapacity     = `mutation($id: ID!) { deleteCapacityProfile(input: {id: $id}) { deletedId userErrors { field message code } } }`
	removeFromCapacity = `mutation($cp: ID!, $agents: [ID!]!) {
		removeAgentsFromCapacityProfile(input: {capacityProfileId: $cp, agentIds: $agents}) {
			capacityProfile { id agentCount } userErrors { field message code } } }`
	updateProfile = `mutation($id: ID!, $name: String, $q: ID, $cp: ID, $nums: [ID!], $def: Boolean, $cnam: String) {
		updateOutboundProfile(input: {id: $id, name: $name, queueId: $q, capacityProfileId: $cp, phoneNumberIds: $nums, isDefault: $def, callerIdName: $cnam}) {
			outboundProfile { id name isDefault callerIdName phoneNumbers { e164 } } userErrors { field message code } } }`
	deleteProfile = `mutation($id: ID!) { deleteOutboundProfile(input: {id: $id}) { deletedId userErrors { field message code } } }`
	releaseNumber = `mutation($id: ID!) { releasePhoneNumber(input: {id: $id}) { deletedId userErrors { field message code } } }`
	upsertAgentsM = `mutation($agents: [CreateAgentInput!]!) {
		upsertAgents(input: {agents: $agents}) { agents { id name email unifiedRoutingEnabled } userErrors { field message code } } }`
	updateAgentM = `mutation($id: ID!, $name: String, $unified: Boolean) {
		updateAgent(input: {id: $id, name: $name, unifiedRoutingEnabled: $unified}) {
			agent { id name unifiedRoutingEnabled personalNumber { e164 } } userErrors { field message code } } }`
	unassignPersonal = `mutation($id: ID!) { unassignPersonalNumber(input: {id: $id}) { agent { id personalNumber { e164 } } userErrors { field message code } } }`
	createTokenM     = `mutation($name: String!, $role: Role!, $agent: ID) {
		createApiToken(input: {name: $name, role: $role, agentId: $agent}) {
			token apiToken { id name role revoked lastUsedAt agent { email } } userErrors { field message code } } }`
	revokeTokenM = `mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { id revoked } userErrors { field message code } } }`
)

// as returns a copy of e that reports to t (a subtest).
func (e *testEnv) as(t *testing.T) *testEnv {
	c := *e
	c.t = t
	return &c
}

func (e *testEnv) queueID(name, channel string) string {
	e.t.Helper()
	var p struct{ Queue idOnly }
	e.mustMutate("createQueue", createQueue, map[string]any{"name": name, "channel": channel}, &p)
	return p.Queue.ID
}

func (e *testEnv) capacityID(name string) string {
	e.t.Helper()
	var p struct{ CapacityProfile idOnly }
	e.mustMutate("createCapacityProfile", createCapacity, map[string]any{"name": name}, &p)
	return p.CapacityProfile.ID
}

func (e *testEnv) profileID(name, queue, capacity string, numbers []string, isDefault bool) string {
	e.t.Helper()
	var p struct{ OutboundProfile idOnly }
	e.mustMutate("createOutboundProfile", createProfile, map[string]any{"name": name, "q": queue, "cp": capacity,
		"nums": numbers, "def": isDefault}, &p)
	return p.OutboundProfile.ID
}

func (e *testEnv) join(queue, capacity string, agents ...string) {
	e.t.Helper()
	if queue != "" {
		e.mustMutate("addAgentsToQueue", addToQueue, map[string]any{"q": queue, "agents": agents}, nil)
	}
	if capacity != "" {
		e.mustMutate("addAgentsToCapacityProfile", addToCapacity, map[string]any{"cp": capacity, "agents": agents}, nil)
	}
}

func (e *testEnv) assign(agent, number string) {
	e.t.Helper()
	e.mustMutate("assignPersonalNumber", assignPersonal, map[string]any{"agent": agent, "number": number}, nil)
}

// token creates an API token and returns its ID and bearer value.
func (e *testEnv) token(name, role, agent string) (id, value string) {
	e.t.Helper()
	var p struct {
		Token    string
		APIToken idOnly `json:"apiToken"`
	}
	vars := map[string]any{"name": name, "role": role}
	if agent != "" {
		vars["agent"] = agent
	}
	e.mustMutate("createApiToken", createTokenM, vars, &p)
	if p.Token == "" {
		e.t.Fatalf("createApiToken returned no token")
	}
	return p.APIToken.ID, p.Token
}

// staleQueueID returns the ID of a queue that existed and was deleted.
func (e *testEnv) staleQueueID() string {
	e.t.Helper()
	id := e.queueID("Short-lived queue", "VOICE")
	e.mustMutate("deleteQueue", deleteQueueM, map[string]any{"id": id}, nil)
	return id
}

// rejected sends a request with token that must fail with a top-level
// error of code (and HTTP status, when status is not 0) and checks that the
// database is exactly as before.
func (e *testEnv) rejected(token, code string, status int, query string, vars map[string]any) gqlResponse {
	e.t.Helper()
	before := snapshot(e.t, e.app.db)
	r := e.do(token, query, vars)
	if r.code() != code {
		e.t.Fatalf("answer %d %+v; want a top-level %s error\nquery: %s", r.Status, r.Errors, code, query)
	}
	if status != 0 && r.Status != status {
		e.t.Fatalf("HTTP status %d, want %d (%+v)", r.Status, status, r.Errors)
	}
	if after := snapshot(e.t, e.app.db); !reflect.DeepEqual(before, after) {
		e.t.Fatalf("request rejected with %s but the database changed:\n%s", code, diffSnapshots(before, after))
	}
	return r
}

// hasData reports whether a response carries data other than null.
func (r gqlResponse) hasData() bool {
	return len(r.Data) > 0 && string(r.Data) != "null"
}

// requireNoData checks that an unauthenticated or refused request got
// no data at all.
func requireNoData(t *testing.T, r gqlResponse) {
	t.Helper()
	if r.hasData() {
		t.Fatalf("answer carries data %s; want none", r.Data)
	}
}

// auditEntry is an auditLog node.
type auditEntry struct {
	ID       string
	Actor    string
	Action   string
	TargetID *string `json:"targetId"`
	Details  string
}

// auditLog reads the newest audit entries (at most 100), with a filter.
func (e *testEnv) auditLog(filter map[string]any) (entries []auditEntry, total int) {
	e.t.Helper()
	var data struct {
		AuditLog struct {
			Nodes      []auditEntry
			TotalCount int
		}
	}
	e.query(`query($f: AuditLogFilter) { auditLog(first: 100, filter: $f) { totalCount nodes { id actor action targetId details } } }`,
		map[string]any{"f": filter}, &data)
	return data.AuditLog.Nodes, data.AuditLog.TotalCount
}

// agentIDs reads the IDs of an agents() query with a filter, in order,
// and its totalCount.
func (e *testEnv) agentIDs(filter map[string]any) ([]string, int) {
	e.t.Helper()
	var data struct {
		Agents struct {
			Nodes      []idOnly
			TotalCount int
		}
	}
	e.query(`query($f: AgentFilter) { agents(first: 100, filter: $f) { totalCount nodes { id } } }`, map[string]any{"f": filter}, &data)
	ids := []string{}
	for _, n := range data.Agents.Nodes {
		ids = append(ids, n.ID)
	}
	return ids, data.Agents.TotalCount
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// get sends a GET request (with token, unless empty) and returns status and body.
func (e *testEnv) get(path string, token string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, body
}

// setupCounted is setup with statement counting on the server's
// database (its request pool and its background pool), for doCounted.
// It is installed before the webhook workers start: gorm's callbacks may
// not be registered while another goroutine runs statements (the race
// detector says so).
func setupCounted(t *testing.T, opts ...func(*config)) *testEnv {
	t.Helper()
	return start(t, func(a *app) { dbtest.CountStatements(t, a.db, a.bg) }, opts...)
}
