package webhooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"outdial/models"
)

// Retention: what the pruner deletes, and when (README, "What Outdial
// keeps and for how long").
//
//   - A finished delivery (SUCCEEDED, FAILED, SUPERSEDED) whose last
//     change (updated_at) is older than Retention, with its attempts.
//     A PENDING delivery is never deleted, whatever its age.
//   - An event older than Retention that no delivery refers to any more
//     (so never one with a pending delivery).
//   - An endpoint deleted (deleteWebhookEndpoint) longer than Retention
//     ago, once none of its deliveries is left.
//   - An audit entry older than AuditRetention, when that is set.
//
// It works in batches: each batch is found through an index on its
// predicate (never by reading a whole table) and deleted by primary key
// in a short transaction of its own, so that no lock is held for long and
// requests (on SQLite, the one writer) get their turn between batches.
// The size of each step's batches adapts to what its statements take
// (batcher): the slowest statement of a batch, its COMMIT included, is
// kept near PruneConfig.StatementTarget, whatever a row costs on this
// database (a delivery has nine indexes and a cascading foreign key, an
// audit entry two) and however loaded it is.

// Defaults of PruneConfig.
const (
	DefaultRetention      = 720 * time.Hour
	DefaultPruneBatchSize = 1000
	// DefaultStatementTarget is the time the pruner's statements are
	// kept near: a tenth of the 100 ms that issue 8 allows one, so that
	// the occasional statement several times slower than its batch's
	// size predicts (a page read from disk, a process descheduled on a
	// loaded machine) stays under it. BenchmarkPruneMillion on the loaded
	// 2-core machine, 10 ms against the 25 ms it was, side by side: p99
	// 76 and 88 ms against 139 and 161 on MariaDB, 89 against 116 on
	// SQLite, about as many rows a second (README, "What Outdial keeps
	// and for how long").
	DefaultStatementTarget = 10 * time.Millisecond
	// DefaultScrubGrace is PruneConfig.ScrubGrace's default: twice the
	// feed's gap window (30 s) within which it still reads an event that
	// committed late.
	DefaultScrubGrace = time.Minute
	// firstPruneBatch and minPruneBatch: the size a step starts with, and
	// the least it shrinks to. Below 50 rows a statement's time is mostly
	// what it costs whatever its size (a round trip, a COMMIT's fsync, the
	// wait for a core on a loaded machine): on the 2-core machine at load
	// 30, MariaDB's slow log showed batches shrunk to 10 or 12 rows still
	// over 100 ms, and a SQLite run that let them shrink so far had not
	// ended after 44 minutes, where batches of 200 took 3.5.
	firstPruneBatch  = 100
	minPruneBatch    = 50
	maxPruneInterval = 10 * time.Minute
)

// Tables the pruner deletes from, as labelled in its metrics and
// retention_marks.
const (
	TableDeliveries = "webhook_deliveries"
	TableAttempts   = "webhook_attempts"
	TableEvents     = "webhook_events"
	TableEndpoints  = "webhook_endpoints"
	TableAudit      = "audit_entries"
)

// ErrOlderThanRetention: what was asked for was deleted as older than the
// retention (RETENTION).
var ErrOlderThanRetention = errors.New("older than the retention (RETENTION): deleted")

// PruneConfig tunes a Pruner. The zero value of every field means its
// default.
type PruneConfig struct {
	// Retention is how long finished deliveries, their attempts, and
	// events without a pending delivery are kept; default 720h (30 days).
	Retention time.Duration
	// AuditRetention is how long audit entries are kept; 0 keeps them
	// forever.
	AuditRetention time.Duration
	// Interval is the time between two runs; default half the shortest
	// retention, between 100ms and 10 minutes.
	Interval time.Duration
	// BatchSize bounds the rows one statement deletes; default 1000.
	BatchSize int
	// StatementTarget is the time the slowest statement of a batch is
	// kept near by sizing the batches (at least minPruneBatch rows);
	// default 10ms.
	StatementTarget time.Duration
	// Scrub, when set, runs at the end of every run, under the same lock:
	// the calling service's ScrubDeletedAgents, which blanks the names and
	// emails of the agents deleted before deletedBefore (the run's Now
	// less ScrubGrace) once none of their deliveries is pending. It
	// returns how many agents it finished.
	Scrub func(ctx context.Context, deletedBefore time.Time) (int, error)
	// ScrubGrace is how long a deleted agent's name and email are kept
	// after its deletion at least, whatever its deliveries: the
	// subscription feed of every process reads the last event of the
	// agent from the database (a poll of another process's commit, or an
	// event that commits late, up to the feed's 30 s gap window), and must
	// read it as written. Default DefaultScrubGrace.
	ScrubGrace time.Duration
	// Now is the clock the ages are measured by; default models.Now.
	Now func() time.Time
	// Logger receives each run's figures and failures; default: discarded.
	Logger *slog.Logger
	// Registerer receives the metrics; nil registers them nowhere.
	Registerer prometheus.Registerer
}

// withDefaults returns c with every zero field set to its default; it
// returns an error for a negative setting.
func (c PruneConfig) withDefaults() (PruneConfig, error) {
	if c.Retention < 0 || c.AuditRetention < 0 || c.Interval < 0 || c.BatchSize < 0 || c.StatementTarget < 0 || c.ScrubGrace < 0 {
		return c, errors.New("webhooks: negative retention setting")
	}
	setDefault(&c.Retention, DefaultRetention)
	shortest := c.Retention
	if c.AuditRetention > 0 {
		shortest = min(shortest, c.AuditRetention)
	}
	setDefault(&c.Interval, min(maxPruneInterval, max(100*time.Millisecond, shortest/2)))
	setDefault(&c.BatchSize, DefaultPruneBatchSize)
	setDefault(&c.StatementTarget, DefaultStatementTarget)
	setDefault(&c.ScrubGrace, DefaultScrubGrace)
	if c.Now == nil {
		c.Now = models.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c, nil
}

// Pruner deletes what is older than the retention, in the background.
// On MySQL one process prunes at a time (a named lock per database);
// the others skip their run.
type Pruner struct {
	db       *models.DB
	cfg      PruneConfig
	log      *slog.Logger
	deleted  *prometheus.CounterVec
	lastRun  prometheus.Gauge
	runs     *prometheus.CounterVec
	slowest  prometheus.Gauge
	scrubbed prometheus.Counter
	// keepDurations: keep every statement's duration in PruneResult.
	keepDurations bool
}

// PruneResult is what one run did: rows deleted per table, and the
// slowest statement it ran (its duration and a label saying which).
type PruneResult struct {
	Deleted     map[string]int64
	Slowest     time.Duration
	SlowestStep string
	// Steps is the time spent in each step's statements, all together.
	Steps map[string]time.Duration
	// Statements is the duration of every statement, when the pruner
	// keeps them (benchmarks).
	Statements []time.Duration
	// StatementSteps labels each of Statements with its step.
	StatementSteps []string
	// Batches is how many batches each step deleted, and Batch the size
	// its batches ended with.
	Batches map[string]int
	Batch   map[string]int
	// Scrubbed is how many deleted agents Scrub finished.
	Scrubbed int
	// Skipped: another process held the pruning lock; nothing was done.
	Skipped bool
}

// Total returns the rows deleted from every table.
func (r PruneResult) Total() int64 {
	var n int64
	for _, v := range r.Deleted {
		n += v
	}
	return n
}

// NewPruner returns a pruner of db. It returns an error for a negative
// setting or when its metrics cannot be registered.
func NewPruner(db *models.DB, cfg PruneConfig) (*Pruner, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Pruner{db: db, cfg: cfg, log: cfg.Logger,
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "outdial_retention_deleted_rows_total",
			Help: "Rows deleted as older than the retention (RETENTION, AUDIT_RETENTION), by table.",
		}, []string{"table"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "outdial_retention_last_run_timestamp_seconds",
			Help: "Unix time at which this process last finished a pruning run; 0 before the first.",
		}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "outdial_retention_runs_total",
			Help: "Pruning runs of this process by outcome: done, skipped (another process was pruning), failed.",
		}, []string{"outcome"}),
		slowest: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "outdial_retention_last_run_slowest_statement_seconds",
			Help: "Duration of the slowest statement of this process's last pruning run.",
		}),
		scrubbed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outdial_retention_scrubbed_agents_total",
			Help: "Deleted agents whose name and email were blanked in stored event bodies and audit details.",
		}),
	}
	for _, t := range []string{TableDeliveries, TableAttempts, TableEvents, TableEndpoints, TableAudit} {
		p.deleted.WithLabelValues(t)
	}
	for _, o := range []string{"done", "skipped", "failed"} {
		p.runs.WithLabelValues(o)
	}
	if cfg.Registerer != nil {
		var errs []error
		for _, c := range []prometheus.Collector{p.deleted, p.lastRun, p.runs, p.slowest, p.scrubbed} {
			errs = append(errs, cfg.Registerer.Register(c))
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Run prunes every Interval until ctx is done, and returns nil then. A
// failed run is logged and tried again at the next interval.
func (p *Pruner) Run(ctx context.Context) error {
	tick := time.NewTicker(p.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		res, err := p.Prune(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil
		case err != nil:
			p.log.Warn("pruning failed; trying again at the next run", "err", err, "deleted", res.Deleted)
		case res.Total() > 0 || res.Scrubbed > 0:
			p.log.Info("pruned", "deleted", res.Deleted, "scrubbedAgents", res.Scrubbed, "slowestStatement", res.Slowest, "slowestStep", res.SlowestStep)
		}
	}
}

// Prune runs once: it deletes, batch by batch, everything older than the
// retention. On MySQL it first takes the database's pruning lock without
// waiting, and skips the run (Skipped) when another process holds it. It
// returns what it deleted, also when it fails part way.
func (p *Pruner) Prune(ctx context.Context) (PruneResult, error) {
	res := PruneResult{Deleted: map[string]int64{}, Steps: map[string]time.Duration{}, Batches: map[string]int{}, Batch: map[string]int{}}
	if p.db.Dialect == models.MySQL {
		release, ok, err := p.lock(ctx)
		if err != nil {
			p.runs.WithLabelValues("failed").Inc()
			return res, err
		}
		if !ok {
			p.runs.WithLabelValues("skipped").Inc()
			res.Skipped = true
			return res, nil
		}
		defer release()
	}
	run := &pruneRun{p: p, ctx: ctx, res: &res, now: p.cfg.Now().UTC(), batchers: map[string]*batcher{}}
	err := run.all()
	for t, n := range res.Deleted {
		p.deleted.WithLabelValues(t).Add(float64(n))
	}
	if err != nil {
		p.runs.WithLabelValues("failed").Inc()
		return res, err
	}
	p.runs.WithLabelValues("done").Inc()
	p.lastRun.Set(float64(time.Now().Unix()))
	p.slowest.Set(res.Slowest.Seconds())
	return res, nil
}

// lock takes the pruning lock of this database (GET_LOCK is server-wide,
// so its name carries the database's) on a connection of its own, held
// until release is called.
func (p *Pruner) lock(ctx context.Context) (release func(), ok bool, err error) {
	sqlDB, err := p.db.DB.DB()
	if err != nil {
		return nil, false, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("pruning lock: %w", err)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(CONCAT('outdial_prune.', DATABASE()), 0)").Scan(&got); err != nil {
		conn.Close()
		return nil, false, fmt.Errorf("pruning lock: %w", err)
	}
	if got.Int64 != 1 {
		conn.Close()
		return nil, false, nil
	}
	return func() {
		rel, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(rel, "SELECT RELEASE_LOCK(CONCAT('outdial_prune.', DATABASE()))")
		conn.Close()
	}, true, nil
}

// pruneRun is one run of the pruner.
type pruneRun struct {
	p        *Pruner
	ctx      context.Context
	res      *PruneResult
	now      time.Time
	batchers map[string]*batcher // per table
	slowest  time.Duration       // the slowest statement of the batch under way
}

// batcher sizes the batches of one step so that their slowest statement
// takes about target. A statement's cost here is about proportional to
// its rows (each is found by key), so the size is target divided by the
// time per row of the slowest statement, the median over the last
// batcherWindow batches: a statement slow for reasons its rows do not
// explain (the process or the database descheduled on a loaded machine,
// an fsync behind others; MariaDB's slow log shows them examining no
// more rows than the fast ones) moves it little, a cost that lasts moves
// it within a few batches. It grows by at most a quarter a batch, and
// stays between minPruneBatch and the configured most.
type batcher struct {
	size, most int
	target     time.Duration
	perRow     []time.Duration // the last batches' slowest statement per row, oldest first
}

// batcherWindow is how many batches the time per row is the median of.
const batcherWindow = 8

// observe sizes the next batch after one of rows rows whose slowest
// statement took d.
func (b *batcher) observe(rows int, d time.Duration) {
	if rows <= 0 {
		return
	}
	b.perRow = append(b.perRow, d/time.Duration(rows))
	if len(b.perRow) > batcherWindow {
		b.perRow = b.perRow[1:]
	}
	sorted := slices.Clone(b.perRow)
	slices.Sort(sorted)
	perRow := max(sorted[len(sorted)/2], time.Microsecond)
	want := int(b.target / perRow)
	b.size = max(min(minPruneBatch, b.most), min(b.most, want, b.size+max(1, b.size/4)))
}

// batch returns the size of the next batch of table's step, and starts
// timing it.
func (r *pruneRun) batch(table string) int {
	b := r.batchers[table]
	if b == nil {
		b = &batcher{size: min(firstPruneBatch, r.p.cfg.BatchSize), most: r.p.cfg.BatchSize, target: r.p.cfg.StatementTarget}
		r.batchers[table] = b
	}
	r.slowest = 0
	return b.size
}

// batchDone sizes table's next batch after the one just done, of rows
// rows.
func (r *pruneRun) batchDone(table string, rows int) {
	b := r.batchers[table]
	b.observe(rows, r.slowest)
	r.res.Batches[table]++
	r.res.Batch[table] = b.size
}

// all prunes each table in turn: deliveries (with their attempts) first,
// which frees their events and deleted endpoints.
func (r *pruneRun) all() error {
	cutoff := r.now.Add(-r.p.cfg.Retention)
	steps := []func(time.Time) error{r.deliveries, r.events, r.endpoints}
	for _, step := range steps {
		if err := step(cutoff); err != nil {
			return err
		}
	}
	if r.p.cfg.AuditRetention > 0 {
		if err := r.audit(r.now.Add(-r.p.cfg.AuditRetention)); err != nil {
			return err
		}
	}
	if r.p.cfg.Scrub == nil {
		return nil
	}
	var err error
	r.res.Scrubbed, err = r.p.cfg.Scrub(r.ctx, r.now.Add(-r.p.cfg.ScrubGrace))
	r.p.scrubbed.Add(float64(r.res.Scrubbed))
	return err
}

// timed runs one statement, keeping the slowest duration.
func (r *pruneRun) timed(step string, f func() error) error {
	start := time.Now()
	err := f()
	d := time.Since(start)
	r.res.Steps[step] += d
	r.slowest = max(r.slowest, d)
	if r.p.keepDurations {
		r.res.Statements = append(r.res.Statements, d)
		r.res.StatementSteps = append(r.res.StatementSteps, step)
	}
	if d > r.res.Slowest {
		r.res.Slowest, r.res.SlowestStep = d, step
	}
	return err
}

// ids reads a batch of IDs with query.
func (r *pruneRun) ids(step, query string, args ...any) ([]int64, error) {
	var ids []int64
	err := r.timed(step, func() error {
		return r.p.db.WithContext(r.ctx).Raw(query, args...).Scan(&ids).Error
	})
	if err != nil {
		return nil, fmt.Errorf("prune %s: %w", step, err)
	}
	return ids, nil
}

// tx runs f in a transaction, again when it fails with a lock timeout or
// a deadlock (the batch is then found anew next time round). Its COMMIT
// is timed as a statement of step: the locks are held until it ends.
func (r *pruneRun) tx(step string, f func(tx *gorm.DB) error) error {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		err = r.once(step, f)
		if err == nil || !models.Retriable(err) || r.ctx.Err() != nil {
			return err
		}
	}
	return err
}

// once runs f in one transaction, committed when f returns nil.
func (r *pruneRun) once(step string, f func(tx *gorm.DB) error) (err error) {
	tx := r.p.db.WithContext(r.ctx).Begin()
	if tx.Error != nil {
		return tx.Error
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if err = f(tx); err != nil {
		return err
	}
	return r.timed("commit "+step, func() error { return tx.Commit().Error })
}

// exec runs one deleting statement in tx and counts its rows for table.
func (r *pruneRun) exec(tx *gorm.DB, step, table, query string, args ...any) (int64, error) {
	var n int64
	err := r.timed(step, func() error {
		res := tx.Exec(query, args...)
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("prune %s: %w", step, err)
	}
	r.res.Deleted[table] += n
	return n, nil
}

// using names table AS alias read through index (see deliveriesUsing).
func (r *pruneRun) using(table, alias, index string) string {
	if r.p.db.Dialect == models.MySQL {
		return table + " AS " + alias + " FORCE INDEX (" + index + ")"
	}
	return table + " AS " + alias + " INDEXED BY " + index
}

// byID names table AS alias read by primary key only: left alone, the
// planners may read a status's whole index instead of the IDs given.
func (r *pruneRun) byID(table, alias string) string {
	if r.p.db.Dialect == models.MySQL {
		return table + " AS " + alias + " FORCE INDEX (PRIMARY)"
	}
	return table + " AS " + alias + " NOT INDEXED"
}

// forUpdate is the locking clause of a SELECT in a transaction on MySQL
// (SQLite's write transaction already excludes every other writer).
func (r *pruneRun) forUpdate() string {
	if r.p.db.Dialect == models.MySQL {
		return " FOR UPDATE"
	}
	return ""
}

// finished is the SQL list of the statuses of finished deliveries.
const finished = "('" + StatusSucceeded + "','" + StatusFailed + "','" + StatusSuperseded + "')"

// deliveries deletes the finished deliveries last changed before cutoff
// and their attempts, a batch at a time, each finished status in turn.
func (r *pruneRun) deliveries(cutoff time.Time) error {
	for _, status := range []string{StatusSucceeded, StatusFailed, StatusSuperseded} {
		if err := r.deliveriesOf(status, cutoff); err != nil {
			return err
		}
	}
	return nil
}

// deliveriesOf deletes the deliveries of one finished status last changed
// before cutoff, walking them in (updated_at, id) order after the last
// batch: a batch never reads again the index entries of the rows deleted
// before it (InnoDB purges them later, and a scan from the start of the
// range would step over every one).
//
// On SQLite webhook_deliveries_finished is a partial index (WHERE status
// <> 'PENDING', migration 00021), and SQLite reads a partial index (here
// INDEXED BY it) only when the query's WHERE holds its condition as
// written: status = ? does not count, so the condition is repeated
// literally (MySQL's index is whole; the term changes nothing there).
func (r *pruneRun) deliveriesOf(status string, cutoff time.Time) error {
	find := "SELECT d.id, d.updated_at FROM " + r.using("webhook_deliveries", "d", "webhook_deliveries_finished") +
		" WHERE d.status = ? AND d.status <> 'PENDING'" +
		" AND d.updated_at < ? AND (d.updated_at > ? OR (d.updated_at = ? AND d.id > ?))" +
		" ORDER BY d.updated_at, d.id LIMIT ?"
	after := time.Unix(0, 0).UTC()
	var afterID int64
	for r.ctx.Err() == nil {
		var batch []struct {
			ID        int64
			UpdatedAt time.Time
		}
		err := r.timed("find finished deliveries", func() error {
			return r.p.db.WithContext(r.ctx).Raw(find, status, cutoff, after, after, afterID, r.batch(TableDeliveries)).Scan(&batch).Error
		})
		if err != nil {
			return fmt.Errorf("prune find finished deliveries: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		after, afterID = batch[len(batch)-1].UpdatedAt, batch[len(batch)-1].ID
		ids := make([]int64, len(batch))
		for i, d := range batch {
			ids[i] = d.ID
		}
		err = r.tx("deliveries", func(tx *gorm.DB) error {
			var held []int64
			// Lock the batch, and leave out a delivery queued again since.
			err := r.timed("lock deliveries", func() error {
				return tx.Raw("SELECT d.id FROM " + r.byID("webhook_deliveries", "d") + " WHERE d.id IN " + inList(ids) +
					" AND d.status IN " + finished + r.forUpdate()).Scan(&held).Error
			})
			if err != nil || len(held) == 0 {
				return err
			}
			if _, err := r.exec(tx, "delete attempts", TableAttempts,
				"DELETE FROM webhook_attempts WHERE delivery_id IN "+inList(held)); err != nil {
				return err
			}
			if _, err := r.exec(tx, "delete deliveries", TableDeliveries,
				"DELETE FROM webhook_deliveries WHERE id IN "+inList(held)); err != nil {
				return err
			}
			return r.mark(tx, TableDeliveries, slicesMax(held))
		})
		if err != nil {
			return err
		}
		r.batchDone(TableDeliveries, len(batch))
	}
	return r.ctx.Err()
}

// events deletes the events that occurred before cutoff and that no
// delivery refers to, a batch at a time, walking the events older than
// cutoff in (occurred_at, id) order once: an event still referred to is
// passed over until the next run.
func (r *pruneRun) events(cutoff time.Time) error {
	find := "SELECT e.id, e.occurred_at FROM " + r.using("webhook_events", "e", "webhook_events_occurred_at") +
		" WHERE e.occurred_at < ? AND (e.occurred_at > ? OR (e.occurred_at = ? AND e.id > ?))" +
		" ORDER BY e.occurred_at, e.id LIMIT ?"
	after := time.Unix(0, 0).UTC()
	var afterID int64
	for r.ctx.Err() == nil {
		var batch []struct {
			ID         int64
			OccurredAt time.Time
		}
		err := r.timed("find old events", func() error {
			return r.p.db.WithContext(r.ctx).Raw(find, cutoff, after, after, afterID, r.batch(TableEvents)).Scan(&batch).Error
		})
		if err != nil {
			return fmt.Errorf("prune find old events: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		last := batch[len(batch)-1]
		after, afterID = last.OccurredAt, last.ID
		ids := make([]int64, len(batch))
		for i, e := range batch {
			ids[i] = e.ID
		}
		err = r.tx("events", func(tx *gorm.DB) error {
			var free []int64
			err := r.timed("find unreferenced events", func() error {
				return tx.Raw("SELECT e.id FROM webhook_events AS e WHERE e.id IN " + inList(ids) +
					" AND NOT EXISTS (SELECT 1 FROM webhook_deliveries AS d WHERE d.event_id = e.id)" + r.forUpdate()).Scan(&free).Error
			})
			if err != nil || len(free) == 0 {
				return err
			}
			if _, err := r.exec(tx, "delete events", TableEvents, "DELETE FROM webhook_events WHERE id IN "+inList(free)+
				" AND NOT EXISTS (SELECT 1 FROM webhook_deliveries AS d WHERE d.event_id = webhook_events.id)"); err != nil {
				return err
			}
			return r.mark(tx, TableEvents, slicesMax(free))
		})
		if err != nil {
			return err
		}
		r.batchDone(TableEvents, len(batch))
	}
	return r.ctx.Err()
}

// endpoints deletes the endpoints deleted before cutoff that have no
// delivery left (their filters go with them).
func (r *pruneRun) endpoints(cutoff time.Time) error {
	find := "SELECT w.id FROM " + r.using("webhook_endpoints", "w", "webhook_endpoints_deleted_at") +
		" WHERE w.deleted_at < ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries AS d WHERE d.endpoint_id = w.id) LIMIT ?"
	for r.ctx.Err() == nil {
		ids, err := r.ids("find deleted endpoints", find, cutoff, r.batch(TableEndpoints))
		if err != nil || len(ids) == 0 {
			return err
		}
		err = r.tx("endpoints", func(tx *gorm.DB) error {
			_, err := r.exec(tx, "delete endpoints", TableEndpoints, "DELETE FROM webhook_endpoints WHERE id IN "+inList(ids)+
				" AND deleted_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM webhook_deliveries AS d WHERE d.endpoint_id = webhook_endpoints.id)")
			return err
		})
		if err != nil {
			return err
		}
		r.batchDone(TableEndpoints, len(ids))
	}
	return r.ctx.Err()
}

// audit deletes the audit entries made before cutoff, walking them in
// (at, id) order after the last batch, as deliveriesOf does.
func (r *pruneRun) audit(cutoff time.Time) error {
	find := "SELECT a.id, a.at FROM " + r.using("audit_entries", "a", "audit_entries_at") +
		" WHERE a.at < ? AND (a.at > ? OR (a.at = ? AND a.id > ?)) ORDER BY a.at, a.id LIMIT ?"
	after := time.Unix(0, 0).UTC()
	var afterID int64
	for r.ctx.Err() == nil {
		var batch []struct {
			ID int64
			At time.Time
		}
		err := r.timed("find old audit entries", func() error {
			return r.p.db.WithContext(r.ctx).Raw(find, cutoff, after, after, afterID, r.batch(TableAudit)).Scan(&batch).Error
		})
		if err != nil {
			return fmt.Errorf("prune find old audit entries: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		after, afterID = batch[len(batch)-1].At, batch[len(batch)-1].ID
		ids := make([]int64, len(batch))
		for i, a := range batch {
			ids[i] = a.ID
		}
		err = r.tx("audit entries", func(tx *gorm.DB) error {
			if _, err := r.exec(tx, "delete audit entries", TableAudit, "DELETE FROM audit_entries WHERE id IN "+inList(ids)); err != nil {
				return err
			}
			return r.mark(tx, TableAudit, slicesMax(ids))
		})
		if err != nil {
			return err
		}
		r.batchDone(TableAudit, len(batch))
	}
	return r.ctx.Err()
}

// mark raises the retention mark of table to id, timed.
func (r *pruneRun) mark(tx *gorm.DB, table string, id int64) error {
	return r.timed("retention mark", func() error { return markDeleted(tx, table, id, r.now) })
}

// slicesMax returns the largest of ids (not empty).
func slicesMax(ids []int64) int64 {
	m := ids[0]
	for _, id := range ids[1:] {
		m = max(m, id)
	}
	return m
}

// markDeleted raises the retention mark of table to id.
func markDeleted(tx *gorm.DB, table string, id int64, now time.Time) error {
	res := tx.Exec("UPDATE retention_marks SET max_deleted_id = ?, pruned_at = ? WHERE table_name = ? AND max_deleted_id < ?",
		id, now, table, id)
	if res.Error != nil {
		return fmt.Errorf("retention mark: %w", res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	var n int64
	if err := tx.Raw("SELECT COUNT(*) FROM retention_marks WHERE table_name = ?", table).Scan(&n).Error; err != nil {
		return fmt.Errorf("retention mark: %w", err)
	}
	if n > 0 {
		return nil
	}
	if err := tx.Create(&models.RetentionMark{Table: table, MaxDeletedID: id, PrunedAt: now}).Error; err != nil {
		return fmt.Errorf("retention mark: %w", err)
	}
	return nil
}

// Pruned reports whether id, of a row of table (TableDeliveries,
// TableEvents, TableAudit) that was not found, was deleted by the pruner
// as older than the retention: it is at or below the highest ID pruned.
// It returns an error when the database fails.
func Pruned(ctx context.Context, db *gorm.DB, table string, id int64) (bool, error) {
	var marks []int64
	if err := db.WithContext(ctx).Raw("SELECT max_deleted_id FROM retention_marks WHERE table_name = ?", table).
		Scan(&marks).Error; err != nil {
		return false, fmt.Errorf("retention mark: %w", err)
	}
	return len(marks) > 0 && id <= marks[0], nil
}
