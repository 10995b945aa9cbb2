package webhooks

import (
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"outdial/models"
	"outdial/models/dbtest"
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

// TestBreakerProbesWithoutAPoll: an endpoint whose breaker is open gets
// its next attempt (a probe) every probeEvery although nothing else goes
// on and the poll is an hour away: a claim that left it out for the
// breaker's wait sets a timer for the wait's end (pacer.plan,
// lane.freeAt). Without it the lane, idle after a claim that found
// nothing it could take, waited for the poll.
func TestBreakerProbesWithoutAPoll(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, status(500))
	b.endpoint(rc.url("/"))
	cfg := b.config()
	cfg.PollInterval, cfg.StatsInterval = time.Hour, time.Hour // only wakes and timers claim
	cfg.RetrySchedule = []time.Duration{time.Hour}
	cfg.probeEvery = 100 * time.Millisecond
	b.start(cfg)
	for i := range 8 {
		b.enqueue(abilityEvent(int64(i+1), 1))
	}
	// 3 failures open the breaker; the probes after it come one per
	// probeEvery, each on a delivery of its own.
	waitWithin(t, 20*time.Second, "3 probes after the breaker opened", func() bool { return rc.count() >= 6 })
}

// TestClaimBeatenToItsRowsIsNotIdle (MySQL): a claim whose selected rows
// another process's claim locked first (lockDue finds none) found due
// deliveries, and the lane goes on claiming as its queue drains, without
// a wake or a poll: the rest of the backlog is still due.
func TestClaimBeatenToItsRowsIsNotIdle(t *testing.T) {
	if dbtest.MySQLURL() == "" {
		t.Skip("MySQL only: lockDue")
	}
	t.Parallel()
	b := setupOn(t, dbtest.OpenMySQL(t))
	released := make(chan struct{})
	var hang atomic.Bool
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if hang.Load() {
			hangUntil(r, released)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ep := b.endpoint(rc.url("/"))
	var lockDues, stolen atomic.Int64
	var armed, done atomic.Bool
	ids := regexp.MustCompile(`id IN \(([0-9,]+)\)`)
	other := b.db.Session(&gorm.Session{NewDB: true})
	if err := b.db.Callback().Row().Before("gorm:row").Register("test:take_first", func(tx *gorm.DB) {
		sql := tx.Statement.SQL.String()
		if !strings.Contains(sql, "FOR UPDATE SKIP LOCKED") || !strings.HasPrefix(sql, "SELECT id FROM webhook_deliveries") {
			return
		}
		lockDues.Add(1)
		if !armed.CompareAndSwap(true, false) {
			return
		}
		// Another process's claim leases these rows first (committed).
		far := time.Now().Add(time.Hour)
		res := other.Exec("UPDATE webhook_deliveries SET lease_owner = 'd_other.1', lease_expires_at = ?, next_attempt_at = ?"+
			" WHERE id IN ("+ids.FindStringSubmatch(sql)[1]+")", far, far)
		if res.Error != nil {
			t.Error(res.Error)
		}
		stolen.Store(res.RowsAffected)
		done.Store(true)
	}); err != nil {
		t.Fatal(err)
	}
	cfg := b.config()
	cfg.FirstAttemptWorkers, cfg.RetryWorkers, cfg.BatchSize = 1, 1, 8
	cfg.PollInterval, cfg.StatsInterval = time.Hour, time.Hour // only wakes claim
	b.start(cfg)
	for v := range int64(20) { // prove the endpoint
		b.waitStatus(b.onlyDelivery(b.enqueue(abilityEvent(1, v+1))[0].ID).ID, StatusSucceeded, 1)
	}
	hang.Store(true)
	events := make([]Event, 100)
	for i := range events {
		events[i] = abilityEvent(int64(i+2), 1)
	}
	before := lockDues.Load()
	b.enqueue(events...)
	waitFor(t, "the first claim of the backlog", func() bool { return lockDues.Load() > before })
	armed.Store(true)
	close(released)
	waitFor(t, "a claim beaten to its rows", done.Load)
	want := 20 + int64(len(events)) - stolen.Load()
	waitWithin(t, 20*time.Second, "the rest of the backlog sent", func() bool {
		var n int64
		b.db.Model(&models.WebhookDelivery{}).Where("endpoint_id = ? AND status = ?", ep.ID, StatusSucceeded).Count(&n)
		return n == want
	})
}

// TestSlowEndpointIsClaimedManyAtATime: a proven endpoint that answers in
// 60 ms is claimed half its cap or more at a time, and the retry lane,
// with nothing due, does not claim at every delivery that ends. With
// each lane's cap compared with both lanes' claimed deliveries and a
// refused lane told at every delivery that ended, the first lane claimed
// a few at a time and the retry lane about once per delivery (775 and
// 385 claims for 2,500 deliveries, helper-59's review); with a cap
// longer than what the workers send within maxQueued, deliveries waited
// past it and were given back and claimed again (helper-58's).
func TestSlowEndpointIsClaimedManyAtATime(t *testing.T) {
	t.Parallel()
	const n = 400 // 3 s at 60 ms each, 8 workers
	b := setup(t)
	var first, retries atomic.Int64 // the lanes' fair selects
	if err := b.db.Callback().Row().Before("gorm:row").Register("test:count_claims", func(tx *gorm.DB) {
		switch sql := tx.Statement.SQL.String(); {
		case !strings.Contains(sql, "webhook_deliveries_fair"):
		case strings.Contains(sql, "attempt_count = 0"):
			first.Add(1)
		case strings.Contains(sql, "attempt_count > 0"):
			retries.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	var slow atomic.Int64 // the endpoint's latency
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if d := time.Duration(slow.Load()); d > 0 { // an endpoint's latency, not a wait for the test
			timer := time.NewTimer(d)
			defer timer.Stop()
			select {
			case <-timer.C:
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
	b.endpoint(rc.url("/"))
	cfg := b.config()
	cfg.PollInterval, cfg.StatsInterval = time.Hour, time.Hour // only wakes claim
	b.start(cfg)
	for v := range int64(20) { // prove the endpoint
		id := b.onlyDelivery(b.enqueue(abilityEvent(1, v+1))[0].ID).ID
		b.waitStatus(id, StatusSucceeded, 1)
	}
	events := make([]Event, n)
	for i := range events {
		events[i] = abilityEvent(int64(i+2), 1)
	}
	slow.Store(int64(60 * time.Millisecond))
	first.Store(0)
	retries.Store(0)
	b.enqueue(events...)
	waitWithin(t, time.Minute, "every delivery sent", func() bool {
		var pending int64
		b.db.Model(&models.WebhookDelivery{}).Where("status = ?", StatusPending).Count(&pending)
		return pending == 0
	})
	if first.Load() > 40 || retries.Load() > 10 {
		t.Errorf("%d claims of the first lane and %d of the retry lane for %d deliveries to an endpoint answering in %v, want at most 40 and 10",
			first.Load(), retries.Load(), n, time.Duration(slow.Load()))
	}
	t.Logf("%d claims of the first lane, %d of the retry lane", first.Load(), retries.Load())
}
