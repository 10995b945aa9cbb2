package main

// The performance target for the agents page (docs/design.md, "Performance
// targets"): a constant
// number of SQL statements whatever the page size, and at least 0.5× the
// requests/s of a hand-written net/http handler running the same SQL and
// encoding the same JSON (internal/loadtest.Baseline), measured side by
// side in one process on one database. See README.md, "Benchmarks".

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"outdial/internal/loadtest"
	"outdial/models/dbtest"
)

var (
	benchAgents  = flag.Int("bench-agents", 150, "agents in the benchmark's data set")
	benchWorkers = flag.Int("bench-workers", 8, "concurrent requests of the agents page benchmarks")
)

// agentsBench is a real server (routes, auth, dataloaders) on a seeded
// database, with the baseline handler beside it on the same service.
type agentsBench struct {
	app      *app
	graphql  http.Handler
	baseline http.Handler
	token    string
}

// newAgentsBench starts the app on a fresh database (SQLite, or MySQL when
// TEST_MYSQL_URL is set) and seeds it with agents agents.
func newAgentsBench(tb testing.TB, agents int) *agentsBench {
	tb.Helper()
	cfg := config{DatabaseURL: dbtest.URL(tb), AdminToken: testAdminToken,
		WebhookRetrySchedule: []time.Duration{time.Second}, WebhookTimeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		tb.Fatalf("start app: %v", err)
	}
	if _, err := a.bootstrap(ctx, cfg, io.Discard); err != nil {
		tb.Fatalf("bootstrap: %v", err)
	}
	installStatementLog(tb, a) // before the workers: gorm callbacks are not safe to add while in use
	done, stop := a.startWorkers(ctx)
	tb.Cleanup(func() {
		stop()
		cancel()
		<-done
		a.close()
	})
	if err := loadtest.Seed(ctx, a.svc, agents); err != nil {
		tb.Fatal(err)
	}
	return &agentsBench{app: a, graphql: a.routes(), baseline: loadtest.NewBaseline(a.svc, log), token: testAdminToken}
}

// stmtLog collects the SQL statements run on behalf of one request (those
// whose context carries it), whatever goroutine runs them.
type stmtLog struct {
	n    atomic.Int64
	keep bool
	mu   sync.Mutex
	sql  []string
}

type stmtLogKey struct{}

// installStatementLog makes every gorm statement report to the stmtLog of
// its context, if any: background work (the webhook dispatcher) and other
// requests are not counted.
func installStatementLog(tb testing.TB, a *app) {
	tb.Helper()
	record := func(tx *gorm.DB) {
		l, ok := tx.Statement.Context.Value(stmtLogKey{}).(*stmtLog)
		if !ok {
			return
		}
		l.n.Add(1)
		if l.keep {
			l.mu.Lock()
			l.sql = append(l.sql, fmt.Sprintf("%s %v", tx.Statement.SQL.String(), tx.Statement.Vars))
			l.mu.Unlock()
		}
	}
	cb := a.db.Callback()
	for _, err := range []error{
		cb.Query().After("gorm:query").Register("bench:statements", record),
		cb.Create().After("gorm:create").Register("bench:statements", record),
		cb.Update().After("gorm:update").Register("bench:statements", record),
		cb.Delete().After("gorm:delete").Register("bench:statements", record),
		cb.Row().After("gorm:row").Register("bench:statements", record),
		cb.Raw().After("gorm:raw").Register("bench:statements", record),
	} {
		if err != nil {
			tb.Fatalf("install statement log: %v", err)
		}
	}
}

// serve runs one POST of body through h in-process and returns the
// recorded answer; statements go to log when it is not nil.
func (e *agentsBench) serve(h http.Handler, body []byte, log *stmtLog) *httptest.ResponseRecorder {
	ctx := context.Background()
	if log != nil {
		ctx = context.WithValue(ctx, stmtLogKey{}, log)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// data returns the compacted data of a successful answer.
func agentsData(tb testing.TB, name string, rec *httptest.ResponseRecorder) []byte {
	tb.Helper()
	var resp struct {
		Data   json.RawMessage `json:"data"`
		Errors json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); rec.Code != http.StatusOK || err != nil || resp.Errors != nil {
		tb.Fatalf("%s answered HTTP %d: %.500s", name, rec.Code, rec.Body.Bytes())
	}
	var out bytes.Buffer
	if err := json.Compact(&out, resp.Data); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// pageQuery is loadtest.AgentsQuery with another page size.
func pageQuery(first int) string {
	return strings.Replace(loadtest.AgentsQuery, "agents(first:100)", fmt.Sprintf("agents(first:%d)", first), 1)
}

// TestAgentsBaselineMatchesGraphQL checks that the baseline is a fair one:
// the same JSON data, byte for byte, from the same SQL statements.
func TestAgentsBaselineMatchesGraphQL(t *testing.T) {
	t.Parallel()
	e := newAgentsBench(t, 150)
	body := loadtest.RequestBody(loadtest.AgentsQuery)
	// A first request of each, so that both see lastUsedAt already written.
	e.serve(e.graphql, body, nil)
	var gLog, bLog stmtLog
	gLog.keep, bLog.keep = true, true
	got := agentsData(t, "GraphQL", e.serve(e.graphql, body, &gLog))
	want := agentsData(t, "baseline", e.serve(e.baseline, body, &bLog))
	if !bytes.Equal(got, want) {
		t.Fatalf("the baseline's data differs from the GraphQL data:\nGraphQL:  %.2000s\nbaseline: %.2000s", got, want)
	}
	var data struct {
		Agents struct {
			Nodes []struct{ PersonalNumber *struct{ E164 string } }
		}
	}
	if err := json.Unmarshal(got, &data); err != nil || len(data.Agents.Nodes) != loadtest.PageSize {
		t.Fatalf("want a page of %d agents, got %d (%v)", loadtest.PageSize, len(data.Agents.Nodes), err)
	}
	slices.Sort(gLog.sql)
	slices.Sort(bLog.sql)
	if !slices.Equal(gLog.sql, bLog.sql) {
		t.Fatalf("the baseline runs other statements than GraphQL:\nGraphQL:\n  %s\nbaseline:\n  %s",
			strings.Join(gLog.sql, "\n  "), strings.Join(bLog.sql, "\n  "))
	}
	for _, s := range gLog.sql {
		t.Logf("%.160s", s)
	}
}

// TestAgentsPageStatements checks that the agents page runs a constant
// number of statements whatever its size (no N+1).
func TestAgentsPageStatements(t *testing.T) {
	t.Parallel()
	e := newAgentsBench(t, 150)
	e.serve(e.graphql, loadtest.RequestBody(loadtest.AgentsQuery), nil) // lastUsedAt written
	counts := map[int]int64{}
	for _, first := range []int{1, 10, 100} {
		var l stmtLog
		rec := e.serve(e.graphql, loadtest.RequestBody(pageQuery(first)), &l)
		agentsData(t, fmt.Sprintf("first:%d", first), rec)
		counts[first] = l.n.Load()
	}
	t.Logf("statements per request: %v", counts)
	if counts[10] != counts[100] {
		t.Fatalf("statements per request depend on the page size: %v", counts)
	}
}

// drive makes n calls of do from workers goroutines and returns how long
// they took.
func drive(n, workers int, do func()) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range max(workers, 1) {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				do()
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// agentsSide is one of the two handlers under comparison.
type agentsSide struct {
	name    string
	request func(log *stmtLog) error
}

// BenchmarkAgentsPage compares, in-process (handler.ServeHTTP, no
// network), the real /graphql handler answering loadtest.AgentsQuery with
// the baseline, from -bench-workers concurrent callers. The sub-benchmarks
// graphql and baseline measure one each; ratio alternates them in short
// rounds (so that both share whatever else the machine does) and reports
// graphql req/s ÷ baseline req/s.
func BenchmarkAgentsPage(b *testing.B) {
	e := newAgentsBench(b, *benchAgents)
	body := loadtest.RequestBody(loadtest.AgentsQuery)
	side := func(name string, h http.Handler) agentsSide {
		return agentsSide{name: name, request: func(log *stmtLog) error {
			rec := e.serve(h, body, log)
			if rec.Code != http.StatusOK || bytes.Contains(rec.Body.Bytes(), []byte(`"errors"`)) {
				return fmt.Errorf("%s answered HTTP %d: %.300s", name, rec.Code, rec.Body.Bytes())
			}
			return nil
		}}
	}
	benchmarkSides(b, side("graphql", e.graphql), side("baseline", e.baseline))
}

// BenchmarkAgentsPageHTTP is BenchmarkAgentsPage over loopback HTTP: the
// real routes and the baseline each behind an httptest.Server, loaded by
// one HTTP client (keep-alive, a connection per worker).
func BenchmarkAgentsPageHTTP(b *testing.B) {
	e := newAgentsBench(b, *benchAgents)
	client := loadtest.NewClient(*benchWorkers)
	l := loadtest.Load{Client: client, Body: loadtest.RequestBody(loadtest.AgentsQuery), Concurrency: *benchWorkers}
	side := func(name string, h http.Handler) agentsSide {
		// The statement log travels in the server-side context.
		var current atomic.Pointer[stmtLog]
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if log := current.Load(); log != nil {
				r = r.WithContext(context.WithValue(r.Context(), stmtLogKey{}, log))
			}
			h.ServeHTTP(w, r)
		}))
		b.Cleanup(srv.Close)
		t := loadtest.Target{Name: name, URL: srv.URL + "/graphql", Token: e.token}
		return agentsSide{name: name, request: func(log *stmtLog) error {
			current.Store(log)
			return l.Once(context.Background(), t)
		}}
	}
	benchmarkSides(b, side("graphql", e.graphql), side("baseline", e.baseline))
}

// benchmarkSides runs the sub-benchmarks graphql, baseline and ratio.
func benchmarkSides(b *testing.B, g, base agentsSide) {
	for _, s := range []agentsSide{g, base} {
		if err := s.request(nil); err != nil { // warm up, and write lastUsedAt
			b.Fatal(err)
		}
	}
	workers := *benchWorkers
	for _, s := range []agentsSide{g, base} {
		b.Run(s.name, func(b *testing.B) {
			var log stmtLog
			var failed atomic.Pointer[error]
			d := drive(b.N, workers, func() {
				if err := s.request(&log); err != nil {
					failed.Store(&err)
				}
			})
			if err := failed.Load(); err != nil {
				b.Fatal(*err)
			}
			b.ReportMetric(float64(b.N)/d.Seconds(), "req/s")
			b.ReportMetric(float64(log.n.Load())/float64(b.N), "stmts/req")
		})
	}
	b.Run("ratio", func(b *testing.B) {
		// Rounds of a fixed number of requests, alternating which side
		// goes first; each side's time is the sum of its rounds.
		const round = 64
		var spent [2]time.Duration
		var logs [2]stmtLog
		var failed atomic.Pointer[error]
		sides := [2]agentsSide{g, base}
		for done, k := 0, 0; done < b.N; k++ {
			n := min(round, b.N-done)
			for j := range 2 {
				i := (j + k) % 2
				spent[i] += drive(n, workers, func() {
					if err := sides[i].request(&logs[i]); err != nil {
						failed.Store(&err)
					}
				})
			}
			done += n
		}
		if err := failed.Load(); err != nil {
			b.Fatal(*err)
		}
		b.ReportMetric(spent[1].Seconds()/spent[0].Seconds(), "ratio")
		b.ReportMetric(float64(b.N)/spent[0].Seconds(), "graphql-req/s")
		b.ReportMetric(float64(b.N)/spent[1].Seconds(), "baseline-req/s")
		b.ReportMetric(float64(logs[0].n.Load())/float64(b.N), "graphql-stmts/req")
		b.ReportMetric(float64(logs[1].n.Load())/float64(b.N), "baseline-stmts/req")
	})
}
