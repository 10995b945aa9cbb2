// Package loadtest measures the agents page of the GraphQL API
// (docs/design.md, "Performance targets") against a hand-written net/http baseline that runs
// the same SQL statements and encodes the same JSON: the data set both read
// (built through the calling service), the baseline handler, and a load
// generator that drives HTTP servers and reports requests/s and latency
// percentiles.
package loadtest
