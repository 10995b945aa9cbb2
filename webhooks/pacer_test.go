package webhooks

import (
	"testing"
	"time"
)

// TestPlanLooksAgainAtOpenBreakers: pacer.plan leaves out an endpoint
// whose breaker waits, or whose probe runs (failing and probing, in this
// process or another). For the first it returns when the wait ends, so
// that a lane with no other work does not wait for the poll; for the
// second none: the probe's result wakes the lanes when this process
// writes it (writeLoop), and another process's probe is looked at again
// at the poll, at most probe_until later.
func TestPlanLooksAgainAtOpenBreakers(t *testing.T) {
	const every = 100 * time.Millisecond
	now := time.Now()
	for _, c := range []struct {
		name     string
		failures int           // this process's consecutive failures of endpoint 1
		failedAt time.Duration // before now
		eps      []claimEndpoint
		want     time.Duration // after now; 0: no timer
		rooms    int
	}{
		{"healthy, not tried", 0, 0, []claimEndpoint{{id: 1, usable: true}}, 0, 1},
		{"failing, no probe running: probed now", 0, 0, []claimEndpoint{{id: 1, usable: true, failing: true}}, 0, 1},
		{"a probe running", 0, 0, []claimEndpoint{{id: 1, usable: true, failing: true, probing: true}}, 0, 0},
		{"its breaker waits", breakerAfter, 30 * time.Millisecond, []claimEndpoint{{id: 1, usable: true, failing: true}}, 70 * time.Millisecond, 0},
		{"its wait ended, a probe running", breakerAfter, 2 * every, []claimEndpoint{{id: 1, usable: true, failing: true, probing: true}}, 0, 0},
		{"one waits, another's probe runs: the wait's end", breakerAfter, 70 * time.Millisecond,
			[]claimEndpoint{{id: 1, usable: true, failing: true}, {id: 2, usable: true, failing: true, probing: true}}, 30 * time.Millisecond, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newPacer(40, time.Second, every, func(uint) {})
			if c.failures > 0 {
				e := p.get(1)
				e.failures, e.failedAt = c.failures, now.Add(-c.failedAt)
			}
			rooms, at := p.plan(0, c.eps, 10, 5, now)
			if len(rooms) != c.rooms {
				t.Errorf("%d rooms %+v, want %d", len(rooms), rooms, c.rooms)
			}
			switch {
			case c.want == 0 && !at.IsZero():
				t.Errorf("look again %v after now, want no timer", at.Sub(now))
			case c.want != 0 && !at.Equal(now.Add(c.want)):
				t.Errorf("look again %v after now, want %v", at.Sub(now), c.want)
			}
		})
	}
}
