// Package testenv is the shared test environment of Outdial's API and
// whole-program tests: the real server (internal/server: the routes, the
// webhook dispatcher, the subscription feed and the pruner) on a new
// database of its own, served by httptest.NewServer and reached over HTTP
// like any client would.
//
// The database is a temporary SQLite file, or a new database on the
// MariaDB/MySQL server of TEST_MYSQL_URL when it is set (models/dbtest).
// Every server runs the refresh rule's oracle (calling.WithAbilityCheck):
// after every command, every agent's ability is derived again from the
// configuration and compared with the stored one; a difference fails the
// test that ran the command.
//
// Use:
//
//	e := testenv.Setup(t)                       // or Setup(t, testenv.AllowLoopback, ...)
//	var data struct{ Viewer struct{ Role string } }
//	e.Query(`{ viewer { role } }`, nil, &data)  // as the admin; fails the test on any error
//	errs := e.Mutate("createQueue", q, vars, &payload)
//	e.Refused("NAME_TAKEN", "createQueue", q, vars) // refused, database unchanged
//
// Webhook receivers are hooktest.Receiver (internal/hooktest).
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"outdial/calling"
	"outdial/internal/hooktest"
	"outdial/internal/server"
	"outdial/models"
	"outdial/models/dbtest"
)

// AdminToken is the ADMIN_TOKEN of test servers: long enough for the
// server's rule (at least 32 characters), as the process tests pass it
// with -admin-token.
const AdminToken = "odt_test-admin-token-of-the-test-servers"

// WaitTimeout bounds every wait of the tests: generous, because the
// machines are small and shared.
const WaitTimeout = hooktest.WaitTimeout

// Env is a running server on a fresh database, reached over HTTP.
type Env struct {
	T   testing.TB
	App *server.App
	Srv *httptest.Server
	// Admin is the admin token (AdminToken unless an option changed it).
	Admin string
	// StopWorkers stops the dispatcher, the feed and the pruner, as a
	// shutdown does once HTTP has drained, and waits for them.
	StopWorkers func()
	// DatabaseURL is the database it serves.
	DatabaseURL string
	// StartOutput is what the server printed at start (its admin token).
	StartOutput string
	// counters are the statement counters of requests in flight, by the
	// value of their countHeader (DoCounted).
	counters *sync.Map
}

// Option changes the configuration of a test server.
type Option = func(*server.Config)

// AllowLoopback lets webhooks reach test receivers on 127.0.0.1.
func AllowLoopback(c *server.Config) {
	c.WebhookAllowedCIDRs = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
}

// Setup starts a server (the real routes, dispatcher included) on a new
// database: SQLite, or MySQL when TEST_MYSQL_URL is set. It stops when t
// ends.
func Setup(t testing.TB, opts ...Option) *Env {
	t.Helper()
	return Start(t, nil, opts...)
}

// SetupCounted is Setup with statement counting on the server's database
// (its request pool and its background pool), for DoCounted. It is
// installed before the webhook workers start: gorm's callbacks may not be
// registered while another goroutine runs statements (the race detector
// says so).
func SetupCounted(t testing.TB, opts ...Option) *Env {
	t.Helper()
	return Start(t, func(a *server.App) { dbtest.CountStatements(t, a.DB, a.BG) }, opts...)
}

// Start is Setup with a hook that runs on the app before anything else
// touches its database (no worker runs yet).
func Start(t testing.TB, before func(*server.App), opts ...Option) *Env {
	t.Helper()
	return StartLogged(t, slog.NewTextHandler(Writer{t}, &slog.HandlerOptions{Level: slog.LevelWarn}), before, opts...)
}

// StartLogged is Start with the server's log going to h.
func StartLogged(t testing.TB, h slog.Handler, before func(*server.App), opts ...Option) *Env {
	t.Helper()
	cfg := server.Config{DatabaseURL: dbtest.URL(t), AdminToken: AdminToken,
		WebhookRetrySchedule: []time.Duration{time.Second}, WebhookTimeout: 5 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	cfg.ServiceOptions = append(cfg.ServiceOptions, AbilityOracle(t))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := server.New(ctx, cfg, slog.New(h))
	if err != nil {
		cancel()
		t.Fatalf("start app: %v", err)
	}
	if before != nil {
		before(a)
	}
	var out bytes.Buffer
	if _, err := a.Bootstrap(ctx, cfg, &out); err != nil {
		cancel()
		a.Close()
		t.Fatalf("bootstrap: %v", err)
	}
	done, stop := a.StartWorkers(ctx)
	counters := &sync.Map{}
	srv := httptest.NewServer(countRequests(counters, a.Handler()))
	t.Cleanup(func() {
		srv.Close()
		stop()
		cancel()
		<-done
		a.Close()
	})
	return &Env{T: t, App: a, Srv: srv, Admin: cfg.AdminToken, StopWorkers: func() { stop(); <-done }, DatabaseURL: cfg.DatabaseURL,
		StartOutput: out.String(), counters: counters}
}

// As returns a copy of e that reports to t (a subtest).
func (e *Env) As(t testing.TB) *Env {
	c := *e
	c.T = t
	return &c
}

// AbilityOracle is the refresh rule's oracle for a test server: after
// every command, before it commits, every agent's ability is derived again
// from the configuration and compared with the stored one and its version;
// a difference fails t.
func AbilityOracle(t testing.TB) calling.Option {
	return calling.WithAbilityCheck(func(action string, err error) {
		t.Errorf("refresh oracle: after %s, the stored abilities are not those of the configuration:\n%v", action, err)
	})
}

// Writer sends log lines to the test log.
type Writer struct{ T testing.TB }

func (w Writer) Write(p []byte) (int, error) {
	w.T.Helper()
	w.T.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// WaitUntil polls cond until it holds, failing tb after within.
func WaitUntil(tb testing.TB, what string, within time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// countHeader names the dbtest.Counter, in Env.counters, that the
// statements of a test request count on (DoCounted).
const countHeader = "X-Test-Statement-Counter"

// counterSeq numbers the counters of DoCounted.
var counterSeq atomic.Int64

// countRequests is h, except that a request naming a counter of counters
// in countHeader runs with that counter in its context: its statements,
// and no others, count on it.
func countRequests(counters *sync.Map, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := counters.Load(r.Header.Get(countHeader)); ok {
			r = r.WithContext(c.(*dbtest.Counter).Context(r.Context()))
		}
		h.ServeHTTP(w, r)
	})
}

// Response is a GraphQL answer with its HTTP status.
type Response struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
}

// Error is an entry of a GraphQL answer's errors.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code returns the extensions.code of the first error, or "".
func (r Response) Code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// HasData reports whether a response carries data other than null.
func (r Response) HasData() bool {
	return len(r.Data) > 0 && string(r.Data) != "null"
}

// Do posts a GraphQL request with token (none when empty).
func (e *Env) Do(token, query string, vars map[string]any) Response {
	e.T.Helper()
	return e.post(token, query, vars, "")
}

// DoCounted is Do, and returns the number of SQL statements the server
// ran for this request alone (those of other requests and of background
// work are not counted). The env must come from SetupCounted.
func (e *Env) DoCounted(token, query string, vars map[string]any) (Response, int64) {
	e.T.Helper()
	id := fmt.Sprint(counterSeq.Add(1))
	c := &dbtest.Counter{}
	e.counters.Store(id, c)
	defer e.counters.Delete(id)
	r := e.post(token, query, vars, id)
	return r, c.Count()
}

// post posts a GraphQL request with token (none when empty), its
// statements counted on counter counterID (none when empty).
func (e *Env) post(token, query string, vars map[string]any, counterID string) Response {
	e.T.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		e.T.Fatalf("encode request: %v", err)
	}
	req, err := http.NewRequest(http.MethodPost, e.Srv.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		e.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if counterID != "" {
		req.Header.Set(countHeader, counterID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatalf("POST /graphql: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatalf("read answer: %v", err)
	}
	out := Response{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, &out); err != nil {
		e.T.Fatalf("answer is not JSON (%d): %s", resp.StatusCode, raw)
	}
	return out
}

// Query runs a request as the admin that must succeed without errors and
// decodes its data into out (when not nil).
func (e *Env) Query(query string, vars map[string]any, out any) {
	e.T.Helper()
	e.QueryAs(e.Admin, query, vars, out)
}

// QueryCounted is Query, and returns the number of SQL statements the
// server ran for this request alone (DoCounted).
func (e *Env) QueryCounted(query string, vars map[string]any, out any) int64 {
	e.T.Helper()
	r, n := e.DoCounted(e.Admin, query, vars)
	e.Decode(r, query, out)
	return n
}

// QueryAs is Query with another token.
func (e *Env) QueryAs(token, query string, vars map[string]any, out any) {
	e.T.Helper()
	e.Decode(e.Do(token, query, vars), query, out)
}

// Decode fails the test unless r is a success without errors, and
// decodes its data into out (when not nil).
func (e *Env) Decode(r Response, query string, out any) {
	e.T.Helper()
	if len(r.Errors) > 0 || r.Status != http.StatusOK {
		e.T.Fatalf("request failed (HTTP %d): %+v\nquery: %s", r.Status, r.Errors, query)
	}
	if out != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			e.T.Fatalf("decode data %s: %v", r.Data, err)
		}
	}
}

// UserError is a payload's userErrors entry.
type UserError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code"`
}

// Mutate runs a mutation whose payload is data.<field>, decodes the
// payload into out and returns its userErrors.
func (e *Env) Mutate(field, query string, vars map[string]any, out any) []UserError {
	e.T.Helper()
	return e.MutateAs(e.Admin, field, query, vars, out)
}

// MutateAs is Mutate with another token.
func (e *Env) MutateAs(token, field, query string, vars map[string]any, out any) []UserError {
	e.T.Helper()
	var data map[string]json.RawMessage
	e.QueryAs(token, query, vars, &data)
	var payload struct {
		UserErrors []UserError `json:"userErrors"`
	}
	if err := json.Unmarshal(data[field], &payload); err != nil {
		e.T.Fatalf("decode %s payload %s: %v", field, data[field], err)
	}
	if out != nil {
		if err := json.Unmarshal(data[field], out); err != nil {
			e.T.Fatalf("decode %s payload: %v", field, err)
		}
	}
	return payload.UserErrors
}

// MustMutate is Mutate for a mutation that must succeed.
func (e *Env) MustMutate(field, query string, vars map[string]any, out any) {
	e.T.Helper()
	if errs := e.Mutate(field, query, vars, out); len(errs) > 0 {
		e.T.Fatalf("%s refused: %+v", field, errs)
	}
}

// Refused runs a mutation that must be refused with code, and checks that
// the database is exactly as before.
func (e *Env) Refused(code, field, query string, vars map[string]any) UserError {
	e.T.Helper()
	return e.RefusedAs(e.Admin, code, field, query, vars)
}

// RefusedAs is Refused with another token.
func (e *Env) RefusedAs(token, code, field, query string, vars map[string]any) UserError {
	e.T.Helper()
	before := Snapshot(e.T, e.App.DB)
	errs := e.MutateAs(token, field, query, vars, nil)
	if len(errs) == 0 {
		e.T.Fatalf("%s succeeded; want %s", field, code)
	}
	if errs[0].Code != code {
		e.T.Fatalf("%s refused with %+v; want %s", field, errs, code)
	}
	if after := Snapshot(e.T, e.App.DB); !reflect.DeepEqual(before, after) {
		e.T.Fatalf("%s was refused (%s) but changed the database:\n%s", field, code, DiffSnapshots(before, after))
	}
	return errs[0]
}

// Rejected sends a request with token that must fail with a top-level
// error of code (and HTTP status, when status is not 0) and checks that the
// database is exactly as before.
func (e *Env) Rejected(token, code string, status int, query string, vars map[string]any) Response {
	e.T.Helper()
	before := Snapshot(e.T, e.App.DB)
	r := e.Do(token, query, vars)
	if r.Code() != code {
		e.T.Fatalf("answer %d %+v; want a top-level %s error\nquery: %s", r.Status, r.Errors, code, query)
	}
	if status != 0 && r.Status != status {
		e.T.Fatalf("HTTP status %d, want %d (%+v)", r.Status, status, r.Errors)
	}
	if after := Snapshot(e.T, e.App.DB); !reflect.DeepEqual(before, after) {
		e.T.Fatalf("request rejected with %s but the database changed:\n%s", code, DiffSnapshots(before, after))
	}
	return r
}

// Get sends a GET request (with token, unless empty) and returns status
// and body.
func (e *Env) Get(path string, token string) (int, []byte) {
	e.T.Helper()
	req, err := http.NewRequest(http.MethodGet, e.Srv.URL+path, nil)
	if err != nil {
		e.T.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, body
}

// SnapshotTables are the tables a refused mutation must leave untouched
// (dbtest.SnapshotTables).
var SnapshotTables = dbtest.SnapshotTables

// Snapshot reads every row of every table of SnapshotTables, as text, in
// a stable order (dbtest.Snapshot).
func Snapshot(t testing.TB, db *models.DB) map[string][]string { return dbtest.Snapshot(t, db) }

// DiffSnapshots says which tables differ between two snapshots
// (dbtest.DiffSnapshots).
func DiffSnapshots(a, b map[string][]string) string { return dbtest.DiffSnapshots(a, b) }
