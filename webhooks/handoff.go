package webhooks

import (
	"context"
	"slices"
	"time"

	"outdial/models"
)

// The hand-off: a small change's deliveries go from the transaction that
// records them straight to this process's workers.
//
// A delivery that waits for a claim costs, between the change's commit
// and its attempt, the claim's transaction (4 statements and a COMMIT):
// one more durable commit after the change's own (two until the claim
// took the whole lease, lease.go). On a MariaDB with its default
// innodb_flush_log_at_trx_commit = 1 each durable commit waits for an
// fsync, 6 to 10 ms on the benchmark's machine: most of the time from a
// one-agent change's answer to its webhook (BENCHMARKS.md, "The
// one-agent change on MariaDB: the hand-off").
//
// So when the first-attempt lane has an idle worker for each of a
// write's deliveries and each one's endpoint is proven healthy with room
// to run it now (pacer.canHand), the Writer records them already leased
// to this process for InFlightLease, as a claim would (lease.go), under a
// lease token of their own; after the commit (Writer.Committed) they are
// queued on the lane as jobs, with the endpoint as the transaction read
// it and the body it wrote. No other process claims them (they are not
// due until the lease ends), and every later write of them is fenced on
// the token as for a claimed delivery. The lease is written by the
// transaction that creates the delivery, so it commits before the
// request goes out, as a claim's does.
//
// What this costs: should the process die between the commit and the
// attempts, or the command's outcome be unknown (its COMMIT sent, no
// answer), those deliveries wait InFlightLease before another process
// takes them over, as claimed ones do. An endpoint that changes while such a command
// runs (an endpoint command, or the result writer disabling it) makes the
// hand-off give its deliveries back, due at once, to be claimed with the
// endpoint's new state.

// maxHanded is the most deliveries one command hands off.
const maxHanded = 8

// handed is a delivery its transaction leased to this process, with what
// its attempt needs.
type handed struct {
	id       int64
	endpoint *models.WebhookEndpoint // as the transaction read it
	agentID  int64                   // 0: not an agent event
	version  int64
	msgID    string
	body     []byte
}

// offer returns the lease token and end under which a transaction may
// record deliveries to endpoints (an ID per delivery) leased to this
// process, or false when they are to be claimed: Run is not delivering,
// results cannot be recorded now, the first-attempt lane has not an idle worker for each,
// or an endpoint is not proven healthy with room to run them at once.
func (d *Dispatcher) offer(endpoints []int64) (token string, until time.Time, ok bool) {
	if len(endpoints) == 0 || len(endpoints) > maxHanded || !d.serving.Load() || d.writeFailing.Load() ||
		!d.lanes[0].idle(len(endpoints)) || !d.pacer.canHand(endpoints) {
		return "", time.Time{}, false
	}
	return d.newToken(), d.now().Add(d.cfg.InFlightLease), true
}

// take queues the deliveries hs, committed leased under token until
// until (offer), on the first-attempt lane. When one of their endpoints
// changed since mark (endpointChanges.mark), taken before their
// transaction read the endpoints (checked under the lane's lock, as a
// claim's: see endpointChanged), or the lane is closed, it gives them all
// back instead, due at once. heldAt (monoNow) is from before their
// transaction: what it wrote is trusted heldFor from then (lease.go).
func (d *Dispatcher) take(token string, until time.Time, hs []handed, mark uint64, heldAt int64) {
	now := d.now()
	eps := map[int64]*endpoint{}
	jobs := make([]*job, len(hs))
	for i, h := range hs {
		ep := eps[h.endpoint.ID]
		if ep == nil {
			ep = newEndpoint(h.endpoint, now)
			eps[h.endpoint.ID] = ep
		}
		j := &job{id: h.id, endpointID: h.endpoint.ID, agentID: h.agentID, version: h.version, msgID: h.msgID,
			body: h.body, ep: ep, claimedAt: time.Now(), mark: mark, handed: true}
		j.token.Store(&token)
		j.leaseEnd.Store(until.UnixNano())
		j.heldAt.Store(heldAt) // before its transaction, which wrote it leased
		jobs[i] = j
	}
	d.pacer.hold(jobs)
	if d.lanes[0].handOver(jobs, func(endpoint int64) bool { return d.endpointChanges.changedSince(endpoint, mark) }) {
		return
	}
	for _, j := range jobs {
		d.pacer.giveBack(j.lane, j.endpointID)
	}
	d.release(context.Background(), holdsOfJobs(jobs))
	d.Wake()
}

// idle reports whether the lane has an idle worker for each of n more
// jobs, with nothing queued.
func (l *lane) idle(n int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.closed && len(l.queue) == 0 && l.workers-len(l.running) >= n
}

// handOver queues jobs handed off by their transaction, and reports
// whether it did: not once the lane is closed, nor when changed (called
// with l.mu held) reports that the endpoint of one of them changed while
// the transaction ran.
func (l *lane) handOver(jobs []*job, changed func(endpoint int64) bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || slices.ContainsFunc(jobs, func(j *job) bool { return changed(j.endpointID) }) {
		return false
	}
	l.queue = append(l.queue, jobs...)
	l.cond.Broadcast()
	return true
}

// canHand reports whether every endpoint of endpoints (an ID per
// delivery) is proven healthy and may run all it holds and these at
// once.
func (p *pacer) canHand(endpoints []int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	more := map[int64]int{}
	for _, id := range endpoints {
		more[id]++
	}
	for id, n := range more {
		e := p.eps[id]
		if e == nil || !e.proven || e.failures > 0 || e.claimed()+n > e.limit {
			return false
		}
	}
	return true
}

// hold counts jobs handed off as claimed.
func (p *pacer) hold(jobs []*job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, j := range jobs {
		p.get(j.endpointID).inLane[0]++ // hand-offs go to the first lane
	}
}
