package webhooks

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"outdial/models"
)

// Deliveries writes every change of a webhook delivery's state; no other
// code updates webhook_deliveries rows (the outbox inserts them). A
// delivery is PENDING until it is SUCCEEDED, FAILED or SUPERSEDED:
//
//	lease       PENDING, due       → PENDING, leased to one claim of one process
//	renew       leased             → leased for longer
//	release     leased             → PENDING, unleased, due now
//	finish      leased             → SUCCEEDED, FAILED or SUPERSEDED
//	reschedule  leased             → PENDING, unleased, due at its next attempt
//	supersede   PENDING (any lease) → SUPERSEDED: a newer version of its agent reached its endpoint
//	fail        PENDING (any lease) → FAILED: its endpoint was disabled or deleted
//	redeliver   any                → a new delivery of the same event, PENDING or at once SUPERSEDED
//	recover     FAILED             → new PENDING deliveries, the newest version per agent
//
// A lease is named by its token (lease_owner): the process's owner ID and
// the number of its claim. Every write of a lease holder (renew, release,
// finish, reschedule) is fenced: its WHERE requires the delivery still
// PENDING under that very token, so a process that lost the lease (it
// expired while the process was paused or cut off from the database, and
// another process took the delivery over, settled it, or it was claimed
// again) changes nothing. supersede and fail override whoever holds the
// lease: the holder's later writes then find the delivery settled and
// change nothing either.
//
// Statements differ between the dialects only where written side by side
// below: SQLite gets UPDATE OR FAIL (see orFail) and INDEXED BY, MySQL
// FORCE INDEX and a multi-table UPDATE for supersede.
type Deliveries struct {
	dialect models.Dialect
}

// NewDeliveries returns the writer of delivery states for a database of
// dialect.
func NewDeliveries(dialect models.Dialect) Deliveries { return Deliveries{dialect: dialect} }

// hold is a delivery held under the lease named token.
type hold struct {
	id    int64
	token string
}

// update is the start of an UPDATE of webhook_deliveries rows listed by
// ID, made inside a transaction. On SQLite the rows are found by their
// IDs only (NOT INDEXED still seeks the rowid): left alone, with a
// claim's worth of IDs (a few dozen or more) the planner read "id IN
// (...) AND status = 'PENDING' AND ..." through
// webhook_deliveries_finished (status, updated_at), that is every
// PENDING delivery, at every lease, release, finish and reschedule
// (EXPLAIN QUERY PLAN, TestTransitionsSeekByID): a cost that grew with
// the backlog of every endpoint. Since migration 00021 that index holds
// finished deliveries only, and the planner left alone seeks these IDs
// by rowid again; NOT INDEXED stays, which keeps that plan whatever
// indexes are added later.
func (s Deliveries) update() string {
	if s.dialect == models.SQLite {
		return "UPDATE OR FAIL webhook_deliveries NOT INDEXED SET "
	}
	return "UPDATE webhook_deliveries SET "
}

// byID names webhook_deliveries for a statement outside a transaction
// that lists its rows by ID: NOT INDEXED on SQLite, as in update.
func (s Deliveries) byID() string {
	if s.dialect == models.SQLite {
		return "webhook_deliveries NOT INDEXED"
	}
	return "webhook_deliveries"
}

// orFail is the conflict clause of multi-row statements inside a
// transaction: " OR FAIL" on SQLite, nothing on MySQL. SQLite undoes a
// statement that fails (ABORT, the default) with a statement journal, a
// copy of every page the statement changes, which past 64 KiB goes to a
// temporary file opened, written and closed for the statement; that was a
// tenth of a write's cost. FAIL keeps the rows changed before the failure
// instead, which is the same here: every caller rolls the whole
// transaction back on any error.
func (s Deliveries) orFail() string {
	if s.dialect == models.SQLite {
		return " OR FAIL"
	}
	return ""
}

// using names webhook_deliveries AS alias for a query that must read it
// through index: the planners, left alone, sometimes scan every delivery
// of a status (SQLite without statistics, MariaDB with stale ones), which
// grows with the table's whole history.
func (s Deliveries) using(alias, index string) string {
	if s.dialect == models.MySQL {
		return "webhook_deliveries AS " + alias + " FORCE INDEX (" + index + ")"
	}
	return "webhook_deliveries AS " + alias + " INDEXED BY " + index
}

// fenced returns the condition that each delivery of hs is still PENDING
// under the very lease it was claimed with, and its arguments (see
// ownedBy). All the IDs are also listed in one IN, which both databases
// read by primary key (TestTransitionsSeekByID).
func fenced(hs []hold) (string, []any) {
	ids, owned, tokens := ownedBy("lease_owner", hs)
	// 'PENDING' is a literal so that SQLite sees its partial indexes match.
	return " WHERE id IN " + inList(ids) + " AND status = 'PENDING' AND " + owned, tokens
}

// ownedBy returns the IDs of hs (rows of any table, by id) and the
// condition that column holds each row's own token, with its arguments.
// The tokens are bound; the IDs, integers we formatted, are written in.
// With one token (the common case: one claim's rows) the condition is
// column = ?; with several, each token is tied to its own IDs, so that a
// row this process claimed again after its lease ended matches only its
// new lease's writes, never its old one's.
func ownedBy(column string, hs []hold) (ids []int64, cond string, tokens []any) {
	ids = make([]int64, len(hs))
	byToken := map[string][]int64{}
	for i, h := range hs {
		ids[i] = h.id
		if byToken[h.token] == nil {
			tokens = append(tokens, h.token)
		}
		byToken[h.token] = append(byToken[h.token], h.id)
	}
	if len(tokens) == 1 {
		return ids, column + " = ?", tokens
	}
	owners := make([]string, len(tokens))
	for i, t := range tokens {
		owners[i] = "(" + column + " = ? AND id IN " + inList(byToken[t.(string)]) + ")"
	}
	return ids, "(" + strings.Join(owners, " OR ") + ")", tokens
}

// lease leases the due PENDING deliveries ids under token until until,
// and returns how many it leased. next_attempt_at moves to the lease's
// end, so that an abandoned lease makes the delivery due again by itself.
func (s Deliveries) lease(tx *gorm.DB, ids []int64, token string, now, until time.Time) (int64, error) {
	var n int64
	for chunk := range slices.Chunk(ids, batchSize) {
		res := tx.Exec(s.update()+"lease_owner = ?, lease_expires_at = ?, next_attempt_at = ?, updated_at = ?"+
			" WHERE id IN "+inList(chunk)+" AND status = 'PENDING' AND next_attempt_at <= ?", token, until, until, now, now)
		if res.Error != nil {
			return n, fmt.Errorf("lease deliveries: %w", res.Error)
		}
		n += res.RowsAffected
	}
	return n, nil
}

// renew extends to until the leases of hs still held, and returns the IDs
// renewed. It runs outside any transaction.
func (s Deliveries) renew(tx *gorm.DB, hs []hold, until time.Time) ([]int64, error) {
	var out []int64
	for chunk := range slices.Chunk(hs, batchSize) {
		where, args := fenced(chunk)
		res := tx.Exec("UPDATE "+s.byID()+" SET lease_expires_at = ?, next_attempt_at = ?"+where,
			append([]any{until, until}, args...)...)
		if res.Error != nil {
			return out, fmt.Errorf("renew leases: %w", res.Error)
		}
		if res.RowsAffected == int64(len(chunk)) {
			for _, h := range chunk {
				out = append(out, h.id)
			}
			continue
		}
		still, err := s.held(tx, chunk) // some were settled or taken over: which are ours?
		if err != nil {
			return out, fmt.Errorf("renew leases: %w", err)
		}
		out = append(out, still...)
	}
	return out, nil
}

// held returns the IDs of the deliveries of hs still PENDING under the
// lease each was claimed with: a read, before their attempts (lease.go)
// and after a renewal that did not find them all.
func (s Deliveries) held(tx *gorm.DB, hs []hold) ([]int64, error) {
	var out []int64
	for chunk := range slices.Chunk(hs, batchSize) {
		where, args := fenced(chunk)
		var ids []int64
		if err := tx.Raw("SELECT id FROM "+s.byID()+where, args...).Scan(&ids).Error; err != nil {
			return out, fmt.Errorf("check leases: %w", err)
		}
		out = append(out, ids...)
	}
	return out, nil
}

// release gives the deliveries of hs still held back, due now, for any
// process to claim, and returns how many it gave back.
func (s Deliveries) release(tx *gorm.DB, hs []hold, now time.Time) (int64, error) {
	var n int64
	for chunk := range slices.Chunk(hs, batchSize) {
		where, args := fenced(chunk)
		res := tx.Exec(s.update()+"lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = ?, updated_at = ?"+where,
			append([]any{now, now}, args...)...)
		if res.Error != nil {
			return n, fmt.Errorf("release deliveries: %w", res.Error)
		}
		n += res.RowsAffected
	}
	return n, nil
}

// finish gives the deliveries of hs still held their final status, one
// more attempt counted when attempted, and returns how many it changed.
func (s Deliveries) finish(tx *gorm.DB, hs []hold, status string, attempted bool, now time.Time) (int64, error) {
	bump := ""
	if attempted {
		bump = "attempt_count = attempt_count + 1, "
	}
	var n int64
	for chunk := range slices.Chunk(hs, batchSize) {
		where, args := fenced(chunk)
		res := tx.Exec(s.update()+"status = ?, "+bump+"next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?"+where,
			append([]any{status, now}, args...)...)
		if res.Error != nil {
			return n, fmt.Errorf("mark deliveries %s: %w", status, res.Error)
		}
		n += res.RowsAffected
	}
	return n, nil
}

// retry is a failed attempt of a held delivery and when to try it again.
type retry struct {
	hold
	next time.Time
}

// reschedule counts the failed attempt of each delivery of rs still held,
// makes it due again at its next attempt, releases it, and returns how
// many it changed; one statement per chunk.
func (s Deliveries) reschedule(tx *gorm.DB, rs []retry, now time.Time) (int64, error) {
	var n int64
	for chunk := range slices.Chunk(rs, batchSize) {
		var sql strings.Builder
		sql.WriteString(s.update() + "attempt_count = attempt_count + 1, next_attempt_at = CASE id")
		args := make([]any, 0, len(chunk)+4)
		hs := make([]hold, len(chunk))
		for i, r := range chunk {
			sql.WriteString(" WHEN " + strconv.FormatInt(r.id, 10) + " THEN ?")
			args = append(args, r.next)
			hs[i] = r.hold
		}
		where, fence := fenced(hs)
		sql.WriteString(" END, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?" + where)
		args = append(append(args, now), fence...)
		res := tx.Exec(sql.String(), args...)
		if res.Error != nil {
			return n, fmt.Errorf("schedule retries: %w", res.Error)
		}
		n += res.RowsAffected
	}
	return n, nil
}

// supersede marks SUPERSEDED every PENDING delivery, whoever leases it,
// to the same endpoint of an older version of the same agent as one of
// the successful deliveries ids; above, when not nil, gives per success
// the version known settled, so that only the versions above it are
// looked at. It returns how many it changed.
//
// The successes drive the join (CROSS JOIN in SQLite, STRAIGHT_JOIN in
// MySQL fix the order) and each finds its older versions through
// (endpoint_id, agent_id, version). MySQL gets a multi-table UPDATE:
// there a subquery on the updated table would have to be a derived
// table, which MariaDB runs against every delivery.
func (s Deliveries) supersede(tx *gorm.DB, ids []int64, above map[int64]int64, now time.Time) (int64, error) {
	older := s.using("o", "webhook_deliveries_agent") +
		" ON o.endpoint_id = s.endpoint_id AND o.agent_id = s.agent_id AND o.version < s.version"
	if above != nil {
		var b strings.Builder
		b.WriteString(" AND o.version > CASE s.id")
		for _, id := range ids {
			fmt.Fprintf(&b, " WHEN %d THEN %d", id, above[id])
		}
		b.WriteString(" END")
		older += b.String()
	}
	var q string
	switch s.dialect {
	case models.MySQL:
		q = "UPDATE webhook_deliveries AS s STRAIGHT_JOIN " + older +
			" SET o.status = ?, o.next_attempt_at = NULL, o.lease_owner = NULL, o.lease_expires_at = NULL, o.updated_at = ?" +
			" WHERE s.id IN " + inList(ids) + " AND o.status = ?"
	default:
		q = "UPDATE OR FAIL webhook_deliveries" +
			" SET status = ?, next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?" +
			" WHERE id IN (SELECT o.id FROM webhook_deliveries AS s CROSS JOIN " + older +
			" WHERE s.id IN " + inList(ids) + " AND o.status = ?)"
	}
	res := tx.Exec(q, StatusSuperseded, now, StatusPending)
	if res.Error != nil {
		return 0, fmt.Errorf("supersede older versions: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// Fail marks FAILED every PENDING delivery of the endpoint, whoever
// leases it, because the endpoint was disabled or deleted, and returns
// how many it changed.
func (s Deliveries) Fail(tx *gorm.DB, endpointID int64, now time.Time) (int64, error) {
	res := tx.Exec("UPDATE webhook_deliveries SET status = ?, next_attempt_at = NULL, lease_owner = NULL,"+
		" lease_expires_at = NULL, updated_at = ? WHERE endpoint_id = ? AND status = ?",
		StatusFailed, now, endpointID, StatusPending)
	if res.Error != nil {
		return 0, fmt.Errorf("fail pending deliveries: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// newerDelivered is the condition that a newer version of delivery d's
// agent reached its endpoint, its argument the succeeded status. SQLite
// reads just the newer versions of (endpoint_id, agent_id, version).
// MariaDB reads every version of the agent at the endpoint for that (it
// seeks on the first two columns only), so there the newest delivered
// version is looked up instead, newest first, which stops at the first
// success: usually the version before d, whatever the agent's history.
func (s Deliveries) newerDelivered() string {
	if s.dialect == models.MySQL {
		return "(SELECT n.version FROM " + s.using("n", "webhook_deliveries_agent") +
			" WHERE n.endpoint_id = d.endpoint_id AND n.agent_id = d.agent_id AND n.status = ?" +
			" ORDER BY n.version DESC LIMIT 1) > d.version"
	}
	return "EXISTS (SELECT 1 FROM " + s.using("n", "webhook_deliveries_agent") +
		" WHERE n.endpoint_id = d.endpoint_id AND n.agent_id = d.agent_id" +
		" AND n.version > d.version AND n.status = ?)"
}

// Redeliver records a new delivery of old's event to old's endpoint, with
// old's agent and version, and returns it. It is PENDING, due now, unless
// a newer version of the agent already reached the endpoint: then it is
// SUPERSEDED at once, as a claim would make it, and never sent.
func (s Deliveries) Redeliver(tx *gorm.DB, old models.WebhookDelivery, now time.Time) (models.WebhookDelivery, error) {
	d := models.WebhookDelivery{EndpointID: old.EndpointID, EventID: old.EventID, AgentID: old.AgentID, Version: old.Version,
		Status: StatusPending, NextAttemptAt: &now, CreatedAt: now, UpdatedAt: now}
	if old.AgentID != nil && old.Version != nil {
		var newer []int64
		err := tx.Raw("SELECT d.id FROM webhook_deliveries AS d WHERE d.id = ? AND "+s.newerDelivered(), old.ID, StatusSucceeded).
			Scan(&newer).Error
		if err != nil {
			return d, fmt.Errorf("look for newer versions delivered: %w", err)
		}
		if len(newer) > 0 {
			d.Status, d.NextAttemptAt = StatusSuperseded, nil
		}
	}
	if err := tx.Create(&d).Error; err != nil {
		return d, fmt.Errorf("insert delivery: %w", err)
	}
	return d, nil
}

// MaxRecover bounds the FAILED deliveries one Recover looks at.
const MaxRecover = 100_000

// ErrTooManyToRecover is Recover's error when more than MaxRecover
// deliveries failed in the window asked for.
var ErrTooManyToRecover = fmt.Errorf("more than %d failed deliveries", MaxRecover)

// Recovered is what Recover did: Queued new PENDING deliveries; of the
// FAILED deliveries looked at, Superseded were not queued.
type Recovered struct {
	Queued, Superseded int64
}

// Recover queues again the FAILED deliveries to the endpoint created at
// or after since (when agentID is not nil, only those about that agent or
// about no agent), latest state
// wins: per agent, only the newest version failed in the window, and not
// even that when the same or a newer version already reached the endpoint
// or awaits its turn (SUCCEEDED, PENDING, or SUPERSEDED by an even newer
// one); an event about no agent is queued again unless it reached the
// endpoint or awaits its turn. Each queued delivery is a new row with the
// failed one's event, agent and version, PENDING and due now; the FAILED
// rows stay as they are, the history. It returns ErrTooManyToRecover,
// writing nothing, when more than MaxRecover deliveries failed in the
// window.
func (s Deliveries) Recover(tx *gorm.DB, endpointID int64, since time.Time, agentID *int64, now time.Time) (Recovered, error) {
	failed := "f.endpoint_id = ? AND f.status = 'FAILED' AND f.created_at >= ?"
	args := []any{endpointID, since}
	if agentID != nil {
		failed += " AND (f.agent_id = ? OR f.agent_id IS NULL)"
		args = append(args, *agentID)
	}
	var n int64
	if err := tx.Raw("SELECT COUNT(*) FROM webhook_deliveries AS f WHERE "+failed, args...).Scan(&n).Error; err != nil {
		return Recovered{}, fmt.Errorf("count failed deliveries: %w", err)
	}
	if n > MaxRecover {
		return Recovered{}, ErrTooManyToRecover
	}
	// A delivery n to the same endpoint that makes f not worth sending:
	// of the same agent, a newer version not FAILED (it reached the
	// endpoint, awaits it, or was superseded by one that did) or FAILED in
	// the window (then it is the one queued), or the same version
	// SUCCEEDED or PENDING, or FAILED in the window later (one of two
	// failed copies is enough); of the same event about no agent, one
	// SUCCEEDED or PENDING, or FAILED in the window later.
	worse := "(n.status <> 'FAILED' OR n.created_at >= ?)"
	same := "(n.status IN ('SUCCEEDED', 'PENDING') OR (n.status = 'FAILED' AND n.created_at >= ? AND n.id > f.id))"
	q := "SELECT f.id FROM webhook_deliveries AS f WHERE " + failed +
		" AND (f.agent_id IS NULL OR NOT EXISTS (SELECT 1 FROM " + s.using("n", "webhook_deliveries_agent") +
		" WHERE n.endpoint_id = f.endpoint_id AND n.agent_id = f.agent_id AND" +
		" ((n.version > f.version AND " + worse + ") OR (n.version = f.version AND " + same + "))))" +
		" AND (f.agent_id IS NOT NULL OR NOT EXISTS (SELECT 1 FROM webhook_deliveries AS n" +
		" WHERE n.event_id = f.event_id AND n.endpoint_id = f.endpoint_id AND " + same + "))"
	var ids []int64
	if err := tx.Raw(q, append(args, since, since, since)...).Scan(&ids).Error; err != nil {
		return Recovered{}, fmt.Errorf("choose the deliveries to recover: %w", err)
	}
	for chunk := range slices.Chunk(ids, batchSize) {
		err := tx.Exec("INSERT"+s.orFail()+" INTO webhook_deliveries"+
			" (endpoint_id, event_id, agent_id, version, status, attempt_count, next_attempt_at, created_at, updated_at)"+
			" SELECT endpoint_id, event_id, agent_id, version, ?, 0, ?, ?, ? FROM webhook_deliveries WHERE id IN "+inList(chunk),
			StatusPending, now, now, now).Error
		if err != nil {
			return Recovered{}, fmt.Errorf("queue recovered deliveries: %w", err)
		}
	}
	return Recovered{Queued: int64(len(ids)), Superseded: n - int64(len(ids))}, nil
}
