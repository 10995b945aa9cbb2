// Command outdial serves Outdial's GraphQL API: outbound calling
// configuration, each agent's calling ability, and webhooks that push every
// change of it to agent apps.
//
// Usage:
//
//	go run .                  serve on :8080 with the SQLite file outdial.db
//	go run . -demo            the same, with a small example organisation
//	go run . -h               every flag and its environment variable
//
// On an empty database it prints a generated ADMIN token and a link that
// signs the playground and the dashboard in. Paths: POST and GET /graphql
// (and its WebSocket, graphql-transport-ws, for subscriptions), / the
// GraphQL playground, /dashboard, /healthz, /readyz (database reachable,
// migrations applied), /metrics (Prometheus).
//
// main only reads the configuration: config.go reads flags and
// environment variables (the README's "Configuration" lists them) and
// internal/server opens and migrates the database, starts the webhook
// dispatcher and serves until a signal, then shuts down within a
// deadline. The domain
// is in package calling, explained in docs/domain.md; the layout of the
// packages is in docs/design.md.
package main
