package resolvers_test

import (
	"net/http"
	"outdial/internal/testenv"
	"strings"
	"testing"
)

// TestUnauthenticated checks that a request without a valid bearer token
// (none, malformed, unknown, revoked) gets HTTP 401 with UNAUTHENTICATED and
// no data, and that nothing runs.
func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	revokedID, revoked := e.Token("soon revoked", "VIEWER", "")
	e.QueryAs(revoked, `{ viewer { role } }`, nil, nil) // works while valid
	var rv struct {
		APIToken struct{ Revoked bool } `json:"apiToken"`
	}
	e.MustMutate("revokeApiToken", testenv.RevokeToken, map[string]any{"id": revokedID}, &rv)
	if !rv.APIToken.Revoked {
		t.Fatalf("revokeApiToken answered revoked=false")
	}

	mutation := `mutation { createQueue(input: {name: "Sneaky", channel: VOICE}) { queue { id } userErrors { code } } }`
	for _, c := range []struct{ name, token string }{
		{"no token", ""},
		{"unknown token", "odt_not-a-token-anyone-has"},
		{"revoked token", revoked},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := e.As(t)
			for _, q := range []string{`{ viewer { role } }`, mutation} {
				r := e.Rejected(c.token, "UNAUTHENTICATED", http.StatusUnauthorized, q, nil)
				testenv.RequireNoData(t, r)
			}
		})
	}
	// A header that is not a bearer token is no token.
	req, _ := http.NewRequest(http.MethodPost, e.Srv.URL+"/graphql", strings.NewReader(`{"query":"{ viewer { role } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Basic "+testenv.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Basic authorization: HTTP %d, want 401", resp.StatusCode)
	}
}

// TestViewerToken checks that a VIEWER token reads everything but may not
// change anything (FORBIDDEN, nothing written).
func TestViewerToken(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	aiko := e.CreateAgentID("Aiko", "aiko@example.com", true)
	_, viewer := e.Token("dashboard", "VIEWER", "")

	var data struct {
		Viewer struct {
			Role  string
			Token struct{ Name string }
			Agent *struct{ Email string }
		}
		Agents         struct{ TotalCount int }
		CallingSummary struct{ Agents int }
		AuditLog       struct{ TotalCount int }
	}
	e.QueryAs(viewer, `{ viewer { role token { name } agent { email } } agents { totalCount } callingSummary { agents } auditLog { totalCount } }`, nil, &data)
	if data.Viewer.Role != "VIEWER" || data.Viewer.Token.Name != "dashboard" || data.Viewer.Agent != nil {
		t.Fatalf("viewer = %+v", data.Viewer)
	}
	if data.Agents.TotalCount != 1 || data.CallingSummary.Agents != 1 || data.AuditLog.TotalCount == 0 {
		t.Fatalf("viewer reads %+v", data)
	}
	r := e.Rejected(viewer, "FORBIDDEN", 0, `mutation($id: ID!) { updateAgent(input: {id: $id, name: "Renamed"}) { agent { name } userErrors { code } } }`,
		map[string]any{"id": aiko})
	if strings.Contains(string(r.Data), "Renamed") {
		t.Fatalf("forbidden mutation answered data %s", r.Data)
	}
	e.Rejected(viewer, "FORBIDDEN", 0, `mutation { createApiToken(input: {name: "escalate", role: ADMIN}) { token userErrors { code } } }`, nil)
}

// TestAgentToken checks that an AGENT token sees its own agent and nothing
// of any other agent, whichever way it asks, and may not change anything.
func TestAgentToken(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	number := e.AddNumberID("+1 425 555 0100", "MAKE_CALLS")
	personal := e.AddNumberID("+1 206 555 0123")
	other := e.AddNumberID("+1 206 555 0124")
	q, cp := e.QueueID("Outbound", "VOICE"), e.CapacityID("Voice")
	e.ProfileID("Outbound", q, cp, []string{number}, true)
	aiko := e.CreateAgentID("Aiko", "aiko@example.com", true)
	ben := e.CreateAgentID("Ben", "ben@example.com", true)
	e.Join(q, cp, aiko, ben)
	e.Assign(aiko, personal)
	e.Assign(ben, other)
	_, agentTok := e.Token("aiko's app", "AGENT", aiko)

	// Itself: every way works.
	var self struct {
		Viewer struct {
			Role  string
			Token struct{ Name string }
			Agent struct{ Email string }
		}
		ByID    *struct{ Email string } `json:"byId"`
		ByEmail *struct{ Email string } `json:"byEmail"`
		Node    *struct{ Email string }
		Agents  struct {
			TotalCount int
			Nodes      []struct{ Email string }
		}
	}
	e.QueryAs(agentTok, `query($id: ID!) {
		viewer { role token { name } agent { email } }
		byId: agent(id: $id) { email callingAbility { canMakeCalls } }
		byEmail: agent(email: "AIKO@example.com") { email }
		node(id: $id) { ... on Agent { email } }
		agents { totalCount nodes { email } } }`, map[string]any{"id": aiko}, &self)
	if self.Viewer.Role != "AGENT" || self.Viewer.Token.Name != "aiko's app" || self.Viewer.Agent.Email != "aiko@example.com" {
		t.Fatalf("viewer = %+v", self.Viewer)
	}
	if self.ByID == nil || self.ByEmail == nil || self.Node == nil || self.Agents.TotalCount != 1 ||
		len(self.Agents.Nodes) != 1 || self.Agents.Nodes[0].Email != "aiko@example.com" {
		t.Fatalf("an AGENT token does not see its own agent: %+v", self)
	}

	// The other agent: invisible everywhere.
	r := e.Do(agentTok, `query($id: ID!) {
		byId: agent(id: $id) { email }
		byEmail: agent(email: "ben@example.com") { email }
		node(id: $id) { id }
		nodes(ids: [$id]) { id }
		agents(filter: {search: "ben"}) { totalCount nodes { email } }
		viewer { agent {
			queues { agentCount agents(first: 100) { totalCount nodes { email } }
				outboundProfiles { queue { agentCount } capacityProfile { agentCount } } }
			capacityProfiles { agentCount agents(first: 100) { totalCount nodes { email } } } } } }`, map[string]any{"id": ben})
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("AGENT read: HTTP %d %+v", r.Status, r.Errors)
	}
	if strings.Contains(string(r.Data), "ben@example.com") || strings.Contains(string(r.Data), ben) {
		t.Fatalf("an AGENT token sees another agent: %s", r.Data)
	}
	for _, want := range []string{`"byId":null`, `"byEmail":null`, `"node":null`, `"nodes":[null]`, `"agents":{"totalCount":0,"nodes":[]}`} {
		if !strings.Contains(string(r.Data), want) {
			t.Errorf("answer lacks %s: %s", want, r.Data)
		}
	}
	// Member lists and counts show aiko alone: nothing tells that ben is there.
	if strings.Count(string(r.Data), `"totalCount":1`) != 2 || strings.Count(string(r.Data), `"agentCount":1`) != 4 {
		t.Errorf("queue and capacity profile members should show aiko alone (totalCount and agentCount 1): %s", r.Data)
	}
	// Through a phone number: the personal number's agent.
	r = e.Do(agentTok, `query($id: ID!) { node(id: $id) { ... on PhoneNumber { e164 personalAgent { email } } } }`, map[string]any{"id": other})
	if strings.Contains(string(r.Data), "ben@example.com") {
		t.Fatalf("an AGENT token sees another agent through a number: %s", r.Data)
	}
	// The configuration lists are not for agent apps.
	for _, q := range []string{`{ queues { totalCount } }`, `{ phoneNumbers { totalCount } }`, `{ callingSummary { agents } }`,
		`{ auditLog { totalCount } }`, `{ apiTokens { totalCount } }`} {
		if r := e.Do(agentTok, q, nil); r.Code() != "FORBIDDEN" {
			t.Errorf("%s as AGENT: %+v, want FORBIDDEN", q, r.Errors)
		}
	}
	// No mutation, not even on itself.
	e.Rejected(agentTok, "FORBIDDEN", 0, `mutation($id: ID!) { updateAgent(input: {id: $id, unifiedRoutingEnabled: false}) { agent { id } userErrors { code } } }`,
		map[string]any{"id": aiko})
	e.Rejected(agentTok, "FORBIDDEN", 0, `mutation($id: ID!) { unassignPersonalNumber(input: {id: $id}) { agent { id } userErrors { code } } }`,
		map[string]any{"id": ben})
}

// TestAPITokens checks that createApiToken shows the token once (never
// again, neither in apiTokens nor in the audit log), that lastUsedAt is
// set once it is used, and that AGENT tokens need an agent.
func TestAPITokens(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	aiko := e.CreateAgentID("Aiko", "aiko@example.com", true)
	id, value := e.Token("reporting", "VIEWER", "")
	if !strings.HasPrefix(value, "odt_") || len(value) < 30 {
		t.Fatalf("token %q is not an odt_ token with enough entropy", value)
	}
	const listTokens = `{ apiTokens(first: 100) { totalCount nodes { id name role revoked lastUsedAt createdAt agent { email } } } }`
	type tokenNode struct {
		ID, Name, Role string
		LastUsedAt     *string
	}
	var list struct {
		APITokens struct{ Nodes []tokenNode } `json:"apiTokens"`
	}
	lastUsed := func() *string {
		t.Helper()
		r := e.Do(e.Admin, listTokens, nil)
		if strings.Contains(string(r.Data), value) {
			t.Fatalf("apiTokens shows the token value: %s", r.Data)
		}
		e.Query(listTokens, nil, &list)
		for _, n := range list.APITokens.Nodes {
			if n.ID == id {
				return n.LastUsedAt
			}
		}
		t.Fatalf("token %s missing from apiTokens", id)
		return nil
	}
	if lu := lastUsed(); lu != nil {
		t.Fatalf("lastUsedAt = %s before any use", *lu)
	}
	e.QueryAs(value, `{ viewer { role } }`, nil, nil)
	if lu := lastUsed(); lu == nil {
		t.Fatalf("lastUsedAt is still null after a request with the token")
	}
	entries, _ := e.AuditLog(map[string]any{"action": "createApiToken"})
	for _, en := range entries {
		if strings.Contains(en.Details, value) || strings.Contains(en.Details, value[4:]) {
			t.Fatalf("the audit log holds the token: %s", en.Details)
		}
	}
	var stored int64
	if err := e.App.DB.Table("api_tokens").Where("token_hash = ?", value).Count(&stored).Error; err != nil || stored != 0 {
		t.Fatalf("the token is stored in clear (%d rows, %v)", stored, err)
	}

	e.Refused("INVALID_INPUT", "createApiToken", testenv.CreateToken, map[string]any{"name": "app", "role": "AGENT"})
	e.Refused("INVALID_INPUT", "createApiToken", testenv.CreateToken, map[string]any{"name": "app", "role": "VIEWER", "agent": aiko})
	e.Refused("ALREADY_EXISTS", "createApiToken", testenv.CreateToken, map[string]any{"name": "reporting", "role": "VIEWER"})
}
