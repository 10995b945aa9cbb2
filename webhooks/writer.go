package webhooks

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"outdial/models"
)

// maxWriteBatch bounds the results written in one transaction.
const maxWriteBatch = 512

// writeDelay is how long the writer lets results gather while deliveries
// are still in flight, so that a busy dispatcher records them in a few
// large transactions (whose cost is mostly per transaction on SQLite)
// rather than in many small ones. An idle dispatcher writes at once.
const writeDelay = 5 * time.Millisecond

// resultQueue hands the workers' results to the writer. Workers never
// wait on it: it holds at most the deliveries the lanes held.
type resultQueue struct {
	mu      sync.Mutex
	items   []*result
	writing []*result // taken by the writer, not yet recorded
	closed  bool
	ready   chan struct{} // results arrived, enough of them, or the queue closed
}

func newResultQueue() *resultQueue { return &resultQueue{ready: make(chan struct{}, 1)} }

// put queues r. It wakes the writer when r is the first result, fills a
// batch, or is the last one expected (idle: no delivery is in flight).
func (q *resultQueue) put(r *result, idle bool) {
	q.mu.Lock()
	q.items = append(q.items, r)
	n := len(q.items)
	q.mu.Unlock()
	if n == 1 || n >= maxWriteBatch || idle {
		signal(q.ready)
	}
}

// close wakes the writer for the last time.
func (q *resultQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	signal(q.ready)
}

// state returns how many results are queued and whether the queue is
// closed.
func (q *resultQueue) state() (int, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items), q.closed
}

// takeAll removes and returns up to maxWriteBatch queued results, which
// stay in q.writing until recorded.
func (q *resultQueue) takeAll() []*result {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(len(q.items), maxWriteBatch)
	batch := slices.Clone(q.items[:n])
	q.items = slices.Delete(q.items, 0, n)
	q.writing = batch
	return batch
}

// recorded notes that the batch being written is done with.
func (q *resultQueue) recorded() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.writing = nil
}

// jobs returns the jobs of the results not yet recorded, whose leases
// are renewed like those of the jobs not yet attempted.
func (q *resultQueue) jobs() []*job {
	q.mu.Lock()
	defer q.mu.Unlock()
	jobs := make([]*job, 0, len(q.items)+len(q.writing))
	for _, r := range q.items {
		jobs = append(jobs, r.job)
	}
	for _, r := range q.writing {
		jobs = append(jobs, r.job)
	}
	return jobs
}

// writeLoop records the results of q, many per transaction, until q is
// closed and drained.
func (d *Dispatcher) writeLoop(q *resultQueue) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		n, closed := q.state()
		if n == 0 {
			if closed {
				return
			}
			<-q.ready
			continue
		}
		if n < maxWriteBatch && !closed && d.busy() {
			timer.Reset(writeDelay)
			d.gather(q, timer)
			timer.Stop()
		}
		batch := q.takeAll()
		ok := d.flush(batch)
		q.recorded()
		// A probe's result ends the probe (endProbes): its endpoint may
		// take the next one now, and a claim that found the probe running
		// left the endpoint out with no other reason to claim again
		// before the poll (on a loaded machine, the breaker's timer can
		// fire before the result is written).
		if ok && slices.ContainsFunc(batch, func(r *result) bool { return r.job.probe != "" }) {
			d.Wake()
		}
		// After a failure, claims resume once every result waiting then
		// is recorded: one of them may be of a delivery whose lease
		// expired meanwhile, which a claim would send again.
		if n, _ := q.state(); ok && n == 0 && d.writeFailing.Load() {
			d.writeFailing.Store(false)
			d.Wake()
		}
	}
}

// gather waits until q has a full batch, the dispatcher is idle, q is
// closed, or timer fires.
func (d *Dispatcher) gather(q *resultQueue, timer *time.Timer) {
	for {
		select {
		case <-q.ready:
		case <-timer.C:
			return
		}
		if n, closed := q.state(); n >= maxWriteBatch || closed || !d.busy() {
			return
		}
	}
}

// flush writes batch, retrying while the database fails, with a backoff
// of up to writeBackoff: results are kept until they are recorded,
// whatever the outage, so that what was sent is never sent again for want
// of its record. Only shutdown stops it: once d.abandon is closed (the
// shutdown's deadline passed), it logs the results it could not record;
// their leases then expire and the deliveries are attempted again. It
// reports whether batch was recorded.
func (d *Dispatcher) flush(batch []*result) (recorded bool) {
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		w, err := d.write(ctx, batch, try > 1)
		cancel()
		if err == nil {
			d.noteSettled(w.held)
			d.noteWritten(w)
			return true
		}
		d.writeFailing.Store(true)
		if try == 1 || try%20 == 0 {
			d.log.Warn("recording webhook results failed; retrying until the database answers", "results", len(batch), "try", try, "err", err)
		}
		select {
		case <-d.abandon:
			d.log.Error("webhook results not recorded at shutdown; the deliveries will be attempted again when their leases expire",
				"results", len(batch), "err", err)
			return false
		case <-time.After(min(100*time.Millisecond<<min(try, 5), writeBackoff)):
		}
	}
}

// writeTimeout bounds one write of results; writeBackoff is the longest
// wait between two tries.
const (
	writeTimeout = 30 * time.Second
	writeBackoff = 2 * time.Second
)

// written is what one write recorded.
type written struct {
	held                                   []*result // the results applied: their deliveries were still ours
	succeeded, retried, failed, superseded int64
	released                               int64     // deliveries given back for a new claim
	lapsed                                 int64     // of them, not sent because their lease ran out
	settled                                int64     // of them, not sent because another process settled or took them first
	nextRetry                              time.Time // the earliest retry scheduled; zero when none
	notLeased                              int64     // results for deliveries no longer leased to us
	failedForGood                          []*result
	disabled                               []disabled
}

// disabled is an endpoint a write disabled.
type disabled struct {
	id       int64
	reason   string
	failures int64 // pending deliveries failed with it
}

// errNotAllHeld is the error of a write's optimistic transaction (see
// write) when a fenced statement changed fewer rows than it was given: the
// transaction is rolled back and run again the careful way.
var errNotAllHeld = errors.New("not every delivery of the batch is still held")

// write records batch in one transaction: the attempts, the deliveries'
// new state, the supersession of older versions, the endpoints' health,
// the end of the probes of failing endpoints.
// Every attempt made gets its row, so that the history says what was
// sent; the new state is written only for the deliveries still held under
// the job's lease (fenced, see Deliveries): one settled meanwhile (its
// endpoint disabled or deleted) or taken over by another process after
// its lease expired keeps the state given to it there. It returns an error
// when the database fails; then nothing is written.
//
// The first transaction is optimistic: it takes every delivery of batch
// as still held, and checks that by the counts of the fenced UPDATEs (see
// record). Only when a count falls short (a delivery settled or taken
// over elsewhere, or deleted) is it rolled back and run again the careful
// way, which reads first which deliveries are held and which exist
// (stillHeld): nearly always all of them are, and that read cost as much
// as the UPDATE that finishes them (0.34 s of the writer's 1.28 s per
// 60,000 deliveries, BenchmarkFanOut on SQLite). The careful way comes
// first for a batch written again, one with a delivery known lost before
// its attempt, and after a lost deadlock (it locks the rows before
// changing them, in primary key order).
//
// again says that batch is being written again after an error: then the
// attempts already recorded are left out, as the error may have come after
// a COMMIT that went through (the database died as it answered).
func (d *Dispatcher) write(ctx context.Context, batch []*result, again bool) (written, error) {
	now := d.now()
	careful := again || slices.ContainsFunc(batch, func(r *result) bool { return r.settled })
	var w written
	try := func() error {
		return d.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return d.record(tx, batch, now, again, careful, &w)
		})
	}
	err := models.RetryLocks(ctx, func() error {
		err := try()
		if !careful {
			careful = true
			if errors.Is(err, errNotAllHeld) {
				err = try()
			}
		}
		return err
	})
	return w, err
}

// record writes batch in tx for write, into w. Careful, it writes the new
// state of the deliveries still held only and the attempts of those still
// existing (stillHeld); otherwise it takes every delivery as held and
// returns errNotAllHeld when a fenced UPDATE finds one that is not. The
// attempts are inserted after the UPDATEs: on MySQL their foreign key
// check share-locks each delivery, and a delivery share-locked first then
// updated deadlocks with anyone waiting to change it meanwhile; and a
// delivery deleted since its attempt makes a count fall short rather than
// that check fail.
func (d *Dispatcher) record(tx *gorm.DB, batch []*result, now time.Time, again, careful bool, w *written) error {
	held, exist := batch, batch
	if careful {
		var err error
		if held, exist, err = d.stillHeld(tx, batch); err != nil {
			return err
		}
	}
	sent := func(r *result) bool { return !r.dropped }
	*w = written{held: held, notLeased: countOf(batch, sent) - countOf(held, sent),
		lapsed:  countOf(batch, func(r *result) bool { return r.lapsed }),
		settled: countOf(batch, func(r *result) bool { return r.settled })}
	if err := d.applyResults(tx, held, now, w); err != nil {
		return err
	}
	if !careful && (w.notLeased > 0 || w.released < int64(len(batch))-countOf(batch, sent)) {
		return errNotAllHeld
	}
	if again {
		var err error
		if exist, err = d.unrecorded(tx, exist); err != nil {
			return err
		}
	}
	if err := d.insertAttempts(tx, exist); err != nil {
		return err
	}
	if err := d.supersedeOlder(tx, held, now, w); err != nil {
		return err
	}
	if err := d.trackHealth(tx, held, now, w); err != nil {
		return err
	}
	return d.endProbes(tx, batch)
}

// countOf counts the results of batch for which is holds: sent (not
// dropped), lapsed (not sent because their lease ran out, whether or not
// it was taken over since) or settled (not sent because another process
// had settled or taken over their deliveries, begin).
func countOf(batch []*result, is func(*result) bool) int64 {
	var n int64
	for _, r := range batch {
		if is(r) {
			n++
		}
	}
	return n
}

// stillHeld returns the results of batch whose deliveries are still
// PENDING under their job's lease, and those whose deliveries still exist
// (the attempts of the others are not recorded: retention deleted them).
// It locks the rows on MySQL so that nobody settles them before the
// transaction ends (SQLite's write transactions exclude each other
// already).
func (d *Dispatcher) stillHeld(tx *gorm.DB, batch []*result) (held, exist []*result, err error) {
	ids := make([]int64, len(batch))
	for i, r := range batch {
		ids[i] = r.job.id
	}
	lock := ""
	if d.db.Dialect == models.MySQL {
		lock = " FOR UPDATE"
	}
	type row struct {
		ID         int64
		Status     string
		LeaseOwner *string
	}
	found := make(map[int64]row, len(batch))
	for chunk := range slices.Chunk(ids, batchSize) {
		var rows []row
		if err := tx.Raw("SELECT id, status, lease_owner FROM webhook_deliveries WHERE id IN " + inList(chunk) + lock).
			Scan(&rows).Error; err != nil {
			return nil, nil, fmt.Errorf("read the deliveries still leased: %w", err)
		}
		for _, r := range rows {
			found[r.ID] = r
		}
	}
	held = make([]*result, 0, len(batch))
	exist = make([]*result, 0, len(batch))
	for _, r := range batch {
		f, ok := found[r.job.id]
		if !ok {
			continue
		}
		exist = append(exist, r)
		if f.Status == StatusPending && f.LeaseOwner != nil && *f.LeaseOwner == r.job.lease() {
			held = append(held, r)
		}
	}
	return held, exist, nil
}

// unrecorded returns the results of batch whose attempt has no row yet
// (an attempt's row is known by its delivery and the time it began).
func (d *Dispatcher) unrecorded(tx *gorm.DB, batch []*result) ([]*result, error) {
	ids := make([]int64, 0, len(batch))
	for _, r := range batch {
		if r.attempted {
			ids = append(ids, r.job.id)
		}
	}
	recorded := map[int64][]time.Time{}
	for chunk := range slices.Chunk(ids, batchSize) {
		var rows []struct {
			DeliveryID  int64
			AttemptedAt time.Time
		}
		if err := tx.Raw("SELECT delivery_id, attempted_at FROM webhook_attempts WHERE delivery_id IN " + inList(chunk)).
			Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("read the attempts recorded: %w", err)
		}
		for _, r := range rows {
			recorded[r.DeliveryID] = append(recorded[r.DeliveryID], r.AttemptedAt)
		}
	}
	out := make([]*result, 0, len(batch))
	for _, r := range batch {
		if !r.attempted || !slices.ContainsFunc(recorded[r.job.id], r.at.Equal) {
			out = append(out, r)
		}
	}
	return out, nil
}

// insertAttempts records every attempt of batch, many rows per INSERT.
// Integers and NULLs are written into the statement; only times and texts
// are bound (fewer on SQLite, whose driver binds in quadratic time).
func (d *Dispatcher) insertAttempts(tx *gorm.DB, batch []*result) error {
	var attempted []*result
	for _, r := range batch {
		if r.attempted {
			attempted = append(attempted, r)
		}
	}
	rows := batchSize
	if d.db.Dialect == models.SQLite {
		rows = 64
	}
	for chunk := range slices.Chunk(attempted, rows) {
		var sql strings.Builder
		sql.WriteString("INSERT" + d.deliveries.orFail() + " INTO webhook_attempts (delivery_id, attempted_at, status_code, duration_ms, error, response_body) VALUES ")
		args := make([]any, 0, 3*len(chunk))
		for i, r := range chunk {
			if i > 0 {
				sql.WriteString(", ")
			}
			fmt.Fprintf(&sql, "(%d, ?, %s, %d, %s, %s)", r.job.id, intOrNull(r.status), r.took.Milliseconds(),
				placeholderOrNull(r.errText), placeholderOrNull(r.body))
			args = append(args, r.at)
			for _, s := range []string{r.errText, r.body} {
				if s != "" {
					args = append(args, s)
				}
			}
		}
		if err := tx.Exec(sql.String(), args...).Error; err != nil {
			return fmt.Errorf("record attempts: %w", err)
		}
	}
	return nil
}

// intOrNull writes n, or NULL for 0, as SQL.
func intOrNull(n int) string {
	if n == 0 {
		return "NULL"
	}
	return strconv.Itoa(n)
}

// placeholderOrNull returns "?" for a text to bind, or NULL for none.
func placeholderOrNull(s string) string {
	if s == "" {
		return "NULL"
	}
	return "?"
}

// applyResults moves each delivery of batch to its new state, provided
// this process still holds its lease, and gives back the dropped ones.
func (d *Dispatcher) applyResults(tx *gorm.DB, batch []*result, now time.Time, w *written) error {
	var ok, final, dropped []hold
	var retries []retry
	for _, r := range batch {
		h := hold{r.job.id, r.job.lease()}
		switch {
		case r.dropped:
			dropped = append(dropped, h)
		case r.ok:
			ok = append(ok, h)
		case r.next.IsZero():
			final = append(final, h)
			w.failedForGood = append(w.failedForGood, r)
		default:
			retries = append(retries, retry{h, r.next})
			if w.nextRetry.IsZero() || r.next.Before(w.nextRetry) {
				w.nextRetry = r.next
			}
		}
	}
	steps := []struct {
		hs        []hold
		status    string
		count     *int64
		attempted bool
	}{
		{ok, StatusSucceeded, &w.succeeded, true},
		{final, StatusFailed, &w.failed, true},
	}
	for _, s := range steps {
		n, err := d.deliveries.finish(tx, s.hs, s.status, s.attempted, now)
		if err != nil {
			return err
		}
		*s.count += n
		w.notLeased += int64(len(s.hs)) - n
	}
	n, err := d.deliveries.reschedule(tx, retries, now)
	w.retried += n
	w.notLeased += int64(len(retries)) - n
	if err != nil {
		return err
	}
	n, err = d.deliveries.release(tx, dropped, now)
	w.released += n
	return err
}

// epAgent names the deliveries of one agent's ability to one endpoint.
type epAgent struct{ endpoint, agent int64 }

// supersedeOlder marks SUPERSEDED every pending delivery to the same
// endpoint of an older version of the same agent as a success of batch.
//
// Once a success is recorded, no older version of its agent can be
// pending at its endpoint: this statement superseded them, and versions
// only grow. So a success whose previous version this process recorded as
// succeeded (d.settled) needs no look at all, which is the common case;
// one with a gap since the version known settled looks only above it; and
// only a success with nothing known looks at the agent's whole history
// at the endpoint. (A redelivery of an old version, created after a newer
// one succeeded, is pending below it: the claim supersedes it, see
// fairQuery.)
func (d *Dispatcher) supersedeOlder(tx *gorm.DB, batch []*result, now time.Time, w *written) error {
	var unknown []int64        // successes with nothing known of older versions
	above := map[int64]int64{} // successes with a gap → the version known settled
	for _, r := range batch {
		if !r.ok || r.job.agentID == 0 {
			continue
		}
		settled, ok := d.settled[epAgent{r.job.endpointID, r.job.agentID}]
		switch {
		case !ok:
			unknown = append(unknown, r.job.id)
		case settled < r.job.version-1:
			above[r.job.id] = settled
		}
	}
	for chunk := range slices.Chunk(unknown, batchSize) {
		if err := d.supersede(tx, chunk, nil, now, w); err != nil {
			return err
		}
	}
	if len(above) == 0 {
		return nil
	}
	return d.supersede(tx, slices.Collect(maps.Keys(above)), above, now, w)
}

// supersede runs Deliveries.supersede for the successes ids, looking
// above the versions of above when it is not nil.
func (d *Dispatcher) supersede(tx *gorm.DB, ids []int64, above map[int64]int64, now time.Time, w *written) error {
	n, err := d.deliveries.supersede(tx, ids, above, now)
	w.superseded += n
	return err
}

// noteSettled remembers, once batch is recorded, the newest version of
// each agent that succeeded at each endpoint. Only the writer goroutine
// uses d.settled.
func (d *Dispatcher) noteSettled(batch []*result) {
	for _, r := range batch {
		if !r.ok || r.job.agentID == 0 {
			continue
		}
		if len(d.settled) >= maxDelivered {
			clear(d.settled)
		}
		k := epAgent{r.job.endpointID, r.job.agentID}
		d.settled[k] = max(d.settled[k], r.job.version)
	}
}

// trackHealth keeps each endpoint's failing_since (set on the first
// failure after a success, cleared by a success) and disables endpoints
// that answered 410 Gone or have failed for DisableAfter.
func (d *Dispatcher) trackHealth(tx *gorm.DB, batch []*result, now time.Time, w *written) error {
	var okEps, failEps, goneEps []int64
	for _, r := range batch {
		id := r.job.endpointID
		switch {
		case r.ok:
			okEps = appendNew(okEps, id)
		case r.gone:
			goneEps = appendNew(goneEps, id)
		case r.attempted:
			failEps = appendNew(failEps, id)
		}
	}
	failEps = slices.DeleteFunc(failEps, func(id int64) bool { return slices.Contains(okEps, id) })
	if len(okEps) > 0 {
		if err := tx.Exec("UPDATE webhook_endpoints SET failing_since = NULL WHERE id IN " + inList(okEps) +
			" AND failing_since IS NOT NULL").Error; err != nil {
			return fmt.Errorf("clear endpoint failures: %w", err)
		}
	}
	for _, id := range goneEps {
		if err := d.disable(tx, id, fmt.Sprintf("the endpoint answered 410 Gone at %s", now.Format(time.RFC3339)), now, w); err != nil {
			return err
		}
	}
	if len(failEps) == 0 {
		return nil
	}
	return d.noteFailures(tx, failEps, now, w)
}

// endProbes ends the probes of failing endpoints (pacer.go) whose jobs
// have results in batch, attempted or given back unsent, held or not: it
// clears probe_owner and probe_until of each endpoint whose probe is
// still the one its job's claim recorded (startProbes), each token tied
// to its own endpoints, so that a probe another claim recorded since
// (once probe_until passed) is left alone. Only results of probes cost a
// statement; a probe whose result never comes (the process died, or gave
// its claim back before making jobs) ends at its probe_until by itself.
func (d *Dispatcher) endProbes(tx *gorm.DB, batch []*result) error {
	var probes []hold // endpoint, probe token
	for _, r := range batch {
		if h := (hold{r.job.endpointID, r.job.probe}); h.token != "" && !slices.Contains(probes, h) {
			probes = append(probes, h)
		}
	}
	if len(probes) == 0 {
		return nil
	}
	ids, owned, tokens := ownedBy("probe_owner", probes)
	if err := tx.Exec("UPDATE webhook_endpoints SET probe_owner = NULL, probe_until = NULL WHERE id IN "+inList(ids)+
		" AND "+owned, tokens...).Error; err != nil {
		return fmt.Errorf("end the probes of failing endpoints: %w", err)
	}
	return nil
}

// noteFailures sets failing_since on endpoints that just failed, and
// disables those failing for DisableAfter.
func (d *Dispatcher) noteFailures(tx *gorm.DB, ids []int64, now time.Time, w *written) error {
	if err := tx.Exec("UPDATE webhook_endpoints SET failing_since = ? WHERE id IN "+inList(ids)+
		" AND failing_since IS NULL AND enabled = ?", now, true).Error; err != nil {
		return fmt.Errorf("note endpoint failures: %w", err)
	}
	var expired []struct {
		ID           int64
		FailingSince time.Time
	}
	if err := tx.Raw("SELECT id, failing_since FROM webhook_endpoints WHERE id IN "+inList(ids)+" AND enabled = ? AND failing_since <= ?",
		true, now.Add(-d.cfg.DisableAfter)).Scan(&expired).Error; err != nil {
		return fmt.Errorf("find failing endpoints: %w", err)
	}
	for _, e := range expired {
		reason := fmt.Sprintf("every delivery has failed since %s (more than %s)",
			e.FailingSince.UTC().Format(time.RFC3339), formatDays(d.cfg.DisableAfter))
		if err := d.disable(tx, e.ID, reason, now, w); err != nil {
			return err
		}
	}
	return nil
}

// disable turns the endpoint id off with reason and fails its pending
// deliveries. It clears failing_since, so that re-enabling the endpoint
// starts a new count.
func (d *Dispatcher) disable(tx *gorm.DB, id int64, reason string, now time.Time, w *written) error {
	res := tx.Exec("UPDATE webhook_endpoints SET enabled = ?, disabled_reason = ?, failing_since = NULL, updated_at = ?"+
		" WHERE id = ? AND enabled = ?",
		false, reason, now, id, true)
	if res.Error != nil {
		return fmt.Errorf("disable endpoint: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil
	}
	failures, err := d.deliveries.Fail(tx, id, now)
	if err != nil {
		return err
	}
	w.disabled = append(w.disabled, disabled{id: id, reason: reason, failures: failures})
	return nil
}

// formatDays writes d in days when it is a whole number of them.
func formatDays(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// appendNew appends id to ids unless it is there already.
func appendNew(ids []int64, id int64) []int64 {
	if slices.Contains(ids, id) {
		return ids
	}
	return append(ids, id)
}

// maxFailureLogs bounds the deliveries failed for good logged one by one
// per write; the rest are counted in one line.
const maxFailureLogs = 20

// noteWritten counts, logs and acts on what a write recorded.
func (d *Dispatcher) noteWritten(w written) {
	d.retryWake.at(w.nextRetry, d.now())
	m := d.metrics.deliveries
	m.WithLabelValues(outcomeSucceeded).Add(float64(w.succeeded))
	m.WithLabelValues(outcomeRetry).Add(float64(w.retried))
	m.WithLabelValues(outcomeFailed).Add(float64(w.failed))
	m.WithLabelValues(outcomeSuperseded).Add(float64(w.superseded))
	for i, r := range w.failedForGood {
		if i == maxFailureLogs {
			d.log.Warn("more webhook deliveries failed for good", "deliveries", len(w.failedForGood)-i)
			break
		}
		d.log.Warn("webhook delivery failed for good", "delivery", r.job.id, "endpoint", r.job.endpointID,
			"attempts", r.job.attempts+1, "status", r.status, "err", r.errText)
	}
	for _, e := range w.disabled {
		d.metrics.deliveries.WithLabelValues(outcomeFailed).Add(float64(e.failures))
		d.endpointChanged(e.id)
		d.log.Warn("webhook endpoint disabled", "endpoint", e.id, "reason", e.reason, "pendingDeliveriesFailed", e.failures)
	}
	if w.notLeased > 0 {
		d.log.Info("webhook results not applied: the deliveries were settled or taken over meanwhile", "deliveries", w.notLeased)
	}
	if w.settled > 0 {
		d.log.Info("webhook deliveries not sent: another process settled or took them over since their claim",
			"deliveries", w.settled)
	}
	if w.lapsed > 0 {
		d.log.Warn("webhook deliveries not sent: their leases ran out first (the process was paused or the database out of reach)",
			"deliveries", w.lapsed)
	}
	if w.released > 0 {
		d.Wake() // claim them again, with their endpoint as it is now
	}
}
