package calling_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"outdial/calling"
)

// bulkAgents is the number of agents of TestTenThousandAgents.
const bulkAgents = 10000

// abilityState is what TestTenThousandAgents reads of every agent at once.
type abilityState struct {
	versions map[int64]int64
	canCall  int
}

func (w *world) abilityState() abilityState {
	w.t.Helper()
	var rows []struct {
		AgentID      int64
		Version      int64
		CanMakeCalls bool
	}
	if err := w.db.Table("calling_abilities").Select("agent_id, version, can_make_calls").Scan(&rows).Error; err != nil {
		w.t.Fatalf("read abilities: %v", err)
	}
	st := abilityState{versions: make(map[int64]int64, len(rows))}
	for _, r := range rows {
		st.versions[r.AgentID] = r.Version
		if r.CanMakeCalls {
			st.canCall++
		}
	}
	return st
}

// maxEventID returns the ID of the newest stored webhook event (0: none).
func (w *world) maxEventID() int64 {
	w.t.Helper()
	var id *int64
	if err := w.db.Table("webhook_events").Select("MAX(id)").Scan(&id).Error; err != nil {
		w.t.Fatalf("read events: %v", err)
	}
	if id == nil {
		return 0
	}
	return *id
}

// auditTotal returns the number of audit entries and the newest one's
// action.
func (w *world) auditTotal() (int, string) {
	w.t.Helper()
	entries, _, err := w.svc.AuditLog(w.ctx, calling.AuditFilter{}).Page(calling.Page{First: 1})
	w.must(err)
	newest := ""
	if len(entries) > 0 {
		newest = entries[0].Action
	}
	return res(w.svc.AuditLog(w.ctx, calling.AuditFilter{}).Count()).must(w), newest
}

// checkBulkChange checks that one command (the newest audit entry is its
// only one) raised the version of every agent by exactly one and recorded
// exactly one agent.calling_ability.changed event per agent.
func (w *world) checkBulkChange(action string, before abilityState, eventsBefore int64, auditBefore int, wantCanCall int) {
	w.t.Helper()
	after := w.abilityState()
	if len(after.versions) != bulkAgents {
		w.t.Fatalf("%d stored abilities, want %d", len(after.versions), bulkAgents)
	}
	for id, v := range after.versions {
		if v != before.versions[id]+1 {
			w.t.Fatalf("%s: agent %d went from version %d to %d, want +1", action, id, before.versions[id], v)
		}
	}
	if after.canCall != wantCanCall {
		w.t.Fatalf("%s: %d agents can call, want %d", action, after.canCall, wantCanCall)
	}
	var events []struct {
		AgentID int64
		Version int64
	}
	if err := w.db.Table("webhook_events").Select("agent_id, version").
		Where("id > ? AND type = ?", eventsBefore, "agent.calling_ability.changed").Scan(&events).Error; err != nil {
		w.t.Fatal(err)
	}
	seen := make(map[int64]bool, len(events))
	for _, ev := range events {
		if seen[ev.AgentID] || ev.Version != after.versions[ev.AgentID] {
			w.t.Fatalf("%s: event for agent %d version %d (stored %d, seen before: %v)", action, ev.AgentID, ev.Version, after.versions[ev.AgentID], seen[ev.AgentID])
		}
		seen[ev.AgentID] = true
	}
	if len(events) != bulkAgents {
		w.t.Fatalf("%s recorded %d ability events, want %d", action, len(events), bulkAgents)
	}
	if total, newest := w.auditTotal(); total != auditBefore+1 || newest != action {
		w.t.Fatalf("%s: %d audit entries after it (newest %s), want %d", action, total, newest, auditBefore+1)
	}
}

// TestTenThousandAgents changes the ability of 10,000 agents in one
// command, three times (the outbound profile that holds them all is
// created, its only number downgraded, then upgraded again), and checks
// that each is one transaction: one audit entry, every version +1, one
// agent.calling_ability.changed event per agent. A refusal on the same
// scale writes nothing, and a downgrade whose context ends halfway happens
// whole or not at all. Skipped with -short.
func TestTenThousandAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 agents: skipped with -short")
	}
	t.Parallel()
	w := newWorld(t)
	start := time.Now()
	number := w.number("+1 425 555 0100", calling.ReceiveCalls, calling.MakeCalls)
	q, cp := w.queue("Outbound"), w.capacity("Voice")
	// One bulk command (the oracle then checks the 10,000 agents once, not
	// after each of 30 smaller commands).
	entries := make([]calling.ImportAgent, bulkAgents)
	for n := range entries {
		entries[n] = calling.ImportAgent{
			CreateAgentInput: calling.CreateAgentInput{Name: fmt.Sprintf("Agent %05d", n), Email: fmt.Sprintf("agent%05d@example.com", n),
				UnifiedRoutingEnabled: true},
			QueueIDs: []int64{q}, CapacityProfileIDs: []int64{cp},
		}
	}
	if _, err := w.svc.ImportAgents(w.ctx, admin, entries); err != nil {
		t.Fatalf("import %d agents: %v", bulkAgents, err)
	}
	t.Logf("setup: %d agents in a queue and a capacity profile in %v", bulkAgents, time.Since(start).Round(time.Millisecond))

	var took time.Duration
	plan := calling.ChangeCallingPlanInput{PhoneNumberID: number, Capabilities: []calling.Capability{calling.MakeCalls}}
	bulk := func(action string, run func() error, wantCanCall int) {
		t.Helper()
		before, events := w.abilityState(), w.maxEventID()
		audits, _ := w.auditTotal()
		start := time.Now()
		w.must(run())
		took = time.Since(start)
		t.Logf("%s for %d agents: %v", action, bulkAgents, took.Round(time.Millisecond))
		w.checkBulkChange(action, before, events, audits, wantCanCall)
	}
	bulk("createOutboundProfile", func() error {
		return ignore(w.svc.CreateOutboundProfile(w.ctx, admin, calling.CreateOutboundProfileInput{Name: "Outbound", QueueID: q,
			CapacityProfileID: cp, PhoneNumberIDs: []int64{number}, IsDefault: true}))
	}, bulkAgents)
	bulk("downgradeCallingPlan", func() error { return ignore(w.svc.DowngradeCallingPlan(w.ctx, admin, plan)) }, 0)
	bulk("upgradeCallingPlan", func() error { return ignore(w.svc.UpgradeCallingPlan(w.ctx, admin, plan)) }, bulkAgents)
	cutOff := took / 2

	// A refusal on the same scale writes nothing.
	refusing := time.Now()
	w.refused(calling.CodeInUse, "deleteCapacityProfile", func() error { return w.svc.DeleteCapacityProfile(w.ctx, admin, cp) })
	t.Logf("refused deleteCapacityProfile for %d agents: %v", bulkAgents, time.Since(refusing).Round(time.Millisecond))

	// A downgrade whose context ends halfway through: it happened whole
	// or not at all.
	before, events := w.abilityState(), w.maxEventID()
	audits, _ := w.auditTotal()
	ctx, cancel := context.WithTimeout(context.Background(), cutOff)
	defer cancel()
	_, err := w.svc.DowngradeCallingPlan(ctx, admin, plan)
	t.Logf("the downgrade cut off after %v returned %v", cutOff, err)
	if total, _ := w.auditTotal(); total > audits {
		t.Logf("the cut-off downgrade had committed before the cancellation reached it")
		w.checkBulkChange("downgradeCallingPlan", before, events, audits, 0)
	} else {
		t.Logf("the cut-off downgrade was rolled back")
		after := w.abilityState()
		for id, v := range after.versions {
			if v != before.versions[id] {
				t.Fatalf("a rolled-back command changed agent %d from version %d to %d", id, before.versions[id], v)
			}
		}
		if after.canCall != bulkAgents || w.maxEventID() != events {
			t.Fatalf("a rolled-back command left %d agents able to call and events up to %d (from %d)", after.canCall, w.maxEventID(), events)
		}
	}
	t.Logf("whole test: %v", time.Since(start).Round(time.Millisecond))
}
