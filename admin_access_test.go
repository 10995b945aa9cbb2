package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"outdial/calling"
	"outdial/internal/testenv"
)

// Acceptance tests of admin access: at least one ADMIN token works at all
// times, and the bootstrap token is replaced only when the operator asks
// (issue 13, "The last ADMIN can lock everyone out").

// tokenState is an apiTokens node as these tests read it.
type tokenState = testenv.TokenState

func (e *testEnv) tokens(token string) map[string]tokenState {
	e.t.Helper()
	return e.Tokens(token)
}

func (e *testEnv) works(token string) bool {
	e.t.Helper()
	return e.Works(token)
}

func (e *testEnv) revokeTokenAs(token, id string) []userError {
	e.t.Helper()
	return e.RevokeTokenAs(token, id)
}

func (e *testEnv) tokenAs(token, name, role string) (id, value string) {
	e.t.Helper()
	return e.TokenAs(token, name, role)
}

// post sends a GraphQL request from any goroutine (testenv.Env.Post).
func (e *testEnv) post(token, query string, vars map[string]any) gqlResponse {
	return gqlResponse(e.Post(token, query, vars))
}

// restart starts another server on e's database with ADMIN_TOKEN
// adminToken ("" for none), as a restart would.
func (e *testEnv) restart(t *testing.T, adminToken string) *testEnv {
	t.Helper()
	return setup(t, func(c *config) { c.DatabaseURL, c.AdminToken = e.databaseURL, adminToken })
}

// requireOutput checks what a server printed at start.
func requireOutput(t *testing.T, out string, want []string, unwanted ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("start output lacks %q:\n%s", w, out)
		}
	}
	for _, u := range unwanted {
		if strings.Contains(out, u) {
			t.Errorf("start output has %q:\n%s", u, out)
		}
	}
}

// TestAdminTokenRestarts: with ADMIN_TOKEN set, a restart never revives a
// revoked token (the same value again, or an older value after a newer
// one); a new value replaces the bootstrap token, whose old value stops
// working; the start output says which token works, never one that does
// not; a value that belongs to another active token is refused.
func TestAdminTokenRestarts(t *testing.T) {
	t.Parallel()
	const first, second = "odt_first-admin-token", "odt_second-admin-token"
	e := setup(t, func(c *config) { c.AdminToken = first })
	requireOutput(t, e.startOutput, []string{`Admin token: the value of ADMIN_TOKEN (token name "bootstrap").`})
	_, alice := e.token("alice", "ADMIN", "")
	oldBoot := e.tokens(alice)["bootstrap"].ID
	if errs := e.revokeTokenAs(alice, oldBoot); len(errs) > 0 {
		t.Fatalf("revoke bootstrap: %+v", errs)
	}

	// The same value: it stays revoked, and the output says so.
	e2 := e.restart(t, first)
	if e2.works(first) {
		t.Fatalf("a restart with the same ADMIN_TOKEN revived the revoked bootstrap token")
	}
	requireOutput(t, e2.startOutput, []string{`ADMIN_TOKEN is the value of the revoked token "bootstrap": it stays revoked`,
		"-rotate-admin-token", `Active ADMIN tokens: "alice".`}, "Admin token: the value of ADMIN_TOKEN")

	// A new value replaces it; the old row stays, revoked, renamed.
	e3 := e.restart(t, second)
	if !e3.works(second) || e3.works(first) {
		t.Fatalf("after ADMIN_TOKEN changed: new value works %v, old value works %v; want true, false", e3.works(second), e3.works(first))
	}
	toks := e3.tokens(second)
	retired := fmt.Sprintf("bootstrap-replaced-%d", mustDBID(t, oldBoot))
	if b := toks["bootstrap"]; b.Revoked || b.Role != "ADMIN" {
		t.Fatalf("bootstrap after replacement = %+v", b)
	}
	if r, ok := toks[retired]; !ok || !r.Revoked {
		t.Fatalf("the replaced bootstrap token should stay as %q, revoked: %+v", retired, toks)
	}
	requireOutput(t, e3.startOutput, []string{`Admin token: the value of ADMIN_TOKEN (token name "bootstrap").`,
		fmt.Sprintf(`It replaces the previous bootstrap token, which no longer works (revoked, renamed %q).`, retired)})

	// The older value again (a stale configuration): still revoked, and
	// the newer one keeps working.
	e4 := e.restart(t, first)
	if e4.works(first) || !e4.works(second) {
		t.Fatalf("stale ADMIN_TOKEN: old value works %v, current works %v; want false, true", e4.works(first), e4.works(second))
	}
	requireOutput(t, e4.startOutput, []string{fmt.Sprintf(`ADMIN_TOKEN is the value of the revoked token %q`, retired),
		`Active ADMIN tokens: "alice", "bootstrap".`})

	// The same value as before: nothing changes, and it works.
	e5 := e.restart(t, second)
	requireOutput(t, e5.startOutput, []string{`Admin token: the value of ADMIN_TOKEN (token name "bootstrap").`}, "replaces")
	if !e5.works(second) || !e5.works(alice) {
		t.Fatalf("a plain restart broke a token")
	}

	// The value of another active token is refused at start.
	_, viewer := e5.token("dashboard", "VIEWER", "")
	cfg := config{DatabaseURL: e.databaseURL, AdminToken: viewer, WebhookRetrySchedule: []time.Duration{time.Second}, WebhookTimeout: time.Second}
	a, err := newApp(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	_, err = a.bootstrap(context.Background(), cfg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `the active VIEWER token "dashboard"`) {
		t.Fatalf("ADMIN_TOKEN = a VIEWER token's value: start error %v; want one naming the token", err)
	}
	if toks := e5.tokens(second); toks["dashboard"].Role != "VIEWER" || toks["dashboard"].Revoked || toks["bootstrap"].Revoked {
		t.Fatalf("the refused start changed tokens: %+v", toks)
	}
}

// mustDBID returns the database ID inside an ApiToken global ID.
func mustDBID(t *testing.T, id string) int64 {
	t.Helper()
	n, err := calling.ParseID(calling.KindAPIToken, id)
	if err != nil {
		t.Fatalf("token ID %q: %v", id, err)
	}
	return n
}

// generatedToken finds the token a server printed once.
var generatedToken = regexp.MustCompile(`Admin token \(shown once, keep it\): (odt_\S+)`)

// printedToken returns the token in a start output, failing when none.
func printedToken(t *testing.T, out string) string {
	t.Helper()
	m := generatedToken.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no generated token in the output:\n%s", out)
	}
	if !strings.Contains(out, "Authorization: Bearer "+m[1]) {
		t.Errorf("the output does not show how to use the token:\n%s", out)
	}
	return m[1]
}

// TestGeneratedAdminTokenAndRotation: without ADMIN_TOKEN, the token
// generated at first start is shown once; later starts say which token
// works (the generated one, or, once it is revoked, the active ADMIN
// tokens; or that none works); -rotate-admin-token replaces it, running
// server or not, prints the new one once and revokes the old one.
func TestGeneratedAdminTokenAndRotation(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *config) { c.AdminToken = "" })
	g1 := printedToken(t, e.startOutput)
	if !e.works(g1) {
		t.Fatalf("the generated token does not work")
	}
	e2 := e.restart(t, "")
	requireOutput(t, e2.startOutput, []string{"Admin token: the one printed when this database was created"}, "odt_")

	// Revoked (by alice): the next start points at alice, not at it.
	_, alice := e.tokenAs(g1, "alice", "ADMIN")
	if errs := e.revokeTokenAs(alice, e.tokens(alice)["bootstrap"].ID); len(errs) > 0 {
		t.Fatalf("revoke bootstrap: %+v", errs)
	}
	e3 := e.restart(t, "")
	requireOutput(t, e3.startOutput, []string{"The bootstrap admin token is revoked; -rotate-admin-token replaces it.", `Active ADMIN tokens: "alice".`},
		"the one printed", "odt_")

	// -rotate-admin-token, beside the running servers.
	g2 := rotate(t, e.databaseURL, nil)
	if g2 == g1 || !e.works(g2) || e.works(g1) || !e.works(alice) {
		t.Fatalf("after rotation: new works %v, old works %v, alice works %v", e.works(g2), e.works(g1), e.works(alice))
	}
	toks := e.tokens(g2)
	if b := toks["bootstrap"]; b.Revoked || b.Role != "ADMIN" {
		t.Fatalf("bootstrap after rotation = %+v", b)
	}
	// Again, while the bootstrap token is active: the active one goes.
	g3 := rotate(t, e.databaseURL, nil)
	if !e.works(g3) || e.works(g2) {
		t.Fatalf("second rotation: new works %v, previous works %v", e.works(g3), e.works(g2))
	}
	e4 := e.restart(t, "")
	requireOutput(t, e4.startOutput, []string{"Admin token: the one printed when this database was created or its admin token last rotated"}, "odt_")

	// -rotate-admin-token with ADMIN_TOKEN set is refused before anything runs.
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-database", e.databaseURL, "-rotate-admin-token"},
		func(k string) string { return map[string]string{"ADMIN_TOKEN": "odt_x"}[k] }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "unset ADMIN_TOKEN") || !e.works(g3) {
		t.Fatalf("-rotate-admin-token with ADMIN_TOKEN: %v", err)
	}
}

// TestNoWorkingAdminToken: a database where no ADMIN token works (revoked
// before this rule existed) says so at start, and -rotate-admin-token
// restores access.
func TestNoWorkingAdminToken(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *config) { c.AdminToken = "" })
	g1 := printedToken(t, e.startOutput)
	_, viewer := e.tokenAs(g1, "dashboard", "VIEWER")
	// The state an older version allowed: every ADMIN token revoked.
	if err := e.app.db.Exec("UPDATE api_tokens SET revoked_at = ? WHERE role = 'ADMIN'", time.Now().UTC()).Error; err != nil {
		t.Fatal(err)
	}
	e2 := e.restart(t, "")
	requireOutput(t, e2.startOutput, []string{"No ADMIN token works", "-rotate-admin-token"}, "Active ADMIN tokens", "the one printed")
	g2 := rotate(t, e.databaseURL, nil)
	if !e.works(g2) || e.works(g1) || !e.works(viewer) {
		t.Fatalf("after rotation: new works %v, old works %v, viewer works %v", e.works(g2), e.works(g1), e.works(viewer))
	}
}

// rotate runs outdial -rotate-admin-token on dbURL and returns the token it
// printed.
func rotate(t *testing.T, dbURL string, env map[string]string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-database", dbURL, "-rotate-admin-token"}, func(k string) string { return env[k] }, &out, &errOut)
	if err != nil {
		t.Fatalf("-rotate-admin-token: %v\n%s", err, errOut.String())
	}
	if strings.Contains(out.String(), "listening") {
		t.Fatalf("-rotate-admin-token went on serving:\n%s", out.String())
	}
	return printedToken(t, out.String())
}

// TestRefusedAdminToken: an ADMIN_TOKEN (or -admin-token) that no HTTP
// client could send as a Bearer token, or that is too short, stops the
// process before it touches the database: it exits non-zero with one line
// naming the setting and the rule, never the value, and the bootstrap
// token keeps working. A valid long value still replaces it, as before.
func TestRefusedAdminToken(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *config) { c.AdminToken = "" })
	boot := printedToken(t, e.startOutput)
	if !e.works(boot) { // lastUsedAt written now, not during the refusals
		t.Fatalf("the generated token does not work")
	}
	before := testenv.Snapshot(t, e.app.db)
	// good's first 20 characters are in every refused value: output
	// holding them shows the value.
	good := "odt_" + strings.Repeat("Ab9-._~+/", 4)
	for _, c := range []struct {
		name, value, why string
		flag             bool // -admin-token, not ADMIN_TOKEN
	}{
		{"TrailingNewline", good + "\n", "character 41 of 41 is a line feed", false},
		{"TrailingSpaceNewline", good + " \n", "character 41 of 42 is a space", false},
		{"TrailingSpaceFlag", good + " ", "character 41 of 41 is a space", true},
		{"TabInside", good[:20] + "\t" + good[20:], "character 21 of 41 is a tab", false},
		{"NonASCII", good[:20] + "é" + good[20:], "character 21 of 41 is a non-ASCII character", false},
		{"TooShort", good[:20], "got 20 characters", false},
		{"TooShortFlag", good[:31], "got 31 characters", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"-listen", "127.0.0.1:0", "-database", e.databaseURL}
			var env []string
			if c.flag {
				args = append(args, "-admin-token", c.value)
			} else {
				env = []string{"ADMIN_TOKEN=" + c.value}
			}
			p := launchProcess(t, c.name, args, env)
			waitUntil(t, "the process to exit", waitTimeout, func() bool {
				select {
				case <-p.done:
					return true
				default:
					return false
				}
			})
			out := p.out.String()
			if code := p.cmd.ProcessState.ExitCode(); code == 0 {
				t.Errorf("exit status 0; want non-zero")
			}
			const want = "outdial: ADMIN_TOKEN (-admin-token): want 32 to 512 characters of A-Z a-z 0-9 - . _ ~ + / then optional = padding"
			if !strings.HasPrefix(out, want) || !strings.Contains(out, c.why) || strings.Count(out, "\n") != 1 {
				t.Errorf("output %q; want one line %q… naming %q", out, want, c.why)
			}
			if strings.Contains(out, good[:20]) {
				t.Errorf("the output shows the value: %q", out)
			}
		})
	}
	if d := testenv.DiffSnapshots(before, testenv.Snapshot(t, e.app.db)); d != "" {
		t.Fatalf("a refused start changed the database:\n%s", d)
	}

	// A restart without the bad value: the bootstrap token still works.
	e2 := e.restart(t, "")
	requireOutput(t, e2.startOutput, []string{"Admin token: the one printed when this database was created"})
	if !e2.works(boot) {
		t.Fatalf("the bootstrap token stopped working after the refused starts")
	}

	// A valid long value, every allowed kind of character and padding, is
	// taken as given and replaces the bootstrap token, as before.
	valid := good + "=="
	p := launchProcess(t, "valid", []string{"-listen", "127.0.0.1:0", "-database", e.databaseURL}, []string{"ADMIN_TOKEN=" + valid})
	p.mustBeHealthy()
	if role := viewerRole(t, p.url(), valid); role != "ADMIN" {
		t.Fatalf("ADMIN_TOKEN %q: role %q, want ADMIN", valid, role)
	}
	requireOutput(t, p.out.String(), []string{`Admin token: the value of ADMIN_TOKEN (token name "bootstrap").`})
	if e2.works(boot) {
		t.Fatalf("the replaced bootstrap token still works")
	}
}
