package webhooks

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"outdial/models"
)

// TestResultOfADeliveryNoLongerHeldIsNotApplied: a delivery settled by
// someone else (its endpoint deleted) or taken over by another process
// while its attempt was in flight keeps the state given to it there (the
// write is fenced by the lease), but the attempt, which was made, is
// recorded: the history says what was sent.
func TestResultOfADeliveryNoLongerHeldIsNotApplied(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		meddle  map[string]any
		wantEnd string
	}{
		{"Settled", map[string]any{"status": StatusFailed, "lease_owner": nil, "lease_expires_at": nil, "next_attempt_at": nil}, StatusFailed},
		{"TakenOver", map[string]any{"lease_owner": "d_another"}, StatusPending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			arrived, answer := make(chan struct{}, 1), make(chan struct{})
			rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				arrived <- struct{}{}
				<-answer
				w.WriteHeader(http.StatusOK)
			})
			b.endpoint(rc.url("/"))
			b.start(b.config())
			id := b.onlyDelivery(b.enqueue(abilityEvent(1, 1))[0].ID).ID
			<-arrived
			if err := elsewhere(b.db, func(tx *gorm.DB) error {
				return tx.Model(&models.WebhookDelivery{}).Where("id = ?", id).Updates(tc.meddle).Error
			}); err != nil {
				t.Fatal(err)
			}
			close(answer)
			waitFor(t, "the result written", func() bool {
				return strings.Contains(b.logs.String(), "webhook results not applied")
			})
			if as := b.attempts(id); len(as) != 1 {
				t.Errorf("%d attempts recorded for the one request made, want 1", len(as))
			}
			if got := b.delivery(id); got.Status != tc.wantEnd || got.AttemptCount != 0 {
				t.Errorf("delivery %s after %d attempts, want %s after 0", got.Status, got.AttemptCount, tc.wantEnd)
			}
		})
	}
}

// slowReceiver answers every request after pause and notes when each
// arrived.
type slowReceiver struct {
	*receiver
	mu         sync.Mutex
	arrivals   []time.Time
	answering  int // requests being answered
	mostAtOnce int // the most answered at once
}

func newSlowReceiver(t *testing.T, pause time.Duration) *slowReceiver {
	s := &slowReceiver{}
	s.receiver = newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		s.mu.Lock()
		s.arrivals = append(s.arrivals, time.Now())
		s.answering++
		s.mostAtOnce = max(s.mostAtOnce, s.answering)
		s.mu.Unlock()
		time.Sleep(pause)
		s.mu.Lock()
		s.answering--
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})
	return s
}

// lateAfter counts the requests that arrived after t beyond those that
// may have been sent already: as many as were ever answered at once (a
// send begun just before t may arrive any time later on a loaded
// machine; sends begun after t would be more).
func (s *slowReceiver) lateAfter(t time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.arrivals {
		if a.After(t) {
			n++
		}
	}
	return max(0, n-s.mostAtOnce)
}

// failEndpoint disables or deletes an endpoint as the endpoint commands
// do: the endpoint and its pending deliveries FAILED, in one transaction
// (run again after a lost deadlock or a lock wait timeout).
func failEndpoint(t *testing.T, db *models.DB, id int64, deleted bool, now time.Time) {
	t.Helper()
	err := elsewhere(db, func(tx *gorm.DB) error {
		if _, err := NewDeliveries(db.Dialect).Fail(tx, id, now); err != nil {
			return err
		}
		change := map[string]any{"enabled": false, "updated_at": now}
		if deleted {
			change["deleted_at"] = now
		}
		return tx.Model(&models.WebhookEndpoint{}).Where("id = ?", id).Updates(change).Error
	})
	if err != nil {
		t.Fatalf("fail endpoint: %v", err)
	}
}

// checkNothingSentAfter checks that the endpoint's deliveries all ended
// FAILED or SUCCEEDED, that rc got no request after quiet (beyond those
// already sent, see lateAfter), and that every
// request rc got has its attempt row (those in flight when the endpoint
// was disabled are on FAILED deliveries).
func checkNothingSentAfter(t *testing.T, b *bundle, rc *slowReceiver, endpointID int64, quiet time.Time) {
	t.Helper()
	// The attempt rows of the requests in flight at quiet are written
	// once they end: wait for that (the condition), then for no
	// delivery to be left PENDING.
	attemptsAndStatuses := func() (attempts, succeeded, open int, ds []models.WebhookDelivery) {
		b.db.Where("endpoint_id = ?", endpointID).Find(&ds)
		for _, del := range ds {
			attempts += len(b.attempts(del.ID))
			switch del.Status {
			case StatusSucceeded:
				succeeded++
			case StatusFailed:
			default:
				open++
			}
		}
		return attempts, succeeded, open, ds
	}
	waitWithin(t, time.Minute, "an attempt row for every request and no delivery open", func() bool {
		attempts, _, open, _ := attemptsAndStatuses()
		return open == 0 && attempts == rc.count()
	})
	// "Nothing after quiet" can only be seen over a window: a request
	// sent after quiet would arrive within it. This one is the behaviour
	// under test, not a wait for a condition.
	window := time.NewTimer(time.Until(quiet) + time.Second)
	<-window.C
	if n := rc.lateAfter(quiet); n > 0 {
		t.Errorf("the receiver got %d requests after the endpoint was disabled", n)
	}
	attempts, succeeded, _, ds := attemptsAndStatuses()
	if attempts != rc.count() {
		t.Errorf("%d attempt rows for %d requests received", attempts, rc.count())
	}
	t.Logf("%d of %d deliveries succeeded before the endpoint was disabled; %d requests in all",
		succeeded, len(ds), rc.count())
}

// TestEndpointDeletedInProcessStopsQueuedDeliveries: a command of this
// process deletes an endpoint with deliveries queued in the dispatcher's
// lanes; none of them is sent after it commits: the outbox's notice
// stops them at once.
func TestEndpointDeletedInProcessStopsQueuedDeliveries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newSlowReceiver(t, 200*time.Millisecond)
	ep := b.endpoint(rc.url("/"))
	cfg := b.config()
	cfg.FirstAttemptWorkers = 2
	b.start(cfg)
	b.enqueue(agentEvents(60, 1)...)
	waitFor(t, "three requests", func() bool { return rc.count() >= 3 })
	failEndpoint(t, b.db, ep.ID, true, b.clock.Now())
	b.outbox.EndpointChanged(ep.ID)
	checkNothingSentAfter(t, b, rc, ep.ID, time.Now())
}

// TestEndpointDisabledElsewhereStopsQueuedDeliveries: another process
// disables an endpoint (a command, or a 410 it got): this dispatcher
// stops sending what it queued for it within maxQueued.
func TestEndpointDisabledElsewhereStopsQueuedDeliveries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newSlowReceiver(t, 200*time.Millisecond)
	ep := b.endpoint(rc.url("/"))
	cfg := b.config()
	cfg.FirstAttemptWorkers = 2
	b.start(cfg)
	b.enqueue(agentEvents(60, 1)...)
	waitFor(t, "three requests", func() bool { return rc.count() >= 3 })
	failEndpoint(t, b.db, ep.ID, false, b.clock.Now())
	checkNothingSentAfter(t, b, rc, ep.ID, time.Now().Add(maxQueued))
}

// TestEndpointURLAndSecretChangedElsewhere: another process gives an
// endpoint a new URL and rotates its secret while deliveries wait in
// this dispatcher's lanes; those sent afterwards go to the new URL,
// signed with the new secret only, and every delivery succeeds once.
func TestEndpointURLAndSecretChangedElsewhere(t *testing.T) {
	t.Parallel()
	b := setup(t)
	oldRC := newSlowReceiver(t, 200*time.Millisecond)
	newRC := newSlowReceiver(t, 0)
	ep := b.endpoint(oldRC.url("/"))
	cfg := b.config()
	cfg.FirstAttemptWorkers = 2
	b.start(cfg)
	evs := b.enqueue(agentEvents(30, 1)...)
	waitFor(t, "three requests", func() bool { return oldRC.count() >= 3 })
	moveEndpoint(t, b, ep.ID, newRC.receiver)
	changed := time.Now()
	for _, ev := range evs {
		b.waitStatus(b.onlyDelivery(ev.ID).ID, StatusSucceeded, 1)
	}
	if n := oldRC.lateAfter(changed.Add(maxQueued)); n > 0 {
		t.Errorf("the old URL got %d requests after the change", n)
	}
	if oldRC.count()+newRC.count() != len(evs) {
		t.Errorf("%d requests to the old URL and %d to the new one, want %d in all", oldRC.count(), newRC.count(), len(evs))
	}
	signedWithOnlyItsSecret(t, newRC.receiver)
	t.Logf("%d requests to the old URL, %d to the new one", oldRC.count(), newRC.count())
}

// elsewhere runs fn in a transaction as another process's command would:
// run again after a lost deadlock or a lock wait timeout (the dispatcher
// of this test holds locks on the same rows).
func elsewhere(db *models.DB, fn func(tx *gorm.DB) error) error {
	return models.RetryLocks(context.Background(), func() error { return db.Transaction(fn) })
}

// TestEndpointChangedWhileAClaimIsUnderWay: an endpoint command commits
// while a claim is under way (its transaction read the endpoint and
// committed, its jobs are not queued yet, so that the outbox's notice
// finds nothing of them in the lanes to drop). The claim's jobs are not
// sent with what it read: given a new URL and secret, the endpoint gets
// every delivery at the new URL signed with the new secret only, and
// the old URL gets nothing; deleted, it gets nothing. (A deletion, as a
// disabling, also FAILs the delivery and clears its lease, which the
// check before an attempt finds once the claim's reading is older than
// heldFor, lease.go; a new URL or secret leaves the lease.)
func TestEndpointChangedWhileAClaimIsUnderWay(t *testing.T) {
	t.Parallel()
	for _, deleted := range []bool{false, true} {
		name := "NewURLAndSecret"
		if deleted {
			name = "Deleted"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.outbox = NewOutbox(b.clock.Now, WithRecentEvents(0, 0)) // every claim reads its events: pauseClaim's place
			paused, resume := pauseClaim(t, b.db)
			oldRC, newRC := newReceiver(t, nil), newReceiver(t, nil)
			ep := b.endpoint(oldRC.url("/"))
			d := b.start(b.config())
			t.Cleanup(resume) // before the dispatcher stops, should the test end early
			evs := b.enqueue(agentEvents(3, 1)...)
			select {
			case <-paused:
			case <-time.After(time.Minute):
				t.Fatal("timed out waiting for a claim to lease a delivery")
			}
			if deleted {
				failEndpoint(t, b.db, ep.ID, true, b.clock.Now())
			} else {
				moveEndpoint(t, b, ep.ID, newRC)
			}
			b.outbox.EndpointChanged(ep.ID) // as the command does after its commit
			resume()
			if deleted {
				// The claim has ended once the pacer counts nothing
				// claimed for the endpoint: its job was given back, or
				// (sent or not) its attempt finished.
				waitFor(t, "the paused claim to end", func() bool { return claimedOf(d, ep.ID) == 0 })
				for _, ev := range evs {
					if del := b.onlyDelivery(ev.ID); del.Status != StatusFailed || len(b.attempts(del.ID)) > 0 {
						t.Errorf("delivery %d %s after %d attempts, want FAILED after none", del.ID, del.Status, len(b.attempts(del.ID)))
					}
				}
			} else {
				for _, ev := range evs {
					b.waitStatus(b.onlyDelivery(ev.ID).ID, StatusSucceeded, 1)
				}
				if newRC.count() != len(evs) {
					t.Errorf("the new URL got %d requests, want %d", newRC.count(), len(evs))
				}
				signedWithOnlyItsSecret(t, newRC)
			}
			// The claim was paused before anything was sent: any request
			// to the old URL was sent after the change committed.
			if n := oldRC.count(); n > 0 {
				t.Errorf("the old URL got %d requests after the endpoint changed, want none", n)
			}
		})
	}
}

// pauseClaim makes the first claim on db that leases deliveries stop
// after its transaction committed, before its jobs are queued: at its
// read of their events, which a claim makes when the outbox kept none
// (WithRecentEvents(0, 0)). The read has not taken a connection yet
// (SQLite's one is free). paused is closed once the claim stopped;
// resume lets it go on (and may be called more than once). Call it
// before anything else uses db: gorm's callbacks may not be registered
// while another goroutine runs statements.
func pauseClaim(t *testing.T, db *models.DB) (paused <-chan struct{}, resume func()) {
	t.Helper()
	stopped, goOn := make(chan struct{}), make(chan struct{})
	var first, resumed sync.Once
	err := db.Callback().Row().Before("gorm:row").Register("test:pause_claim", func(tx *gorm.DB) {
		if strings.HasPrefix(tx.Statement.SQL.String(), "SELECT id, message_id, payload FROM webhook_events") {
			first.Do(func() {
				close(stopped)
				<-goOn
			})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return stopped, func() { resumed.Do(func() { close(goOn) }) }
}

// claimedOf returns how many deliveries to the endpoint id d holds
// (queued or running) or has reserved room for in a claim.
func claimedOf(d *Dispatcher, id int64) int {
	d.pacer.mu.Lock()
	defer d.pacer.mu.Unlock()
	if e := d.pacer.eps[id]; e != nil {
		return e.claimed()
	}
	return 0
}

// TestOtherEndpointsChangingDoNotHoldBackAClaim edits other endpoints
// (the notice a command sends after it changed one) while every claim is
// under way, and keeps editing until every delivery is sent: a change of
// one endpoint gives back only that endpoint's jobs, so an agent app
// that edits its own endpoint in a loop does not hold back the
// deliveries of the others. (When any change gave back a whole claim, no
// delivery was sent while the edits went on.) Members of the class: an
// unrelated endpoint with nothing queued, and a second endpoint that
// receives deliveries of its own.
func TestOtherEndpointsChangingDoNotHoldBackAClaim(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"UnrelatedEndpoint", "BusyEndpoint"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			rc := newReceiver(t, nil)
			b.endpoint(rc.url("/"))
			var other int64
			if name == "BusyEndpoint" {
				other = b.endpoint(newReceiver(t, nil).url("/other")).ID
			} else {
				now := b.clock.Now()
				ep := models.WebhookEndpoint{URL: "http://127.0.0.1:9/", Enabled: false, Secret: NewSecret(), CreatedAt: now, UpdatedAt: now}
				if err := b.db.Create(&ep).Error; err != nil {
					t.Fatal(err)
				}
				other = ep.ID
			}
			var editing atomic.Bool
			editing.Store(true)
			t.Cleanup(func() { editing.Store(false) })
			var edits atomic.Int64
			// At each claim's read of the endpoints, in its transaction,
			// after it took its mark: as if an edit committed then.
			if err := b.db.Callback().Row().After("gorm:row").Register("test:edit_during_claim", func(tx *gorm.DB) {
				if editing.Load() && strings.HasPrefix(tx.Statement.SQL.String(), "SELECT id, CASE WHEN enabled") {
					edits.Add(1)
					b.outbox.EndpointChanged(other)
				}
			}); err != nil {
				t.Fatal(err)
			}
			b.start(b.config())
			evs := b.enqueue(agentEvents(5, 1)...)
			for _, ev := range evs {
				for _, del := range b.deliveriesOf(ev.ID) {
					if del.EndpointID != other {
						b.waitStatus(del.ID, StatusSucceeded, 1)
					}
				}
			}
			t.Logf("%d edits of endpoint %d during claims; the endpoint not edited got %d requests", edits.Load(), other, rc.count())
			if edits.Load() == 0 {
				t.Error("no claim read the endpoints while the test edited: the test's hook missed the claim's read")
			}
		})
	}
}

// TestEndpointChangedWhileAWorkerBeginsItsAttempt changes an endpoint's
// URL and secret while a worker that took its job out of the lane (where
// endpointChanged's drop cannot find it) is about to make its attempt.
// The job is given back, not sent with what its claim read: the old URL
// gets nothing, the new URL the delivery signed with the new secret.
func TestEndpointChangedWhileAWorkerBeginsItsAttempt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	stopped, goOn := make(chan struct{}), make(chan struct{})
	var first, resumed sync.Once
	cfg := b.config()
	cfg.taken = func() {
		first.Do(func() {
			close(stopped)
			<-goOn
		})
	}
	resume := func() { resumed.Do(func() { close(goOn) }) }
	t.Cleanup(resume)
	oldRC, newRC := newReceiver(t, nil), newReceiver(t, nil)
	ep := b.endpoint(oldRC.url("/"))
	b.start(cfg)
	ev := b.enqueue(abilityEvent(1, 1))[0]
	select {
	case <-stopped:
	case <-time.After(time.Minute):
		t.Fatal("timed out waiting for a worker to take the job")
	}
	moveEndpoint(t, b, ep.ID, newRC)
	b.outbox.EndpointChanged(ep.ID) // as the command does after its commit
	resume()
	b.waitStatus(b.onlyDelivery(ev.ID).ID, StatusSucceeded, 1)
	if n := oldRC.count(); n > 0 {
		t.Errorf("the old URL got %d requests after the endpoint changed, want none", n)
	}
	if newRC.count() != 1 {
		t.Errorf("the new URL got %d requests, want 1", newRC.count())
	}
	signedWithOnlyItsSecret(t, newRC)
}

// moveEndpoint gives the endpoint id the URL of rc and a new secret,
// which rc expects, in a transaction of its own (as another process's
// command would), without telling the outbox.
func moveEndpoint(t *testing.T, b *bundle, id int64, rc *receiver) {
	t.Helper()
	secret := NewSecret()
	rc.expect(secret)
	if err := elsewhere(b.db, func(tx *gorm.DB) error {
		return tx.Model(&models.WebhookEndpoint{}).Where("id = ?", id).
			Updates(map[string]any{"url": rc.url("/new"), "secret": secret}).Error
	}); err != nil {
		t.Fatal(err)
	}
}

// signedWithOnlyItsSecret fails t unless every request rc got verifies
// with the secret it expects and carries that one signature only.
func signedWithOnlyItsSecret(t *testing.T, rc *receiver) {
	t.Helper()
	for _, r := range rc.got() {
		if r.VerifyErr != nil || strings.Contains(r.Signature, " ") {
			t.Errorf("request to the new URL signed %q (%v), want the new secret only", r.Signature, r.VerifyErr)
		}
	}
}
