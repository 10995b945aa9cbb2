package webhooks

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"outdial/models"
	"outdial/models/dbtest"
)

// markFailing records the endpoint id failing (failing_since), as a
// write that saw it fail does.
func markFailing(t testing.TB, b *bundle, id int64) {
	t.Helper()
	if err := b.db.Model(&models.WebhookEndpoint{}).Where("id = ?", id).Update("failing_since", b.clock.Now()).Error; err != nil {
		t.Fatalf("mark endpoint %d failing: %v", id, err)
	}
}

// probeOf reads the probe recorded on the endpoint id (probe_owner,
// probe_until).
func probeOf(b *bundle, id int64) (owner *string, until *time.Time, err error) {
	var e models.WebhookEndpoint
	err = b.db.Select("probe_owner", "probe_until").First(&e, id).Error
	return e.ProbeOwner, e.ProbeUntil, err
}

// TestProbeRecordedOnItsEndpoint: the claim that takes a failing
// endpoint's probe records it on the endpoint (its token, until its
// claim's time and probeFor); no claim of another process takes the
// endpoint's deliveries meanwhile, until probe_until (a process that
// died mid-probe holds the endpoint that long only); the result of a
// probe ends it, attempted or given back unsent, but never another
// claim's probe (fenced on the token).
func TestProbeRecordedOnItsEndpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	ep := b.endpoint(closedPort(t))
	markFailing(t, b, ep.ID)
	b.enqueue(abilityEvent(1, 1), abilityEvent(2, 1), abilityEvent(3, 1))
	process := func() *Dispatcher {
		d, err := NewDispatcher(b.db, nil, b.config())
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	checkProbe := func(what string, want *job) {
		t.Helper()
		owner, until, err := probeOf(b, ep.ID)
		switch {
		case err != nil:
			t.Fatalf("%s: read the endpoint: %v", what, err)
		case want == nil && (owner != nil || until != nil):
			t.Fatalf("%s: probe %v until %v recorded, want none", what, deref(owner), until)
		case want != nil && (deref(owner) != want.probe || until == nil || !until.Equal(want.probeUntil)):
			t.Fatalf("%s: probe %v until %v recorded, want %s until %v", what, deref(owner), until, want.probe, want.probeUntil)
		}
	}
	claimProbe := func(what string) (*Dispatcher, *job) {
		t.Helper()
		d := process()
		jobs, _, _, err := d.claimJobs(ctx, d.lanes[0])
		if err != nil || len(jobs) != 1 {
			t.Fatalf("%s: claim = %d jobs, %v; want the probe", what, len(jobs), err)
		}
		j := jobs[0]
		if j.probe == "" || j.probe != j.lease() || !j.probeUntil.Equal(b.clock.Now().Add(d.probeFor())) {
			t.Fatalf("%s: the job's probe is %q until %v; want its lease %s until %v", what, j.probe, j.probeUntil,
				j.lease(), b.clock.Now().Add(d.probeFor()))
		}
		checkProbe(what, j)
		return d, j
	}
	noProbe := func(what string) {
		t.Helper()
		d := process()
		if jobs, _, _, err := d.claimJobs(ctx, d.lanes[0]); err != nil || len(jobs) != 0 {
			t.Fatalf("%s: another process's claim took %d jobs (%v) while a probe ran; want none", what, len(jobs), err)
		}
	}
	write := func(d *Dispatcher, r *result) {
		t.Helper()
		if _, err := d.write(ctx, []*result{r}, false); err != nil {
			t.Fatalf("write the result of delivery %d: %v", r.job.id, err)
		}
	}
	failed := func(d *Dispatcher, j *job) *result {
		r := &result{job: j, attempted: true, at: b.clock.Now(), errText: "connection refused"}
		d.schedule(r, 0)
		return r
	}

	paused, first := claimProbe("the first claim")
	noProbe("at once")
	b.clock.Set(first.probeUntil.Add(-time.Millisecond))
	noProbe("a millisecond before probe_until")
	b.clock.Set(first.probeUntil)
	other, second := claimProbe("a claim at probe_until")

	// The first probe's process was paused, not dead: its result, written
	// late, leaves the second probe alone; the second's result ends it.
	write(paused, failed(paused, first))
	checkProbe("after the first probe's late result", second)
	write(other, failed(other, second))
	checkProbe("after the second probe's result", nil)

	// A probe given back unsent ends too.
	d, third := claimProbe("a claim after the second probe ended")
	write(d, &result{job: third, dropped: true})
	checkProbe("after the third probe was given back", nil)
}

// TestProbeFailureEndsItInTheSameWrite: a running dispatcher's probe of
// a failing endpoint whose port is closed is recorded on the endpoint
// while its attempt runs, and the write that records the attempt's
// failure ends it; a probe another claim recorded meanwhile (here, the
// test, once the first probe's time was up) stays.
func TestProbeFailureEndsItInTheSameWrite(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ep := b.endpoint(closedPort(t))
	markFailing(t, b, ep.ID)
	const other = "another-process.1"
	var meddle atomic.Bool // the test records another probe as the attempt begins
	var seen atomic.Int32  // attempts that found their probe recorded
	cfg := b.config()
	cfg.taken = func() {
		owner, _, err := probeOf(b, ep.ID)
		if err != nil || owner == nil {
			t.Errorf("an attempt began with probe %v recorded (%v), want its own", deref(owner), err)
			return
		}
		seen.Add(1)
		if meddle.Load() {
			if err := b.db.Model(&models.WebhookEndpoint{}).Where("id = ?", ep.ID).
				Updates(map[string]any{"probe_owner": other, "probe_until": b.clock.Now().Add(time.Hour)}).Error; err != nil {
				t.Errorf("record another probe: %v", err)
			}
		}
	}
	b.start(cfg)

	// attempted reads, in one statement, the delivery's attempts and its
	// endpoint's probe once it has an attempt.
	var row struct {
		AttemptCount int
		ProbeOwner   *string
		ProbeUntil   *time.Time
	}
	attempted := func(id int64) {
		t.Helper()
		waitFor(t, "the probe's failure recorded", func() bool {
			if err := b.db.Raw("SELECT d.attempt_count, e.probe_owner, e.probe_until FROM webhook_deliveries AS d"+
				" JOIN webhook_endpoints AS e ON e.id = d.endpoint_id WHERE d.id = ?", id).Scan(&row).Error; err != nil {
				t.Fatal(err)
			}
			return row.AttemptCount == 1
		})
	}

	attempted(b.onlyDelivery(b.enqueue(abilityEvent(1, 1))[0].ID).ID)
	if row.ProbeOwner != nil || row.ProbeUntil != nil {
		t.Errorf("the probe's failure recorded with probe %v until %v still recorded, want it ended in the same write",
			deref(row.ProbeOwner), row.ProbeUntil)
	}
	meddle.Store(true)
	attempted(b.onlyDelivery(b.enqueue(abilityEvent(2, 1))[0].ID).ID)
	if deref(row.ProbeOwner) != other || row.ProbeUntil == nil {
		t.Errorf("after the probe's failure another process's probe is %v until %v, want %s kept",
			deref(row.ProbeOwner), row.ProbeUntil, other)
	}
	if n := seen.Load(); n != 2 {
		t.Errorf("%d attempts found their probe recorded, want 2", n)
	}
}

// TestFailingEndpointOneProbeAcrossProcesses: two dispatchers, each with
// its own connection pool and lease owner, on one database, and one
// endpoint recorded failing that accepts connections and never answers,
// with several deliveries due. The endpoint never has two attempts at
// once (each process alone would allow one each), and the probes keep
// coming, one after the other: each one's failure ends it.
func TestFailingEndpointOneProbeAcrossProcesses(t *testing.T) {
	t.Parallel()
	const deliveries, probes = 8, 4
	url := dbtest.URL(t)
	b, dbs := twoProcesses(t, url)
	h := newHangingEndpoint(t)
	ep := b.endpoint(h.url())
	markFailing(t, b, ep.ID)
	events := make([]Event, deliveries)
	for i := range events {
		events[i] = abilityEvent(int64(i+1), 1)
	}
	b.enqueue(events...)
	for i := range dbs {
		cfg := b.config()
		cfg.Timeout, cfg.probeEvery = 300*time.Millisecond, 20*time.Millisecond
		outbox := b.outbox
		if i == 1 {
			outbox = NewOutbox(b.clock.Now)
		}
		d, err := NewDispatcher(dbs[i], outbox, cfg)
		if err != nil {
			t.Fatal(err)
		}
		run(t, d)
	}
	t.Cleanup(h.release) // before the dispatchers stop: their attempts end at once
	waitFor(t, "probes one after the other", func() bool { return h.connections() >= probes })
	if n := h.peakOpen(); n > 1 {
		t.Errorf("the failing endpoint got %d connections at once from two processes, want one", n)
	}
	t.Logf("%s: %d probes, at most %d at once", b.db.Dialect, h.connections(), h.peakOpen())
}
