package webhooks

import (
	"context"
	"errors"
	"testing"
	"time"

	"outdial/models"
	"outdial/models/dbtest"
)

// startFeed runs a feed on b's database, woken by b's outbox, until the
// test ends.
func startFeed(t testing.TB, b *bundle, cfg FeedConfig) *Feed {
	t.Helper()
	cfg.Logger = b.log
	f := NewFeed(b.db, b.outbox, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := runEnded(t, "Feed.Run", done, time.Minute); err != nil {
			t.Errorf("Feed.Run: %v", err)
		}
	})
	return f
}

// next returns the next event of ch, failing after a minute (generous,
// for a loaded machine and the race detector).
func next(t testing.TB, ch <-chan FeedEvent) FeedEvent {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatalf("subscription closed")
		}
		return e
	case <-time.After(time.Minute):
		t.Fatalf("no event within a minute")
	}
	return FeedEvent{}
}

// ready waits until the feed has started reading (its cursor is set), by
// sending one event through it.
func ready(t testing.TB, b *bundle, f *Feed) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := f.Subscribe(ctx, nil)
	for started := false; !started; {
		b.enqueue(abilityEvent(999, 1))
		select {
		case <-ch:
			started = true
		case <-time.After(20 * time.Millisecond):
		}
	}
	// Markers sent before the first one came may still be published; one
	// more, published after them all, leaves none for the test to see.
	last := b.enqueue(abilityEvent(999, 1))[0]
	for next(t, ch).ID != last.ID {
	}
}

func TestFeedPublishesCommittedEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	old := b.enqueue(abilityEvent(1, 1))[0] // before the feed started: not published
	f := startFeed(t, b, FeedConfig{PollInterval: time.Hour})
	ready(t, b, f)
	ctx := context.Background()
	all := f.Subscribe(ctx, nil)
	agent2 := int64(2)
	only2 := f.Subscribe(ctx, &agent2)

	evs := b.enqueue(abilityEvent(1, 2), abilityEvent(2, 1), Event{Type: TypeCallingPlanChanged, Data: map[string]any{}})
	for _, want := range evs[:2] {
		got := next(t, all)
		if got.ID != want.ID || got.MessageID != want.MessageID || got.Payload != want.Payload ||
			got.AgentID != *want.AgentID || got.Version != *want.Version {
			t.Errorf("got %+v, want event %d (%s)", got, want.ID, want.MessageID)
		}
		if got.ID == old.ID {
			t.Errorf("an event from before the start was published")
		}
	}
	if got := next(t, only2); got.ID != evs[1].ID {
		t.Errorf("agent 2's subscriber got event %d, want %d", got.ID, evs[1].ID)
	}
	select {
	case e := <-all:
		t.Errorf("unexpected event %+v (calling plan events are not published)", e)
	case e := <-only2:
		t.Errorf("agent 2's subscriber got %+v", e)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestFeedSeesOtherProcessesByPolling(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := startFeed(t, b, FeedConfig{PollInterval: 20 * time.Millisecond})
	ready(t, b, f)
	ch := f.Subscribe(context.Background(), nil)
	// Another process: its own outbox, which wakes nobody here.
	other := NewOutbox(b.clock.Now)
	want := enqueueWith(t, b.db, other, abilityEvent(3, 7))[0]
	if got := next(t, ch); got.ID != want.ID || got.Version != 7 {
		t.Errorf("got %+v, want event %d", got, want.ID)
	}
}

func TestFeedDoesNotLoseLateCommits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := startFeed(t, b, FeedConfig{PollInterval: 20 * time.Millisecond})
	ready(t, b, f)
	ch := f.Subscribe(context.Background(), nil)
	var top int64
	b.db.Raw("SELECT MAX(id) FROM webhook_events").Scan(&top)
	high := insertEvent(t, b.db, top+100, 1)
	f.Wake()
	if got := next(t, ch); got.ID != high.ID {
		t.Fatalf("got %d, want %d", got.ID, high.ID)
	}
	// A transaction that took a lower ID commits only now.
	late := insertEvent(t, b.db, top+50, 2)
	if got := next(t, ch); got.ID != late.ID || got.AgentID != 2 {
		t.Errorf("got %+v, want the late event %d", got, late.ID)
	}
	// Published once: later polls do not repeat either.
	newer := insertEvent(t, b.db, top+101, 3)
	f.Wake()
	if got := next(t, ch); got.ID != newer.ID {
		t.Errorf("got %d after the late event, want %d (no repeat)", got.ID, newer.ID)
	}
	select {
	case e := <-ch:
		t.Errorf("event %d published twice", e.ID)
	case <-time.After(100 * time.Millisecond): // several polls
	}
}

// insertEvent stores an ability event with a chosen ID, as a transaction
// that allocated it earlier and commits late would.
func insertEvent(t *testing.T, db *models.DB, id, agentID int64) models.WebhookEvent {
	t.Helper()
	return insertVersion(t, db, id, agentID, 1)
}

// insertVersion is insertEvent of agentID's version v.
func insertVersion(t *testing.T, db *models.DB, id, agentID, v int64) models.WebhookEvent {
	t.Helper()
	e := models.WebhookEvent{ID: id, MessageID: NewMessageID(time.Now()), Type: TypeAbilityChanged, AgentID: &agentID,
		Version: &v, Payload: `{"type":"agent.calling_ability.changed"}`, OccurredAt: models.Now()}
	if err := db.Create(&e).Error; err != nil {
		t.Fatalf("insert event %d: %v", id, err)
	}
	return e
}

// TestFeedSlowSubscriberCatchesUp: a subscriber that reads nothing while
// a mutation records 300 events (many more than its buffer and than the
// feed keeps in memory) loses none: it gets them all, in order, once
// each, and then live ones again; a subscriber to one agent likewise gets
// that agent's events.
func TestFeedSlowSubscriberCatchesUp(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := startFeed(t, b, FeedConfig{PollInterval: time.Hour, Buffer: 16, Recent: 32})
	ready(t, b, f)
	slow := f.Subscribe(context.Background(), nil)
	agent := int64(7)
	slowAgent := f.Subscribe(context.Background(), &agent)
	fast := f.Subscribe(context.Background(), nil)
	evs := b.enqueue(agentEvents(300, 1)...)
	for range evs {
		next(t, fast)
	}
	for i, want := range evs {
		if got := next(t, slow); got.ID != want.ID {
			t.Fatalf("event #%d: got %d, want %d", i, got.ID, want.ID)
		}
	}
	if got := next(t, slowAgent); got.ID != evs[6].ID || got.AgentID != 7 {
		t.Errorf("agent 7's subscriber got %+v, want event %d", got, evs[6].ID)
	}
	more := b.enqueue(agentEvents(40, 2)...)
	for _, want := range more {
		if got := next(t, slow); got.ID != want.ID {
			t.Fatalf("after catching up: got %d, want %d", got.ID, want.ID)
		}
	}
	if got := next(t, slowAgent); got.ID != more[6].ID {
		t.Errorf("agent 7's subscriber got %d after catching up, want %d", got.ID, more[6].ID)
	}
	select {
	case e, ok := <-slow:
		t.Errorf("unexpected %+v (open: %v)", e, ok)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestFeedCatchingUpSubscriberGetsLateCommits: an event that commits out
// of ID order while a subscriber is catching up reaches it once.
func TestFeedCatchingUpSubscriberGetsLateCommits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := startFeed(t, b, FeedConfig{PollInterval: 20 * time.Millisecond, Buffer: 4, Recent: 4})
	ready(t, b, f)
	ch := f.Subscribe(context.Background(), nil)
	var top int64
	b.db.Raw("SELECT MAX(id) FROM webhook_events").Scan(&top)
	var want []int64
	for id := top + 1; id <= top+30; id++ {
		if id != top+12 {
			insertEvent(t, b.db, id, id-top)
			want = append(want, id)
		}
	}
	f.Wake()
	time.Sleep(50 * time.Millisecond) // the subscriber falls behind
	insertEvent(t, b.db, top+12, 12)  // a transaction that took ID 12 commits only now
	want = append(want, top+12)
	time.Sleep(100 * time.Millisecond) // a rescan finds it
	got := map[int64]int{}
	for range want {
		got[next(t, ch).ID]++
	}
	for _, id := range want {
		if got[id] != 1 {
			t.Errorf("event %d received %d times, want once", id, got[id])
		}
	}
	select {
	case e := <-ch:
		t.Errorf("unexpected event %d", e.ID)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestFeedCatchUpLeavesUnpublishedLateCommitsToTheFeed: a page that a
// catching-up subscriber reads can hold an event that committed late and
// that the feed has not published yet (its rescan runs every poll); the
// subscriber gets it once, not from the page and again when the feed
// publishes it.
func TestFeedCatchUpLeavesUnpublishedLateCommitsToTheFeed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := startFeed(t, b, FeedConfig{PollInterval: 700 * time.Millisecond, Buffer: 4, Recent: 4})
	ready(t, b, f)
	ch := f.Subscribe(context.Background(), nil)
	var top int64
	b.db.Raw("SELECT MAX(id) FROM webhook_events").Scan(&top)
	for id := top + 1; id <= top+300; id++ {
		if id != top+250 {
			insertEvent(t, b.db, id, 1)
		}
	}
	f.Wake()
	time.Sleep(50 * time.Millisecond) // the subscriber falls behind on the first page
	insertEvent(t, b.db, top+250, 1)  // commits late; the next rescan publishes it
	got := map[int64]int{}
	for range 300 {
		got[next(t, ch).ID]++
	}
	for quiet := time.After(2 * time.Second); ; { // a rescan or two
		select {
		case e := <-ch:
			got[e.ID]++
			continue
		case <-quiet:
		}
		break
	}
	for id := top + 1; id <= top+300; id++ {
		if got[id] != 1 {
			t.Errorf("event %d (the %dth) received %d times, want once", id, id-top, got[id])
		}
	}
}

// TestFeedEndsAStalledSubscriberVisibly: a subscriber that falls behind
// and then reads nothing for StallTimeout is ended, and says why; one
// ended by its context or by the feed stopping says so too.
func TestFeedEndsAStalledSubscriberVisibly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	stopFeed := make(chan struct{})
	cfg := FeedConfig{PollInterval: time.Hour, Buffer: 4, StallTimeout: 200 * time.Millisecond, Logger: b.log}
	f := NewFeed(b.db, b.outbox, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	go func() { <-stopFeed; cancel() }()
	ready(t, b, f)

	stalled := f.Watch(context.Background(), nil)
	cctx, ccancel := context.WithCancel(context.Background())
	cancelled := f.Watch(cctx, nil)
	b.enqueue(agentEvents(20, 1)...)
	start := time.Now()
	time.Sleep(20 * time.Millisecond) // both fall behind
	ccancel()
	for range cancelled.Events() {
	}
	if err := cancelled.Err(); err != nil {
		t.Errorf("Err() = %v after the subscriber's context was cancelled, want nil", err)
	}
	waitFor(t, "the stalled subscriber ended", func() bool { return stalled.Err() != nil })
	if took := time.Since(start); took < cfg.StallTimeout {
		t.Errorf("ended after %v, before the stall timeout %v", took, cfg.StallTimeout)
	}
	if !errors.Is(stalled.Err(), ErrSubscriberStalled) {
		t.Errorf("Err() = %v, want ErrSubscriberStalled", stalled.Err())
	}
	n := 0
	for range stalled.Events() {
		n++
	}
	if n != cfg.Buffer {
		t.Errorf("the stalled subscriber's channel held %d events, want its buffer of %d", n, cfg.Buffer)
	}

	live := f.Watch(context.Background(), nil)
	close(stopFeed)
	if err := runEnded(t, "Feed.Run", done, time.Minute); err != nil {
		t.Errorf("Feed.Run: %v", err)
	}
	for range live.Events() {
	}
	if !errors.Is(live.Err(), ErrFeedStopped) {
		t.Errorf("Err() = %v after the feed stopped, want ErrFeedStopped", live.Err())
	}
	if after := f.Watch(context.Background(), nil); !errors.Is(after.Err(), ErrFeedStopped) {
		t.Errorf("a subscription after the feed stopped: Err() = %v, want ErrFeedStopped", after.Err())
	}
}

func TestFeedClosesOnCancel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := startFeed(t, b, FeedConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	ch := f.Subscribe(ctx, nil)
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Errorf("got an event after cancelling")
		}
	case <-time.After(5 * time.Second):
		t.Errorf("channel not closed after the subscriber's context was cancelled")
	}
}

func TestFeedLateCommitOnMySQL(t *testing.T) {
	t.Parallel()
	db := dbtest.OpenMySQL(t)
	b := setupOn(t, db)
	f := startFeed(t, b, FeedConfig{PollInterval: 20 * time.Millisecond})
	ready(t, b, f)
	ch := f.Subscribe(context.Background(), nil)
	// Transaction A takes an ID, then B takes a higher one and commits first.
	txA := db.Begin()
	rowsA, err := b.outbox.Enqueue(context.Background(), txA, []Event{abilityEvent(1, 1)})
	if err != nil {
		t.Fatal(err)
	}
	rowB := b.enqueue(abilityEvent(2, 1))[0]
	if rowsA[0].ID >= rowB.ID {
		t.Fatalf("A's event %d is not below B's %d", rowsA[0].ID, rowB.ID)
	}
	if got := next(t, ch); got.ID != rowB.ID {
		t.Fatalf("got %d, want B's %d", got.ID, rowB.ID)
	}
	if err := txA.Commit().Error; err != nil {
		t.Fatal(err)
	}
	if got := next(t, ch); got.ID != rowsA[0].ID {
		t.Errorf("got %d, want A's late event %d", got.ID, rowsA[0].ID)
	}
}

// TestFeedEventCarriesThePreviousVersionsTime: each event comes with the
// time of its agent's previous version, zero for a first version.
func TestFeedEventCarriesThePreviousVersionsTime(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := startFeed(t, b, FeedConfig{PollInterval: time.Hour})
	ready(t, b, f)
	ch := f.Subscribe(context.Background(), nil)
	v1 := b.enqueue(abilityEvent(1, 1), abilityEvent(2, 7))
	b.clock.Advance(time.Hour)
	v2 := b.enqueue(abilityEvent(1, 2))[0]
	var stored models.WebhookEvent
	if err := b.db.First(&stored, v1[0].ID).Error; err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		id       int64
		previous time.Time
	}{{v1[0].ID, time.Time{}}, {v1[1].ID, time.Time{}}, {v2.ID, stored.OccurredAt}} {
		got := next(t, ch)
		if got.ID != want.id || !got.PreviousOccurredAt.Equal(want.previous) {
			t.Errorf("event %d: previous version at %v, want event %d with %v", got.ID, got.PreviousOccurredAt, want.id, want.previous)
		}
	}
}
