package resolvers_test

import (
	"encoding/base64"
	"fmt"
	"outdial/internal/testenv"
	"strings"
	"testing"
)

// b64 is the base64url (no padding) of s, the alphabet of IDs and cursors.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// respellings returns other strings that base64 decoders read as the same
// bytes as id, or that decode to another spelling of its number.
func respellings(t *testing.T, id string) map[string]string {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		t.Fatalf("%q is not base64url: %v", id, err)
	}
	kind, num, ok := strings.Cut(string(raw), ":")
	if !ok {
		t.Fatalf("%q decodes to %q", id, raw)
	}
	out := map[string]string{
		"line feed at the end":     id + "\n",
		"CR LF at the end":         id + "\r\n",
		"line feed in the middle":  id[:4] + "\n" + id[4:],
		"padding":                  base64.URLEncoding.EncodeToString(raw),
		"leading zeros":            b64(kind + ":00" + num),
		"plus sign":                b64(kind + ":+" + num),
		"space before the number":  b64(kind + ": " + num),
		"lower-case prefix":        b64(strings.ToLower(kind) + ":" + num),
		"trailing data":            b64(string(raw) + ":"),
		"standard base64 alphabet": base64.StdEncoding.EncodeToString(raw),
	}
	// Other final bits: the same bytes, when the length leaves bits over.
	if len(raw)%3 != 0 {
		last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", id[len(id)-1])
		other := id[:len(id)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last^1])
		if d, err := base64.RawURLEncoding.DecodeString(other); err == nil && string(d) == string(raw) {
			out["other final bits"] = other
		}
	}
	for name, s := range out {
		if s == id {
			delete(out, name) // e.g. the standard alphabet when the ID has no - or _
		}
	}
	return out
}

// TestIDsAreCanonical: an object has one ID. Other spellings that a
// base64 decoder or a number parser would take (line breaks, padding,
// leading zeros, a plus sign…) are BAD_USER_INPUT wherever an ID is
// read: node, nodes, agent(id:), and a mutation's input; so is an ID of
// another kind where one kind is expected.
func TestIDsAreCanonical(t *testing.T) {
	e := testenv.Setup(t)
	queue := e.QueueID("Support", "VOICE")
	agent := e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	capacity := e.CapacityID("Standard")

	var found struct{ Node *struct{ ID, Name string } }
	e.Query(`query($id: ID!) { node(id: $id) { id ... on Queue { name } } }`, map[string]any{"id": queue}, &found)
	if found.Node == nil || found.Node.ID != queue {
		t.Fatalf("node(id: %q) = %+v, want the queue", queue, found.Node)
	}

	readers := []struct {
		name, query string
		vars        func(id string) map[string]any
	}{
		{"node", `query($id: ID!) { node(id: $id) { id } }`, func(id string) map[string]any { return map[string]any{"id": id} }},
		{"nodes", `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, func(id string) map[string]any { return map[string]any{"ids": []string{id}} }},
		{"agent(id:)", `query($id: ID) { agent(id: $id) { id } }`, func(id string) map[string]any { return map[string]any{"id": id} }},
		{"updateQueue", `mutation($id: ID!) { updateQueue(input: {id: $id, name: "Renamed"}) { queue { id } } }`,
			func(id string) map[string]any { return map[string]any{"id": id} }},
		{"updateCapacityProfile", `mutation($id: ID!) { updateCapacityProfile(input: {id: $id, workItemLimit: 3}) { capacityProfile { id } } }`,
			func(id string) map[string]any { return map[string]any{"id": id} }},
	}
	ids := map[string]string{"queue": queue, "agent": agent, "capacity profile": capacity}
	for what, id := range ids {
		for spelling, bad := range respellings(t, id) {
			for _, r := range readers {
				t.Run(fmt.Sprintf("%s/%s/%s", what, spelling, r.name), func(t *testing.T) {
					e := e.As(t)
					if got := e.Do(e.Admin, r.query, r.vars(bad)); got.Code() != "BAD_USER_INPUT" {
						t.Fatalf("%q got %s %+v data %s, want BAD_USER_INPUT", bad, got.Code(), got.Errors, got.Data)
					}
				})
			}
		}
	}
	// Right spelling, wrong kind.
	for _, c := range []struct{ reader, id string }{{"agent(id:)", queue}, {"updateQueue", agent}, {"updateCapacityProfile", queue}} {
		for _, r := range readers {
			if r.name == c.reader {
				if got := e.Do(e.Admin, r.query, r.vars(c.id)); got.Code() != "BAD_USER_INPUT" {
					t.Errorf("%s with an ID of another kind got %s %+v", r.name, got.Code(), got.Errors)
				}
			}
		}
	}
}

// cursors returns the cursors of a connection at path (field names, the
// last being the connection) in the answer to query.
func cursors(e *testenv.Env, query string, path ...string) []string {
	e.T.Helper()
	var data map[string]any
	e.Query(query, nil, &data)
	var v any = data
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			e.T.Fatalf("no %s in %v", p, v)
		}
		v = m[p]
		if l, ok := v.([]any); ok && len(l) > 0 { // a list: its first element
			v = l[0]
		}
	}
	var out []string
	for _, edge := range v.(map[string]any)["edges"].([]any) {
		out = append(out, edge.(map[string]any)["cursor"].(string))
	}
	if len(out) == 0 {
		e.T.Fatalf("no cursors at %v", path)
	}
	return out
}

// TestCursorsBelongToTheirList: a cursor is accepted only by the list that
// made it (the same field of the same object) and only as made: a queues
// cursor is refused by agents, auditLog and the others, a queue's agents
// cursor by another queue's agents, and respellings of a cursor
// (cursor:+3, cursor:007, line breaks, padding) are refused, all with
// BAD_USER_INPUT.
func TestCursorsBelongToTheirList(t *testing.T) {
	e := testenv.Setup(t)
	q1, q2 := e.QueueID("Support", "VOICE"), e.QueueID("Sales", "VOICE")
	e.QueueID("Billing", "VOICE")
	capacity := e.CapacityID("Standard")
	a1 := e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	a2 := e.CreateAgentID("Ben Okafor", "ben@example.com", true)
	e.Join(q1, capacity, a1, a2)
	e.Join(q2, capacity, a1, a2)

	queuesCursor := cursors(e, `{ queues(first: 2) { edges { cursor } } }`, "queues")[0]
	agentsCursor := cursors(e, `{ agents(first: 1) { edges { cursor } } }`, "agents")[0]
	q1AgentsCursor := cursors(e, `query { node(id: "`+q1+`") { ... on Queue { agents(first: 1) { edges { cursor } } } } }`, "node", "agents")[0]

	lists := map[string]string{
		"queues":             `query($after: String) { queues(after: $after) { totalCount } }`,
		"agents":             `query($after: String) { agents(after: $after) { totalCount } }`,
		"auditLog":           `query($after: String) { auditLog(after: $after) { totalCount } }`,
		"capacityProfiles":   `query($after: String) { capacityProfiles(after: $after) { totalCount } }`,
		"apiTokens":          `query($after: String) { apiTokens(after: $after) { totalCount } }`,
		"queue 1's agents":   `query($after: String) { node(id: "` + q1 + `") { ... on Queue { agents(after: $after) { totalCount } } } }`,
		"queue 2's agents":   `query($after: String) { node(id: "` + q2 + `") { ... on Queue { agents(after: $after) { totalCount } } } }`,
		"capacity's agents":  `query($after: String) { node(id: "` + capacity + `") { ... on CapacityProfile { agents(after: $after) { totalCount } } } }`,
		"webhookDeliveries":  `query($after: String) { webhookDeliveries(after: $after) { totalCount } }`,
		"webhookEndpoints":   `query($after: String) { webhookEndpoints(after: $after) { totalCount } }`,
		"outboundProfiles":   `query($after: String) { outboundProfiles(after: $after) { totalCount } }`,
		"phoneNumbers":       `query($after: String) { phoneNumbers(after: $after) { totalCount } }`,
		"agents (filtered)":  `query($after: String) { agents(after: $after, filter: {search: "a"}) { totalCount } }`,
		"queues (filtered)":  `query($after: String) { queues(after: $after, filter: {search: "s"}) { totalCount } }`,
		"capacity's agents2": `query($after: String) { capacityProfiles { nodes { agents(after: $after) { totalCount } } } }`,
	}
	owner := map[string]string{queuesCursor: "queues", agentsCursor: "agents", q1AgentsCursor: "queue 1's agents"}
	accepts := func(list, cursor string) bool {
		o := owner[cursor]
		return o == list || (o == "queues" && list == "queues (filtered)") || (o == "agents" && list == "agents (filtered)")
	}
	for cursor, made := range owner {
		for list, query := range lists {
			t.Run(made+" cursor/"+list, func(t *testing.T) {
				e := e.As(t)
				r := e.Do(e.Admin, query, map[string]any{"after": cursor})
				if accepts(list, cursor) {
					if len(r.Errors) > 0 {
						t.Fatalf("its own list refused it: %+v", r.Errors)
					}
					return
				}
				if r.Code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "not a cursor of this list") {
					t.Fatalf("got %s %+v, want BAD_USER_INPUT", r.Code(), r.Errors)
				}
			})
		}
	}

	raw, _ := base64.RawURLEncoding.DecodeString(queuesCursor)
	prefix, num, _ := strings.Cut(string(raw), "s:") // "cursor:Query.queues:" + number
	prefix += "s:"
	bad := map[string]string{
		"plus sign":            b64(prefix + "+" + num),
		"leading zeros":        b64(prefix + "00" + num),
		"line feed at the end": queuesCursor + "\n",
		"line feed inside":     queuesCursor[:3] + "\n" + queuesCursor[3:],
		"padding":              base64.URLEncoding.EncodeToString(raw),
		"zero":                 b64(prefix + "0"),
		"negative":             b64(prefix + "-1"),
		"no list (old format)": b64("cursor:" + num),
		"not base64":           "not a cursor!",
	}
	for name, c := range bad {
		if c == queuesCursor {
			continue // padding, when the length needs none
		}
		t.Run("respelled/"+name, func(t *testing.T) {
			e := e.As(t)
			r := e.Do(e.Admin, lists["queues"], map[string]any{"after": c})
			if r.Code() != "BAD_USER_INPUT" {
				t.Fatalf("%q got %s %+v", c, r.Code(), r.Errors)
			}
		})
	}
}

// TestPageSizeOneRuleOneCode: first outside 0..100 is BAD_USER_INPUT on
// every list, however large (it is checked before the complexity limit,
// which would otherwise answer large values with another code), as a
// literal and as a variable.
func TestPageSizeOneRuleOneCode(t *testing.T) {
	e := testenv.Setup(t)
	q := e.QueueID("Support", "VOICE")
	lists := map[string]string{
		"agents":           `agents(first: %s) { nodes { id name email queues { name agentCount } capacityProfiles { name } } }`,
		"queues":           `queues(first: %s) { nodes { id name agents(first: 100) { nodes { id name } } } }`,
		"auditLog":         `auditLog(first: %s) { nodes { id action } }`,
		"phoneNumbers":     `phoneNumbers(first: %s) { nodes { id e164 } }`,
		"webhookEndpoints": `webhookEndpoints(first: %s) { nodes { id deliveries(first: 100) { nodes { id } } } }`,
		"a queue's agents": `node(id: "` + q + `") { ... on Queue { agents(first: %s) { nodes { id queues { name } } } } }`,
	}
	for list, sel := range lists {
		for _, n := range []int{-1, 101, 1300, 5000, 100000, 2147483647} {
			t.Run(fmt.Sprintf("%s/%d", list, n), func(t *testing.T) {
				e := e.As(t)
				r := e.Do(e.Admin, "{ "+fmt.Sprintf(sel, fmt.Sprint(n))+" }", nil)
				if r.Code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "between 0 and 100") {
					t.Fatalf("literal: got %s %+v", r.Code(), r.Errors)
				}
				r = e.Do(e.Admin, "query($n: Int) { "+fmt.Sprintf(sel, "$n")+" }", map[string]any{"n": n})
				if r.Code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "between 0 and 100") {
					t.Fatalf("variable: got %s %+v", r.Code(), r.Errors)
				}
			})
		}
		t.Run(list+"/100", func(t *testing.T) {
			e := e.As(t)
			if r := e.Do(e.Admin, "{ "+fmt.Sprintf(sel, "100")+" }", nil); len(r.Errors) > 0 && r.Code() != "COMPLEXITY_LIMIT_EXCEEDED" {
				t.Fatalf("first: 100 got %+v", r.Errors)
			}
		})
	}
}
