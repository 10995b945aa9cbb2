package calling

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"outdial/models/dbtest"
	"outdial/webhooks"
)

// TestDeliveriesOfAStatusReadThatStatus checks on SQLite (EXPLAIN QUERY
// PLAN, no ANALYZE as in production) that webhookDeliveries filtered by
// a status reads the deliveries through that status's entries of an
// index, not the table from the newest delivery until a page is full:
// every delivery, for a status that few have (PENDING, most often).
// Since migration 00021 webhook_deliveries_finished holds finished
// deliveries only (SQLite reads it for a query that says status <>
// 'PENDING' literally), and a PENDING page reads its IDs from
// webhook_deliveries_pending_age and looks them up by ID. Every page and
// the count are run (the statements they ran are explained), and give
// the deliveries that the filter selects, newest first.
func TestDeliveriesOfAStatusReadThatStatus(t *testing.T) {
	t.Parallel()
	db := dbtest.OpenSQLite(t)
	ctx := context.Background()
	// 3,000 deliveries to two endpoints, one in 50 PENDING, about no
	// agent or agents 1 to 8; endpoint 1 is agent 7's own.
	now := time.Now().UTC()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO agents (id, name, email, unified_routing_enabled, created_at, updated_at) VALUES (7, 'Ann', 'ann@example.com', 0, ?, ?)", []any{now, now}},
		{"INSERT INTO webhook_endpoints (id, url, event_types, enabled, secret, created_at, updated_at)" +
			" VALUES (1, 'https://a.example.com/', '[]', 1, 's', ?, ?), (2, 'https://b.example.com/', '[]', 1, 's', ?, ?)", []any{now, now, now, now}},
		{"INSERT INTO webhook_endpoint_agents (endpoint_id, agent_id) VALUES (1, 7)", nil},
		{"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 3000)" +
			" INSERT INTO webhook_events (id, message_id, type, agent_id, payload, occurred_at)" +
			" SELECT n, 'msg_' || n, 't' || (n % 3), n % 10, '{}', ? FROM s", []any{now}},
		{"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 3000)" +
			" INSERT INTO webhook_deliveries (id, endpoint_id, event_id, agent_id, status, attempt_count, created_at, updated_at)" +
			" SELECT n, 1 + (n % 7 = 0), n, NULLIF(n % 9, 0), CASE WHEN n % 50 = 0 THEN ? WHEN n % 3 = 0 THEN ? WHEN n % 3 = 1 THEN ? ELSE ? END, 1, ?, ? FROM s",
			[]any{webhooks.StatusPending, webhooks.StatusSucceeded, webhooks.StatusFailed, webhooks.StatusSuperseded, now, now}},
	} {
		if err := db.Exec(q.sql, q.args...).Error; err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	type stmt struct {
		sql  string
		vars []any
	}
	var ran []stmt
	if err := db.Callback().Query().After("gorm:query").Register("plan_test:record", func(tx *gorm.DB) {
		ran = append(ran, stmt{tx.Statement.SQL.String(), slices.Clone(tx.Statement.Vars)})
	}); err != nil {
		t.Fatal(err)
	}
	s := New(db, nil, nil)
	finished := []string{"webhook_deliveries_finished (status=?)"}
	pending := []string{"webhook_deliveries_pending_age", "INTEGER PRIMARY KEY (rowid=?)"}
	agent, typ := int64(7), "t1"
	type filterCase struct {
		f     DeliveryFilter
		where string // the deliveries f selects
		args  []any
		reads []string // the ways allowed to read webhook_deliveries
		count []string // those of the count, when they differ
	}
	var cases []filterCase
	for _, status := range []string{webhooks.StatusSucceeded, webhooks.StatusFailed, webhooks.StatusSuperseded} {
		cases = append(cases, filterCase{f: DeliveryFilter{Status: &status}, where: "status = ?", args: []any{status}, reads: finished})
	}
	status := webhooks.StatusPending
	cases = append(cases,
		// The count of all: pending_age's entries alone, no lookup.
		filterCase{f: DeliveryFilter{Status: &status}, where: "status = ?", args: []any{status}, reads: pending,
			count: []string{"COVERING INDEX webhook_deliveries_pending_age"}},
		filterCase{f: DeliveryFilter{Status: &status, EventType: &typ}, where: "status = ? AND event_id % 3 = 1",
			args: []any{status}, reads: pending},
		// An AGENT token's: its own endpoints' PENDING entries.
		filterCase{f: DeliveryFilter{Status: &status, OnlyAgent: &agent},
			where: "status = ? AND endpoint_id = 1 AND (agent_id IS NULL OR agent_id = 7)", args: []any{status},
			reads: []string{"webhook_deliveries_endpoint (endpoint_id=? AND status=?"}})
	for _, c := range cases {
		var want []int64
		if err := db.Raw("SELECT id FROM webhook_deliveries WHERE "+c.where+" ORDER BY id DESC", c.args...).Scan(&want).Error; err != nil {
			t.Fatal(err)
		}
		ran = nil
		l := s.WebhookDeliveries(ctx, c.f)
		var got []int64
		for p := (Page{First: 7}); ; {
			rows, more, err := l.Page(p)
			if err != nil {
				t.Fatalf("%s: %v", c.where, err)
			}
			for _, d := range rows {
				got = append(got, d.ID)
			}
			if !more {
				break
			}
			p.After = got[len(got)-1]
		}
		n, err := l.Count()
		if err != nil {
			t.Fatalf("%s: %v", c.where, err)
		}
		if len(want) == 0 || !slices.Equal(got, want) || n != len(want) {
			t.Errorf("%s %v: pages gave %v and a count of %d, want %v", c.where, c.args, got, n, want)
		}
		explained := map[string]bool{}
		for _, st := range slices.Clone(ran) {
			if explained[st.sql] {
				continue
			}
			explained[st.sql] = true
			var plan []struct {
				ID, Parent, NotUsed int
				Detail              string
			}
			if err := db.Raw("EXPLAIN QUERY PLAN "+st.sql, st.vars...).Scan(&plan).Error; err != nil {
				t.Fatalf("%s: %v", st.sql, err)
			}
			allowed := c.reads
			if c.count != nil && strings.HasPrefix(st.sql, "SELECT count(*)") {
				allowed = c.count
			}
			reads := 0
			for _, p := range plan {
				if w := strings.Fields(p.Detail); len(w) < 2 || (w[0] != "SCAN" && w[0] != "SEARCH") || w[1] != "webhook_deliveries" {
					continue
				}
				reads++
				if !slices.ContainsFunc(allowed, func(r string) bool { return strings.Contains(p.Detail, r) }) {
					t.Errorf("%s %v reads %q, want it read through %q", st.sql, st.vars, p.Detail, allowed)
				}
			}
			if reads == 0 {
				t.Errorf("%s %v reads %+v, no delivery", st.sql, st.vars, plan)
			}
		}
		if len(explained) < 3 {
			t.Errorf("%s: ran %v, want a first page, pages after it and a count", c.where, ran)
		}
	}
}
