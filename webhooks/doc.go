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
// Feed gives the subscription the ability changes after a cursor, from
// memory while they are recent and from the database otherwise.
package webhooks
