package webhooks

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"outdial/models"
	"outdial/models/dbtest"
)

func TestTwoDispatchersShareTheWork(t *testing.T) {
	t.Parallel()
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		testTwoDispatchers(t, "sqlite:"+filepath.Join(t.TempDir(), "shared.db"))
	})
	t.Run("MySQL", func(t *testing.T) {
		t.Parallel()
		if dbtest.MySQLURL() == "" {
			t.Skip("TEST_MYSQL_URL is not set: MySQL test skipped")
		}
		testTwoDispatchers(t, dbtest.URL(t))
	})
}

// testTwoDispatchers runs two dispatchers, each with its own connection
// pool and lease owner, on the database at url, and checks that they
// deliver 2,000 deliveries between them, each exactly once.
func testTwoDispatchers(t *testing.T, url string) {
	const events, endpoints = 1000, 2
	b, dbs := twoProcesses(t, url)
	var mu sync.Mutex
	inFlight := map[string]int{} // webhook-id and path → requests being answered
	overlap := 0
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		key := r.Header.Get("webhook-id") + r.URL.Path
		mu.Lock()
		inFlight[key]++
		if inFlight[key] > 1 {
			overlap++
		}
		mu.Unlock()
		time.Sleep(time.Millisecond) // long enough for both dispatchers to take part
		mu.Lock()
		inFlight[key]--
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	for i := range endpoints {
		rc.expect(b.endpoint(rc.url(fmt.Sprintf("/%d", i))).Secret)
	}
	rc.expect("")
	ds := [2]*Dispatcher{}
	for i := range ds {
		cfg := b.config()
		cfg.BatchSize = 100
		d, err := NewDispatcher(dbs[i], b.outbox, cfg)
		if err != nil {
			t.Fatal(err)
		}
		run(t, d)
		ds[i] = d
	}
	evs := make([]Event, events)
	for i := range evs {
		evs[i] = abilityEvent(int64(i+1), 1)
	}
	b.enqueue(evs...)
	// Two pools on one SQLite file take turns at its write lock: under
	// the race detector on a loaded machine that is a few dozen
	// deliveries a second. Wait while they make progress.
	waitProgress(t, "2,000 deliveries succeeded", events*endpoints, func() int64 {
		var n int64
		b.db.Model(&models.WebhookDelivery{}).Where("status = ?", StatusSucceeded).Count(&n)
		return n
	})

	seen := map[string]int{}
	for _, r := range rc.got() {
		seen[r.ID+r.Path]++
	}
	if len(seen) != events*endpoints {
		t.Errorf("the receiver got %d distinct deliveries, want %d", len(seen), events*endpoints)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("delivery %s received %d times", k, n)
		}
	}
	if overlap > 0 {
		t.Errorf("%d requests overlapped with the same delivery in flight", overlap)
	}
	var attempts int64
	b.db.Model(&models.WebhookAttempt{}).Count(&attempts)
	if attempts != events*endpoints {
		t.Errorf("%d attempts recorded, want %d", attempts, events*endpoints)
	}
	// A writer counts its successes just after its commit, which the
	// database shows first: wait for the counters to catch up.
	var counts [2]float64
	deadline := time.Now().Add(5 * time.Second)
	for {
		for i, d := range ds {
			counts[i] = metric(t, d, "outdial_webhook_deliveries_total", "outcome", outcomeSucceeded)
		}
		if counts[0]+counts[1] >= events*endpoints || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("the dispatchers delivered %v and %v", counts[0], counts[1])
	if counts[0] == 0 || counts[1] == 0 {
		t.Errorf("one dispatcher did all the work")
	}
	if total := counts[0] + counts[1]; total != events*endpoints {
		t.Errorf("the dispatchers counted %v successes together, want %d", total, events*endpoints)
	}
}

func TestExpiredLeaseIsTakenOver(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, nil)
	b.endpoint(rc.url("/"))
	evs := b.enqueue(abilityEvent(1, 1), abilityEvent(2, 1), abilityEvent(3, 1))

	// A process claims a delivery (one: the endpoint is not proven
	// healthy yet), then dies (kill -9) before sending. Its lease is
	// InFlightLease from the claim (lease.go).
	crashed, err := NewDispatcher(b.db, nil, b.config())
	if err != nil {
		t.Fatal(err)
	}
	jobs, _, _, err := crashed.claimJobs(context.Background(), crashed.lanes[0])
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim = %d jobs, %v; want 1", len(jobs), err)
	}
	leased := b.delivery(jobs[0].id)

	d := b.start(b.config())
	d.Wake()
	for _, ev := range evs {
		if id := b.onlyDelivery(ev.ID).ID; id != leased.ID {
			b.waitStatus(id, StatusSucceeded, 1) // recorded: the clock may jump past their leases
		}
	}
	stillCrashed := func() {
		t.Helper()
		if got := b.delivery(leased.ID); got.Status != StatusPending || processOf(deref(got.LeaseOwner)) != crashed.owner {
			t.Fatalf("the leased delivery is %s, leased to %v, before its lease expired", got.Status, deref(got.LeaseOwner))
		}
	}
	stillCrashed()
	if want := b.clock.Now().Add(crashed.cfg.InFlightLease); !leased.LeaseExpiresAt.Equal(want) {
		t.Errorf("leased until %v, want %v (InFlightLease from the claim)", leased.LeaseExpiresAt, want)
	}
	// A second before the lease ends, another claim takes nothing.
	start := b.clock.Now()
	b.clock.Set(start.Add(d.cfg.InFlightLease - time.Second))
	other, err := NewDispatcher(b.db, nil, b.config())
	if err != nil {
		t.Fatal(err)
	}
	if jobs, _, _, err := other.claimJobs(context.Background(), other.lanes[0]); err != nil || len(jobs) != 0 {
		t.Fatalf("a claim a second before the lease ends took %d jobs, %v; want none", len(jobs), err)
	}
	stillCrashed()
	b.clock.Set(start.Add(d.cfg.InFlightLease + time.Second))
	d.Wake()
	for _, ev := range evs {
		b.waitStatus(b.onlyDelivery(ev.ID).ID, StatusSucceeded, 1)
	}
	if rc.count() != 3 {
		t.Errorf("the receiver got %d requests, want 3", rc.count())
	}
	if !strings.Contains(b.logs.String(), "leases taken over") || !strings.Contains(b.logs.String(), crashed.owner) {
		t.Errorf("no log of the leases taken over from %s", crashed.owner)
	}
	if got := metric(t, d, "outdial_webhook_lease_takeovers_total"); got != 1 {
		t.Errorf("lease takeover counter = %v, want 1", got)
	}
}

// TestShutdownLeavesNoLease: a dispatcher leases only what its workers
// send at once, so that a shutdown during an attempt leaves nothing
// leased and another process sends the rest at once.
func TestShutdownLeavesNoLease(t *testing.T) {
	t.Parallel()
	b := setup(t)
	started := make(chan struct{}, 100)
	release := make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		started <- struct{}{}
		<-release
		w.WriteHeader(http.StatusNoContent)
	})
	b.endpoint(rc.url("/"))
	cfg := b.config()
	cfg.FirstAttemptWorkers = 1
	d, err := NewDispatcher(b.db, b.outbox, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, d)
	evs := make([]Event, 10)
	for i := range evs {
		evs[i] = abilityEvent(int64(i+1), 1)
	}
	b.enqueue(evs...)
	<-started // one attempt in flight
	var held int64
	b.db.Model(&models.WebhookDelivery{}).Where("lease_owner IS NOT NULL").Count(&held)
	if held != 1 {
		t.Errorf("%d deliveries leased with one worker, want the one it sends", held)
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	close(release)
	<-stopped

	var succeeded int64
	b.db.Model(&models.WebhookDelivery{}).Where("lease_owner IS NOT NULL").Count(&held)
	b.db.Model(&models.WebhookDelivery{}).Where("status = ?", StatusSucceeded).Count(&succeeded)
	if held != 0 {
		t.Errorf("%d deliveries still leased after shutdown", held)
	}
	if succeeded == 0 {
		t.Errorf("no delivery succeeded, want the one in flight")
	}
	// Another process picks up the rest at once.
	b.start(b.config())
	waitFor(t, "the released deliveries sent", func() bool { return rc.count() == 10 })
}

func TestHangingEndpointDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// The hanging endpoint hangs on its first request, made while the
	// healthy one gets its first attempts, and on every retry, made while
	// it gets fresh ones. Its other first attempts fail at once: were
	// they to hang too, each would hold the endpoint's one attempt at a
	// time (pacer.go) for the whole timeout, and whether a retry or
	// another first attempt takes the next one is not promised, so that
	// a retry could wait behind all twenty of them.
	//
	// A hanging request is answered 503 once the test no longer needs it
	// to hang (firstHangs, retriesHang), rather than left to time out:
	// the test then takes a second, not two timeouts.
	var seenMu sync.Mutex
	seen := map[string]bool{}
	var retriesHanging atomic.Int64
	firstHangs, retriesHang := make(chan struct{}), make(chan struct{})
	releaseFirst := sync.OnceFunc(func() { close(firstHangs) })
	defer releaseFirst()
	defer close(retriesHang)
	hang := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		seenMu.Lock()
		retry := seen[r.Header.Get("webhook-id")]
		seen[r.Header.Get("webhook-id")] = true
		seenMu.Unlock()
		switch {
		case retry:
			retriesHanging.Add(1)
			defer retriesHanging.Add(-1)
			hangUntil(r, retriesHang)
		case n == 1:
			hangUntil(r, firstHangs)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	var mu sync.Mutex
	var arrivals []time.Time
	healthy := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	b.endpoint(hang.url("/"))
	b.endpoint(healthy.url("/"))
	cfg := b.config()
	// Waiting behind the hanging endpoint would mean waiting for its
	// timeout: long enough that a loaded machine delivers 20 well before.
	cfg.Timeout = 10 * time.Second
	cfg.FirstAttemptWorkers, cfg.RetryWorkers = 4, 2
	d := b.start(cfg)
	batch := func(version int64) []Event {
		evs := make([]Event, 20)
		for i := range evs {
			evs[i] = abilityEvent(int64(i+1), version)
		}
		return evs
	}
	// measure enqueues 20 events for both endpoints and returns how long
	// the healthy one took to receive its 20.
	measure := func(version int64) time.Duration {
		mu.Lock()
		arrivals = nil
		mu.Unlock()
		start := time.Now()
		b.enqueue(batch(version)...)
		waitFor(t, "the healthy endpoint's deliveries", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(arrivals) == 20
		})
		mu.Lock()
		defer mu.Unlock()
		return arrivals[19].Sub(start)
	}
	first := measure(1)
	t.Logf("first attempts: the healthy endpoint got 20 deliveries in %v beside a hanging one (timeout %v)", first, cfg.Timeout)
	if first >= cfg.Timeout {
		t.Errorf("the healthy endpoint waited %v, want less than the %v timeout", first, cfg.Timeout)
	}
	// Now the hanging endpoint's first attempts fail (the one hanging is
	// answered now) and wait as retries; make them due, so that retries
	// hang while fresh deliveries arrive.
	releaseFirst()
	waitFor(t, "the hanging endpoint's first attempts to fail", func() bool {
		var n int64
		b.db.Model(&models.WebhookDelivery{}).Where("attempt_count = 1 AND status = ? AND lease_owner IS NULL", StatusPending).Count(&n)
		return n >= 2
	})
	b.clock.Advance(time.Minute)
	d.Wake()
	waitFor(t, "a retry hanging", func() bool { return retriesHanging.Load() >= 1 })
	second := measure(2)
	t.Logf("with retries hanging: the healthy endpoint got 20 deliveries in %v", second)
	if second >= cfg.Timeout {
		t.Errorf("with retries hanging, the healthy endpoint waited %v, want less than the %v timeout", second, cfg.Timeout)
	}
}

func TestBackedUpEndpointIsLeftOutOfClaims(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hangs := make(chan struct{})
	defer close(hangs) // answered when the test is done, not left to time out
	hang := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		hangUntil(r, hangs)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	healthy := newReceiver(t, nil)
	h := b.endpoint(hang.url("/"))
	cfg := b.config()
	cfg.Timeout = 10 * time.Second // see TestHangingEndpointDoesNotDelayOthers
	cfg.FirstAttemptWorkers, cfg.RetryWorkers, cfg.BatchSize = 2, 1, 4
	// The hanging endpoint's deliveries are older: they come first in due order.
	b.enqueue(agentEvents(30, 1)...)
	b.endpoint(healthy.url("/"))
	b.clock.Advance(time.Second)
	b.start(cfg)
	start := time.Now()
	b.enqueue(agentEvents(10, 2)...) // 10 to each endpoint
	waitFor(t, "the healthy endpoint's deliveries", func() bool { return healthy.count() == 10 })
	if took := time.Since(start); took >= cfg.Timeout {
		t.Errorf("the healthy endpoint waited %v behind a backed-up one (timeout %v)", took, cfg.Timeout)
	}
	var leased int64
	b.db.Model(&models.WebhookDelivery{}).Where("endpoint_id = ? AND lease_owner IS NOT NULL", h.ID).Count(&leased)
	if leased > 12 {
		t.Errorf("%d of the backed-up endpoint's 40 deliveries are claimed, want no more than its queue holds (8) and a batch", leased)
	}
	t.Logf("%d of the backed-up endpoint's deliveries claimed; the healthy one got its 10 in %v", leased, time.Since(start))
}

// TestShutdownHasADeadlineWithTheDatabaseGone: the database goes away
// while an attempt is in flight, so that its result cannot be recorded;
// the writer keeps it and retries, but a shutdown still ends within
// ShutdownTimeout, saying what it could not record (run checks that Run
// returns).
func TestShutdownHasADeadlineWithTheDatabaseGone(t *testing.T) {
	t.Parallel()
	b := setupOn(t, dbtest.OpenSQLite(t))
	started, release := make(chan struct{}, 1), make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		started <- struct{}{}
		<-release
		w.WriteHeader(http.StatusNoContent)
	})
	b.endpoint(rc.url("/"))
	cfg := b.config()
	cfg.Timeout, cfg.recordGrace = time.Second, time.Second
	d, err := NewDispatcher(b.db, b.outbox, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, d)
	b.enqueue(abilityEvent(1, 1))
	<-started
	if err := b.db.Close(); err != nil {
		t.Fatal(err)
	}
	close(release)
	waitFor(t, "the writer to fail", func() bool { return strings.Contains(b.logs.String(), "recording webhook results failed") })
	stop()
	if !strings.Contains(b.logs.String(), "webhook results not recorded at shutdown") {
		t.Errorf("no log of the results left unrecorded at shutdown:\n%s", b.logs.String())
	}
}

// TestSettledElsewhereIsNotSent: a delivery this process claimed, and
// that another process then settles without holding its lease (FAILED:
// it disabled or deleted the endpoint; SUPERSEDED: it delivered a newer
// version of the agent's ability to the same endpoint), or takes over
// (its lease released and claimed there), is not sent when a worker here
// comes to it heldFor or more after its claim: the worker asks the
// database right before the attempt (lease.go).
func TestSettledElsewhereIsNotSent(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		settle func(t *testing.T, b *bundle, d *Dispatcher, ep models.WebhookEndpoint, claimed models.WebhookDelivery)
		status string
	}{
		{"endpoint disabled elsewhere", func(t *testing.T, b *bundle, d *Dispatcher, ep models.WebhookEndpoint, _ models.WebhookDelivery) {
			if n, err := d.deliveries.Fail(b.db.DB, ep.ID, b.clock.Now()); err != nil || n != 3 {
				t.Fatalf("fail = %d, %v", n, err)
			}
		}, StatusFailed},
		{"newer version delivered elsewhere", func(t *testing.T, b *bundle, d *Dispatcher, _ models.WebhookEndpoint, claimed models.WebhookDelivery) {
			newer := b.onlyDelivery(b.enqueue(abilityEvent(*claimed.AgentID, *claimed.Version+1))[0].ID)
			if err := b.db.Exec("UPDATE webhook_deliveries SET status = ?, next_attempt_at = NULL WHERE id = ?", StatusSucceeded, newer.ID).Error; err != nil {
				t.Fatal(err)
			}
			if n, err := d.deliveries.supersede(b.db.DB, []int64{newer.ID}, nil, b.clock.Now()); err != nil || n != 1 {
				t.Fatalf("supersede = %d, %v", n, err)
			}
		}, StatusSuperseded},
		{"taken over elsewhere", func(t *testing.T, b *bundle, d *Dispatcher, _ models.WebhookEndpoint, claimed models.WebhookDelivery) {
			if err := b.db.Exec("UPDATE webhook_deliveries SET lease_owner = ? WHERE id = ?", "d_other.1", claimed.ID).Error; err != nil {
				t.Fatal(err)
			}
		}, StatusPending},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			rc := newReceiver(t, nil)
			ep := b.endpoint(rc.url("/"))
			b.enqueue(abilityEvent(1, 1), abilityEvent(2, 1), abilityEvent(3, 1))
			d, l, j := claimOne(t, b)
			c.settle(t, b, d, ep, b.delivery(j.id))
			j.heldAt.Store(monoNow() - int64(heldFor)) // the claim's reading is no longer trusted
			r := d.handle(context.Background(), l, j)
			if !r.dropped || r.attempted || !r.settled || r.lapsed {
				t.Errorf("the worker's result: dropped %v, attempted %v, settled elsewhere %v, lapsed %v; want dropped, settled elsewhere",
					r.dropped, r.attempted, r.settled, r.lapsed)
			}
			if rc.count() != 0 {
				t.Errorf("the receiver got %d requests for a delivery settled elsewhere, want 0", rc.count())
			}
			if got := b.delivery(j.id).Status; got != c.status {
				t.Errorf("the delivery is %s, want %s", got, c.status)
			}
		})
	}
}

// TestLapsedLeaseIsNotSent: a worker that comes to a job whose lease, by
// this process's clock, ends before an attempt surely does (the attempt
// timeout and a second) sends nothing, though the database still shows
// the lease as this process's: a process paused past its lease may find
// another process about to take the delivery over.
func TestLapsedLeaseIsNotSent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, nil)
	b.endpoint(rc.url("/"))
	b.enqueue(abilityEvent(1, 1))
	d, l, j := claimOne(t, b)
	b.clock.Advance(d.cfg.InFlightLease - d.cfg.Timeout - lapseMargin/2)
	r := d.handle(context.Background(), l, j)
	if !r.lapsed || r.attempted || rc.count() != 0 {
		t.Errorf("lapsed %v, attempted %v, %d requests; want lapsed, nothing sent", r.lapsed, r.attempted, rc.count())
	}
}

// TestFreshClaimIsNotCheckedAgain: a worker that comes to a job less than
// heldFor after its claim sends it without reading the delivery again
// (lease.go: on SQLite's one connection that read, before nearly every
// attempt of a fan-out, cost about as much as the extension the one
// lease replaced); one that comes later reads it once, and the jobs
// queued next with it.
func TestFreshClaimIsNotCheckedAgain(t *testing.T) {
	t.Parallel()
	for _, stale := range []bool{false, true} {
		t.Run(fmt.Sprintf("stale=%v", stale), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var checks atomic.Int64
			if err := b.db.Callback().Row().Before("gorm:row").Register("test:count_checks", func(tx *gorm.DB) {
				if sql := tx.Statement.SQL.String(); strings.HasPrefix(sql, "SELECT id FROM webhook_deliveries") && strings.Contains(sql, "lease_owner = ?") {
					checks.Add(1)
				}
			}); err != nil {
				t.Fatal(err)
			}
			rc := newReceiver(t, nil)
			b.endpoint(rc.url("/"))
			b.enqueue(abilityEvent(1, 1))
			d, l, j := claimOne(t, b)
			if stale {
				j.heldAt.Store(monoNow() - int64(heldFor))
			} else {
				j.heldAt.Store(monoNow()) // however slow the machine was since the claim
			}
			r := d.handle(context.Background(), l, j)
			if !r.attempted || rc.count() != 1 {
				t.Fatalf("attempted %v, %d requests; want the delivery sent", r.attempted, rc.count())
			}
			want := int64(0)
			if stale {
				want = 1
			}
			if checks.Load() != want {
				t.Errorf("%d reads of the delivery before its attempt, want %d", checks.Load(), want)
			}
		})
	}
}

// claimOne has a dispatcher that is not running claim one job of its
// first lane (the endpoint is not proven healthy: one at a time), with
// its begin loop running until the test ends, for tests of what a worker
// does with the job (handle).
func claimOne(t *testing.T, b *bundle) (*Dispatcher, *lane, *job) {
	t.Helper()
	d, err := NewDispatcher(b.db, nil, b.config())
	if err != nil {
		t.Fatal(err)
	}
	l := d.lanes[0]
	jobs, _, _, err := d.claimJobs(context.Background(), l)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim = %d jobs, %v; want 1", len(jobs), err)
	}
	loop := make(chan struct{})
	go func() { d.beginLoop(d.begins); close(loop) }()
	t.Cleanup(func() { d.begins.close(); <-loop })
	return d, l, jobs[0]
}
