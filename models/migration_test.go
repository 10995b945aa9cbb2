package models_test

import (
	"context"
	"testing"

	"outdial/models"
	"outdial/models/dbtest"
)

// TestNameKeysMigration: 00004 gives existing rows provisional keys (their
// texts), makes emails and token names unique by key, and goes down and up
// again with the data in place, on both databases.
func TestNameKeysMigration(t *testing.T) {
	ctx := context.Background()
	db, err := models.Open(dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	now := models.Now()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO agents (name, email, unified_routing_enabled, created_at, updated_at) VALUES ('Ann', 'ann@example.com', true, ?, ?)", []any{now, now}},
		{"INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES ('ops', 'VIEWER', 'h1', ?)", []any{now}},
		{"INSERT INTO queues (name, name_key, channel, description, created_at, updated_at) VALUES ('Q', 'q', 'VOICE', 'About Q', ?, ?)", []any{now, now}},
		{`INSERT INTO phone_numbers (e164, country_code, type, label, receive_calls, make_calls, created_at, updated_at)
			VALUES ('+14255550100', 'US', 'GEOGRAPHIC', 'Desk', true, false, ?, ?)`, []any{now, now}},
	} {
		if err := db.Exec(q.sql, q.args...).Error; err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	for round := 0; round < 2; round++ {
		if err := db.MigrateTo(ctx, 4); err != nil {
			t.Fatalf("up: %v", err)
		}
		var keys struct{ NameKey, EmailKey, TokenKey, DescriptionKey, LabelKey string }
		err := db.Raw(`SELECT a.name_key, a.email_key, t.name_key AS token_key, q.description_key, n.label_key
			FROM agents a, api_tokens t, queues q, phone_numbers n`).Scan(&keys).Error
		if err != nil {
			t.Fatal(err)
		}
		want := struct{ NameKey, EmailKey, TokenKey, DescriptionKey, LabelKey string }{"Ann", "ann@example.com", "ops", "About Q", "Desk"}
		if keys != want {
			t.Fatalf("keys after 00004: %+v; want %+v", keys, want)
		}
		dup := db.Exec("INSERT INTO api_tokens (name, name_key, role, token_hash, created_at) VALUES ('Ops', 'ops', 'VIEWER', 'h2', ?)", now)
		if dup.Error == nil {
			t.Fatalf("a second token with the key 'ops' was accepted")
		}
		if err := db.MigrateTo(ctx, 3); err != nil {
			t.Fatalf("down: %v", err)
		}
		var n int64
		if err := db.Table("agents").Where("email = 'ann@example.com'").Count(&n).Error; err != nil || n != 1 {
			t.Fatalf("after going down, %d agents (%v); want Ann kept", n, err)
		}
	}
}

// TestEndpointProbeMigration: 00022 adds webhook_endpoints.probe_owner and
// probe_until and drops webhook_deliveries_leased; down brings the index
// back and drops the columns, and up again, on both databases.
func TestEndpointProbeMigration(t *testing.T) {
	ctx := context.Background()
	db, err := models.Open(dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check := func(version int64, index, columns bool) {
		t.Helper()
		if err := db.MigrateTo(ctx, version); err != nil {
			t.Fatalf("migrate to %d: %v", version, err)
		}
		m := db.Migrator()
		if got := m.HasIndex("webhook_deliveries", "webhook_deliveries_leased"); got != index {
			t.Errorf("at %d: webhook_deliveries_leased exists: %v, want %v", version, got, index)
		}
		for _, c := range []string{"probe_owner", "probe_until"} {
			if got := m.HasColumn("webhook_endpoints", c); got != columns {
				t.Errorf("at %d: webhook_endpoints.%s exists: %v, want %v", version, c, got, columns)
			}
		}
	}
	check(21, true, false)
	for range 2 {
		check(22, false, true)
		check(21, true, false)
	}
}
