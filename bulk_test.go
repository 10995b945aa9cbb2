package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// bulkAgents is the number of agents of TestTenThousandAgents.
const bulkAgents = 10000

// abilityState is what TestTenThousandAgents reads of every agent at once.
type abilityState struct {
	versions map[int64]int64
	canCall  int
}

func (e *testEnv) abilityState() abilityState {
	e.t.Helper()
	var rows []struct {
		AgentID      int64
		Version      int64
		CanMakeCalls bool
	}
	if err := e.app.db.Table("calling_abilities").Select("agent_id, version, can_make_calls").Scan(&rows).Error; err != nil {
		e.t.Fatalf("read abilities: %v", err)
	}
	st := abilityState{versions: make(map[int64]int64, len(rows))}
	for _, r := range rows {
		st.versions[r.AgentID] = r.Version
		if r.CanMakeCalls {
			st.canCall++
		}
	}
	return st
}

// maxEventID returns the ID of the newest stored webhook event (0: none).
func (e *testEnv) maxEventID() int64 {
	e.t.Helper()
	var id *int64
	if err := e.app.db.Table("webhook_events").Select("MAX(id)").Scan(&id).Error; err != nil {
		e.t.Fatalf("read events: %v", err)
	}
	if id == nil {
		return 0
	}
	return *id
}

// checkBulkChange checks that one mutation (the newest audit entry is its
// only one) raised the version of every agent by exactly one and recorded
// exactly one agent.calling_ability.changed event per agent.
func (e *testEnv) checkBulkChange(action string, before abilityState, eventsBefore int64, auditBefore int, wantCanCall int) {
	e.t.Helper()
	after := e.abilityState()
	if len(after.versions) != bulkAgents {
		e.t.Fatalf("%d stored abilities, want %d", len(after.versions), bulkAgents)
	}
	for id, v := range after.versions {
		if v != before.versions[id]+1 {
			e.t.Fatalf("%s: agent %d went from version %d to %d, want +1", action, id, before.versions[id], v)
		}
	}
	if after.canCall != wantCanCall {
		e.t.Fatalf("%s: %d agents can call, want %d", action, after.canCall, wantCanCall)
	}
	var events []struct {
		AgentID int64
		Version int64
	}
	if err := e.app.db.Table("webhook_events").Select("agent_id, version").
		Where("id > ? AND type = ?", eventsBefore, "agent.calling_ability.changed").Scan(&events).Error; err != nil {
		e.t.Fatal(err)
	}
	seen := make(map[int64]bool, len(events))
	for _, ev := range events {
		if seen[ev.AgentID] || ev.Version != after.versions[ev.AgentID] {
			e.t.Fatalf("%s: event for agent %d version %d (stored %d, seen before: %v)", action, ev.AgentID, ev.Version, after.versions[ev.AgentID], seen[ev.AgentID])
		}
		seen[ev.AgentID] = true
	}
	if len(events) != bulkAgents {
		e.t.Fatalf("%s recorded %d ability events, want %d", action, len(events), bulkAgents)
	}
	entries, total := e.auditLog(nil)
	if total != auditBefore+1 || entries[0].Action != action {
		e.t.Fatalf("%s: %d audit entries after it (newest %+v), want %d", action, total, entries[0], auditBefore+1)
	}
}

// bulkSetup creates bulkAgents agents, all in one voice queue and one
// capacity profile, and a number with MAKE_CALLS; no outbound profile
// ties them together yet.
func (e *testEnv) bulkSetup() (number, queue, capacity string) {
	e.t.Helper()
	number = e.addNumberID("+1 425 555 0100", "RECEIVE_CALLS", "MAKE_CALLS")
	queue, capacity = e.queueID("Outbound", "VOICE"), e.capacityID("Voice")
	for batch := 0; batch < bulkAgents/1000; batch++ {
		entries := make([]map[string]any, 1000)
		for i := range entries {
			n := batch*1000 + i
			entries[i] = map[string]any{"name": fmt.Sprintf("Agent %05d", n), "email": fmt.Sprintf("agent%05d@example.com", n)}
		}
		var out struct{ Agents []idOnly }
		e.mustMutate("upsertAgents", `mutation($agents: [CreateAgentInput!]!) { upsertAgents(input: {agents: $agents}) { agents { id } userErrors { field message code } } }`,
			map[string]any{"agents": entries}, &out)
		ids := make([]string, len(out.Agents))
		for i, a := range out.Agents {
			ids[i] = a.ID
		}
		e.join(queue, capacity, ids...)
	}
	return number, queue, capacity
}

// BenchmarkTenThousandAgentsToWebhooks measures the targets of
// docs/design.md, "Performance targets", for one mutation that changes the
// ability of 10,000 agents: the change under 1 s, and all 10,000 webhooks
// received by a local receiver within 10 s: each iteration
// downgrades or upgrades the only number of the profile that holds 10,000
// agents, then waits until a receiver has verified the signature of a
// webhook for each of them. It reports the seconds from sending the
// mutation to the last webhook.
func BenchmarkTenThousandAgentsToWebhooks(b *testing.B) {
	e := setup(b, allowLoopback)
	number, q, cp := e.bulkSetup()
	var received atomic.Int64
	var secret atomic.Value
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		wh, err := standardwebhooks.NewWebhook(secret.Load().(string))
		if err == nil {
			err = wh.Verify(body, r.Header)
		}
		if err != nil {
			b.Errorf("receiver: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	var ep struct{ Secret string }
	e.mustMutate("createWebhookEndpoint", createEndpoint, map[string]any{"url": rcv.URL, "types": []string{"AGENT_CALLING_ABILITY_CHANGED"}}, &ep)
	secret.Store(ep.Secret)
	e.mustMutate("createOutboundProfile", createProfile, map[string]any{"name": "Outbound", "q": q, "cp": cp, "nums": []string{number}}, nil)
	waitFor := func(n int64) {
		deadline := time.Now().Add(2 * time.Minute)
		for received.Load() < n {
			if time.Now().After(deadline) {
				b.Fatalf("received %d webhooks, want %d", received.Load(), n)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	waitFor(bulkAgents)

	b.ResetTimer()
	for i := range b.N {
		action, mutation := "downgradeCallingPlan", downgrade
		if i%2 == 1 {
			action, mutation = "upgradeCallingPlan", upgrade
		}
		e.mustMutate(action, mutation, map[string]any{"id": number, "caps": []string{"MAKE_CALLS"}}, nil)
		waitFor(int64(bulkAgents * (i + 2)))
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s-to-last-webhook")
	b.ReportMetric(0, "ns/op")
}

// TestTenThousandAgents changes the ability of 10,000 agents in one
// mutation, three times (the outbound profile that holds them all is
// created, its only number downgraded, then upgraded again), and checks
// that each is one transaction: one audit entry, every version +1, one
// agent.calling_ability.changed event per agent. A refusal on the same
// scale writes nothing, and a downgrade whose client gives up halfway
// happens whole or not at all. Skipped with -short.
func TestTenThousandAgents(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 agents: skipped with -short")
	}
	t.Parallel()
	// Under the race detector, on MariaDB, on a loaded 2-core machine, one
	// of these commands took more than the 30 s deadline of production
	// requests: this test checks that each is one transaction, the
	// benchmarks measure their speed.
	e := setup(t, requestTimeout(3*time.Minute))
	start := time.Now()
	number, q, cp := e.bulkSetup()
	t.Logf("setup: %d agents in a queue and a capacity profile in %v", bulkAgents, time.Since(start).Round(time.Millisecond))

	var took time.Duration
	timed := func(what string, f func()) {
		t.Helper()
		start := time.Now()
		f()
		took = time.Since(start)
		t.Logf("%s for %d agents: %v", what, bulkAgents, took.Round(time.Millisecond))
	}
	bulk := func(action, query string, vars map[string]any, wantCanCall int) {
		t.Helper()
		before, events := e.abilityState(), e.maxEventID()
		_, audits := e.auditLog(nil)
		timed(action, func() { e.mustMutate(action, query, vars, nil) })
		e.checkBulkChange(action, before, events, audits, wantCanCall)
	}

	bulk("createOutboundProfile", createProfile, map[string]any{"name": "Outbound", "q": q, "cp": cp, "nums": []string{number}, "def": true}, bulkAgents)
	bulk("downgradeCallingPlan", downgrade, map[string]any{"id": number, "caps": []string{"MAKE_CALLS"}}, 0)
	bulk("upgradeCallingPlan", upgrade, map[string]any{"id": number, "caps": []string{"MAKE_CALLS"}}, bulkAgents)
	cutOff := took / 2

	// A refusal on the same scale writes nothing.
	timed("refused deleteCapacityProfile", func() {
		e.refused("IN_USE", "deleteCapacityProfile", deleteCapacity, map[string]any{"id": cp})
	})

	// A client that gives up halfway through the same downgrade: it happened
	// whole or not at all.
	before, events := e.abilityState(), e.maxEventID()
	_, audits := e.auditLog(nil)
	served := e.graphqlRequestsServed()
	ctx, cancel := context.WithTimeout(context.Background(), cutOff)
	defer cancel()
	body, _ := json.Marshal(map[string]any{"query": downgrade, "variables": map[string]any{"id": number, "caps": []string{"MAKE_CALLS"}}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.admin)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Logf("the downgrade answered HTTP %d within %v", resp.StatusCode, cutOff)
	}
	deadline := time.Now().Add(60 * time.Second)
	for e.graphqlRequestsServed() == served { // the server is done with it: committed or rolled back
		if time.Now().After(deadline) {
			t.Fatalf("the server never finished the cancelled request")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, n := e.auditLog(nil); n > audits {
		t.Logf("the cut-off downgrade had committed before the cancellation reached it")
		e.checkBulkChange("downgradeCallingPlan", before, events, audits, 0)
	} else {
		t.Logf("the cut-off downgrade was rolled back")
		after := e.abilityState()
		for id, v := range after.versions {
			if v != before.versions[id] {
				t.Fatalf("a rolled-back mutation changed agent %d from version %d to %d", id, before.versions[id], v)
			}
		}
		if after.canCall != bulkAgents || e.maxEventID() != events {
			t.Fatalf("a rolled-back mutation left %d agents able to call and events up to %d (from %d)", after.canCall, e.maxEventID(), events)
		}
	}
	t.Logf("whole test: %v", time.Since(start).Round(time.Millisecond))
}

// graphqlRequestsServed returns how many /graphql requests the server has
// finished, from /metrics.
func (e *testEnv) graphqlRequestsServed() int {
	e.t.Helper()
	status, body := e.get("/metrics", "")
	if status != http.StatusOK {
		e.t.Fatalf("GET /metrics: HTTP %d", status)
	}
	total := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "outdial_http_requests_total{") && strings.Contains(line, `route="/graphql"`) {
			fields := strings.Fields(line)
			n, err := strconv.ParseFloat(fields[len(fields)-1], 64)
			if err != nil {
				e.t.Fatalf("metrics line %q: %v", line, err)
			}
			total += int(n)
		}
	}
	return total
}
