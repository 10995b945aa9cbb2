// Package resolvers is the GraphQL edge of Outdial: thin resolvers that
// authorize the caller, decode IDs, call package calling and map its
// results to GraphQL types, with a dataloader behind every nested field.
// No business rule lives here.
//
// NewHandler builds the /graphql handler: gqlgen's executable schema with
// POST, GET and graphql-transport-ws transports, bearer-token
// authentication (auth.go: ADMIN may change everything, VIEWER reads
// everything but secrets, AGENT reads its own agent and manages its own
// webhook endpoints), and the limits every request is held to: a depth
// limit, a complexity limit in which a connection costs its first times its
// selection, at most 100 items a page and 1000 IDs a list, a deadline per
// request, and a bounded number of subscriptions per connection.
//
// Errors reach the client in one of two ways (errors.go): a business-rule
// refusal of a mutation becomes the payload's userErrors; anything else is
// a top-level error with extensions.code (BAD_USER_INPUT, UNAUTHENTICATED,
// FORBIDDEN, SERVICE_UNAVAILABLE, OUTCOME_UNKNOWN, INTERNAL_SERVER_ERROR
// with a reference to the log entry, never the cause itself).
//
// The schema they implement is graph/*.graphqls, whose descriptions are
// the API's documentation; docs/domain.md explains the domain behind it.
package resolvers
