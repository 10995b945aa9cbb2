package webhooks

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkFeed measures the subscription feed on SQLite. ns/op is per
// event: committed (100 per transaction) until every subscriber has read
// it. Live subscribers read as fast as they can; behind ones start reading
// only once every event is committed, so they catch up past their buffer.
// Latency is one event at a time, from the commit to the subscriber.
func BenchmarkFeed(b *testing.B) {
	for _, c := range []struct {
		name   string
		subs   int
		behind bool
	}{{"live/subs=1", 1, false}, {"live/subs=64", 64, false}, {"behind/subs=8", 8, true}} {
		b.Run(c.name, func(b *testing.B) { benchFeedThroughput(b, c.subs, c.behind) })
	}
	b.Run("latency", func(b *testing.B) {
		bu := setup(b)
		f := startFeed(b, bu, FeedConfig{PollInterval: time.Hour})
		ready(b, bu, f)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ch := f.Subscribe(ctx, nil)
		b.ResetTimer()
		for i := range b.N {
			want := bu.enqueue(abilityEvent(1, int64(i+1)))[0]
			if got := next(b, ch); got.ID != want.ID {
				b.Fatalf("got event %d, want %d", got.ID, want.ID)
			}
		}
	})
}

func benchFeedThroughput(b *testing.B, subs int, behind bool) {
	bu := setup(b)
	f := startFeed(b, bu, FeedConfig{PollInterval: time.Hour})
	ready(b, bu, f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := make(chan struct{})
	var wg sync.WaitGroup
	var short atomic.Int64
	for range subs {
		sub := f.Watch(ctx, nil)
		wg.Go(func() {
			if behind {
				<-start
			}
			n := 0
			for range sub.Events() {
				if n++; n == b.N {
					return
				}
			}
			short.Add(1)
		})
	}
	b.ResetTimer()
	for n := 0; n < b.N; {
		k := min(100, b.N-n)
		bu.enqueue(agentEvents(k, int64(n+1))...)
		n += k
	}
	close(start)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("the subscribers did not get %d events within 2 minutes", b.N)
	}
	b.StopTimer()
	if n := short.Load(); n > 0 {
		b.Fatalf("%d subscriptions ended before their %d events", n, b.N)
	}
}
