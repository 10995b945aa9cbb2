package webhooks

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"outdial/models"
)

// TestClaimsTakeHalfABatch: a backlog is claimed half a batch or more at
// a time, and a lane whose claim found nothing due claims no more as its
// queue drains (claimWhileNeeded, awaitClaim). Claiming again at once
// after every full claim took only what the workers had taken meanwhile,
// a few deliveries a claim; and every delivery a worker took from a
// draining queue set off a claim that found nothing.
func TestClaimsTakeHalfABatch(t *testing.T) {
	t.Parallel()
	const n, batch = 640, 64
	b := setup(t)
	var claims atomic.Int64 // the first lane's fair selects
	if err := b.db.Callback().Row().Before("gorm:row").Register("test:count_claims", func(tx *gorm.DB) {
		if sql := tx.Statement.SQL.String(); strings.Contains(sql, "webhook_deliveries_fair") && strings.Contains(sql, "attempt_count = 0") {
			claims.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, status(204))
	b.endpoint(rc.url("/"))
	cfg := b.config()
	cfg.PollInterval, cfg.StatsInterval, cfg.BatchSize = time.Hour, time.Hour, batch // only wakes claim
	b.start(cfg)

	// Prove the endpoint, so that its room grows past a batch.
	for v := range int64(20) {
		id := b.onlyDelivery(b.enqueue(abilityEvent(1, v+1))[0].ID).ID
		b.waitStatus(id, StatusSucceeded, 1)
	}
	events := make([]Event, n)
	for i := range events {
		events[i] = abilityEvent(int64(i+2), 1)
	}
	claims.Store(0)
	b.enqueue(events...)
	waitFor(t, "every delivery sent", func() bool {
		var pending int64
		b.db.Model(&models.WebhookDelivery{}).Where("status = ?", StatusPending).Count(&pending)
		return pending == 0
	})
	// One claim per half batch, and a few more: the last, short one, and
	// those the endpoint's room cut short while its limit grew.
	if most := int64(2*n/batch + 6); claims.Load() > most {
		t.Errorf("%d claims for %d deliveries in batches of %d, want at most %d", claims.Load(), n, batch, most)
	}
	t.Logf("%d claims", claims.Load())
}
