package calling_test

import (
	"strings"
	"testing"

	"outdial/calling"
)

// TestRenamesReachEveryAgentTheyName: an agent's stored ability names
// queues, capacity profiles and outbound profiles in its caller IDs,
// blockers and warnings, also of objects it is not a member of (in an
// outbound profile's queue but not in its capacity profile, or the
// reverse (a blocker naming its queue); holding a personal number that the default outbound profile
// governs without being in both). Renaming each object refreshes every
// agent whose ability named it: none names the old name afterwards, and
// each that did names the new one. (The refresh oracle checks every
// agent after every command too; this test makes the commands whose
// affected agents are found through other objects: affectedAgents,
// docs/domain.md, "Versions and changes".)
func TestRenamesReachEveryAgentTheyName(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	outbound := w.number("+14255550100", calling.ReceiveCalls, calling.MakeCalls)
	personal := w.number("+12065550123", calling.MakeCalls)
	queue, capacity := w.queue("Queue Alpha"), w.capacity("Capacity Alpha")
	profile := w.profile("Profile Alpha", queue, capacity, []int64{outbound}, true)
	both := w.agent("In both", "both@example.com", true)
	queueOnly := w.agent("Queue only", "queue-only@example.com", true)
	capacityOnly := w.agent("Capacity only", "capacity-only@example.com", true)
	holder := w.agent("Personal number", "holder@example.com", true)
	bystander := w.agent("In nothing", "nothing@example.com", true)
	w.join(queue, capacity, both)
	w.join(queue, 0, queueOnly)
	w.join(0, capacity, capacityOnly)
	w.assign(holder, personal)
	w.must(ignore(w.svc.UpdateOutboundProfile(w.ctx, admin, calling.UpdateOutboundProfileInput{ID: profile,
		CallerIDName: calling.Some(ptr("Sales Alpha"))})))
	agents := []int64{both, queueOnly, capacityOnly, holder, bystander}
	for _, step := range []struct {
		old, new string
		rename   func(name string) error
		named    []int64 // the agents whose ability names it
	}{
		{"Capacity Alpha", "Capacity Beta", func(name string) error {
			return ignore(w.svc.UpdateCapacityProfile(w.ctx, admin, calling.UpdateCapacityProfileInput{ID: capacity, Name: &name}))
		}, []int64{queueOnly, holder}},
		{"Queue Alpha", "Queue Beta", func(name string) error {
			return ignore(w.svc.UpdateQueue(w.ctx, admin, calling.UpdateQueueInput{ID: queue, Name: calling.Some(&name)}))
		}, []int64{queueOnly, capacityOnly, holder}},
		{"Profile Alpha", "Profile Beta", func(name string) error {
			return ignore(w.svc.UpdateOutboundProfile(w.ctx, admin, calling.UpdateOutboundProfileInput{ID: profile, Name: &name}))
		}, []int64{both, queueOnly, capacityOnly, holder}},
		{"Sales Alpha", "Sales Beta", func(name string) error {
			return ignore(w.svc.UpdateOutboundProfile(w.ctx, admin, calling.UpdateOutboundProfileInput{ID: profile,
				CallerIDName: calling.Some(&name)}))
		}, []int64{both}},
	} {
		names := func(agent int64, name string) bool {
			s := w.ability(agent)
			return strings.Contains(abilityText(s.Ability), name)
		}
		for _, a := range agents {
			if want := contains(step.named, a); names(a, step.old) != want {
				t.Fatalf("before renaming %q: agent %d names it %v, want %v (the test's world is not what it says): %+v", step.old, a, !want, want, w.ability(a))
			}
		}
		w.must(step.rename(step.new))
		for _, a := range agents {
			if names(a, step.old) {
				t.Errorf("renamed %q to %q: agent %d still names %q: %+v", step.old, step.new, a, step.old, w.ability(a))
			}
			if want := contains(step.named, a); names(a, step.new) != want {
				t.Errorf("renamed %q to %q: agent %d names %q %v, want %v", step.old, step.new, a, step.new, !want, want)
			}
		}
	}
}

// abilityText is every name and message an ability shows.
func abilityText(a calling.Ability) string {
	var b strings.Builder
	for _, c := range a.CallerIDs {
		b.WriteString(c.OutboundProfileName + "\n")
		if c.CallerIDName != nil {
			b.WriteString(*c.CallerIDName + "\n")
		}
	}
	for _, x := range a.Blockers {
		b.WriteString(x.Message + "\n")
	}
	for _, x := range a.Warnings {
		b.WriteString(x.Message + "\n")
	}
	return b.String()
}

// contains reports whether ids holds id.
func contains(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
