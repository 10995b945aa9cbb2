package calling_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"outdial/calling"
	"outdial/models/dbtest"
)

// Tests of issue 10 on the service: dry runs and impacts, the ability
// history with causes, warnings. What the API adds (a dry run's payload
// holds no object, changes(first:), cursors, who may read what) is tested
// through GraphQL in package main.

// comparableImpacts returns the impacts of a dry run and of the real run
// as JSON without DryRun, where the IDs the two give differently are
// replaced by "(new)": a dry run's new rows (an agent, a profile) have
// IDs the real run may not give them on MariaDB, whose AUTO_INCREMENT does
// not roll back. Everything else must be equal.
func comparableImpacts(t *testing.T, dry, real *calling.Impact) (string, string) {
	t.Helper()
	generic := func(imp *calling.Impact) map[string]any {
		b, err := json.Marshal(imp)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "DryRun")
		return m
	}
	d, r := generic(dry), generic(real)
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
				if (strings.HasSuffix(k, "Id") || strings.HasSuffix(k, "ID")) && !reflect.DeepEqual(x, y) {
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

// TestDryRunEveryMutation: every command that can change an ability, run
// as a dry run and then for real, reports the same impact, and the dry
// run leaves every table as it was: no ability version, no audit entry,
// no webhook event or delivery (so no webhook can be sent for it).
func TestDryRunEveryMutation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.endpointAs(admin, "https://hooks.example.com/hook")

	n1 := w.number("+14255550101", calling.MakeCalls, calling.ReceiveCalls)
	n2 := w.number("+14255550102", calling.ReceiveCalls)
	n3 := w.number("+14255550103", calling.MakeCalls)
	pn := w.number("+12065550111", calling.MakeCalls)
	q, q2, q4 := w.queue("Sales"), w.queue("Support"), w.queue("Spare")
	cp, cp2, cp4 := w.capacity("Sales capacity"), w.capacity("Support capacity"), w.capacity("Spare capacity")
	w.profile("Sales", q, cp, []int64{n1}, true)
	a1 := w.agent("Ann", "ann@example.com", true)
	a2 := w.agent("Bob", "bob@example.com", true)
	a3 := w.agent("Cy", "cy@example.com", true)
	w.join(q, cp, a1, a2)
	w.join(q2, cp2, a1)
	w.join(0, cp4, a3)
	w.join(0, cp2, a3) // in the capacity profile of the profile case 15 creates, not its queue
	var p2 int64       // the profile case 15 creates

	makeCalls := []calling.Capability{calling.MakeCalls}
	cases := []struct {
		name    string
		run     func(s *calling.Service) error
		changed int
	}{
		{"addPhoneNumber", func(s *calling.Service) error {
			return ignore(s.AddPhoneNumber(w.ctx, admin, calling.AddPhoneNumberInput{Number: "+14255550199"}))
		}, 0},
		{"updatePhoneNumber", func(s *calling.Service) error {
			return ignore(s.UpdatePhoneNumber(w.ctx, admin, calling.UpdatePhoneNumberInput{ID: n1, Label: calling.Some(ptr("Main line"))}))
		}, 0},
		{"downgradeCallingPlan", func(s *calling.Service) error {
			return ignore(s.DowngradeCallingPlan(w.ctx, admin, calling.ChangeCallingPlanInput{PhoneNumberID: n1, Capabilities: makeCalls}))
		}, 2},
		{"upgradeCallingPlan", func(s *calling.Service) error {
			return ignore(s.UpgradeCallingPlan(w.ctx, admin, calling.ChangeCallingPlanInput{PhoneNumberID: n1, Capabilities: makeCalls}))
		}, 2},
		{"createQueue", func(s *calling.Service) error {
			return ignore(s.CreateQueue(w.ctx, admin, calling.CreateQueueInput{Name: "Later", Channel: calling.ChannelVoice}))
		}, 0},
		{"updateQueue", func(s *calling.Service) error {
			return ignore(s.UpdateQueue(w.ctx, admin, calling.UpdateQueueInput{ID: q, Name: calling.Some(ptr("Sales team"))}))
		}, 0},
		{"addAgentsToQueue", func(s *calling.Service) error {
			return ignore(s.AddAgentsToQueue(w.ctx, admin, calling.QueueMembersInput{QueueID: q, AgentIDs: []int64{a3}}))
		}, 0},
		{"addAgentsToCapacityProfile", func(s *calling.Service) error {
			return ignore(s.AddAgentsToCapacityProfile(w.ctx, admin, calling.CapacityProfileMembersInput{CapacityProfileID: cp, AgentIDs: []int64{a3}}))
		}, 1},
		{"removeAgentsFromQueue", func(s *calling.Service) error {
			return ignore(s.RemoveAgentsFromQueue(w.ctx, admin, calling.QueueMembersInput{QueueID: q, AgentIDs: []int64{a3}}))
		}, 1},
		{"removeAgentsFromCapacityProfile", func(s *calling.Service) error {
			return ignore(s.RemoveAgentsFromCapacityProfile(w.ctx, admin, calling.CapacityProfileMembersInput{CapacityProfileID: cp, AgentIDs: []int64{a3}}))
		}, 1},
		{"setQueueOverflow", func(s *calling.Service) error {
			return ignore(s.SetQueueOverflow(w.ctx, admin, calling.SetQueueOverflowInput{QueueID: q2, TransferTo: "+14255550150", CallerIDNumberID: n1}))
		}, 0},
		{"clearQueueOverflow", func(s *calling.Service) error { return ignore(s.ClearQueueOverflow(w.ctx, admin, q2)) }, 0},
		{"createCapacityProfile", func(s *calling.Service) error {
			return ignore(s.CreateCapacityProfile(w.ctx, admin, calling.CreateCapacityProfileInput{Name: "Later capacity", WorkItemLimit: 1,
				ResetFrequency: calling.ResetImmediate}))
		}, 0},
		{"updateCapacityProfile", func(s *calling.Service) error {
			return ignore(s.UpdateCapacityProfile(w.ctx, admin, calling.UpdateCapacityProfileInput{ID: cp, WorkItemLimit: ptr(3)}))
		}, 2},
		{"createOutboundProfile", func(s *calling.Service) error {
			p, err := s.CreateOutboundProfile(w.ctx, admin, calling.CreateOutboundProfileInput{Name: "Support", QueueID: q2,
				CapacityProfileID: cp2, PhoneNumberIDs: []int64{n3}})
			if err == nil {
				p2 = p.ID // the real run comes last
			}
			return err
		}, 2},
		{"updateOutboundProfile", func(s *calling.Service) error {
			return ignore(s.UpdateOutboundProfile(w.ctx, admin, calling.UpdateOutboundProfileInput{ID: p2, CallerIDName: calling.Some(ptr("SUPPORT"))}))
		}, 1},
		{"deleteOutboundProfile", func(s *calling.Service) error { return s.DeleteOutboundProfile(w.ctx, admin, p2) }, 2},
		{"createAgent", func(s *calling.Service) error {
			return ignore(s.CreateAgent(w.ctx, admin, calling.CreateAgentInput{Name: "Dee", Email: "dee@example.com", UnifiedRoutingEnabled: true}))
		}, 1},
		{"upsertAgents", func(s *calling.Service) error {
			return ignore(s.UpsertAgents(w.ctx, admin, []calling.CreateAgentInput{{Name: "Dee", Email: "dee@example.com"},
				{Name: "Eve", Email: "eve@example.com", UnifiedRoutingEnabled: true}}))
		}, 2},
		{"updateAgent", func(s *calling.Service) error {
			return ignore(s.UpdateAgent(w.ctx, admin, calling.UpdateAgentInput{ID: a2, UnifiedRoutingEnabled: ptr(false)}))
		}, 1},
		{"assignPersonalNumber", func(s *calling.Service) error {
			return ignore(s.AssignPersonalNumber(w.ctx, admin, calling.AssignPersonalNumberInput{AgentID: a1, PhoneNumberID: pn}))
		}, 1},
		{"unassignPersonalNumber", func(s *calling.Service) error { return ignore(s.UnassignPersonalNumber(w.ctx, admin, a1)) }, 1},
		{"releasePhoneNumber", func(s *calling.Service) error { return s.ReleasePhoneNumber(w.ctx, admin, n2) }, 0},
		{"deleteQueue", func(s *calling.Service) error { return s.DeleteQueue(w.ctx, admin, q4) }, 0},
		{"deleteCapacityProfile", func(s *calling.Service) error { return s.DeleteCapacityProfile(w.ctx, admin, cp4) }, 0},
	}
	for _, c := range cases {
		before := dbtest.Snapshot(t, w.db)
		dryService, dry := w.svc.Observe(true)
		if err := c.run(dryService); err != nil {
			t.Fatalf("%s dry run refused: %v", c.name, err)
		}
		if after := dbtest.Snapshot(t, w.db); !reflect.DeepEqual(before, after) {
			t.Fatalf("%s dry run changed the database:\n%s", c.name, dbtest.DiffSnapshots(before, after))
		}
		realService, real := w.svc.Observe(false)
		if err := c.run(realService); err != nil {
			t.Fatalf("%s refused: %v", c.name, err)
		}
		if !dry.DryRun || real.DryRun {
			t.Fatalf("%s: impacts %+v (dry) and %+v (real)", c.name, dry, real)
		}
		if d, r := comparableImpacts(t, dry, real); d != r {
			t.Errorf("%s: dry run impact\n%s\ndiffers from the real one\n%s", c.name, d, r)
		}
		if real.AgentsChanged != c.changed {
			t.Errorf("%s changed %d agents, want %d: %+v", c.name, real.AgentsChanged, c.changed, real)
		}
	}
	// The real runs recorded events, each with a delivery to the endpoint.
	if events, deliveries := w.count("webhook_events", ""), w.count("webhook_deliveries", ""); events == 0 || deliveries != events {
		t.Errorf("%d events and %d deliveries after the real runs; want as many, more than none", events, deliveries)
	}
}

// TestImpactReport: a real command's impact counts losers and gainers and
// lists the diffs by email with the caller IDs gained and lost; a refused
// one has none.
func TestImpactReport(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	n1 := w.number("+14255550101", calling.MakeCalls)
	q, cp := w.queue("Sales"), w.capacity("Sales capacity")
	w.profile("Sales", q, cp, []int64{n1}, false)
	zed := w.agent("Zed", "zed@example.com", true)
	amy := w.agent("Amy", "amy@example.com", true)
	w.join(q, cp, zed, amy)

	plan := calling.ChangeCallingPlanInput{PhoneNumberID: n1, Capabilities: []calling.Capability{calling.MakeCalls}}
	svc, im := w.svc.Observe(false)
	res(svc.DowngradeCallingPlan(w.ctx, admin, plan)).must(w)
	if im.DryRun || im.AgentsChanged != 2 || im.AgentsLosingCalling != 2 || im.AgentsGainingCalling != 0 || len(im.Changes) != 2 {
		t.Fatalf("impact = %+v", im)
	}
	if im.Changes[0].AgentEmail != "amy@example.com" || im.Changes[0].AgentID != amy || im.Changes[1].AgentID != zed {
		t.Errorf("changes not ordered by email: %+v", im.Changes)
	}
	c := im.Changes[0]
	if c.Previous == nil || !c.Previous.Ability.CanMakeCalls || c.Current.Ability.CanMakeCalls || c.Current.Version != c.Previous.Version+1 ||
		len(c.CallerIDsGained) != 0 || !slices.Equal(c.CallerIDsLost, []string{"+14255550101"}) {
		t.Errorf("change = %+v", c)
	}
	svc, im = w.svc.Observe(false)
	res(svc.UpgradeCallingPlan(w.ctx, admin, plan)).must(w)
	if im.AgentsGainingCalling != 2 || len(im.Changes) != 2 || im.Changes[0].AgentEmail != "amy@example.com" ||
		!slices.Equal(im.Changes[0].CallerIDsGained, []string{"+14255550101"}) {
		t.Errorf("upgrade impact = %+v", im)
	}
	svc, im = w.svc.Observe(true)
	w.refused(calling.CodeInvalidInput, "an empty upgrade", func() error {
		return ignore(svc.UpgradeCallingPlan(w.ctx, admin, calling.ChangeCallingPlanInput{PhoneNumberID: n1, Capabilities: []calling.Capability{}}))
	})
	if im.AgentsChanged != 0 || len(im.Changes) != 0 {
		t.Errorf("a refused dry run has impact %+v; want none", im)
	}
}

// history reads all of an agent's versions, newest first, pages of n at a
// time, checking that the pages follow each other.
func (w *world) history(agent int64, n int) []calling.AbilityVersion {
	w.t.Helper()
	var all []calling.AbilityVersion
	var after int64
	for {
		p := res(w.svc.AbilityHistories(w.ctx, []int64{agent}, calling.Page{First: n, After: after})).must(w)[0]
		all = append(all, p.Versions...)
		if len(p.Versions) > n {
			w.t.Fatalf("a page of %d versions holds %d", n, len(p.Versions))
		}
		if !p.HasNext {
			return all
		}
		after = p.Versions[len(p.Versions)-1].Version
	}
}

// TestAbilityHistory: ten commands of different kinds give an agent ten
// versions, newest first, each with the audit entry of its command; one
// command that changes two agents is the cause of both versions; pruning
// the audit log leaves the versions without their cause.
func TestAbilityHistory(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ann := w.agent("Ann", "ann@example.com", true) // 1 createAgent
	bob := w.agent("Bob", "bob@example.com", true)
	n1 := w.number("+14255550101", calling.MakeCalls)
	pn := w.number("+12065550111", calling.MakeCalls)
	q, cp := w.queue("Sales"), w.capacity("Sales capacity")
	plan := calling.ChangeCallingPlanInput{PhoneNumberID: n1, Capabilities: []calling.Capability{calling.MakeCalls}}
	w.join(0, cp, ann, bob)                                                                                                                         // (NO_OUTBOUND_PROFILE stays; no version)
	prof := w.profile("Sales", q, cp, []int64{n1}, false)                                                                                           // 2 createOutboundProfile: NOT_IN_PROFILE_QUEUE
	w.join(q, 0, ann, bob)                                                                                                                          // 3 addAgentsToQueue: can call
	res(w.svc.DowngradeCallingPlan(w.ctx, admin, plan)).must(w)                                                                                     // 4
	res(w.svc.UpgradeCallingPlan(w.ctx, admin, plan)).must(w)                                                                                       // 5
	res(w.svc.UpdateCapacityProfile(w.ctx, admin, calling.UpdateCapacityProfileInput{ID: cp, WorkItemLimit: ptr(4)})).must(w)                       // 6
	res(w.svc.UpdateOutboundProfile(w.ctx, admin, calling.UpdateOutboundProfileInput{ID: prof, IsDefault: ptr(true)})).must(w)                      // (no change for Ann)
	w.assign(ann, pn)                                                                                                                               // 7 assignPersonalNumber
	res(w.svc.UnassignPersonalNumber(w.ctx, admin, ann)).must(w)                                                                                    // 8
	res(w.svc.UpdateAgent(w.ctx, admin, calling.UpdateAgentInput{ID: ann, UnifiedRoutingEnabled: ptr(false)})).must(w)                              // 9
	res(w.svc.RemoveAgentsFromQueue(w.ctx, admin, calling.QueueMembersInput{QueueID: q, AgentIDs: []int64{ann}})).must(w)                           // (unified off: no change)
	res(w.svc.UpsertAgents(w.ctx, admin, []calling.CreateAgentInput{{Name: "Ann", Email: "ann@example.com", UnifiedRoutingEnabled: true}})).must(w) // 10

	wantActions := []string{"upsertAgents", "updateAgent", "unassignPersonalNumber", "assignPersonalNumber", "updateCapacityProfile",
		"upgradeCallingPlan", "downgradeCallingPlan", "addAgentsToQueue", "createOutboundProfile", "createAgent"}
	if n := res(w.svc.AbilityVersionCounts(w.ctx, []int64{ann})).must(w)[0]; n != 10 {
		t.Fatalf("%d versions, want 10", n)
	}
	versions := w.history(ann, 4)
	var actions []string
	var causes []int64
	for i, v := range versions {
		if v.AuditEntryID == nil {
			t.Fatalf("version %d has no cause", v.Version)
		}
		entry := res(w.svc.AuditEntriesByID(w.ctx, []int64{*v.AuditEntryID})).must(w)[0]
		if entry == nil || entry.Actor != admin.Name {
			t.Fatalf("version %d: cause %+v", v.Version, entry)
		}
		actions = append(actions, entry.Action)
		causes = append(causes, entry.ID)
		if v.Version != int64(10-i) || v.AgentID != ann {
			t.Fatalf("version %d of agent %d at position %d: not Ann's, newest first", v.Version, v.AgentID, i)
		}
	}
	if !reflect.DeepEqual(actions, wantActions) {
		t.Fatalf("causes %v, want %v", actions, wantActions)
	}
	// One command, one audit entry, many versions: Bob's version from the
	// downgrade has the same cause as Ann's.
	found := false
	for _, v := range w.history(bob, 100) {
		if v.AuditEntryID != nil && *v.AuditEntryID == causes[6] {
			found = true
		}
	}
	if !found {
		t.Errorf("Bob's versions do not name the audit entry of Ann's downgrade (%d)", causes[6])
	}

	// The audit log may be pruned sooner (AUDIT_RETENTION): the versions
	// stay, without their cause.
	if err := w.db.Exec("DELETE FROM audit_entries WHERE action = ?", "createAgent").Error; err != nil {
		t.Fatal(err)
	}
	pruned := w.history(ann, 100)
	last := pruned[len(pruned)-1]
	causeGone := last.AuditEntryID == nil || res(w.svc.AuditEntriesByID(w.ctx, []int64{*last.AuditEntryID})).must(w)[0] == nil
	if len(pruned) != 10 || last.Version != 1 || !causeGone {
		t.Errorf("after pruning the audit log: %d versions, the first %+v; want 10, the first without a cause", len(pruned), last)
	}
}

// TestWarnings: each warning code shows on the agent's stored ability
// with the objects it names; CallingSummary's warnings and the warning
// filter agree with a count of the agents; a change of warnings alone
// raises no version and records no event.
func TestWarnings(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	n1 := w.number("+14255550101", calling.MakeCalls)
	n4 := w.number("+14255550104", calling.MakeCalls)
	pn := w.number("+12065550111", calling.MakeCalls)
	pn2 := w.number("+12065550112", calling.MakeCalls)
	q, cp := w.queue("Sales"), w.capacity("Sales capacity")
	q2, cp2 := w.queue("Support"), w.capacity("Support capacity")
	sales := w.profile("Sales", q, cp, []int64{n1}, false)
	support := w.profile("Support", q2, cp2, []int64{n4}, false)
	ann := w.agent("Ann", "ann@example.com", true)
	bob := w.agent("Bob", "bob@example.com", true)
	cy := w.agent("Cy", "cy@example.com", true)
	w.join(q, cp, ann, bob)
	w.assign(ann, pn) // no default profile: unused
	w.assign(bob, pn2)

	events0 := w.count("webhook_events", "")
	versionBefore := w.ability(cy).Version
	w.join(q2, 0, cy, bob) // Cy: queue only (cannot call); Bob: can call, queue only
	if v := w.ability(cy).Version; v != versionBefore {
		t.Errorf("a change of warnings alone raised Cy's version from %d to %d", versionBefore, v)
	}
	if events1 := w.count("webhook_events", ""); events1 != events0 {
		t.Errorf("a change of warnings alone recorded %d events", events1-events0)
	}

	annW := w.ability(ann).Warnings
	if len(annW) != 1 || annW[0].Code != calling.WarningPersonalNumberUnused || annW[0].PhoneNumberID == nil || *annW[0].PhoneNumberID != pn ||
		!strings.Contains(annW[0].Message, "+12065550111") {
		t.Errorf("Ann's warnings = %+v", annW)
	}
	cyW := w.ability(cy).Warnings
	if len(cyW) != 1 || cyW[0].Code != calling.WarningProfileIncomplete || cyW[0].OutboundProfileID == nil || *cyW[0].OutboundProfileID != support ||
		!strings.Contains(cyW[0].Message, `"Support"`) || !strings.Contains(cyW[0].Message, `"Support capacity"`) {
		t.Errorf("Cy's warnings = %+v", cyW)
	}
	bobW := w.ability(bob).Warnings
	if len(bobW) != 2 || bobW[0].Code != calling.WarningProfileIncomplete || bobW[1].Code != calling.WarningPersonalNumberUnused {
		t.Errorf("Bob's warnings = %+v", bobW)
	}

	// Making Sales the default uses Ann's and Bob's personal numbers.
	checkCounts := func(step string, want map[calling.WarningCode]int) {
		t.Helper()
		got := map[calling.WarningCode]int{}
		for _, c := range res(w.svc.CallingSummary(w.ctx)).must(w).Warnings {
			got[c.Code] = c.Agents
		}
		for _, code := range []calling.WarningCode{calling.WarningPersonalNumberUnused, calling.WarningProfileIncomplete} {
			filter := calling.AgentFilter{Warning: &code}
			total := res(w.svc.Agents(w.ctx, filter).Count()).must(w)
			listed := len(page(w, w.svc.Agents(w.ctx, filter)))
			counted := 0
			for _, id := range []int64{ann, bob, cy} {
				if slices.ContainsFunc(w.ability(id).Warnings, func(x calling.Warning) bool { return x.Code == code }) {
					counted++
				}
			}
			if got[code] != want[code] || total != want[code] || listed != want[code] || counted != want[code] {
				t.Errorf("%s: %s: summary %d, filter %d (%d listed), counted %d; want %d", step, code, got[code], total, listed, counted, want[code])
			}
		}
	}
	checkCounts("before", map[calling.WarningCode]int{calling.WarningPersonalNumberUnused: 2, calling.WarningProfileIncomplete: 2})
	res(w.svc.UpdateOutboundProfile(w.ctx, admin, calling.UpdateOutboundProfileInput{ID: sales, IsDefault: ptr(true)})).must(w)
	checkCounts("after the default", map[calling.WarningCode]int{calling.WarningPersonalNumberUnused: 0, calling.WarningProfileIncomplete: 2})
	w.join(0, cp2, cy)
	checkCounts("after Cy joined", map[calling.WarningCode]int{calling.WarningPersonalNumberUnused: 0, calling.WarningProfileIncomplete: 1})
}
