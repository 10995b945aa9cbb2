package webhooks

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"outdial/models"
	"outdial/models/dbtest"
)

// handOffBundle starts a dispatcher that claims only when woken (polls an
// hour apart) with its statements counted, and an endpoint it has proven
// healthy with one delivery. The receiver notes the dispatcher's
// statement count at each request.
type handOffBundle struct {
	*bundle
	count *dbtest.Counter
	d     *Dispatcher
	ep    models.WebhookEndpoint
	rc    *receiver

	mu     sync.Mutex
	counts []int64 // the dispatcher's statements when each request arrived
}

func setupHandOff(t *testing.T) *handOffBundle {
	b := &handOffBundle{bundle: setup(t), count: &dbtest.Counter{}}
	dbtest.CountStatements(t, b.db)
	b.rc = newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		b.mu.Lock()
		b.counts = append(b.counts, b.count.Count())
		b.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	b.ep = b.endpoint(b.rc.url("/"))
	b.rc.expect(b.ep.Secret)
	cfg := b.config()
	cfg.PollInterval, cfg.StatsInterval = time.Hour, time.Hour
	d, err := NewDispatcher(b.db, b.outbox, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.d = d
	ctx, cancel := context.WithCancel(b.count.Context(context.Background()))
	done := make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); awaitStopped(t, "Dispatcher.Run", done, time.Minute) })
	// The first delivery to an endpoint is claimed: it proves the endpoint.
	b.waitStatus(b.onlyDelivery(b.enqueue(abilityEvent(1, 1))[0].ID).ID, StatusSucceeded, 1)
	return b
}

// write records events in one transaction through a Writer, as a command
// does, and reports the commit with Committed; beforeCommit runs in the
// transaction after the write.
func (b *handOffBundle) write(beforeCommit func(), events ...Event) []models.WebhookEvent {
	b.t.Helper()
	var w *Writer
	var rows []models.WebhookEvent
	err := models.RetryLocks(context.Background(), func() error {
		return b.db.Transaction(func(tx *gorm.DB) error {
			w = b.outbox.Writer(context.Background(), tx)
			var err error
			if rows, err = w.Write(events); err == nil && beforeCommit != nil {
				beforeCommit()
			}
			return err
		})
	})
	if err != nil {
		b.t.Fatalf("write: %v", err)
	}
	w.Committed(false)
	return rows
}

// TestSmallWriteIsHandedOff: once its endpoint is proven healthy, a
// one-agent change's delivery is recorded leased to this process by the
// change's own transaction and sent without a statement of the dispatcher
// in between — no claim, no extension of its lease, each a durable
// COMMIT of its own on MariaDB (handoff.go). It is recorded delivered
// under that lease, once.
func TestSmallWriteIsHandedOff(t *testing.T) {
	b := setupHandOff(t)
	for v := int64(2); v <= 4; v++ {
		// After the previous delivery's result the lane, which has room
		// again, may look for work (a claim that finds none: two
		// statements); under -race on SQLite that came after the result
		// was visible and was counted against the next change. Wait for
		// the dispatcher to be quiet before counting.
		quiet(t, b.count)
		b.count.Reset()
		seen := b.rc.count()
		id := b.onlyDelivery(b.write(nil, abilityEvent(1, v))[0].ID).ID
		waitFor(t, "the webhook", func() bool { return b.rc.count() > seen })
		b.mu.Lock()
		n := b.counts[seen]
		b.mu.Unlock()
		if n != 0 {
			t.Fatalf("version %d: the dispatcher ran %d statements before the attempt, want none", v, n)
		}
		if d := b.waitStatus(id, StatusSucceeded, 1); d.AttemptCount != 1 {
			t.Fatalf("version %d: %d attempts recorded, want 1", v, d.AttemptCount)
		}
	}
	if n := b.rc.count(); n != 4 {
		t.Fatalf("%d webhooks received, want 4", n)
	}
}

// TestHandOffGivesBackAfterAnEndpointChange: when an endpoint command
// commits while a change's transaction runs, what that transaction read
// of the endpoint may be old: its deliveries are given back, due at once,
// and claimed with the endpoint as it is then.
func TestHandOffGivesBackAfterAnEndpointChange(t *testing.T) {
	b := setupHandOff(t)
	quiet(t, b.count)
	b.count.Reset()
	rows := b.write(func() { b.outbox.EndpointChanged(b.ep.ID) }, abilityEvent(1, 2))
	d := b.waitStatus(b.onlyDelivery(rows[0].ID).ID, StatusSucceeded, 1)
	if d.AttemptCount != 1 {
		t.Fatalf("%d attempts recorded, want 1", d.AttemptCount)
	}
	b.mu.Lock()
	n := b.counts[1]
	b.mu.Unlock()
	if n == 0 {
		t.Fatal("the delivery was sent without a claim after its endpoint changed")
	}
}

// TestHandOffGivesBackAfterTheWriterDisabledItsEndpoint: the result
// writer disables an endpoint (it answered 410 Gone) after a change's
// transaction read the endpoint and before the change's deliveries are
// queued: they are given back, and not sent. Nothing else would stop
// them: a hand-off's jobs are known held (their own transaction wrote
// them), so no check before the attempt reads them again (lease.go).
func TestHandOffGivesBackAfterTheWriterDisabledItsEndpoint(t *testing.T) {
	b := setupHandOff(t)
	quiet(t, b.count)
	var w *Writer
	var rows []models.WebhookEvent
	err := models.RetryLocks(context.Background(), func() error {
		return b.db.Transaction(func(tx *gorm.DB) error {
			w = b.outbox.Writer(context.Background(), tx)
			var err error
			rows, err = w.Write([]Event{abilityEvent(1, 2)})
			return err
		})
	})
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	if len(w.handed) != 1 {
		t.Fatalf("%d deliveries handed off, want 1", len(w.handed))
	}
	// What the writer does on a 410 Gone (writer.go): disable the
	// endpoint in its transaction, then tell the dispatcher.
	if err := elsewhere(b.db, func(tx *gorm.DB) error {
		return b.d.disable(tx, b.ep.ID, "the endpoint answered 410 Gone", b.clock.Now(), &written{})
	}); err != nil {
		t.Fatal(err)
	}
	b.d.endpointChanged(b.ep.ID)
	w.Committed(false)
	// Given back or (sent or not) attempted, the delivery is no longer
	// counted claimed.
	waitFor(t, "the handed-off delivery to leave the dispatcher", func() bool { return claimedOf(b.d, b.ep.ID) == 0 })
	if n := b.rc.count(); n != 1 {
		t.Errorf("the endpoint got %d requests, want 1 (the one before it was disabled)", n)
	}
	id := b.onlyDelivery(rows[0].ID).ID
	if del, as := b.delivery(id), b.attempts(id); del.Status != StatusFailed || len(as) > 0 {
		t.Errorf("delivery %s after %d attempts, want FAILED after none", del.Status, len(as))
	}
}
