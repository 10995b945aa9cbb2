package calling_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"outdial/calling"
	"outdial/models"
	"outdial/webhooks"
)

// The refresh streams a large change: it computes, compares and writes
// the abilities, their history, their events and the events' deliveries
// chunk by chunk, within the command's one transaction (calling/refresh.go).

// streamedWorld is a largeWorld with a webhook endpoint for every event,
// and a service whose outbox keeps no recent event bodies (that cache is
// bounded on its own, WithRecentEvents) and counts the wake-ups of its
// listeners (one per committed command that recorded events).
type streamedWorld struct {
	largeWorld
	svc   *calling.Service
	wakes *atomic.Int64
}

func newStreamedWorld(t *testing.T, n int) streamedWorld {
	t.Helper()
	w := streamedWorld{largeWorld: newLargeWorld(t, n), wakes: &atomic.Int64{}}
	outbox := webhooks.NewOutbox(models.Now, webhooks.WithRecentEvents(0, 0))
	outbox.Listen(func() { w.wakes.Add(1) })
	w.svc = calling.New(w.db, outbox, slog.New(slog.NewTextHandler(io.Discard, nil)))
	_, _, err := w.svc.CreateWebhookEndpoint(context.Background(), admin,
		calling.CreateWebhookEndpointInput{URL: "https://hooks.example.com/outdial"})
	must(t, err)
	w.wakes.Store(0)
	return w
}

// downgradeAll takes MAKE_CALLS from the one number: every agent's
// ability changes.
func (w streamedWorld) downgradeAll() error {
	_, err := w.svc.DowngradeCallingPlan(context.Background(), admin, calling.ChangeCallingPlanInput{PhoneNumberID: w.number,
		Capabilities: []calling.Capability{calling.MakeCalls}})
	return err
}

// tally counts the rows a change writes.
type tally struct{ versions, events, deliveries, audit, canCall int64 }

func (w streamedWorld) tally(t *testing.T) tally {
	t.Helper()
	var c tally
	must(t, w.db.Table("calling_ability_versions").Count(&c.versions).Error)
	must(t, w.db.Table("webhook_events").Count(&c.events).Error)
	must(t, w.db.Table("webhook_deliveries").Count(&c.deliveries).Error)
	must(t, w.db.Table("audit_entries").Count(&c.audit).Error)
	must(t, w.db.Table("calling_abilities").Where("can_make_calls = ?", true).Count(&c.canCall).Error)
	return c
}

// onCreate runs f before (after false) or after every INSERT into table
// through gorm, in this world's database.
func (w streamedWorld) onCreate(t *testing.T, name string, after bool, f func(db *gorm.DB)) {
	t.Helper()
	cb := w.db.Callback().Create()
	var err error
	if after {
		err = cb.After("gorm:create").Register(name, f)
	} else {
		err = cb.Before("gorm:create").Register(name, f)
	}
	must(t, err)
}

// liveHeapDuringChange makes every agent of a world of n agents lose
// calling and returns the highest live heap (after a collection) seen
// after each INSERT of the change's abilities, history, events and
// deliveries, above the live heap before it. The samples are taken at
// the statements, not on a clock: the figure does not depend on timing.
func liveHeapDuringChange(t *testing.T, n int) uint64 {
	w := newStreamedWorld(t, n)
	var armed atomic.Bool
	var peak, samples uint64
	live := func() uint64 {
		runtime.GC() // twice: the first moves sync.Pools' objects aside,
		runtime.GC() // the second frees them (goose keeps 16 MiB in one)
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	sampled := map[string]bool{"calling_abilities": true, "calling_ability_versions": true,
		"webhook_events": true, "webhook_deliveries": true}
	w.onCreate(t, "test:sample_heap", true, func(db *gorm.DB) {
		if armed.Load() && sampled[db.Statement.Table] {
			peak = max(peak, live())
			samples++
		}
	})
	before := w.tally(t)
	base := live()
	armed.Store(true)
	must(t, w.downgradeAll())
	armed.Store(false)
	after := w.tally(t)
	if got := after.versions - before.versions; got != int64(n) {
		t.Fatalf("%d new versions, want %d", got, n)
	}
	// The abilities' events and the number's calling_plan.changed.
	if ev, dl := after.events-before.events, after.deliveries-before.deliveries; ev != int64(n)+1 || dl != int64(n)+1 {
		t.Fatalf("%d events and %d deliveries, want %d of each", ev, dl, n+1)
	}
	if after.canCall != 0 || w.wakes.Load() != 1 {
		t.Fatalf("%d agents can still call, %d wake-ups of the dispatcher; want 0 and 1", after.canCall, w.wakes.Load())
	}
	grew := uint64(0)
	if peak > base {
		grew = peak - base
	}
	t.Logf("%d abilities changed: live heap %.1f MiB before, at most %.1f MiB above it over %d INSERTs",
		n, float64(base)/(1<<20), float64(grew)/(1<<20), samples)
	return grew
}

// testChunk is the refresh's chunk in these tests: a change of a few
// chunks out of few agents keeps them quick, also under -race.
const testChunk = 100

// TestLargeChangeMemoryIsBounded: the live heap while a change is written
// does not grow with the size of the change. The change of 5,000
// abilities (50 chunks) may hold at most a little more than that of 500
// (5 chunks): held whole until the commit, as before the refresh streamed
// it, it held about ten times more.
func TestLargeChangeMemoryIsBounded(t *testing.T) {
	defer calling.SetChunkSize(testChunk)()
	small := liveHeapDuringChange(t, 500)
	large := liveHeapDuringChange(t, 5_000)
	const slack = 1 << 20 // the change's agent IDs (8 bytes each, a few copies), allocator noise
	if limit := small + small/2 + slack; large > limit {
		t.Fatalf("the live heap grew by %.1f MiB during a change of 5,000 abilities, %.1f MiB during one of 500: "+
			"more than %.1f MiB, so memory grows with the size of the change", float64(large)/(1<<20),
			float64(small)/(1<<20), float64(limit)/(1<<20))
	}
}

// TestFailedLargeChangeLeavesNothing: a change that fails after some of
// its chunks were written (abilities, history, events, deliveries) leaves
// nothing of them, and wakes no dispatcher.
func TestFailedLargeChangeLeavesNothing(t *testing.T) {
	for _, c := range []struct {
		name  string
		table string // the INSERT that fails
		after int64  // once this many deliveries were written
	}{
		// The number's calling_plan.changed event goes with the first
		// chunk's.
		{"abilities of the second chunk", "calling_abilities", 1 + testChunk},
		{"events of the third chunk", "webhook_events", 1 + 2*testChunk},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer calling.SetChunkSize(testChunk)()
			const n = 2*testChunk + testChunk/2 // three chunks
			w := newStreamedWorld(t, n)
			injected := errors.New("injected failure")
			var deliveriesWritten atomic.Int64
			w.onCreate(t, "test:count_deliveries", true, func(db *gorm.DB) {
				if db.Statement.Table == "webhook_deliveries" && db.Error == nil {
					deliveriesWritten.Add(db.Statement.RowsAffected)
				}
			})
			w.onCreate(t, "test:fail", false, func(db *gorm.DB) {
				if db.Statement.Table == c.table && deliveriesWritten.Load() >= c.after {
					_ = db.AddError(injected)
				}
			})
			before := w.tally(t)
			err := w.downgradeAll()
			if !errors.Is(err, injected) {
				t.Fatalf("the change returned %v, want the injected failure", err)
			}
			if got := deliveriesWritten.Load(); got != c.after {
				t.Fatalf("%d deliveries were written before the failure, want %d (whole chunks)", got, c.after)
			}
			after := w.tally(t)
			if after != before {
				t.Fatalf("the failed change left rows: before %+v, after %+v", before, after)
			}
			var number models.PhoneNumber
			must(t, w.db.First(&number, w.number).Error)
			if !number.MakeCalls || after.canCall != n {
				t.Fatalf("after the failed change the number makes calls: %v; %d of %d agents can call",
					number.MakeCalls, after.canCall, n)
			}
			if w.wakes.Load() != 0 {
				t.Fatalf("the failed change woke the dispatcher %d times", w.wakes.Load())
			}
		})
	}
}
