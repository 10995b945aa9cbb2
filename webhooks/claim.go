package webhooks

import (
	"context"
	"fmt"
	"slices"
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
	leased     []dueRow
	endpoints  map[int64]*endpoint
	superseded int
	failed     int
	takenOver  map[string]int // previous lease owner → deliveries taken over
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
	err := d.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		c, err = d.claimTx(tx, l.retries, limit, exclude, now)
		return err
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
		d.release(ctx, rowIDs(c.leased))
		return 0, err
	}
	l.add(jobs)
	return c.found, nil
}

// claimTx is claim's transaction: select due rows (FOR UPDATE SKIP LOCKED
// on MySQL), settle those that must not be sent, lease the others.
func (d *Dispatcher) claimTx(tx *gorm.DB, retries bool, limit int, exclude []int64, now time.Time) (claimed, error) {
	rows, err := d.selectDue(tx, retries, limit, exclude, now)
	if err != nil || len(rows) == 0 {
		return claimed{}, err
	}
	c := claimed{found: len(rows), takenOver: map[string]int{}}
	if c.endpoints, err = loadEndpoints(tx, endpointsOf(rows), now); err != nil {
		return c, err
	}
	stale, err := d.supersededAmong(tx, agentRows(rows))
	if err != nil {
		return c, err
	}
	var failed, superseded []int64
	for _, r := range rows {
		switch ep := c.endpoints[r.EndpointID]; {
		case ep == nil || !ep.usable:
			failed = append(failed, r.ID)
		case stale[r.ID]:
			superseded = append(superseded, r.ID)
		default:
			c.leased = append(c.leased, r)
			if r.LeaseOwner != nil && *r.LeaseOwner != d.owner {
				c.takenOver[*r.LeaseOwner]++
			}
		}
	}
	c.failed, c.superseded = len(failed), len(superseded)
	if err := d.settle(tx, failed, StatusFailed, now); err != nil {
		return c, err
	}
	if err := d.settle(tx, superseded, StatusSuperseded, now); err != nil {
		return c, err
	}
	return c, d.lease(tx, rowIDs(c.leased), now)
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
		err := tx.Raw("SELECT d.id FROM webhook_deliveries AS d WHERE d.id IN "+inList(chunk)+" AND "+d.newerDelivered(), StatusSucceeded).
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

// newerDelivered is the condition that a newer version of delivery d's
// agent reached its endpoint, its argument the succeeded status. SQLite
// reads just the newer versions of (endpoint_id, agent_id, version).
// MariaDB reads every version of the agent at the endpoint for that (it
// seeks on the first two columns only), so there the newest delivered
// version is looked up instead, newest first, which stops at the first
// success: usually the version before d, whatever the agent's history.
func (d *Dispatcher) newerDelivered() string {
	if d.db.Dialect == models.MySQL {
		return "(SELECT n.version FROM " + d.deliveriesUsing("n", "webhook_deliveries_agent") +
			" WHERE n.endpoint_id = d.endpoint_id AND n.agent_id = d.agent_id AND n.status = ?" +
			" ORDER BY n.version DESC LIMIT 1) > d.version"
	}
	return "EXISTS (SELECT 1 FROM " + d.deliveriesUsing("n", "webhook_deliveries_agent") +
		" WHERE n.endpoint_id = d.endpoint_id AND n.agent_id = d.agent_id" +
		" AND n.version > d.version AND n.status = ?)"
}

// settle gives the PENDING deliveries ids their final status.
func (d *Dispatcher) settle(tx *gorm.DB, ids []int64, status string, now time.Time) error {
	for chunk := range slices.Chunk(ids, batchSize) {
		err := tx.Exec("UPDATE"+d.orFail()+" webhook_deliveries SET status = ?, lease_owner = NULL, lease_expires_at = NULL,"+
			" next_attempt_at = NULL, updated_at = ? WHERE id IN "+inList(chunk)+" AND status = ?", status, now, StatusPending).Error
		if err != nil {
			return fmt.Errorf("mark deliveries %s: %w", status, err)
		}
	}
	return nil
}

// lease reserves the deliveries ids for this process until now plus the
// lease duration. next_attempt_at moves to the lease's end, so that an
// abandoned lease makes the delivery due again by itself.
func (d *Dispatcher) lease(tx *gorm.DB, ids []int64, now time.Time) error {
	until := now.Add(d.cfg.LeaseDuration)
	for chunk := range slices.Chunk(ids, batchSize) {
		err := tx.Exec("UPDATE"+d.orFail()+" webhook_deliveries SET lease_owner = ?, lease_expires_at = ?, next_attempt_at = ?,"+
			" updated_at = ? WHERE id IN "+inList(chunk), d.owner, until, until, now).Error
		if err != nil {
			return fmt.Errorf("lease deliveries: %w", err)
		}
	}
	return nil
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

// renew extends the leases of the deliveries ids this process still
// holds. It returns an error when the database fails.
func (d *Dispatcher) renew(ctx context.Context, ids []int64) error {
	now := d.now()
	until := now.Add(d.cfg.LeaseDuration)
	for chunk := range slices.Chunk(ids, batchSize) {
		err := d.db.WithContext(ctx).Exec("UPDATE webhook_deliveries SET lease_expires_at = ?, next_attempt_at = ?"+
			" WHERE id IN "+inList(chunk)+" AND lease_owner = ? AND status = ?", until, until, d.owner, StatusPending).Error
		if err != nil {
			return fmt.Errorf("renew leases: %w", err)
		}
	}
	return nil
}

// release gives the deliveries ids back, due now, for any process to
// claim. It logs (and otherwise ignores) a database failure: the leases
// then expire by themselves.
func (d *Dispatcher) release(ctx context.Context, ids []int64) {
	now := d.now()
	for chunk := range slices.Chunk(ids, batchSize) {
		err := d.db.WithContext(ctx).Exec("UPDATE webhook_deliveries SET lease_owner = NULL, lease_expires_at = NULL,"+
			" next_attempt_at = ?, updated_at = ? WHERE id IN "+inList(chunk)+" AND lease_owner = ? AND status = ?",
			now, now, d.owner, StatusPending).Error
		if err != nil {
			d.log.Error("release webhook deliveries; their leases will expire instead", "deliveries", len(chunk), "err", err)
			return
		}
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
