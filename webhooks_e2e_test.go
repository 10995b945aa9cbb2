package main

import (
	"encoding/json"
	"testing"
	"time"

	"outdial/internal/testenv"
)

// allowLoopback lets webhooks reach the test receivers on 127.0.0.1.
var allowLoopback = testenv.AllowLoopback

const createEndpoint = `mutation($url: String!, $types: [WebhookEventType!], $agents: [ID!]) {
	createWebhookEndpoint(input: {url: $url, eventTypes: $types, agentIds: $agents}) {
		webhookEndpoint { id url enabled eventTypes } secret userErrors { field message code } } }`

// TestWebhookAbilityChange checks the whole path: a mutation changes an
// agent's ability, and a receiver gets a signed body as docs/domain.md,
// "Webhooks", says.
func TestWebhookAbilityChange(t *testing.T) {
	e := setup(t, allowLoopback)
	rcv := newHookReceiver(t, nil)
	var ep struct {
		WebhookEndpoint struct{ ID string }
		Secret          string
	}
	e.mustMutate("createWebhookEndpoint", createEndpoint, map[string]any{"url": rcv.url("/hook")}, &ep)
	rcv.setSecrets(ep.Secret)

	aiko := e.createAgentID("Aiko Tanaka", "aiko@example.com", true)
	got := rcv.waitRequests(1)
	var body struct {
		Type      string
		Timestamp string
		Data      struct {
			Agent        struct{ ID, Email, Name string }
			Version      int
			CanMakeCalls bool
			CallerIds    []any
			Blockers     []struct{ Code string }
			Previous     *struct{ Version int }
		}
	}
	if err := json.Unmarshal(got[0].Body, &body); err != nil {
		t.Fatalf("body %s: %v", got[0].Body, err)
	}
	if body.Type != "agent.calling_ability.changed" || body.Data.Agent.ID != aiko || body.Data.Agent.Email != "aiko@example.com" ||
		body.Data.Version != 1 || body.Data.CanMakeCalls || body.Data.Previous != nil ||
		len(body.Data.Blockers) != 1 || body.Data.Blockers[0].Code != "NO_OUTBOUND_PROFILE" {
		t.Fatalf("body = %s", got[0].Body)
	}
	if _, err := time.Parse(time.RFC3339, body.Timestamp); err != nil {
		t.Errorf("timestamp %q: %v", body.Timestamp, err)
	}
	if ct := got[0].Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content-type %q", ct)
	}

	e.mustMutate("updateAgent", `mutation($id: ID!) { updateAgent(input: {id: $id, unifiedRoutingEnabled: false}) { userErrors { code } } }`,
		map[string]any{"id": aiko}, nil)
	got = rcv.waitRequests(2)
	if err := json.Unmarshal(got[1].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Data.Version != 2 || body.Data.Previous == nil || body.Data.Previous.Version != 1 {
		t.Fatalf("second body = %s", got[1].Body)
	}

	var deliveries struct {
		WebhookDeliveries struct {
			TotalCount int
			Nodes      []struct {
				Status       string
				AttemptCount int
				Attempts     []struct{ StatusCode *int }
				Event        struct{ MessageID, Type, Payload string }
				Endpoint     struct{ ID string }
			}
		}
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		e.query(`{ webhookDeliveries(first: 10) { totalCount nodes { status attemptCount attempts { statusCode }
			event { messageId type payload } endpoint { id } } } }`, nil, &deliveries)
		if deliveries.WebhookDeliveries.Nodes[0].Status == "SUCCEEDED" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	d := deliveries.WebhookDeliveries
	if d.TotalCount != 2 || d.Nodes[0].Status != "SUCCEEDED" || d.Nodes[0].AttemptCount != 1 ||
		len(d.Nodes[0].Attempts) != 1 || d.Nodes[0].Attempts[0].StatusCode == nil || *d.Nodes[0].Attempts[0].StatusCode != 204 ||
		d.Nodes[0].Event.MessageID != got[1].ID || d.Nodes[0].Event.Payload != string(got[1].Body) || d.Nodes[0].Endpoint.ID != ep.WebhookEndpoint.ID {
		t.Fatalf("deliveries = %+v", d)
	}
}
