package resolvers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"outdial/calling"
	"outdial/internal/hooktest"
	"outdial/internal/server"
	"outdial/internal/testenv"
)

const recoverM = `mutation($id: ID!, $since: Time!) { recoverWebhookDeliveries(input: {endpointId: $id, since: $since}) {
	queued superseded userErrors { field message code } } }`

// recovered is recoverWebhookDeliveries' payload.
type recovered struct{ Queued, Superseded int }

// agentVersion names one state of one agent's ability.
type agentVersion struct {
	agent   string
	version int
}

// abilityOf reads the agent and version of an ability webhook's body.
func abilityOf(t *testing.T, body []byte) agentVersion {
	t.Helper()
	var b struct {
		Data struct {
			Agent   struct{ ID string }
			Version int
		}
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Data.Agent.ID == "" {
		t.Fatalf("not an ability webhook: %s (%v)", body, err)
	}
	return agentVersion{b.Data.Agent.ID, b.Data.Version}
}

// TestWebhookRecoverAfterReceiverOutage (issue 8 §3, acceptance 4): a
// receiver down while agents change, with a short retry schedule, leaves
// every delivery FAILED; once it is back, one recoverWebhookDeliveries
// brings every agent's newest state to it, exactly once (and no older
// one). A second recover queues nothing, and redelivering an old version
// answers SUPERSEDED at once and sends nothing.
func TestWebhookRecoverAfterReceiverOutage(t *testing.T) {
	t.Parallel()
	// The receiver's failures open the endpoint's breaker, which lets one
	// attempt through at a time: with the default poll of a second, the
	// 48 attempts that fail every delivery took 23 s.
	e := testenv.Setup(t, testenv.AllowLoopback, retrySchedule(50*time.Millisecond),
		func(c *server.Config) { c.WebhookPollInterval = 20 * time.Millisecond })
	var up atomic.Bool
	rc := hooktest.New(t, hooktest.Options{Answer: func(w http.ResponseWriter, _ *http.Request, _ hooktest.Request) {
		if up.Load() {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}})
	ep, _ := e.CreateHook("", rc, nil)
	since := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)

	// 12 agents; agent i changes i%3 more times (versions 1 to 1+i%3).
	const agents = 12
	newest := map[string]int{}
	total := 0
	for i := range agents {
		id := e.CreateAgentID(fmt.Sprintf("Agent %d", i), fmt.Sprintf("a%d@example.com", i), true)
		newest[id] = 1
		for k := range i % 3 {
			e.MustMutate("updateAgent", testenv.UpdateAgent, map[string]any{"id": id, "unified": k%2 == 1}, nil)
			newest[id]++
		}
		total += newest[id]
	}
	failed := e.SettledDeliveries(ep.ID, total, func(d testenv.DeliveryNode) bool { return d.Status == "FAILED" })
	sentBefore := len(rc.Answered())

	up.Store(true)
	var got recovered
	e.MustMutate("recoverWebhookDeliveries", recoverM, map[string]any{"id": ep.ID, "since": since}, &got)
	if got.Queued != agents || got.Superseded != total-agents {
		t.Fatalf("recover: queued %d, superseded %d; want %d and %d", got.Queued, got.Superseded, agents, total-agents)
	}
	e.SettledDeliveries(ep.ID, total+agents, func(d testenv.DeliveryNode) bool { return d.Status == "FAILED" || d.Status == "SUCCEEDED" })
	received := map[agentVersion]int{}
	for _, r := range rc.Answered()[sentBefore:] {
		if r.Status/100 == 2 {
			received[abilityOf(t, r.Body)]++
		}
	}
	for id, v := range newest {
		if n := received[agentVersion{id, v}]; n != 1 {
			t.Errorf("agent %s: its newest version %d received %d times, want once", id, v, n)
		}
	}
	if len(received) != agents {
		t.Errorf("received %d distinct states after the recover, want the %d newest: %v", len(received), agents, received)
	}

	// Again: every newest state reached the endpoint, nothing to queue.
	e.MustMutate("recoverWebhookDeliveries", recoverM, map[string]any{"id": ep.ID, "since": since}, &got)
	if got.Queued != 0 || got.Superseded != total {
		t.Errorf("second recover: queued %d, superseded %d; want 0 and %d", got.Queued, got.Superseded, total)
	}
	// An old version redelivered is SUPERSEDED at once.
	var old testenv.DeliveryNode
	for _, d := range failed {
		if av := abilityOf(t, []byte(d.Event.Payload)); av.version < newest[av.agent] {
			old = d
			break
		}
	}
	var p struct{ WebhookDelivery struct{ ID, Status string } }
	e.MustMutate("redeliverWebhook", testenv.Redeliver, map[string]any{"id": old.ID}, &p)
	if p.WebhookDelivery.Status != "SUPERSEDED" {
		t.Errorf("redelivery of an old version: %s, want SUPERSEDED", p.WebhookDelivery.Status)
	}
	sent := len(rc.Answered())
	e.SettledDeliveries(ep.ID, total+agents+1, func(d testenv.DeliveryNode) bool { return d.Status != "PENDING" })
	if n := len(rc.Answered()); n != sent {
		t.Errorf("%d requests after the SUPERSEDED redelivery, want none", n-sent)
	}
}

// TestWebhookRecoverRefusals: recoverWebhookDeliveries is refused, with
// nothing written, for an unknown endpoint, a disabled one, and an AGENT
// token's look at an endpoint that is not its own.
func TestWebhookRecoverRefusals(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t, testenv.AllowLoopback)
	rc := hooktest.New(t, hooktest.Options{Answer: hooktest.Status(http.StatusNoContent)})
	ep, _ := e.CreateHook("", rc, nil)
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)
	e.Refused("NOT_FOUND", "recoverWebhookDeliveries", recoverM, map[string]any{"id": calling.GlobalID(calling.KindWebhookEndpoint, 99999), "since": since})
	e.MustMutate("updateWebhookEndpoint", `mutation($id: ID!) { updateWebhookEndpoint(input: {id: $id, enabled: false}) {
		userErrors { field message code } } }`, map[string]any{"id": ep.ID}, nil)
	e.Refused("INVALID_INPUT", "recoverWebhookDeliveries", recoverM, map[string]any{"id": ep.ID, "since": since})
	agent := e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	_, tok := e.Token("Aiko's app", "AGENT", agent)
	e.RefusedAs(tok, "OUT_OF_SCOPE", "recoverWebhookDeliveries", recoverM, map[string]any{"id": ep.ID, "since": since})
}
