package webhooks

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"outdial/models"
)

// seedChunk is how many rows one seeding INSERT writes.
const seedChunk = 10_000

// digits is a derived table of 0..9 named alias, for set-based seeding.
func digits(alias string) string {
	parts := make([]string, 10)
	for i := range parts {
		parts[i] = fmt.Sprintf("SELECT %d AS n", i)
	}
	return "(" + strings.Join(parts, " UNION ALL ") + ") AS " + alias
}

// seedRows is a SELECT of the numbers from+1 .. from+seedChunk as n.
func seedRows(from int64) string {
	return fmt.Sprintf("SELECT %d + a.n + 10*b.n + 100*c.n + 1000*d.n + 1 AS n FROM %s CROSS JOIN %s CROSS JOIN %s CROSS JOIN %s",
		from, digits("a"), digits("b"), digits("c"), digits("d"))
}

// seedHistory writes, with set-based INSERTs, n events (IDs from+1 ..
// from+n, n a multiple of seedChunk), each with one delivery of status to
// endpoint ep and attempts attempts, all last changed at at.
func seedHistory(tb testing.TB, db *models.DB, ep, from, n int64, attempts int, status string, at time.Time) {
	tb.Helper()
	concat := "CONCAT('msg_', s.n)"
	if db.Dialect == models.SQLite {
		concat = "'msg_' || s.n"
	}
	payload := `'{"type":"agent.calling_ability.changed","data":{"agent":{"id":"QWdlbnQ6MQ","name":"Someone","email":"someone@example.com"}}}'`
	for start := from; start < from+n; start += seedChunk {
		rows := "(" + seedRows(start) + ") AS s"
		stmts := []string{
			"INSERT INTO webhook_events (id, message_id, type, agent_id, version, payload, occurred_at) SELECT s.n, " + concat +
				", 'agent.calling_ability.changed', s.n % 1000, s.n, " + payload + ", ? FROM " + rows,
			"INSERT INTO webhook_deliveries (id, endpoint_id, event_id, agent_id, version, status, attempt_count, created_at, updated_at) SELECT s.n, " +
				fmt.Sprint(ep) + ", s.n, s.n % 1000, s.n, '" + status + "', " + fmt.Sprint(attempts) + ", ?, ? FROM " + rows,
		}
		args := [][]any{{at}, {at, at}}
		for k := range attempts {
			stmts = append(stmts, fmt.Sprintf("INSERT INTO webhook_attempts (id, delivery_id, attempted_at, status_code, duration_ms) SELECT %d*s.n - %d, s.n, ?, 200, 3 FROM ",
				attempts, attempts-1-k)+rows)
			args = append(args, []any{at})
		}
		for i, q := range stmts {
			if err := db.Exec(q, args[i]...).Error; err != nil {
				tb.Fatalf("seed from %d, statement %d: %v", start, i, err)
			}
		}
	}
}

// probe runs SELECT 1 on db every 20 ms until the returned function is
// called, appending each one's duration to out: what the machine and the
// database take for a statement that costs nothing, beside the pruner's
// (a statement of the pruner slower than 100 ms while the probe is too
// is the machine's wait, not its own work).
func probe(db *models.DB, out *[]time.Duration) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			var one int
			start := time.Now()
			if err := db.Raw("SELECT 1").Scan(&one).Error; err == nil {
				*out = append(*out, time.Since(start))
			}
		}
	}()
	return func() { close(done); <-finished }
}

// BenchmarkPruneMillion prunes 1,000,000 rows older than the retention
// (250,000 events, their SUCCEEDED deliveries and two attempts each)
// beside 2,000 pending deliveries at least as old, which are kept with
// their events. It reports the rows deleted, the statements run (COMMITs
// included: a batch's locks are held until its COMMIT ends), the slowest
// (max-ms) and the 99th percentile (p99-ms) of their durations, how many
// took over 100 ms (issue 8 asks for none), the whole run (run-s) and the
// rows deleted per second; it logs the statements over 100 ms by step and
// the batch sizes each step ended with. Beside it a probe times SELECT 1
// every 20 ms (probe-max-ms, probe-over-100ms/op): the floor of what a
// statement takes on the machine at that moment. Three variants, on the
// same machine: batches of a fixed 200 rows (what the pruner did before
// its batches adapted), batches sized to keep each statement near 25 ms
// (the default before) and the pruner's default (10 ms). Run them one at
// a time, alternating, with -benchtime=1x (each iteration seeds the rows
// again):
//
//	go test -run '^$' -bench 'PruneMillion/adaptive$' -benchtime=1x ./webhooks
//	TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/test go test -run '^$' -bench 'PruneMillion/adaptive$' -benchtime=1x -timeout 60m ./webhooks
func BenchmarkPruneMillion(b *testing.B) {
	b.Run("fixed-200", func(b *testing.B) { benchmarkPrune(b, PruneConfig{BatchSize: 200, StatementTarget: time.Hour}) })
	b.Run("adaptive-25ms", func(b *testing.B) { benchmarkPrune(b, PruneConfig{StatementTarget: 25 * time.Millisecond}) })
	b.Run("adaptive", func(b *testing.B) { benchmarkPrune(b, PruneConfig{}) })
}

// benchmarkPrune is BenchmarkPruneMillion with the pruner's settings cfg
// (Retention and Now are set here).
func benchmarkPrune(b *testing.B, cfg PruneConfig) {
	const events = 250_000
	bu := setup(b)
	ep := bu.endpoint("https://example.com/hook")
	old := bu.clock.Now().Add(-48 * time.Hour)
	var total int64
	var slowest time.Duration
	var step string
	var took time.Duration
	var durations, probes []time.Duration
	slowSteps := map[string]int{}
	for i := range b.N {
		b.StopTimer()
		base := int64(i) * (events + seedChunk)
		seedHistory(b, bu.db, ep.ID, base, events, 2, StatusSucceeded, old)
		// Pending deliveries as old, on events of their own.
		seedHistory(b, bu.db, ep.ID, base+events, seedChunk, 0, StatusPending, old)
		if err := bu.db.Exec("DELETE FROM webhook_deliveries WHERE status = ? AND id > ?", StatusPending, base+events+2000).Error; err != nil {
			b.Fatal(err)
		}
		if err := bu.db.Exec("DELETE FROM webhook_events WHERE id > ?", base+events+2000).Error; err != nil {
			b.Fatal(err)
		}
		cfg.Retention, cfg.Now = 24*time.Hour, bu.clock.Now
		p, err := NewPruner(bu.db, cfg)
		if err != nil {
			b.Fatal(err)
		}
		p.keepDurations = true
		stopProbe := probe(bu.db, &probes)
		b.StartTimer()
		start := time.Now()
		res, err := p.Prune(context.Background())
		took += time.Since(start)
		b.StopTimer()
		stopProbe()
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("time per step: %v; batches %v, ending at sizes %v", res.Steps, res.Batches, res.Batch)
		durations = append(durations, res.Statements...)
		for k, d := range res.Statements {
			if d > 100*time.Millisecond {
				slowSteps[res.StatementSteps[k]]++
			}
		}
		total += res.Total()
		if res.Slowest > slowest {
			slowest, step = res.Slowest, res.SlowestStep
		}
		var pending, kept int64
		bu.db.Raw("SELECT COUNT(*) FROM webhook_deliveries WHERE status = ?", StatusPending).Scan(&pending)
		bu.db.Raw("SELECT COUNT(*) FROM webhook_events").Scan(&kept)
		if res.Total() != 4*events || pending != 2000 || kept != 2000 {
			b.Fatalf("deleted %d rows (%v), %d pending deliveries and %d events left; want 1000000, 2000, 2000",
				res.Total(), res.Deleted, pending, kept)
		}
		if err := bu.db.Exec("DELETE FROM webhook_deliveries").Error; err != nil {
			b.Fatal(err)
		}
		if err := bu.db.Exec("DELETE FROM webhook_events").Error; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total)/float64(b.N), "rows-deleted/op")
	b.ReportMetric(float64(slowest.Microseconds())/1000, "max-ms")
	b.ReportMetric(took.Seconds()/float64(b.N), "run-s")
	b.ReportMetric(float64(total)/took.Seconds(), "rows/s")
	slices.Sort(durations)
	p50, p99 := durations[len(durations)/2], durations[len(durations)*99/100]
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(durations))/float64(b.N), "statements/op")
	over := len(durations) - sort.Search(len(durations), func(i int) bool { return durations[i] > 100*time.Millisecond })
	b.ReportMetric(float64(over)/float64(b.N), "over-100ms/op")
	b.Logf("%d statements: p50 %s, p99 %s, %d over 100ms %v", len(durations), p50, p99, over, slowSteps)
	slices.Sort(probes)
	probeOver := len(probes) - sort.Search(len(probes), func(i int) bool { return probes[i] > 100*time.Millisecond })
	b.ReportMetric(float64(probes[len(probes)-1].Microseconds())/1000, "probe-max-ms")
	b.ReportMetric(float64(probeOver)/float64(b.N), "probe-over-100ms/op")
	b.Logf("probe (SELECT 1 every 20 ms beside the pruner): %d, p50 %s, p99 %s, max %s, %d over 100ms", len(probes),
		probes[len(probes)/2], probes[len(probes)*99/100], probes[len(probes)-1], probeOver)
	b.Logf("%s: slowest statement %s (%s); %d rows in %s, %.0f rows/s", bu.db.Dialect, slowest, step, total/int64(b.N),
		took/time.Duration(b.N), float64(total)/took.Seconds())
}
