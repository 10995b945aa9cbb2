package calling_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"outdial/calling"
	"outdial/models"
	"outdial/models/dbtest"
)

// Rows written before the name rule (migration 00004) keep their texts;
// RekeyNames, which the server runs at start after migrating, recomputes
// their keys, and refuses when two of them are the same name under the
// rule. (That the server runs it at start: TestStartRefusesCollidingNames
// in package main.)

// The statements of a version before 00004: keys were strings.ToLower of
// the name, emails and token names had none.
func legacyQueue(name, key, desc string) dbtest.Statement {
	return dbtest.Statement{SQL: "INSERT INTO queues (name, name_key, channel, description, created_at, updated_at) VALUES (?, ?, 'VOICE', ?, ?, ?)",
		Args: []any{name, key, desc, models.Now(), models.Now()}}
}

func legacyCapacity(name, key string) dbtest.Statement {
	return dbtest.Statement{SQL: `INSERT INTO capacity_profiles (name, name_key, work_item_limit, reset_frequency, block_assignment, created_at, updated_at)
		VALUES (?, ?, 1, 'IMMEDIATE', false, ?, ?)`, Args: []any{name, key, models.Now(), models.Now()}}
}

func legacyAgent(name, email string) dbtest.Statement {
	return dbtest.Statement{SQL: "INSERT INTO agents (name, email, unified_routing_enabled, created_at, updated_at) VALUES (?, ?, true, ?, ?)",
		Args: []any{name, email, models.Now(), models.Now()}}
}

func legacyToken(name string) dbtest.Statement {
	return dbtest.Statement{SQL: "INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES (?, 'VIEWER', ?, ?)",
		Args: []any{name, calling.HashToken("odt_" + name), models.Now()}}
}

func legacyNumber(e164, label string) dbtest.Statement {
	return dbtest.Statement{SQL: `INSERT INTO phone_numbers (e164, country_code, type, label, receive_calls, make_calls, created_at, updated_at)
		VALUES (?, 'US', 'GEOGRAPHIC', ?, true, false, ?, ?)`, Args: []any{e164, label, models.Now(), models.Now()}}
}

// legacyWorld is a world on a database that a version before 00004 wrote
// with rows, migrated to the newest version as the server does at start
// (RekeyNames not yet run).
func legacyWorld(t *testing.T, rows ...dbtest.Statement) *world {
	t.Helper()
	db, err := models.Open(dbtest.AtVersion(t, 3, rows...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	return worldOn(t, db)
}

// TestRekeyNamesRecomputesKeys: after an upgrade, old rows are found and
// kept unique under the rule, as new ones are; running it again writes
// nothing.
func TestRekeyNamesRecomputesKeys(t *testing.T) {
	t.Parallel()
	w := legacyWorld(t,
		legacyQueue("ΟΔΟΣ", "οδος", "Main Road"),
		legacyQueue("Sales\u200b", "sales\u200b", ""),
		legacyCapacity("Straße", "straße"),
		legacyAgent("Émile Zola", "e\u0301mile@example.fr"),
		legacyToken("ops"),
		legacyNumber("+14255550100", "Re\u0301ception"),
	)
	w.must(w.svc.RekeyNames(w.ctx))
	queues := func(search string) []string {
		var out []string
		for _, q := range page(w, w.svc.Queues(w.ctx, calling.QueueFilter{Search: &search})) {
			out = append(out, q.Name)
		}
		return out
	}
	agents := func(search string) []string {
		var out []string
		for _, a := range page(w, w.svc.Agents(w.ctx, calling.AgentFilter{Search: &search})) {
			out = append(out, a.Name)
		}
		return out
	}
	numbers := func(search string) []string {
		var out []string
		for _, n := range page(w, w.svc.PhoneNumbers(w.ctx, calling.PhoneNumberFilter{Search: &search})) {
			out = append(out, n.E164)
		}
		return out
	}
	byEmail := func(email string) []string {
		if a := res(w.svc.AgentByEmail(w.ctx, email)).must(w); a != nil {
			return []string{a.Name}
		}
		return nil
	}
	checks := []struct {
		name, in, want string
		find           func(string) []string
	}{
		{"queue by name in another case", "οδοσ", "ΟΔΟΣ", queues},
		{"queue by description", "ROAD", "ΟΔΟΣ", queues},
		{"queue without its invisible character", "sales", "Sales\u200b", queues},
		{"agent by name", "ÉMILE", "Émile Zola", agents},
		{"agent by email", "ÉMILE@EXAMPLE.FR", "Émile Zola", byEmail},
		{"number by label", "RÉCEPTION", "+14255550100", numbers},
	}
	for _, c := range checks {
		if got := c.find(c.in); len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: %q finds %q; want %q", c.name, c.in, got, c.want)
		}
	}
	refusals := []struct {
		name   string
		create func() error
	}{
		{"queue οδοσ", func() error { return w.createQueue("οδοσ") }},
		{"queue SALES", func() error { return w.createQueue("SALES") }},
		{"capacity profile STRASSE", func() error { return w.createCapacity("STRASSE") }},
		{"agent ÉMILE@example.fr", func() error { return w.createAgent("Émile", "ÉMILE@example.fr") }},
		{"token OPS", func() error { return w.createToken("OPS") }},
	}
	for _, r := range refusals {
		w.refused(calling.CodeAlreadyExists, r.name, r.create)
	}
	recomputed := func() int {
		action := "recomputeNameKeys"
		return res(w.svc.AuditLog(w.ctx, calling.AuditFilter{Action: &action}).Count()).must(w)
	}
	if n := recomputed(); n != 1 {
		t.Errorf("%d recomputeNameKeys audit entries after the upgrade; want 1", n)
	}
	// Run again (a second start), it finds every key right and writes nothing.
	w.must(w.svc.RekeyNames(w.ctx))
	if n := recomputed(); n != 1 {
		t.Errorf("%d recomputeNameKeys audit entries after a second run; want still 1", n)
	}
}

// TestRekeyNamesRefusesCollisions: rows that were distinct under the old
// rule but are the same name under the new one are refused with
// ErrNameCollision, naming both rows of every pair, and nothing is
// changed.
func TestRekeyNamesRefusesCollisions(t *testing.T) {
	t.Parallel()
	w := legacyWorld(t,
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
	)
	err := w.svc.RekeyNames(w.ctx)
	if !errors.Is(err, calling.ErrNameCollision) {
		t.Fatalf("RekeyNames: %v; want it to refuse colliding names", err)
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
	var keys []string
	w.must(w.db.Raw("SELECT name_key FROM queues ORDER BY id").Scan(&keys).Error)
	if strings.Join(keys, "|") != "σ|ς|café|cafe\u0301" {
		t.Errorf("queue keys %q after the refusal; want them as they were", keys)
	}
	if n := w.count("audit_entries", ""); n != 0 {
		t.Errorf("%d audit entries after the refusal; want none", n)
	}
}
