package webhooks

import (
	"context"
	"sync"
	"time"

	"outdial/models"
)

// A delivery's lease (issue 8 §3, "a paused process sends after its lease
// is gone").
//
// A claim leases each delivery it takes to this process for InFlightLease,
// in the claim's transaction, fenced (only due deliveries, or those whose
// lease has expired, are taken), and that transaction commits before any
// of them is sent. Another process takes a delivery over only once its
// lease has expired: a process paused (SIGSTOP, a stalled VM) or cut off
// from the database for less than InFlightLease records its attempts
// itself when it resumes, and nothing is sent twice. A longer pause (or a
// process that died) has the attempt made again by another process:
// delivery is at least once, and receivers deduplicate on webhook-id, as
// Standard Webhooks asks. Before each attempt the worker checks the lease
// by this process's clock (lapsed), and every write of a result is fenced
// on the lease's token (transitions.go).
//
// Every claimed delivery is about to be sent: a claim takes what the
// lane's workers can send now and one batch more (lane), and a claimed
// delivery waits at most maxQueued (a second) for a worker, or is given
// back. So one lease serves from the claim to the result, as River's
// producer marks a job running when it fetches it. Until December 2026
// the claim took a shorter lease (WEBHOOK_LEASE, 30 s) and each attempt
// extended it to InFlightLease first, in a fenced UPDATE of its own; on
// SQLite's one connection those UPDATEs were most of the dispatcher's
// writes, and the fan-out sent about 40 % fewer deliveries a second
// (BENCHMARKS.md, "One lease from the claim to the result"). What that
// cost: a process that dies leaves its claimed deliveries, at most a
// batch and the workers of each lane, for InFlightLease instead of 30 s
// before another process (or the restarted one) sends them.
//
// Right before an attempt, the worker checks that the delivery is still
// PENDING under its lease (begin): another process may have settled it
// meanwhile without holding its lease: FAILED when it disabled or deleted
// the endpoint (a 410, a command), SUPERSEDED when it delivered a newer
// version of the agent's ability to the same endpoint (docs/domain.md,
// "Webhooks": never sent after a newer one). What the claim read is trusted for heldFor:
// in a busy fan-out a claimed delivery is sent within milliseconds, and a
// check of its own would cost a statement on the database's connection
// per few attempts while every worker waits for it (on SQLite about as
// much as the old extension, BENCHMARKS.md). An older job is checked:
// one SELECT by primary key for every attempt about to begin while the
// previous check ran (the writer's way), and for the jobs queued next in
// the lane, as many as it has workers, each then trusted for heldFor
// again. So a delivery settled elsewhere may still be sent within
// heldFor of the last reading that it was held (a check before the
// attempt can never be exact: the request follows the read), and
// receivers still drop versions older than one applied.
//
// A result the writer cannot record for long (the database down) keeps
// its lease: the renewal (Dispatcher.renewLoop) extends, every eighth of
// InFlightLease, the leases of the deliveries this process holds that end
// within half of it: four tries before a lease ends.

// heldFor is how long a reading that a delivery is held by its lease
// (its claim, or a check) is trusted before its attempt (begin).
const heldFor = 100 * time.Millisecond

// monoBase is the origin of monoNow.
var monoBase = time.Now()

// monoNow returns the time on the monotonic clock, in nanoseconds since
// monoBase: what job.heldAt holds.
func monoNow() int64 { return int64(time.Since(monoBase)) }

// lapseMargin is what a lease must hold beyond Timeout for an attempt to
// start (lapsed).
const lapseMargin = time.Second

// lapsed reports whether j's lease, by this process's clock, ends before
// an attempt started now surely does (Timeout, and lapseMargin to spare).
// The lease was last set by this process, so a process that was paused
// (SIGSTOP, a stalled VM) or cut off from the database past its lease
// sends nothing: another process may have taken the delivery over. Such a
// job is given back, if it is still this process's.
func (d *Dispatcher) lapsed(j *job) bool {
	return d.now().Add(d.cfg.Timeout+lapseMargin).UnixNano() > j.leaseEnd.Load()
}

// beginReq is a worker's request to begin the attempt of j: to check that
// its delivery is still held, and those of ahead too.
type beginReq struct {
	j     *job
	ahead []*job
	ok    bool // still held: the attempt may be made
	lost  bool // no longer held by its lease
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

// begin checks, before its attempt, that j's delivery is still PENDING
// under its lease, unless that was known less than heldFor ago, and
// reports whether the attempt may be made; lost says that it is not
// (otherwise the database failed).
func (d *Dispatcher) begin(l *lane, j *job) (ok, lost bool) {
	if fresh(j, monoNow()) {
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

// beginLoop checks the deliveries of the attempts about to begin, all
// those requested meanwhile in one statement, until q is closed and
// drained.
func (d *Dispatcher) beginLoop(q *beginQueue) {
	for {
		batch, closed := q.take()
		if len(batch) > 0 {
			d.checkHeld(batch)
			continue
		}
		if closed {
			return
		}
		<-q.ready
	}
}

// fresh reports whether j's delivery was known held less than heldFor
// before now (monoNow).
func fresh(j *job, now int64) bool { return now-j.heldAt.Load() < int64(heldFor) }

// checkHeld reads which deliveries of batch (and of the jobs ahead, but
// those known held) are still PENDING under their leases, notes when for
// those, and answers each request.
func (d *Dispatcher) checkHeld(batch []*beginReq) {
	start := monoNow()
	jobs := make([]*job, 0, len(batch))
	listed := map[int64]bool{}
	for _, r := range batch {
		for _, j := range append([]*job{r.j}, r.ahead...) {
			if !listed[j.id] && !fresh(j, start) {
				listed[j.id] = true
				jobs = append(jobs, j)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(max(d.cfg.Timeout, time.Second), 5*time.Second))
	defer cancel()
	go func() {
		select {
		case <-d.abandon:
			cancel()
		case <-ctx.Done():
		}
	}()
	var held []int64
	err := models.RetryLocks(ctx, func() error {
		var err error
		held, err = d.deliveries.held(d.db.WithContext(ctx), holdsOfJobs(jobs))
		return err
	})
	if err != nil {
		d.log.Warn("checking webhook deliveries before their attempts failed: not sent now, given back", "attempts", len(batch), "err", err)
		for _, r := range batch {
			close(r.done)
		}
		return
	}
	ok := make(map[int64]bool, len(held))
	for _, id := range held {
		ok[id] = true
	}
	for _, j := range jobs {
		if ok[j.id] {
			j.heldAt.Store(start)
		}
	}
	for _, r := range batch {
		if ok[r.j.id] || fresh(r.j, start) {
			r.ok = true
		} else {
			r.lost = true
		}
		close(r.done)
	}
}
