package webhooks

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// job is one claimed delivery on its way to an attempt.
type job struct {
	id         int64
	token      atomic.Pointer[string] // the lease's token (lease_owner); see lease
	leaseEnd   atomic.Int64           // the lease's end as last set, by this process's clock, in Unix nanoseconds
	endpointID int64
	lane       int   // its lane's index in Dispatcher.lanes: hand-offs are the first lane's
	agentID    int64 // 0: not an agent event
	version    int64
	attempts   int // attempts made before this one
	msgID      string
	body       []byte
	ep         *endpoint
	claimedAt  time.Time    // monotonic, taken once the claim held its connection, before it read the endpoint: for maxQueued
	mark       uint64       // endpointChanges.mark() before the claim (or hand-off) read the endpoint
	unproven   bool         // counted in its lane's budget for endpoints not proven healthy
	heldAt     atomic.Int64 // monoNow() when its delivery was last known held by its lease: its claim, a check (lease.go)
	handed     bool         // handed off by its transaction (handoff.go), not claimed
	probe      string       // the token its claim recorded it under as its failing endpoint's probe (probe_owner); "" when not a probe
	probeUntil time.Time    // that probe's probe_until, by this process's clock (probeFor)
}

// lease returns the token of the lease j is held under.
func (j *job) lease() string { return *j.token.Load() }

// maxQueued is how long a claimed delivery may wait for a worker. What a
// claim read of a delivery (its endpoint's URL, secret and state, whether
// a newer version of its agent reached that endpoint) is trusted that
// long; a delivery that waited longer is given back, due at once, to be
// claimed again with what is true then.
//
// One second, not less: on a slow machine (CI's race detector makes every
// attempt several times slower) a quarter of a second let claimed
// deliveries expire before a worker was free, so they were given back and
// claimed again over and over, and a healthy endpoint beside dead ones got
// about five deliveries a second (TestDeadEndpointsDoNotDelayAHealthyOne
// under -race on SQLite: 292 of 500 after a minute, all 500 in 2.7 s with
// one second).
const maxQueued = time.Second

// lane is a pool of workers for one kind of attempt. First attempts and
// retries each have a lane of their own, so that retries never wait in
// front of first attempts.
//
// A lane claims what its workers can send now and one batch more
// (River's producer claims what its free workers can run; here a claim's
// cost, mostly per statement, is paid for a batch while the workers send
// the previous one, which the fan-out benchmark shows is needed: claiming
// for free workers only sent 2 to 5 times fewer deliveries a second).
// Claimed deliveries wait in claim order, which is round-robin across
// endpoints, each at most maxQueued: that is the one rule that keeps
// what the claim read fresh. A worker takes the first whose endpoint is
// under its concurrency limit (pacer.go).
type lane struct {
	name    string
	retries bool
	workers int
	batch   int // the most deliveries queued, and claimed at once
	index   int // in Dispatcher.lanes: its bit in the pacer's denied lanes

	mu       sync.Mutex
	cond     *sync.Cond
	closed   bool
	queue    []*job         // claimed, waiting for a worker, in claim order
	running  map[int64]*job // deliveries being attempted
	unproven int            // queued and running jobs to endpoints not proven healthy, and reserved places
	probes   int            // of those, the probes of endpoints recorded failing (job.probe)
	cursor   int64          // the endpoint the last claim ended with: the next one starts after it

	timer   *time.Timer // signals freed at timerAt (freeAt)
	timerAt time.Time

	wake  chan struct{} // claim now: a commit, a clock change
	space chan struct{} // claim when roomy: a worker or a place in the queue is free
	freed chan struct{} // claim when roomy: room came back that a claim found taken (pacer, unprovenBudget, probeBudget), or a breaker's wait ended (freeAt)
}

// newLane returns a lane of workers workers that queues at most batch
// deliveries.
func newLane(name string, retries bool, workers, batch int) *lane {
	l := &lane{name: name, retries: retries, workers: workers, batch: batch, running: map[int64]*job{},
		wake: make(chan struct{}, 1), space: make(chan struct{}, 1), freed: make(chan struct{}, 1)}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// signal makes a non-blocking send on c.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// unprovenBudget is how many jobs of the lane may be queued or running at
// once for endpoints not proven healthy (each one at a time): half the
// workers, and at least two, so that a healthy endpoint not tried yet
// finds a place beside a hanging one even in a small pool.
func (l *lane) unprovenBudget() int { return min(l.workers, max(2, l.workers/2)) }

// probeBudget is how many of the lane's unproven places the probes of
// endpoints recorded failing may hold at once: half of them, at least
// one. The other half stays for endpoints not recorded failing and not
// proven in this process (a new endpoint; every endpoint after a
// restart): a probe of a hanging endpoint holds its worker for Timeout,
// and when probes could take every unproven place, a healthy endpoint
// not proven yet waited for one to time out beside more hanging
// endpoints than the budget (16 s beside 40 after a restart, 10 s
// WEBHOOK_TIMEOUT; TestAHealthyEndpointNotProvenYetPassesHangingProbes).
func (l *lane) probeBudget() int { return max(1, l.unprovenBudget()/2) }

// free returns how many deliveries to claim (free workers and free places
// in the queue, at most a batch), how many of them may go to endpoints
// not proven healthy, and reserves the latter: the caller gives back what
// it did not use with started. It also returns how many of those may be
// probes of endpoints recorded failing (probeBudget); only the lane's
// claims, one at a time, add probes to it, so these need no reservation.
func (l *lane) free() (free, unproven, probes int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	free = min(l.batch, max(0, l.workers-len(l.running))+max(0, l.batch-len(l.queue)))
	if l.closed {
		free = 0
	}
	unproven = max(0, min(free, l.unprovenBudget()-l.unproven))
	l.unproven += unproven
	probes = max(0, min(unproven, l.probeBudget()-l.probes))
	return free, unproven, probes
}

// started queues the jobs of a claim, and gives back the reserved
// unproven places it did not use. A delivery claimed again while the
// lane holds it (its lease had expired: renewals failed) goes on under
// the new lease as the job held; started returns those jobs claimed
// again, which the caller must give back to the pacer. A job whose
// endpoint changed while the claim ran (changed, called with l.mu held,
// reports it) is not queued but returned as stale, which the caller must
// give back (Dispatcher.giveBack): the claim may have read the endpoint
// as it was (Dispatcher.endpointChanged).
func (l *lane) started(jobs []*job, reserved int, cursor int64, changed func(endpoint int64) bool) (again, stale []*job) {
	l.mu.Lock()
	defer l.mu.Unlock()
	used := 0
	for _, j := range jobs {
		if held := l.held(j.id); held != nil {
			held.token.Store(j.token.Load())
			held.leaseEnd.Store(j.leaseEnd.Load())
			held.heldAt.Store(j.heldAt.Load())
			again = append(again, j)
			continue
		}
		if changed(j.endpointID) {
			stale = append(stale, j)
			continue
		}
		if j.unproven {
			used++
		}
		if j.probe != "" {
			l.probes++
		}
		l.queue = append(l.queue, j)
	}
	l.unproven -= reserved - used
	if len(jobs) > 0 {
		l.cursor = cursor
		l.cond.Broadcast()
	}
	return again, stale
}

// held returns the job of the delivery id that the lane holds, queued or
// running, or nil. The caller holds l.mu.
func (l *lane) held(id int64) *job {
	if j := l.running[id]; j != nil {
		return j
	}
	for _, j := range l.queue {
		if j.id == id {
			return j
		}
	}
	return nil
}

// upcoming returns up to n of the queued jobs, the first ones: those the
// workers take next (Dispatcher.begin checks them ahead).
func (l *lane) upcoming(n int) []*job {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.queue[:min(n, len(l.queue))])
}

// lastEndpoint returns the endpoint the last claim ended with.
func (l *lane) lastEndpoint() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cursor
}

// take blocks until a queued job may be attempted and returns it, with
// the queued jobs that waited longer than maxQueued (taken out of the
// lane, to be given back); it returns a nil job once the lane is closed.
// mayRun reports whether an endpoint is under its concurrency limit; it
// is called with l.mu held and must not call back into l.
func (l *lane) take(mayRun func(endpointID int64) bool) (j *job, expired []*job) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		now := time.Now()
		for i := 0; i < len(l.queue); i++ {
			q := l.queue[i]
			if now.Sub(q.claimedAt) > maxQueued {
				expired = append(expired, q)
				l.forget(q)
				l.queue = slices.Delete(l.queue, i, i+1)
				i--
				continue
			}
			if j == nil && mayRun(q.endpointID) {
				j = q
				l.queue = slices.Delete(l.queue, i, i+1)
				i--
			}
		}
		// A job handed off took no place a claim could fill: the lane
		// was idle (handoff.go).
		if len(expired) > 0 || (j != nil && !j.handed) {
			signal(l.space)
		}
		if j != nil {
			l.running[j.id] = j
			return j, expired
		}
		if l.closed || len(expired) > 0 {
			return nil, expired
		}
		l.cond.Wait()
	}
}

// forget ends the lane's count of a job that leaves it. The caller holds
// l.mu.
func (l *lane) forget(j *job) {
	if j.probe != "" { // a probe is also unproven: freed is signalled below
		l.probes--
	}
	if j.unproven {
		l.unproven--
		signal(l.freed) // a claim may have found the budget taken
	}
}

// finish ends j's attempt and reports whether the lane now holds nothing.
func (l *lane) finish(j *job) (empty bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.running, j.id)
	l.forget(j)
	signal(l.space)
	l.cond.Broadcast()
	return len(l.running) == 0 && len(l.queue) == 0
}

// nudge wakes the workers waiting for an endpoint under its limit.
func (l *lane) nudge() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cond.Broadcast()
}

// drop takes the queued jobs of an endpoint out of the lane and returns
// them, to be given back.
func (l *lane) drop(endpointID int64) []*job {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*job
	l.queue = slices.DeleteFunc(l.queue, func(j *job) bool {
		if j.endpointID != endpointID {
			return false
		}
		out = append(out, j)
		l.forget(j)
		return true
	})
	if len(out) > 0 {
		signal(l.space)
	}
	return out
}

// freeAt signals l.freed at when (monotonic), unless a signal is set
// for earlier already: when a breaker left out by a claim lets its probe
// go (pacer.plan).
func (l *lane) freeAt(when time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.timer != nil && l.timerAt.After(now) && !l.timerAt.After(when) {
		return
	}
	l.timerAt = when
	if l.timer == nil {
		l.timer = time.AfterFunc(when.Sub(now), func() { signal(l.freed) })
		return
	}
	l.timer.Reset(when.Sub(now))
}

// roomy reports whether the lane's queue is down to half a batch: time
// to claim the next one, while the workers send the rest.
func (l *lane) roomy() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.queue) <= l.batch/2
}

// holds reports whether the lane holds deliveries, queued or running.
func (l *lane) holds() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.running)+len(l.queue) > 0
}

// heldJobs returns the jobs the lane holds, queued or running.
func (l *lane) heldJobs() []*job {
	l.mu.Lock()
	defer l.mu.Unlock()
	jobs := make([]*job, 0, len(l.running)+len(l.queue))
	for _, j := range l.running {
		jobs = append(jobs, j)
	}
	return append(jobs, l.queue...)
}

// close stops the workers after their current attempt and returns the
// jobs still queued, to be given back.
func (l *lane) close() []*job {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	jobs := l.queue
	for _, j := range jobs {
		l.forget(j)
	}
	l.queue = nil
	l.cond.Broadcast()
	return jobs
}
