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
			p := newPacer([]int{32, 8}, time.Second, every, func(uint) {})
			if c.failures > 0 {
				e := p.get(1)
				e.failures, e.failedAt = c.failures, now.Add(-c.failedAt)
			}
			rooms, at := p.plan(0, c.eps, 10, 5, 5, now)
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

// TestLanesClaimAnEndpointApart: each lane's claims of a proven endpoint
// count against that lane's cap only, so that a first lane holding many
// of its deliveries leaves the retry lane its own room; and a lane the
// endpoint refused is told when half of its cap is free again, once,
// not at every delivery that ends (pacer.release).
func TestLanesClaimAnEndpointApart(t *testing.T) {
	var told []uint
	p := newPacer([]int{32, 8}, time.Second, time.Second, func(lanes uint) { told = append(told, lanes) })
	e := p.get(1)
	e.proven, e.limit, e.took = true, 40, 100*time.Millisecond // 5 rounds within half of maxQueued
	now := time.Now()
	ep := []claimEndpoint{{id: 1, usable: true}}
	taken := func(lane, free int) int {
		rooms, _ := p.plan(lane, ep, free, 0, 0, now)
		n := 0
		for _, r := range rooms {
			n += r.n
		}
		return n
	}
	capFirst, capRetries := e.claimCap(32), e.claimCap(8)
	if capFirst != 32*6 || capRetries != 8*6 {
		t.Fatalf("caps %d and %d, want %d and %d", capFirst, capRetries, 32*6, 8*6)
	}
	if n := taken(0, 500); n != capFirst {
		t.Fatalf("the first lane took %d, want its cap %d", n, capFirst)
	}
	if n := taken(1, 500); n != capRetries {
		t.Fatalf("beside the first lane's %d, the retry lane took %d, want its own cap %d", capFirst, n, capRetries)
	}
	if n := taken(0, 500); n != 0 {
		t.Fatalf("the first lane took %d more past its cap", n)
	}
	for i := range capFirst / 2 {
		if i == 1 {
			if n := taken(0, 500); n != 0 {
				t.Fatalf("with %d of its cap free, the first lane took %d, want none until half of it is", i, n)
			}
		}
		if len(told) > 0 {
			t.Fatalf("the first lane was told after %d of its %d deliveries ended, want once half its cap is free", i, capFirst)
		}
		p.tryRun(1)
		p.finish(0, 1, true, true, 100*time.Millisecond, now)
	}
	if len(told) != 1 || told[0] != 1 {
		t.Fatalf("told %v once half the first lane's cap was free, want the first lane once", told)
	}
	if n := taken(0, 500); n != capFirst/2 {
		t.Fatalf("with half its cap free, the first lane took %d, want %d", n, capFirst/2)
	}
	p.tryRun(1)
	p.finish(0, 1, true, true, 100*time.Millisecond, now)
	if len(told) != 1 {
		t.Fatalf("told %v after one more ended, want no more until the lane is refused again", told)
	}
}

// TestSlowProvenEndpointRefillsEachPlace: an endpoint proven healthy but
// slower than half of maxQueued has no rounds claimed ahead (its cap is
// the attempts the lane runs at once), and the lane takes each place an
// attempt frees, not half of them at a time, which would leave a quarter
// of its workers waiting on average (helper-61).
func TestSlowProvenEndpointRefillsEachPlace(t *testing.T) {
	var told []uint
	p := newPacer([]int{32, 8}, 2*time.Second, time.Second, func(lanes uint) { told = append(told, lanes) })
	e := p.get(1)
	e.proven, e.limit, e.took = true, 8, 800*time.Millisecond
	now := time.Now()
	ep := []claimEndpoint{{id: 1, usable: true}}
	rooms, _ := p.plan(0, ep, 500, 0, 0, now)
	if len(rooms) != 1 || rooms[0].n != 8 {
		t.Fatalf("rooms %+v, want 8 (the limit, no rounds ahead)", rooms)
	}
	if rooms, _ := p.plan(0, ep, 500, 0, 0, now); len(rooms) != 0 {
		t.Fatalf("rooms %+v past the cap, want none", rooms)
	}
	p.tryRun(1)
	p.finish(0, 1, true, true, 800*time.Millisecond, now)
	if len(told) != 1 {
		t.Fatalf("told %v after one attempt ended, want the lane told once", told)
	}
	// The quick success raised the limit by one: two places are free.
	if rooms, _ := p.plan(0, ep, 500, 0, 0, now); len(rooms) != 1 || rooms[0].n != e.limit-7 {
		t.Fatalf("rooms %+v with %d places free, want them", rooms, e.limit-7)
	}
}

// TestPlanKeepsPlacesForEndpointsNotFailing: pacer.plan gives the probes
// of endpoints recorded failing at most probes of the unproven places,
// whatever their order, so that endpoints not proven and not failing (a
// new one, any after a restart) still get the others; and none when no
// unproven place is left.
func TestPlanKeepsPlacesForEndpointsNotFailing(t *testing.T) {
	failing := func(ids ...int64) []claimEndpoint {
		var eps []claimEndpoint
		for _, id := range ids {
			eps = append(eps, claimEndpoint{id: id, usable: true, failing: true})
		}
		return eps
	}
	fresh := claimEndpoint{id: 100, usable: true}
	for _, c := range []struct {
		name              string
		eps               []claimEndpoint
		unproven, probes  int
		wantProbes, wantN int // probe rooms, rooms of endpoints not failing
	}{
		{"ten failing first, probes 2 of 4", append(failing(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), fresh), 4, 2, 2, 1},
		{"the fresh one first", append([]claimEndpoint{fresh}, failing(1, 2, 3)...), 4, 2, 2, 1},
		{"no probe place left", append(failing(1, 2, 3), fresh), 4, 0, 0, 1},
		{"no unproven place left", append(failing(1, 2), fresh), 0, 2, 0, 0},
		{"fewer failing than probes", append(failing(1), fresh), 4, 2, 1, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newPacer([]int{32, 8}, time.Second, time.Second, func(uint) {})
			rooms, _ := p.plan(0, c.eps, 10, c.unproven, c.probes, time.Now())
			probes, others := 0, 0
			for _, r := range rooms {
				if r.probe {
					probes++
				} else {
					others++
				}
			}
			if probes != c.wantProbes || others != c.wantN {
				t.Errorf("%d probe rooms and %d others %+v, want %d and %d", probes, others, rooms, c.wantProbes, c.wantN)
			}
		})
	}
}
