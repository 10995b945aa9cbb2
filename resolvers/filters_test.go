package resolvers_test

import (
	"reflect"
	"strings"
	"testing"

	"outdial/internal/testenv"
)

// Text filters refuse what the service refuses (calling/names_test.go),
// as BAD_USER_INPUT.

// unchanged runs fn, whose requests must all be refused, and checks that
// the database is exactly as before them.
func unchanged(e *testenv.Env, fn func()) {
	e.T.Helper()
	before := testenv.Snapshot(e.T, e.App.DB)
	fn()
	if after := testenv.Snapshot(e.T, e.App.DB); !reflect.DeepEqual(before, after) {
		e.T.Fatalf("refused requests changed the database:\n%s", testenv.DiffSnapshots(before, after))
	}
}

// badInput sends a query that must fail with a BAD_USER_INPUT error and
// returns its message; run it inside unchanged.
func badInput(e *testenv.Env, query string, vars map[string]any) string {
	e.T.Helper()
	r := e.Do(e.Admin, query, vars)
	if r.Code() != "BAD_USER_INPUT" {
		e.T.Fatalf("%s with %+v answered %d %s %+v; want BAD_USER_INPUT", query, vars, r.Status, r.Data, r.Errors)
	}
	return r.Errors[0].Message
}

// TestTextFiltersThatHideAreRefused: text filters refuse bidirectional
// controls as BAD_USER_INPUT, naming the character, and change nothing.
func TestTextFiltersThatHideAreRefused(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	hiding := []struct{ name, char, code string }{
		{"right-to-left override", "\u202e", "U+202E"},
		{"left-to-right override", "\u202d", "U+202D"},
		{"right-to-left isolate", "\u2067", "U+2067"},
	}
	unchanged(e, func() {
		for _, h := range hiding {
			for _, q := range []string{
				`query($s: String) { queues(filter: {search: $s}) { totalCount } }`,
				`query($s: String) { agents(filter: {search: $s}) { totalCount } }`,
				`query($s: String) { phoneNumbers(filter: {search: $s}) { totalCount } }`,
				`query($s: String) { auditLog(filter: {action: $s}) { totalCount } }`,
				`query($s: String) { agent(email: $s) { id } }`,
			} {
				if msg := badInput(e, q, map[string]any{"s": "x" + h.char}); !strings.Contains(msg, h.code) {
					t.Errorf("%s with a %s: %q; want the message to name %s", q, h.name, msg, h.code)
				}
			}
		}
	})
}

// TestFilterLengthsCountCharacters (issue 7, class 5): a filter's length
// limit counts characters, and its refusal, BAD_USER_INPUT, says the limit
// and the length.
func TestFilterLengthsCountCharacters(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	rep := strings.Repeat
	// Filters: a search of 1000 characters is taken, 1001 is BAD_USER_INPUT.
	q := `query($s: String) { queues(filter: {search: $s}) { totalCount } }`
	e.Query(q, map[string]any{"s": rep("語", 1000)}, nil)
	r := e.Rejected(e.Admin, "BAD_USER_INPUT", 0, q, map[string]any{"s": rep("語", 1001)})
	if msg := r.Errors[0].Message; !strings.Contains(msg, "1000") || !strings.Contains(msg, "1001") {
		t.Errorf("search of 1001 characters refused with %q; want it to say 1000 and 1001", msg)
	}
	r = e.Rejected(e.Admin, "BAD_USER_INPUT", 0, `query($s: String) { agent(email: $s) { id } }`, map[string]any{"s": rep("ü", 250) + "@example.com"})
	if msg := r.Errors[0].Message; !strings.Contains(msg, "254") {
		t.Errorf("agent(email:) of 262 characters refused with %q; want it to say 254", msg)
	}
}
