package main

import "reflect"

// The name rule is tested on the service (calling/names_test.go) and its
// filters through the API (resolvers/filters_test.go); unchanged stays
// here for webhooks_api_test.go.

// unchanged runs fn, whose requests must all be refused, and checks that
// the database is exactly as before them (one check for many refusals).
func (e *testEnv) unchanged(fn func()) {
	e.t.Helper()
	before := snapshot(e.t, e.app.db)
	fn()
	if after := snapshot(e.t, e.app.db); !reflect.DeepEqual(before, after) {
		e.t.Fatalf("refused requests changed the database:\n%s", diffSnapshots(before, after))
	}
}
