package webhooks

import (
	"sync"
	"time"
)

// job is one claimed delivery on its way to an attempt.
type job struct {
	id         int64
	endpointID int64
	agentID    int64 // 0: not an agent event
	version    int64
	attempts   int // attempts made before this one
	msgID      string
	body       []byte
	ep         *endpoint
	claimedAt  time.Time // monotonic, for Dispatcher.skip
}

// lane is a pool of workers fed from an in-memory queue per endpoint.
// First attempts and retries each have a lane of their own, so that
// retries never wait in front of first attempts.
//
// Endpoints are served round-robin, each with a concurrency limit that
// grows by one with every quick answer and halves on every timeout, error
// or slow answer: a hanging endpoint ends up holding one worker, while a
// healthy one soon gets them all.
type lane struct {
	name      string
	retries   bool
	workers   int
	batch     int
	slowAfter time.Duration

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
// deliveries at once.
func newLane(name string, retries bool, workers, batch int, slowAfter time.Duration) *lane {
	l := &lane{name: name, retries: retries, workers: workers, batch: batch, slowAfter: slowAfter,
		eps: map[int64]*epQueue{}, held: map[int64]*job{},
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
		if l.held[j.id] != nil {
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
// in-flight attempts are under its limit; nil when there is none.
func (l *lane) pick() *job {
	for i := range len(l.order) {
		idx := (l.next + i) % len(l.order)
		epID := l.order[idx]
		q := l.eps[epID]
		if q.inflight >= q.limit {
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

// drop removes the queued jobs of an endpoint (disabled meanwhile) and
// returns how many there were.
func (l *lane) drop(endpointID int64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.eps[endpointID]
	if q == nil || len(q.jobs) == 0 {
		return 0
	}
	n := len(q.jobs)
	for _, j := range q.jobs {
		delete(l.held, j.id)
	}
	q.jobs = nil
	l.queued -= n
	for i, id := range l.order {
		if id == endpointID {
			l.order = append(l.order[:i], l.order[i+1:]...)
			break
		}
	}
	q.ordered = false
	l.next = 0
	return n
}

// heldIDs returns the deliveries the lane holds, queued or in flight.
func (l *lane) heldIDs() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]int64, 0, len(l.held))
	for id := range l.held {
		ids = append(ids, id)
	}
	return ids
}

// close stops the workers after their current attempt and returns the
// deliveries still queued, to be released.
func (l *lane) close() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	var ids []int64
	for _, epID := range l.order {
		for _, j := range l.eps[epID].jobs {
			ids = append(ids, j.id)
			delete(l.held, j.id)
		}
		l.eps[epID].jobs = nil
		l.eps[epID].ordered = false
	}
	l.order, l.queued = nil, 0
	l.cond.Broadcast()
	return ids
}
