package webhooks

import "time"

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
// producer marks a job running when it fetches it. Until 2026-12 the
// claim took a shorter lease (WEBHOOK_LEASE, 30 s) and each attempt
// extended it to InFlightLease first, in a fenced UPDATE of its own; on
// SQLite's one connection those UPDATEs were half of the dispatcher's
// write transactions, and the fan-out sent about a third fewer
// deliveries a second (BENCHMARKS.md, "One lease from the claim"). What
// that cost: a process that dies leaves its claimed deliveries, at most
// a batch and the workers of each lane, for InFlightLease instead of
// 30 s before another process (or the restarted one) sends them.
//
// A result the writer cannot record for long (the database down) keeps
// its lease: the renewal (Dispatcher.renewLoop) extends, every
// InFlightLease/4, the leases of the deliveries this process holds that
// end within half of InFlightLease.

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
