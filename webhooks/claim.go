package webhooks

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
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
	Stale        bool // a newer version of its agent reached its endpoint
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
	probes     []int64        // the failing endpoints whose probe it took, recorded under token (startProbes)
	probeUntil time.Time      // when those probes' attempts have certainly ended (probe_until)
}

// claim leases what the workers of lane l can send now and a batch more
// (lane), fairly across endpoints (pacer.go), and queues it on l. It
// returns how many due deliveries it found and how many it looked for,
// and an error when the database fails.
func (d *Dispatcher) claim(ctx context.Context, l *lane) (found, asked int, err error) {
	_, found, asked, err = d.claimJobs(ctx, l)
	return found, asked, err
}

// claimJobs is claim, and returns the jobs it claimed: queued on l, or
// given back when their endpoint changed while it ran. Deliveries of
// disabled or deleted endpoints become FAILED and those a newer version
// already reached become SUPERSEDED, in the same short transaction.
func (d *Dispatcher) claimJobs(ctx context.Context, l *lane) (jobs []*job, found, asked int, err error) {
	free, unproven, probes := l.free()
	if free == 0 {
		l.started(nil, unproven, 0, nil)
		return nil, 0, 0, nil
	}
	cursor := l.lastEndpoint()
	mark := d.endpointChanges.mark() // before the transaction: see endpointChanged
	var start time.Time
	var c claimed
	var rooms []room
	err = models.RetryLocks(ctx, func() error {
		// A transaction run again (a lost deadlock, or its commit failed)
		// plans again: give back what the last run reserved.
		d.pacer.unreserve(l.index, rooms, nil)
		rooms = nil
		return d.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			// The claim's clocks start here, once it holds a connection,
			// not before it waited for one: the jobs' maxQueued, the
			// lease's end and the probes' probe_until count from a
			// moment before it reads anything, as they must, and not
			// from before a wait behind SQLite's one connection (a large
			// import holds it for seconds) or a MySQL pool in use. A
			// claim that had waited longer than maxQueued queued jobs
			// already too old to run: every one was given back unsent
			// and claimed again (BENCHMARKS.md, "Beside 100 dead on
			// SQLite: the claim that waited").
			start = time.Now()
			var err error
			c, rooms, err = d.claimTx(tx, l, free, unproven, probes, cursor, d.now())
			return err
		})
	})
	if err == nil {
		d.noteClaim(l, c)
		// The leases are taken: finish even if ctx ends now, so that the
		// deliveries are sent (or released), not left leased. (Released
		// here, the probes c recorded end at their probe_until.)
		if jobs, err = d.jobs(context.WithoutCancel(ctx), c, start); err != nil {
			d.release(context.WithoutCancel(ctx), holdsOf(c.leased, c.token))
		}
	}
	if err != nil {
		d.pacer.unreserve(l.index, rooms, nil)
		l.started(nil, unproven, 0, nil)
		return nil, 0, free, fmt.Errorf("claim %s deliveries: %w", l.name, err)
	}
	taken := make(map[int64]int, len(rooms))
	for _, j := range jobs {
		j.lane = l.index
		taken[j.endpointID]++
	}
	for _, r := range rooms {
		if r.unproven && taken[r.endpoint] > 0 {
			for _, j := range jobs {
				j.unproven = j.unproven || j.endpointID == r.endpoint
			}
		}
	}
	for _, j := range jobs {
		if slices.Contains(c.probes, j.endpointID) {
			j.probe, j.probeUntil = c.token, c.probeUntil
		}
	}
	d.pacer.unreserve(l.index, rooms, taken)
	if len(c.leased) > 0 {
		cursor = c.leased[len(c.leased)-1].EndpointID
	}
	for _, j := range jobs {
		j.mark = mark
	}
	again, stale := l.started(jobs, unproven, cursor, func(endpoint int64) bool {
		return d.endpointChanges.changedSince(endpoint, mark)
	})
	for _, j := range again {
		d.pacer.giveBack(l.index, j.endpointID) // held already, counted already
	}
	d.giveBack(stale, givenBackChanged)
	return jobs, c.found, free, nil
}

// claimTx is claim's transaction: read the endpoints and plan each one's
// room (reserved in the pacer, and given back when the transaction
// fails), leaving out the probes of failing endpoints that have one
// running (probe_until), select due rows fairly (locking them on MySQL,
// skipping rows another process holds), lease them, settle those that
// must not be sent, and record the probes taken on their endpoints.
func (d *Dispatcher) claimTx(tx *gorm.DB, l *lane, free, unproven, probes int, cursor int64, now time.Time) (c claimed, rooms []room, err error) {
	order, err := d.claimEndpoints(tx, cursor, now)
	if err != nil {
		return c, nil, err
	}
	rooms, probeAt := d.pacer.plan(l.index, order, free, unproven, probes, time.Now())
	if !probeAt.IsZero() {
		l.freeAt(probeAt)
	}
	defer func() {
		if err != nil {
			d.pacer.unreserve(l.index, rooms, nil)
			rooms = nil
		}
	}()
	open, err := d.openProbes(tx, rooms, now)
	if err != nil || len(open) == 0 {
		return c, rooms, err
	}
	rows, err := d.selectFair(tx, l.retries, open, cursor, free, now)
	if err != nil || len(rows) == 0 {
		return c, rooms, err
	}
	if d.db.Dialect == models.MySQL {
		selected := len(rows)
		if rows, err = d.lockDue(tx, rows, now); err != nil || len(rows) == 0 {
			// Found, though another claim took them first: the lane is
			// not idle (claimWhileNeeded), more may be due.
			return claimed{found: selected}, rooms, err
		}
	}
	c = claimed{found: len(rows), endpoints: map[int64]*endpoint{}, takenOver: map[string]int{},
		token: d.newToken(), until: now.Add(d.cfg.InFlightLease)}
	if n, err := d.deliveries.lease(tx, rowIDs(rows), c.token, now, c.until); err != nil || n != int64(len(rows)) {
		return c, rooms, cmp.Or(err, fmt.Errorf("lease deliveries: %d of the %d selected were no longer due", len(rows)-int(n), len(rows)))
	}
	eps := make(map[int64]*claimEndpoint, len(order))
	for i := range order {
		eps[order[i].id] = &order[i]
	}
	var sent []int64 // the usable endpoints of rows
	for _, r := range rows {
		if e := eps[r.EndpointID]; e != nil && e.usable && !slices.Contains(sent, e.id) {
			sent = append(sent, e.id)
		}
	}
	if err := d.loadEndpoints(tx, sent, eps, now); err != nil {
		return c, rooms, err
	}
	var failed, superseded []hold
	for _, r := range rows {
		e := eps[r.EndpointID]
		switch {
		case e == nil || !e.usable || !e.loaded: // !loaded: its row is gone
			failed = append(failed, hold{r.ID, c.token})
		case r.Stale:
			superseded = append(superseded, hold{r.ID, c.token})
		default:
			c.leased = append(c.leased, r)
			if c.endpoints[r.EndpointID] == nil {
				c.endpoints[r.EndpointID] = e.endpoint()
			}
			if r.LeaseOwner != nil && processOf(*r.LeaseOwner) != d.owner {
				c.takenOver[processOf(*r.LeaseOwner)]++
			}
		}
	}
	c.failed, c.superseded = len(failed), len(superseded)
	if _, err := d.deliveries.finish(tx, failed, StatusFailed, false, now); err != nil {
		return c, rooms, err
	}
	if _, err := d.deliveries.finish(tx, superseded, StatusSuperseded, false, now); err != nil {
		return c, rooms, err
	}
	return c, rooms, d.startProbes(tx, open, &c, now)
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

// claimEndpoint is what a claim reads of an endpoint.
type claimEndpoint struct {
	id      int64
	usable  bool // enabled and not deleted
	failing bool // the database records its attempts failing (failing_since)
	probing bool // a probe is running to it, in some process (probe_until after the claim's now)
	loaded  bool // loadEndpoints read url and secrets
	url     string
	secrets [2]string // the current secret; the previous one while its overlap lasts
}

// recentlyDeleted is how long a deleted endpoint is still looked at by
// claims: a delivery recorded by a transaction that read the endpoint
// before its deletion committed is found then, and FAILED.
const recentlyDeleted = time.Hour

// claimEndpoints reads, in the claim's transaction, what a claim plans
// with of the endpoints whose deliveries it looks for: all but those
// deleted long ago. It returns them in ID order from the one after after
// round to after, so that the claims of a lane take their turns
// round-robin; and an error when the database fails.
//
// Every claim reads every endpoint, so this reads four small columns,
// scanned without reflection, and loadEndpoints reads the URL and
// secrets of only the few endpoints a claim took deliveries of: with a
// hundred endpoints, whole rows through gorm cost each claim about a
// millisecond on SQLite (BenchmarkClaimEndpoints; BENCHMARKS.md, "A
// healthy endpoint beside dead ones").
func (d *Dispatcher) claimEndpoints(tx *gorm.DB, after int64, now time.Time) ([]claimEndpoint, error) {
	rows, err := tx.Raw("SELECT id, CASE WHEN enabled AND deleted_at IS NULL THEN 1 ELSE 0 END,"+
		" CASE WHEN failing_since IS NULL THEN 0 ELSE 1 END, CASE WHEN probe_until > ? THEN 1 ELSE 0 END"+
		" FROM webhook_endpoints WHERE deleted_at IS NULL OR deleted_at > ? ORDER BY id", now, now.Add(-recentlyDeleted)).Rows()
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	defer rows.Close()
	var eps []claimEndpoint
	for rows.Next() {
		var e claimEndpoint
		if err := rows.Scan(&e.id, &e.usable, &e.failing, &e.probing); err != nil {
			return nil, fmt.Errorf("list endpoints: %w", err)
		}
		eps = append(eps, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	first := sort.Search(len(eps), func(i int) bool { return eps[i].id > after })
	return slices.Concat(eps[first:], eps[:first]), nil
}

// loadEndpoints reads, in the claim's transaction, the URL and secrets of
// the endpoints ids (the previous secret while its overlap lasts at now)
// into their entries of eps. It returns an error when the database fails.
func (d *Dispatcher) loadEndpoints(tx *gorm.DB, ids []int64, eps map[int64]*claimEndpoint, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Raw("SELECT id, url, secret, previous_secret, previous_secret_expires_at FROM webhook_endpoints WHERE id IN " +
		inList(ids)).Rows()
	if err != nil {
		return fmt.Errorf("read endpoints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var url, secret string
		var previous sql.NullString
		var expires sql.NullTime
		if err := rows.Scan(&id, &url, &secret, &previous, &expires); err != nil {
			return fmt.Errorf("read endpoints: %w", err)
		}
		if e := eps[id]; e != nil {
			e.loaded, e.url, e.secrets = true, url, [2]string{secret, ""}
			if previous.Valid && expires.Valid && expires.Time.After(now) {
				e.secrets[1] = previous.String
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read endpoints: %w", err)
	}
	return nil
}

// newEndpoint returns what an attempt needs of e, with its signer: the
// current secret and, while its overlap lasts at now, the previous one.
func newEndpoint(e *models.WebhookEndpoint, now time.Time) *endpoint {
	var previous string
	if e.PreviousSecret != nil && e.PreviousSecretExpiresAt != nil && e.PreviousSecretExpiresAt.After(now) {
		previous = *e.PreviousSecret
	}
	return claimEndpoint{id: e.ID, usable: e.Enabled && e.DeletedAt == nil, url: e.URL,
		secrets: [2]string{e.Secret, previous}}.endpoint()
}

// endpoint returns what an attempt needs of e, with its signer.
func (e claimEndpoint) endpoint() *endpoint {
	ep := &endpoint{id: e.id, endpointState: endpointState{url: e.url, usable: e.usable, secrets: e.secrets}}
	ep.signer, ep.err = newSigner(ep.secrets[:]...)
	return ep
}

// openProbes returns the rooms without the probes that another claim
// holds. On SQLite there are none: a process's claims run one at a time
// on its one connection, so claimEndpoints read every probe it recorded
// (probe_until), and plan left out the endpoints with one running; and
// when another process on the same file recorded a probe after this
// claim's transaction began reading, the claim's first write fails (in
// WAL mode a read transaction whose snapshot is stale cannot become a
// write one: SQLITE_BUSY_SNAPSHOT; the transaction is deferred, see
// models.openSQLite), and the lane claims again at its next wake or poll.
// On MySQL claimEndpoints's plain read may miss a probe another
// claim committed meanwhile (a snapshot), so this locks the rows of the
// endpoints to probe (skipping those locked: another claim is looking at
// them) and keeps those whose probe_until, read locked and so current, is
// not after now. The locks last until the claim commits, with the probes
// it took recorded (startProbes): two processes never both send a probe
// to one endpoint.
func (d *Dispatcher) openProbes(tx *gorm.DB, rooms []room, now time.Time) ([]room, error) {
	if d.db.Dialect != models.MySQL {
		return rooms, nil
	}
	var probes []int64
	for _, r := range rooms {
		if r.probe {
			probes = append(probes, r.endpoint)
		}
	}
	if len(probes) == 0 {
		return rooms, nil
	}
	var open []int64
	if err := tx.Raw("SELECT id FROM webhook_endpoints WHERE id IN "+inList(probes)+
		" AND (probe_until IS NULL OR probe_until <= ?) FOR UPDATE SKIP LOCKED", now).Scan(&open).Error; err != nil {
		return nil, fmt.Errorf("lock failing endpoints: %w", err)
	}
	return slices.DeleteFunc(slices.Clone(rooms), func(r room) bool { return r.probe && !slices.Contains(open, r.endpoint) }), nil
}

// probeMargin is what probeFor allows beyond the wait for a worker and
// the attempt: for the check before the attempt (begin) and the
// scheduling of the goroutines.
const probeMargin = time.Second

// probeSkew is how far apart probeFor allows the clocks of two processes
// to be: probe_until is written by one process's clock and read against
// another's.
const probeSkew = 2 * time.Second

// probeFor is how long after its claim's now a probe holds its endpoint
// (probe_until), unless its result's write ends it first (endProbes): a
// claimed delivery is attempted within maxQueued or given back (lane.take),
// and an attempt lasts at most Timeout, and stallGrace more when its
// timer fired late (attempt.go); a probe whose attempt would not end
// probeSkew before probe_until is given back unsent (Dispatcher.handle).
// So once probe_until has passed, by the clock of any process less than
// probeSkew apart, the probe's attempt has ended, and another process may
// probe the endpoint: a process that died mid-probe holds the endpoint's
// probes that long (15 s by default), not for its delivery's lease (2
// minutes). A process paused longer than that mid-attempt can overlap
// another's probe when it resumes, as it can send a delivery twice
// (lease.go).
func (d *Dispatcher) probeFor() time.Duration {
	return maxQueued + probeMargin + d.probeAttempt()
}

// probeAttempt is the time a probe's attempt must have before its
// probe_until (Dispatcher.handle): the attempt's longest, and probeSkew.
func (d *Dispatcher) probeAttempt() time.Duration {
	return d.cfg.Timeout + stallGrace + probeSkew
}

// startProbes records, on their endpoints' rows, the probes that c took
// (the probe rooms of rooms of which c leased a delivery): probe_owner is
// c's lease token, probe_until the claim's now and probeFor. They are
// noted in c for the jobs (claimJobs), whose results end them.
func (d *Dispatcher) startProbes(tx *gorm.DB, rooms []room, c *claimed, now time.Time) error {
	for _, r := range rooms {
		if r.probe && slices.ContainsFunc(c.leased, func(row dueRow) bool { return row.EndpointID == r.endpoint }) {
			c.probes = append(c.probes, r.endpoint)
		}
	}
	if len(c.probes) == 0 {
		return nil
	}
	c.probeUntil = now.Add(d.probeFor())
	if err := tx.Exec("UPDATE webhook_endpoints SET probe_owner = ?, probe_until = ? WHERE id IN "+inList(c.probes),
		c.token, c.probeUntil).Error; err != nil {
		return fmt.Errorf("record the probes of failing endpoints: %w", err)
	}
	return nil
}

// maxBranches bounds the endpoints one fair select reads (SQLite allows
// 500 terms in a compound SELECT).
const maxBranches = 100

// selectFair returns up to limit due PENDING deliveries of one lane,
// taken round-robin across the endpoints of rooms, at most each one's
// room. Rooms are read maxBranches endpoints per statement, in order.
func (d *Dispatcher) selectFair(tx *gorm.DB, retries bool, rooms []room, cursor int64, limit int, now time.Time) ([]dueRow, error) {
	out := make([]dueRow, 0, limit)
	for chunk := range slices.Chunk(rooms, maxBranches) {
		if len(out) == limit {
			break
		}
		q, args := d.fairQuery(retries, chunk, cursor, limit-len(out), now)
		rows, err := tx.Raw(q, args...).Rows()
		if err != nil {
			return nil, fmt.Errorf("select due deliveries: %w", err)
		}
		for rows.Next() {
			var r dueRow
			if err := rows.Scan(&r.ID, &r.EndpointID, &r.EventID, &r.AgentID, &r.Version, &r.AttemptCount, &r.LeaseOwner, &r.Stale); err != nil {
				rows.Close()
				return nil, fmt.Errorf("select due deliveries: %w", err)
			}
			out = append(out, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("select due deliveries: %w", err)
		}
	}
	return out, nil
}

// fairQuery returns selectFair's statement for rooms: per endpoint, its
// first due deliveries up to its room, read from the fair index
// (endpoint_id, attempt_count, next_attempt_at) by one seek that stops
// after them, so that an endpoint's backlog is never read past; then a
// window numbers each endpoint's rows, and the rows are taken by number
// (every endpoint's first, then every endpoint's second, ...), endpoints
// in ID order from the one after cursor: round-robin, within a claim and
// from one claim to the next. With one endpoint in rooms, its rows are
// read in the index's order without the window. Each row taken says whether a newer
// version of its agent already reached its endpoint (then it is
// SUPERSEDED instead of sent).
//
// First attempts come in due order. Retries come by attempt number, then
// due time: the index's own order, so that the seek stops after the rows
// it takes, having read besides only the retries of lower attempt
// numbers not yet due.
func (d *Dispatcher) fairQuery(retries bool, rooms []room, cursor int64, limit int, now time.Time) (string, []any) {
	counts, order, rowOrder := "= 0", "next_attempt_at, id", "u.next_attempt_at, u.id"
	if retries {
		counts, order, rowOrder = "> 0", "attempt_count, next_attempt_at, id", "u.attempt_count, u.next_attempt_at, u.id"
	}
	from := d.deliveriesUsing("d", "webhook_deliveries_fair")
	stale := " CASE WHEN d.agent_id IS NOT NULL AND " + d.deliveries.newerDelivered() + " THEN 1 ELSE 0 END"
	if len(rooms) == 1 {
		// One endpoint: the index's order is the order the window would
		// give, so no window numbers the rows (a claim's only endpoint
		// with room is the common case; the window and its two sorts
		// were about a third of the fair select). Nor does a derived
		// table hold them: the rows come in the index's order, and the
		// select list's subquery is evaluated for the rows the LIMIT
		// takes only; on MariaDB the derived table cost a temporary
		// table, a sort of the rows taken, and about 70 % more rows
		// read (BENCHMARKS.md, "MariaDB's claims").
		r := rooms[0]
		q := fmt.Sprintf("SELECT d.id, d.endpoint_id, d.event_id, d.agent_id, d.version, d.attempt_count, d.lease_owner,%s"+
			" FROM %s WHERE d.endpoint_id = %d AND d.status = 'PENDING' AND d.attempt_count %s AND d.next_attempt_at <= ?"+
			" ORDER BY %s LIMIT %d", stale, from, r.endpoint, counts, strings.ReplaceAll(rowOrder, "u.", "d."), min(r.n, limit))
		return q, []any{StatusSucceeded, now}
	}
	turn := func(t string) string { // the order of the rows: by number, endpoints from cursor on
		return fmt.Sprintf("%[1]srn, CASE WHEN %[1]sendpoint_id > %[2]d THEN 0 ELSE 1 END, %[1]sendpoint_id", t, cursor)
	}
	var b strings.Builder
	b.WriteString("SELECT d.id, d.endpoint_id, d.event_id, d.agent_id, d.version, d.attempt_count, d.lease_owner," +
		stale + " FROM" +
		" (SELECT * FROM (SELECT u.*, ROW_NUMBER() OVER (PARTITION BY u.endpoint_id ORDER BY " + rowOrder + ") AS rn FROM (")
	args := make([]any, 0, len(rooms)+1)
	args = append(args, StatusSucceeded)
	for i, r := range rooms {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&b, "SELECT * FROM (SELECT id, endpoint_id, event_id, agent_id, version, attempt_count, lease_owner, next_attempt_at"+
			" FROM %s WHERE endpoint_id = %d AND status = 'PENDING' AND attempt_count %s AND next_attempt_at <= ?"+
			" ORDER BY %s LIMIT %d) AS e%d", from, r.endpoint, counts, order, r.n, i)
		args = append(args, now)
	}
	fmt.Fprintf(&b, ") AS u) AS w ORDER BY %s LIMIT %d) AS d ORDER BY %s", turn("w."), limit, turn("d."))
	return b.String(), args
}

// lockDue locks the rows of a fair select on MySQL, skipping those
// another process holds, and returns those still due (another claim may
// have leased some since the select read them), in the order given.
func (d *Dispatcher) lockDue(tx *gorm.DB, rows []dueRow, now time.Time) ([]dueRow, error) {
	var ids []int64
	if err := tx.Raw("SELECT id FROM webhook_deliveries WHERE id IN "+inList(rowIDs(rows))+
		" AND status = 'PENDING' AND next_attempt_at <= ? FOR UPDATE SKIP LOCKED", now).Scan(&ids).Error; err != nil {
		return nil, fmt.Errorf("lock due deliveries: %w", err)
	}
	if len(ids) == len(rows) {
		return rows, nil
	}
	return slices.DeleteFunc(rows, func(r dueRow) bool { return !slices.Contains(ids, r.ID) }), nil
}

// jobs returns one job per leased delivery of c, claimed at claimedAt
// (monotonic, once the claim held its connection, before it read the
// endpoints), with its event from the outbox's recent events or else
// from the database. It returns an error when the database fails.
func (d *Dispatcher) jobs(ctx context.Context, c claimed, claimedAt time.Time) ([]*job, error) {
	out := make([]*job, len(c.leased))
	var missed []int // indexes in out of the jobs whose event is to be read
	for i, r := range c.leased {
		j := &job{id: r.ID, endpointID: r.EndpointID, attempts: r.AttemptCount, ep: c.endpoints[r.EndpointID],
			claimedAt: claimedAt}
		j.token.Store(&c.token)
		j.leaseEnd.Store(c.until.UnixNano())
		j.heldAt.Store(int64(claimedAt.Sub(monoBase)))
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
	until := d.now().Add(d.cfg.InFlightLease)
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
