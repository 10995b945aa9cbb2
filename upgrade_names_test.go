package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"outdial/calling"
	"outdial/models"
	"outdial/models/dbtest"
)

// Rows written before the name rule (migration 00004) keep their texts;
// the server recomputes their keys when it starts, and refuses to start
// when two of them are the same name under the rule.

// legacyRow is a row as a version before 00004 wrote it.
type legacyRow struct {
	sql  string
	args []any
}

// writeLegacy creates a database at migration 3 holding rows, and returns
// its URL.
func writeLegacy(t *testing.T, rows []legacyRow) string {
	t.Helper()
	url := dbtest.URL(t)
	db, err := models.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateTo(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := db.Exec(r.sql, r.args...).Error; err != nil {
			t.Fatalf("%s: %v", r.sql, err)
		}
	}
	return url
}

// The statements of a version before 00004: keys were strings.ToLower of
// the name, emails and token names had none.
func legacyQueue(name, key, desc string) legacyRow {
	return legacyRow{"INSERT INTO queues (name, name_key, channel, description, created_at, updated_at) VALUES (?, ?, 'VOICE', ?, ?, ?)",
		[]any{name, key, desc, models.Now(), models.Now()}}
}

func legacyCapacity(name, key string) legacyRow {
	return legacyRow{`INSERT INTO capacity_profiles (name, name_key, work_item_limit, reset_frequency, block_assignment, created_at, updated_at)
		VALUES (?, ?, 1, 'IMMEDIATE', false, ?, ?)`, []any{name, key, models.Now(), models.Now()}}
}

func legacyAgent(name, email string) legacyRow {
	return legacyRow{"INSERT INTO agents (name, email, unified_routing_enabled, created_at, updated_at) VALUES (?, ?, true, ?, ?)",
		[]any{name, email, models.Now(), models.Now()}}
}

func legacyToken(name string) legacyRow {
	return legacyRow{"INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES (?, 'VIEWER', ?, ?)",
		[]any{name, calling.HashToken("odt_" + name), models.Now()}}
}

func legacyNumber(e164, label string) legacyRow {
	return legacyRow{`INSERT INTO phone_numbers (e164, country_code, type, label, receive_calls, make_calls, created_at, updated_at)
		VALUES (?, 'US', 'GEOGRAPHIC', ?, true, false, ?, ?)`, []any{e164, label, models.Now(), models.Now()}}
}

// TestStartRecomputesNameKeys: after an upgrade, old rows are found and
// kept unique under the rule, as new ones are.
func TestStartRecomputesNameKeys(t *testing.T) {
	t.Parallel()
	url := writeLegacy(t, []legacyRow{
		legacyQueue("ΟΔΟΣ", "οδος", "Main Road"),
		legacyQueue("Sales\u200b", "sales\u200b", ""),
		legacyCapacity("Straße", "straße"),
		legacyAgent("Émile Zola", "e\u0301mile@example.fr"),
		legacyToken("ops"),
		legacyNumber("+14255550100", "Re\u0301ception"),
	})
	e := setup(t, func(c *config) { c.DatabaseURL = url })
	checks := []struct{ query, want string }{
		{`{ queues(filter: {search: "οδοσ"}) { nodes { name } } }`, `"ΟΔΟΣ"`},
		{`{ queues(filter: {search: "ROAD"}) { nodes { name } } }`, `"ΟΔΟΣ"`},
		{`{ queues(filter: {search: "sales"}) { nodes { name } } }`, "\"Sales\u200b\""},
		{`{ agents(filter: {search: "ÉMILE"}) { nodes { name } } }`, `"Émile Zola"`},
		{`{ agent(email: "ÉMILE@EXAMPLE.FR") { name } }`, `"Émile Zola"`},
		{`{ phoneNumbers(filter: {search: "RÉCEPTION"}) { nodes { e164 } } }`, `"+14255550100"`},
	}
	for _, c := range checks {
		var data map[string]any
		e.query(c.query, nil, &data)
		if got := marshal(t, data); !strings.Contains(got, c.want) {
			t.Errorf("%s = %s; want it to hold %s", c.query, got, c.want)
		}
	}
	e.refused("ALREADY_EXISTS", "createQueue", createQueue, map[string]any{"name": "οδοσ", "channel": "VOICE"})
	e.refused("ALREADY_EXISTS", "createQueue", createQueue, map[string]any{"name": "SALES", "channel": "VOICE"})
	e.refused("ALREADY_EXISTS", "createCapacityProfile", createCapacity, map[string]any{"name": "STRASSE"})
	e.refused("ALREADY_EXISTS", "createAgent", createAgent, map[string]any{"name": "Émile", "email": "ÉMILE@example.fr"})
	e.refused("ALREADY_EXISTS", "createApiToken", createTokenName, map[string]any{"name": "OPS"})
	if _, n := e.auditLog(map[string]any{"action": "recomputeNameKeys"}); n != 1 {
		t.Errorf("%d recomputeNameKeys audit entries after the upgrade; want 1", n)
	}

	// A second start finds every key right and writes nothing.
	a, err := newApp(context.Background(), config{DatabaseURL: url}, e.app.log)
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	a.close()
	if _, n := e.auditLog(map[string]any{"action": "recomputeNameKeys"}); n != 1 {
		t.Errorf("%d recomputeNameKeys audit entries after a second start; want still 1", n)
	}
}

// TestStartRefusesCollidingNames: rows that were distinct under the old
// rule but are the same name under the new one stop the server at start,
// with a message naming both rows of every pair, and nothing is changed.
func TestStartRefusesCollidingNames(t *testing.T) {
	t.Parallel()
	url := writeLegacy(t, []legacyRow{
		legacyQueue("Σ", "σ", ""),
		legacyQueue("ς", "ς", ""),
		legacyQueue("Café", "café", ""),
		legacyQueue("Cafe\u0301", "cafe\u0301", ""),
		legacyCapacity("Night", "night"),
		legacyCapacity("Night\u200b", "night\u200b"),
		legacyToken("bootstrap"),
		legacyToken("Bootstrap"),
		legacyAgent("Ann", "straße@example.com"),
		legacyAgent("Ann too", "strasse@example.com"),
	})
	var stdout, stderr bytes.Buffer
	args := []string{"-database", url, "-listen", "127.0.0.1:0"}
	err := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
	if !errors.Is(err, calling.ErrNameCollision) {
		t.Fatalf("the server started (or failed otherwise: %v); want it to refuse colliding names", err)
	}
	for _, want := range []string{
		`queues 1 (name "Σ" = "\u03a3") and 2 (name "ς" = "\u03c2")`,
		"queues 3 (name \"Café\" = \"Caf\\u00e9\") and 4 (name \"Cafe\u0301\" = \"Cafe\\u0301\")",
		`capacity profiles 1 (name "Night") and 2 (name "Night\u200b")`,
		`API tokens 1 (name "bootstrap") and 2 (name "Bootstrap")`,
		`agents 1 (email "straße@example.com" = "stra\u00dfe@example.com") and 2 (email "strasse@example.com")`,
		"Rename or delete",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %s\ndoes not name %s", err, want)
		}
	}
	db, err := models.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var keys []string
	if err := db.Raw("SELECT name_key FROM queues ORDER BY id").Scan(&keys).Error; err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, "|") != "σ|ς|café|cafe\u0301" {
		t.Errorf("queue keys %q after the refused start; want them as they were", keys)
	}
	var audits int64
	if err := db.Table("audit_entries").Count(&audits).Error; err != nil || audits != 0 {
		t.Errorf("%d audit entries after the refused start (%v); want none", audits, err)
	}
}

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
