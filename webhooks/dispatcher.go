package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"outdial/models"
)

// Dispatcher sends the deliveries the outbox records. It claims due
// deliveries under a lease (so that several processes on one database
// share the work and never send the same delivery at once), what its
// workers can send now and a batch more, fairly across endpoints
// (pacer.go), sends each
// one signed (first attempts and retries on separate workers), and
// records every attempt and the deliveries' new state in batches. A
// commit wakes it at once; the database is polled as a fallback.
type Dispatcher struct {
	db         *models.DB
	cfg        Config
	log        *slog.Logger
	transport  *http.Transport // no redirect is followed: the client's work is not needed
	metrics    *metrics
	owner      string // this process's owner ID, the start of its lease tokens
	claims     atomic.Uint64
	deliveries Deliveries
	lanes      []*lane
	pacer      *pacer
	results    *resultQueue
	recent     *recentEvents // the outbox's recent events; nil without an outbox

	retryWake *retryWake // wakes the retry lane when the earliest retry this process scheduled is due
	// writeFailing is set from a failed write of results until every
	// result waiting is recorded: no claim is made meanwhile, so that a
	// delivery whose result waits is not claimed (and sent) again by this
	// process once its lease expired.
	writeFailing atomic.Bool
	serving      atomic.Bool   // Run is delivering: deliveries may be handed off to it (handoff.go)
	begins       *beginQueue   // attempts about to begin, whose deliveries are checked first (lease.go)
	abandon      chan struct{} // closed when the shutdown's deadline passes: the writer stops retrying

	// endpointChanges records the calls of endpointChanged: a claim that
	// took deliveries of an endpoint that changed while it ran does not
	// queue them (endpointChanged says why).
	endpointChanges endpointChanges

	settled map[epAgent]int64 // newest version recorded as delivered (writer only)
}

// maxDelivered bounds Dispatcher.settled; past it, it starts afresh.
const maxDelivered = 200_000

// NewDispatcher returns a dispatcher for the deliveries of db and has
// outbox wake it after every commit. It returns an error when cfg has a
// negative setting or its metrics cannot be registered.
func NewDispatcher(db *models.DB, outbox *Outbox, cfg Config) (*Dispatcher, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	workers := cfg.FirstAttemptWorkers + cfg.RetryWorkers
	slowAfter := max(cfg.Timeout/4, time.Millisecond)
	d := &Dispatcher{
		db: db, cfg: cfg, log: cfg.Logger, metrics: m, owner: newOwner(), deliveries: NewDeliveries(db.Dialect),
		abandon:   make(chan struct{}),
		begins:    newBeginQueue(),
		transport: newTransport(cfg.AllowedCIDRs, cfg.Timeout, workers),
		lanes: []*lane{
			newLane("first", false, cfg.FirstAttemptWorkers, cfg.BatchSize),
			newLane("retry", true, cfg.RetryWorkers, cfg.BatchSize),
		},
		results: newResultQueue(),
		settled: map[epAgent]int64{},
	}
	for i, l := range d.lanes {
		l.index = i
	}
	d.pacer = newPacer([]int{cfg.FirstAttemptWorkers, cfg.RetryWorkers}, slowAfter, cfg.probeEvery, func(lanes uint) {
		for _, l := range d.lanes {
			if lanes&(1<<l.index) != 0 {
				signal(l.freed)
			}
		}
	})
	retryLane := d.lanes[1]
	d.retryWake = newRetryWake(func() { signal(retryLane.wake) })
	if outbox != nil {
		outbox.addDispatcher(d)
		outbox.ListenEndpoints(d.endpointChanged)
		d.recent = outbox.recent
	}
	return d, nil
}

// newOwner returns a random lease owner ID for this process.
func newOwner() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "d_" + hex.EncodeToString(b[:])
}

// now is the configured clock, in UTC to the microsecond as stored.
func (d *Dispatcher) now() time.Time { return d.cfg.Now().UTC().Truncate(time.Microsecond) }

// Wake makes the dispatcher look for due deliveries now. It never blocks.
func (d *Dispatcher) Wake() {
	for _, l := range d.lanes {
		signal(l.wake)
	}
}

// Run delivers until ctx is done, then shuts down gracefully within
// ShutdownTimeout: it stops claiming, lets the attempts in flight finish
// (each within Timeout), records their results and releases the
// deliveries it had claimed but not started, so that no lease is left
// behind. Results it could not record by the deadline (the database is
// unreachable) are logged; their deliveries are sent again once their
// leases expire. It returns nil.
func (d *Dispatcher) Run(ctx context.Context) error {
	var workers, loops sync.WaitGroup
	writer := make(chan struct{})
	go func() { d.writeLoop(d.results); close(writer) }()
	begins := make(chan struct{})
	go func() { d.beginLoop(d.begins); close(begins) }()
	for _, l := range d.lanes {
		for range l.workers {
			workers.Go(func() { d.workLoop(context.WithoutCancel(ctx), l) })
		}
		loops.Go(func() { d.claimLoop(ctx, l) })
	}
	loops.Go(func() { d.renewLoop(ctx) })
	loops.Go(func() { d.statsLoop(ctx) })
	d.serving.Store(true)
	d.log.Info("webhook dispatcher started", "owner", d.owner)
	<-ctx.Done()
	d.serving.Store(false)
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.ShutdownTimeout())
	defer cancel()
	stop := context.AfterFunc(shutdown, func() { close(d.abandon) })
	defer stop()
	loops.Wait()
	d.retryWake.stop()
	var queued []*job
	for _, l := range d.lanes {
		queued = append(queued, l.close()...)
	}
	d.release(shutdown, holdsOfJobs(queued))
	workers.Wait()
	d.begins.close()
	<-begins
	d.results.close()
	<-writer
	d.log.Info("webhook dispatcher stopped", "owner", d.owner, "released", len(queued))
	return nil
}

// ShutdownTimeout is how long Run takes at most to return once its
// context is done: the attempts in flight (Timeout) and the recording of
// their results.
func (d *Dispatcher) ShutdownTimeout() time.Duration { return d.cfg.Timeout + d.cfg.recordGrace }

// workLoop runs the jobs of l until l is closed, and gives back those
// that waited too long.
func (d *Dispatcher) workLoop(ctx context.Context, l *lane) {
	for {
		j, expired := l.take(d.pacer.tryRun)
		d.giveBack(expired, givenBackWaited)
		if j == nil {
			if len(expired) == 0 {
				return
			}
			continue
		}
		d.work(ctx, l, j)
	}
}

// work attempts j, a job of l, and hands on its result.
func (d *Dispatcher) work(ctx context.Context, l *lane, j *job) {
	if d.cfg.taken != nil {
		d.cfg.taken()
	}
	r := d.handle(ctx, l, j)
	if r.attempted {
		d.metrics.latency.WithLabelValues(l.name).Observe(r.took.Seconds())
	}
	d.pacer.finish(l.index, j.endpointID, r.attempted, r.ok, r.took, time.Now())
	idle := l.finish(j)
	for _, o := range d.lanes {
		if o != l {
			o.nudge() // its jobs for the endpoint may run now
		}
	}
	d.results.put(r, idle && !d.busy())
}

// giveBack has the writer give back jobs taken out of a lane unsent, due
// at once, to be claimed again with what is true then, and counts them
// under reason (outdial_webhook_deliveries_given_back_total).
func (d *Dispatcher) giveBack(jobs []*job, reason string) {
	if len(jobs) > 0 {
		d.metrics.givenBack.WithLabelValues(reason).Add(float64(len(jobs)))
	}
	for _, j := range jobs {
		d.pacer.giveBack(j.lane, j.endpointID)
		d.results.put(&result{job: j, dropped: true}, !d.busy())
	}
}

// busy reports whether any lane holds deliveries, queued or running.
func (d *Dispatcher) busy() bool {
	for _, l := range d.lanes {
		if l.holds() {
			return true
		}
	}
	return false
}

// handle attempts j unless its lease would end before the attempt does
// (lapsed), or, when j is its failing endpoint's probe, the probe's
// record would (probeFor), or its delivery is no longer held by its lease when the
// attempt begins (begin: settled or taken over by another process), or
// its endpoint changed in this process since the claim read it: a worker
// that took j out of its lane before the change's drop (endpointChanged)
// could find it only here, so j is given back, to be claimed again with
// the endpoint as it is. What the claim read of j is otherwise at most
// maxQueued old (lane.take).
func (d *Dispatcher) handle(ctx context.Context, l *lane, j *job) *result {
	if d.lapsed(j) {
		return &result{job: j, dropped: true, lapsed: true}
	}
	if ok, lost := d.begin(l, j); !ok {
		return &result{job: j, dropped: true, settled: lost}
	}
	if d.lapsed(j) { // the check may have waited for the database
		return &result{job: j, dropped: true, lapsed: true}
	}
	if d.endpointChanges.changedSince(j.endpointID, j.mark) {
		d.metrics.givenBack.WithLabelValues(givenBackChanged).Inc()
		return &result{job: j, dropped: true}
	}
	if j.probe != "" && d.now().Add(d.probeAttempt()).After(j.probeUntil) {
		// A probe whose attempt would outlast probe_until: another
		// process may take the endpoint's probe by then (probeFor).
		return &result{job: j, dropped: true}
	}
	return d.attempt(ctx, j)
}

// endpointChanged takes the queued jobs of the endpoint id out of the
// lanes and has the writer give them back, so that they are claimed again
// with the endpoint's current state (or found FAILED). The outbox calls
// it after an endpoint command's commit, the writer after it disabled an
// endpoint; it never blocks.
//
// A claim under way meanwhile may have read the endpoint before the
// change committed, and its jobs are not in a lane yet for the drop to
// find. So the change is noted first (endpointChanges.note), before the
// drop; each claim takes a mark before its transaction begins, and as it
// queues its jobs, under the lane's lock (lane.started), gives back those
// of an endpoint changed since its mark; a hand-off does the same
// (Outbox.Writer, lane.handOver). Either that check comes after the note,
// and the jobs are given back; or it comes before, and then the jobs
// were queued under l.mu before the drop took l.mu, and the drop finds
// them. A change noted before the claim took its mark committed before
// the claim's transaction began, which reads the endpoint as changed.
// Only the changed endpoint's jobs go back: a change of one endpoint
// does not hold back the others' deliveries.
func (d *Dispatcher) endpointChanged(id int64) {
	d.endpointChanges.note(id)
	for _, l := range d.lanes {
		d.giveBack(l.drop(id), givenBackChanged)
	}
}

// claimLoop claims work for l whenever it is woken (a commit, Wake), its
// queue runs low, or the poll interval passes, until ctx is done.
func (d *Dispatcher) claimLoop(ctx context.Context, l *lane) {
	tick := time.NewTicker(d.cfg.PollInterval)
	defer tick.Stop()
	for {
		idle := d.claimWhileNeeded(ctx, l)
		if !d.awaitClaim(ctx, l, idle, tick.C) {
			return
		}
	}
}

// awaitClaim waits until it is time to claim for l again, and reports
// false when ctx is done first. A wake or a poll (tick) claims at once;
// space in the lane, or room given back that a claim found taken
// (l.freed), claims once the lane is roomy (gatherSpace). After a claim
// that found nothing it could take (idle), space in the lane is no
// reason: more space does not make more deliveries due, and claims that
// find nothing, one per delivery a worker takes as the queue drains,
// were a sixth of the claims of BenchmarkFanOut (BENCHMARKS.md).
func (d *Dispatcher) awaitClaim(ctx context.Context, l *lane, idle bool, tick <-chan time.Time) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-l.wake:
			return true
		case <-tick:
			return true
		case <-l.freed:
		case <-l.space:
			if idle {
				continue
			}
		}
		d.gatherSpace(ctx, l)
		return true
	}
}

// gatherSpace waits until l is roomy (lane.roomy), a wake comes or ctx
// is done: a claim's cost is mostly per statement, so that claims of a
// few deliveries each, as workers free one by one, would cost several
// times what claims of half a batch do.
func (d *Dispatcher) gatherSpace(ctx context.Context, l *lane) {
	for !l.roomy() {
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
			return
		case <-l.space:
		}
	}
}

// claimWhileNeeded claims for l until its queue holds more than half a
// batch (lane.roomy), its workers and queue are full, or the database has
// no more due deliveries it may take; the next claim waits for the
// workers to take the queue down to half a batch (awaitClaim), so that
// claims take half a batch or more at a time. (Claiming again at once
// after every full claim took what the workers had taken meanwhile: in
// BenchmarkFanOut, 24 deliveries a claim instead of about 80, and three
// times the claims.) Nothing is claimed while the writer cannot record
// results. It reports whether the last claim found nothing due that it
// could take (idle).
func (d *Dispatcher) claimWhileNeeded(ctx context.Context, l *lane) (idle bool) {
	for ctx.Err() == nil && !d.writeFailing.Load() {
		found, need, err := d.claim(ctx, l)
		if err != nil {
			// A claim cut short by shutdown fails with whatever the
			// driver says about the cancelled transaction: not worth a warning.
			if ctx.Err() == nil {
				d.log.Warn("claiming webhook deliveries failed; trying again at the next wake or poll", "lane", l.name, "err", err)
			}
			return false
		}
		if need == 0 || found < need || !l.roomy() {
			return need > 0 && found == 0
		}
	}
	return false
}

// renewLoop extends the leases of the deliveries this process holds,
// queued, in flight or with a result not yet recorded, when less than
// half of InFlightLease is left (lease.go), until ctx is done.
func (d *Dispatcher) renewLoop(ctx context.Context) {
	tick := time.NewTicker(d.cfg.InFlightLease / 8)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// Leases with more than half of InFlightLease left are left alone:
		// most deliveries are sent and recorded long before.
		until := d.now().Add(d.cfg.InFlightLease / 2).UnixNano()
		var jobs []*job
		for _, j := range d.results.jobs() {
			if j.leaseEnd.Load() < until {
				jobs = append(jobs, j)
			}
		}
		for _, l := range d.lanes {
			for _, j := range l.heldJobs() {
				if j.leaseEnd.Load() < until {
					jobs = append(jobs, j)
				}
			}
		}
		if err := d.renew(ctx, jobs); err != nil && ctx.Err() == nil {
			d.log.Error("renewing webhook delivery leases failed", "deliveries", len(jobs), "err", err)
		}
	}
}

// statsLoop refreshes the queue gauges every StatsInterval until ctx is
// done.
func (d *Dispatcher) statsLoop(ctx context.Context) {
	tick := time.NewTicker(d.cfg.StatsInterval)
	defer tick.Stop()
	for {
		if err := d.refreshStats(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("reading webhook queue depth failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// refreshStats sets the queue depth and oldest pending age gauges. It
// returns an error when the database fails.
func (d *Dispatcher) refreshStats(ctx context.Context) error {
	var depth int64
	// On the reader: the count reads an entry per pending delivery (13 to
	// 65 ms for 200,000 to 900,000 on SQLite), and on the writer's one
	// connection it held every claim, lease and result that long, every
	// StatsInterval (BENCHMARKS.md, "Beside 100 dead on SQLite: the
	// gauges").
	db := d.db.Reader().WithContext(ctx)
	// Both read the index of pending deliveries by age; 'PENDING' is a
	// literal so that SQLite sees that its partial index applies.
	from := d.deliveriesUsing("p", "webhook_deliveries_pending_age")
	if err := db.Raw("SELECT COUNT(*) FROM " + from + " WHERE status = 'PENDING'").Scan(&depth).Error; err != nil {
		return err
	}
	var oldest []time.Time
	if err := db.Raw("SELECT created_at FROM " + from + " WHERE status = 'PENDING' ORDER BY created_at LIMIT 1").
		Scan(&oldest).Error; err != nil {
		return err
	}
	d.metrics.queueDepth.Set(float64(depth))
	age := 0.0
	if len(oldest) > 0 {
		age = max(0, d.now().Sub(oldest[0]).Seconds())
	}
	d.metrics.oldestAge.Set(age)
	return nil
}
