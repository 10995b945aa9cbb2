package webhooks

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"outdial/models/dbtest"
)

// TestTransitionsSeekByID checks on SQLite that the transitions that
// name their deliveries by ID find them by ID (EXPLAIN QUERY PLAN), with
// pending deliveries in the table: read through another index, lease
// read every PENDING delivery at every claim (see Deliveries.update).
func TestTransitionsSeekByID(t *testing.T) {
	t.Parallel()
	b := setupOn(t, dbtest.OpenSQLite(t))
	b.endpoint("http://127.0.0.1:1/")
	b.endpoint("http://127.0.0.1:2/")
	store(t, b, agentEvents(200, 1))
	s := NewDeliveries(b.db.Dialect)
	now := b.clock.Now()
	// As many as a claim takes: the more IDs listed, the likelier the
	// planner, left alone, prefers another index.
	hs := make([]hold, DefaultBatchSize)
	ids := make([]int64, len(hs))
	for i := range hs {
		hs[i], ids[i] = hold{int64(i + 1), "t.1"}, int64(i+1)
	}
	for _, tokens := range []int{1, 3} { // one claim's deliveries, or three claims'
		for i := range hs {
			hs[i].token = fmt.Sprintf("t.%d", 1+i%tokens)
		}
		seekByID(t, b, s, hs, ids, now)
	}
}

// seekByID checks the plans of the transitions of hs for
// TestTransitionsSeekByID.
func seekByID(t *testing.T, b *bundle, s Deliveries, hs []hold, ids []int64, now time.Time) {
	t.Helper()
	where, fence := fenced(hs)
	for name, stmt := range map[string]struct {
		sql  string
		args []any
	}{
		"lease": {s.update() + "lease_owner = ?, lease_expires_at = ?, next_attempt_at = ?, updated_at = ?" +
			" WHERE id IN " + inList(ids) + " AND status = 'PENDING' AND next_attempt_at <= ?", []any{"t.1", now, now, now, now}},
		"release": {s.update() + "lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = ?, updated_at = ?" + where,
			append([]any{now, now}, fence...)},
		"finish": {s.update() + "status = ?, attempt_count = attempt_count + 1, next_attempt_at = NULL, lease_owner = NULL," +
			" lease_expires_at = NULL, updated_at = ?" + where, append([]any{StatusSucceeded, now}, fence...)},
		"renew": {"UPDATE " + s.byID() + " SET lease_expires_at = ?, next_attempt_at = ?" + where,
			append([]any{now, now}, fence...)},
		"renew's look, held": {"SELECT id FROM " + s.byID() + where, fence},
		"reschedule": {s.update() + "attempt_count = attempt_count + 1, next_attempt_at = CASE id WHEN 1 THEN ? END," +
			" lease_owner = NULL, lease_expires_at = NULL, updated_at = ?" + where,
			append([]any{now.Add(time.Minute), now}, fence...)},
	} {
		var plan []struct {
			ID, Parent, NotUsed int
			Detail              string
		}
		if err := b.db.Raw("EXPLAIN QUERY PLAN "+stmt.sql, stmt.args...).Scan(&plan).Error; err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(plan) != 1 || !strings.Contains(plan[0].Detail, "INTEGER PRIMARY KEY") {
			t.Errorf("%s (%d tokens) reads %+v, want the deliveries by ID only", name, len(fence), plan)
		}
	}
}
