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

// BenchmarkPruneMillion prunes 1,000,000 rows older than the retention
// (250,000 events, their SUCCEEDED deliveries and two attempts each)
// beside 2,000 pending deliveries at least as old, which are kept with
// their events. It reports the rows deleted, the slowest statement
// (slowest-ms: every statement is one batch, so this is the longest any
// lock was held) and the whole run (run-s). Run it with -benchtime=1x
// (each iteration seeds the rows again):
//
//	go test -run '^$' -bench PruneMillion -benchtime=1x ./webhooks
//	TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/test go test -run '^$' -bench PruneMillion -benchtime=1x -timeout 30m ./webhooks
func BenchmarkPruneMillion(b *testing.B) {
	const events = 250_000
	bu := setup(b)
	ep := bu.endpoint("https://example.com/hook")
	old := bu.clock.Now().Add(-48 * time.Hour)
	var total int64
	var slowest time.Duration
	var step string
	var took time.Duration
	var durations []time.Duration
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
		p, err := NewPruner(bu.db, PruneConfig{Retention: 24 * time.Hour, Now: bu.clock.Now})
		if err != nil {
			b.Fatal(err)
		}
		p.keepDurations = true
		b.StartTimer()
		start := time.Now()
		res, err := p.Prune(context.Background())
		took += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("time per step: %v", res.Steps)
		durations = append(durations, res.Statements...)
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
	b.ReportMetric(float64(slowest.Microseconds())/1000, "slowest-ms")
	b.ReportMetric(took.Seconds()/float64(b.N), "run-s")
	slices.Sort(durations)
	p50, p99 := durations[len(durations)/2], durations[len(durations)*99/100]
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(durations))/float64(b.N), "statements/op")
	over := len(durations) - sort.Search(len(durations), func(i int) bool { return durations[i] > 100*time.Millisecond })
	b.ReportMetric(float64(over)/float64(b.N), "over-100ms/op")
	b.Logf("%d statements: p50 %s, p99 %s, %d over 100ms", len(durations), p50, p99, over)
	b.Logf("%s: slowest statement %s (%s); %d rows in %s", bu.db.Dialect, slowest, step, total/int64(b.N), took/time.Duration(b.N))
}
