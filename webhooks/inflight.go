package webhooks

import (
	"context"
	"sync"
	"time"

	"outdial/models"
)

// An attempt's lease (issue 8 §3, "a paused process sends after its lease
// is gone").
//
// A claimed delivery is leased for LeaseDuration, renewed while this
// process holds it: another process takes it over once that lease has
// expired, which bounds how long a dead process's queue waits. That alone
// cannot tell another process whether an attempt was made: a process
// paused (SIGSTOP, a stalled VM) or cut off after the receiver answered
// and before the result was recorded loses the lease, and the other
// process sends the delivery again.
//
// So right before each attempt the worker extends the delivery's lease to
// InFlightLease, in a fenced UPDATE (the lease must still be this
// process's: one taken over is not sent) that commits before the request
// goes out. A delivery whose attempt has begun is then taken over only
// once that longer lease has expired: a process paused or cut off for
// less than InFlightLease records its attempt itself when it resumes, and
// nothing is sent twice. A longer pause (or a process that died during
// its attempts) has the attempt made again by another process: delivery
// is at least once, and receivers deduplicate on webhook-id, as Standard
// Webhooks asks. Only the attempts in flight (at most the workers) wait
// that long after a crash; queued deliveries keep the short lease.
//
// The UPDATEs of the workers are grouped: one statement extends the
// leases of every attempt about to begin while the previous one ran (the
// writer's way), and of the jobs queued next in the attempt's lane, as
// many as the lane has workers, so that most attempts find their lease
// extended already and begin at once. A job extended ahead and then given
// back unsent (it waited too long, its endpoint changed) is released as
// any other: its longer lease only matters if the process dies first.

// beginReq is a worker's request to begin the attempt of j, and to
// extend the leases of ahead too.
type beginReq struct {
	j     *job
	ahead []*job
	ok    bool // the lease was extended: the attempt may be made
	lost  bool // the lease is no longer this process's
	done  chan struct{}
}

// beginQueue hands the workers' requests to the begin loop.
type beginQueue struct {
	mu      sync.Mutex
	pending []*beginReq
	closed  bool
	ready   chan struct{}
}

func newBeginQueue() *beginQueue { return &beginQueue{ready: make(chan struct{}, 1)} }

// begin extends the lease of j to InFlightLease before its attempt, and
// reports whether the attempt may be made; lost says that the lease is no
// longer this process's (otherwise the database failed).
func (d *Dispatcher) begin(l *lane, j *job) (ok, lost bool) {
	if j.begun.Load() {
		return true, false
	}
	q := d.begins
	r := &beginReq{j: j, ahead: l.upcoming(l.workers), done: make(chan struct{})}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false, false
	}
	q.pending = append(q.pending, r)
	q.mu.Unlock()
	signal(q.ready)
	<-r.done
	return r.ok, r.lost
}

// close stops the begin loop once the requests queued are answered.
func (q *beginQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	signal(q.ready)
}

// take returns the requests queued, and whether the queue is closed.
func (q *beginQueue) take() ([]*beginReq, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	batch := q.pending
	q.pending = nil
	return batch, q.closed
}

// beginLoop extends the leases of the attempts about to begin, all those
// requested meanwhile in one statement, until q is closed and drained.
func (d *Dispatcher) beginLoop(q *beginQueue) {
	for {
		batch, closed := q.take()
		if len(batch) > 0 {
			d.extend(batch)
			continue
		}
		if closed {
			return
		}
		<-q.ready
	}
}

// extend extends the leases of batch to InFlightLease from now, fenced,
// and answers each request.
func (d *Dispatcher) extend(batch []*beginReq) {
	jobs := make([]*job, 0, len(batch))
	listed := map[int64]bool{}
	for _, r := range batch {
		for _, j := range append([]*job{r.j}, r.ahead...) {
			if !listed[j.id] && !j.begun.Load() {
				listed[j.id] = true
				jobs = append(jobs, j)
			}
		}
	}
	until := d.now().Add(d.cfg.InFlightLease)
	ctx, cancel := context.WithTimeout(context.Background(), min(d.cfg.Timeout, 5*time.Second))
	defer cancel()
	go func() {
		select {
		case <-d.abandon:
			cancel()
		case <-ctx.Done():
		}
	}()
	var renewed []int64
	err := models.RetryLocks(ctx, func() error {
		var err error
		renewed, err = d.deliveries.renew(d.db.WithContext(ctx), holdsOfJobs(jobs), until)
		return err
	})
	if err != nil {
		d.log.Warn("beginning webhook attempts failed: not sent now, given back", "attempts", len(batch), "err", err)
		for _, r := range batch {
			close(r.done)
		}
		return
	}
	ok := make(map[int64]bool, len(renewed))
	for _, id := range renewed {
		ok[id] = true
	}
	for _, j := range jobs {
		if ok[j.id] {
			j.leaseEnd.Store(until.UnixNano())
			j.begun.Store(true)
		}
	}
	for _, r := range batch {
		if r.j.begun.Load() {
			r.ok = true
		} else {
			r.lost = true
		}
		close(r.done)
	}
}
