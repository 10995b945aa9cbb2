package calling_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"outdial/calling"
)

// warningKeys writes warnings as "CODE", "/p<profile>" and "/n<number>"
// when they name one.
func warningKeys(ab calling.Ability) []string {
	out := []string{}
	for _, w := range ab.Warnings {
		k := string(w.Code)
		if w.OutboundProfileID != nil {
			k += fmt.Sprintf("/p%d", *w.OutboundProfileID)
		}
		if w.PhoneNumberID != nil {
			k += fmt.Sprintf("/n%d", *w.PhoneNumberID)
		}
		out = append(out, k)
	}
	return out
}

func TestDeriveWarnings(t *testing.T) {
	// P1 "Outbound sales": queue 10, capacity 20, numbers A and B.
	p1 := profile(1, "Outbound sales", 10, 20, sales, false, numA, numB)
	// P2 "Alpha bulk": queue 11, capacity 21, a number with MAKE_CALLS.
	p2 := profile(2, "Alpha bulk", 11, 21, bulk, false, numA)
	// P3 "beta default": queue 12, capacity 22, the default.
	p3 := profile(3, "beta default", 12, 22, bulk, true, calling.Number{ID: 4, E164: "+14255550150", MakeCalls: true})

	tests := []struct {
		name     string
		agent    calling.AgentFacts
		profiles []calling.Profile
		callers  bool
		warnings []string
	}{
		// PROFILE_INCOMPLETE
		{"cannot call, in a profile's queue only: told NO_OUTBOUND_PROFILE, warned of the queue",
			agent(true, nil, []int64{10}, nil), []calling.Profile{p1}, false, []string{"PROFILE_INCOMPLETE/p1"}},
		{"cannot call, in a profile's capacity profile only: the blocker says it, no warning",
			agent(true, []int64{20}, nil, nil), []calling.Profile{p1}, false, nil},
		{"calls through P1, in P2's capacity profile only",
			agent(true, []int64{20, 21}, []int64{10}, nil), []calling.Profile{p1, p2}, true, []string{"PROFILE_INCOMPLETE/p2"}},
		{"calls through P1, in P2's queue only",
			agent(true, []int64{20}, []int64{10, 11}, nil), []calling.Profile{p1, p2}, true, []string{"PROFILE_INCOMPLETE/p2"}},
		{"cannot call: capacity-only P1 is a blocker, queue-only P2 a warning",
			agent(true, []int64{20}, []int64{11}, nil), []calling.Profile{p1, p2}, false, []string{"PROFILE_INCOMPLETE/p2"}},
		{"calls through P3; two incomplete profiles, in profile name order",
			agent(true, []int64{20, 22}, []int64{11, 12}, nil), []calling.Profile{p1, p2, p3}, true,
			[]string{"PROFILE_INCOMPLETE/p2", "PROFILE_INCOMPLETE/p1"}},
		{"unified routing off, in a queue only: still warned",
			agent(false, nil, []int64{10}, nil), []calling.Profile{p1}, false, []string{"PROFILE_INCOMPLETE/p1"}},
		{"in both: no warning",
			agent(true, []int64{20}, []int64{10}, nil), []calling.Profile{p1}, true, nil},
		// PERSONAL_NUMBER_UNUSED
		{"personal number, no default, calls through P1: unused",
			agent(true, []int64{20}, []int64{10}, &pnOn), []calling.Profile{p1}, true, []string{"PERSONAL_NUMBER_UNUSED/n9"}},
		{"personal number without MAKE_CALLS, qualifies for the default: unused",
			agent(true, []int64{22}, []int64{12}, &pnOff), []calling.Profile{p3}, true, []string{"PERSONAL_NUMBER_UNUSED/n10"}},
		{"personal number, calls through P1, not in the default: unused, names the default",
			agent(true, []int64{20}, []int64{10}, &pnOn), []calling.Profile{p1, p3}, true, []string{"PERSONAL_NUMBER_UNUSED/p3/n9"}},
		{"personal number, calls through P1, in the default's capacity profile only: both warnings",
			agent(true, []int64{20, 22}, []int64{10}, &pnOn), []calling.Profile{p1, p3}, true,
			[]string{"PROFILE_INCOMPLETE/p3", "PERSONAL_NUMBER_UNUSED/p3/n9"}},
		{"personal number is a caller ID: no warning",
			agent(true, []int64{22}, []int64{12}, &pnOn), []calling.Profile{p3}, true, nil},
		{"personal number, no default, cannot call: NO_DEFAULT_OUTBOUND_PROFILE says it, no warning",
			agent(true, nil, nil, &pnOn), []calling.Profile{p1}, false, nil},
		{"personal number, unified routing off: the blocker says it, no warning",
			agent(false, []int64{22}, []int64{12}, &pnOn), []calling.Profile{p3}, false, nil},
	}
	for i, tt := range tests {
		got := calling.Derive(tt.agent, tt.profiles)
		want := tt.warnings
		if want == nil {
			want = []string{}
		}
		if !slices.Equal(warningKeys(got), want) {
			t.Errorf("#%d %s: warnings = %v, want %v", i, tt.name, warningKeys(got), want)
		}
		if got.CanMakeCalls != tt.callers {
			t.Errorf("#%d %s: canMakeCalls = %v, want %v", i, tt.name, got.CanMakeCalls, tt.callers)
		}
		for _, w := range got.Warnings {
			if len(w.Message) < 40 || !strings.HasSuffix(w.Message, ".") {
				t.Errorf("#%d %s: warning %s has no useful message: %q", i, tt.name, w.Code, w.Message)
			}
		}
	}
}

// The messages name the objects to change.
func TestWarningMessagesNameTheObjects(t *testing.T) {
	p := profile(1, "Outbound sales", 10, 20, sales, true, numA)
	p.CapacityProfileName = "Sales capacity"
	got := calling.Derive(agent(true, nil, []int64{10}, &pnOn), []calling.Profile{p})
	if len(got.Warnings) != 2 {
		t.Fatalf("warnings = %v, want PROFILE_INCOMPLETE and PERSONAL_NUMBER_UNUSED", warningKeys(got))
	}
	for _, w := range got.Warnings {
		for _, name := range []string{`"Outbound sales"`, `"Q10"`, `"Sales capacity"`} {
			if !strings.Contains(w.Message, name) {
				t.Errorf("%s message %q does not name %s", w.Code, w.Message, name)
			}
		}
	}
	if !strings.Contains(got.Warnings[1].Message, pnOn.E164) {
		t.Errorf("PERSONAL_NUMBER_UNUSED message %q does not name the number", got.Warnings[1].Message)
	}
}

// A change of warnings alone is not a change of the ability.
func TestWarningsAreNotAChange(t *testing.T) {
	p1 := profile(1, "Outbound sales", 10, 20, sales, false, numA)
	p2 := profile(2, "Alpha bulk", 11, 21, bulk, false, numA)
	before := calling.Derive(agent(true, []int64{20}, []int64{10}, nil), []calling.Profile{p1, p2})
	after := calling.Derive(agent(true, []int64{20}, []int64{10, 11}, nil), []calling.Profile{p1, p2})
	if len(after.Warnings) != 1 || len(before.Warnings) != 0 {
		t.Fatalf("warnings %v then %v; want none then one", warningKeys(before), warningKeys(after))
	}
	if !calling.Equivalent(before, after) {
		t.Error("a new warning counted as a change of the ability")
	}
}
