package testenv

import (
	"fmt"
	"slices"
)

// GraphQL documents of the tests: the mutations that set up an
// organisation, each selecting the payload's object and userErrors.
const (
	AddNumber = `mutation($n: String!, $plan: [CallingCapability!]) {
		addPhoneNumber(input: {number: $n, callingPlan: $plan}) {
			phoneNumber { id e164 type countryCode callingPlan canMakeCalls } userErrors { field message code } } }`
	Upgrade = `mutation($id: ID!, $caps: [CallingCapability!]!) {
		upgradeCallingPlan(input: {phoneNumberId: $id, capabilities: $caps}) {
			phoneNumber { id callingPlan canMakeCalls } userErrors { field message code } } }`
	Downgrade = `mutation($id: ID!, $caps: [CallingCapability!]!) {
		downgradeCallingPlan(input: {phoneNumberId: $id, capabilities: $caps}) {
			phoneNumber { id callingPlan canMakeCalls } userErrors { field message code } } }`
	CreateQueue = `mutation($name: String!, $channel: QueueChannel!) {
		createQueue(input: {name: $name, channel: $channel}) { queue { id name channel } userErrors { field message code } } }`
	CreateCapacity = `mutation($name: String!, $limit: Int, $reset: ResetFrequency, $block: Boolean) {
		createCapacityProfile(input: {name: $name, workItemLimit: $limit, resetFrequency: $reset, blockAssignment: $block}) {
			capacityProfile { id name workItemLimit resetFrequency blockAssignment } userErrors { field message code } } }`
	CreateProfile = `mutation($name: String!, $q: ID!, $cp: ID!, $nums: [ID!]!, $def: Boolean, $cnam: String) {
		createOutboundProfile(input: {name: $name, queueId: $q, capacityProfileId: $cp, phoneNumberIds: $nums, isDefault: $def, callerIdName: $cnam}) {
			outboundProfile { id name isDefault callerIdName phoneNumbers { e164 } queue { name } capacityProfile { name } }
			userErrors { field message code } } }`
	CreateAgent = `mutation($name: String!, $email: String!, $unified: Boolean) {
		createAgent(input: {name: $name, email: $email, unifiedRoutingEnabled: $unified}) {
			agent { id name email unifiedRoutingEnabled } userErrors { field message code } } }`
	AddToCapacity = `mutation($cp: ID!, $agents: [ID!]!) {
		addAgentsToCapacityProfile(input: {capacityProfileId: $cp, agentIds: $agents}) {
			capacityProfile { id agentCount } userErrors { field message code } } }`
	AddToQueue = `mutation($q: ID!, $agents: [ID!]!) {
		addAgentsToQueue(input: {queueId: $q, agentIds: $agents}) { queue { id agentCount } userErrors { field message code } } }`
	AssignPersonal = `mutation($agent: ID!, $number: ID!) {
		assignPersonalNumber(input: {agentId: $agent, phoneNumberId: $number}) {
			agent { id personalNumber { e164 } } userErrors { field message code } } }`
	AddNumberLabel = `mutation($n: String!, $label: String) { addPhoneNumber(input: {number: $n, label: $label}) {
		phoneNumber { id label } userErrors { field message code } } }`
	UpdateProfileNumbers = `mutation($id: ID!, $nums: [ID!]) {
		updateOutboundProfile(input: {id: $id, phoneNumberIds: $nums}) {
			outboundProfile { id phoneNumbers { e164 } } userErrors { field message code } } }`
	CreateQueueFull = `mutation($name: String!, $channel: QueueChannel!, $desc: String) {
		createQueue(input: {name: $name, channel: $channel, description: $desc}) {
			queue { id name channel description } userErrors { field message code } } }`
	UpdateQueueName = `mutation($id: ID!, $name: String) {
		updateQueue(input: {id: $id, name: $name}) { queue { id name } userErrors { field message code } } }`
	DeleteQueue = `mutation($id: ID!) { deleteQueue(input: {id: $id}) { deletedId userErrors { field message code } } }`
	SetOverflow = `mutation($q: ID!, $to: String!, $num: ID!) {
		setQueueOverflow(input: {queueId: $q, transferTo: $to, callerIdNumberId: $num}) {
			queue { id overflow { transferTo callerId { e164 } } } userErrors { field message code } } }`
	ClearOverflow   = `mutation($id: ID!) { clearQueueOverflow(input: {id: $id}) { queue { id overflow { transferTo } } userErrors { field message code } } }`
	RemoveFromQueue = `mutation($q: ID!, $agents: [ID!]!) {
		removeAgentsFromQueue(input: {queueId: $q, agentIds: $agents}) { queue { id agentCount } userErrors { field message code } } }`
	UpdateCapacity = `mutation($id: ID!, $name: String, $limit: Int, $reset: ResetFrequency, $block: Boolean) {
		updateCapacityProfile(input: {id: $id, name: $name, workItemLimit: $limit, resetFrequency: $reset, blockAssignment: $block}) {
			capacityProfile { id name workItemLimit resetFrequency blockAssignment } userErrors { field message code } } }`
	DeleteCapacity     = `mutation($id: ID!) { deleteCapacityProfile(input: {id: $id}) { deletedId userErrors { field message code } } }`
	RemoveFromCapacity = `mutation($cp: ID!, $agents: [ID!]!) {
		removeAgentsFromCapacityProfile(input: {capacityProfileId: $cp, agentIds: $agents}) {
			capacityProfile { id agentCount } userErrors { field message code } } }`
	UpdateProfile = `mutation($id: ID!, $name: String, $q: ID, $cp: ID, $nums: [ID!], $def: Boolean, $cnam: String) {
		updateOutboundProfile(input: {id: $id, name: $name, queueId: $q, capacityProfileId: $cp, phoneNumberIds: $nums, isDefault: $def, callerIdName: $cnam}) {
			outboundProfile { id name isDefault callerIdName phoneNumbers { e164 } } userErrors { field message code } } }`
	DeleteProfile = `mutation($id: ID!) { deleteOutboundProfile(input: {id: $id}) { deletedId userErrors { field message code } } }`
	ReleaseNumber = `mutation($id: ID!) { releasePhoneNumber(input: {id: $id}) { deletedId userErrors { field message code } } }`
	UpsertAgents  = `mutation($agents: [CreateAgentInput!]!) {
		upsertAgents(input: {agents: $agents}) { agents { id name email unifiedRoutingEnabled } userErrors { field message code } } }`
	UpdateAgent = `mutation($id: ID!, $name: String, $unified: Boolean) {
		updateAgent(input: {id: $id, name: $name, unifiedRoutingEnabled: $unified}) {
			agent { id name unifiedRoutingEnabled personalNumber { e164 } } userErrors { field message code } } }`
	UnassignPersonal = `mutation($id: ID!) { unassignPersonalNumber(input: {id: $id}) { agent { id personalNumber { e164 } } userErrors { field message code } } }`
	CreateToken      = `mutation($name: String!, $role: Role!, $agent: ID) {
		createApiToken(input: {name: $name, role: $role, agentId: $agent}) {
			token apiToken { id name role revoked lastUsedAt agent { email } } userErrors { field message code } } }`
	RevokeToken = `mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { id revoked } userErrors { field message code } } }`
)

// IDOnly decodes an object of which only the ID is selected.
type IDOnly struct{ ID string }

// AddNumberID adds a number (with a calling plan, when given) and returns
// its ID.
func (e *Env) AddNumberID(number string, plan ...string) string {
	e.T.Helper()
	var p struct{ PhoneNumber IDOnly }
	vars := map[string]any{"n": number}
	if plan != nil {
		vars["plan"] = plan
	}
	e.MustMutate("addPhoneNumber", AddNumber, vars, &p)
	return p.PhoneNumber.ID
}

// CreateAgentID creates an agent and returns its ID.
func (e *Env) CreateAgentID(name, email string, unified bool) string {
	e.T.Helper()
	var p struct{ Agent IDOnly }
	e.MustMutate("createAgent", CreateAgent, map[string]any{"name": name, "email": email, "unified": unified}, &p)
	return p.Agent.ID
}

// QueueID creates a queue and returns its ID.
func (e *Env) QueueID(name, channel string) string {
	e.T.Helper()
	var p struct{ Queue IDOnly }
	e.MustMutate("createQueue", CreateQueue, map[string]any{"name": name, "channel": channel}, &p)
	return p.Queue.ID
}

// CapacityID creates a capacity profile and returns its ID.
func (e *Env) CapacityID(name string) string {
	e.T.Helper()
	var p struct{ CapacityProfile IDOnly }
	e.MustMutate("createCapacityProfile", CreateCapacity, map[string]any{"name": name}, &p)
	return p.CapacityProfile.ID
}

// ProfileID creates an outbound profile and returns its ID.
func (e *Env) ProfileID(name, queue, capacity string, numbers []string, isDefault bool) string {
	e.T.Helper()
	var p struct{ OutboundProfile IDOnly }
	e.MustMutate("createOutboundProfile", CreateProfile, map[string]any{"name": name, "q": queue, "cp": capacity,
		"nums": numbers, "def": isDefault}, &p)
	return p.OutboundProfile.ID
}

// Join adds agents to a queue and to a capacity profile (each when not
// "").
func (e *Env) Join(queue, capacity string, agents ...string) {
	e.T.Helper()
	if queue != "" {
		e.MustMutate("addAgentsToQueue", AddToQueue, map[string]any{"q": queue, "agents": agents}, nil)
	}
	if capacity != "" {
		e.MustMutate("addAgentsToCapacityProfile", AddToCapacity, map[string]any{"cp": capacity, "agents": agents}, nil)
	}
}

// Assign makes number agent's personal number.
func (e *Env) Assign(agent, number string) {
	e.T.Helper()
	e.MustMutate("assignPersonalNumber", AssignPersonal, map[string]any{"agent": agent, "number": number}, nil)
}

// Token creates an API token (of agent, when not "") and returns its ID
// and bearer value.
func (e *Env) Token(name, role, agent string) (id, value string) {
	e.T.Helper()
	var p struct {
		Token    string
		APIToken IDOnly `json:"apiToken"`
	}
	vars := map[string]any{"name": name, "role": role}
	if agent != "" {
		vars["agent"] = agent
	}
	e.MustMutate("createApiToken", CreateToken, vars, &p)
	if p.Token == "" {
		e.T.Fatalf("createApiToken returned no token")
	}
	return p.APIToken.ID, p.Token
}

// StaleQueueID returns the ID of a queue that existed and was deleted.
func (e *Env) StaleQueueID() string {
	e.T.Helper()
	id := e.QueueID("Short-lived queue", "VOICE")
	e.MustMutate("deleteQueue", DeleteQueue, map[string]any{"id": id}, nil)
	return id
}

// AuditEntry is an auditLog node.
type AuditEntry struct {
	ID       string
	Actor    string
	Action   string
	TargetID *string `json:"targetId"`
	Details  string
}

// AuditLog reads the newest audit entries (at most 100), with a filter,
// and their totalCount.
func (e *Env) AuditLog(filter map[string]any) (entries []AuditEntry, total int) {
	e.T.Helper()
	var data struct {
		AuditLog struct {
			Nodes      []AuditEntry
			TotalCount int
		}
	}
	e.Query(`query($f: AuditLogFilter) { auditLog(first: 100, filter: $f) { totalCount nodes { id actor action targetId details } } }`,
		map[string]any{"f": filter}, &data)
	return data.AuditLog.Nodes, data.AuditLog.TotalCount
}

// AgentIDs reads the IDs of an agents() query with a filter, in order,
// and its totalCount.
func (e *Env) AgentIDs(filter map[string]any) ([]string, int) {
	e.T.Helper()
	var data struct {
		Agents struct {
			Nodes      []IDOnly
			TotalCount int
		}
	}
	e.Query(`query($f: AgentFilter) { agents(first: 100, filter: $f) { totalCount nodes { id } } }`, map[string]any{"f": filter}, &data)
	ids := []string{}
	for _, n := range data.Agents.Nodes {
		ids = append(ids, n.ID)
	}
	return ids, data.Agents.TotalCount
}

// SameSet reports whether a and b hold the same strings, in any order.
func SameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// Ability is an agent's callingAbility as the API shows it.
type Ability struct {
	Version      int  `json:"version"`
	CanMakeCalls bool `json:"canMakeCalls"`
	CallerIds    []struct {
		PhoneNumber     struct{ E164 string }
		Source          string
		OutboundProfile struct{ Name string }
		WorkItemLimit   int
		ResetFrequency  string
		BlockAssignment bool
		CallerIDName    *string `json:"callerIdName"`
	} `json:"callerIds"`
	Blockers []struct {
		Code            string
		Message         string
		OutboundProfile *struct{ Name string }
	} `json:"blockers"`
}

// Callers writes the caller IDs as "e164/source/profile".
func (a Ability) Callers() []string {
	out := []string{}
	for _, c := range a.CallerIds {
		out = append(out, fmt.Sprintf("%s/%s/%s", c.PhoneNumber.E164, c.Source, c.OutboundProfile.Name))
	}
	return out
}

// BlockerCodes lists the codes of the blockers.
func (a Ability) BlockerCodes() []string {
	out := []string{}
	for _, b := range a.Blockers {
		out = append(out, b.Code)
	}
	return out
}

// AbilityQuery reads an agent's callingAbility as Ability decodes it.
const AbilityQuery = `query($id: ID!) { agent(id: $id) { callingAbility {
	version canMakeCalls
	callerIds { phoneNumber { e164 } source outboundProfile { name } workItemLimit resetFrequency blockAssignment callerIdName }
	blockers { code message outboundProfile { name } } } } }`

// Ability reads an agent's calling ability.
func (e *Env) Ability(agentID string) Ability {
	e.T.Helper()
	var data struct {
		Agent struct{ CallingAbility Ability }
	}
	e.Query(AbilityQuery, map[string]any{"id": agentID}, &data)
	return data.Agent.CallingAbility
}

// ExpectVersion checks an agent's ability version after a step.
func (e *Env) ExpectVersion(step, agentID string, want int) Ability {
	e.T.Helper()
	ab := e.Ability(agentID)
	if ab.Version != want {
		e.T.Fatalf("%s: ability version %d, want %d (%+v)", step, ab.Version, want, ab)
	}
	return ab
}
