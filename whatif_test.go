package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Tests of issue 10 through the API: dry runs and impacts, the ability
// history with causes, warnings.

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
	UserErrors []userError
	DeletedID  *string
}

// comparableImpacts returns the impacts of a dry run and of the real run
// as JSON without dryRun, where the IDs the two give differently are
// replaced by "(new)": a dry run's new rows (an agent, a profile) have
// IDs the real run may not give them on MariaDB, whose AUTO_INCREMENT does
// not roll back. Everything else must be equal.
func comparableImpacts(dry, real map[string]any) (string, string) {
	strip := func(m map[string]any) map[string]any {
		c := map[string]any{}
		for k, v := range m {
			if k != "dryRun" {
				c[k] = v
			}
		}
		return c
	}
	d, r := strip(dry), strip(real)
	var walk func(a, b any)
	walk = func(a, b any) {
		switch av := a.(type) {
		case map[string]any:
			bv, ok := b.(map[string]any)
			if !ok {
				return
			}
			for k, x := range av {
				y := bv[k]
				xs, xok := x.(string)
				ys, yok := y.(string)
				if strings.HasSuffix(k, "Id") && xok && yok && xs != ys {
					av[k], bv[k] = "(new)", "(new)"
					continue
				}
				walk(x, y)
			}
		case []any:
			bv, ok := b.([]any)
			if !ok || len(av) != len(bv) {
				return
			}
			for i := range av {
				walk(av[i], bv[i])
			}
		}
	}
	walk(d, r)
	dj, _ := json.Marshal(d)
	rj, _ := json.Marshal(r)
	return string(dj), string(rj)
}

// TestDryRunEveryMutation: every mutation that can change an ability, run
// with dryRun: true and then for real, reports the same impact; the dry
// run leaves every table as it was, returns no object, and sends no
// webhook (the receiver gets exactly the events of the real runs).
func TestDryRunEveryMutation(t *testing.T) {
	e := setup(t, allowLoopback)
	rcv := newReceiver(t)
	var ep struct{ Secret string }
	e.mustMutate("createWebhookEndpoint", createEndpoint, map[string]any{"url": rcv.srv.URL + "/hook"}, &ep)
	rcv.setSecret(ep.Secret)

	n1 := e.addNumberID("+14255550101", "MAKE_CALLS", "RECEIVE_CALLS")
	n2 := e.addNumberID("+14255550102", "RECEIVE_CALLS")
	n3 := e.addNumberID("+14255550103", "MAKE_CALLS")
	pn := e.addNumberID("+12065550111", "MAKE_CALLS")
	q, q2, q4 := e.queueID("Sales", "VOICE"), e.queueID("Support", "VOICE"), e.queueID("Spare", "VOICE")
	cp, cp2, cp4 := e.capacityID("Sales capacity"), e.capacityID("Support capacity"), e.capacityID("Spare capacity")
	e.profileID("Sales", q, cp, []string{n1}, true)
	a1 := e.createAgentID("Ann", "ann@example.com", true)
	a2 := e.createAgentID("Bob", "bob@example.com", true)
	a3 := e.createAgentID("Cy", "cy@example.com", true)
	e.join(q, cp, a1, a2)
	e.join(q2, cp2, a1)
	e.join("", cp4, a3)
	e.join("", cp2, a3) // in the capacity profile of the profile case 15 creates, not its queue
	var p2 string       // the profile case 15 creates

	type tcase struct {
		field, inputType, object string
		input                    func() map[string]any
		changed                  int
		after                    func(payload json.RawMessage)
	}
	in := func(m map[string]any) func() map[string]any { return func() map[string]any { return m } }
	cases := []tcase{
		{"addPhoneNumber", "AddPhoneNumberInput", "phoneNumber { id }", in(map[string]any{"number": "+14255550199"}), 0, nil},
		{"updatePhoneNumber", "UpdatePhoneNumberInput", "phoneNumber { id }", in(map[string]any{"id": n1, "label": "Main line"}), 0, nil},
		{"downgradeCallingPlan", "ChangeCallingPlanInput", "phoneNumber { id }", in(map[string]any{"phoneNumberId": n1, "capabilities": []string{"MAKE_CALLS"}}), 2, nil},
		{"upgradeCallingPlan", "ChangeCallingPlanInput", "phoneNumber { id }", in(map[string]any{"phoneNumberId": n1, "capabilities": []string{"MAKE_CALLS"}}), 2, nil},
		{"createQueue", "CreateQueueInput", "queue { id }", in(map[string]any{"name": "Later", "channel": "VOICE"}), 0, nil},
		{"updateQueue", "UpdateQueueInput", "queue { id }", in(map[string]any{"id": q, "name": "Sales team"}), 0, nil},
		{"addAgentsToQueue", "QueueMembersInput", "queue { id }", in(map[string]any{"queueId": q, "agentIds": []string{a3}}), 0, nil},
		{"addAgentsToCapacityProfile", "CapacityProfileMembersInput", "capacityProfile { id }", in(map[string]any{"capacityProfileId": cp, "agentIds": []string{a3}}), 1, nil},
		{"removeAgentsFromQueue", "QueueMembersInput", "queue { id }", in(map[string]any{"queueId": q, "agentIds": []string{a3}}), 1, nil},
		{"removeAgentsFromCapacityProfile", "CapacityProfileMembersInput", "capacityProfile { id }", in(map[string]any{"capacityProfileId": cp, "agentIds": []string{a3}}), 1, nil},
		{"setQueueOverflow", "SetQueueOverflowInput", "queue { id }", in(map[string]any{"queueId": q2, "transferTo": "+14255550150", "callerIdNumberId": n1}), 0, nil},
		{"clearQueueOverflow", "IdInput", "queue { id }", in(map[string]any{"id": q2}), 0, nil},
		{"createCapacityProfile", "CreateCapacityProfileInput", "capacityProfile { id }", in(map[string]any{"name": "Later capacity"}), 0, nil},
		{"updateCapacityProfile", "UpdateCapacityProfileInput", "capacityProfile { id }", in(map[string]any{"id": cp, "workItemLimit": 3}), 2, nil},
		{"createOutboundProfile", "CreateOutboundProfileInput", "outboundProfile { id }",
			in(map[string]any{"name": "Support", "queueId": q2, "capacityProfileId": cp2, "phoneNumberIds": []string{n3}}), 2,
			func(p json.RawMessage) {
				var v struct{ OutboundProfile idOnly }
				_ = json.Unmarshal(p, &v)
				p2 = v.OutboundProfile.ID
			}},
		{"updateOutboundProfile", "UpdateOutboundProfileInput", "outboundProfile { id }",
			func() map[string]any { return map[string]any{"id": p2, "callerIdName": "SUPPORT"} }, 1, nil},
		{"deleteOutboundProfile", "IdInput", "deletedId", func() map[string]any { return map[string]any{"id": p2} }, 2, nil},
		{"createAgent", "CreateAgentInput", "agent { id }", in(map[string]any{"name": "Dee", "email": "dee@example.com"}), 1, nil},
		{"upsertAgents", "UpsertAgentsInput", "agents { id }", in(map[string]any{"agents": []map[string]any{
			{"name": "Dee", "email": "dee@example.com", "unifiedRoutingEnabled": false}, {"name": "Eve", "email": "eve@example.com"}}}), 2, nil},
		{"updateAgent", "UpdateAgentInput", "agent { id }", in(map[string]any{"id": a2, "unifiedRoutingEnabled": false}), 1, nil},
		{"assignPersonalNumber", "AssignPersonalNumberInput", "agent { id }", in(map[string]any{"agentId": a1, "phoneNumberId": pn}), 1, nil},
		{"unassignPersonalNumber", "IdInput", "agent { id }", in(map[string]any{"id": a1}), 1, nil},
		{"releasePhoneNumber", "IdInput", "deletedId", in(map[string]any{"id": n2}), 0, nil},
		{"deleteQueue", "IdInput", "deletedId", in(map[string]any{"id": q4}), 0, nil},
		{"deleteCapacityProfile", "IdInput", "deletedId", in(map[string]any{"id": cp4}), 0, nil},
	}
	for _, c := range cases {
		query := dryRunMutation(c.field, c.inputType, c.object)
		input := c.input()
		settle(t, e) // the dispatcher writes beside us until the real runs' webhooks are sent
		before := snapshot(t, e.app.db)
		var dry impactPayload
		var dryRaw map[string]json.RawMessage
		if errs := e.mutate(c.field, query, map[string]any{"input": input, "dry": true}, &dryRaw); len(errs) > 0 {
			t.Fatalf("%s dry run refused: %+v", c.field, errs)
		}
		_ = json.Unmarshal(mustJSON(t, dryRaw), &dry)
		if after := snapshot(t, e.app.db); !reflect.DeepEqual(before, after) {
			t.Fatalf("%s dry run changed the database:\n%s", c.field, diffSnapshots(before, after))
		}
		for k, v := range dryRaw {
			if k != "impact" && k != "userErrors" && string(v) != "null" && string(v) != "[]" {
				t.Errorf("%s dry run returned %s = %s; want nothing", c.field, k, v)
			}
		}
		var real impactPayload
		var realRaw json.RawMessage
		e.mustMutate(c.field, query, map[string]any{"input": input, "dry": false}, &realRaw)
		_ = json.Unmarshal(realRaw, &real)
		if c.after != nil {
			c.after(realRaw)
		}
		if dry.Impact == nil || real.Impact == nil || dry.Impact["dryRun"] != true || real.Impact["dryRun"] != false {
			t.Fatalf("%s: impacts %v (dry) and %v (real)", c.field, dry.Impact, real.Impact)
		}
		if d, r := comparableImpacts(dry.Impact, real.Impact); d != r {
			t.Errorf("%s: dry run impact\n%s\ndiffers from the real one\n%s", c.field, d, r)
		}
		if got := int(real.Impact["agentsChanged"].(float64)); got != c.changed {
			t.Errorf("%s changed %d agents, want %d: %v", c.field, got, c.changed, real.Impact)
		}
	}
	var events int64
	if err := e.app.db.Table("webhook_events").Count(&events).Error; err != nil {
		t.Fatal(err)
	}
	got := rcv.wait(int(events), 20*time.Second)
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

// settle waits until every webhook delivery has been sent or superseded
// and none is leased, so that the dispatcher writes nothing meanwhile.
func settle(t *testing.T, e *testEnv) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var open int64
		err := e.app.db.Table("webhook_deliveries").Where("status = ? OR lease_owner IS NOT NULL", "PENDING").Count(&open).Error
		if err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d webhook deliveries still pending after 30 s", open)
		}
		time.Sleep(10 * time.Millisecond) // polls a condition, with a deadline
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestImpactReport: a real mutation's impact counts losers and gainers and
// lists the diffs by email with the caller IDs gained and lost; a refused
// one has none.
func TestImpactReport(t *testing.T) {
	e := setup(t)
	n1 := e.addNumberID("+14255550101", "MAKE_CALLS")
	q, cp := e.queueID("Sales", "VOICE"), e.capacityID("Sales capacity")
	e.profileID("Sales", q, cp, []string{n1}, false)
	zed := e.createAgentID("Zed", "zed@example.com", true)
	amy := e.createAgentID("Amy", "amy@example.com", true)
	e.join(q, cp, zed, amy)

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
	e.mustMutate("downgradeCallingPlan", query, map[string]any{"input": map[string]any{"phoneNumberId": n1, "capabilities": []string{"MAKE_CALLS"}}}, &p)
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
	e.mustMutate("upgradeCallingPlan", strings.Replace(dryRunMutation("upgradeCallingPlan", "ChangeCallingPlanInput", "phoneNumber { id }"), "changes(first: 100)", "changes(first: 1)", 1),
		map[string]any{"input": map[string]any{"phoneNumberId": n1, "capabilities": []string{"MAKE_CALLS"}}}, &first)
	if len(first.Impact.Changes) != 1 || first.Impact.Changes[0].AgentEmail != "amy@example.com" {
		t.Errorf("changes(first: 1) = %+v", first.Impact.Changes)
	}
	var refused impactPayload
	errs := e.mutate("upgradeCallingPlan", dryRunMutation("upgradeCallingPlan", "ChangeCallingPlanInput", "phoneNumber { id }"),
		map[string]any{"input": map[string]any{"phoneNumberId": n1, "capabilities": []string{}}, "dry": true}, &refused)
	if len(errs) == 0 || refused.Impact != nil {
		t.Errorf("a refused dry run: userErrors %+v, impact %v; want a refusal and no impact", errs, refused.Impact)
	}
	r := e.do(e.admin, `mutation { upgradeCallingPlan(input: {phoneNumberId: "`+n1+`", capabilities: [MAKE_CALLS]}) { impact { changes(first: 101) { agentId } } } }`, nil)
	if r.code() != "BAD_USER_INPUT" {
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

// TestAbilityHistory: ten mutations of different kinds give an agent ten
// versions, newest first, each with the audit entry of its mutation; one
// mutation that changes two agents is the cause of both versions; pages
// follow each other; an AGENT token reads its own agent's history and not
// another's.
func TestAbilityHistory(t *testing.T) {
	e := setup(t)
	ann := e.createAgentID("Ann", "ann@example.com", true) // 1 createAgent
	bob := e.createAgentID("Bob", "bob@example.com", true)
	n1 := e.addNumberID("+14255550101", "MAKE_CALLS")
	pn := e.addNumberID("+12065550111", "MAKE_CALLS")
	q, cp := e.queueID("Sales", "VOICE"), e.capacityID("Sales capacity")
	e.join("", cp, ann, bob)                                                                                                                                                 // 2 addAgentsToCapacityProfile (NO_OUTBOUND_PROFILE stays; no version)
	prof := e.profileID("Sales", q, cp, []string{n1}, false)                                                                                                                 // 2 createOutboundProfile: NOT_IN_PROFILE_QUEUE
	e.join(q, "", ann, bob)                                                                                                                                                  // 3 addAgentsToQueue: can call
	e.mustMutate("downgradeCallingPlan", downgrade, map[string]any{"id": n1, "caps": []string{"MAKE_CALLS"}}, nil)                                                           // 4
	e.mustMutate("upgradeCallingPlan", upgrade, map[string]any{"id": n1, "caps": []string{"MAKE_CALLS"}}, nil)                                                               // 5
	e.mustMutate("updateCapacityProfile", updateCapacity, map[string]any{"id": cp, "limit": 4}, nil)                                                                         // 6
	e.mustMutate("updateOutboundProfile", updateProfile, map[string]any{"id": prof, "def": true}, nil)                                                                       // (no change for Ann)
	e.assign(ann, pn)                                                                                                                                                        // 7 assignPersonalNumber
	e.mustMutate("unassignPersonalNumber", unassignPersonal, map[string]any{"id": ann}, nil)                                                                                 // 8
	e.mustMutate("updateAgent", updateAgentM, map[string]any{"id": ann, "unified": false}, nil)                                                                              // 9
	e.mustMutate("removeAgentsFromQueue", removeFromQueue, map[string]any{"q": q, "agents": []string{ann}}, nil)                                                             // (unified off: no change)
	e.mustMutate("upsertAgents", upsertAgentsM, map[string]any{"agents": []map[string]any{{"name": "Ann", "email": "ann@example.com", "unifiedRoutingEnabled": true}}}, nil) // 10

	wantActions := []string{"upsertAgents", "updateAgent", "unassignPersonalNumber", "assignPersonalNumber", "updateCapacityProfile",
		"upgradeCallingPlan", "downgradeCallingPlan", "addAgentsToQueue", "createOutboundProfile", "createAgent"}
	var all []string
	var causes []string
	var after any
	for {
		var page historyPage
		e.query(historyQuery, map[string]any{"id": ann, "first": 4, "after": after}, &page)
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
			causes = append(causes, n.Cause.ID)
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
	if r := e.do(e.admin, historyQuery, map[string]any{"id": bob, "first": 1, "after": after}); r.code() != "BAD_USER_INPUT" {
		t.Errorf("Ann's history cursor on Bob's history: %+v, want BAD_USER_INPUT", r.Errors)
	}
	// One mutation, one audit entry, many versions: Bob's version from
	// the downgrade has the same cause as Ann's.
	var bobs historyPage
	e.query(historyQuery, map[string]any{"id": bob, "first": 100}, &bobs)
	found := false
	for _, edge := range bobs.Agent.CallingAbilityHistory.Edges {
		if edge.Node.Cause != nil && edge.Node.Cause.Action == "downgradeCallingPlan" {
			found = edge.Node.Cause.ID == causes[6]
		}
	}
	if !found {
		t.Errorf("Bob's downgrade version does not name the audit entry of Ann's (%s): %+v", causes[6], bobs)
	}

	// The audit log may be pruned sooner (AUDIT_RETENTION): the versions
	// stay, without their cause.
	if err := e.app.db.Exec("DELETE FROM audit_entries WHERE action = ?", "createAgent").Error; err != nil {
		t.Fatal(err)
	}
	var pruned historyPage
	e.query(historyQuery, map[string]any{"id": ann, "first": 100}, &pruned)
	h := pruned.Agent.CallingAbilityHistory
	if last := h.Edges[len(h.Edges)-1].Node; h.TotalCount != 10 || last.Version != 1 || last.Cause != nil {
		t.Errorf("after pruning the audit log: %d versions, the first %+v; want 10, the first without a cause", h.TotalCount, last)
	}

	_, annToken := e.token("Ann's app", "AGENT", ann)
	var own historyPage
	e.queryAs(annToken, historyQuery, map[string]any{"id": ann, "first": 1}, &own)
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
		e.queryAs(token, causeDetails, map[string]any{"id": ann}, &d)
		for _, n := range d.Agent.CallingAbilityHistory.Nodes {
			if n.Cause != nil && n.Cause.Action == "addAgentsToQueue" {
				return n.Cause.Details
			}
		}
		t.Fatalf("no addAgentsToQueue cause in %+v", d)
		return ""
	}
	if got := detailsOf(e.admin); !strings.Contains(got, bob) {
		t.Errorf("an ADMIN reads the cause's details %s, want them naming Bob %s", got, bob)
	}
	if got := detailsOf(annToken); got != "{}" {
		t.Errorf("an AGENT token reads the cause's details %s, want {}", got)
	}

	r := e.do(annToken, historyQuery, map[string]any{"id": bob, "first": 1})
	var other historyPage
	_ = json.Unmarshal(r.Data, &other)
	if other.Agent != nil && (other.Agent.CallingAbilityHistory.TotalCount > 0 || len(other.Agent.CallingAbilityHistory.Edges) > 0) {
		t.Errorf("an AGENT token read another agent's history: %s %+v", r.Data, r.Errors)
	}
}

// TestWarningsThroughAPI: each warning code shows on the agent's ability
// with the objects it names; callingSummary.warnings and the warning
// filter agree with a count of the agents; a change of warnings alone
// raises no version and sends no event.
func TestWarningsThroughAPI(t *testing.T) {
	e := setup(t)
	n1 := e.addNumberID("+14255550101", "MAKE_CALLS")
	n4 := e.addNumberID("+14255550104", "MAKE_CALLS")
	pn := e.addNumberID("+12065550111", "MAKE_CALLS")
	pn2 := e.addNumberID("+12065550112", "MAKE_CALLS")
	q, cp := e.queueID("Sales", "VOICE"), e.capacityID("Sales capacity")
	q2, cp2 := e.queueID("Support", "VOICE"), e.capacityID("Support capacity")
	sales := e.profileID("Sales", q, cp, []string{n1}, false)
	e.profileID("Support", q2, cp2, []string{n4}, false)
	ann := e.createAgentID("Ann", "ann@example.com", true)
	bob := e.createAgentID("Bob", "bob@example.com", true)
	cy := e.createAgentID("Cy", "cy@example.com", true)
	e.join(q, cp, ann, bob)
	e.assign(ann, pn) // no default profile: unused
	e.assign(bob, pn2)

	var events0 int64
	e.app.db.Table("webhook_events").Count(&events0)
	versionBefore := e.ability(cy).Version
	e.join(q2, "", cy, bob) // Cy: queue only (cannot call); Bob: can call, queue only
	if v := e.ability(cy).Version; v != versionBefore {
		t.Errorf("a change of warnings alone raised Cy's version from %d to %d", versionBefore, v)
	}
	var events1 int64
	e.app.db.Table("webhook_events").Count(&events1)
	if events1 != events0 {
		t.Errorf("a change of warnings alone recorded %d events", events1-events0)
	}

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
		e.query(`query($id: ID!) { agent(id: $id) { callingAbility { warnings { code message outboundProfile { id name } phoneNumber { id e164 } } } } }`,
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
		e.query(`{ callingSummary { warnings { code agents } } }`, nil, &s)
		got := map[string]int{}
		for _, w := range s.CallingSummary.Warnings {
			got[w.Code] = w.Agents
		}
		for _, code := range []string{"PERSONAL_NUMBER_UNUSED", "PROFILE_INCOMPLETE"} {
			ids, total := e.agentIDs(map[string]any{"warning": code})
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
	e.mustMutate("updateOutboundProfile", updateProfile, map[string]any{"id": sales, "def": true}, nil)
	checkCounts("after the default", map[string]int{"PERSONAL_NUMBER_UNUSED": 0, "PROFILE_INCOMPLETE": 2})
	e.join("", cp2, cy)
	checkCounts("after Cy joined", map[string]int{"PERSONAL_NUMBER_UNUSED": 0, "PROFILE_INCOMPLETE": 1})
}

// TestHistoryAndWarningsPageStatements: a page of agents with their
// history (and its causes) and their warnings (and the objects they name)
// costs the same statements for 3 agents as for 12.
func TestHistoryAndWarningsPageStatements(t *testing.T) {
	t.Parallel()
	e := setupCounted(t)
	n1 := e.addNumberID("+14255550101", "MAKE_CALLS")
	q, cp := e.queueID("Sales", "VOICE"), e.capacityID("Sales capacity")
	e.profileID("Sales", q, cp, []string{n1}, false)
	const query = `{ agents(first: 100) { nodes { id
		callingAbility { warnings { code outboundProfile { name } phoneNumber { e164 } } }
		callingAbilityHistory(first: 3) { totalCount nodes { version ability { canMakeCalls } cause { action actor } } } } } }`
	made := 0
	add := func(n int) {
		for range n {
			id := e.createAgentID(fmt.Sprintf("Agent %02d", made), fmt.Sprintf("agent%02d@example.com", made), true)
			e.join(q, "", id) // queue only: PROFILE_INCOMPLETE
			if made%2 == 0 {
				e.join("", cp, id)                                                              // then both: can call
				e.assign(id, e.addNumberID(fmt.Sprintf("+1 206 555 %04d", made), "MAKE_CALLS")) // no default: unused
			}
			made++
		}
	}
	measure := func() int64 {
		best := int64(-1)
		for range 3 {
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
			n := e.queryCounted(query, nil, &data)
			for _, a := range data.Agents.Nodes {
				if len(a.CallingAbility.Warnings) == 0 || a.CallingAbilityHistory.TotalCount == 0 || a.CallingAbilityHistory.Nodes[0].Cause == nil {
					t.Fatalf("an agent without warnings or history: %+v", a)
				}
			}
			if best < 0 || n < best {
				best = n
			}
		}
		return best
	}
	add(3)
	at3 := measure()
	add(9)
	at12 := measure()
	t.Logf("agents with history and warnings: %d SQL statements for 3 agents, %d for 12", at3, at12)
	if at3 != at12 {
		t.Fatalf("%d statements for 3 agents, %d for 12: one per agent", at3, at12)
	}
}
