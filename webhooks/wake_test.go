package webhooks

import (
	"context"
	"testing"
	"time"

	"outdial/models/dbtest"
)

// TestIdleLanesDoNotWakeEachOther: once a wake's claims found nothing,
// an idle dispatcher runs no more statements until the next wake or poll.
// Both lanes share an endpoint's room (pacer); a claim that found the
// endpoint full is woken when the room comes back. When that woke both
// lanes, two lanes woken together kept waking each other — one reserved
// the room, the other found it full, the first gave it back unused and
// woke both — a claim every millisecond or two on MariaDB (where claims
// run at the same time), with nothing to deliver, on the path of every
// new delivery.
func TestIdleLanesDoNotWakeEachOther(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dbtest.CountStatements(t, b.db)
	var count dbtest.Counter
	rc := newReceiver(t, status(204))
	b.endpoint(rc.url("/"))
	cfg := b.config()
	cfg.PollInterval, cfg.StatsInterval = time.Hour, time.Hour // only wakes claim
	d, err := NewDispatcher(b.db, b.outbox, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The dispatcher's statements run under Run's context: the counter's.
	ctx, cancel := context.WithCancel(count.Context(context.Background()))
	done := make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	defer func() { cancel(); awaitStopped(t, "Dispatcher.Run", done, time.Minute) }()

	// A delivery makes the endpoint proven: its room is then a batch, the
	// whole of which the first claim to plan reserves.
	id := b.onlyDelivery(b.enqueue(abilityEvent(1, 1))[0].ID).ID
	b.waitStatus(id, StatusSucceeded, 1)

	// Each lane claims once, and the one that found the room taken once
	// more: two statements a claim at most (the endpoints, the due
	// deliveries). The fewest of five wakes is asserted: what the delivery
	// left to do, or a statement that came late on a loaded machine, can
	// land in one round; lanes that woke each other ran statements in
	// every round (and quiet never returned).
	fewest := -1
	for round := range 6 {
		quiet(t, &count)
		count.Reset()
		d.Wake() // both lanes
		quiet(t, &count)
		if n := int(count.Count()); round > 0 && (fewest < 0 || n < fewest) {
			fewest = n
		}
	}
	if fewest > 6 {
		t.Fatalf("an idle dispatcher ran at least %d statements after one wake, want at most 6", fewest)
	}
}

// quiet waits until c has counted nothing for 300 ms (a minute at most).
func quiet(t *testing.T, c *dbtest.Counter) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	last := c.Count()
	for {
		time.Sleep(300 * time.Millisecond)
		n := c.Count()
		if n == last {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dispatcher still runs statements a minute after the last wake (%d)", n)
		}
		last = n
	}
}
