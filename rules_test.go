package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Tests of the rules of docs/domain.md ("Setting up outbound calling",
// "Personal numbers", "Mutations and errors") beyond single refusals:
// uniqueness, upsertAgents, set semantics, the default profile, deletes,
// and unified routing.

// eventCount returns the number of agent.calling_ability.changed events
// stored so far.
func (e *testEnv) eventCount() int64 {
	e.t.Helper()
	var n int64
	if err := e.app.db.Table("webhook_events").Where("type = ?", "agent.calling_ability.changed").Count(&n).Error; err != nil {
		e.t.Fatalf("count events: %v", err)
	}
	return n
}

// TestNameUniqueness checks that names of queues, capacity profiles and
// outbound profiles are unique whatever their case, on create and rename,
// while an object may change the case of its own name.
func TestNameUniqueness(t *testing.T) {
	t.Parallel()
	e := setup(t)
	number := e.addNumberID("+1 425 555 0100", "MAKE_CALLS")
	q1, q2 := e.queueID("Outbound Sales", "VOICE"), e.queueID("Inbound", "VOICE")
	cp1, cp2 := e.capacityID("Voice Outbound"), e.capacityID("Voice Inbound")
	p1 := e.profileID("West Coast", q1, cp1, []string{number}, false)
	p2 := e.profileID("East Coast", q1, cp1, []string{number}, false)

	kinds := []struct {
		what, create, update, field string
		createVars                  func(name string) map[string]any
		other, self                 string
		taken                       string
	}{
		{"queue", createQueue, updateQueueName, "Queue", func(n string) map[string]any { return map[string]any{"name": n, "channel": "MESSAGING"} },
			q2, q1, "Outbound Sales"},
		{"capacity profile", createCapacity, updateCapacity, "CapacityProfile", func(n string) map[string]any { return map[string]any{"name": n} },
			cp2, cp1, "Voice Outbound"},
		{"outbound profile", createProfile, updateProfile, "OutboundProfile", func(n string) map[string]any {
			return map[string]any{"name": n, "q": q1, "cp": cp1, "nums": []string{number}}
		}, p2, p1, "West Coast"},
	}
	for _, k := range kinds {
		t.Run(k.what, func(t *testing.T) {
			e := e.as(t)
			createField := "create" + k.field
			updateField := "update" + k.field
			for _, name := range []string{strings.ToUpper(k.taken), strings.ToLower(k.taken), "  " + k.taken + " "} {
				e.refused("ALREADY_EXISTS", createField, k.create, k.createVars(name))
			}
			e.refused("ALREADY_EXISTS", updateField, k.update, map[string]any{"id": k.other, "name": strings.ToLower(k.taken)})
			// Its own name in another case is not a conflict.
			var out map[string]json.RawMessage
			e.mustMutate(updateField, k.update, map[string]any{"id": k.self, "name": strings.ToUpper(k.taken)}, &out)
			var renamed struct{ Name string }
			_ = json.Unmarshal(out[strings.ToLower(k.field[:1])+k.field[1:]], &renamed)
			if renamed.Name != strings.ToUpper(k.taken) {
				t.Errorf("renamed to %q, want %q", renamed.Name, strings.ToUpper(k.taken))
			}
		})
	}
}

// TestEmailUniqueness checks that emails are stored lower-cased, found in
// any case and unique whatever their case, including through upsertAgents.
func TestEmailUniqueness(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var created struct{ Agent struct{ ID, Email string } }
	e.mustMutate("createAgent", createAgent, map[string]any{"name": "Aiko Tanaka", "email": "  Aiko.Tanaka@Example.COM "}, &created)
	if created.Agent.Email != "aiko.tanaka@example.com" {
		t.Fatalf("stored email %q, want it lower-cased", created.Agent.Email)
	}
	var found struct{ Agent *idOnly }
	e.query(`query($email: String!) { agent(email: $email) { id } }`, map[string]any{"email": "AIKO.TANAKA@example.com"}, &found)
	if found.Agent == nil || found.Agent.ID != created.Agent.ID {
		t.Fatalf("agent(email:) in another case = %+v, want %s", found.Agent, created.Agent.ID)
	}
	e.refused("ALREADY_EXISTS", "createAgent", createAgent, map[string]any{"name": "Other", "email": "aiko.tanaka@EXAMPLE.com"})

	var up struct {
		Agents []struct{ ID, Name, Email string }
	}
	e.mustMutate("upsertAgents", upsertAgentsM, map[string]any{"agents": []map[string]any{
		{"name": "Aiko T.", "email": "AIKO.TANAKA@EXAMPLE.COM"}}}, &up)
	if len(up.Agents) != 1 || up.Agents[0].ID != created.Agent.ID || up.Agents[0].Name != "Aiko T." {
		t.Fatalf("upsert by email in another case = %+v; want the existing agent %s renamed", up.Agents, created.Agent.ID)
	}
	if _, n := e.agentIDs(nil); n != 1 {
		t.Fatalf("%d agents, want 1", n)
	}
}

// TestNumberRegisteredOnce checks that a number is registered once, whatever
// the notation it is given in.
func TestNumberRegisteredOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.addNumberID("+14255550100")
	for _, n := range []string{"(425) 555-0100", "1-425-555-0100", "+1 425.555.0100", " +1 (425) 555 0100 "} {
		ue := e.refused("ALREADY_EXISTS", "addPhoneNumber", addNumber, map[string]any{"n": n})
		if !strings.Contains(ue.Message, "+14255550100") {
			t.Errorf("refusal of %q does not name the number: %q", n, ue.Message)
		}
	}
	var data struct{ PhoneNumbers struct{ TotalCount int } }
	e.query(`{ phoneNumbers { totalCount } }`, nil, &data)
	if data.PhoneNumbers.TotalCount != 1 {
		t.Fatalf("%d numbers, want 1", data.PhoneNumbers.TotalCount)
	}
}

// TestUpsertAgents checks that upsertAgents is all or nothing (a bad entry
// at index 3 of 5 writes nothing and the refusal names the index), updates
// by email, and returns the agents in the order of its input.
func TestUpsertAgents(t *testing.T) {
	t.Parallel()
	e := setup(t)
	mid := e.createAgentID("Mid", "mid@example.com", true)
	entry := func(name, email string, unified bool) map[string]any {
		return map[string]any{"name": name, "email": email, "unifiedRoutingEnabled": unified}
	}

	bad := []map[string]any{entry("Zoe", "zoe@example.com", true), entry("Mid renamed", "MID@example.com", false),
		entry("Amy", "amy@example.com", true), entry("Kim", "kim at example", true), entry("Bob", "bob@example.com", true)}
	ue := e.refused("INVALID_INPUT", "upsertAgents", upsertAgentsM, map[string]any{"agents": bad})
	if !slices.Equal(ue.Field, []string{"input", "agents", "3", "email"}) {
		t.Errorf("refusal field = %v, want [input agents 3 email]", ue.Field)
	}
	dup := []map[string]any{entry("Zoe", "zoe@example.com", true), entry("Amy", "amy@example.com", true),
		entry("Zoe again", "ZOE@example.com", true)}
	ue = e.refused("INVALID_INPUT", "upsertAgents", upsertAgentsM, map[string]any{"agents": dup})
	if !slices.Equal(ue.Field, []string{"input", "agents", "2", "email"}) {
		t.Errorf("duplicate refusal field = %v, want [input agents 2 email]", ue.Field)
	}
	blank := []map[string]any{entry("Zoe", "zoe@example.com", true), entry(" ", "amy@example.com", true)}
	ue = e.refused("INVALID_INPUT", "upsertAgents", upsertAgentsM, map[string]any{"agents": blank})
	if !slices.Equal(ue.Field, []string{"input", "agents", "1", "name"}) {
		t.Errorf("blank name refusal field = %v, want [input agents 1 name]", ue.Field)
	}

	good := []map[string]any{entry("Zoe", "Zoe@Example.com", true), entry("Mid renamed", "MID@example.com", false),
		entry("Amy", "amy@example.com", true), entry("Kim", "kim@example.com", true), entry("Bob", "bob@example.com", true)}
	var out struct {
		Agents []struct {
			ID, Name, Email       string
			UnifiedRoutingEnabled bool
		}
	}
	e.mustMutate("upsertAgents", upsertAgentsM, map[string]any{"agents": good}, &out)
	wantEmails := []string{"zoe@example.com", "mid@example.com", "amy@example.com", "kim@example.com", "bob@example.com"}
	var emails []string
	for _, a := range out.Agents {
		emails = append(emails, a.Email)
	}
	if !slices.Equal(emails, wantEmails) {
		t.Fatalf("upsertAgents returned %v, want the input order %v", emails, wantEmails)
	}
	if m := out.Agents[1]; m.ID != mid || m.Name != "Mid renamed" || m.UnifiedRoutingEnabled {
		t.Fatalf("existing agent after upsert = %+v, want %s renamed with unified routing off", m, mid)
	}
	if ab := e.expectVersion("upsert turned unified routing off", mid, 2); !slices.Equal(ab.blockerCodes(), []string{"UNIFIED_ROUTING_DISABLED"}) {
		t.Fatalf("blockers after upsert = %v", ab.blockerCodes())
	}
	for _, a := range []int{0, 2, 3, 4} {
		e.expectVersion("new agent from upsert", out.Agents[a].ID, 1)
	}
	if _, n := e.agentIDs(nil); n != 5 {
		t.Fatalf("%d agents after upsert, want 5", n)
	}

	// The same input again changes nothing.
	events := e.eventCount()
	var again struct{ Agents []idOnly }
	e.mustMutate("upsertAgents", upsertAgentsM, map[string]any{"agents": good}, &again)
	for i, a := range again.Agents {
		if a.ID != out.Agents[i].ID {
			t.Fatalf("second upsert returned %s at %d, want %s", a.ID, i, out.Agents[i].ID)
		}
	}
	e.expectVersion("unchanged upsert", mid, 2)
	if n := e.eventCount(); n != events {
		t.Fatalf("an upsert that changes nothing emitted %d events", n-events)
	}
}

// TestMembershipSetSemantics checks that adding a member twice or removing
// a non-member is no error and changes no ability (no version, no event).
func TestMembershipSetSemantics(t *testing.T) {
	t.Parallel()
	e := setup(t)
	number := e.addNumberID("+1 425 555 0100", "MAKE_CALLS")
	q, cp := e.queueID("Outbound", "VOICE"), e.capacityID("Voice")
	e.profileID("Outbound", q, cp, []string{number}, false)
	aiko := e.createAgentID("Aiko", "aiko@example.com", true)
	ben := e.createAgentID("Ben", "ben@example.com", true)
	e.join("", cp, aiko)
	e.join(q, "", aiko)
	if ab := e.expectVersion("in profile", aiko, 3); !ab.CanMakeCalls {
		t.Fatalf("aiko cannot call: %+v", ab)
	}
	events := e.eventCount()

	steps := []struct {
		name, field, query, owner string
		agents                    []string
		count                     int
	}{
		{"add a queue member again", "addAgentsToQueue", addToQueue, q, []string{aiko, aiko}, 1},
		{"remove a non-member from the queue", "removeAgentsFromQueue", removeFromQueue, q, []string{ben}, 1},
		{"add a capacity profile member again", "addAgentsToCapacityProfile", addToCapacity, cp, []string{aiko}, 1},
		{"remove a non-member from the capacity profile", "removeAgentsFromCapacityProfile", removeFromCapacity, cp, []string{ben}, 1},
	}
	for _, s := range steps {
		vars := map[string]any{"agents": s.agents}
		if strings.Contains(s.field, "Queue") {
			vars["q"] = s.owner
		} else {
			vars["cp"] = s.owner
		}
		var out struct {
			Queue, CapacityProfile *struct{ AgentCount int }
		}
		e.mustMutate(s.field, s.query, vars, &out)
		owner := out.Queue
		if owner == nil {
			owner = out.CapacityProfile
		}
		if owner == nil || owner.AgentCount != s.count {
			t.Errorf("%s: payload %+v, want agentCount %d", s.name, owner, s.count)
		}
		e.expectVersion(s.name, aiko, 3)
		e.expectVersion(s.name, ben, 1)
		if n := e.eventCount(); n != events {
			t.Fatalf("%s emitted %d ability events", s.name, n-events)
		}
	}

	// Removing a real member does change the ability.
	e.mustMutate("removeAgentsFromQueue", removeFromQueue, map[string]any{"q": q, "agents": []string{aiko}}, nil)
	if ab := e.expectVersion("removed from queue", aiko, 4); ab.CanMakeCalls || !slices.Equal(ab.blockerCodes(), []string{"NOT_IN_PROFILE_QUEUE"}) {
		t.Fatalf("after removal: %+v", ab)
	}
}

type profileDefault struct {
	ID        string
	Name      string
	IsDefault bool
}

func (e *testEnv) defaults() map[string]bool {
	e.t.Helper()
	var data struct {
		OutboundProfiles struct{ Nodes []profileDefault }
	}
	e.query(`{ outboundProfiles { nodes { id name isDefault } } }`, nil, &data)
	out := map[string]bool{}
	for _, p := range data.OutboundProfiles.Nodes {
		out[p.Name] = p.IsDefault
	}
	return out
}

// TestDefaultProfileMoves checks that making a profile the default clears
// the previous default in the same mutation, and that calls from personal
// numbers follow the default.
func TestDefaultProfileMoves(t *testing.T) {
	t.Parallel()
	e := setup(t)
	n1 := e.addNumberID("+1 425 555 0100", "MAKE_CALLS")
	n2 := e.addNumberID("+1 425 555 0102", "MAKE_CALLS")
	personal := e.addNumberID("+1 206 555 0123", "MAKE_CALLS")
	q, cp := e.queueID("Outbound", "VOICE"), e.capacityID("Voice")
	west := e.profileID("West", q, cp, []string{n1}, true)
	aiko := e.createAgentID("Aiko", "aiko@example.com", true)
	e.join(q, cp, aiko)
	e.assign(aiko, personal)
	ab := e.ability(aiko)
	v := ab.Version
	if want := []string{"+12065550123/PERSONAL_NUMBER/West", "+14255550100/OUTBOUND_PROFILE/West"}; !slices.Equal(ab.callers(), want) {
		t.Fatalf("callers = %v, want %v", ab.callers(), want)
	}

	var created struct{ OutboundProfile profileDefault }
	e.mustMutate("createOutboundProfile", createProfile, map[string]any{"name": "East", "q": q, "cp": cp, "nums": []string{n2}, "def": true}, &created)
	east := created.OutboundProfile.ID
	if d := e.defaults(); !d["East"] || d["West"] {
		t.Fatalf("defaults after creating East as default: %v", d)
	}
	ab = e.expectVersion("new default", aiko, v+1)
	want := []string{"+12065550123/PERSONAL_NUMBER/East", "+14255550102/OUTBOUND_PROFILE/East", "+14255550100/OUTBOUND_PROFILE/West"}
	if !slices.Equal(ab.callers(), want) {
		t.Fatalf("callers = %v, want %v", ab.callers(), want)
	}

	e.mustMutate("updateOutboundProfile", updateProfile, map[string]any{"id": west, "def": true}, nil)
	if d := e.defaults(); d["East"] || !d["West"] {
		t.Fatalf("defaults after making West the default: %v", d)
	}
	ab = e.expectVersion("default back to West", aiko, v+2)
	want = []string{"+14255550102/OUTBOUND_PROFILE/East", "+12065550123/PERSONAL_NUMBER/West", "+14255550100/OUTBOUND_PROFILE/West"}
	if !slices.Equal(ab.callers(), want) {
		t.Fatalf("callers = %v, want %v", ab.callers(), want)
	}
	for _, target := range []string{west, east} {
		if _, n := e.auditLog(map[string]any{"targetId": target, "action": "updateOutboundProfile"}); target == west && n != 1 || target == east && n != 0 {
			t.Errorf("%d updateOutboundProfile audit entries for %s", n, target)
		}
	}

	// Unsetting the default leaves none: the personal number loses its caller ID.
	e.mustMutate("updateOutboundProfile", updateProfile, map[string]any{"id": west, "def": false}, nil)
	if d := e.defaults(); d["East"] || d["West"] {
		t.Fatalf("defaults after unsetting: %v", d)
	}
	ab = e.expectVersion("no default", aiko, v+3)
	if want := []string{"+14255550102/OUTBOUND_PROFILE/East", "+14255550100/OUTBOUND_PROFILE/West"}; !slices.Equal(ab.callers(), want) {
		t.Fatalf("callers = %v, want %v", ab.callers(), want)
	}
}

// TestDeleteOutboundProfile checks that deleting a profile is always
// allowed and changes the abilities of its agents (and only theirs).
func TestDeleteOutboundProfile(t *testing.T) {
	t.Parallel()
	e := setup(t)
	n1 := e.addNumberID("+1 425 555 0100", "MAKE_CALLS")
	personal := e.addNumberID("+1 206 555 0123", "MAKE_CALLS")
	q, cp := e.queueID("Outbound", "VOICE"), e.capacityID("Voice")
	p := e.profileID("Outbound", q, cp, []string{n1}, true)
	aiko := e.createAgentID("Aiko", "aiko@example.com", true) // can call, with a personal number
	ben := e.createAgentID("Ben", "ben@example.com", true)    // in the capacity profile, not the queue
	cara := e.createAgentID("Cara", "cara@example.com", true) // in nothing
	e.join(q, cp, aiko)
	e.join("", cp, ben)
	e.assign(aiko, personal)
	va, vb, vc := e.ability(aiko).Version, e.ability(ben).Version, e.ability(cara).Version

	var del struct{ DeletedID *string }
	e.mustMutate("deleteOutboundProfile", deleteProfile, map[string]any{"id": p}, &del)
	if del.DeletedID == nil || *del.DeletedID != p {
		t.Fatalf("deletedId = %v, want %s", del.DeletedID, p)
	}
	ab := e.expectVersion("aiko after delete", aiko, va+1)
	if ab.CanMakeCalls || !slices.Equal(ab.blockerCodes(), []string{"NO_OUTBOUND_PROFILE", "NO_DEFAULT_OUTBOUND_PROFILE"}) {
		t.Fatalf("aiko after delete: %+v", ab)
	}
	ab = e.expectVersion("ben after delete", ben, vb+1)
	if !slices.Equal(ab.blockerCodes(), []string{"NO_OUTBOUND_PROFILE"}) {
		t.Fatalf("ben after delete: %v", ab.blockerCodes())
	}
	e.expectVersion("cara after delete", cara, vc)
	var node struct{ Node *idOnly }
	e.query(`query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": p}, &node)
	if node.Node != nil {
		t.Fatalf("deleted profile still readable: %+v", node.Node)
	}
	e.refused("NOT_FOUND", "deleteOutboundProfile", deleteProfile, map[string]any{"id": p})
	// Its numbers, queue and capacity profile are free again.
	e.mustMutate("releasePhoneNumber", releaseNumber, map[string]any{"id": n1}, nil)
	e.mustMutate("deleteQueue", deleteQueueM, map[string]any{"id": q}, nil)
	e.mustMutate("deleteCapacityProfile", deleteCapacity, map[string]any{"id": cp}, nil)
}

// TestDeletesTakeMemberships checks that deleting a queue or a capacity
// profile takes its memberships (and a queue's overflow setting) with it.
func TestDeletesTakeMemberships(t *testing.T) {
	t.Parallel()
	e := setup(t)
	overflow := e.addNumberID("+1 425 555 0103", "MAKE_CALLS")
	q, keep := e.queueID("Temporary", "VOICE"), e.queueID("Kept", "VOICE")
	cp, keepCP := e.capacityID("Temporary"), e.capacityID("Kept")
	aiko := e.createAgentID("Aiko", "aiko@example.com", true)
	ben := e.createAgentID("Ben", "ben@example.com", true)
	e.join(q, cp, aiko, ben)
	e.join(keep, keepCP, aiko)
	e.mustMutate("setQueueOverflow", setOverflow, map[string]any{"q": q, "to": "+1 425 555 0199", "num": overflow}, nil)
	e.refused("IN_USE", "releasePhoneNumber", releaseNumber, map[string]any{"id": overflow})
	va := e.ability(aiko).Version

	e.mustMutate("deleteQueue", deleteQueueM, map[string]any{"id": q}, nil)
	e.mustMutate("deleteCapacityProfile", deleteCapacity, map[string]any{"id": cp}, nil)

	var data struct {
		Agent struct {
			Queues           []struct{ ID string }
			CapacityProfiles []struct{ ID string }
		}
	}
	e.query(`query($id: ID!) { agent(id: $id) { queues { id } capacityProfiles { id } } }`, map[string]any{"id": aiko}, &data)
	if len(data.Agent.Queues) != 1 || data.Agent.Queues[0].ID != keep || len(data.Agent.CapacityProfiles) != 1 || data.Agent.CapacityProfiles[0].ID != keepCP {
		t.Fatalf("aiko's memberships after the deletes: %+v", data.Agent)
	}
	for _, table := range []string{"queue_members", "capacity_profile_members"} {
		var n int64
		if err := e.app.db.Table(table).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%s holds %d rows after the delete, want 1 (aiko's in the kept one)", table, n)
		}
	}
	e.expectVersion("memberships of unused queue and capacity profile", aiko, va)
	// The overflow setting went with the queue: its caller ID can be released.
	e.mustMutate("releasePhoneNumber", releaseNumber, map[string]any{"id": overflow}, nil)
}

// TestUnifiedRoutingToggle checks that turning unified routing off keeps
// the personal number but stops every call (UNIFIED_ROUTING_DISABLED), and
// that turning it on again restores the same caller IDs.
func TestUnifiedRoutingToggle(t *testing.T) {
	t.Parallel()
	e := setup(t)
	n1 := e.addNumberID("+1 425 555 0100", "MAKE_CALLS")
	personal := e.addNumberID("+1 206 555 0123", "MAKE_CALLS")
	q, cp := e.queueID("Outbound", "VOICE"), e.capacityID("Voice")
	e.profileID("Outbound", q, cp, []string{n1}, true)
	aiko := e.createAgentID("Aiko", "aiko@example.com", true)
	e.join(q, cp, aiko)
	e.assign(aiko, personal)
	before := e.ability(aiko)
	if !before.CanMakeCalls || len(before.CallerIds) != 2 {
		t.Fatalf("setup: %+v", before)
	}

	var off struct {
		Agent struct{ PersonalNumber *struct{ E164 string } }
	}
	e.mustMutate("updateAgent", updateAgentM, map[string]any{"id": aiko, "unified": false}, &off)
	if off.Agent.PersonalNumber == nil || off.Agent.PersonalNumber.E164 != "+12065550123" {
		t.Fatalf("personal number after turning unified routing off: %+v", off.Agent.PersonalNumber)
	}
	ab := e.expectVersion("unified routing off", aiko, before.Version+1)
	if ab.CanMakeCalls || len(ab.CallerIds) != 0 || !slices.Equal(ab.blockerCodes(), []string{"UNIFIED_ROUTING_DISABLED"}) {
		t.Fatalf("ability with unified routing off: %+v", ab)
	}
	// The number is still held: nobody else can take it.
	cara := e.createAgentID("Cara", "cara@example.com", true)
	e.refused("NUMBER_ALREADY_ASSIGNED", "assignPersonalNumber", assignPersonal, map[string]any{"agent": cara, "number": personal})

	e.mustMutate("updateAgent", updateAgentM, map[string]any{"id": aiko, "unified": true}, nil)
	ab = e.expectVersion("unified routing on again", aiko, before.Version+2)
	if !ab.CanMakeCalls || !slices.Equal(ab.callers(), before.callers()) || len(ab.Blockers) != 0 {
		t.Fatalf("ability after turning unified routing on: %v, want %v", ab.callers(), before.callers())
	}
}

// TestVersionOnlyOnChange checks that a mutation raises the version of
// exactly the agents whose ability changes in a way that counts
// (docs/domain.md, "Versions and changes"), and that a rename only rewrites the wording, without a version.
func TestVersionOnlyOnChange(t *testing.T) {
	t.Parallel()
	e := setup(t)
	n1 := e.addNumberID("+1 425 555 0100", "RECEIVE_CALLS", "MAKE_CALLS")
	q, cp := e.queueID("Outbound", "VOICE"), e.capacityID("Voice")
	p := e.profileID("Outbound sales", q, cp, []string{n1}, false)
	aiko := e.createAgentID("Aiko", "aiko@example.com", true) // can call
	ben := e.createAgentID("Ben", "ben@example.com", true)    // NOT_IN_PROFILE_QUEUE
	cara := e.createAgentID("Cara", "cara@example.com", true)
	e.join(q, cp, aiko)
	e.join("", cp, ben)
	va, vb, vc := e.ability(aiko).Version, e.ability(ben).Version, e.ability(cara).Version

	steps := []struct {
		name         string
		field, query string
		vars         map[string]any
		dAiko, dBen  int
		check        func(a, b ability)
	}{
		{name: "capacity setting", field: "updateCapacityProfile", query: updateCapacity,
			vars: map[string]any{"id": cp, "limit": 3, "block": true}, dAiko: 1,
			check: func(a, _ ability) {
				if a.CallerIds[0].WorkItemLimit != 3 || !a.CallerIds[0].BlockAssignment {
					t.Errorf("caller ID settings not updated: %+v", a.CallerIds[0])
				}
			}},
		{name: "same capacity setting again", field: "updateCapacityProfile", query: updateCapacity,
			vars: map[string]any{"id": cp, "limit": 3}},
		{name: "capacity profile rename", field: "updateCapacityProfile", query: updateCapacity,
			vars: map[string]any{"id": cp, "name": "Voice renamed"}},
		{name: "callerIdName", field: "updateOutboundProfile", query: updateProfile,
			vars: map[string]any{"id": p, "cnam": "CONTOSO"}, dAiko: 1,
			check: func(a, _ ability) {
				if a.CallerIds[0].CallerIDName == nil || *a.CallerIds[0].CallerIDName != "CONTOSO" {
					t.Errorf("callerIdName not updated: %+v", a.CallerIds[0])
				}
			}},
		{name: "profile rename", field: "updateOutboundProfile", query: updateProfile,
			vars: map[string]any{"id": p, "name": "Telesales"},
			check: func(a, b ability) {
				if a.CallerIds[0].OutboundProfile.Name != "Telesales" || !strings.Contains(b.Blockers[0].Message, `"Telesales"`) {
					t.Errorf("rename not shown: %+v / %q", a.CallerIds[0].OutboundProfile, b.Blockers[0].Message)
				}
			}},
		{name: "queue rename", field: "updateQueue", query: updateQueueName,
			vars: map[string]any{"id": q, "name": "Outbound calls"},
			check: func(_, b ability) {
				if !strings.Contains(b.Blockers[0].Message, `"Outbound calls"`) {
					t.Errorf("blocker message does not name the renamed queue: %q", b.Blockers[0].Message)
				}
			}},
		{name: "RECEIVE_CALLS removed", field: "downgradeCallingPlan", query: downgrade,
			vars: map[string]any{"id": n1, "caps": []string{"RECEIVE_CALLS"}}},
		{name: "agent renamed", field: "updateAgent", query: updateAgentM, vars: map[string]any{"id": aiko, "name": "Aiko T."}},
		{name: "MAKE_CALLS removed", field: "downgradeCallingPlan", query: downgrade,
			vars: map[string]any{"id": n1, "caps": []string{"MAKE_CALLS"}}, dAiko: 1,
			check: func(a, _ ability) {
				if a.CanMakeCalls || !slices.Equal(a.blockerCodes(), []string{"NO_OUTBOUND_NUMBER"}) {
					t.Errorf("after the downgrade: %+v", a)
				}
			}},
	}
	for _, s := range steps {
		events := e.eventCount()
		e.mustMutate(s.field, s.query, s.vars, nil)
		va, vb = va+s.dAiko, vb+s.dBen
		a := e.expectVersion(s.name, aiko, va)
		b := e.expectVersion(s.name, ben, vb)
		e.expectVersion(s.name, cara, vc)
		if n := e.eventCount() - events; n != int64(s.dAiko+s.dBen) {
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
	e := setup(t)
	n1 := e.addNumberID("+1 425 555 0100", "MAKE_CALLS")
	first := e.addNumberID("+1 206 555 0123", "MAKE_CALLS")
	second := e.addNumberID("+1 206 555 0124", "MAKE_CALLS")
	q, cp := e.queueID("Outbound", "VOICE"), e.capacityID("Voice")
	e.profileID("Outbound", q, cp, []string{n1}, true)
	aiko := e.createAgentID("Aiko", "aiko@example.com", true)
	ben := e.createAgentID("Ben", "ben@example.com", true)
	e.join(q, cp, aiko)
	e.assign(aiko, first)
	v := e.ability(aiko).Version

	var out struct {
		Agent struct{ PersonalNumber *struct{ E164 string } }
	}
	e.mustMutate("assignPersonalNumber", assignPersonal, map[string]any{"agent": aiko, "number": second}, &out)
	if out.Agent.PersonalNumber == nil || out.Agent.PersonalNumber.E164 != "+12065550124" {
		t.Fatalf("personal number after replacing: %+v", out.Agent.PersonalNumber)
	}
	ab := e.expectVersion("replaced", aiko, v+1)
	if want := []string{"+12065550124/PERSONAL_NUMBER/Outbound", "+14255550100/OUTBOUND_PROFILE/Outbound"}; !slices.Equal(ab.callers(), want) {
		t.Fatalf("callers = %v, want %v", ab.callers(), want)
	}
	// The same number again changes nothing; the first is free for another agent.
	e.mustMutate("assignPersonalNumber", assignPersonal, map[string]any{"agent": aiko, "number": second}, nil)
	e.expectVersion("same number again", aiko, v+1)
	e.assign(ben, first)

	e.mustMutate("unassignPersonalNumber", unassignPersonal, map[string]any{"id": aiko}, &out)
	if out.Agent.PersonalNumber != nil {
		t.Fatalf("personal number after unassigning: %+v", out.Agent.PersonalNumber)
	}
	ab = e.expectVersion("unassigned", aiko, v+2)
	if want := []string{"+14255550100/OUTBOUND_PROFILE/Outbound"}; !slices.Equal(ab.callers(), want) {
		t.Fatalf("callers = %v, want %v", ab.callers(), want)
	}
	e.mustMutate("releasePhoneNumber", releaseNumber, map[string]any{"id": second}, nil)
}

// TestInputLimitsAccepted checks the edges that are allowed: workItemLimit 1
// and 100, a callerIdName of 15 characters.
func TestInputLimitsAccepted(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var cp struct {
		CapacityProfile struct {
			ID            string
			WorkItemLimit int
		}
	}
	for _, limit := range []int{1, 100} {
		e.mustMutate("createCapacityProfile", createCapacity, map[string]any{"name": fmt.Sprintf("Limit %d", limit), "limit": limit}, &cp)
		if cp.CapacityProfile.WorkItemLimit != limit {
			t.Fatalf("workItemLimit %d stored as %d", limit, cp.CapacityProfile.WorkItemLimit)
		}
	}
	number := e.addNumberID("+1 425 555 0100", "MAKE_CALLS")
	q := e.queueID("Outbound", "VOICE")
	var p struct {
		OutboundProfile struct {
			CallerIDName string `json:"callerIdName"`
		}
	}
	e.mustMutate("createOutboundProfile", createProfile, map[string]any{"name": "CNAM", "q": q, "cp": cp.CapacityProfile.ID,
		"nums": []string{number}, "cnam": "CONTOSO SALES15"}, &p)
	if p.OutboundProfile.CallerIDName != "CONTOSO SALES15" {
		t.Fatalf("callerIdName = %q", p.OutboundProfile.CallerIDName)
	}
}

// TestOverflowToAnyNumber: a queue's overflow may transfer to any valid
// external number, a mobile one included (only numbers added to Outdial
// must be geographic or toll-free).
func TestOverflowToAnyNumber(t *testing.T) {
	t.Parallel()
	e := setup(t)
	callerID := e.addNumberID("+1 425 555 0103", "MAKE_CALLS")
	q := e.queueID("Support", "VOICE")
	var out struct {
		Queue struct {
			Overflow struct{ TransferTo string }
		}
	}
	e.mustMutate("setQueueOverflow", setOverflow, map[string]any{"q": q, "to": "+44 7911 123456", "num": callerID}, &out)
	if out.Queue.Overflow.TransferTo != "+447911123456" {
		t.Fatalf("overflow transferTo = %q, want +447911123456", out.Queue.Overflow.TransferTo)
	}
	e.refused("INVALID_PHONE_NUMBER", "setQueueOverflow", setOverflow, map[string]any{"q": q, "to": "+44 7911", "num": callerID})
}
