package webhooks

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"
)

// TestAClaimThatWaitedForItsConnectionSendsWhatItClaimed: a claim's
// clocks start once it holds a database connection. A claim that waited
// longer than maxQueued for one (SQLite's only connection, behind a
// large import; a MySQL pool in use) sends the deliveries it claimed:
// none is given back for having waited, and each is attempted once.
// Before, the claim's jobs counted the wait against maxQueued, were too
// old to run as soon as they were queued, and were all given back unsent
// and claimed again (outdial_webhook_deliveries_given_back_total).
//
// The test's clock is frozen (bundle.config), so it checks the claim's
// monotonic clock (maxQueued) only; the lease's end and probe_until come
// from d.now() taken at the same moment.
//
// The dispatcher runs on a pool of one connection (on SQLite, the
// database's own), which the test holds, in the transaction that records
// the deliveries, from when it wakes the dispatcher until maxQueued and a
// margin have passed: the claim's wait is this test's input, not a
// condition it waits for.
func TestAClaimThatWaitedForItsConnectionSendsWhatItClaimed(t *testing.T) {
	for _, n := range []int{1, 20, 200} {
		t.Run(fmt.Sprintf("%d deliveries", n), func(t *testing.T) {
			bu := setup(t)
			pool, err := bu.db.Pool(1)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = pool.Close() })
			rc := newReceiver(t, nil)
			ep := bu.endpoint(rc.url("/hooks"))
			rc.expect(ep.Secret)
			cfg := bu.config()
			cfg.PollInterval = time.Hour // only Wake and the commit wake it
			d, err := NewDispatcher(pool, bu.outbox, cfg)
			if err != nil {
				t.Fatal(err)
			}
			run(t, d)

			// Proven healthy first, so that one claim takes many of its
			// deliveries, as a busy endpoint's claims do.
			const warm = 10
			for i := range warm {
				bu.enqueue(abilityEvent(int64(1000+i), 1))
			}
			waitFor(t, "the receiver to get the first deliveries", func() bool { return rc.count() >= warm })

			events := make([]Event, n)
			for i := range events {
				events[i] = abilityEvent(int64(i+1), 1)
			}
			var held time.Duration
			err = pool.Transaction(func(tx *gorm.DB) error {
				if _, err := bu.outbox.Enqueue(context.Background(), tx, events); err != nil {
					return err
				}
				// Woken, the first lane's claim waits for the connection
				// from now on (or its claim at start, which took no
				// deliveries yet, waits already).
				start := time.Now()
				d.Wake()
				hold := time.NewTimer(maxQueued + 500*time.Millisecond)
				defer hold.Stop()
				<-hold.C
				held = time.Since(start)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if held <= maxQueued {
				t.Fatalf("the connection was held %v, want more than maxQueued (%v)", held, maxQueued)
			}
			bu.outbox.Committed()
			waitFor(t, "the receiver to get every delivery", func() bool { return rc.count() >= warm+n })
			var deliveries []struct {
				Status   string
				Attempts int64
			}
			waitFor(t, "every delivery to be recorded SUCCEEDED", func() bool {
				deliveries = nil
				if err := bu.db.Raw("SELECT d.status, (SELECT COUNT(*) FROM webhook_attempts a WHERE a.delivery_id = d.id) AS attempts" +
					" FROM webhook_deliveries d").Scan(&deliveries).Error; err != nil {
					t.Fatal(err)
				}
				for _, dl := range deliveries {
					if dl.Status != StatusSucceeded {
						return false
					}
				}
				return len(deliveries) == warm+n
			})
			for _, dl := range deliveries {
				if dl.Attempts != 1 {
					t.Errorf("a delivery has %d attempts, want 1", dl.Attempts)
				}
			}
			if got := rc.count(); got != warm+n {
				t.Errorf("the receiver got %d requests, want %d", got, warm+n)
			}
			// The claim's n jobs then wait for the lane's 8 workers, well
			// within maxQueued (the longest wait seen: 32 ms on SQLite, 74
			// ms on MariaDB, a loaded machine); the race detector slows
			// the workers too much for that to be promised, and there
			// only the claim's whole batch given back is the fault.
			got := metric(t, d, "outdial_webhook_deliveries_given_back_total", "reason", givenBackWaited)
			switch {
			case got >= float64(n):
				t.Errorf("all %v deliveries given back for having waited (the connection held %v)", got, held)
			case got > 0 && !raceDetector:
				t.Errorf("%v deliveries given back for having waited, want 0 (the connection held %v)", got, held)
			case got > 0:
				t.Logf("%v of %d deliveries given back for having waited for a worker (race detector)", got, n)
			}
		})
	}
}
