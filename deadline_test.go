package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"outdial/models"
	"outdial/models/dbtest"
	"outdial/resolvers"
)

// Requests under locks held past their deadline: every one answers within
// its deadline (REQUEST_TIMEOUT), a command that could not finish says
// SERVICE_UNAVAILABLE and changed nothing, and requests that do not need
// what is locked are served. The fault tests (-tags faults) do the same
// on a MariaDB of their own, and kill, pause and starve it.

// requestTimeout sets the request deadline of a test server.
func requestTimeout(d time.Duration) func(*config) {
	return func(c *config) { c.RequestTimeout = d }
}

// timed is one request's answer and how long it took.
type timed struct {
	resp   gqlResponse
	header http.Header
	took   time.Duration
	err    error // the request itself failed (no answer)
}

// code returns the answer's first error code, "OK" without errors, or the
// transport error.
func (r timed) code() string {
	switch {
	case r.err != nil:
		return "no answer: " + r.err.Error()
	case len(r.resp.Errors) == 0:
		return "OK"
	}
	return r.resp.code()
}

// post sends a GraphQL request as the admin under ctx, from any goroutine
// (it never fails the test), and times it.
func post(ctx context.Context, url, query string, vars map[string]any) timed {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/graphql", bytes.NewReader(body))
	if err != nil {
		return timed{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return timed{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	out := timed{took: time.Since(start), err: err, resp: gqlResponse{Status: resp.StatusCode}, header: resp.Header}
	if err == nil {
		if err := json.Unmarshal(raw, &out.resp); err != nil {
			out.err = fmt.Errorf("answer is not JSON (HTTP %d): %s", resp.StatusCode, raw)
		}
	}
	return out
}

// concurrently runs the requests of fns at once and returns their answers
// in the same order.
func concurrently(fns ...func() timed) []timed {
	out := make([]timed, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { out[i] = fn() })
	}
	wg.Wait()
	return out
}

// holdWriteLock locks, from a connection of its own, what upgrading the
// number e164 must write: on MySQL the number's row (SELECT … FOR
// UPDATE), on SQLite the database's write lock (BEGIN IMMEDIATE). The
// returned func releases it.
func holdWriteLock(t *testing.T, e *testEnv, e164 string) (release func()) {
	t.Helper()
	db, err := models.Open(e.databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	tx := db.Begin()
	if tx.Error != nil {
		t.Fatal(tx.Error)
	}
	lock := "UPDATE phone_numbers SET updated_at = updated_at WHERE e164 = ?"
	if db.Dialect == models.MySQL {
		lock = "SELECT id FROM phone_numbers WHERE e164 = ? FOR UPDATE"
	}
	if err := tx.Exec(lock, e164).Error; err != nil {
		t.Fatalf("hold the lock: %v", err)
	}
	var once sync.Once
	release = func() { once.Do(func() { tx.Rollback() }) }
	t.Cleanup(release)
	return release
}

const viewerQuery = `{ viewer { role } }`

// TestCommandUnderALockAnswersWithinTheDeadline holds a lock on what
// upgradeCallingPlan writes until every request has answered: the upgrade
// answers SERVICE_UNAVAILABLE within the deadline and is not committed, a
// command that needs nothing locked is told truly whether it committed,
// and a query is served meanwhile (on MySQL; on SQLite, whose one
// connection serves everything, within its deadline). Once the lock is
// gone, the upgrade succeeds.
func TestCommandUnderALockAnswersWithinTheDeadline(t *testing.T) {
	t.Parallel()
	const deadline = 3 * time.Second
	e := setup(t, requestTimeout(deadline))
	number := e.addNumberID("+1 425 555 0100", "RECEIVE_CALLS")
	release := holdWriteLock(t, e, "+14255550100")
	ctx := context.Background()
	got := concurrently(
		func() timed {
			return post(ctx, e.srv.URL, upgrade, map[string]any{"id": number, "caps": []string{"MAKE_CALLS"}})
		},
		func() timed {
			return post(ctx, e.srv.URL, createQueue, map[string]any{"name": "Unlocked", "channel": "VOICE"})
		},
		func() timed { return post(ctx, e.srv.URL, viewerQuery, nil) },
	)
	release()
	upgraded, queued, viewer := got[0], got[1], got[2]
	t.Logf("under the lock (deadline %s): upgradeCallingPlan %s after %s, createQueue %s after %s, viewer %s after %s",
		deadline, upgraded.code(), upgraded.took.Round(time.Millisecond), queued.code(), queued.took.Round(time.Millisecond),
		viewer.code(), viewer.took.Round(time.Millisecond))

	const slack = 2 * time.Second // scheduling on a loaded machine
	if upgraded.code() != resolvers.CodeServiceUnavailable || upgraded.resp.Status != http.StatusOK {
		t.Errorf("upgradeCallingPlan under the lock: HTTP %d %s %+v, want 200 with SERVICE_UNAVAILABLE",
			upgraded.resp.Status, upgraded.code(), upgraded.resp.Errors)
	}
	for _, r := range []timed{upgraded, queued, viewer} {
		if r.took > deadline+slack {
			t.Errorf("a request took %s, past its deadline %s: %s", r.took, deadline, r.code())
		}
	}
	// On SQLite one connection serves everything: a query may wait behind
	// commands that wait for the write lock, up to its deadline.
	if viewer.code() != "OK" && (e.app.db.Dialect == models.MySQL || viewer.code() != resolvers.CodeServiceUnavailable) {
		t.Errorf("viewer under the lock: %s, want OK", viewer.code())
	}
	if c := queued.code(); c != "OK" && c != resolvers.CodeServiceUnavailable {
		t.Errorf("createQueue under the lock: %s, want OK or SERVICE_UNAVAILABLE", c)
	}

	// Nothing committed that its caller was not told of.
	if _, n := e.auditLog(map[string]any{"action": "upgradeCallingPlan"}); n != 0 {
		t.Errorf("%d upgradeCallingPlan audit entries after SERVICE_UNAVAILABLE, want 0", n)
	}
	var q struct{ Queues struct{ TotalCount int } }
	e.query(`{ queues(filter: {search: "Unlocked"}) { totalCount } }`, nil, &q)
	if want := map[bool]int{true: 1, false: 0}[queued.code() == "OK"]; q.Queues.TotalCount != want {
		t.Errorf("createQueue answered %s and %d queues exist, want %d", queued.code(), q.Queues.TotalCount, want)
	}
	var up struct {
		PhoneNumber struct{ CallingPlan []string }
	}
	e.mustMutate("upgradeCallingPlan", upgrade, map[string]any{"id": number, "caps": []string{"MAKE_CALLS"}}, &up)
	if strings.Join(up.PhoneNumber.CallingPlan, ",") != "RECEIVE_CALLS,MAKE_CALLS" {
		t.Errorf("plan after the lock = %v", up.PhoneNumber.CallingPlan)
	}
}

// TestTableLockLeavesOtherRequestsServed holds LOCK TABLES
// webhook_deliveries WRITE (MySQL) for twice the request deadline while 40
// queries read that table and a mutation writes a delivery to it: each
// answers SERVICE_UNAVAILABLE within its deadline, the mutation commits
// nothing, and meanwhile { viewer { role } } and /readyz (the database is
// up) are answered at once: the 32 connections of the requests do not
// stay taken, and /readyz has its own.
func TestTableLockLeavesOtherRequestsServed(t *testing.T) {
	if dbtest.MySQLURL() == "" {
		t.Skip("TEST_MYSQL_URL is not set: LOCK TABLES is MySQL's")
	}
	t.Parallel()
	const deadline = 4 * time.Second
	e := setup(t, requestTimeout(deadline), allowLoopback)
	agent := e.createAgentID("Aiko Tanaka", "aiko@example.com", true)
	e.createHook("", newHookReceiver(t, nil), nil)
	before := e.ability(agent).Version

	conn := lockTables(t, e.databaseURL, "webhook_deliveries WRITE")
	ctx := context.Background()
	reads := make([]func() timed, 40)
	for i := range reads {
		reads[i] = func() timed { return post(ctx, e.srv.URL, `{ webhookDeliveries(first: 1) { totalCount } }`, nil) }
	}
	var viewer, ready timed
	var change []timed
	var wg sync.WaitGroup
	wg.Go(func() {
		change = concurrently(append(reads, func() timed {
			return post(ctx, e.srv.URL, updateAgentM, map[string]any{"id": agent, "unified": false})
		})...)
	})
	wg.Go(func() {
		// Once the 40 reads hold connections.
		waitUntil(t, "requests waiting for the table", waitTimeout, func() bool { return tableWaiters(t, e.databaseURL) >= 20 })
		viewer = post(ctx, e.srv.URL, viewerQuery, nil)
		start := time.Now()
		status, body := getStatus(e.srv.URL + "/readyz")
		ready = timed{took: time.Since(start), resp: gqlResponse{Status: status}}
		if status != http.StatusOK {
			ready.err = fmt.Errorf("/readyz %d: %s", status, body)
		}
	})
	wg.Wait()
	unlock(t, conn)

	codes := map[string]int{}
	var slowest time.Duration
	for _, r := range change {
		codes[r.code()]++
		slowest = max(slowest, r.took)
	}
	t.Logf("under LOCK TABLES (deadline %s): 40 reads and 1 write answered %v, the slowest after %s; viewer %s after %s; /readyz %d after %s",
		deadline, codes, slowest.Round(time.Millisecond), viewer.code(), viewer.took.Round(time.Millisecond),
		ready.resp.Status, ready.took.Round(time.Millisecond))
	if codes[resolvers.CodeServiceUnavailable] != len(change) {
		t.Errorf("requests on the locked table answered %v, want all %d SERVICE_UNAVAILABLE", codes, len(change))
	}
	if slowest > deadline+2*time.Second {
		t.Errorf("a request on the locked table took %s, past its deadline %s", slowest, deadline)
	}
	if viewer.code() != "OK" || viewer.took > deadline {
		t.Errorf("viewer under the table lock: %s after %s, want OK within the deadline", viewer.code(), viewer.took)
	}
	if ready.err != nil || ready.took > readyTimeout {
		t.Errorf("/readyz under the table lock: %v after %s, want 200", ready.err, ready.took)
	}
	if v := e.ability(agent).Version; v != before {
		t.Errorf("the refused updateAgent changed the ability: version %d, was %d", v, before)
	}
}

// lockTables runs LOCK TABLES tables on a connection of its own to the
// MySQL database url and returns the connection.
func lockTables(t *testing.T, url, tables string) *sql.Conn {
	t.Helper()
	dsn, err := models.MySQLDSN(url)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if _, err := conn.ExecContext(context.Background(), "LOCK TABLES "+tables); err != nil {
		t.Fatalf("LOCK TABLES %s: %v", tables, err)
	}
	return conn
}

// unlock ends LOCK TABLES on conn.
func unlock(t *testing.T, conn *sql.Conn) {
	t.Helper()
	if _, err := conn.ExecContext(context.Background(), "UNLOCK TABLES"); err != nil {
		t.Fatalf("UNLOCK TABLES: %v", err)
	}
}

// tableWaiters counts the connections to the MySQL database of url that
// wait for a table's metadata lock.
func tableWaiters(t *testing.T, url string) int {
	t.Helper()
	dsn, err := models.MySQLDSN(url)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	err = db.QueryRow("SELECT COUNT(*) FROM information_schema.processlist WHERE db = DATABASE() AND state LIKE 'Waiting for table%'").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// getStatus GETs url and returns its status and body; 0 when no answer.
func getStatus(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestClientGoneIsNotAnError: a client that gives up on a mutation waiting
// for a lock is logged at INFO, not as an error, and the mutation is not
// committed.
func TestClientGoneIsNotAnError(t *testing.T) {
	t.Parallel()
	logs := &captured{next: slog.NewTextHandler(testWriter{t}, nil)}
	e := startLogged(t, logs, nil, requestTimeout(10*time.Second))
	number := e.addNumberID("+1 425 555 0100", "RECEIVE_CALLS")
	release := holdWriteLock(t, e, "+14255550100")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan timed, 1)
	go func() {
		done <- post(ctx, e.srv.URL, upgrade, map[string]any{"id": number, "caps": []string{"MAKE_CALLS"}})
	}()
	waitUntil(t, "the upgrade to run", waitTimeout, func() bool { return logs.has(slog.LevelWarn, "command retried") })
	cancel()
	if r := <-done; r.err == nil {
		t.Fatalf("the canceled request was answered: %s", r.code())
	}
	waitUntil(t, "the server to notice the client left", waitTimeout, func() bool {
		return logs.has(slog.LevelInfo, "request not served: canceled")
	})
	release()
	if errs := logs.atLeast(slog.LevelError); len(errs) > 0 {
		t.Errorf("a client that went away was logged as an error: %q", errs)
	}
	if _, n := e.auditLog(map[string]any{"action": "upgradeCallingPlan"}); n != 0 {
		t.Errorf("the canceled upgrade committed (%d audit entries)", n)
	}
}

// captured is a slog.Handler that keeps the level and message of every
// record and passes it on to next.
type captured struct {
	next slog.Handler
	mu   sync.Mutex
	recs []capturedRecord
}

type capturedRecord struct {
	level slog.Level
	msg   string
}

func (c *captured) Enabled(context.Context, slog.Level) bool { return true }

func (c *captured) Handle(ctx context.Context, r slog.Record) error {
	c.mu.Lock()
	c.recs = append(c.recs, capturedRecord{r.Level, r.Message})
	c.mu.Unlock()
	return c.next.Handle(ctx, r)
}

func (c *captured) WithAttrs(as []slog.Attr) slog.Handler {
	return &capturedView{c, c.next.WithAttrs(as)}
}

func (c *captured) WithGroup(name string) slog.Handler {
	return &capturedView{c, c.next.WithGroup(name)}
}

// capturedView is a captured handler with attributes or a group.
type capturedView struct {
	root *captured
	next slog.Handler
}

func (v *capturedView) Enabled(context.Context, slog.Level) bool { return true }

func (v *capturedView) Handle(ctx context.Context, r slog.Record) error {
	v.root.mu.Lock()
	v.root.recs = append(v.root.recs, capturedRecord{r.Level, r.Message})
	v.root.mu.Unlock()
	return v.next.Handle(ctx, r)
}

func (v *capturedView) WithAttrs(as []slog.Attr) slog.Handler {
	return &capturedView{v.root, v.next.WithAttrs(as)}
}

func (v *capturedView) WithGroup(name string) slog.Handler {
	return &capturedView{v.root, v.next.WithGroup(name)}
}

// has reports whether a record of level starting with msg was logged.
func (c *captured) has(level slog.Level, msg string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.recs {
		if r.level == level && strings.HasPrefix(r.msg, msg) {
			return true
		}
	}
	return false
}

// atLeast returns the messages logged at level or above.
func (c *captured) atLeast(level slog.Level) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, r := range c.recs {
		if r.level >= level {
			out = append(out, r.msg)
		}
	}
	return out
}

// TestRequestTimeoutSetting: REQUEST_TIMEOUT and -request-timeout set the
// deadline (the flag wins), 30 s by default, and a value outside 1s..45s
// is refused with a message naming it.
func TestRequestTimeoutSetting(t *testing.T) {
	cases := []struct {
		env  string
		args []string
		want time.Duration
		err  string
	}{
		{"", nil, 30 * time.Second, ""},
		{"5s", nil, 5 * time.Second, ""},
		{"5s", []string{"-request-timeout", "12s"}, 12 * time.Second, ""},
		{"500ms", nil, 0, `"500ms"`},
		{"", []string{"-request-timeout", "1m"}, 0, `"1m"`},
		{"soon", nil, 0, `"soon"`},
	}
	for i, c := range cases {
		getenv := func(k string) string {
			if k == "REQUEST_TIMEOUT" {
				return c.env
			}
			return ""
		}
		cfg, err := parseConfig(c.args, getenv, io.Discard)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("#%d: error %v, want one naming %s", i, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("#%d: %v", i, err)
		case c.err == "" && cfg.RequestTimeout != c.want:
			t.Errorf("#%d: RequestTimeout %s, want %s", i, cfg.RequestTimeout, c.want)
		}
	}
}
