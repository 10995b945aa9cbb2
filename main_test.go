package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"outdial/calling"
	"outdial/internal/server"
	"outdial/internal/testenv"
	"outdial/models"
	"outdial/webhooks"
)

// The root package's tests run on the shared test environment
// (internal/testenv); the names below are theirs in this package.

// testAdminToken is the ADMIN_TOKEN of test servers.
const testAdminToken = testenv.AdminToken

// Timeouts of the server that the tests wait beyond.
const (
	shutdownTimeout = server.ShutdownTimeout
	readyTimeout    = server.ReadyTimeout
)

// app is a server.App with its parts under the names of these tests.
type app struct {
	*server.App
	db, bg *models.DB
	svc    *calling.Service
	feed   *webhooks.Feed
	log    *slog.Logger
}

// wrapApp names the parts of a.
func wrapApp(a *server.App) *app {
	return &app{App: a, db: a.DB, bg: a.BG, svc: a.Svc, feed: a.Feed, log: a.Log}
}

// newApp is server.New.
func newApp(ctx context.Context, cfg config, log *slog.Logger) (*app, error) {
	a, err := server.New(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return wrapApp(a), nil
}

func (a *app) routes() http.Handler { return a.Handler() }
func (a *app) close()               { a.Close() }
func (a *app) bootstrap(ctx context.Context, cfg config, stdout io.Writer) (string, error) {
	return a.Bootstrap(ctx, cfg, stdout)
}
func (a *app) startWorkers(ctx context.Context) (<-chan struct{}, func()) { return a.StartWorkers(ctx) }

// testEnv is a testenv.Env under the names of these tests.
type testEnv struct {
	*testenv.Env
	t           testing.TB
	app         *app
	srv         *httptest.Server
	admin       string
	stopWorkers func()
	databaseURL string
	startOutput string
}

// wrapEnv names the parts of e.
func wrapEnv(e *testenv.Env) *testEnv {
	return &testEnv{Env: e, t: e.T, app: wrapApp(e.App), srv: e.Srv, admin: e.Admin, stopWorkers: e.StopWorkers,
		databaseURL: e.DatabaseURL, startOutput: e.StartOutput}
}

// setup is testenv.Setup.
func setup(t testing.TB, opts ...func(*config)) *testEnv {
	t.Helper()
	return wrapEnv(testenv.Setup(t, opts...))
}

// start is testenv.Start.
func start(t testing.TB, before func(*app), opts ...func(*config)) *testEnv {
	t.Helper()
	return startLogged(t, slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}), before, opts...)
}

// startLogged is testenv.StartLogged.
func startLogged(t testing.TB, h slog.Handler, before func(*app), opts ...func(*config)) *testEnv {
	t.Helper()
	var hook func(*server.App)
	if before != nil {
		hook = func(a *server.App) { before(wrapApp(a)) }
	}
	return wrapEnv(testenv.StartLogged(t, h, hook, opts...))
}

// setupCounted is testenv.SetupCounted.
func setupCounted(t *testing.T, opts ...func(*config)) *testEnv {
	t.Helper()
	return wrapEnv(testenv.SetupCounted(t, opts...))
}

// as returns a copy of e that reports to t (a subtest).
func (e *testEnv) as(t *testing.T) *testEnv {
	c := *e
	c.t = t
	c.Env = e.Env.As(t)
	return &c
}

// testWriter sends log lines to the test log (testenv.Writer).
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	return testenv.Writer{T: w.t}.Write(p)
}

// gqlResponse is a GraphQL answer with its HTTP status.
type gqlResponse testenv.Response

type gqlError = testenv.Error

// code returns the extensions.code of the first error, or "".
func (r gqlResponse) code() string { return testenv.Response(r).Code() }

// hasData reports whether a response carries data other than null.
func (r gqlResponse) hasData() bool { return testenv.Response(r).HasData() }

// userError is a payload's userErrors entry.
type userError = testenv.UserError

func (e *testEnv) do(token, query string, vars map[string]any) gqlResponse {
	e.t.Helper()
	return gqlResponse(e.Do(token, query, vars))
}

func (e *testEnv) doCounted(token, query string, vars map[string]any) (gqlResponse, int64) {
	e.t.Helper()
	r, n := e.DoCounted(token, query, vars)
	return gqlResponse(r), n
}

func (e *testEnv) query(query string, vars map[string]any, out any) {
	e.t.Helper()
	e.Query(query, vars, out)
}

func (e *testEnv) queryCounted(query string, vars map[string]any, out any) int64 {
	e.t.Helper()
	return e.QueryCounted(query, vars, out)
}

func (e *testEnv) queryAs(token, query string, vars map[string]any, out any) {
	e.t.Helper()
	e.QueryAs(token, query, vars, out)
}

func (e *testEnv) mutate(field, query string, vars map[string]any, out any) []userError {
	e.t.Helper()
	return e.Mutate(field, query, vars, out)
}

func (e *testEnv) mutateAs(token, field, query string, vars map[string]any, out any) []userError {
	e.t.Helper()
	return e.MutateAs(token, field, query, vars, out)
}

func (e *testEnv) mustMutate(field, query string, vars map[string]any, out any) {
	e.t.Helper()
	e.MustMutate(field, query, vars, out)
}

func (e *testEnv) refused(code, field, query string, vars map[string]any) userError {
	e.t.Helper()
	return e.Refused(code, field, query, vars)
}

func (e *testEnv) rejected(token, code string, status int, query string, vars map[string]any) gqlResponse {
	e.t.Helper()
	return gqlResponse(e.Rejected(token, code, status, query, vars))
}

func (e *testEnv) get(path string, token string) (int, []byte) {
	e.t.Helper()
	return e.Get(path, token)
}

// snapshot is testenv.Snapshot.
func snapshot(t testing.TB, db *models.DB) map[string][]string { return testenv.Snapshot(t, db) }

// diffSnapshots is testenv.DiffSnapshots.
func diffSnapshots(a, b map[string][]string) string { return testenv.DiffSnapshots(a, b) }
