package resolvers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"outdial/calling"
	"outdial/internal/testenv"
)

// TestBadUserInput checks that malformed requests (page sizes, list
// lengths, IDs, agent() arguments, cursors) are top-level BAD_USER_INPUT
// errors and change nothing.
func TestBadUserInput(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	q := e.QueueID("Outbound", "VOICE")
	cp := e.CapacityID("Voice")
	aiko := e.CreateAgentID("Aiko", "aiko@example.com", true)
	number := e.AddNumberID("+1 425 555 0100", "MAKE_CALLS")

	many := make([]string, calling.MaxListLen+1)
	manyAgents := make([]map[string]any, calling.MaxListLen+1)
	for i := range many {
		many[i] = calling.GlobalID(calling.KindAgent, int64(i+1))
		manyAgents[i] = map[string]any{"name": fmt.Sprintf("Agent %d", i), "email": fmt.Sprintf("a%d@example.com", i)}
	}
	cases := []struct {
		name  string
		query string
		vars  map[string]any
	}{
		{"first above 100", `{ agents(first: 101) { totalCount } }`, nil},
		{"first below 0", `{ agents(first: -1) { totalCount } }`, nil},
		{"first above 100 on numbers", `{ phoneNumbers(first: 101) { totalCount } }`, nil},
		{"first below 0 on the audit log", `{ auditLog(first: -5) { totalCount } }`, nil},
		{"first above 100 on a queue's agents", `{ queues { nodes { agents(first: 101) { totalCount } } } }`, nil},
		{"a cursor that is not one", `{ agents(after: "bm90LWEtY3Vyc29y") { totalCount } }`, nil},
		{"1001 agent IDs", testenv.AddToQueue, map[string]any{"q": q, "agents": many}},
		{"1001 agent IDs for a capacity profile", testenv.AddToCapacity, map[string]any{"cp": cp, "agents": many}},
		{"1001 entries to upsert", testenv.UpsertAgents, map[string]any{"agents": manyAgents}},
		{"1001 node IDs", `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": many}},
		{"malformed ID in agent()", `{ agent(id: "not an id") { id } }`, nil},
		{"malformed ID in node()", `{ node(id: "%%%") { id } }`, nil},
		{"malformed ID in a mutation", testenv.AddToQueue, map[string]any{"q": "garbage", "agents": []string{aiko}}},
		{"malformed ID in a list", testenv.AddToQueue, map[string]any{"q": q, "agents": []string{aiko, "QWdlbnQ6MHg="}}},
		{"queue ID as an agent ID", `query($id: ID!) { agent(id: $id) { id } }`, map[string]any{"id": q}},
		{"agent ID as a queue ID", testenv.AddToQueue, map[string]any{"q": aiko, "agents": []string{aiko}}},
		{"queue ID in an agent list", testenv.AddToCapacity, map[string]any{"cp": cp, "agents": []string{aiko, q}}},
		{"number ID as a profile ID", testenv.DeleteProfile, map[string]any{"id": number}},
		{"agent ID in a filter for a queue", `query($id: ID!) { agents(filter: {queueId: $id}) { totalCount } }`, map[string]any{"id": aiko}},
		{"agent() with both arguments", `query($id: ID!) { agent(id: $id, email: "aiko@example.com") { id } }`, map[string]any{"id": aiko}},
		{"agent() with neither argument", `{ agent { id } }`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.As(t).Rejected(e.Admin, "BAD_USER_INPUT", http.StatusOK, c.query, c.vars)
			if strings.TrimSpace(r.Errors[0].Message) == "" {
				t.Errorf("BAD_USER_INPUT without a message")
			}
		})
	}
	// 1000 IDs are a request the domain answers (here: the second is no agent).
	ue := e.Refused("NOT_FOUND", "addAgentsToQueue", testenv.AddToQueue, map[string]any{"q": q, "agents": many[:calling.MaxListLen]})
	if !slices.Equal(ue.Field, []string{"input", "agentIds", "1"}) {
		t.Errorf("1000 IDs: refusal at %v, want [input agentIds 1]", ue.Field)
	}
}

// pageOf is one page of a connection.
type pageOf struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
	Edges []struct {
		Cursor string
		Node   struct{ ID string }
	}
	Nodes []struct{ ID string }
}

// TestPagination pages through agents, numbers and the audit log with
// first/after and checks order, cursors, hasNextPage and totalCount.
func TestPagination(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	var agents, numbers []string
	for i := range 7 {
		agents = append(agents, e.CreateAgentID(fmt.Sprintf("Agent %d", i), fmt.Sprintf("agent%d@example.com", i), true))
		numbers = append(numbers, e.AddNumberID(fmt.Sprintf("+1 425 555 01%02d", i)))
	}
	const pageFields = `totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } nodes { id }`
	walk := func(list string, want []string) {
		t.Helper()
		var got []string
		var after *string
		for page := 0; ; page++ {
			var data map[string]pageOf
			e.Query(fmt.Sprintf(`query($after: String) { %s(first: 3, after: $after) { %s } }`, list, pageFields), map[string]any{"after": after}, &data)
			p := data[list]
			if p.TotalCount != len(want) {
				t.Fatalf("%s page %d: totalCount %d, want %d", list, page, p.TotalCount, len(want))
			}
			if len(p.Edges) != len(p.Nodes) || p.PageInfo.HasPreviousPage != (page > 0) {
				t.Fatalf("%s page %d: %d edges, %d nodes, hasPreviousPage %v", list, page, len(p.Edges), len(p.Nodes), p.PageInfo.HasPreviousPage)
			}
			for i, edge := range p.Edges {
				if edge.Node.ID != p.Nodes[i].ID {
					t.Fatalf("%s page %d: edge %d is %s, node %s", list, page, i, edge.Node.ID, p.Nodes[i].ID)
				}
				got = append(got, edge.Node.ID)
			}
			if len(p.Edges) > 0 && (*p.PageInfo.EndCursor != p.Edges[len(p.Edges)-1].Cursor || *p.PageInfo.StartCursor != p.Edges[0].Cursor) {
				t.Fatalf("%s page %d: start/end cursors do not match the edges", list, page)
			}
			wantNext := len(got) < len(want)
			if p.PageInfo.HasNextPage != wantNext {
				t.Fatalf("%s page %d: hasNextPage %v after %d of %d", list, page, p.PageInfo.HasNextPage, len(got), len(want))
			}
			if !wantNext {
				break
			}
			if page > len(want) {
				t.Fatalf("%s: paging does not end", list)
			}
			after = p.PageInfo.EndCursor
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s paged: %v, want %v", list, got, want)
		}
	}
	walk("agents", agents)
	walk("phoneNumbers", numbers)
	// The audit log: newest first.
	entries, total := e.AuditLog(nil)
	var newestFirst []string
	for _, en := range entries {
		newestFirst = append(newestFirst, en.ID)
	}
	if len(entries) != total {
		t.Fatalf("audit log: %d entries, totalCount %d", len(entries), total)
	}
	walk("auditLog", newestFirst)

	// first: 0 is an empty page that says more follow.
	var data struct{ Agents pageOf }
	e.Query(`{ agents(first: 0) { `+pageFields+` } }`, nil, &data)
	if len(data.Agents.Nodes) != 0 || !data.Agents.PageInfo.HasNextPage || data.Agents.TotalCount != 7 {
		t.Fatalf("first: 0 = %+v", data.Agents)
	}
	// The default page size is 50.
	for i := 7; i < 55; i++ {
		e.CreateAgentID(fmt.Sprintf("Agent %d", i), fmt.Sprintf("agent%d@example.com", i), true)
	}
	e.Query(`{ agents { `+pageFields+` } }`, nil, &data)
	if len(data.Agents.Nodes) != 50 || !data.Agents.PageInfo.HasNextPage || data.Agents.TotalCount != 55 {
		t.Fatalf("default page: %d nodes, hasNextPage %v, totalCount %d", len(data.Agents.Nodes), data.Agents.PageInfo.HasNextPage, data.Agents.TotalCount)
	}
}

// filterWorld has agents in each state of ability and numbers of each
// kind, for the filters and callingSummary.
type filterWorld struct {
	sales, support                                      string // queues
	profile                                             string
	salesCP, supportCP                                  string
	aiko, ben, cara, dan, eve                           string
	callerID, personal, spare, tollFree, unusedOutbound string
}

func newFilterWorld(e *testenv.Env) filterWorld {
	e.T.Helper()
	var w filterWorld
	w.callerID = e.AddNumberID("+1 425 555 0100", "MAKE_CALLS")
	w.personal = e.AddNumberID("+1 206 555 0123", "MAKE_CALLS")
	w.spare = e.AddNumberID("+1 425 555 0177")
	w.tollFree = e.AddNumberID("+1 800 555 0199")
	w.unusedOutbound = e.AddNumberID("+1 425 555 0188", "MAKE_CALLS")
	e.MustMutate("updatePhoneNumber", `mutation($id: ID!) { updatePhoneNumber(input: {id: $id, label: "Reception 50%_off"}) { userErrors { code } } }`,
		map[string]any{"id": w.spare}, nil)
	w.sales, w.support = e.QueueID("Sales", "VOICE"), e.QueueID("Support", "VOICE")
	w.salesCP, w.supportCP = e.CapacityID("Sales voice"), e.CapacityID("Support voice")
	w.profile = e.ProfileID("Sales", w.sales, w.salesCP, []string{w.callerID}, false)
	w.aiko = e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true) // can call
	w.ben = e.CreateAgentID("Ben Okafor", "ben@contoso.com", true)    // NOT_IN_PROFILE_QUEUE
	w.cara = e.CreateAgentID("Cara Ruiz", "cara@example.com", false)  // UNIFIED_ROUTING_DISABLED
	w.dan = e.CreateAgentID("Dan Brown", "dan@example.com", true)     // NO_OUTBOUND_PROFILE
	w.eve = e.CreateAgentID("Eve Adams", "eve@example.com", true)     // can call; personal number without default profile
	e.Join(w.sales, w.salesCP, w.aiko, w.eve)
	e.Join("", w.salesCP, w.ben)
	e.Join(w.support, w.supportCP, w.dan, w.cara)
	e.Assign(w.eve, w.personal)
	return w
}

// TestFilters checks every filter of agents and phoneNumbers.
func TestFilters(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	w := newFilterWorld(e)

	agentCases := []struct {
		name   string
		filter map[string]any
		want   []string
	}{
		{"canMakeCalls true", map[string]any{"canMakeCalls": true}, []string{w.aiko, w.eve}},
		{"canMakeCalls false", map[string]any{"canMakeCalls": false}, []string{w.ben, w.cara, w.dan}},
		{"blocker NOT_IN_PROFILE_QUEUE", map[string]any{"blocker": "NOT_IN_PROFILE_QUEUE"}, []string{w.ben}},
		{"blocker UNIFIED_ROUTING_DISABLED", map[string]any{"blocker": "UNIFIED_ROUTING_DISABLED"}, []string{w.cara}},
		{"blocker NO_OUTBOUND_PROFILE", map[string]any{"blocker": "NO_OUTBOUND_PROFILE"}, []string{w.dan}},
		{"blocker NO_OUTBOUND_NUMBER", map[string]any{"blocker": "NO_OUTBOUND_NUMBER"}, []string{}},
		{"queueId", map[string]any{"queueId": w.sales}, []string{w.aiko, w.eve}},
		{"capacityProfileId", map[string]any{"capacityProfileId": w.salesCP}, []string{w.aiko, w.ben, w.eve}},
		{"search in names, any case", map[string]any{"search": "RUIZ"}, []string{w.cara}},
		{"search in emails", map[string]any{"search": "contoso"}, []string{w.ben}},
		{"search matching several", map[string]any{"search": "a"}, []string{w.aiko, w.ben, w.cara, w.dan, w.eve}},
		{"search with LIKE wildcards", map[string]any{"search": "%"}, []string{}},
		{"filters combined", map[string]any{"canMakeCalls": true, "queueId": w.sales, "search": "eve"}, []string{w.eve}},
	}
	for _, c := range agentCases {
		got, total := e.AgentIDs(c.filter)
		if !slices.Equal(got, c.want) || total != len(c.want) {
			t.Errorf("agents(filter: %s) = %v (totalCount %d), want %v", c.name, got, total, c.want)
		}
	}

	// The blocker filter follows the stored ability as it changes.
	e.Join(w.sales, "", w.ben)
	if got, _ := e.AgentIDs(map[string]any{"blocker": "NOT_IN_PROFILE_QUEUE"}); len(got) != 0 {
		t.Errorf("ben still listed as NOT_IN_PROFILE_QUEUE after joining the queue")
	}
	if got, _ := e.AgentIDs(map[string]any{"canMakeCalls": true}); !slices.Equal(got, []string{w.aiko, w.ben, w.eve}) {
		t.Errorf("canMakeCalls after ben joined: %v", got)
	}

	numberCases := []struct {
		name   string
		filter map[string]any
		want   []string
	}{
		{"canMakeCalls true", map[string]any{"canMakeCalls": true}, []string{w.callerID, w.personal, w.unusedOutbound}},
		{"canMakeCalls false", map[string]any{"canMakeCalls": false}, []string{w.spare, w.tollFree}},
		{"type TOLL_FREE", map[string]any{"type": "TOLL_FREE"}, []string{w.tollFree}},
		{"type GEOGRAPHIC", map[string]any{"type": "GEOGRAPHIC"}, []string{w.callerID, w.personal, w.spare, w.unusedOutbound}},
		{"inUse true", map[string]any{"inUse": true}, []string{w.callerID, w.personal}},
		{"inUse false", map[string]any{"inUse": false}, []string{w.spare, w.tollFree, w.unusedOutbound}},
		{"search in e164", map[string]any{"search": "206"}, []string{w.personal}},
		{"search in labels, any case", map[string]any{"search": "RECEPTION"}, []string{w.spare}},
		{"search with LIKE wildcards taken literally", map[string]any{"search": "50%_"}, []string{w.spare}},
		{"filters combined", map[string]any{"inUse": false, "canMakeCalls": true}, []string{w.unusedOutbound}},
	}
	for _, c := range numberCases {
		var data struct {
			PhoneNumbers struct {
				TotalCount int
				Nodes      []testenv.IDOnly
			}
		}
		e.Query(`query($f: PhoneNumberFilter) { phoneNumbers(filter: $f) { totalCount nodes { id } } }`, map[string]any{"f": c.filter}, &data)
		got := []string{}
		for _, n := range data.PhoneNumbers.Nodes {
			got = append(got, n.ID)
		}
		if !slices.Equal(got, c.want) || data.PhoneNumbers.TotalCount != len(c.want) {
			t.Errorf("phoneNumbers(filter: %s) = %v (totalCount %d), want %v", c.name, got, data.PhoneNumbers.TotalCount, c.want)
		}
	}
}

// TestCallingSummary checks the dashboard figures against a known
// configuration, and that they follow a change.
func TestCallingSummary(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	w := newFilterWorld(e)
	type summary struct {
		Agents, AgentsCanMakeCalls, PhoneNumbers, PhoneNumbersCanMakeCalls, OutboundProfiles int
		Blockers                                                                             []struct {
			Code   string
			Agents int
		}
	}
	read := func() summary {
		var data struct{ CallingSummary summary }
		e.Query(`{ callingSummary { agents agentsCanMakeCalls phoneNumbers phoneNumbersCanMakeCalls outboundProfiles blockers { code agents } } }`, nil, &data)
		return data.CallingSummary
	}
	blockers := func(s summary) string {
		var parts []string
		for _, b := range s.Blockers {
			parts = append(parts, fmt.Sprintf("%s=%d", b.Code, b.Agents))
		}
		return strings.Join(parts, " ")
	}
	s := read()
	if s.Agents != 5 || s.AgentsCanMakeCalls != 2 || s.PhoneNumbers != 5 || s.PhoneNumbersCanMakeCalls != 3 || s.OutboundProfiles != 1 {
		t.Fatalf("summary = %+v", s)
	}
	if got := blockers(s); got != "UNIFIED_ROUTING_DISABLED=1 NO_OUTBOUND_PROFILE=1 NOT_IN_PROFILE_QUEUE=1" {
		t.Fatalf("blockers = %s", got)
	}
	// Without a number with MAKE_CALLS, the profile's agents are blocked;
	// eve's personal number has no default profile to govern it.
	e.MustMutate("downgradeCallingPlan", testenv.Downgrade, map[string]any{"id": w.callerID, "caps": []string{"MAKE_CALLS"}}, nil)
	s = read()
	if s.AgentsCanMakeCalls != 0 || s.PhoneNumbersCanMakeCalls != 2 {
		t.Fatalf("summary after downgrade = %+v", s)
	}
	if got := blockers(s); got != "UNIFIED_ROUTING_DISABLED=1 NO_OUTBOUND_PROFILE=1 NOT_IN_PROFILE_QUEUE=1 NO_OUTBOUND_NUMBER=2 NO_DEFAULT_OUTBOUND_PROFILE=1" {
		t.Fatalf("blockers after downgrade = %s", got)
	}
	// A default profile lets eve call from her personal number.
	e.MustMutate("updateOutboundProfile", testenv.UpdateProfile, map[string]any{"id": w.profile, "def": true}, nil)
	s = read()
	if s.AgentsCanMakeCalls != 1 || s.OutboundProfiles != 1 {
		t.Fatalf("summary with a default profile = %+v", s)
	}
	if got := blockers(s); got != "UNIFIED_ROUTING_DISABLED=1 NO_OUTBOUND_PROFILE=1 NOT_IN_PROFILE_QUEUE=1 NO_OUTBOUND_NUMBER=1" {
		t.Fatalf("blockers with a default profile = %s", got)
	}
}

// TestAuditLog checks one entry per successful mutation, with the token's
// name as actor, newest first, filters, and none for refusals.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	_, ops := e.Token("ops team", "ADMIN", "")
	_, before := e.AuditLog(nil)

	as := func(field, query string, vars map[string]any) map[string]json.RawMessage {
		t.Helper()
		var data map[string]map[string]json.RawMessage
		e.QueryAs(ops, query, vars, &data)
		return data[field]
	}
	idOf := func(payload map[string]json.RawMessage, key string) string {
		var obj testenv.IDOnly
		if err := json.Unmarshal(payload[key], &obj); err != nil || obj.ID == "" {
			t.Fatalf("no %s in %s", key, payload[key])
		}
		return obj.ID
	}
	q := idOf(as("createQueue", testenv.CreateQueue, map[string]any{"name": "Sales", "channel": "VOICE"}), "queue")
	n := idOf(as("addPhoneNumber", testenv.AddNumber, map[string]any{"n": "+1 425 555 0100"}), "phoneNumber")
	a := idOf(as("createAgent", testenv.CreateAgent, map[string]any{"name": "Aiko", "email": "aiko@example.com"}), "agent")
	as("addAgentsToQueue", testenv.AddToQueue, map[string]any{"q": q, "agents": []string{a}})
	as("upgradeCallingPlan", testenv.Upgrade, map[string]any{"id": n, "caps": []string{"MAKE_CALLS"}})
	// Refusals write nothing.
	if ue := as("createQueue", testenv.CreateQueue, map[string]any{"name": "SALES", "channel": "VOICE"})["userErrors"]; !strings.Contains(string(ue), "ALREADY_EXISTS") {
		t.Fatalf("duplicate queue not refused: %s", ue)
	}
	if ue := as("upgradeCallingPlan", testenv.Upgrade, map[string]any{"id": n, "caps": []string{}})["userErrors"]; !strings.Contains(string(ue), "INVALID_INPUT") {
		t.Fatalf("empty capability list not refused: %s", ue)
	}
	as("updateQueue", testenv.UpdateQueueName, map[string]any{"id": q, "name": "Sales team"})

	entries, total := e.AuditLog(nil)
	if total != before+6 {
		t.Fatalf("%d audit entries for 6 successful mutations (and 2 refusals)", total-before)
	}
	wantActions := []string{"updateQueue", "upgradeCallingPlan", "addAgentsToQueue", "createAgent", "addPhoneNumber", "createQueue"}
	wantTargets := []string{q, n, q, a, n, q}
	for i, want := range wantActions {
		en := entries[i]
		if en.Action != want || en.Actor != "ops team" || en.TargetID == nil || *en.TargetID != wantTargets[i] {
			t.Errorf("entry %d = %s by %q on %v; want %s by \"ops team\" on %s", i, en.Action, en.Actor, en.TargetID, want, wantTargets[i])
		}
		if !json.Valid([]byte(en.Details)) {
			t.Errorf("entry %d details are not JSON: %s", i, en.Details)
		}
	}
	if entries[len(entries)-1].Actor != "bootstrap" && entries[len(entries)-1].Actor != "system" {
		t.Errorf("oldest entry by %q", entries[len(entries)-1].Actor)
	}

	byTarget, n1 := e.AuditLog(map[string]any{"targetId": q})
	if n1 != 3 || len(byTarget) != 3 || byTarget[0].Action != "updateQueue" || byTarget[2].Action != "createQueue" {
		t.Errorf("filter by targetId: %d entries %+v", n1, byTarget)
	}
	byAction, n2 := e.AuditLog(map[string]any{"action": "upgradeCallingPlan"})
	if n2 != 1 || len(byAction) != 1 || *byAction[0].TargetID != n {
		t.Errorf("filter by action: %d entries %+v", n2, byAction)
	}
	if _, n3 := e.AuditLog(map[string]any{"targetId": q, "action": "createAgent"}); n3 != 0 {
		t.Errorf("filter by targetId and action matched %d entries, want 0", n3)
	}
	// The entries are nodes too.
	var node struct {
		Node struct{ Action, Actor string }
	}
	e.Query(`query($id: ID!) { node(id: $id) { ... on AuditEntry { action actor } } }`, map[string]any{"id": entries[0].ID}, &node)
	if node.Node.Action != "updateQueue" || node.Node.Actor != "ops team" {
		t.Errorf("node(audit entry) = %+v", node.Node)
	}
}

// TestQueryLimits checks that an operation over the complexity or the
// depth limit is refused with a top-level error before anything runs: no
// data, no statement beyond the token lookup, nothing written.
func TestQueryLimits(t *testing.T) {
	t.Parallel()
	e := testenv.SetupCounted(t)
	q := e.QueueID("Outbound", "VOICE")
	aiko := e.CreateAgentID("Aiko", "aiko@example.com", true)
	e.Join(q, "", aiko)

	deep := "id"
	for range 8 {
		deep = "outboundProfiles { queue { " + deep + " } }"
	}
	deep = "queues { " + deep + " }" // 18 levels under agent, each a list or an object: cheap
	deepQuery := `query($id: ID!) { agent(id: $id) { ` + deep + ` } }`
	deepMutation := `mutation { createAgent(input: {name: "Deep", email: "deep@example.com"}) { agent { ` + deep + ` } userErrors { code } } }`
	complex := `{ agents(first: 100) { nodes { queues { agents(first: 100) { nodes { email } } } } } }`
	complexMutation := `mutation { createAgent(input: {name: "Costly", email: "costly@example.com"}) { agent {
		queues { agents(first: 100) { nodes { queues { agents(first: 100) { nodes { email } } } } } } } userErrors { code } } }`

	// Each fragment spreads the next twice: 40 short lines that stand for
	// 2^40 fields. Refused in one pass, before the complexity check walks it.
	var bomb strings.Builder
	bomb.WriteString("query { ...F0 }\n")
	for i := range 40 {
		fmt.Fprintf(&bomb, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	bomb.WriteString("fragment F40 on Query { viewer { role } }\n")

	for _, c := range []struct{ name, query, about string }{
		{"fragment bomb", bomb.String(), "fragments"},
		{"nested plain lists", `{ outboundProfiles { nodes { phoneNumbers { outboundProfiles { phoneNumbers {
			outboundProfiles { phoneNumbers { e164 } } } } } } } }`, "complexity"},
		{"over-complex query", complex, "complexity"},
		{"over-complex mutation", complexMutation, "complexity"},
		{"over-deep query", deepQuery, "deep"},
		{"over-deep mutation", deepMutation, "deep"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := e.As(t)
			before := testenv.Snapshot(t, e.App.DB)
			r, statements := e.DoCounted(e.Admin, c.query, map[string]any{"id": aiko})
			if len(r.Errors) == 0 || len(r.Errors[0].Path) != 0 {
				t.Fatalf("no top-level error: HTTP %d %+v", r.Status, r.Errors)
			}
			testenv.RequireNoData(t, r)
			if !strings.Contains(r.Errors[0].Message, c.about) {
				t.Errorf("the error %q does not name the %s limit", r.Errors[0].Message, c.about)
			}
			if statements > 2 {
				t.Errorf("%d statements ran for a refused operation (the token lookup and its lastUsedAt are 2)", statements)
			}
			if after := testenv.Snapshot(t, e.App.DB); !reflect.DeepEqual(before, after) {
				t.Fatalf("a refused operation changed the database:\n%s", testenv.DiffSnapshots(before, after))
			}
			t.Logf("%s: %s (%v)", c.name, r.Errors[0].Message, r.Errors[0].Extensions["code"])
		})
	}
	// Just under the limits works.
	e.Query(`{ agents(first: 100) { nodes { queues { agents(first: 9) { nodes { email } } } } } }`, nil, nil)
}

// TestRequestBodyLimit checks that a request body over 1 MiB is refused
// without running anything, and that a large one under the limit works.
func TestRequestBodyLimit(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	post := func(body []byte) (int, testenv.Response) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.Srv.URL+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.Admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out testenv.Response
		_ = json.Unmarshal(raw, &out)
		return resp.StatusCode, out
	}
	mutation := func(size int) []byte {
		q := `mutation { createAgent(input: {name: "Big", email: "big@example.com"}) { agent { id } userErrors { code } } } # `
		body, _ := json.Marshal(map[string]any{"query": q + strings.Repeat("x", size)})
		return body
	}
	before := testenv.Snapshot(t, e.App.DB)
	status, r := post(mutation(1<<20 + 1000))
	if status < 400 || status >= 500 || r.HasData() {
		t.Fatalf("a body over 1 MiB: HTTP %d, data %s; want a 4xx refusal", status, r.Data)
	}
	if after := testenv.Snapshot(t, e.App.DB); !reflect.DeepEqual(before, after) {
		t.Fatalf("a refused body changed the database:\n%s", testenv.DiffSnapshots(before, after))
	}
	t.Logf("a body over 1 MiB: HTTP %d %+v", status, r.Errors)
	status, r = post(mutation(1000 * 1000))
	if status != http.StatusOK || len(r.Errors) > 0 || !strings.Contains(string(r.Data), `"userErrors":[]`) {
		t.Fatalf("a body of about 1 MB: HTTP %d %+v %s", status, r.Errors, r.Data)
	}
}

// TestNodes checks node and nodes for every kind of the core API.
func TestNodes(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	number := e.AddNumberID("+1 425 555 0100", "MAKE_CALLS")
	q, cp := e.QueueID("Outbound", "VOICE"), e.CapacityID("Voice")
	p := e.ProfileID("Outbound", q, cp, []string{number}, true)
	aiko := e.CreateAgentID("Aiko", "aiko@example.com", true)
	token, _ := e.Token("reporting", "VIEWER", "")
	entries, _ := e.AuditLog(nil)
	stale := e.StaleQueueID()

	const nodeFields = `__typename id
		... on PhoneNumber { e164 } ... on Queue { name } ... on CapacityProfile { name } ... on OutboundProfile { name }
		... on Agent { email } ... on ApiToken { name } ... on AuditEntry { action }`
	type node struct {
		Typename                      string `json:"__typename"`
		ID, E164, Name, Email, Action string
	}
	want := []node{
		{Typename: "PhoneNumber", ID: number, E164: "+14255550100"},
		{Typename: "Queue", ID: q, Name: "Outbound"},
		{Typename: "CapacityProfile", ID: cp, Name: "Voice"},
		{Typename: "OutboundProfile", ID: p, Name: "Outbound"},
		{Typename: "Agent", ID: aiko, Email: "aiko@example.com"},
		{Typename: "ApiToken", ID: token, Name: "reporting"},
		{Typename: "AuditEntry", ID: entries[0].ID, Action: entries[0].Action},
	}
	var ids []string
	for _, w := range want {
		var data struct{ Node *node }
		e.Query(`query($id: ID!) { node(id: $id) { `+nodeFields+` } }`, map[string]any{"id": w.ID}, &data)
		if data.Node == nil || *data.Node != w {
			t.Errorf("node(%s) = %+v, want %+v", w.Typename, data.Node, w)
		}
		ids = append(ids, w.ID)
	}
	ids = append(ids, stale, aiko)
	var data struct{ Nodes []*node }
	e.Query(`query($ids: [ID!]!) { nodes(ids: $ids) { `+nodeFields+` } }`, map[string]any{"ids": ids}, &data)
	if len(data.Nodes) != len(ids) {
		t.Fatalf("nodes returned %d entries for %d IDs", len(data.Nodes), len(ids))
	}
	for i, w := range want {
		if data.Nodes[i] == nil || *data.Nodes[i] != w {
			t.Errorf("nodes[%d] = %+v, want %+v", i, data.Nodes[i], w)
		}
	}
	if data.Nodes[len(want)] != nil {
		t.Errorf("nodes[] of a deleted queue = %+v, want null", data.Nodes[len(want)])
	}
	if last := data.Nodes[len(want)+1]; last == nil || last.ID != aiko {
		t.Errorf("nodes[] repeated ID = %+v", last)
	}
}

// TestHTTPSurface checks GET /graphql (queries only), and the health,
// readiness and metrics endpoints.
func TestHTTPSurface(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	status, body := e.Get("/graphql?query="+url.QueryEscape(`{ viewer { role } }`), e.Admin)
	if status != http.StatusOK || !strings.Contains(string(body), `"role":"ADMIN"`) {
		t.Fatalf("GET query: HTTP %d %s", status, body)
	}
	vars, _ := json.Marshal(map[string]any{"n": "ben@example.com"})
	status, body = e.Get("/graphql?query="+url.QueryEscape(`query($n: String!) { agent(email: $n) { id } }`)+"&variables="+url.QueryEscape(string(vars)), e.Admin)
	if status != http.StatusOK || !strings.Contains(string(body), `"agent":null`) {
		t.Fatalf("GET query with variables: HTTP %d %s", status, body)
	}
	before := testenv.Snapshot(t, e.App.DB)
	status, body = e.Get("/graphql?query="+url.QueryEscape(`mutation { createQueue(input: {name: "Via GET", channel: VOICE}) { queue { id } } }`), e.Admin)
	if status < 400 || strings.Contains(string(body), `"queue":{`) {
		t.Fatalf("GET mutation: HTTP %d %s; want it refused", status, body)
	}
	if after := testenv.Snapshot(t, e.App.DB); !reflect.DeepEqual(before, after) {
		t.Fatalf("a mutation over GET changed the database:\n%s", testenv.DiffSnapshots(before, after))
	}
	if status, _ := e.Get("/graphql?query="+url.QueryEscape(`{ viewer { role } }`), ""); status != http.StatusUnauthorized {
		t.Fatalf("GET without a token: HTTP %d, want 401", status)
	}
	// A subscription over POST is answered at once, not held open.
	r := e.Do(e.Admin, `subscription { callingAbilityChanged { current { version } } }`, nil)
	if r.Status != http.StatusBadRequest || len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, "WebSocket") {
		t.Fatalf("subscription over POST: HTTP %d %+v; want 400 pointing at the WebSocket", r.Status, r.Errors)
	}

	for _, c := range []struct{ path, want string }{
		{"/healthz", "ok"},
		{"/readyz", "ready"},
		{"/metrics", "outdial_http_requests_total"},
		{"/metrics", "go_goroutines"},
	} {
		status, body := e.Get(c.path, "")
		if status != http.StatusOK || !strings.Contains(string(body), c.want) {
			t.Errorf("GET %s: HTTP %d %.200s; want 200 with %q", c.path, status, body, c.want)
		}
	}
}

// TestMutationsInOneRequest: several mutations in one request each answer
// with the state after themselves, not with what an earlier one loaded.
func TestMutationsInOneRequest(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	aiko := e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	var data struct {
		U1, U2 struct {
			Agent struct{ CallingAbility testenv.Ability }
		}
	}
	e.Query(`mutation($id: ID!) {
		u1: updateAgent(input: {id: $id, unifiedRoutingEnabled: false}) { agent { callingAbility { version blockers { code } } } }
		u2: updateAgent(input: {id: $id, unifiedRoutingEnabled: true}) { agent { callingAbility { version blockers { code } } } } }`,
		map[string]any{"id": aiko}, &data)
	if v, b := data.U1.Agent.CallingAbility.Version, data.U1.Agent.CallingAbility.BlockerCodes(); v != 2 || !slices.Equal(b, []string{"UNIFIED_ROUTING_DISABLED"}) {
		t.Errorf("first mutation answered version %d %v; want 2 [UNIFIED_ROUTING_DISABLED]", v, b)
	}
	if v, b := data.U2.Agent.CallingAbility.Version, data.U2.Agent.CallingAbility.BlockerCodes(); v != 3 || !slices.Equal(b, []string{"NO_OUTBOUND_PROFILE"}) {
		t.Errorf("second mutation answered version %d %v; want 3 [NO_OUTBOUND_PROFILE]", v, b)
	}
}

// TestSearchUnicodeCase: search ignores case beyond ASCII, on SQLite as on
// MySQL.
func TestSearchUnicodeCase(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	e.QueueID("Ärzte Outbound", "VOICE")
	e.CreateAgentID("Émile Zola", "emile@example.com", true)
	var data struct {
		Queues struct{ TotalCount int }
		Agents struct{ TotalCount int }
	}
	e.Query(`{ queues(filter: {search: "ärzte"}) { totalCount } agents(filter: {search: "ÉMILE"}) { totalCount } }`, nil, &data)
	if data.Queues.TotalCount != 1 || data.Agents.TotalCount != 1 {
		t.Fatalf("search found %d queues for \"ärzte\" and %d agents for \"ÉMILE\"; want 1 and 1", data.Queues.TotalCount, data.Agents.TotalCount)
	}
}
