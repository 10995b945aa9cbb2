package webhooks

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"outdial/models"
)

// endpoint is what an attempt needs of a webhook endpoint.
type endpoint struct {
	id int64
	endpointState
	signer signer
	err    error // the secret cannot sign
}

// endpointState is what of an endpoint decides where and how a delivery
// is sent: two readings of the endpoint that differ here mean jobs
// claimed with the older one must not be sent with it.
type endpointState struct {
	url     string
	usable  bool      // enabled and not deleted
	secrets [2]string // the current secret and, during a rotation's overlap, the previous one
}

// dueRow is a due delivery as claimed.
type dueRow struct {
	ID           int64
	EndpointID   int64
	EventID      int64
	AgentID      *int64
	Version      *int64
	AttemptCount int
	LeaseOwner   *string
}

// claimed is the outcome of one claim: the leased deliveries and what was
// settled without an attempt.
type claimed struct {
	found      int
	token      string    // the lease's token (lease_owner)
	until      time.Time // the lease's end, by this process's clock
	leased     []dueRow
	endpoints  map[int64]*endpoint
	superseded int
	failed     int
	takenOver  map[string]int // previous lease owner (process) → deliveries taken over
}

// claim leases up to limit due deliveries of lane l, leaving out the
// endpoints in exclude, and queues them on l. Deliveries of disabled or
// deleted endpoints become FAILED and those a newer version already
// reached become SUPERSEDED, in the same short transaction. It returns how
// many due deliveries it found, and an error when the database fails.
func (d *Dispatcher) claim(ctx context.Context, l *lane, limit int, exclude []int64) (int, error) {
	// Read before the transaction: an endpoint change noted after it
	// (Dispatcher.skip) may not be in what the transaction reads.
	start := time.Now()
	now := d.now()
	var c claimed
	err := models.RetryLocks(ctx, func() error {
		return d.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var err error
			c, err = d.claimTx(tx, l.retries, limit, exclude, now)
			return err
		})
	})
	if err != nil {
		return 0, fmt.Errorf("claim %s deliveries: %w", l.name, err)
	}
	d.noteClaim(l, c)
	if len(c.leased) == 0 {
		return c.found, nil
	}
	// The leases are taken: finish even if ctx ends now, so that the
	// deliveries are queued (and released at shutdown), not left leased.
	ctx = context.WithoutCancel(ctx)
	jobs, err := d.jobs(ctx, c, start)
	if err != nil {
		d.release(ctx, holdsOf(c.leased, c.token))
		return 0, err
	}
	l.add(jobs)
	return c.found, nil
}

// claimTx is claim's transaction: select due rows (FOR UPDATE SKIP LOCKED
// on MySQL), lease them, and settle those that must not be sent.
func (d *Dispatcher) claimTx(tx *gorm.DB, retries bool, limit int, exclude []int64, now time.Time) (claimed, error) {
	rows, err := d.selectDue(tx, retries, limit, exclude, now)
	if err != nil || len(rows) == 0 {
		return claimed{}, err
	}
	c := claimed{found: len(rows), takenOver: map[string]int{}, token: d.newToken(), until: now.Add(d.cfg.LeaseDuration)}
	if c.endpoints, err = loadEndpoints(tx, endpointsOf(rows), now); err != nil {
		return c, err
	}
	stale, err := d.supersededAmong(tx, agentRows(rows))
	if err != nil {
		return c, err
	}
	if n, err := d.deliveries.lease(tx, rowIDs(rows), c.token, now, c.until); err != nil || n != int64(len(rows)) {
		return c, cmp.Or(err, fmt.Errorf("lease deliveries: %d of the %d selected were no longer due", len(rows)-int(n), len(rows)))
	}
	var failed, superseded []hold
	for _, r := range rows {
		switch ep := c.endpoints[r.EndpointID]; {
		case ep == nil || !ep.usable:
			failed = append(failed, hold{r.ID, c.token})
		case stale[r.ID]:
			superseded = append(superseded, hold{r.ID, c.token})
		default:
			c.leased = append(c.leased, r)
			if r.LeaseOwner != nil && processOf(*r.LeaseOwner) != d.owner {
				c.takenOver[processOf(*r.LeaseOwner)]++
			}
		}
	}
	c.failed, c.superseded = len(failed), len(superseded)
	if _, err := d.deliveries.finish(tx, failed, StatusFailed, false, now); err != nil {
		return c, err
	}
	_, err = d.deliveries.finish(tx, superseded, StatusSuperseded, false, now)
	return c, err
}

// newToken returns the token of a new lease: the process's owner ID and
// the claim's number.
func (d *Dispatcher) newToken() string {
	return d.owner + "." + strconv.FormatUint(d.claims.Add(1), 10)
}

// processOf returns the owner ID of the process that took the lease
// token.
func processOf(token string) string {
	owner, _, _ := strings.Cut(token, ".")
	return owner
}

// selectDue returns up to limit due PENDING deliveries of one lane, oldest
// due first, locking them on MySQL (skipping rows another process holds).
// Deliveries to the endpoints of exclude are left out.
func (d *Dispatcher) selectDue(tx *gorm.DB, retries bool, limit int, exclude []int64, now time.Time) ([]dueRow, error) {
	var only []int64
	if len(exclude) > 0 {
		var err error
		if only, err = otherEndpoints(tx, exclude); err != nil || len(only) == 0 {
			return nil, err
		}
	}
	q, args := d.dueQuery(retries, limit, only, now)
	rows, err := tx.Raw(q, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("select due deliveries: %w", err)
	}
	defer rows.Close()
	out := make([]dueRow, 0, limit)
	for rows.Next() {
		var r dueRow
		if err := rows.Scan(&r.ID, &r.EndpointID, &r.EventID, &r.AgentID, &r.Version, &r.AttemptCount, &r.LeaseOwner); err != nil {
			return nil, fmt.Errorf("select due deliveries: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select due deliveries: %w", err)
	}
	return out, nil
}

// otherEndpoints returns the usable endpoints other than exclude.
func otherEndpoints(tx *gorm.DB, exclude []int64) ([]int64, error) {
	var ids []int64
	err := tx.Raw("SELECT id FROM webhook_endpoints WHERE enabled = ? AND deleted_at IS NULL AND id NOT IN "+
		inList(exclude), true).Scan(&ids).Error
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	return ids, nil
}

// dueQuery returns selectDue's statement, for the endpoints only when
// it is not empty.
//
// Without endpoints, both lanes read the lane index (pending deliveries
// by attempt_count, next_attempt_at): first attempts in due order,
// retries by attempt number then due time, each attempt number being one
// range of due rows, so that neither scans rows that are not due nor
// sorts. The status is a literal, so that SQLite sees it matches its
// partial index. With endpoints (some are backed up and left out), the
// rows of the others are read through (endpoint_id, status, id), so that
// the backed-up endpoints' rows are not scanned at every claim; they come
// in ID order, which for first attempts is their due order.
func (d *Dispatcher) dueQuery(retries bool, limit int, endpoints []int64, now time.Time) (string, []any) {
	counts, order := "= 0", " ORDER BY next_attempt_at, id"
	if retries {
		counts = "IN " + inList(retryCounts(len(d.cfg.RetrySchedule)))
		order = " ORDER BY attempt_count, next_attempt_at, id"
	}
	from := d.deliveriesUsing("d", "webhook_deliveries_lane")
	if len(endpoints) > 0 {
		// In ID order, which the index gives without sorting every
		// pending row of these endpoints (for one endpoint, at least).
		from, order = d.deliveriesUsing("d", "webhook_deliveries_endpoint"), " ORDER BY id"
	}
	q := "SELECT id, endpoint_id, event_id, agent_id, version, attempt_count, lease_owner FROM " + from +
		" WHERE status = 'PENDING' AND attempt_count " + counts + " AND next_attempt_at <= ?"
	if len(endpoints) > 0 {
		q += " AND endpoint_id IN " + inList(endpoints)
	}
	q += order + " LIMIT ?"
	if d.db.Dialect == models.MySQL {
		q += " FOR UPDATE SKIP LOCKED"
	}
	return q, []any{now, limit}
}

// retryCounts returns the attempt counts a pending retry can have: 1 to
// the schedule's length, and some more for deliveries retried under a
// longer schedule before a restart.
func retryCounts(schedule int) []int64 {
	n := max(schedule, 24)
	counts := make([]int64, n)
	for i := range counts {
		counts[i] = int64(i + 1)
	}
	return counts
}

// endpointsOf returns the endpoints of rows, each once.
func endpointsOf(rows []dueRow) []int64 {
	ids := make([]int64, 0, 4)
	for _, r := range rows {
		if !slices.Contains(ids, r.EndpointID) {
			ids = append(ids, r.EndpointID)
		}
	}
	return ids
}

// agentRows returns the IDs of the agent deliveries of rows.
func agentRows(rows []dueRow) []int64 {
	var ids []int64
	for _, r := range rows {
		if r.AgentID != nil && r.Version != nil {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// loadEndpoints reads the endpoints ids, with the signer of each: the
// current secret and, while its overlap lasts at now, the previous one.
func loadEndpoints(tx *gorm.DB, ids []int64, now time.Time) (map[int64]*endpoint, error) {
	var eps []models.WebhookEndpoint
	if err := tx.Where("id IN ?", ids).Find(&eps).Error; err != nil {
		return nil, fmt.Errorf("load endpoints: %w", err)
	}
	out := make(map[int64]*endpoint, len(eps))
	for _, e := range eps {
		ep := &endpoint{id: e.ID, endpointState: endpointState{url: e.URL, usable: e.Enabled && e.DeletedAt == nil}}
		ep.secrets[0] = e.Secret
		if e.PreviousSecret != nil && e.PreviousSecretExpiresAt != nil && e.PreviousSecretExpiresAt.After(now) {
			ep.secrets[1] = *e.PreviousSecret
		}
		ep.signer, ep.err = newSigner(ep.secrets[:]...)
		out[e.ID] = ep
	}
	return out, nil
}

// supersededAmong returns which of the agent deliveries ids a newer
// version of the same agent already reached, at the same endpoint.
func (d *Dispatcher) supersededAmong(tx *gorm.DB, ids []int64) (map[int64]bool, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	out := map[int64]bool{}
	for chunk := range slices.Chunk(ids, batchSize) {
		var stale []int64
		err := tx.Raw("SELECT d.id FROM webhook_deliveries AS d WHERE d.id IN "+inList(chunk)+" AND "+d.deliveries.newerDelivered(), StatusSucceeded).
			Scan(&stale).Error
		if err != nil {
			return nil, fmt.Errorf("find superseded deliveries: %w", err)
		}
		for _, id := range stale {
			out[id] = true
		}
	}
	return out, nil
}

// jobs returns one job per leased delivery of c, claimed (and checked)
// at claimedAt, with its event from the outbox's recent events or else
// from the database. It returns an error when the database fails.
func (d *Dispatcher) jobs(ctx context.Context, c claimed, claimedAt time.Time) ([]*job, error) {
	out := make([]*job, len(c.leased))
	var missed []int // indexes in out of the jobs whose event is to be read
	for i, r := range c.leased {
		j := &job{id: r.ID, endpointID: r.EndpointID, attempts: r.AttemptCount, ep: c.endpoints[r.EndpointID],
			claimedAt: claimedAt, checkedAt: claimedAt}
		j.token.Store(&c.token)
		j.leaseEnd.Store(c.until.UnixNano())
		if r.AgentID != nil && r.Version != nil {
			j.agentID, j.version = *r.AgentID, *r.Version
		}
		var kept bool
		if j.msgID, j.body, kept = d.recent.take(r.EventID, j.agentID, j.version); !kept {
			missed = append(missed, i)
		}
		out[i] = j
	}
	if len(missed) == 0 {
		return out, nil
	}
	var ids []int64
	listed := make(map[int64]bool, len(missed))
	for _, i := range missed {
		if id := c.leased[i].EventID; !listed[id] {
			listed[id] = true
			ids = append(ids, id)
		}
	}
	events := make(map[int64]event, len(ids))
	for chunk := range slices.Chunk(ids, batchSize) {
		if err := d.loadEvents(ctx, chunk, events); err != nil {
			return nil, err
		}
	}
	for _, i := range missed {
		e := events[c.leased[i].EventID]
		out[i].msgID, out[i].body = e.msgID, e.body
	}
	return out, nil
}

// event is what a job needs of an event; deliveries of one event to
// several endpoints share its body.
type event struct {
	msgID string
	body  []byte
}

// loadEvents reads the events ids into events. It returns an error when
// the database fails.
func (d *Dispatcher) loadEvents(ctx context.Context, ids []int64, events map[int64]event) error {
	rows, err := d.db.WithContext(ctx).Raw("SELECT id, message_id, payload FROM webhook_events WHERE id IN " + inList(ids)).Rows()
	if err != nil {
		return fmt.Errorf("load events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var e event
		if err := rows.Scan(&id, &e.msgID, &e.body); err != nil {
			return fmt.Errorf("load events: %w", err)
		}
		events[id] = e
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load events: %w", err)
	}
	return nil
}

// noteClaim counts and logs what a claim settled and took over.
func (d *Dispatcher) noteClaim(l *lane, c claimed) {
	d.metrics.deliveries.WithLabelValues(outcomeSuperseded).Add(float64(c.superseded))
	d.metrics.deliveries.WithLabelValues(outcomeFailed).Add(float64(c.failed))
	if c.failed > 0 {
		d.log.Warn("webhook deliveries failed: endpoint disabled or deleted", "lane", l.name, "deliveries", c.failed)
	}
	for owner, n := range c.takenOver {
		d.metrics.leaseTakeover.Add(float64(n))
		d.log.Warn("webhook delivery leases taken over after they expired", "lane", l.name,
			"previousOwner", owner, "deliveries", n)
	}
}

// renew extends the leases of the deliveries of jobs that this process
// still holds, and moves the lease's end each of those jobs knows. It
// returns an error when the database fails.
func (d *Dispatcher) renew(ctx context.Context, jobs []*job) error {
	if len(jobs) == 0 {
		return nil
	}
	until := d.now().Add(d.cfg.LeaseDuration)
	var renewed []int64
	err := models.RetryLocks(ctx, func() error {
		var err error
		renewed, err = d.deliveries.renew(d.db.WithContext(ctx), holdsOfJobs(jobs), until)
		return err
	})
	if len(renewed) == len(jobs) {
		for _, j := range jobs {
			j.leaseEnd.Store(until.UnixNano())
		}
		return err
	}
	ok := make(map[int64]bool, len(renewed))
	for _, id := range renewed {
		ok[id] = true
	}
	for _, j := range jobs {
		if ok[j.id] {
			j.leaseEnd.Store(until.UnixNano())
		}
	}
	return err
}

// release gives the deliveries of hs back, due now, for any process to
// claim, if this process still holds them. It logs (and otherwise
// ignores) a database failure: the leases then expire by themselves.
func (d *Dispatcher) release(ctx context.Context, hs []hold) {
	if len(hs) == 0 {
		return
	}
	now := d.now()
	err := models.RetryLocks(ctx, func() error {
		_, err := d.deliveries.release(d.db.WithContext(ctx), hs, now)
		return err
	})
	if err != nil {
		d.log.Error("release webhook deliveries; their leases will expire instead", "deliveries", len(hs), "err", err)
	}
}

// rowIDs returns the delivery IDs of rows.
func rowIDs(rows []dueRow) []int64 {
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}

// holdsOf returns the deliveries of rows held under token.
func holdsOf(rows []dueRow, token string) []hold {
	hs := make([]hold, len(rows))
	for i, r := range rows {
		hs[i] = hold{r.ID, token}
	}
	return hs
}

// holdsOfJobs returns the deliveries of jobs with their leases.
func holdsOfJobs(jobs []*job) []hold {
	hs := make([]hold, len(jobs))
	for i, j := range jobs {
		hs[i] = hold{j.id, j.lease()}
	}
	return hs
}
