package webhooks

import (
	"context"
	"testing"
	"time"
)

// TestQueueGaugesReadBesideTheWriter: the queue gauges count the pending
// deliveries and age the oldest without the writer's connection, so that
// counting a large backlog every StatsInterval never holds a claim, lease
// or result (on SQLite, whose one connection is the writer's). The writer
// is held by an open write transaction while the gauges are refreshed;
// what it has not committed is not counted.
func TestQueueGaugesReadBesideTheWriter(t *testing.T) {
	b := setup(t)
	b.endpoint(closedPort(t))
	b.enqueue(abilityEvent(1, 1), abilityEvent(2, 1), abilityEvent(3, 1))
	b.clock.Advance(90 * time.Second)
	b.enqueue(abilityEvent(4, 1))
	d, err := NewDispatcher(b.db, b.outbox, b.config())
	if err != nil {
		t.Fatal(err)
	}
	refresh := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.refreshStats(ctx); err != nil {
			t.Fatalf("refresh the queue gauges: %v", err)
		}
	}
	check := func(depth, age float64) {
		t.Helper()
		if got := metric(t, d, "outdial_webhook_queue_depth"); got != depth {
			t.Errorf("queue depth %v, want %v", got, depth)
		}
		if got := metric(t, d, "outdial_webhook_oldest_pending_age_seconds"); got != age {
			t.Errorf("oldest pending age %v s, want %v", got, age)
		}
	}

	tx := b.db.Begin()
	if tx.Error != nil {
		t.Fatal(tx.Error)
	}
	defer tx.Rollback()
	if _, err := b.outbox.Enqueue(context.Background(), tx, []Event{abilityEvent(5, 1)}); err != nil {
		t.Fatal(err) // not committed yet: not counted
	}
	refresh()
	check(4, 90)
	if err := tx.Commit().Error; err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(10 * time.Second)
	refresh()
	check(5, 100)
}
