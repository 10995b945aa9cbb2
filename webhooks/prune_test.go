package webhooks

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"outdial/models"
)

// startPruner runs a pruner of the bundle's database on its clock until
// the test ends.
func (b *bundle) startPruner(cfg PruneConfig) *Pruner {
	b.t.Helper()
	cfg.Now, cfg.Logger = b.clock.Now, b.log
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	p, err := NewPruner(b.db, cfg)
	if err != nil {
		b.t.Fatalf("NewPruner: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx); close(done) }()
	b.t.Cleanup(func() { cancel(); awaitStopped(b.t, "Pruner.Run", done, time.Minute) })
	return p
}

// rows counts the rows of table matching where.
func (b *bundle) rows(table, where string, args ...any) int64 {
	b.t.Helper()
	var n int64
	if err := b.db.Raw("SELECT COUNT(*) FROM "+table+" WHERE "+where, args...).Scan(&n).Error; err != nil {
		b.t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// TestRetentionOfASecond: with RETENTION at one second, finished
// deliveries, their attempts and events without a pending delivery are
// deleted once a second old; a pending delivery to a failing receiver is
// kept, however old, and delivered (signed, verified) once the receiver
// recovers, then deleted in turn. The metrics count every row.
func TestRetentionOfASecond(t *testing.T) {
	b := setup(t)
	good := newReceiver(t, nil)
	var failing atomic.Bool
	failing.Store(true)
	flaky := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	goodEP := b.endpoint(good.url("/good"))
	good.expect(goodEP.Secret)
	cfg := b.config()
	cfg.RetrySchedule = []time.Duration{time.Hour, time.Hour}
	b.start(cfg)

	// Event 1 goes to the good endpoint only: all of it is to go.
	early := b.enqueue(abilityEvent(1, 1))[0]
	first := b.waitStatus(b.onlyDelivery(early.ID).ID, StatusSucceeded, 1)

	flakyEP := b.endpoint(flaky.url("/flaky"))
	flaky.expect(flakyEP.Secret)
	late := b.enqueue(abilityEvent(1, 2))[0]
	ds := b.deliveriesOf(late.ID)
	if len(ds) != 2 {
		t.Fatalf("event 2 has %d deliveries; want 2", len(ds))
	}
	var toGood, toFlaky models.WebhookDelivery
	for _, d := range ds {
		if d.EndpointID == goodEP.ID {
			toGood = d
		} else {
			toFlaky = d
		}
	}
	b.waitStatus(toGood.ID, StatusSucceeded, 1)
	b.waitStatus(toFlaky.ID, StatusPending, 1)

	// Two seconds on, everything is older than the retention.
	b.clock.Advance(2 * time.Second)
	reg := prometheus.NewRegistry()
	p := b.startPruner(PruneConfig{Retention: time.Second, Interval: 20 * time.Millisecond, Registerer: reg})
	waitFor(t, "the finished deliveries pruned", func() bool {
		return b.rows("webhook_deliveries", "id IN (?, ?)", first.ID, toGood.ID) == 0 &&
			b.rows("webhook_events", "id = ?", early.ID) == 0
	})
	if n := b.rows("webhook_attempts", "delivery_id IN (?, ?)", first.ID, toGood.ID); n != 0 {
		t.Errorf("%d attempts of pruned deliveries left", n)
	}
	if n := b.rows("webhook_deliveries", "id = ? AND status = ?", toFlaky.ID, StatusPending); n != 1 {
		t.Fatalf("the pending delivery to the failing receiver is gone (%d rows)", n)
	}
	if n := b.rows("webhook_events", "id = ?", late.ID); n != 1 {
		t.Fatalf("the event of a pending delivery was deleted")
	}
	if n := b.rows("webhook_attempts", "delivery_id = ?", toFlaky.ID); n != 1 {
		t.Errorf("the pending delivery has %d attempts; want its 1", n)
	}
	if gone, err := Pruned(context.Background(), b.db.DB, TableDeliveries, toGood.ID); err != nil || !gone {
		t.Errorf("Pruned(delivery %d) = %v, %v; want true", toGood.ID, gone, err)
	}

	// The receiver recovers; the retry is due an hour on.
	failing.Store(false)
	b.clock.Advance(time.Hour + time.Second)
	b.outbox.Committed()
	b.waitStatus(toFlaky.ID, StatusSucceeded, 2)
	got := flaky.got()
	last := got[len(got)-1]
	if last.VerifyErr != nil || last.ID != late.MessageID {
		t.Fatalf("recovered receiver got %s (verify: %v); want %s, signed", last.ID, last.VerifyErr, late.MessageID)
	}
	b.clock.Advance(2 * time.Second)
	waitFor(t, "the delivered retry and its event pruned", func() bool {
		return b.rows("webhook_deliveries", "1 = 1") == 0 && b.rows("webhook_events", "1 = 1") == 0 &&
			b.rows("webhook_attempts", "1 = 1") == 0
	})
	// 3 deliveries, 4 attempts (1 + 1 + 2), 2 events.
	waitFor(t, "the metrics to count every row", func() bool {
		return metricOf(t, reg, "outdial_retention_deleted_rows_total", "table", TableDeliveries) == 3 &&
			metricOf(t, reg, "outdial_retention_deleted_rows_total", "table", TableAttempts) == 4 &&
			metricOf(t, reg, "outdial_retention_deleted_rows_total", "table", TableEvents) == 2 &&
			metricOf(t, reg, "outdial_retention_last_run_timestamp_seconds") > 0
	})
	_ = p
}

// TestRetentionKeepsOldPending: a pending delivery far older than the
// retention (a long retry schedule) is kept with its event; the finished
// ones around it go; deleted endpoints go once their deliveries have, and
// audit entries only when AUDIT_RETENTION is set.
func TestRetentionKeepsOldPending(t *testing.T) {
	b := setup(t)
	ep := b.endpoint("https://example.com/hook")
	evs := b.enqueue(abilityEvent(1, 1), abilityEvent(2, 1), abilityEvent(3, 1))
	now := b.clock.Now()
	// The first two finished long ago; the third is still pending.
	for _, e := range evs[:2] {
		if err := b.db.Exec("UPDATE webhook_deliveries SET status = ?, updated_at = ? WHERE event_id = ?",
			StatusFailed, now, e.ID).Error; err != nil {
			t.Fatal(err)
		}
	}
	gone := b.endpoint("https://example.com/gone")
	if err := b.db.Exec("UPDATE webhook_endpoints SET deleted_at = ?, enabled = ? WHERE id = ?", now, false, gone.ID).Error; err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := b.db.Create(&models.AuditEntry{At: now, Actor: "t", Action: "a", Details: "{}"}).Error; err != nil {
			t.Fatal(err, i)
		}
	}
	b.clock.Advance(1000 * time.Hour)
	p, err := NewPruner(b.db, PruneConfig{Retention: time.Hour, Now: b.clock.Now, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Prune(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{TableDeliveries: 2, TableEvents: 2, TableEndpoints: 1}
	for table, n := range want {
		if res.Deleted[table] != n {
			t.Errorf("deleted %d rows of %s; want %d (all: %v)", res.Deleted[table], table, n, res.Deleted)
		}
	}
	if b.rows("webhook_deliveries", "event_id = ? AND status = ?", evs[2].ID, StatusPending) != 1 ||
		b.rows("webhook_events", "id = ?", evs[2].ID) != 1 || b.rows("webhook_endpoints", "id = ?", ep.ID) != 1 {
		t.Fatalf("the pending delivery, its event or its endpoint was deleted")
	}
	if n := b.rows("audit_entries", "1 = 1"); n != 3 {
		t.Fatalf("%d audit entries left without AUDIT_RETENTION; want 3", n)
	}
	p, err = NewPruner(b.db, PruneConfig{Retention: time.Hour, AuditRetention: 2 * time.Hour, Now: b.clock.Now, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res, err = p.Prune(context.Background()); err != nil || res.Deleted[TableAudit] != 3 {
		t.Fatalf("with AUDIT_RETENTION: deleted %v, %v; want 3 audit entries", res.Deleted, err)
	}
}

// metricOf returns the value of the counter or gauge name (with labels)
// gathered from reg.
func metricOf(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
				}
				if !found {
					continue metrics
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s %v not found", name, labels)
	return 0
}

// TestFeedSubscriberBehindThePruner: a subscriber so far behind that the
// events it had yet to read were pruned is ended with
// ErrOlderThanRetention once it has read what it held, rather than
// silently missing them. (Events still in the feed's memory, Recent, it
// gets.)
func TestFeedSubscriberBehindThePruner(t *testing.T) {
	b := setup(t)
	f := startFeed(t, b, FeedConfig{PollInterval: time.Hour, Buffer: 16, Recent: 16})
	ready(t, b, f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow := f.Watch(ctx, nil)
	fast := f.Subscribe(ctx, nil)
	evs := b.enqueue(agentEvents(400, 1)...)
	for range evs {
		next(t, fast)
	}
	b.clock.Advance(2 * time.Hour)
	p, err := NewPruner(b.db, PruneConfig{Retention: time.Hour, Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := p.Prune(context.Background()); err != nil || res.Deleted[TableEvents] < int64(len(evs)) {
		t.Fatalf("pruned %v, %v; want the %d events", res.Deleted, err, len(evs))
	}
	got := 0
	for range slow.Events() {
		got++
	}
	if got >= len(evs) || !errors.Is(slow.Err(), ErrOlderThanRetention) {
		t.Fatalf("the slow subscriber read %d of %d events and ended with %v; want fewer, then ErrOlderThanRetention",
			got, len(evs), slow.Err())
	}
}

// TestBatcherSizesBatchesToTheTarget: batches grow by a quarter at most
// while statements are fast, shrink to what keeps the time per row under
// the target once a cost lasts, and a lone statement slow for reasons its
// rows do not explain (a descheduled process) moves them little.
func TestBatcherSizesBatchesToTheTarget(t *testing.T) {
	b := &batcher{size: 100, most: 1000, target: 25 * time.Millisecond}
	b.observe(100, 5*time.Millisecond) // 50µs a row: 500 would do, grow by a quarter
	if b.size != 125 {
		t.Fatalf("after a fast batch: size %d, want 125", b.size)
	}
	for range 20 {
		b.observe(b.size, time.Duration(b.size)*50*time.Microsecond)
	}
	if b.size != 500 {
		t.Fatalf("at 50µs a row: size %d, want 500", b.size)
	}
	b.observe(b.size, 600*time.Millisecond) // one statement descheduled
	if b.size != 500 {
		t.Fatalf("after one slow statement: size %d, want 500 still", b.size)
	}
	for range batcherWindow {
		b.observe(b.size, time.Duration(b.size)*250*time.Microsecond) // rows now cost 250µs
	}
	if b.size != 100 {
		t.Fatalf("at 250µs a row: size %d, want 100", b.size)
	}
	for range batcherWindow {
		b.observe(b.size, time.Second)
	}
	if b.size != minPruneBatch {
		t.Fatalf("with every statement slow: size %d, want the least, %d", b.size, minPruneBatch)
	}
}
