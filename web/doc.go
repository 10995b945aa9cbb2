// Package web serves the pages a person opens in a browser: the GraphQL
// playground at / and the calling dashboard at /dashboard. Both are static
// files embedded in the binary, so they work on a machine without internet
// access and need no build step. They use only the public API (/graphql
// over HTTP, and its graphql-transport-ws subscription), as any other
// client would; static/signin.js, which both load, signs them in from a
// link whose URL fragment holds the token.
//
// Vendored libraries, each with its licence beside it: GraphiQL 3.9 with
// React 18 (static/playground), graphql-ws 5 (static/vendor).
package web
