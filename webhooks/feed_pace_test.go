package webhooks

import (
	"context"
	"math/rand"
	"slices"
	"sync"
	"testing"
	"time"

	"outdial/models/dbtest"
)

// TestFeedSubscribersAtTheirOwnPace: twelve subscribers with a buffer of
// 2, pausing now and then (so that they fall behind the 16 events the feed
// keeps in memory and read from the database again and again), some
// cancelling midway, while 3000 events commit in bursts: each gets every
// event once, in ID order, each agent's versions in order, and none is
// ended.
func TestFeedSubscribersAtTheirOwnPace(t *testing.T) {
	t.Parallel()
	subscribersAtTheirOwnPace(t, setup(t), false)
}

// TestFeedSubscribersAtTheirOwnPaceMySQL: the same with four concurrent
// writers on MySQL, whose transactions commit out of ID order (so late
// events arrive while subscribers catch up): every event once.
func TestFeedSubscribersAtTheirOwnPaceMySQL(t *testing.T) {
	t.Parallel()
	subscribersAtTheirOwnPace(t, setupOn(t, dbtest.OpenMySQL(t)), true)
}

func subscribersAtTheirOwnPace(t *testing.T, b *bundle, concurrent bool) {
	f := startFeed(t, b, FeedConfig{PollInterval: 5 * time.Millisecond, Buffer: 2, Recent: 16, StallTimeout: 5 * time.Second})
	ready(t, b, f)
	var top int64
	b.db.Raw("SELECT MAX(id) FROM webhook_events").Scan(&top)
	const nsubs = 12
	const total = 3000
	type res struct {
		mu       sync.Mutex
		ids      []int64
		versions map[int64][]int64 // by agent
		err      error
		cancel   bool
	}
	results := make([]res, nsubs)
	var wg sync.WaitGroup
	subs := make([]*Subscription, nsubs)
	cancels := make([]context.CancelFunc, nsubs)
	for i := range nsubs {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		subs[i] = f.Watch(ctx, nil)
	}
	for i := range nsubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(i)))
			res := &results[i]
			for e := range subs[i].Events() {
				res.mu.Lock()
				res.ids = append(res.ids, e.ID)
				if res.versions == nil {
					res.versions = map[int64][]int64{}
				}
				res.versions[e.AgentID] = append(res.versions[e.AgentID], e.Version)
				res.mu.Unlock()
				if r.Intn(20) == 0 {
					time.Sleep(time.Duration(r.Intn(30)) * time.Millisecond)
				}
				if i%4 == 3 && r.Intn(400) == 0 {
					res.mu.Lock()
					res.cancel = true
					res.mu.Unlock()
					cancels[i]()
				}
			}
			res.mu.Lock()
			res.err = subs[i].Err()
			res.mu.Unlock()
		}()
	}
	var ew sync.WaitGroup
	par := 1
	if concurrent {
		par = 4
	}
	for p := range par {
		ew.Add(1)
		go func() {
			defer ew.Done()
			for n := 0; n < total/par; {
				k := 1 + rand.Intn(40)
				k = min(k, total/par-n)
				b.enqueue(agentEvents(k, int64(p*100000+n+1))...)
				n += k
				time.Sleep(time.Duration(rand.Intn(3)) * time.Millisecond)
			}
		}()
	}
	ew.Wait()
	// The IDs written (a transaction run again after a deadlock leaves a
	// gap on MySQL).
	var written []int64
	if err := b.db.Raw("SELECT id FROM webhook_events WHERE id > ? ORDER BY id", top).Scan(&written).Error; err != nil {
		t.Fatal(err)
	}
	if len(written) != total {
		t.Fatalf("%d events written, want %d", len(written), total)
	}
	// Every subscriber not cancelled catches up: it has as many events
	// as were written (the checks below say which are missing or twice).
	// The subscribers pause a couple of seconds in all, and a loaded
	// machine is slower: wait for it, within a generous deadline.
	caughtUp := func() bool {
		for i := range results {
			r := &results[i]
			r.mu.Lock()
			behind := !r.cancel && r.err == nil && len(r.ids) < total
			r.mu.Unlock()
			if behind {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(2 * time.Minute); !caughtUp() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	for i := range nsubs {
		cancels[i]()
	}
	wg.Wait()
	for i := range results {
		r := &results[i]
		if r.err != nil {
			t.Errorf("subscriber %d ended: %v", i, r.err)
		}
		seen := map[int64]int{}
		for j, id := range r.ids {
			seen[id]++
			if !concurrent && j > 0 && id <= r.ids[j-1] {
				t.Errorf("subscriber %d: event %d after %d", i, id, r.ids[j-1])
			}
		}
		for id, n := range seen {
			if n > 1 {
				t.Errorf("subscriber %d: event %d received %d times", i, id, n)
			}
		}
		for agent, vs := range r.versions {
			if !concurrent && !slices.IsSorted(vs) {
				t.Errorf("subscriber %d: agent %d's versions out of order: %v", i, agent, vs)
			}
		}
		if !r.cancel {
			for _, id := range written {
				if seen[id] == 0 {
					t.Errorf("subscriber %d: event %d missing", i, id)
					break
				}
			}
		}
		t.Logf("subscriber %d: %d events (cancelled midway: %v)", i, len(r.ids), r.cancel)
	}
}
