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
	agentID    int64 // 0: not an agent event
	version    int64
	attempts   int // attempts made before this one
	msgID      string
	body       []byte
	ep         *endpoint
	claimedAt  time.Time // monotonic, taken before the claim read the endpoint; for Dispatcher.skip
	// checkedAt is when the endpoint's state and the newer versions
	// delivered were last read for the job (at its claim, then by
	// Dispatcher.verify); monotonic, read and written under the lane's lock.
	checkedAt time.Time
}

// lease returns the token of the lease j is held under.
func (j *job) lease() string { return *j.token.Load() }

// lane is a pool of workers fed from an in-memory queue per endpoint.
// First attempts and retries each have a lane of their own, so that
// retries never wait in front of first attempts.
//
// Endpoints are served round-robin, each with a concurrency limit that
// grows by one with every quick answer and halves on every timeout, error
// or slow answer: a hanging endpoint ends up holding one worker, while a
// healthy one soon gets them all.
//
// A job is handed to a worker only while its check is fresh (checked
// less than recheck ago); an endpoint whose next job is older waits, and
// the lane asks for a check on verify.
type lane struct {
	name      string
	retries   bool
	workers   int
	batch     int
	slowAfter time.Duration
	recheck   time.Duration
	verify    chan struct{} // check the stale jobs now (shared by the lanes)

	mu     sync.Mutex
	cond   *sync.Cond
	closed bool
	eps    map[int64]*epQueue
	order  []int64 // endpoints with queued jobs, served round-robin
	next   int     // position in order of the next endpoint to serve
	held   map[int64]*job
	queued int

	wake  chan struct{} // claim now: a commit, a clock change
	space chan struct{} // claim now: queued work fell low
}

// epQueue is the queued work and the concurrency of one endpoint.
type epQueue struct {
	jobs      []*job
	inflight  int
	limit     int
	ordered   bool // in lane.order
	saturated bool // had at least lane.saturation(q) jobs queued
}

// newLane returns a lane of workers workers that claims up to batch
// deliveries at once and signals verify when a job waited for more than
// recheck since it was last checked.
func newLane(name string, retries bool, workers, batch int, slowAfter, recheck time.Duration, verify chan struct{}) *lane {
	l := &lane{name: name, retries: retries, workers: workers, batch: batch, slowAfter: slowAfter,
		recheck: recheck, verify: verify, eps: map[int64]*epQueue{}, held: map[int64]*job{},
		wake: make(chan struct{}, 1), space: make(chan struct{}, 1)}
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

// queue returns the endpoint's queue, creating it.
func (l *lane) queue(endpointID int64) *epQueue {
	q := l.eps[endpointID]
	if q == nil {
		q = &epQueue{limit: max(1, l.workers/4)}
		l.eps[endpointID] = q
	}
	return q
}

// add queues jobs, skipping deliveries this lane already holds (a lease
// that expired while the attempt was running and was claimed again).
func (l *lane) add(jobs []*job) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, j := range jobs {
		if held := l.held[j.id]; held != nil {
			// Claimed again while held: its lease had expired (renewals
			// failed). The job held goes on under the new lease.
			held.token.Store(j.token.Load())
			held.leaseEnd.Store(j.leaseEnd.Load())
			continue
		}
		l.held[j.id] = j
		q := l.queue(j.endpointID)
		q.jobs = append(q.jobs, j)
		l.queued++
		if !q.ordered {
			q.ordered = true
			l.order = append(l.order, j.endpointID)
		}
		q.saturated = len(q.jobs) >= l.saturation(q)
	}
	l.cond.Broadcast()
}

// take blocks until a job may be attempted and returns it, or returns nil
// once the lane is closed.
func (l *lane) take() *job {
	l.mu.Lock()
	defer l.mu.Unlock()
	for !l.closed {
		if j := l.pick(); j != nil {
			return j
		}
		l.cond.Wait()
	}
	return nil
}

// pick returns the next job of the next endpoint, round-robin, whose
// in-flight attempts are under its limit and whose check is fresh; nil
// when there is none. It asks for a check when a job is stale.
func (l *lane) pick() *job {
	now := time.Now()
	stale := false
	defer func() {
		if stale {
			signal(l.verify)
		}
	}()
	for i := range len(l.order) {
		idx := (l.next + i) % len(l.order)
		epID := l.order[idx]
		q := l.eps[epID]
		if q.inflight >= q.limit {
			continue
		}
		if now.Sub(q.jobs[0].checkedAt) >= l.recheck {
			stale = true
			continue
		}
		j := q.jobs[0]
		q.jobs[0] = nil
		q.jobs = q.jobs[1:]
		q.inflight++
		l.queued--
		l.next = idx + 1
		if len(q.jobs) == 0 {
			q.ordered = false
			l.order = append(l.order[:idx], l.order[idx+1:]...)
			l.next = idx
		}
		l.noteDrain(q)
		return j
	}
	return nil
}

// noteDrain asks the claimer for more work when q stops being saturated or
// the lane's queue falls to one batch.
func (l *lane) noteDrain(q *epQueue) {
	if q.saturated && len(q.jobs) < l.saturation(q) {
		q.saturated = false
		signal(l.space)
	}
	if l.queued == l.batch || l.queued == 0 {
		signal(l.space)
	}
}

// finish ends j's turn: answered says whether an HTTP answer came back,
// took how long the attempt lasted. It adapts the endpoint's limit, and
// reports whether the lane now holds no delivery.
func (l *lane) finish(j *job, attempted, answered bool, took time.Duration) (empty bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.held, j.id)
	q := l.eps[j.endpointID]
	q.inflight--
	switch {
	case !attempted:
	case answered && took < l.slowAfter:
		q.limit = min(q.limit+1, l.workers)
	default:
		q.limit = max(1, q.limit/2)
	}
	l.noteDrain(q)
	l.cond.Broadcast()
	return len(l.held) == 0
}

// holds reports whether the lane holds deliveries, queued or in flight.
func (l *lane) holds() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.held) > 0
}

// saturation is how many queued jobs of q are enough: more would only
// wait (for a slow endpoint, a long time) and are not claimed until its
// queue drains below it.
func (l *lane) saturation(q *epQueue) int { return max(8*q.limit, l.batch/2) }

// need returns how many deliveries to claim, at most a batch, and the
// endpoints to leave out because enough of their work is queued already.
// The lane keeps up to two batches queued, so that its workers have work
// while the next claim waits for the database.
func (l *lane) need() (int, []int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	runnable := 0
	var exclude []int64
	for _, epID := range l.order {
		q := l.eps[epID]
		if len(q.jobs) >= l.saturation(q) {
			q.saturated = true
			exclude = append(exclude, epID)
			continue
		}
		runnable += len(q.jobs)
	}
	return min(l.batch, max(0, 2*l.batch-runnable)), exclude
}

// drop removes and returns the queued jobs of an endpoint.
func (l *lane) drop(endpointID int64) []*job {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.eps[endpointID]
	if q == nil || len(q.jobs) == 0 {
		return nil
	}
	jobs := q.jobs
	for _, j := range jobs {
		delete(l.held, j.id)
	}
	q.jobs = nil
	l.queued -= len(jobs)
	l.unorder(endpointID, q)
	signal(l.space)
	return jobs
}

// unorder takes an endpoint whose queue emptied out of the round-robin.
func (l *lane) unorder(endpointID int64, q *epQueue) {
	if i := slices.Index(l.order, endpointID); i >= 0 {
		l.order = slices.Delete(l.order, i, i+1)
		if l.next > i {
			l.next--
		}
	}
	q.ordered = false
}

// remove takes the queued jobs whose IDs are in ids out of the lane and
// returns them.
func (l *lane) remove(ids map[int64]bool) []*job {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*job
	for _, epID := range slices.Clone(l.order) {
		q := l.eps[epID]
		kept := q.jobs[:0]
		for _, j := range q.jobs {
			if ids[j.id] {
				out = append(out, j)
				delete(l.held, j.id)
				continue
			}
			kept = append(kept, j)
		}
		clear(q.jobs[len(kept):])
		q.jobs = kept
		if len(q.jobs) == 0 {
			l.unorder(epID, q)
		}
	}
	l.queued -= len(out)
	if len(out) > 0 {
		signal(l.space)
	}
	return out
}

// staleJobs returns the queued jobs last checked before before.
func (l *lane) staleJobs(before time.Time) []*job {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*job
	for _, epID := range l.order {
		for _, j := range l.eps[epID].jobs {
			if j.checkedAt.Before(before) {
				out = append(out, j)
			}
		}
	}
	return out
}

// checked notes that jobs were checked at at, and wakes the workers.
func (l *lane) checked(jobs []*job, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, j := range jobs {
		if l.held[j.id] == j && j.checkedAt.Before(at) {
			j.checkedAt = at
		}
	}
	l.cond.Broadcast()
}

// heldJobs returns the jobs the lane holds, queued or in flight.
func (l *lane) heldJobs() []*job {
	l.mu.Lock()
	defer l.mu.Unlock()
	jobs := make([]*job, 0, len(l.held))
	for _, j := range l.held {
		jobs = append(jobs, j)
	}
	return jobs
}

// close stops the workers after their current attempt and returns the
// jobs still queued, to be released.
func (l *lane) close() []*job {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	var jobs []*job
	for _, epID := range l.order {
		for _, j := range l.eps[epID].jobs {
			jobs = append(jobs, j)
			delete(l.held, j.id)
		}
		l.eps[epID].jobs = nil
		l.eps[epID].ordered = false
	}
	l.order, l.queued = nil, 0
	l.cond.Broadcast()
	return jobs
}
