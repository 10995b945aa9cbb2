package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"outdial/calling"
	"outdial/models"
	"outdial/models/dbtest"
)

// testAdminToken is the ADMIN_TOKEN of test servers.
const testAdminToken = "odt_test-admin-token"

// testEnv is a running server on a fresh database, reached over HTTP like
// any client would.
type testEnv struct {
	t     testing.TB
	app   *app
	srv   *httptest.Server
	admin string
	// stopWorkers stops the dispatcher and the feed, as a shutdown does
	// once HTTP has drained.
	stopWorkers func()
	// databaseURL is the database it serves.
	databaseURL string
	// startOutput is what the server printed at start (its admin token).
	startOutput string
	// counters are the statement counters of requests in flight, by the
	// value of their countHeader (doCounted).
	counters *sync.Map
}

// setup starts a server (the real routes, dispatcher included) on a new
// database: SQLite, or MySQL when TEST_MYSQL_URL is set.
func setup(t testing.TB, opts ...func(*config)) *testEnv {
	t.Helper()
	return start(t, nil, opts...)
}

// start is setup with a hook that runs on the app before anything else
// touches its database (no worker runs yet).
func start(t testing.TB, before func(*app), opts ...func(*config)) *testEnv {
	t.Helper()
	return startLogged(t, slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}), before, opts...)
}

// startLogged is start with the server's log going to h.
func startLogged(t testing.TB, h slog.Handler, before func(*app), opts ...func(*config)) *testEnv {
	t.Helper()
	cfg := config{DatabaseURL: dbtest.URL(t), AdminToken: testAdminToken,
		WebhookRetrySchedule: []time.Duration{time.Second}, WebhookTimeout: 5 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	cfg.ServiceOptions = append(cfg.ServiceOptions, abilityOracle(t))
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(h)
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		t.Fatalf("start app: %v", err)
	}
	if before != nil {
		before(a)
	}
	var out bytes.Buffer
	if _, err := a.bootstrap(ctx, cfg, &out); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	done, stop := a.startWorkers(ctx)
	counters := &sync.Map{}
	srv := httptest.NewServer(countRequests(counters, a.routes()))
	t.Cleanup(func() {
		srv.Close()
		stop()
		cancel()
		<-done
		a.close()
	})
	return &testEnv{t: t, app: a, srv: srv, admin: cfg.AdminToken, stopWorkers: func() { stop(); <-done }, databaseURL: cfg.DatabaseURL,
		startOutput: out.String(), counters: counters}
}

// countHeader names the dbtest.Counter, in testEnv.counters, that the
// statements of a test request count on (doCounted).
const countHeader = "X-Test-Statement-Counter"

// counterSeq numbers the counters of doCounted.
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

// abilityOracle is the refresh rule's oracle for a test server: after
// every command, before it commits, every agent's ability is derived again
// from the configuration and compared with the stored one and its version;
// a difference fails the test that ran the command.
func abilityOracle(t testing.TB) calling.Option {
	return calling.WithAbilityCheck(func(action string, err error) {
		t.Errorf("refresh oracle: after %s, the stored abilities are not those of the configuration:\n%v", action, err)
	})
}

// testWriter sends log lines to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// gqlResponse is a GraphQL answer with its HTTP status.
type gqlResponse struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// code returns the extensions.code of the first error, or "".
func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// do posts a GraphQL request with token (none when empty).
func (e *testEnv) do(token, query string, vars map[string]any) gqlResponse {
	e.t.Helper()
	return e.postCounted(token, query, vars, "")
}

// doCounted is do, and returns the number of SQL statements the server
// ran for this request alone (those of other requests and of background
// work are not counted). The env must come from setupCounted.
func (e *testEnv) doCounted(token, query string, vars map[string]any) (gqlResponse, int64) {
	e.t.Helper()
	id := fmt.Sprint(counterSeq.Add(1))
	c := &dbtest.Counter{}
	e.counters.Store(id, c)
	defer e.counters.Delete(id)
	r := e.postCounted(token, query, vars, id)
	return r, c.Count()
}

// postCounted posts a GraphQL request with token (none when empty), its
// statements counted on counter counterID (none when empty).
func (e *testEnv) postCounted(token, query string, vars map[string]any, counterID string) gqlResponse {
	e.t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		e.t.Fatalf("encode request: %v", err)
	}
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
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
		e.t.Fatalf("POST /graphql: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read answer: %v", err)
	}
	out := gqlResponse{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, &out); err != nil {
		e.t.Fatalf("answer is not JSON (%d): %s", resp.StatusCode, raw)
	}
	return out
}

// query runs a request as the admin that must succeed without errors and
// decodes its data into out (when not nil).
func (e *testEnv) query(query string, vars map[string]any, out any) {
	e.t.Helper()
	e.queryAs(e.admin, query, vars, out)
}

// queryCounted is query, and returns the number of SQL statements the
// server ran for this request alone (doCounted).
func (e *testEnv) queryCounted(query string, vars map[string]any, out any) int64 {
	e.t.Helper()
	r, n := e.doCounted(e.admin, query, vars)
	e.decode(r, query, out)
	return n
}

// queryAs is query with another token.
func (e *testEnv) queryAs(token, query string, vars map[string]any, out any) {
	e.t.Helper()
	e.decode(e.do(token, query, vars), query, out)
}

// decode fails the test unless r is a success without errors, and
// decodes its data into out (when not nil).
func (e *testEnv) decode(r gqlResponse, query string, out any) {
	e.t.Helper()
	if len(r.Errors) > 0 || r.Status != http.StatusOK {
		e.t.Fatalf("request failed (HTTP %d): %+v\nquery: %s", r.Status, r.Errors, query)
	}
	if out != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			e.t.Fatalf("decode data %s: %v", r.Data, err)
		}
	}
}

// userError is a payload's userErrors entry.
type userError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code"`
}

// mutate runs a mutation whose payload is data.<field>, decodes the payload
// into out and returns its userErrors.
func (e *testEnv) mutate(field, query string, vars map[string]any, out any) []userError {
	e.t.Helper()
	return e.mutateAs(e.admin, field, query, vars, out)
}

// mutateAs is mutate with another token.
func (e *testEnv) mutateAs(token, field, query string, vars map[string]any, out any) []userError {
	e.t.Helper()
	var data map[string]json.RawMessage
	e.queryAs(token, query, vars, &data)
	var payload struct {
		UserErrors []userError `json:"userErrors"`
	}
	if err := json.Unmarshal(data[field], &payload); err != nil {
		e.t.Fatalf("decode %s payload %s: %v", field, data[field], err)
	}
	if out != nil {
		if err := json.Unmarshal(data[field], out); err != nil {
			e.t.Fatalf("decode %s payload: %v", field, err)
		}
	}
	return payload.UserErrors
}

// mustMutate is mutate for a mutation that must succeed.
func (e *testEnv) mustMutate(field, query string, vars map[string]any, out any) {
	e.t.Helper()
	if errs := e.mutate(field, query, vars, out); len(errs) > 0 {
		e.t.Fatalf("%s refused: %+v", field, errs)
	}
}

// refused runs a mutation that must be refused with code, and checks that
// the database is exactly as before.
func (e *testEnv) refused(code, field, query string, vars map[string]any) userError {
	e.t.Helper()
	before := snapshot(e.t, e.app.db)
	errs := e.mutate(field, query, vars, nil)
	if len(errs) == 0 {
		e.t.Fatalf("%s succeeded; want %s", field, code)
	}
	if errs[0].Code != code {
		e.t.Fatalf("%s refused with %+v; want %s", field, errs, code)
	}
	if after := snapshot(e.t, e.app.db); !reflect.DeepEqual(before, after) {
		e.t.Fatalf("%s was refused (%s) but changed the database:\n%s", field, code, diffSnapshots(before, after))
	}
	return errs[0]
}

// snapshotTables are the tables a refused mutation must leave untouched:
// all of them but api_tokens, whose last_used_at records reads.
var snapshotTables = []string{
	"phone_numbers", "queues", "capacity_profiles", "outbound_profiles", "outbound_profile_numbers",
	"agents", "queue_members", "capacity_profile_members", "calling_abilities", "agent_blockers",
	"agent_warnings", "calling_ability_versions",
	"config_revisions", "audit_entries", "webhook_endpoints", "webhook_endpoint_agents",
	"webhook_events", "webhook_deliveries", "webhook_attempts",
}

// snapshot reads every row of every table, as text, in a stable order.
func snapshot(t testing.TB, db *models.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range snapshotTables {
		rows, err := db.Raw("SELECT * FROM " + table).Rows()
		if err != nil {
			t.Fatalf("snapshot %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("snapshot %s: %v", table, err)
			}
			out[table] = append(out[table], fmt.Sprintf("%v", deref(vals)))
		}
		rows.Close()
		sort.Strings(out[table])
	}
	return out
}

func deref(vals []any) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		if b, ok := v.([]byte); ok {
			v = string(b)
		}
		out[i] = fmt.Sprint(v)
	}
	return out
}

func diffSnapshots(a, b map[string][]string) string {
	var sb strings.Builder
	for _, table := range snapshotTables {
		if !reflect.DeepEqual(a[table], b[table]) {
			fmt.Fprintf(&sb, "%s: %d rows before, %d after\n", table, len(a[table]), len(b[table]))
		}
	}
	return sb.String()
}
