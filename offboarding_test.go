package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket/wsjson"

	"outdial/models"
)

const deleteAgentM = `mutation($id: ID!) { deleteAgent(input: {id: $id}) { deletedId userErrors { field message code } } }`

// abilityBody is the data of an agent.calling_ability.changed webhook as
// these tests read it.
type abilityBody struct {
	Type string
	Data struct {
		Agent struct{ ID, Email, Name string }
		// Deleted is a pointer: every event must carry it.
		Deleted      *bool
		Version      int
		CanMakeCalls bool
		CallerIDs    []json.RawMessage `json:"callerIds"`
		Blockers     []json.RawMessage
		Previous     *struct{ Version int }
	}
}

// abilityBodies decodes the ability webhooks rc received, in order.
func abilityBodies(t testing.TB, rc *hookReceiver) []abilityBody {
	t.Helper()
	var out []abilityBody
	for _, r := range rc.requests() {
		var b abilityBody
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatalf("webhook body %s: %v", r.Body, err)
		}
		if b.Type == "agent.calling_ability.changed" {
			out = append(out, b)
		}
	}
	return out
}

// TestDeleteAgent: deleteAgent tells the agent's apps once more (a last
// webhook with deleted: true, version + 1, canMakeCalls false, no caller
// IDs, no blockers, received and verified by both its own endpoint and an
// endpoint for every agent; the same last change on the subscription),
// revokes its AGENT tokens, releases its personal number (still
// registered), drops its memberships, writes an audit entry, and, once
// the deliveries are sent, leaves its name and email in no stored row of
// any table. Its email then makes a new agent (new ID, version 1).
func TestDeleteAgent(t *testing.T) {
	e := setup(t, allowLoopback, func(c *config) { c.PruneInterval = 50 * time.Millisecond })
	const name, email = "Zelda Quixotic-Offboard", "zelda.quixotic@example.com"
	personal := e.addNumberID("+12065550123", "MAKE_CALLS")
	outbound := e.addNumberID("+14255550100", "MAKE_CALLS")
	queue, capacity := e.queueID("Outbound sales", "VOICE"), e.capacityID("One at a time")
	e.profileID("Outbound sales", queue, capacity, []string{outbound}, true)
	zelda := e.createAgentID(name, email, true)
	other := e.createAgentID("Other Agent", "other@example.com", true)
	e.join(queue, capacity, zelda)
	e.assign(zelda, personal)
	_, appToken := e.token("zelda-app", "AGENT", zelda)

	own, all := newHookReceiver(t, nil), newHookReceiver(t, nil)
	e.createHook(appToken, own, map[string]any{"types": []string{"AGENT_CALLING_ABILITY_CHANGED"}})
	e.createHook("", all, nil)

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	conn := e.subscribe(ctx, e.admin, `subscription($id: ID) { callingAbilityChanged(agentId: $id) {
		deleted agent { id name email } current { version canMakeCalls callerIds { source } blockers { code } } } }`)
	type change struct {
		Deleted bool
		Agent   struct{ ID, Name, Email string }
		Current struct {
			Version      int
			CanMakeCalls bool
			CallerIDs    []any `json:"callerIds"`
			Blockers     []any
		}
	}
	changes := make(chan change, 100)
	go func() {
		defer close(changes)
		for {
			var msg wsMessage
			if err := wsjson.Read(ctx, conn, &msg); err != nil || msg.Type != "next" {
				return
			}
			var p struct {
				Data   struct{ CallingAbilityChanged change }
				Errors []any
			}
			if err := json.Unmarshal(msg.Payload, &p); err != nil || len(p.Errors) > 0 {
				t.Errorf("subscription payload %s: %v", msg.Payload, err)
				return
			}
			changes <- p.Data.CallingAbilityChanged
		}
	}()
	// The subscription is live once it sees a change: make some (the other
	// agent's routing, off and on) until one comes.
	unified := false
	waitUntil(t, "the subscription to see a change", waitTimeout, func() bool {
		e.mustMutate("updateAgent", updateAgentM, map[string]any{"id": other, "unified": unified}, nil)
		unified = !unified
		select {
		case <-changes:
			return true
		case <-time.After(100 * time.Millisecond):
			return false
		}
	})

	var before struct {
		Node struct{ CallingAbility struct{ Version int } }
	}
	e.query(`query($id: ID!) { node(id: $id) { ... on Agent { callingAbility { version } } } }`, map[string]any{"id": zelda}, &before)
	v := before.Node.CallingAbility.Version
	if v < 2 {
		t.Fatalf("zelda's version before deletion: %d; want 2 or more (created, then joined)", v)
	}

	var p struct{ DeletedID string }
	e.mustMutate("deleteAgent", deleteAgentM, map[string]any{"id": zelda}, &p)
	if p.DeletedID != zelda {
		t.Fatalf("deletedId %q; want %q", p.DeletedID, zelda)
	}

	// The last webhook, on both endpoints.
	for _, rc := range []*hookReceiver{own, all} {
		var bodies []abilityBody
		waitUntil(t, "the last webhook of the deleted agent", waitTimeout, func() bool {
			bodies = abilityBodies(t, rc)
			for _, b := range bodies {
				if b.Data.Agent.ID == zelda && b.Data.Deleted != nil && *b.Data.Deleted {
					return true
				}
			}
			return false
		})
		var last abilityBody
		for _, b := range bodies {
			if b.Data.Deleted == nil {
				t.Fatalf("a webhook without \"deleted\": %+v", b)
			}
			if b.Data.Agent.ID != zelda {
				continue
			}
			if b.Data.Version > last.Data.Version {
				last = b
			}
			if *b.Data.Deleted != (b.Data.Version == v+1) {
				t.Errorf("version %d has deleted: %v", b.Data.Version, *b.Data.Deleted)
			}
		}
		d := last.Data
		if !*d.Deleted || d.Version != v+1 || d.CanMakeCalls || len(d.CallerIDs) != 0 || len(d.Blockers) != 0 ||
			d.Previous == nil || d.Previous.Version != v || d.Agent.Email != email || d.Agent.Name != name {
			t.Errorf("last webhook %+v; want deleted, version %d, canMakeCalls false, no caller IDs, no blockers, previous %d, named as written", d, v+1, v)
		}
	}

	// The same last change on the subscription.
	waitUntil(t, "the last change on the subscription", waitTimeout, func() bool {
		c, ok := <-changes
		if !ok {
			t.Fatalf("the subscription ended before the last change")
		}
		if !c.Deleted {
			return false
		}
		if c.Agent.ID != zelda || c.Agent.Email != email || c.Current.Version != v+1 || c.Current.CanMakeCalls ||
			len(c.Current.CallerIDs) != 0 || len(c.Current.Blockers) != 0 {
			t.Errorf("last change on the subscription: %+v", c)
		}
		return true
	})

	// Its AGENT token no longer works.
	if r := e.do(appToken, `{ viewer { role } }`, nil); r.Status != http.StatusUnauthorized || r.code() != "UNAUTHENTICATED" {
		t.Errorf("the deleted agent's token: HTTP %d %s; want 401 UNAUTHENTICATED", r.Status, r.code())
	}
	// Its personal number is still registered and held by no one; it can
	// be assigned again.
	var num struct {
		Node struct {
			E164          string
			PersonalAgent *idOnly
		}
	}
	e.query(`query($id: ID!) { node(id: $id) { ... on PhoneNumber { e164 personalAgent { id } } } }`, map[string]any{"id": personal}, &num)
	if num.Node.E164 != "+12065550123" || num.Node.PersonalAgent != nil {
		t.Errorf("personal number after deletion: %+v; want registered, held by no one", num.Node)
	}
	e.mustMutate("updateAgent", updateAgentM, map[string]any{"id": other, "unified": true}, nil)
	e.assign(other, personal)
	// Its memberships are gone.
	var counts struct {
		Q  struct{ AgentCount int }
		CP struct{ AgentCount int }
	}
	e.query(`query($q: ID!, $cp: ID!) { q: node(id: $q) { ... on Queue { agentCount } } cp: node(id: $cp) { ... on CapacityProfile { agentCount } } }`,
		map[string]any{"q": queue, "cp": capacity}, &counts)
	if counts.Q.AgentCount != 0 || counts.CP.AgentCount != 0 {
		t.Errorf("members after deletion: queue %d, capacity profile %d; want 0", counts.Q.AgentCount, counts.CP.AgentCount)
	}
	// The maintained counts follow.
	var summary struct {
		CallingSummary struct{ Agents, AgentsCanMakeCalls int }
	}
	e.query(`{ callingSummary { agents agentsCanMakeCalls } }`, nil, &summary)
	var direct struct{ Agents, CanCall int64 }
	if err := e.app.db.Raw(`SELECT (SELECT COUNT(*) FROM agents) AS agents,
		(SELECT COUNT(*) FROM calling_abilities WHERE can_make_calls = ?) AS can_call`, true).Scan(&direct).Error; err != nil {
		t.Fatal(err)
	}
	if int64(summary.CallingSummary.Agents) != direct.Agents || int64(summary.CallingSummary.AgentsCanMakeCalls) != direct.CanCall || direct.Agents != 1 {
		t.Errorf("callingSummary %+v after deletion; the tables say %+v (want 1 agent)", summary.CallingSummary, direct)
	}
	// Deleted, it is not found.
	if errs := e.mutate("deleteAgent", deleteAgentM, map[string]any{"id": zelda}, nil); len(errs) != 1 || errs[0].Code != "NOT_FOUND" {
		t.Errorf("deleting it again: %+v; want NOT_FOUND", errs)
	}
	// The audit entry.
	entries, _ := e.auditLog(map[string]any{"action": "deleteAgent"})
	if len(entries) != 1 || entries[0].TargetID == nil || *entries[0].TargetID != zelda {
		t.Fatalf("audit entries of deleteAgent: %+v; want one about %s", entries, zelda)
	}

	// Its name and email leave every stored row.
	var hits []string
	waitUntil(t, "the deleted agent's name and email gone from every stored row", waitTimeout, func() bool {
		hits = storedTextContaining(t, e.app.db, strings.ToLower(name), strings.ToLower(email))
		return len(hits) == 0
	})

	// Its email makes a new agent.
	var up struct{ Agents []struct{ ID, Email string } }
	e.mustMutate("upsertAgents", upsertAgentsM, map[string]any{"agents": []map[string]any{
		{"name": name, "email": email, "unifiedRoutingEnabled": true}}}, &up)
	if len(up.Agents) != 1 || up.Agents[0].ID == zelda {
		t.Fatalf("upsertAgents with the deleted agent's email: %+v; want a new agent", up.Agents)
	}
	var again struct {
		Node struct{ CallingAbility struct{ Version int } }
	}
	e.query(`query($id: ID!) { node(id: $id) { ... on Agent { callingAbility { version } } } }`, map[string]any{"id": up.Agents[0].ID}, &again)
	if again.Node.CallingAbility.Version != 1 {
		t.Errorf("the new agent's version: %d; want 1", again.Node.CallingAbility.Version)
	}
}

// storedTextContaining returns "table.column" for every text column of
// every table of db in which some row contains one of needles (lower
// case), compared in lower case.
func storedTextContaining(t testing.TB, db *models.DB, needles ...string) []string {
	t.Helper()
	type column struct{ Tbl, Col string }
	var cols []column
	if db.Dialect == models.MySQL {
		err := db.Raw(`SELECT table_name AS tbl, column_name AS col FROM information_schema.columns
			WHERE table_schema = DATABASE() AND data_type IN ('char', 'varchar', 'text', 'mediumtext', 'longtext', 'tinytext')`).
			Scan(&cols).Error
		if err != nil {
			t.Fatal(err)
		}
	} else {
		var tables []string
		if err := db.Raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").Scan(&tables).Error; err != nil {
			t.Fatal(err)
		}
		for _, table := range tables {
			var info []struct{ Name, Type string }
			if err := db.Raw(fmt.Sprintf("SELECT name, type FROM pragma_table_info('%s')", table)).Scan(&info).Error; err != nil {
				t.Fatal(err)
			}
			for _, c := range info {
				if ty := strings.ToUpper(c.Type); strings.Contains(ty, "TEXT") || strings.Contains(ty, "CHAR") {
					cols = append(cols, column{table, c.Name})
				}
			}
		}
	}
	if len(cols) < 20 {
		t.Fatalf("found %d text columns; the query over the tables is wrong", len(cols))
	}
	var hits []string
	for _, c := range cols {
		for _, n := range needles {
			var count int64
			q := fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE LOWER(%s) LIKE ?", c.Tbl, c.Col)
			if err := db.Raw(q, "%"+n+"%").Scan(&count).Error; err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if count > 0 {
				hits = append(hits, fmt.Sprintf("%s.%s (%q, %d rows)", c.Tbl, c.Col, n, count))
			}
		}
	}
	return hits
}
