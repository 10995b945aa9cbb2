package resolvers_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"outdial/internal/hooktest"
	"outdial/internal/testenv"
)

// Tests of issue 10 through the API: what the payloads show of impacts,
// the ability history with its cursors and who may read it, warnings with
// the objects they name, and what a page of them costs. The rules
// themselves are tested on the service, in calling/whatif_test.go.

const snapshotFields = `version canMakeCalls
	callerIds { phoneNumber phoneNumberId source outboundProfileId outboundProfileName workItemLimit resetFrequency blockAssignment callerIdName }
	blockers { code message outboundProfileId }`

const impactFields = `impact { dryRun agentsChanged agentsLosingCalling agentsGainingCalling
	changes(first: 100) { agentId agentEmail agentName previous { ` + snapshotFields + ` } current { ` + snapshotFields + ` }
		callerIdsGained callerIdsLost } }`

// dryRunMutation is the text of mutation field with input type inputType,
// a dryRun variable, the selection object, and the impact.
func dryRunMutation(field, inputType, object string) string {
	return fmt.Sprintf(`mutation($input: %s!, $dry: Boolean) { %s(input: $input, dryRun: $dry) { %s userErrors { field message code } %s } }`,
		inputType, field, object, impactFields)
}

// impactOf is a payload's impact as generic JSON.
type impactPayload struct {
	Impact     map[string]any
	UserErrors []testenv.UserError
	DeletedID  *string
}

// createEndpointURL creates a webhook endpoint for every event and agent.
const createEndpointURL = `mutation($url: String!) { createWebhookEndpoint(input: {url: $url}) {
	webhookEndpoint { id } secret userErrors { field message code } } }`

// TestDryRunPayloads: every mutation that can change an ability, run with
// dryRun: true, returns no object and an impact marked dryRun, then for
// real an impact not so marked; no webhook is sent twice, and the receiver
// gets exactly the events of the real runs. (That the impacts are the same
// and the dry run writes nothing is calling's TestDryRunEveryMutation.)
func TestDryRunPayloads(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t, testenv.AllowLoopback)
	rcv := hooktest.New(t, hooktest.Options{})
	var ep struct{ Secret string }
	e.MustMutate("createWebhookEndpoint", createEndpointURL, map[string]any{"url": rcv.URL("/hook")}, &ep)
	rcv.SetSecrets(ep.Secret)

	n1 := e.AddNumberID("+14255550101", "MAKE_CALLS", "RECEIVE_CALLS")
	n2 := e.AddNumberID("+14255550102", "RECEIVE_CALLS")
	n3 := e.AddNumberID("+14255550103", "MAKE_CALLS")
	pn := e.AddNumberID("+12065550111", "MAKE_CALLS")
	q, q2, q4 := e.QueueID("Sales", "VOICE"), e.QueueID("Support", "VOICE"), e.QueueID("Spare", "VOICE")
	cp, cp2, cp4 := e.CapacityID("Sales capacity"), e.CapacityID("Support capacity"), e.CapacityID("Spare capacity")
	e.ProfileID("Sales", q, cp, []string{n1}, true)
	a1 := e.CreateAgentID("Ann", "ann@example.com", true)
	a2 := e.CreateAgentID("Bob", "bob@example.com", true)
	a3 := e.CreateAgentID("Cy", "cy@example.com", true)
	e.Join(q, cp, a1, a2)
	e.Join(q2, cp2, a1)
	e.Join("", cp4, a3)
	e.Join("", cp2, a3) // in the capacity profile of the profile case 15 creates, not its queue
	var p2 string       // the profile case 15 creates

	type tcase struct {
		field, inputType, object string
		input                    func() map[string]any
		after                    func(payload json.RawMessage)
	}
	in := func(m map[string]any) func() map[string]any { return func() map[string]any { return m } }
	cases := []tcase{
		{"addPhoneNumber", "AddPhoneNumberInput", "phoneNumber { id }", in(map[string]any{"number": "+14255550199"}), nil},
		{"updatePhoneNumber", "UpdatePhoneNumberInput", "phoneNumber { id }", in(map[string]any{"id": n1, "label": "Main line"}), nil},
		{"downgradeCallingPlan", "ChangeCallingPlanInput", "phoneNumber { id }", in(map[string]any{"phoneNumberId": n1, "capabilities": []string{"MAKE_CALLS"}}), nil},
		{"upgradeCallingPlan", "ChangeCallingPlanInput", "phoneNumber { id }", in(map[string]any{"phoneNumberId": n1, "capabilities": []string{"MAKE_CALLS"}}), nil},
		{"createQueue", "CreateQueueInput", "queue { id }", in(map[string]any{"name": "Later", "channel": "VOICE"}), nil},
		{"updateQueue", "UpdateQueueInput", "queue { id }", in(map[string]any{"id": q, "name": "Sales team"}), nil},
		{"addAgentsToQueue", "QueueMembersInput", "queue { id }", in(map[string]any{"queueId": q, "agentIds": []string{a3}}), nil},
		{"addAgentsToCapacityProfile", "CapacityProfileMembersInput", "capacityProfile { id }", in(map[string]any{"capacityProfileId": cp, "agentIds": []string{a3}}), nil},
		{"removeAgentsFromQueue", "QueueMembersInput", "queue { id }", in(map[string]any{"queueId": q, "agentIds": []string{a3}}), nil},
		{"removeAgentsFromCapacityProfile", "CapacityProfileMembersInput", "capacityProfile { id }", in(map[string]any{"capacityProfileId": cp, "agentIds": []string{a3}}), nil},
		{"setQueueOverflow", "SetQueueOverflowInput", "queue { id }", in(map[string]any{"queueId": q2, "transferTo": "+14255550150", "callerIdNumberId": n1}), nil},
		{"clearQueueOverflow", "IdInput", "queue { id }", in(map[string]any{"id": q2}), nil},
		{"createCapacityProfile", "CreateCapacityProfileInput", "capacityProfile { id }", in(map[string]any{"name": "Later capacity"}), nil},
		{"updateCapacityProfile", "UpdateCapacityProfileInput", "capacityProfile { id }", in(map[string]any{"id": cp, "workItemLimit": 3}), nil},
		{"createOutboundProfile", "CreateOutboundProfileInput", "outboundProfile { id }",
			in(map[string]any{"name": "Support", "queueId": q2, "capacityProfileId": cp2, "phoneNumberIds": []string{n3}}),
			func(p json.RawMessage) {
				var v struct{ OutboundProfile testenv.IDOnly }
				_ = json.Unmarshal(p, &v)
				p2 = v.OutboundProfile.ID
			}},
		{"updateOutboundProfile", "UpdateOutboundProfileInput", "outboundProfile { id }",
			func() map[string]any { return map[string]any{"id": p2, "callerIdName": "SUPPORT"} }, nil},
		{"deleteOutboundProfile", "IdInput", "deletedId", func() map[string]any { return map[string]any{"id": p2} }, nil},
		{"createAgent", "CreateAgentInput", "agent { id }", in(map[string]any{"name": "Dee", "email": "dee@example.com"}), nil},
		{"upsertAgents", "UpsertAgentsInput", "agents { id }", in(map[string]any{"agents": []map[string]any{
			{"name": "Dee", "email": "dee@example.com", "unifiedRoutingEnabled": false}, {"name": "Eve", "email": "eve@example.com"}}}), nil},
		{"updateAgent", "UpdateAgentInput", "agent { id }", in(map[string]any{"id": a2, "unifiedRoutingEnabled": false}), nil},
		{"assignPersonalNumber", "AssignPersonalNumberInput", "agent { id }", in(map[string]any{"agentId": a1, "phoneNumberId": pn}), nil},
		{"unassignPersonalNumber", "IdInput", "agent { id }", in(map[string]any{"id": a1}), nil},
		{"releasePhoneNumber", "IdInput", "deletedId", in(map[string]any{"id": n2}), nil},
		{"deleteQueue", "IdInput", "deletedId", in(map[string]any{"id": q4}), nil},
		{"deleteCapacityProfile", "IdInput", "deletedId", in(map[string]any{"id": cp4}), nil},
	}
	for _, c := range cases {
		query := dryRunMutation(c.field, c.inputType, c.object)
		input := c.input()
		var dry impactPayload
		var dryRaw map[string]json.RawMessage
		if errs := e.Mutate(c.field, query, map[string]any{"input": input, "dry": true}, &dryRaw); len(errs) > 0 {
			t.Fatalf("%s dry run refused: %+v", c.field, errs)
		}
		_ = json.Unmarshal(dryRaw["impact"], &dry.Impact)
		for k, v := range dryRaw {
			if k != "impact" && k != "userErrors" && string(v) != "null" && string(v) != "[]" {
				t.Errorf("%s dry run returned %s = %s; want nothing", c.field, k, v)
			}
		}
		var real impactPayload
		var realRaw json.RawMessage
		e.MustMutate(c.field, query, map[string]any{"input": input, "dry": false}, &realRaw)
		_ = json.Unmarshal(realRaw, &real)
		if c.after != nil {
			c.after(realRaw)
		}
		if dry.Impact == nil || real.Impact == nil || dry.Impact["dryRun"] != true || real.Impact["dryRun"] != false {
			t.Fatalf("%s: impacts %v (dry) and %v (real)", c.field, dry.Impact, real.Impact)
		}
	}
	var events int64
	if err := e.App.DB.Table("webhook_events").Count(&events).Error; err != nil {
		t.Fatal(err)
	}
	got := rcv.WaitAnswered(int(events))
	seen := map[string]bool{}
	for _, r := range got {
		if seen[r.ID] {
			t.Errorf("webhook %s received twice", r.ID)
		}
		seen[r.ID] = true
	}
	if len(got) != int(events) {
		t.Errorf("receiver got %d webhooks for %d events", len(got), events)
	}
}

// TestImpactReport: a real mutation's impact counts losers and gainers and
// lists the diffs by email with the caller IDs gained and lost; a refused
// one has none.
func TestImpactReport(t *testing.T) {
	e := testenv.Setup(t)
	n1 := e.AddNumberID("+14255550101", "MAKE_CALLS")
	q, cp := e.QueueID("Sales", "VOICE"), e.CapacityID("Sales capacity")
	e.ProfileID("Sales", q, cp, []string{n1}, false)
	zed := e.CreateAgentID("Zed", "zed@example.com", true)
	amy := e.CreateAgentID("Amy", "amy@example.com", true)
	e.Join(q, cp, zed, amy)

	var p struct {
		Impact struct {
			DryRun                                                   bool
			AgentsChanged, AgentsLosingCalling, AgentsGainingCalling int
			Changes                                                  []struct {
				AgentID, AgentEmail string
				Previous, Current   struct {
					Version      int
					CanMakeCalls bool
				}
				CallerIdsGained, CallerIdsLost []string
			}
		}
	}
	query := dryRunMutation("downgradeCallingPlan", "ChangeCallingPlanInput", "phoneNumber { id }")
	e.MustMutate("downgradeCallingPlan", query, map[string]any{"input": map[string]any{"phoneNumberId": n1, "capabilities": []string{"MAKE_CALLS"}}}, &p)
	im := p.Impact
	if im.DryRun || im.AgentsChanged != 2 || im.AgentsLosingCalling != 2 || im.AgentsGainingCalling != 0 || len(im.Changes) != 2 {
		t.Fatalf("impact = %+v", im)
	}
	if im.Changes[0].AgentEmail != "amy@example.com" || im.Changes[1].AgentID != zed {
		t.Errorf("changes not ordered by email: %+v", im.Changes)
	}
	c := im.Changes[0]
	if !c.Previous.CanMakeCalls || c.Current.CanMakeCalls || c.Current.Version != c.Previous.Version+1 ||
		len(c.CallerIdsGained) != 0 || len(c.CallerIdsLost) != 1 || c.CallerIdsLost[0] != "+14255550101" {
		t.Errorf("change = %+v", c)
	}
	var first struct {
		Impact struct{ Changes []struct{ AgentEmail string } }
	}
	e.MustMutate("upgradeCallingPlan", strings.Replace(dryRunMutation("upgradeCallingPlan", "ChangeCallingPlanInput", "phoneNumber { id }"), "changes(first: 100)", "changes(first: 1)", 1),
		map[string]any{"input": map[string]any{"phoneNumberId": n1, "capabilities": []string{"MAKE_CALLS"}}}, &first)
	if len(first.Impact.Changes) != 1 || first.Impact.Changes[0].AgentEmail != "amy@example.com" {
		t.Errorf("changes(first: 1) = %+v", first.Impact.Changes)
	}
	var refused impactPayload
	errs := e.Mutate("upgradeCallingPlan", dryRunMutation("upgradeCallingPlan", "ChangeCallingPlanInput", "phoneNumber { id }"),
		map[string]any{"input": map[string]any{"phoneNumberId": n1, "capabilities": []string{}}, "dry": true}, &refused)
	if len(errs) == 0 || refused.Impact != nil {
		t.Errorf("a refused dry run: userErrors %+v, impact %v; want a refusal and no impact", errs, refused.Impact)
	}
	r := e.Do(e.Admin, `mutation { upgradeCallingPlan(input: {phoneNumberId: "`+n1+`", capabilities: [MAKE_CALLS]}) { impact { changes(first: 101) { agentId } } } }`, nil)
	if r.Code() != "BAD_USER_INPUT" {
		t.Errorf("changes(first: 101): %+v, want BAD_USER_INPUT", r.Errors)
	}
}

const historyQuery = `query($id: ID!, $first: Int, $after: String) { agent(id: $id) { callingAbilityHistory(first: $first, after: $after) {
	totalCount pageInfo { hasNextPage endCursor }
	edges { cursor node { version changedAt ability { version canMakeCalls blockers { code } callerIds { phoneNumber } }
		cause { id actor action targetId } } } } } }`

type historyPage struct {
	Agent *struct {
		CallingAbilityHistory struct {
			TotalCount int
			PageInfo   struct {
				HasNextPage bool
				EndCursor   *string
			}
			Edges []struct {
				Cursor string
				Node   struct {
					Version int
					Ability struct {
						Version      int
						CanMakeCalls bool
					}
					Cause *struct {
						ID, Actor, Action string
						TargetID          *string
					}
				}
			}
		}
	}
}

// TestAbilityHistoryThroughAPI: ten mutations of different kinds give an
// agent ten versions, read newest first through pages that follow each
// other by cursor, each with the audit entry of its mutation as cause; a
// cursor of one agent's history is refused on another's; an AGENT token
// reads its own agent's history, its causes without details, and not
// another agent's. (The history's rules: calling's TestAbilityHistory.)
func TestAbilityHistoryThroughAPI(t *testing.T) {
	e := testenv.Setup(t)
	ann := e.CreateAgentID("Ann", "ann@example.com", true) // 1 createAgent
	bob := e.CreateAgentID("Bob", "bob@example.com", true)
	n1 := e.AddNumberID("+14255550101", "MAKE_CALLS")
	pn := e.AddNumberID("+12065550111", "MAKE_CALLS")
	q, cp := e.QueueID("Sales", "VOICE"), e.CapacityID("Sales capacity")
	e.Join("", cp, ann, bob)                                                                                                                                                        // 2 addAgentsToCapacityProfile (NO_OUTBOUND_PROFILE stays; no version)
	prof := e.ProfileID("Sales", q, cp, []string{n1}, false)                                                                                                                        // 2 createOutboundProfile: NOT_IN_PROFILE_QUEUE
	e.Join(q, "", ann, bob)                                                                                                                                                         // 3 addAgentsToQueue: can call
	e.MustMutate("downgradeCallingPlan", testenv.Downgrade, map[string]any{"id": n1, "caps": []string{"MAKE_CALLS"}}, nil)                                                          // 4
	e.MustMutate("upgradeCallingPlan", testenv.Upgrade, map[string]any{"id": n1, "caps": []string{"MAKE_CALLS"}}, nil)                                                              // 5
	e.MustMutate("updateCapacityProfile", testenv.UpdateCapacity, map[string]any{"id": cp, "limit": 4}, nil)                                                                        // 6
	e.MustMutate("updateOutboundProfile", testenv.UpdateProfile, map[string]any{"id": prof, "def": true}, nil)                                                                      // (no change for Ann)
	e.Assign(ann, pn)                                                                                                                                                               // 7 assignPersonalNumber
	e.MustMutate("unassignPersonalNumber", testenv.UnassignPersonal, map[string]any{"id": ann}, nil)                                                                                // 8
	e.MustMutate("updateAgent", testenv.UpdateAgent, map[string]any{"id": ann, "unified": false}, nil)                                                                              // 9
	e.MustMutate("removeAgentsFromQueue", testenv.RemoveFromQueue, map[string]any{"q": q, "agents": []string{ann}}, nil)                                                            // (unified off: no change)
	e.MustMutate("upsertAgents", testenv.UpsertAgents, map[string]any{"agents": []map[string]any{{"name": "Ann", "email": "ann@example.com", "unifiedRoutingEnabled": true}}}, nil) // 10

	wantActions := []string{"upsertAgents", "updateAgent", "unassignPersonalNumber", "assignPersonalNumber", "updateCapacityProfile",
		"upgradeCallingPlan", "downgradeCallingPlan", "addAgentsToQueue", "createOutboundProfile", "createAgent"}
	var all []string
	var after any
	for {
		var page historyPage
		e.Query(historyQuery, map[string]any{"id": ann, "first": 4, "after": after}, &page)
		h := page.Agent.CallingAbilityHistory
		if h.TotalCount != 10 {
			t.Fatalf("totalCount = %d, want 10", h.TotalCount)
		}
		for _, edge := range h.Edges {
			n := edge.Node
			if n.Ability.Version != n.Version || n.Cause == nil || n.Cause.Actor != "bootstrap" {
				t.Fatalf("version %+v", n)
			}
			all = append(all, n.Cause.Action)
			if len(all) > 1 && n.Version != 10-len(all)+1 {
				t.Fatalf("version %d at position %d: not newest first", n.Version, len(all))
			}
		}
		if !h.PageInfo.HasNextPage {
			break
		}
		after = *h.PageInfo.EndCursor
	}
	if !reflect.DeepEqual(all, wantActions) {
		t.Fatalf("causes %v, want %v", all, wantActions)
	}
	// A cursor belongs to its list: Ann's history, not Bob's.
	if r := e.Do(e.Admin, historyQuery, map[string]any{"id": bob, "first": 1, "after": after}); r.Code() != "BAD_USER_INPUT" {
		t.Errorf("Ann's history cursor on Bob's history: %+v, want BAD_USER_INPUT", r.Errors)
	}
	_, annToken := e.Token("Ann's app", "AGENT", ann)
	var own historyPage
	e.QueryAs(annToken, historyQuery, map[string]any{"id": ann, "first": 1}, &own)
	if own.Agent == nil || own.Agent.CallingAbilityHistory.TotalCount != 10 {
		t.Errorf("an AGENT token reads its own history: %+v", own)
	}
	// Causes are entries of mutations that touched other agents too: an
	// AGENT token, which may not read the audit log, reads their actor,
	// action and target but not their details (addAgentsToQueue's name
	// Bob). An ADMIN reads them whole.
	const causeDetails = `query($id: ID!) { agent(id: $id) { callingAbilityHistory(first: 100) { nodes { cause { action details } } } } }`
	detailsOf := func(token string) string {
		var d struct {
			Agent struct {
				CallingAbilityHistory struct {
					Nodes []struct {
						Cause *struct{ Action, Details string }
					}
				}
			}
		}
		e.QueryAs(token, causeDetails, map[string]any{"id": ann}, &d)
		for _, n := range d.Agent.CallingAbilityHistory.Nodes {
			if n.Cause != nil && n.Cause.Action == "addAgentsToQueue" {
				return n.Cause.Details
			}
		}
		t.Fatalf("no addAgentsToQueue cause in %+v", d)
		return ""
	}
	if got := detailsOf(e.Admin); !strings.Contains(got, bob) {
		t.Errorf("an ADMIN reads the cause's details %s, want them naming Bob %s", got, bob)
	}
	if got := detailsOf(annToken); got != "{}" {
		t.Errorf("an AGENT token reads the cause's details %s, want {}", got)
	}

	r := e.Do(annToken, historyQuery, map[string]any{"id": bob, "first": 1})
	var other historyPage
	_ = json.Unmarshal(r.Data, &other)
	if other.Agent != nil && (other.Agent.CallingAbilityHistory.TotalCount > 0 || len(other.Agent.CallingAbilityHistory.Edges) > 0) {
		t.Errorf("an AGENT token read another agent's history: %s %+v", r.Data, r.Errors)
	}
}

// TestWarningsThroughAPI: each warning code shows on the agent's ability
// with the objects it names; callingSummary.warnings and the warning
// filter agree with a count of the agents. (The warnings' rules, over
// more steps: calling's TestWarnings.)
func TestWarningsThroughAPI(t *testing.T) {
	e := testenv.Setup(t)
	n1 := e.AddNumberID("+14255550101", "MAKE_CALLS")
	n4 := e.AddNumberID("+14255550104", "MAKE_CALLS")
	pn := e.AddNumberID("+12065550111", "MAKE_CALLS")
	pn2 := e.AddNumberID("+12065550112", "MAKE_CALLS")
	q, cp := e.QueueID("Sales", "VOICE"), e.CapacityID("Sales capacity")
	q2, cp2 := e.QueueID("Support", "VOICE"), e.CapacityID("Support capacity")
	sales := e.ProfileID("Sales", q, cp, []string{n1}, false)
	e.ProfileID("Support", q2, cp2, []string{n4}, false)
	ann := e.CreateAgentID("Ann", "ann@example.com", true)
	bob := e.CreateAgentID("Bob", "bob@example.com", true)
	cy := e.CreateAgentID("Cy", "cy@example.com", true)
	e.Join(q, cp, ann, bob)
	e.Assign(ann, pn) // no default profile: unused
	e.Assign(bob, pn2)

	e.Join(q2, "", cy, bob) // Cy: queue only (cannot call); Bob: can call, queue only

	type warning struct {
		Code            string
		Message         string
		OutboundProfile *struct{ ID, Name string }
		PhoneNumber     *struct{ ID, E164 string }
	}
	warningsOf := func(id string) []warning {
		var data struct {
			Agent struct {
				CallingAbility struct{ Warnings []warning }
			}
		}
		e.Query(`query($id: ID!) { agent(id: $id) { callingAbility { warnings { code message outboundProfile { id name } phoneNumber { id e164 } } } } }`,
			map[string]any{"id": id}, &data)
		return data.Agent.CallingAbility.Warnings
	}
	annW := warningsOf(ann)
	if len(annW) != 1 || annW[0].Code != "PERSONAL_NUMBER_UNUSED" || annW[0].PhoneNumber == nil || annW[0].PhoneNumber.ID != pn ||
		!strings.Contains(annW[0].Message, "+12065550111") {
		t.Errorf("Ann's warnings = %+v", annW)
	}
	cyW := warningsOf(cy)
	if len(cyW) != 1 || cyW[0].Code != "PROFILE_INCOMPLETE" || cyW[0].OutboundProfile == nil || cyW[0].OutboundProfile.Name != "Support" ||
		!strings.Contains(cyW[0].Message, `"Support capacity"`) {
		t.Errorf("Cy's warnings = %+v", cyW)
	}
	bobW := warningsOf(bob)
	if len(bobW) != 2 || bobW[0].Code != "PROFILE_INCOMPLETE" || bobW[1].Code != "PERSONAL_NUMBER_UNUSED" {
		t.Errorf("Bob's warnings = %+v", bobW)
	}

	// Making Sales the default uses Ann's and Bob's personal numbers.
	checkCounts := func(step string, want map[string]int) {
		t.Helper()
		var s struct {
			CallingSummary struct {
				Warnings []struct {
					Code   string
					Agents int
				}
			}
		}
		e.Query(`{ callingSummary { warnings { code agents } } }`, nil, &s)
		got := map[string]int{}
		for _, w := range s.CallingSummary.Warnings {
			got[w.Code] = w.Agents
		}
		for _, code := range []string{"PERSONAL_NUMBER_UNUSED", "PROFILE_INCOMPLETE"} {
			ids, total := e.AgentIDs(map[string]any{"warning": code})
			counted := 0
			for _, id := range []string{ann, bob, cy} {
				for _, w := range warningsOf(id) {
					if w.Code == code {
						counted++
						break
					}
				}
			}
			if got[code] != want[code] || total != want[code] || len(ids) != want[code] || counted != want[code] {
				t.Errorf("%s: %s: summary %d, filter %d (%d listed), counted %d; want %d", step, code, got[code], total, len(ids), counted, want[code])
			}
		}
	}
	checkCounts("before", map[string]int{"PERSONAL_NUMBER_UNUSED": 2, "PROFILE_INCOMPLETE": 2})
	e.MustMutate("updateOutboundProfile", testenv.UpdateProfile, map[string]any{"id": sales, "def": true}, nil)
	checkCounts("after the default", map[string]int{"PERSONAL_NUMBER_UNUSED": 0, "PROFILE_INCOMPLETE": 2})
}

// TestHistoryAndWarningsPageStatements: a page of agents with their
// history (and its causes) and their warnings (and the objects they name)
// costs the same statements for 3 agents as for 12.
func TestHistoryAndWarningsPageStatements(t *testing.T) {
	t.Parallel()
	e := testenv.SetupCounted(t)
	n1 := e.AddNumberID("+14255550101", "MAKE_CALLS")
	q, cp := e.QueueID("Sales", "VOICE"), e.CapacityID("Sales capacity")
	e.ProfileID("Sales", q, cp, []string{n1}, false)
	// The page size is a variable (with a default) so that both ways the
	// prefetch reads it are taken.
	const query = `query ($first: Int = 3) { agents(first: 100) { nodes { id
		callingAbility { warnings { code outboundProfile { name } phoneNumber { e164 } } }
		callingAbilityHistory(first: $first) { totalCount nodes { version ability { canMakeCalls } cause { action actor } } } } } }`
	made := 0
	add := func(n int) {
		for range n {
			id := e.CreateAgentID(fmt.Sprintf("Agent %02d", made), fmt.Sprintf("agent%02d@example.com", made), true)
			e.Join(q, "", id) // queue only: PROFILE_INCOMPLETE
			if made%2 == 0 {
				e.Join("", cp, id)                                                              // then both: can call
				e.Assign(id, e.AddNumberID(fmt.Sprintf("+1 206 555 %04d", made), "MAKE_CALLS")) // no default: unused
			}
			made++
		}
	}
	// Every run must cost the same: the history, its count and its causes
	// are prefetched with the page (prefetchAgents), so no dataloader
	// window decides how many statements a run takes.
	measure := func(vars map[string]any) int64 {
		counts := make([]int64, 3)
		for i := range counts {
			var data struct {
				Agents struct {
					Nodes []struct {
						CallingAbility        struct{ Warnings []struct{ Code string } }
						CallingAbilityHistory struct {
							TotalCount int
							Nodes      []struct{ Cause *struct{ Action string } }
						}
					}
				}
			}
			counts[i] = e.QueryCounted(query, vars, &data)
			for _, a := range data.Agents.Nodes {
				if len(a.CallingAbility.Warnings) == 0 || a.CallingAbilityHistory.TotalCount == 0 || a.CallingAbilityHistory.Nodes[0].Cause == nil {
					t.Fatalf("an agent without warnings or history: %+v", a)
				}
			}
		}
		if slices.Min(counts) != slices.Max(counts) {
			t.Fatalf("the same page cost %v statements in three runs", counts)
		}
		return counts[0]
	}
	add(3)
	at3 := measure(nil)
	add(9)
	at12 := measure(map[string]any{"first": 2})
	t.Logf("agents with history and warnings: %d SQL statements for 3 agents, %d for 12", at3, at12)
	if at3 != at12 {
		t.Fatalf("%d statements for 3 agents, %d for 12: one per agent", at3, at12)
	}
}
