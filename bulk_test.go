package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// bulkAgents is the number of agents of BenchmarkTenThousandAgentsToWebhooks
// (calling's TestTenThousandAgents checks the same scale on the service).
const bulkAgents = 10000

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
