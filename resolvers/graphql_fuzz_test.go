package resolvers_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"outdial/internal/server"
	"outdial/internal/testenv"
	"strings"
	"testing"
	"time"
)

// fuzzRequestBound is the longest a fuzzed request may take: the server's
// request deadline in this test (fuzzRequestTimeout) plus room for a
// loaded machine. Validation is bounded far below it (see
// BenchmarkAdversarialDocuments).
const (
	fuzzRequestTimeout = 2 * time.Second
	fuzzRequestBound   = 3 * fuzzRequestTimeout
)

// FuzzGraphQLHandler sends random documents and variables to a real
// server on SQLite, as the admin or as an AGENT token: no answer may be a
// 5xx or an INTERNAL_SERVER_ERROR (a panic or an unexpected error), none
// may take longer than fuzzRequestBound, and every answer is JSON.
//
// CI runs it for a few seconds (.ci/fuzz); a longer run is in the README.
// The corpus is testdata/fuzz/FuzzGraphQLHandler.
func FuzzGraphQLHandler(f *testing.F) {
	e := testenv.Setup(f, func(c *server.Config) { c.RequestTimeout = fuzzRequestTimeout })
	queue := e.QueueID("Support", "VOICE")
	agent := e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	_, agentToken := e.Token("aiko-app", "AGENT", agent)

	seeds := []struct {
		query, vars string
		asAgent     bool
	}{
		{`{ viewer { role agent { name } } }`, ``, false},
		{`{ viewer { role agent { name } } }`, ``, true},
		{`query($id: ID!) { node(id: $id) { id ... on Queue { name agents(first: 5) { nodes { id } pageInfo { endCursor } } } } }`, `{"id":"` + queue + `"}`, false},
		{`{ agents(first: 100, after: "Y3Vyc29yOjE") { totalCount edges { cursor node { id queues { name } capacityProfiles { name } } } } }`, ``, false},
		{`query($f: AgentFilter) { agents(filter: $f) { nodes { email callingAbility { canMakeCalls blockers { code } } } } }`, `{"f":{"search":"ai"}}`, true},
		{`mutation($n: String!) { createQueue(input: {name: $n, channel: VOICE}) { queue { id } userErrors { code field } } }`, `{"n":"Ｓales\u200b"}`, false},
		{`mutation { createCapacityProfile(input: {name: "x", workItemLimit: 2147483648}) { userErrors { code } } }`, ``, false},
		{`mutation($l: Int) { createCapacityProfile(input: {name: "y", workItemLimit: $l}) { userErrors { code } } }`, `{"l":"3"}`, false},
		{`mutation { addPhoneNumber(input: {e164: "+1 425-555-0142 ext. 123"}) { userErrors { code message } } }`, ``, false},
		{`{ auditLog(first: 3, filter: {action: "createQueue "}) { nodes { action details } } }`, ``, false},
		{`{ webhookEndpoints { nodes { url deliveries(first: 2) { nodes { id } } } } }`, ``, true},
		{`query A { __typename } query B { ...F } fragment F on Query { __typename ...F }`, ``, false},
		{`{ a: __typename a: __typename a: __typename b: viewer { role } ... on Query { a: __typename } }`, ``, false},
		{`{ nodes(ids: ["UXVldWU6MTM\n", "", "QWdlbnQ6MQ"]) { id } }`, ``, false},
		{`{ __schema { types { name fields { name args { name } } } } }`, ``, false},
		{`{ callingSummary { total canCall } }`, `[]`, false},
		{`subscription { callingAbilityChanged { current { version } } }`, `null`, false},
		{`{ agent(id: "1", email: "a@b") { id } }`, `{"x": 1e400}`, false},
		{"{ " + strings.Repeat("__typename ", 50) + "}", ``, true},
		{`{`, `{`, false},
	}
	for _, s := range seeds {
		f.Add(s.query, s.vars, s.asAgent)
	}
	client := &http.Client{Timeout: 2 * fuzzRequestBound}
	f.Fuzz(func(t *testing.T, query, vars string, asAgent bool) {
		q, _ := json.Marshal(query)
		body := `{"query":` + string(q)
		if vars != "" {
			body += `,"variables":` + vars
		}
		body += "}"
		req, err := http.NewRequest(http.MethodPost, e.Srv.URL+"/graphql", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		token := e.Admin
		if asAgent {
			token = agentToken
		}
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err != nil {
			t.Fatalf("read the answer: %v", err)
		}
		if resp.StatusCode >= 500 {
			t.Fatalf("HTTP %d: %s", resp.StatusCode, raw)
		}
		if took > fuzzRequestBound {
			t.Fatalf("the request took %v (bound %v)", took, fuzzRequestBound)
		}
		if !json.Valid(raw) {
			t.Fatalf("HTTP %d, the answer is not JSON: %q", resp.StatusCode, raw)
		}
		if bytes.Contains(raw, []byte(`"INTERNAL_SERVER_ERROR"`)) {
			t.Fatalf("internal error: %s", raw)
		}
	})
}
