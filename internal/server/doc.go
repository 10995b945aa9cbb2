// Package server wires Outdial: it opens and migrates the database (New),
// wires the domain service, the webhook dispatcher, the subscription feed
// and the pruner, mounts the HTTP routes (Handler: /graphql, the
// playground, /dashboard, /healthz, /readyz, /metrics), and serves until
// its context ends, then shuts down within a deadline (Run).
//
// Command outdial only reads a Config from flags and the environment and
// calls Run; the tests start the same App behind httptest
// (internal/testenv).
package server
