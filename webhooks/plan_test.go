package webhooks

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"outdial/models"
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

// TestFairSelectOfOneEndpointReadsItsIndexInOrder checks, on both
// databases, the plan of a claim's fair select when one endpoint has
// room (fairQuery), first attempts and retries: its due deliveries are
// read from webhook_deliveries_fair in the order taken, with no
// temporary table, no sort and no derived table, and it returns the
// first due rows in that order, each marked stale only when a newer
// version of its agent reached the endpoint.
func TestFairSelectOfOneEndpointReadsItsIndexInOrder(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(testing.TB) *models.DB{"SQLite": dbtest.OpenSQLite, "MySQL": dbtest.OpenMySQL} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setupOn(t, open(t))
			ep := b.endpoint("http://127.0.0.1:1/")
			b.endpoint("http://127.0.0.1:2/")
			store(t, b, agentEvents(40, 1))
			store(t, b, agentEvents(40, 2))
			d, err := NewDispatcher(b.db, b.outbox, b.config())
			if err != nil {
				t.Fatal(err)
			}
			// Agent 1's version 2 reached ep: its version 1 is stale.
			if err := b.db.Exec("UPDATE webhook_deliveries SET status = ? WHERE endpoint_id = ? AND agent_id = 1 AND version = 2",
				StatusSucceeded, ep.ID).Error; err != nil {
				t.Fatal(err)
			}
			// Retries: ten deliveries of ep at their second or third attempt.
			if err := b.db.Exec("UPDATE webhook_deliveries SET attempt_count = 1 + agent_id % 2 WHERE endpoint_id = ? AND version = 2 AND agent_id > 30",
				ep.ID).Error; err != nil {
				t.Fatal(err)
			}
			now := b.clock.Now().Add(time.Second)
			for _, retries := range []bool{false, true} {
				q, args := d.fairQuery(retries, []room{{endpoint: ep.ID, n: 25}}, 0, 30, now)
				checkFairPlan(t, b, q, args)
				rows, err := b.db.Raw(q, args...).Rows()
				if err != nil {
					t.Fatal(err)
				}
				var got []dueRow
				for rows.Next() {
					var r dueRow
					if err := rows.Scan(&r.ID, &r.EndpointID, &r.EventID, &r.AgentID, &r.Version, &r.AttemptCount, &r.LeaseOwner, &r.Stale); err != nil {
						t.Fatal(err)
					}
					got = append(got, r)
				}
				if err := rows.Close(); err != nil {
					t.Fatal(err)
				}
				var want []dueRow // what the select promises, worked out here
				var all []models.WebhookDelivery
				cond := "attempt_count = 0"
				if retries {
					cond = "attempt_count > 0"
				}
				if err := b.db.Where("endpoint_id = ? AND status = 'PENDING' AND "+cond, ep.ID).Find(&all).Error; err != nil {
					t.Fatal(err)
				}
				slices.SortFunc(all, func(x, y models.WebhookDelivery) int {
					return cmp.Or(cmp.Compare(x.AttemptCount, y.AttemptCount), x.NextAttemptAt.Compare(*y.NextAttemptAt), cmp.Compare(x.ID, y.ID))
				})
				if !retries {
					all = all[:25]
				}
				for _, w := range all {
					want = append(want, dueRow{ID: w.ID, EndpointID: w.EndpointID, AttemptCount: w.AttemptCount,
						Stale: *w.AgentID == 1 && *w.Version == 1})
				}
				if len(got) != len(want) {
					t.Fatalf("retries %v: %d rows, want %d", retries, len(got), len(want))
				}
				for i := range want {
					if g := got[i]; g.ID != want[i].ID || g.EndpointID != ep.ID || g.AttemptCount != want[i].AttemptCount || g.Stale != want[i].Stale {
						t.Errorf("retries %v, row %d: %+v, want %+v", retries, i, g, want[i])
					}
				}
			}
		})
	}
}

// checkFairPlan fails t unless the plan of the fair select q reads the
// fair index in order, without a temporary table, a sort or a derived
// table (TestFairSelectOfOneEndpointReadsItsIndexInOrder).
func checkFairPlan(t *testing.T, b *bundle, q string, args []any) {
	t.Helper()
	if b.db.Dialect == models.MySQL {
		var plan []struct {
			SelectType string  `gorm:"column:select_type"`
			Table      string  `gorm:"column:table"`
			Key        *string `gorm:"column:key"`
			Extra      *string `gorm:"column:Extra"`
		}
		if err := b.db.Raw("EXPLAIN "+q, args...).Scan(&plan).Error; err != nil {
			t.Fatal(err)
		}
		for _, p := range plan {
			key, extra := "", ""
			if p.Key != nil {
				key = *p.Key
			}
			if p.Extra != nil {
				extra = *p.Extra
			}
			if p.SelectType == "DERIVED" || strings.Contains(extra, "temporary") || strings.Contains(extra, "filesort") ||
				(p.SelectType == "SIMPLE" || p.SelectType == "PRIMARY") && key != "webhook_deliveries_fair" {
				t.Errorf("the fair select of one endpoint: %s of %s by key %q (%s) in its plan, want the fair index read in order",
					p.SelectType, p.Table, key, extra)
			}
		}
		return
	}
	var plan []struct {
		ID, Parent, NotUsed int
		Detail              string
	}
	if err := b.db.Raw("EXPLAIN QUERY PLAN "+q, args...).Scan(&plan).Error; err != nil {
		t.Fatal(err)
	}
	fair := false
	for _, p := range plan {
		if strings.Contains(p.Detail, "TEMP B-TREE") || strings.Contains(p.Detail, "MATERIALIZE") {
			t.Errorf("the fair select of one endpoint: %q in its plan %+v", p.Detail, plan)
		}
		fair = fair || strings.Contains(p.Detail, "webhook_deliveries_fair")
	}
	if !fair {
		t.Errorf("the fair select of one endpoint does not read webhook_deliveries_fair: %+v", plan)
	}
}
