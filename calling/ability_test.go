package calling_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"outdial/calling"
)

// The configuration the table below draws from. Profile names are chosen so
// that name order differs from ID order.
var (
	sales  = calling.Capacity{WorkItemLimit: 1, ResetFrequency: "IMMEDIATE", BlockAssignment: true}
	bulk   = calling.Capacity{WorkItemLimit: 5, ResetFrequency: "END_OF_DAY", BlockAssignment: false}
	cnam   = "CONTOSO SALES"
	numA   = calling.Number{ID: 1, E164: "+14255550101", MakeCalls: true}
	numB   = calling.Number{ID: 2, E164: "+14255550100", MakeCalls: true}
	numOff = calling.Number{ID: 3, E164: "+14255550199", MakeCalls: false}
	pnOn   = calling.Number{ID: 9, E164: "+12065550111", MakeCalls: true}
	pnOff  = calling.Number{ID: 10, E164: "+12065550112", MakeCalls: false}
)

// profile builds an outbound profile with queue qID and capacity profile cpID.
func profile(id int64, name string, qID, cpID int64, cap calling.Capacity, def bool, nums ...calling.Number) calling.Profile {
	return calling.Profile{ID: id, Name: name, QueueID: qID, QueueName: fmt.Sprintf("Q%d", qID),
		CapacityProfileID: cpID, Capacity: cap, CallerIDName: &cnam, IsDefault: def, Numbers: nums}
}

func agent(unified bool, cps, queues []int64, pn *calling.Number) calling.AgentFacts {
	return calling.AgentFacts{UnifiedRoutingEnabled: unified, CapacityProfileIDs: cps, QueueIDs: queues, PersonalNumber: pn}
}

// ids is how a case writes the expected caller IDs: "e164/source/profileID".
func callerKeys(ab calling.Ability) []string {
	out := []string{}
	for _, c := range ab.CallerIDs {
		out = append(out, fmt.Sprintf("%s/%s/%d", c.PhoneNumber, c.Source, c.OutboundProfileID))
	}
	return out
}

// blockerKeys writes blockers as "CODE" or "CODE/profileID".
func blockerKeys(ab calling.Ability) []string {
	out := []string{}
	for _, b := range ab.Blockers {
		if b.OutboundProfileID != nil {
			out = append(out, fmt.Sprintf("%s/%d", b.Code, *b.OutboundProfileID))
		} else {
			out = append(out, string(b.Code))
		}
	}
	return out
}

func TestDerive(t *testing.T) {
	// P1 "Outbound sales": queue 10, capacity 20, numbers A and B.
	p1 := profile(1, "Outbound sales", 10, 20, sales, false, numA, numB)
	// P2 "Alpha bulk": queue 11, capacity 21, one number without MAKE_CALLS.
	p2 := profile(2, "Alpha bulk", 11, 21, bulk, false, numOff)
	// P3 "beta default": queue 12, capacity 22, the default, numbers A... (own number B2).
	numC := calling.Number{ID: 4, E164: "+14255550150", MakeCalls: true}
	p3 := profile(3, "beta default", 12, 22, bulk, true, numC)
	p3NoNumber := profile(3, "beta default", 12, 22, bulk, true, numOff)
	p3NoNumbers := profile(3, "beta default", 12, 22, bulk, true)

	tests := []struct {
		name     string
		agent    calling.AgentFacts
		profiles []calling.Profile
		callers  []string
		blockers []string
	}{
		{"unified routing off, nothing else",
			agent(false, nil, nil, nil), []calling.Profile{p1}, nil, []string{"UNIFIED_ROUTING_DISABLED"}},
		{"unified routing off beats a qualifying profile",
			agent(false, []int64{20}, []int64{10}, nil), []calling.Profile{p1}, nil, []string{"UNIFIED_ROUTING_DISABLED"}},
		{"unified routing off with a personal number and no default: only UNIFIED_ROUTING_DISABLED",
			agent(false, nil, nil, &pnOn), []calling.Profile{p1}, nil, []string{"UNIFIED_ROUTING_DISABLED"}},
		{"in no capacity profile",
			agent(true, nil, []int64{10}, nil), []calling.Profile{p1}, nil, []string{"NO_OUTBOUND_PROFILE"}},
		{"capacity profile used by no outbound profile",
			agent(true, []int64{99}, []int64{10}, nil), []calling.Profile{p1}, nil, []string{"NO_OUTBOUND_PROFILE"}},
		{"no outbound profiles at all",
			agent(true, []int64{20}, []int64{10}, nil), nil, nil, []string{"NO_OUTBOUND_PROFILE"}},
		{"in the capacity profile, not in the queue",
			agent(true, []int64{20}, []int64{11}, nil), []calling.Profile{p1}, nil, []string{"NOT_IN_PROFILE_QUEUE/1"}},
		{"qualifies, but no number of the profile has MAKE_CALLS",
			agent(true, []int64{21}, []int64{11}, nil), []calling.Profile{p2}, nil, []string{"NO_OUTBOUND_NUMBER/2"}},
		{"profile without any number",
			agent(true, []int64{22}, []int64{12}, nil), []calling.Profile{p3NoNumbers}, nil, []string{"NO_OUTBOUND_NUMBER/3"}},
		{"qualifies: numbers by e164, no blockers",
			agent(true, []int64{20}, []int64{10}, nil), []calling.Profile{p1},
			[]string{"+14255550100/OUTBOUND_PROFILE/1", "+14255550101/OUTBOUND_PROFILE/1"}, nil},
		{"qualifies for one profile, blocked on another: can call, no blockers",
			agent(true, []int64{20, 21}, []int64{10}, nil), []calling.Profile{p1, p2},
			[]string{"+14255550100/OUTBOUND_PROFILE/1", "+14255550101/OUTBOUND_PROFILE/1"}, nil},
		{"only numbers with MAKE_CALLS are caller IDs",
			agent(true, []int64{20}, []int64{10}, nil), []calling.Profile{profile(1, "Outbound sales", 10, 20, sales, false, numA, numOff)},
			[]string{"+14255550101/OUTBOUND_PROFILE/1"}, nil},
		{"two profiles: caller IDs ordered by profile name (case-insensitive), then e164",
			agent(true, []int64{20, 22}, []int64{10, 12}, nil), []calling.Profile{p1, p3},
			[]string{"+14255550150/OUTBOUND_PROFILE/3", "+14255550100/OUTBOUND_PROFILE/1", "+14255550101/OUTBOUND_PROFILE/1"}, nil},
		{"two queue blockers are ordered by profile name",
			agent(true, []int64{20, 21}, nil, nil), []calling.Profile{p1, p2}, nil,
			[]string{"NOT_IN_PROFILE_QUEUE/2", "NOT_IN_PROFILE_QUEUE/1"}},
		{"all NOT_IN_PROFILE_QUEUE come before NO_OUTBOUND_NUMBER",
			agent(true, []int64{20, 21}, []int64{11}, nil), []calling.Profile{p1, p2}, nil,
			[]string{"NOT_IN_PROFILE_QUEUE/1", "NO_OUTBOUND_NUMBER/2"}},
		{"personal number and no profile at all: NO_OUTBOUND_PROFILE then NO_DEFAULT_OUTBOUND_PROFILE",
			agent(true, nil, nil, &pnOn), nil, nil, []string{"NO_OUTBOUND_PROFILE", "NO_DEFAULT_OUTBOUND_PROFILE"}},
		{"personal number, no default, not in the queue: queue blocker then NO_DEFAULT_OUTBOUND_PROFILE",
			agent(true, []int64{20}, nil, &pnOn), []calling.Profile{p1}, nil,
			[]string{"NOT_IN_PROFILE_QUEUE/1", "NO_DEFAULT_OUTBOUND_PROFILE"}},
		{"personal number, no default, but calls through a profile: no blockers, no personal caller ID",
			agent(true, []int64{20}, []int64{10}, &pnOn), []calling.Profile{p1},
			[]string{"+14255550100/OUTBOUND_PROFILE/1", "+14255550101/OUTBOUND_PROFILE/1"}, nil},
		{"personal number governed by the default profile, listed in the default's place",
			agent(true, []int64{20, 22}, []int64{10, 12}, &pnOn), []calling.Profile{p1, p3},
			[]string{"+12065550111/PERSONAL_NUMBER/3", "+14255550150/OUTBOUND_PROFILE/3", "+14255550100/OUTBOUND_PROFILE/1", "+14255550101/OUTBOUND_PROFILE/1"}, nil},
		{"personal number is the only caller ID when the default has no number with MAKE_CALLS",
			agent(true, []int64{22}, []int64{12}, &pnOn), []calling.Profile{p3NoNumber},
			[]string{"+12065550111/PERSONAL_NUMBER/3"}, nil},
		{"personal number without MAKE_CALLS is not a caller ID",
			agent(true, []int64{22}, []int64{12}, &pnOff), []calling.Profile{p3NoNumber}, nil,
			[]string{"NO_OUTBOUND_NUMBER/3"}},
		{"personal number, default exists but the agent does not qualify for it",
			agent(true, nil, nil, &pnOn), []calling.Profile{p3}, nil, []string{"NO_OUTBOUND_PROFILE"}},
		{"personal number, in the default's capacity profile but not its queue",
			agent(true, []int64{22}, nil, &pnOn), []calling.Profile{p3}, nil, []string{"NOT_IN_PROFILE_QUEUE/3"}},
	}
	for i, tt := range tests {
		got := calling.Derive(tt.agent, tt.profiles)
		wantCallers, wantBlockers := tt.callers, tt.blockers
		if wantCallers == nil {
			wantCallers = []string{}
		}
		if wantBlockers == nil {
			wantBlockers = []string{}
		}
		if !slices.Equal(callerKeys(got), wantCallers) {
			t.Errorf("#%d %s: callerIds = %v, want %v", i, tt.name, callerKeys(got), wantCallers)
		}
		if !slices.Equal(blockerKeys(got), wantBlockers) {
			t.Errorf("#%d %s: blockers = %v, want %v", i, tt.name, blockerKeys(got), wantBlockers)
		}
		if got.CanMakeCalls != (len(wantCallers) > 0) {
			t.Errorf("#%d %s: canMakeCalls = %v with %d caller IDs", i, tt.name, got.CanMakeCalls, len(wantCallers))
		}
		for _, b := range got.Blockers {
			if len(b.Message) < 20 || !strings.HasSuffix(b.Message, ".") {
				t.Errorf("#%d %s: blocker %s has no useful message: %q", i, tt.name, b.Code, b.Message)
			}
		}
	}
}

// Every blocker code appears in some row of TestDerive.
func TestDeriveCoversEveryBlocker(t *testing.T) {
	p := profile(1, "P", 10, 20, sales, false, numOff)
	seen := map[calling.BlockerCode]bool{}
	for _, a := range []calling.AgentFacts{
		agent(false, nil, nil, nil), agent(true, nil, nil, &pnOn), agent(true, []int64{20}, nil, nil), agent(true, []int64{20}, []int64{10}, nil),
	} {
		for _, b := range calling.Derive(a, []calling.Profile{p}).Blockers {
			seen[b.Code] = true
		}
	}
	for _, code := range []calling.BlockerCode{calling.BlockerUnifiedRoutingDisabled, calling.BlockerNoOutboundProfile,
		calling.BlockerNotInProfileQueue, calling.BlockerNoOutboundNumber, calling.BlockerNoDefaultOutboundProfile} {
		if !seen[code] {
			t.Errorf("blocker %s is never produced", code)
		}
	}
}

func TestDeriveCallerIDCarriesGoverningProfile(t *testing.T) {
	def := profile(3, "Default", 12, 22, bulk, true)
	got := calling.Derive(agent(true, []int64{22}, []int64{12}, &pnOn), []calling.Profile{def})
	if len(got.CallerIDs) != 1 {
		t.Fatalf("callerIds = %+v, want the personal number", got.CallerIDs)
	}
	c := got.CallerIDs[0]
	if c.Capacity != bulk || c.CallerIDName == nil || *c.CallerIDName != cnam || c.OutboundProfileName != "Default" {
		t.Errorf("personal caller ID = %+v, want the default profile's settings %+v and name %q", c, bulk, cnam)
	}
}

func TestDeriveMessagesNameWhatToChange(t *testing.T) {
	p := profile(1, "Outbound sales", 10, 20, sales, false, numOff)
	got := calling.Derive(agent(true, []int64{20}, nil, nil), []calling.Profile{p})
	if msg := got.Blockers[0].Message; !strings.Contains(msg, `"Outbound sales"`) || !strings.Contains(msg, `"Q10"`) {
		t.Errorf("NOT_IN_PROFILE_QUEUE message %q should name the profile and its queue", msg)
	}
	got = calling.Derive(agent(true, []int64{20}, []int64{10}, nil), []calling.Profile{p})
	if msg := got.Blockers[0].Message; !strings.Contains(msg, numOff.E164) {
		t.Errorf("NO_OUTBOUND_NUMBER message %q should name the numbers", msg)
	}
}

func TestEquivalent(t *testing.T) {
	p1 := profile(1, "Outbound sales", 10, 20, sales, false, numA)
	a := agent(true, []int64{20}, []int64{10}, nil)
	base := calling.Derive(a, []calling.Profile{p1})

	renamed := p1
	renamed.Name = "Renamed"
	if !calling.Equivalent(base, calling.Derive(a, []calling.Profile{renamed})) {
		t.Error("a profile rename changed the ability; names are not part of it")
	}
	resized := p1
	resized.Capacity.WorkItemLimit = 2
	if calling.Equivalent(base, calling.Derive(a, []calling.Profile{resized})) {
		t.Error("a capacity change did not change the ability")
	}
	renamedCNAM := p1
	other := "OTHER"
	renamedCNAM.CallerIDName = &other
	if calling.Equivalent(base, calling.Derive(a, []calling.Profile{renamedCNAM})) {
		t.Error("a callerIdName change did not change the ability")
	}
	blockedQ := calling.Derive(agent(true, []int64{20}, nil, nil), []calling.Profile{p1})
	renamedQ := p1
	renamedQ.QueueName = "Another queue name"
	if !calling.Equivalent(blockedQ, calling.Derive(agent(true, []int64{20}, nil, nil), []calling.Profile{renamedQ})) {
		t.Error("a queue rename (message only) changed the ability")
	}
	if calling.Equivalent(base, blockedQ) {
		t.Error("losing the caller IDs did not change the ability")
	}
}
