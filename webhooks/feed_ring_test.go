package webhooks

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestFeedSubscriberBehindTheRingReadsTheDatabase: a subscriber that
// reads nothing while 100 events commit, of which the feed keeps 8 in
// memory, reads the others from the database, then all of them in order,
// once each; then, keeping up, it reads new events from memory again.
func TestFeedSubscriberBehindTheRingReadsTheDatabase(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := startFeed(t, b, FeedConfig{PollInterval: time.Hour, Buffer: 2, Recent: 8})
	ready(t, b, f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow := f.Watch(ctx, nil)
	fast := f.Subscribe(ctx, nil)
	evs := b.enqueue(agentEvents(100, 1)...)
	for range evs {
		next(t, fast)
	}
	for i, want := range evs {
		if got := next(t, slow.Events()); got.ID != want.ID || got.Payload != want.Payload {
			t.Fatalf("event #%d: got %d, want %d", i, got.ID, want.ID)
		}
	}
	read := slow.s.fromDB.Load()
	if read < 1 || read > int64(len(evs)) {
		t.Errorf("the subscriber read %d events from the database, want between 1 and %d", read, len(evs))
	}
	for i := range 20 {
		want := b.enqueue(abilityEvent(1, int64(i+2)))[0]
		if got := next(t, slow.Events()); got.ID != want.ID {
			t.Fatalf("live event #%d: got %d, want %d", i, got.ID, want.ID)
		}
	}
	if again := slow.s.fromDB.Load(); again != read {
		t.Errorf("keeping up, the subscriber read %d more events from the database, want none", again-read)
	}
	if slow.Err() != nil {
		t.Errorf("Err() = %v on a running subscription", slow.Err())
	}
}

// TestFeedSubscribersAtDifferentPaces: a subscriber that reads nothing
// holds up no other: a fast one, a paced one and one agent's get every
// event while it has read none; then it gets them all too. Each gets
// every event it wants once, in order.
func TestFeedSubscribersAtDifferentPaces(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := startFeed(t, b, FeedConfig{PollInterval: time.Hour, Buffer: 4, Recent: 32})
	ready(t, b, f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	agent := int64(3)
	type reader struct {
		name  string
		sub   *Subscription
		pause func(i int)
	}
	paced := func(i int) {
		if i%10 == 0 {
			runtime.Gosched()
			time.Sleep(time.Millisecond) // reads slower than the events come
		}
	}
	readers := []reader{
		{"fast", f.Watch(ctx, nil), func(int) {}},
		{"paced", f.Watch(ctx, nil), paced},
		{"agent 3", f.Watch(ctx, &agent), paced},
	}
	stopped := f.Watch(ctx, nil)
	var evs []int64
	var mine []int64
	for n := range 20 {
		for _, e := range b.enqueue(agentEvents(25, int64(n+1))...) {
			evs = append(evs, e.ID)
			if *e.AgentID == agent {
				mine = append(mine, e.ID)
			}
		}
	}
	var wg sync.WaitGroup
	for _, r := range readers {
		want := evs
		if r.name == "agent 3" {
			want = mine
		}
		wg.Go(func() {
			for i, id := range want {
				if got := next(t, r.sub.Events()); got.ID != id {
					t.Errorf("%s: event #%d is %d, want %d", r.name, i, got.ID, id)
					return
				}
				r.pause(i)
			}
		})
	}
	wg.Wait()
	for i, id := range evs {
		if got := next(t, stopped.Events()); got.ID != id {
			t.Fatalf("the subscriber that read late: event #%d is %d, want %d", i, got.ID, id)
		}
	}
	for _, sub := range []*Subscription{readers[0].sub, readers[1].sub, readers[2].sub, stopped} {
		select {
		case e := <-sub.Events():
			t.Errorf("an event more: %d", e.ID)
		default:
		}
	}
}

// TestFeedPublishesAnAgentsVersionsInOrder: an agent's version that took
// an ID below one already published commits late, and its next version
// right after; without waiting for a poll, the feed publishes the late one
// first.
func TestFeedPublishesAnAgentsVersionsInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := startFeed(t, b, FeedConfig{PollInterval: time.Hour})
	ready(t, b, f)
	ch := f.Subscribe(context.Background(), nil)
	var top int64
	b.db.Raw("SELECT MAX(id) FROM webhook_events").Scan(&top)
	insertVersion(t, b.db, top+100, 1, 1)
	f.Wake()
	if got := next(t, ch); got.ID != top+100 {
		t.Fatalf("got %d, want %d", got.ID, top+100)
	}
	insertVersion(t, b.db, top+50, 2, 1)
	insertVersion(t, b.db, top+101, 2, 2)
	f.Wake()
	for _, want := range []int64{top + 50, top + 101} {
		if got := next(t, ch); got.ID != want {
			t.Errorf("got event %d (agent %d, version %d), want %d", got.ID, got.AgentID, got.Version, want)
		}
	}
}

// subscriberGoroutines counts the goroutines of subscribers, of every
// feed.
func subscriberGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return bytes.Count(buf[:n], []byte("webhooks.(*subscriber)"))
		}
		buf = make([]byte, 2*len(buf))
	}
}

// subscriberGoroutinesEnd waits until no more goroutines of subscribers
// run than before.
func subscriberGoroutinesEnd(t *testing.T, before int) {
	t.Helper()
	waitWithin(t, time.Minute, "the subscribers' goroutines to end", func() bool { return subscriberGoroutines() <= before })
}

// watchAll starts 60 subscriptions of f in three states, returning them
// and their cancels: 20 read every event and wait for more, 20 read none
// (their goroutine waits for room on the channel) and 20 read none and
// fall behind the feed's memory (Recent must be below 100).
func watchAll(t *testing.T, b *bundle, f *Feed) ([]*Subscription, []context.CancelFunc) {
	t.Helper()
	var subs []*Subscription
	var cancels []context.CancelFunc
	watch := func() *Subscription {
		ctx, cancel := context.WithCancel(context.Background())
		cancels = append(cancels, cancel)
		s := f.Watch(ctx, nil)
		subs = append(subs, s)
		return s
	}
	var readers []*Subscription
	for range 20 {
		readers = append(readers, watch())
		watch()
	}
	b.enqueue(agentEvents(100, 1)...)
	for range 20 {
		watch()
	}
	b.enqueue(agentEvents(100, 2)...)
	for _, s := range readers {
		for range 200 {
			next(t, s.Events())
		}
	}
	if n := f.Subscribers(); n != 60 {
		t.Fatalf("%d subscribers, want 60", n)
	}
	return subs, cancels
}

// drain reads sub's events until its channel is closed, within a minute.
func drain(t *testing.T, sub *Subscription) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		select {
		case _, ok := <-sub.Events():
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("the subscription's channel is still open")
		}
	}
}

// TestFeedCancellingEndsSubscribersOnce: cancelling subscriptions in every
// state, all at once, closes each channel once (a second close would
// panic), with Err nil, and leaves no goroutine behind. Not parallel: it
// counts goroutines.
func TestFeedCancellingEndsSubscribersOnce(t *testing.T) {
	before := subscriberGoroutines()
	b := setup(t)
	f := startFeed(t, b, FeedConfig{PollInterval: time.Hour, Buffer: 4, Recent: 16})
	ready(t, b, f)
	subs, cancels := watchAll(t, b, f)
	var wg sync.WaitGroup
	for _, cancel := range cancels {
		wg.Go(cancel)
	}
	wg.Wait()
	for _, s := range subs {
		drain(t, s)
		if err := s.Err(); err != nil {
			t.Errorf("Err() = %v after cancelling, want nil", err)
		}
	}
	subscriberGoroutinesEnd(t, before)
	if n := f.Subscribers(); n != 0 {
		t.Errorf("%d subscribers counted after all ended", n)
	}
}

// TestFeedStoppingEndsSubscribersOnce: stopping the feed while
// subscriptions in every state run, and more start, ends each once with
// ErrFeedStopped, and leaves no goroutine behind. Not parallel: it counts
// goroutines.
func TestFeedStoppingEndsSubscribersOnce(t *testing.T) {
	before := subscriberGoroutines()
	b := setup(t)
	f := NewFeed(b.db, b.outbox, FeedConfig{PollInterval: time.Hour, Buffer: 4, Recent: 16, Logger: b.log})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	ready(t, b, f)
	subs, cancels := watchAll(t, b, f)
	defer func() {
		for _, cancel := range cancels {
			cancel()
		}
	}()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range 4 {
		wg.Go(func() {
			for range 25 { // racing with the stop
				s := f.Watch(context.Background(), nil)
				mu.Lock()
				subs = append(subs, s)
				mu.Unlock()
			}
		})
	}
	stop()
	wg.Wait()
	if err := runEnded(t, "Feed.Run", done, time.Minute); err != nil {
		t.Fatalf("Feed.Run: %v", err)
	}
	for _, s := range subs {
		drain(t, s)
		if err := s.Err(); !errors.Is(err, ErrFeedStopped) {
			t.Errorf("Err() = %v after the feed stopped, want ErrFeedStopped", err)
		}
	}
	subscriberGoroutinesEnd(t, before)
	if n := f.Subscribers(); n != 0 {
		t.Errorf("%d subscribers counted after all ended", n)
	}
}

// TestFeedEndsASubscriberBeyondTheHorizon: a subscriber more events
// behind than the feed keeps the IDs of is ended with ErrSubscriberBehind
// once it reads again, rather than missing events; one that kept up is
// not.
func TestFeedEndsASubscriberBeyondTheHorizon(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := startFeed(t, b, FeedConfig{PollInterval: time.Hour, Buffer: 2, Recent: 8, Horizon: 16})
	ready(t, b, f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	behind := f.Watch(ctx, nil)
	kept := f.Watch(ctx, nil)
	for n := range 10 {
		for _, want := range b.enqueue(agentEvents(10, int64(n+1))...) {
			if got := next(t, kept.Events()); got.ID != want.ID {
				t.Fatalf("got %d, want %d", got.ID, want.ID)
			}
		}
	}
	got := 0
	for range behind.Events() {
		got++
	}
	if got >= 100 || !errors.Is(behind.Err(), ErrSubscriberBehind) {
		t.Errorf("the subscriber behind read %d of 100 events and ended with %v, want fewer and ErrSubscriberBehind", got, behind.Err())
	}
	if kept.Err() != nil {
		t.Errorf("the subscriber that kept up: Err() = %v", kept.Err())
	}
}
