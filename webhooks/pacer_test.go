package webhooks

import (
	"testing"
	"time"
)

// TestPlanLooksAgainAtOpenBreakers: pacer.plan leaves out an endpoint
// whose breaker waits, or whose probe runs (failing and probing, in this
// process or another), and returns when to look at it again, so that a
// lane with no other work does not wait for the poll: the end of the
// breaker's wait, or probeEvery from now for a running probe, the
// earlier of the two when both are left out.
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
		{"a probe running elsewhere", 0, 0, []claimEndpoint{{id: 1, usable: true, failing: true, probing: true}}, every, 0},
		{"its breaker waits", breakerAfter, 30 * time.Millisecond, []claimEndpoint{{id: 1, usable: true, failing: true}}, 70 * time.Millisecond, 0},
		{"its wait ended, a probe running", breakerAfter, 2 * every, []claimEndpoint{{id: 1, usable: true, failing: true, probing: true}}, every, 0},
		{"one waits, another's probe runs: the earlier", breakerAfter, 70 * time.Millisecond,
			[]claimEndpoint{{id: 1, usable: true, failing: true}, {id: 2, usable: true, failing: true, probing: true}}, 30 * time.Millisecond, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newPacer(40, time.Second, every, func(uint) {})
			if c.failures > 0 {
				e := p.get(1)
				e.failures, e.failedAt = c.failures, now.Add(-c.failedAt)
			}
			rooms, at := p.plan(0, 32, c.eps, 10, 5, now)
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

// TestClaimCapSendsWithinHalfOfMaxQueued: what a lane may have claimed of
// a proven endpoint (claimCap) is sent within half of maxQueued at the
// endpoint's recent pace by the lane's workers (at most its limit run at
// once), so that claimed deliveries are not given back for waiting; and a
// fast endpoint's cap is above what the lane queues and runs, so that the
// lane's batch, not the cap, sets the size of its claims.
func TestClaimCapSendsWithinHalfOfMaxQueued(t *testing.T) {
	for _, c := range []struct {
		limit, workers int
		took           time.Duration
	}{
		{40, DefaultFirstAttemptWorkers, time.Millisecond},
		{40, DefaultFirstAttemptWorkers, 20 * time.Millisecond},
		{40, DefaultFirstAttemptWorkers, 60 * time.Millisecond},
		{40, DefaultFirstAttemptWorkers, 130 * time.Millisecond},
		{40, DefaultRetryWorkers, 20 * time.Millisecond},
		{40, DefaultRetryWorkers, 30 * time.Millisecond},
		{4, DefaultFirstAttemptWorkers, 10 * time.Millisecond},
		{40, DefaultFirstAttemptWorkers, 2 * time.Second},
	} {
		e := &pace{limit: c.limit, took: c.took, proven: true}
		running := min(c.limit, c.workers)
		n := e.claimCap(c.workers)
		// The rounds after the first, at running attempts a round.
		if sendIn := time.Duration(n/running-1) * c.took; sendIn > maxQueued/2 {
			t.Errorf("limit %d, %d workers, %v an attempt: %d claimed take %v to send after the first round, want at most %v",
				c.limit, c.workers, c.took, n, sendIn, maxQueued/2)
		}
		if n < running {
			t.Errorf("limit %d, %d workers, %v an attempt: %d claimed, fewer than the %d it may run", c.limit, c.workers, c.took, n, running)
		}
		if fast := c.took == time.Millisecond; fast && n < DefaultBatchSize+c.workers {
			t.Errorf("limit %d, %d workers, %v an attempt: %d claimed, fewer than a batch queued and the workers running (%d)",
				c.limit, c.workers, c.took, n, DefaultBatchSize+c.workers)
		}
	}
}
