// Package webhooks delivers Outdial's events to webhook endpoints and to
// the GraphQL subscription. The wire format and the delivery rules are in
// docs/domain.md, "Webhooks"; this is how the package keeps them.
//
// Outbox records events, and one delivery per matching enabled endpoint,
// inside the caller's transaction, so that no committed change loses its
// event; after the commit it wakes the dispatcher and the feed.
//
// Dispatcher sends deliveries: it claims due ones with a lease (FOR UPDATE
// SKIP LOCKED on MySQL, so that several processes share the work), sends
// each as a signed POST (Standard Webhooks, sign.go) through a client whose
// dialer refuses special-purpose addresses (guard.go), records every
// attempt, and retries on the schedule with jitter until a 2xx, a 410 or
// the end of the schedule. First attempts and retries run in separate
// lanes, so a failing endpoint's retries never delay fresh deliveries, and
// a delivery older than a version of the same agent already delivered to
// the same endpoint is superseded instead of sent.
//
// A dead endpoint never delays a healthy one (pacer.go): each claim reads
// every endpoint's due deliveries apart, at most that endpoint's room, and
// takes them round-robin across endpoints (claim.go); endpoints not proven
// healthy get one delivery at a time and half the workers at most (the
// probes of endpoints recorded failing half of that), and an endpoint
// whose attempts fail gets one probe at a time (its breaker). A
// lane claims what its workers can send now and a batch more, and a
// claimed delivery waits at most maxQueued for a worker (lane.go), or is
// given back: what its claim read of it is never older than that.
//
// A small change skips the claim (handoff.go): while the first-attempt
// lane is idle and the endpoint proven healthy, the change's own
// transaction records its deliveries leased to this process, and after
// the commit they go to the workers at once, with no statement between
// the commit and the attempt.
//
// Deliveries (transitions.go) is the one writer of a delivery's state:
// lease, renew, release, finish, reschedule, supersede, fail, redeliver and
// recover, with the SQL of both dialects side by side; the calling package
// asks it and writes no delivery row itself. A lease (lease.go) is taken
// by the claim for the whole way from the claim to the result, named by a
// token, and every write of its holder is fenced on it. The dispatcher
// checks the lease by its own clock right before each send, and its result writer
// (writer.go) keeps results until they are recorded, however long the
// database is away, stopping only at the shutdown's deadline.
//
// Feed gives the subscription the ability changes after a cursor, from
// memory while they are recent and from the database otherwise.
package webhooks
