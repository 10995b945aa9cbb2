package webhooks

import "testing"

// TestEndpointChangesForgetNothingAndNoMore: changedSince reports a
// change of the endpoint after the mark, and only that, from the first
// change on; once the record starts afresh (maxChangedEndpoints), a mark
// older than the change before the reset reads as changed for every
// endpoint (the record forgot what it would need), and the mark taken
// just before the reset reads as before.
func TestEndpointChangesForgetNothingAndNoMore(t *testing.T) {
	var c endpointChanges
	m0 := c.mark()
	c.note(2)
	m1 := c.mark()
	c.note(3)
	checkChanges(t, &c, "", []changeCase{
		{"another endpoint changed first", 1, m0, false},
		{"the endpoint changed after the mark", 2, m0, true},
		{"the endpoint changed before the mark", 2, m1, false},
		{"the endpoint changed after a later mark", 3, m1, true},
	})

	var r endpointChanges
	old := r.mark()
	for id := range int64(maxChangedEndpoints) {
		r.note(100 + id)
	}
	before := r.mark()
	r.note(7) // starts afresh: the record holds only this change
	checkChanges(t, &r, "after a reset, ", []changeCase{
		{"unchanged since the mark just before the reset", 1, before, false},
		{"changed at the reset", 7, before, true},
		{"a change the reset forgot, older mark", 100, old, true},
		{"no change, but the record forgot: older mark", 1, old, true},
	})
	if len(r.at) != 1 {
		t.Errorf("after a reset the record holds %d endpoints, want 1", len(r.at))
	}
}

// changeCase is what changedSince(endpoint, mark) should answer.
type changeCase struct {
	name     string
	endpoint int64
	mark     uint64
	want     bool
}

// checkChanges checks each case against c, naming a failure with prefix.
func checkChanges(t *testing.T, c *endpointChanges, prefix string, cases []changeCase) {
	t.Helper()
	for _, tc := range cases {
		if got := c.changedSince(tc.endpoint, tc.mark); got != tc.want {
			t.Errorf("%s%s: changedSince(%d, %d) = %v, want %v", prefix, tc.name, tc.endpoint, tc.mark, got, tc.want)
		}
	}
}
