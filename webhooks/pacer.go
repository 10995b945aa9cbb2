package webhooks

import (
	"sync"
	"time"
)

// Fairness between endpoints: a dead endpoint never delays fresh
// deliveries to a healthy one, the promise the webhooks make.
//
// Every claim reads each endpoint's due deliveries apart and takes them
// round-robin across endpoints (claim.go), at most each endpoint's room:
//
//   - An endpoint proven healthy (its last attempt in this process
//     succeeded within slowAfter) may run up to its limit, which grows by
//     one with every quick success and halves on every failure or slow
//     answer (TCP's additive increase, multiplicative decrease), so that
//     a healthy endpoint alone soon gets every worker; and each lane may
//     have as many of its deliveries claimed as the lane's workers send
//     within half of maxQueued (from its recent attempts' duration), up
//     to maxRoundsAhead rounds (claimCap). A lane refused by a full
//     endpoint is told when half of its cap is free again, not at every
//     delivery that ends (release).
//   - Any other endpoint (not tried yet, slow, or whose recent attempts
//     failed) has one delivery claimed at a time, and all of them
//     together hold at most half a lane's workers (lane.unprovenBudget):
//     hanging endpoints, which are not known to hang until their attempts
//     time out, never take every worker. The probes of endpoints recorded
//     failing hold at most half of those places (lane.probeBudget), so
//     that an endpoint not proven yet and not failing (a new one; every
//     one after a restart) finds a place beside any number of hanging
//     endpoints known to fail.
//   - The breaker: after breakerAfter consecutive failures in this
//     process, an endpoint's next attempt is a probe, made probeEvery
//     after the last failure (a second, or the first retry delay when
//     that is shorter); and an endpoint whose failures the database
//     records (failing_since, set by whichever process saw them) has one
//     attempt, its probe, running at a time across all processes. A
//     success closes it. This is Convoy's circuit breaker and Svix's
//     endpoint throttling in a small form: the deliveries wait, due, and
//     are neither failed nor rescheduled because the breaker is open.
//
// A probe is recorded on its endpoint's row, by the claim that takes it
// (startProbes): probe_owner, the claim's lease token, and probe_until,
// when its attempt has certainly ended (probeFor); its result's write
// clears both, fenced on the token (endProbes). A claim leaves out the
// failing endpoints whose probe_until is after its now (claimEndpoints,
// and on MySQL openProbes, which locks their rows). Only probes are
// recorded: an attempt a process claimed (or handed off, handoff.go)
// while it had the endpoint proven healthy, before it read the endpoint
// failing, may still run beside a probe, within Timeout. (The index of
// leased deliveries that counted those too cost every delivery a write,
// migration 00022.)

// breakerAfter is how many consecutive failed attempts open an endpoint's
// breaker in this process.
const breakerAfter = 3

// maxProbeEvery is the longest an endpoint whose breaker is open waits
// after a failed attempt before the next one.
const maxProbeEvery = time.Second

// pacer keeps, per endpoint, how many attempts this process runs and may
// run. Both lanes share it: an endpoint's limit counts the attempts of
// both, and each lane's claimed deliveries count against that lane's cap
// (claimCap), which assumes the lane may run all of the limit.
type pacer struct {
	workers    int              // of both lanes: the highest limit
	lanes      []int            // the workers of each lane (Dispatcher.lanes)
	slowAfter  time.Duration    // an answer later than this is slow
	probeEvery time.Duration    // how long an endpoint whose breaker is open waits after a failed attempt
	freed      func(lanes uint) // tells the lanes (a bit each) whose claim found an endpoint full that it has room again

	mu  sync.Mutex
	eps map[int64]*pace
}

// pace is what the pacer knows of one endpoint. An endpoint with no pace
// is one not tried yet (or forgotten: idle and not proven).
type pace struct {
	limit    int           // attempts that may run at once while proven
	inLane   [2]int        // deliveries claimed and not finished (queued or running), and rooms reserved by a claim, of each lane (Dispatcher.lanes; hand-offs are the first lane's)
	running  int           // attempts running
	took     time.Duration // recent attempts' duration (moving average)
	proven   bool          // the last attempt succeeded within slowAfter
	failures int           // consecutive failed attempts
	failedAt time.Time     // when the last of them ended (monotonic)
	denied   uint          // the lanes (a bit each) whose claim it refused: tell them when they may take it again (release)
}

// newPacer returns a pacer for lanes of the workers given (in
// Dispatcher.lanes' order), that calls freed (which must not block) with
// the lanes an endpoint refused when they may take it again.
// Only those lanes claim again. (Telling both lanes made them wake each
// other without end while idle: woken together, one reserved the room,
// the other found it full, the first gave it back unused and woke both,
// and so on — a claim every millisecond or two, on the path of every new
// delivery.) An open breaker probes every probeEvery (probeInterval).
func newPacer(lanes []int, slowAfter, probeEvery time.Duration, freed func(lanes uint)) *pacer {
	workers := 0
	for _, n := range lanes {
		workers += n
	}
	return &pacer{workers: workers, lanes: lanes, slowAfter: slowAfter, probeEvery: probeEvery, freed: freed, eps: map[int64]*pace{}}
}

// probeInterval is how often an open breaker probes: every maxProbeEvery,
// or every first retry delay of schedule when that is shorter (and not
// zero), so never less often than a failed delivery is retried.
func probeInterval(schedule []time.Duration) time.Duration {
	if len(schedule) > 0 && schedule[0] > 0 {
		return min(maxProbeEvery, schedule[0])
	}
	return maxProbeEvery
}

// get returns the endpoint's pace, creating it. The caller holds p.mu.
func (p *pacer) get(id int64) *pace {
	e := p.eps[id]
	if e == nil {
		e = &pace{limit: 1}
		p.eps[id] = e
	}
	return e
}

// room is what one claim may take of one endpoint.
type room struct {
	endpoint int64
	n        int  // deliveries
	unproven bool // one at a time, within the lane's budget of unproven attempts
	probe    bool // the database records the endpoint failing: one attempt across all processes (startProbes)
	fail     bool // the endpoint is disabled or deleted: its deliveries are failed, not sent
}

// plan reserves the rooms of one claim of at most free deliveries, of
// which at most unproven to endpoints not proven healthy, and of those
// at most probes to endpoints recorded failing (lane.probeBudget), over eps (in
// the order given, which the caller rotates for fairness). The caller
// must give back what it did not take (unreserve). It also returns when
// the first breaker it left out for its wait (probeEvery after the last
// failure) lets a probe go (monotonic; zero when none): no attempt's end
// tells a lane that, so the caller sets a timer (lane.freeAt).
func (p *pacer) plan(lane int, eps []claimEndpoint, free, unproven, probes int, now time.Time) (out []room, probeAt time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ep := range eps {
		if !ep.usable {
			out = append(out, room{endpoint: ep.id, n: free, fail: true})
			continue
		}
		e := p.get(ep.id)
		if e.proven && !ep.failing {
			// Half its cap free or more, or none of it: a lane that took
			// whatever a few finished deliveries freed claimed a few at a
			// time (helper-60: 136 claims instead of 21 for 2,500
			// deliveries to an endpoint answering in 60 ms); release
			// tells it when half is free.
			limit := e.claimCap(p.lanes[lane])
			if left := limit - e.inLane[lane]; left >= e.refill(p.lanes[lane]) {
				n := min(left, free)
				e.inLane[lane] += n
				out = append(out, room{endpoint: ep.id, n: n})
			} else {
				e.denied |= 1 << lane
			}
			continue
		}
		if e.claimed() > 0 {
			e.denied |= 1 << lane
			continue
		}
		if e.failures >= breakerAfter && now.Sub(e.failedAt) < p.probeEvery {
			if at := e.failedAt.Add(p.probeEvery); probeAt.IsZero() || at.Before(probeAt) {
				probeAt = at
			}
			continue
		}
		if unproven == 0 || (ep.failing && (ep.probing || probes == 0)) {
			continue
		}
		if ep.failing {
			probes--
		}
		unproven--
		e.inLane[lane]++
		out = append(out, room{endpoint: ep.id, n: 1, unproven: true, probe: ep.failing})
	}
	return out, probeAt
}

// maxRoundsAhead bounds the rounds of a proven endpoint's attempts that
// a lane may have claimed ahead of those running (claimCap). With the
// first lane's 32 workers a lone fast endpoint may then have 1,056 of
// its deliveries claimed there: more than the lane queues
// (Config.BatchSize), so that the lane's rule, not this one, sets the
// size of its claims. (It was 7 until December 2026: on MariaDB the
// lane then claimed again before a claim had landed, and its workers
// waited for claims most of the time; BENCHMARKS.md, "MariaDB's
// claims".)
const maxRoundsAhead = 32

// claimCap is how many deliveries of a proven endpoint a lane of workers
// workers may have claimed: the attempts it runs at once (the endpoint's
// limit, at most the lane's workers), and as many rounds more as those
// send within half of maxQueued at the endpoint's recent pace, at most
// maxRoundsAhead. Half, so that a claimed delivery is sent well before it
// has waited maxQueued and is given back: the claim's own time counts,
// and the pace may slow. The caller holds p.mu.
func (e *pace) claimCap(workers int) int {
	rounds := maxRoundsAhead
	if e.took > 0 {
		rounds = min(rounds, int(maxQueued/2/e.took))
	}
	return min(e.limit, workers) * (1 + rounds)
}

// claimed is how many deliveries of the endpoint both lanes have claimed
// and not finished, with the rooms their claims reserved. The caller
// holds p.mu.
func (e *pace) claimed() int { return e.inLane[0] + e.inLane[1] }

// refill is how much of a lane's cap of a proven endpoint must be free
// before the lane takes more of it: half of what the cap holds ahead of
// the attempts the lane runs at once, and at least one. With rounds
// ahead, claims then take half of them or more at a time; with none (an
// endpoint slower than half of maxQueued), a claim takes each place an
// attempt frees, so that the workers are not left waiting for half of
// them to end. The caller holds p.mu.
func (e *pace) refill(workers int) int {
	running := min(e.limit, workers)
	return max(1, min(e.claimCap(workers)/2, e.claimCap(workers)-running))
}

// tryRun starts an attempt to the endpoint id if it is under its limit
// (one for an endpoint not proven healthy), and reports whether it did.
func (p *pacer) tryRun(id int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.get(id)
	limit := 1
	if e.proven {
		limit = e.limit
	}
	if e.running >= limit {
		return false
	}
	e.running++
	return true
}

// giveBack ends the claim of a delivery of lane to the endpoint id that
// was not attempted: it waited too long, or its endpoint changed.
func (p *pacer) giveBack(lane int, id int64) {
	p.mu.Lock()
	e := p.get(id)
	e.inLane[lane]--
	freed := p.release(id, e)
	p.mu.Unlock()
	if freed != 0 {
		p.freed(freed)
	}
}

// unreserve gives back the rooms of rooms that a claim of lane did not
// take; taken counts what it took per endpoint.
func (p *pacer) unreserve(lane int, rooms []room, taken map[int64]int) {
	var freed uint
	p.mu.Lock()
	for _, r := range rooms {
		if r.fail {
			continue
		}
		if left := r.n - taken[r.endpoint]; left > 0 {
			e := p.get(r.endpoint)
			e.inLane[lane] -= left
			freed |= p.release(r.endpoint, e)
		}
	}
	p.mu.Unlock()
	if freed != 0 {
		p.freed(freed)
	}
}

// finish ends an attempt of lane to the endpoint id (started by
// tryRun): attempted says whether a request was made, ok whether it
// succeeded, took how long it lasted.
func (p *pacer) finish(lane int, id int64, attempted, ok bool, took time.Duration, now time.Time) {
	p.mu.Lock()
	e := p.get(id)
	e.running--
	e.inLane[lane]--
	if attempted && e.took == 0 {
		e.took = took
	} else if attempted {
		e.took = (3*e.took + took) / 4
	}
	switch {
	case !attempted:
	case ok && took < p.slowAfter:
		e.limit = min(e.limit+1, p.workers)
		e.proven, e.failures = true, 0
	case ok:
		e.limit = max(1, e.limit/2)
		e.proven, e.failures = false, 0
	default:
		e.limit = max(1, e.limit/2)
		e.failures++
		e.failedAt = now
		e.proven = e.proven && e.failures < breakerAfter
	}
	freed := p.release(id, e)
	p.mu.Unlock()
	if freed != 0 {
		p.freed(freed)
	}
}

// release notes that e, the pace of the endpoint id, has room again. It
// drops the pace of an idle endpoint that holds nothing worth keeping,
// so that the map holds only endpoints in use or proven, and reports
// the lanes whose claim found the endpoint full meanwhile and that may
// claim again: for a proven endpoint, once refill of the lane's cap is
// free, so that its claims take many at a time (told at every delivery
// that ended, a lane whose cap was below half a batch claimed a few at a
// time: 775 claims instead of 33 for 2,500 deliveries to an endpoint
// answering in 60 ms, in helper-59's review); for any other, at once
// (one not proven has one delivery claimed at a time, once those it had
// claimed while proven have ended). The caller holds p.mu.
func (p *pacer) release(id int64, e *pace) (denied uint) {
	for lane, workers := range p.lanes {
		bit := uint(1) << lane
		if e.denied&bit == 0 {
			continue
		}
		if e.proven && e.claimCap(workers)-e.inLane[lane] < e.refill(workers) {
			continue
		}
		e.denied &^= bit
		denied |= bit
	}
	if e.claimed() == 0 && !e.proven && e.failures == 0 {
		delete(p.eps, id)
	}
	return denied
}
