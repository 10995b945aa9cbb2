package calling_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"outdial/calling"
)

// Tests of the rules of docs/domain.md ("Setting up outbound calling",
// "Personal numbers", "Mutations and errors") beyond single refusals:
// uniqueness, upsertAgents, set semantics, the default profile, deletes,
// and unified routing.

// TestNameUniqueness checks that names of queues, capacity profiles and
// outbound profiles are unique whatever their case, on create and rename,
// while an object may change the case of its own name.
func TestNameUniqueness(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	number := w.number("+1 425 555 0100", calling.MakeCalls)
	q1, q2 := w.queue("Outbound Sales"), w.queue("Inbound")
	cp1, cp2 := w.capacity("Voice Outbound"), w.capacity("Voice Inbound")
	p1 := w.profile("West Coast", q1, cp1, []int64{number}, false)
	p2 := w.profile("East Coast", q1, cp1, []int64{number}, false)

	kinds := []struct {
		what        string
		create      func(name string) error
		rename      func(id int64, name string) (string, error)
		other, self int64
		taken       string
	}{
		{"queue",
			func(n string) error {
				return ignore(w.svc.CreateQueue(w.ctx, admin, calling.CreateQueueInput{Name: n, Channel: calling.ChannelMessaging}))
			},
			func(id int64, n string) (string, error) {
				q, err := w.svc.UpdateQueue(w.ctx, admin, calling.UpdateQueueInput{ID: id, Name: calling.Some(&n)})
				if err != nil {
					return "", err
				}
				return q.Name, nil
			}, q2, q1, "Outbound Sales"},
		{"capacity profile",
			func(n string) error {
				return ignore(w.svc.CreateCapacityProfile(w.ctx, admin, calling.CreateCapacityProfileInput{Name: n, WorkItemLimit: 1,
					ResetFrequency: calling.ResetImmediate}))
			},
			func(id int64, n string) (string, error) {
				cp, err := w.svc.UpdateCapacityProfile(w.ctx, admin, calling.UpdateCapacityProfileInput{ID: id, Name: &n})
				if err != nil {
					return "", err
				}
				return cp.Name, nil
			}, cp2, cp1, "Voice Outbound"},
		{"outbound profile",
			func(n string) error {
				return ignore(w.svc.CreateOutboundProfile(w.ctx, admin, calling.CreateOutboundProfileInput{Name: n, QueueID: q1,
					CapacityProfileID: cp1, PhoneNumberIDs: []int64{number}}))
			},
			func(id int64, n string) (string, error) {
				p, err := w.svc.UpdateOutboundProfile(w.ctx, admin, calling.UpdateOutboundProfileInput{ID: id, Name: &n})
				if err != nil {
					return "", err
				}
				return p.Name, nil
			}, p2, p1, "West Coast"},
	}
	for _, k := range kinds {
		t.Run(k.what, func(t *testing.T) {
			w := w.as(t)
			for _, name := range []string{strings.ToUpper(k.taken), strings.ToLower(k.taken), "  " + k.taken + " "} {
				w.refused(calling.CodeAlreadyExists, "create "+name, func() error { return k.create(name) })
			}
			w.refused(calling.CodeAlreadyExists, "rename", func() error { return ignore(k.rename(k.other, strings.ToLower(k.taken))) })
			// Its own name in another case is not a conflict.
			renamed := res(k.rename(k.self, strings.ToUpper(k.taken))).must(w)
			if renamed != strings.ToUpper(k.taken) {
				t.Errorf("renamed to %q, want %q", renamed, strings.ToUpper(k.taken))
			}
		})
	}
}

// TestEmailUniqueness checks that emails are stored lower-cased, found in
// any case and unique whatever their case, including through upsertAgents.
func TestEmailUniqueness(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	created := res(w.svc.CreateAgent(w.ctx, admin, calling.CreateAgentInput{Name: "Aiko Tanaka", Email: "  Aiko.Tanaka@Example.COM ", UnifiedRoutingEnabled: true})).must(w)
	if created.Email != "aiko.tanaka@example.com" {
		t.Fatalf("stored email %q, want it lower-cased", created.Email)
	}
	found := res(w.svc.AgentByEmail(w.ctx, "AIKO.TANAKA@example.com")).must(w)
	if found == nil || found.ID != created.ID {
		t.Fatalf("AgentByEmail in another case = %+v, want %d", found, created.ID)
	}
	w.refused(calling.CodeAlreadyExists, "createAgent", func() error {
		return ignore(w.svc.CreateAgent(w.ctx, admin, calling.CreateAgentInput{Name: "Other", Email: "aiko.tanaka@EXAMPLE.com", UnifiedRoutingEnabled: true}))
	})

	up := res(w.svc.UpsertAgents(w.ctx, admin, []calling.CreateAgentInput{{Name: "Aiko T.", Email: "AIKO.TANAKA@EXAMPLE.COM", UnifiedRoutingEnabled: true}})).must(w)
	if len(up) != 1 || up[0].ID != created.ID || up[0].Name != "Aiko T." {
		t.Fatalf("upsert by email in another case = %+v; want the existing agent %d renamed", up, created.ID)
	}
	if n := res(w.svc.Agents(w.ctx, calling.AgentFilter{}).Count()).must(w); n != 1 {
		t.Fatalf("%d agents, want 1", n)
	}
}

// TestNumberRegisteredOnce checks that a number is registered once, whatever
// the notation it is given in.
func TestNumberRegisteredOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.number("+14255550100")
	for _, n := range []string{"(425) 555-0100", "1-425-555-0100", "+1 425.555.0100", " +1 (425) 555 0100 "} {
		ue := w.refused(calling.CodeAlreadyExists, "addPhoneNumber "+n, func() error {
			return ignore(w.svc.AddPhoneNumber(w.ctx, admin, calling.AddPhoneNumberInput{Number: n}))
		})
		if !strings.Contains(ue.Message, "+14255550100") {
			t.Errorf("refusal of %q does not name the number: %q", n, ue.Message)
		}
	}
	if n := res(w.svc.PhoneNumbers(w.ctx, calling.PhoneNumberFilter{}).Count()).must(w); n != 1 {
		t.Fatalf("%d numbers, want 1", n)
	}
}

// TestUpsertAgents checks that upsertAgents is all or nothing (a bad entry
// at index 3 of 5 writes nothing and the refusal names the index), updates
// by email, and returns the agents in the order of its input.
func TestUpsertAgents(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	mid := w.agent("Mid", "mid@example.com", true)
	entry := func(name, email string, unified bool) calling.CreateAgentInput {
		return calling.CreateAgentInput{Name: name, Email: email, UnifiedRoutingEnabled: unified}
	}
	refusals := []struct {
		name  string
		in    []calling.CreateAgentInput
		field []string
	}{
		{"bad email at index 3", []calling.CreateAgentInput{entry("Zoe", "zoe@example.com", true), entry("Mid renamed", "MID@example.com", false),
			entry("Amy", "amy@example.com", true), entry("Kim", "kim at example", true), entry("Bob", "bob@example.com", true)},
			[]string{"input", "agents", "3", "email"}},
		{"duplicate email", []calling.CreateAgentInput{entry("Zoe", "zoe@example.com", true), entry("Amy", "amy@example.com", true),
			entry("Zoe again", "ZOE@example.com", true)},
			[]string{"input", "agents", "2", "email"}},
		{"blank name", []calling.CreateAgentInput{entry("Zoe", "zoe@example.com", true), entry(" ", "amy@example.com", true)},
			[]string{"input", "agents", "1", "name"}},
	}
	for _, r := range refusals {
		ue := w.refused(calling.CodeInvalidInput, r.name, func() error { return ignore(w.svc.UpsertAgents(w.ctx, admin, r.in)) })
		if !slices.Equal(ue.Field, r.field) {
			t.Errorf("%s: refusal field = %v, want %v", r.name, ue.Field, r.field)
		}
	}

	good := []calling.CreateAgentInput{entry("Zoe", "Zoe@Example.com", true), entry("Mid renamed", "MID@example.com", false),
		entry("Amy", "amy@example.com", true), entry("Kim", "kim@example.com", true), entry("Bob", "bob@example.com", true)}
	out := res(w.svc.UpsertAgents(w.ctx, admin, good)).must(w)
	wantEmails := []string{"zoe@example.com", "mid@example.com", "amy@example.com", "kim@example.com", "bob@example.com"}
	var emails []string
	for _, a := range out {
		emails = append(emails, a.Email)
	}
	if !slices.Equal(emails, wantEmails) {
		t.Fatalf("upsertAgents returned %v, want the input order %v", emails, wantEmails)
	}
	if m := out[1]; m.ID != mid || m.Name != "Mid renamed" || m.UnifiedRoutingEnabled {
		t.Fatalf("existing agent after upsert = %+v, want %d renamed with unified routing off", m, mid)
	}
	if ab := w.expectVersion("upsert turned unified routing off", mid, 2); !slices.Equal(ab.blockerCodes(), []string{"UNIFIED_ROUTING_DISABLED"}) {
		t.Fatalf("blockers after upsert = %v", ab.blockerCodes())
	}
	for _, a := range []int{0, 2, 3, 4} {
		w.expectVersion("new agent from upsert", out[a].ID, 1)
	}
	if n := res(w.svc.Agents(w.ctx, calling.AgentFilter{}).Count()).must(w); n != 5 {
		t.Fatalf("%d agents after upsert, want 5", n)
	}

	// The same input again changes nothing.
	events := w.eventCount()
	again := res(w.svc.UpsertAgents(w.ctx, admin, good)).must(w)
	for i, a := range again {
		if a.ID != out[i].ID {
			t.Fatalf("second upsert returned %d at %d, want %d", a.ID, i, out[i].ID)
		}
	}
	w.expectVersion("unchanged upsert", mid, 2)
	if n := w.eventCount(); n != events {
		t.Fatalf("an upsert that changes nothing emitted %d events", n-events)
	}
}

// TestMembershipSetSemantics checks that adding a member twice or removing
// a non-member is no error and changes no ability (no version, no event).
func TestMembershipSetSemantics(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	number := w.number("+1 425 555 0100", calling.MakeCalls)
	q, cp := w.queue("Outbound"), w.capacity("Voice")
	w.profile("Outbound", q, cp, []int64{number}, false)
	aiko := w.agent("Aiko", "aiko@example.com", true)
	ben := w.agent("Ben", "ben@example.com", true)
	w.join(0, cp, aiko)
	w.join(q, 0, aiko)
	if ab := w.expectVersion("in profile", aiko, 3); !ab.CanMakeCalls {
		t.Fatalf("aiko cannot call: %+v", ab)
	}
	events := w.eventCount()

	queueCount := func() int { return res(w.svc.QueueAgentCounts(w.ctx, []int64{q})).must(w)[0] }
	capacityCount := func() int { return res(w.svc.CapacityProfileAgentCounts(w.ctx, []int64{cp})).must(w)[0] }
	steps := []struct {
		name  string
		run   func() error
		count func() int
		want  int
	}{
		{"add a queue member again", func() error {
			return ignore(w.svc.AddAgentsToQueue(w.ctx, admin, calling.QueueMembersInput{QueueID: q, AgentIDs: []int64{aiko, aiko}}))
		}, queueCount, 1},
		{"remove a non-member from the queue", func() error {
			return ignore(w.svc.RemoveAgentsFromQueue(w.ctx, admin, calling.QueueMembersInput{QueueID: q, AgentIDs: []int64{ben}}))
		}, queueCount, 1},
		{"add a capacity profile member again", func() error {
			return ignore(w.svc.AddAgentsToCapacityProfile(w.ctx, admin, calling.CapacityProfileMembersInput{CapacityProfileID: cp, AgentIDs: []int64{aiko}}))
		}, capacityCount, 1},
		{"remove a non-member from the capacity profile", func() error {
			return ignore(w.svc.RemoveAgentsFromCapacityProfile(w.ctx, admin, calling.CapacityProfileMembersInput{CapacityProfileID: cp, AgentIDs: []int64{ben}}))
		}, capacityCount, 1},
	}
	for _, s := range steps {
		w.must(s.run())
		if n := s.count(); n != s.want {
			t.Errorf("%s: agentCount %d, want %d", s.name, n, s.want)
		}
		w.expectVersion(s.name, aiko, 3)
		w.expectVersion(s.name, ben, 1)
		if n := w.eventCount(); n != events {
			t.Fatalf("%s emitted %d ability events", s.name, n-events)
		}
	}

	// Removing a real member does change the ability.
	res(w.svc.RemoveAgentsFromQueue(w.ctx, admin, calling.QueueMembersInput{QueueID: q, AgentIDs: []int64{aiko}})).must(w)
	if ab := w.expectVersion("removed from queue", aiko, 4); ab.CanMakeCalls || !slices.Equal(ab.blockerCodes(), []string{"NOT_IN_PROFILE_QUEUE"}) {
		t.Fatalf("after removal: %+v", ab)
	}
}

// defaults reads which outbound profiles are the default, by name.
func (w *world) defaults() map[string]bool {
	w.t.Helper()
	profiles := page(w, w.svc.OutboundProfiles(w.ctx))
	out := map[string]bool{}
	for _, p := range profiles {
		out[p.Name] = p.IsDefault()
	}
	return out
}

// auditCount counts the audit entries of action about the object kind/id.
func (w *world) auditCount(kind calling.Kind, id int64, action string) int {
	w.t.Helper()
	target := calling.GlobalID(kind, id)
	return res(w.svc.AuditLog(w.ctx, calling.AuditFilter{TargetID: &target, Action: &action}).Count()).must(w)
}

// TestDefaultProfileMoves checks that making a profile the default clears
// the previous default in the same mutation, and that calls from personal
// numbers follow the default.
func TestDefaultProfileMoves(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	n1 := w.number("+1 425 555 0100", calling.MakeCalls)
	n2 := w.number("+1 425 555 0102", calling.MakeCalls)
	personal := w.number("+1 206 555 0123", calling.MakeCalls)
	q, cp := w.queue("Outbound"), w.capacity("Voice")
	west := w.profile("West", q, cp, []int64{n1}, true)
	aiko := w.agent("Aiko", "aiko@example.com", true)
	w.join(q, cp, aiko)
	w.assign(aiko, personal)
	ab := w.ability(aiko)
	v := ab.Version
	if want := []string{"+12065550123/PERSONAL_NUMBER/West", "+14255550100/OUTBOUND_PROFILE/West"}; !slices.Equal(ab.callers(), want) {
		t.Fatalf("callers = %v, want %v", ab.callers(), want)
	}

	steps := []struct {
		name     string
		run      func() error
		defaults map[string]bool
		callers  []string
	}{
		{"new default", func() error {
			return ignore(w.svc.CreateOutboundProfile(w.ctx, admin, calling.CreateOutboundProfileInput{Name: "East", QueueID: q,
				CapacityProfileID: cp, PhoneNumberIDs: []int64{n2}, IsDefault: true}))
		}, map[string]bool{"East": true, "West": false},
			[]string{"+12065550123/PERSONAL_NUMBER/East", "+14255550102/OUTBOUND_PROFILE/East", "+14255550100/OUTBOUND_PROFILE/West"}},
		{"default back to West", func() error {
			return ignore(w.svc.UpdateOutboundProfile(w.ctx, admin, calling.UpdateOutboundProfileInput{ID: west, IsDefault: ptr(true)}))
		}, map[string]bool{"East": false, "West": true},
			[]string{"+14255550102/OUTBOUND_PROFILE/East", "+12065550123/PERSONAL_NUMBER/West", "+14255550100/OUTBOUND_PROFILE/West"}},
		// Unsetting the default leaves none: the personal number loses its caller ID.
		{"no default", func() error {
			return ignore(w.svc.UpdateOutboundProfile(w.ctx, admin, calling.UpdateOutboundProfileInput{ID: west, IsDefault: ptr(false)}))
		}, map[string]bool{"East": false, "West": false},
			[]string{"+14255550102/OUTBOUND_PROFILE/East", "+14255550100/OUTBOUND_PROFILE/West"}},
	}
	for i, s := range steps {
		w.must(s.run())
		if d := w.defaults(); !maps2Equal(d, s.defaults) {
			t.Fatalf("%s: defaults %v, want %v", s.name, d, s.defaults)
		}
		ab = w.expectVersion(s.name, aiko, v+int64(i)+1)
		if !slices.Equal(ab.callers(), s.callers) {
			t.Fatalf("%s: callers = %v, want %v", s.name, ab.callers(), s.callers)
		}
		if s.name == "default back to West" {
			profiles := page(w, w.svc.OutboundProfiles(w.ctx))
			for _, p := range profiles {
				want := 0
				if p.ID == west {
					want = 1
				}
				if n := w.auditCount(calling.KindOutboundProfile, p.ID, "updateOutboundProfile"); n != want {
					t.Errorf("%d updateOutboundProfile audit entries for %s, want %d", n, p.Name, want)
				}
			}
		}
	}
}

// maps2Equal reports whether two maps of booleans hold the same entries.
func maps2Equal(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, found := b[k]; !found || bv != v {
			return false
		}
	}
	return true
}

// TestDeleteOutboundProfile checks that deleting a profile is always
// allowed and changes the abilities of its agents (and only theirs).
func TestDeleteOutboundProfile(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	n1 := w.number("+1 425 555 0100", calling.MakeCalls)
	personal := w.number("+1 206 555 0123", calling.MakeCalls)
	q, cp := w.queue("Outbound"), w.capacity("Voice")
	p := w.profile("Outbound", q, cp, []int64{n1}, true)
	aiko := w.agent("Aiko", "aiko@example.com", true) // can call, with a personal number
	ben := w.agent("Ben", "ben@example.com", true)    // in the capacity profile, not the queue
	cara := w.agent("Cara", "cara@example.com", true) // in nothing
	w.join(q, cp, aiko)
	w.join(0, cp, ben)
	w.assign(aiko, personal)
	va, vb, vc := w.ability(aiko).Version, w.ability(ben).Version, w.ability(cara).Version

	w.must(w.svc.DeleteOutboundProfile(w.ctx, admin, p))
	ab := w.expectVersion("aiko after delete", aiko, va+1)
	if ab.CanMakeCalls || !slices.Equal(ab.blockerCodes(), []string{"NO_OUTBOUND_PROFILE", "NO_DEFAULT_OUTBOUND_PROFILE"}) {
		t.Fatalf("aiko after delete: %+v", ab)
	}
	ab = w.expectVersion("ben after delete", ben, vb+1)
	if !slices.Equal(ab.blockerCodes(), []string{"NO_OUTBOUND_PROFILE"}) {
		t.Fatalf("ben after delete: %v", ab.blockerCodes())
	}
	w.expectVersion("cara after delete", cara, vc)
	if got := res(w.svc.OutboundProfilesByID(w.ctx, []int64{p})).must(w); len(got) != 1 || got[0] != nil {
		t.Fatalf("deleted profile still readable: %+v", got)
	}
	w.refused(calling.CodeNotFound, "deleteOutboundProfile again", func() error { return w.svc.DeleteOutboundProfile(w.ctx, admin, p) })
	// Its numbers, queue and capacity profile are free again.
	w.must(w.svc.ReleasePhoneNumber(w.ctx, admin, n1))
	w.must(w.svc.DeleteQueue(w.ctx, admin, q))
	w.must(w.svc.DeleteCapacityProfile(w.ctx, admin, cp))
}

// TestDeletesTakeMemberships checks that deleting a queue or a capacity
// profile takes its memberships (and a queue's overflow setting) with it.
func TestDeletesTakeMemberships(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	overflow := w.number("+1 425 555 0103", calling.MakeCalls)
	q, keep := w.queue("Temporary"), w.queue("Kept")
	cp, keepCP := w.capacity("Temporary"), w.capacity("Kept")
	aiko := w.agent("Aiko", "aiko@example.com", true)
	ben := w.agent("Ben", "ben@example.com", true)
	w.join(q, cp, aiko, ben)
	w.join(keep, keepCP, aiko)
	res(w.svc.SetQueueOverflow(w.ctx, admin, calling.SetQueueOverflowInput{QueueID: q, TransferTo: "+1 425 555 0199", CallerIDNumberID: overflow})).must(w)
	w.refused(calling.CodeInUse, "releasePhoneNumber", func() error { return w.svc.ReleasePhoneNumber(w.ctx, admin, overflow) })
	va := w.ability(aiko).Version

	w.must(w.svc.DeleteQueue(w.ctx, admin, q))
	w.must(w.svc.DeleteCapacityProfile(w.ctx, admin, cp))

	queues := res(w.svc.QueuesOfAgents(w.ctx, []int64{aiko})).must(w)[0]
	capacities := res(w.svc.CapacityProfilesOfAgents(w.ctx, []int64{aiko})).must(w)[0]
	if len(queues) != 1 || queues[0].ID != keep || len(capacities) != 1 || capacities[0].ID != keepCP {
		t.Fatalf("aiko's memberships after the deletes: queues %+v, capacity profiles %+v", queues, capacities)
	}
	for _, table := range []string{"queue_members", "capacity_profile_members"} {
		if n := w.count(table, ""); n != 1 {
			t.Errorf("%s holds %d rows after the delete, want 1 (aiko's in the kept one)", table, n)
		}
	}
	w.expectVersion("memberships of unused queue and capacity profile", aiko, va)
	// The overflow setting went with the queue: its caller ID can be released.
	w.must(w.svc.ReleasePhoneNumber(w.ctx, admin, overflow))
}

// TestUnifiedRoutingToggle checks that turning unified routing off keeps
// the personal number but stops every call (UNIFIED_ROUTING_DISABLED), and
// that turning it on again restores the same caller IDs.
func TestUnifiedRoutingToggle(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	n1 := w.number("+1 425 555 0100", calling.MakeCalls)
	personal := w.number("+1 206 555 0123", calling.MakeCalls)
	q, cp := w.queue("Outbound"), w.capacity("Voice")
	w.profile("Outbound", q, cp, []int64{n1}, true)
	aiko := w.agent("Aiko", "aiko@example.com", true)
	w.join(q, cp, aiko)
	w.assign(aiko, personal)
	before := w.ability(aiko)
	if !before.CanMakeCalls || len(before.CallerIDs) != 2 {
		t.Fatalf("setup: %+v", before)
	}

	off := res(w.svc.UpdateAgent(w.ctx, admin, calling.UpdateAgentInput{ID: aiko, UnifiedRoutingEnabled: ptr(false)})).must(w)
	if off.PersonalNumberID == nil || *off.PersonalNumberID != personal {
		t.Fatalf("personal number after turning unified routing off: %v, want %d", off.PersonalNumberID, personal)
	}
	ab := w.expectVersion("unified routing off", aiko, before.Version+1)
	if ab.CanMakeCalls || len(ab.CallerIDs) != 0 || !slices.Equal(ab.blockerCodes(), []string{"UNIFIED_ROUTING_DISABLED"}) {
		t.Fatalf("ability with unified routing off: %+v", ab)
	}
	// The number is still held: nobody else can take it.
	cara := w.agent("Cara", "cara@example.com", true)
	w.refused(calling.CodeNumberAlreadyAssigned, "assignPersonalNumber", func() error {
		return ignore(w.svc.AssignPersonalNumber(w.ctx, admin, calling.AssignPersonalNumberInput{AgentID: cara, PhoneNumberID: personal}))
	})

	res(w.svc.UpdateAgent(w.ctx, admin, calling.UpdateAgentInput{ID: aiko, UnifiedRoutingEnabled: ptr(true)})).must(w)
	ab = w.expectVersion("unified routing on again", aiko, before.Version+2)
	if !ab.CanMakeCalls || !slices.Equal(ab.callers(), before.callers()) || len(ab.Blockers) != 0 {
		t.Fatalf("ability after turning unified routing on: %v, want %v", ab.callers(), before.callers())
	}
}

// TestVersionOnlyOnChange checks that a command raises the version of
// exactly the agents whose ability changes in a way that counts
// (docs/domain.md, "Versions and changes"), and that a rename only
// rewrites the wording, without a version.
func TestVersionOnlyOnChange(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	n1 := w.number("+1 425 555 0100", calling.ReceiveCalls, calling.MakeCalls)
	q, cp := w.queue("Outbound"), w.capacity("Voice")
	p := w.profile("Outbound sales", q, cp, []int64{n1}, false)
	aiko := w.agent("Aiko", "aiko@example.com", true) // can call
	ben := w.agent("Ben", "ben@example.com", true)    // NOT_IN_PROFILE_QUEUE
	cara := w.agent("Cara", "cara@example.com", true)
	w.join(q, cp, aiko)
	w.join(0, cp, ben)
	va, vb, vc := w.ability(aiko).Version, w.ability(ben).Version, w.ability(cara).Version

	updateCapacity := func(in calling.UpdateCapacityProfileInput) func() error {
		in.ID = cp
		return func() error { return ignore(w.svc.UpdateCapacityProfile(w.ctx, admin, in)) }
	}
	updateProfile := func(in calling.UpdateOutboundProfileInput) func() error {
		in.ID = p
		return func() error { return ignore(w.svc.UpdateOutboundProfile(w.ctx, admin, in)) }
	}
	downgrade := func(c calling.Capability) func() error {
		return func() error {
			return ignore(w.svc.DowngradeCallingPlan(w.ctx, admin, calling.ChangeCallingPlanInput{PhoneNumberID: n1, Capabilities: []calling.Capability{c}}))
		}
	}
	steps := []struct {
		name        string
		run         func() error
		dAiko, dBen int64
		check       func(a, b stored)
	}{
		{name: "capacity setting", run: updateCapacity(calling.UpdateCapacityProfileInput{WorkItemLimit: ptr(3), BlockAssignment: ptr(true)}), dAiko: 1,
			check: func(a, _ stored) {
				if a.CallerIDs[0].WorkItemLimit != 3 || !a.CallerIDs[0].BlockAssignment {
					t.Errorf("caller ID settings not updated: %+v", a.CallerIDs[0])
				}
			}},
		{name: "same capacity setting again", run: updateCapacity(calling.UpdateCapacityProfileInput{WorkItemLimit: ptr(3)})},
		{name: "capacity profile rename", run: updateCapacity(calling.UpdateCapacityProfileInput{Name: ptr("Voice renamed")})},
		{name: "callerIdName", run: updateProfile(calling.UpdateOutboundProfileInput{CallerIDName: calling.Some(ptr("CONTOSO"))}), dAiko: 1,
			check: func(a, _ stored) {
				if a.CallerIDs[0].CallerIDName == nil || *a.CallerIDs[0].CallerIDName != "CONTOSO" {
					t.Errorf("callerIdName not updated: %+v", a.CallerIDs[0])
				}
			}},
		{name: "profile rename", run: updateProfile(calling.UpdateOutboundProfileInput{Name: ptr("Telesales")}),
			check: func(a, b stored) {
				if a.CallerIDs[0].OutboundProfileName != "Telesales" || !strings.Contains(b.Blockers[0].Message, `"Telesales"`) {
					t.Errorf("rename not shown: %+v / %q", a.CallerIDs[0], b.Blockers[0].Message)
				}
			}},
		{name: "queue rename", run: func() error {
			return ignore(w.svc.UpdateQueue(w.ctx, admin, calling.UpdateQueueInput{ID: q, Name: calling.Some(ptr("Outbound calls"))}))
		},
			check: func(_, b stored) {
				if !strings.Contains(b.Blockers[0].Message, `"Outbound calls"`) {
					t.Errorf("blocker message does not name the renamed queue: %q", b.Blockers[0].Message)
				}
			}},
		{name: "RECEIVE_CALLS removed", run: downgrade(calling.ReceiveCalls)},
		{name: "agent renamed", run: func() error {
			return ignore(w.svc.UpdateAgent(w.ctx, admin, calling.UpdateAgentInput{ID: aiko, Name: ptr("Aiko T.")}))
		}},
		{name: "MAKE_CALLS removed", run: downgrade(calling.MakeCalls), dAiko: 1,
			check: func(a, _ stored) {
				if a.CanMakeCalls || !slices.Equal(a.blockerCodes(), []string{"NO_OUTBOUND_NUMBER"}) {
					t.Errorf("after the downgrade: %+v", a)
				}
			}},
	}
	for _, s := range steps {
		events := w.eventCount()
		w.must(s.run())
		va, vb = va+s.dAiko, vb+s.dBen
		a := w.expectVersion(s.name, aiko, va)
		b := w.expectVersion(s.name, ben, vb)
		w.expectVersion(s.name, cara, vc)
		if n := w.eventCount() - events; n != s.dAiko+s.dBen {
			t.Errorf("%s emitted %d ability events, want %d", s.name, n, s.dAiko+s.dBen)
		}
		if s.check != nil {
			s.check(a, b)
		}
	}
}

// TestPersonalNumberReplaced checks that assigning another personal number
// replaces the first (which becomes free) and that unassigning takes it
// away.
func TestPersonalNumberReplaced(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	n1 := w.number("+1 425 555 0100", calling.MakeCalls)
	first := w.number("+1 206 555 0123", calling.MakeCalls)
	second := w.number("+1 206 555 0124", calling.MakeCalls)
	q, cp := w.queue("Outbound"), w.capacity("Voice")
	w.profile("Outbound", q, cp, []int64{n1}, true)
	aiko := w.agent("Aiko", "aiko@example.com", true)
	ben := w.agent("Ben", "ben@example.com", true)
	w.join(q, cp, aiko)
	w.assign(aiko, first)
	v := w.ability(aiko).Version

	a := res(w.svc.AssignPersonalNumber(w.ctx, admin, calling.AssignPersonalNumberInput{AgentID: aiko, PhoneNumberID: second})).must(w)
	if a.PersonalNumberID == nil || *a.PersonalNumberID != second {
		t.Fatalf("personal number after replacing: %v, want %d", a.PersonalNumberID, second)
	}
	ab := w.expectVersion("replaced", aiko, v+1)
	if want := []string{"+12065550124/PERSONAL_NUMBER/Outbound", "+14255550100/OUTBOUND_PROFILE/Outbound"}; !slices.Equal(ab.callers(), want) {
		t.Fatalf("callers = %v, want %v", ab.callers(), want)
	}
	// The same number again changes nothing; the first is free for another agent.
	w.assign(aiko, second)
	w.expectVersion("same number again", aiko, v+1)
	w.assign(ben, first)

	a = res(w.svc.UnassignPersonalNumber(w.ctx, admin, aiko)).must(w)
	if a.PersonalNumberID != nil {
		t.Fatalf("personal number after unassigning: %d", *a.PersonalNumberID)
	}
	ab = w.expectVersion("unassigned", aiko, v+2)
	if want := []string{"+14255550100/OUTBOUND_PROFILE/Outbound"}; !slices.Equal(ab.callers(), want) {
		t.Fatalf("callers = %v, want %v", ab.callers(), want)
	}
	w.must(w.svc.ReleasePhoneNumber(w.ctx, admin, second))
}

// TestPersonalNumberPlanRefreshesItsHolder: a personal number's calling
// plan losing and regaining "make calls" changes the ability of the agent
// holding it (the number's affected agents include its holder, not only
// the agents of profiles that list it), and of no one else.
func TestPersonalNumberPlanRefreshesItsHolder(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	n1 := w.number("+1 425 555 0100", calling.MakeCalls)
	personal := w.number("+1 206 555 0123", calling.ReceiveCalls, calling.MakeCalls)
	q, cp := w.queue("Outbound"), w.capacity("Voice")
	w.profile("Outbound", q, cp, []int64{n1}, true)
	aiko := w.agent("Aiko", "aiko@example.com", true)
	ben := w.agent("Ben", "ben@example.com", true)
	w.join(q, cp, aiko, ben)
	w.assign(aiko, personal)
	v, vBen := w.ability(aiko).Version, w.ability(ben).Version
	withPersonal := []string{"+12065550123/PERSONAL_NUMBER/Outbound", "+14255550100/OUTBOUND_PROFILE/Outbound"}
	if got := w.ability(aiko).callers(); !slices.Equal(got, withPersonal) {
		t.Fatalf("callers = %v, want %v", got, withPersonal)
	}
	plan := calling.ChangeCallingPlanInput{PhoneNumberID: personal, Capabilities: []calling.Capability{calling.MakeCalls}}
	for _, step := range []struct {
		name    string
		run     func() error
		version int64
		callers []string
	}{
		{"downgraded", func() error { return ignore(w.svc.DowngradeCallingPlan(w.ctx, admin, plan)) }, v + 1,
			[]string{"+14255550100/OUTBOUND_PROFILE/Outbound"}},
		{"upgraded", func() error { return ignore(w.svc.UpgradeCallingPlan(w.ctx, admin, plan)) }, v + 2, withPersonal},
	} {
		w.must(step.run())
		if got := w.expectVersion(step.name, aiko, step.version).callers(); !slices.Equal(got, step.callers) {
			t.Fatalf("%s: callers = %v, want %v", step.name, got, step.callers)
		}
		w.expectVersion(step.name+" (another agent)", ben, vBen)
	}
}

// TestInputLimitsAccepted checks the edges that are allowed: workItemLimit 1
// and 100, a callerIdName of 15 characters.
func TestInputLimitsAccepted(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var cp int64
	for _, limit := range []int{1, 100} {
		made := res(w.svc.CreateCapacityProfile(w.ctx, admin, calling.CreateCapacityProfileInput{Name: fmt.Sprintf("Limit %d", limit),
			WorkItemLimit: limit, ResetFrequency: calling.ResetImmediate})).must(w)
		if made.WorkItemLimit != limit {
			t.Fatalf("workItemLimit %d stored as %d", limit, made.WorkItemLimit)
		}
		cp = made.ID
	}
	number := w.number("+1 425 555 0100", calling.MakeCalls)
	q := w.queue("Outbound")
	p := res(w.svc.CreateOutboundProfile(w.ctx, admin, calling.CreateOutboundProfileInput{Name: "CNAM", QueueID: q, CapacityProfileID: cp,
		PhoneNumberIDs: []int64{number}, CallerIDName: ptr("CONTOSO SALES15")})).must(w)
	if p.CallerIDName == nil || *p.CallerIDName != "CONTOSO SALES15" {
		t.Fatalf("callerIdName = %v", p.CallerIDName)
	}
}

// TestOverflowToAnyNumber: a queue's overflow may transfer to any valid
// external number, a mobile one included (only numbers added to Outdial
// must be geographic or toll-free).
func TestOverflowToAnyNumber(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	callerID := w.number("+1 425 555 0103", calling.MakeCalls)
	q := w.queue("Support")
	got := res(w.svc.SetQueueOverflow(w.ctx, admin, calling.SetQueueOverflowInput{QueueID: q, TransferTo: "+44 7911 123456", CallerIDNumberID: callerID})).must(w)
	if got.OverflowTransferTo == nil || *got.OverflowTransferTo != "+447911123456" {
		t.Fatalf("overflow transferTo = %v, want +447911123456", got.OverflowTransferTo)
	}
	w.refused(calling.CodeInvalidPhoneNumber, "setQueueOverflow", func() error {
		return ignore(w.svc.SetQueueOverflow(w.ctx, admin, calling.SetQueueOverflowInput{QueueID: q, TransferTo: "+44 7911", CallerIDNumberID: callerID}))
	})
}
