package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"outdial/calling"
	"outdial/models"
	"outdial/models/dbtest"
)

// The server runs calling's RekeyNames when it starts, after migrating:
// rows written before the name rule (migration 00004) get their keys, and
// rows that collide under it stop the start. What RekeyNames does is
// tested on the service (calling/rekey_test.go); these tests check that
// the program runs it.

// legacyQueue is a queue as a version before 00004 wrote it: its key was
// strings.ToLower of the name.
func legacyQueue(name, key string) dbtest.Statement {
	return dbtest.Statement{SQL: "INSERT INTO queues (name, name_key, channel, created_at, updated_at) VALUES (?, ?, 'VOICE', ?, ?)",
		Args: []any{name, key, models.Now(), models.Now()}}
}

// TestStartRecomputesNameKeys: after an upgrade, an old row is found under
// the rule, with one audit entry of the recomputation; a second start
// writes nothing.
func TestStartRecomputesNameKeys(t *testing.T) {
	t.Parallel()
	url := dbtest.AtVersion(t, 3, legacyQueue("ΟΔΟΣ", "οδος"))
	e := setup(t, func(c *config) { c.DatabaseURL = url })
	var data struct {
		Queues struct{ Nodes []struct{ Name string } }
	}
	e.query(`{ queues(filter: {search: "οδοσ"}) { nodes { name } } }`, nil, &data)
	if len(data.Queues.Nodes) != 1 || data.Queues.Nodes[0].Name != "ΟΔΟΣ" {
		t.Errorf("search οδοσ finds %+v; want ΟΔΟΣ", data.Queues.Nodes)
	}
	if _, n := e.auditLog(map[string]any{"action": "recomputeNameKeys"}); n != 1 {
		t.Errorf("%d recomputeNameKeys audit entries after the upgrade; want 1", n)
	}
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
// with a message naming both rows, and nothing is changed.
func TestStartRefusesCollidingNames(t *testing.T) {
	t.Parallel()
	url := dbtest.AtVersion(t, 3, legacyQueue("Σ", "σ"), legacyQueue("ς", "ς"))
	var stdout, stderr bytes.Buffer
	args := []string{"-database", url, "-listen", "127.0.0.1:0"}
	err := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
	if !errors.Is(err, calling.ErrNameCollision) {
		t.Fatalf("the server started (or failed otherwise: %v); want it to refuse colliding names", err)
	}
	if want := `queues 1 (name "Σ" = "\u03a3") and 2 (name "ς" = "\u03c2")`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %s\ndoes not name %s", err, want)
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
	if strings.Join(keys, "|") != "σ|ς" {
		t.Errorf("queue keys %q after the refused start; want them as they were", keys)
	}
	var audits int64
	if err := db.Table("audit_entries").Count(&audits).Error; err != nil || audits != 0 {
		t.Errorf("%d audit entries after the refused start (%v); want none", audits, err)
	}
}
