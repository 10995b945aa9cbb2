package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// receiver is a webhook endpoint in a test: it verifies every request's
// signature with the Standard Webhooks library and keeps what it got.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	got    []received
	signal chan struct{}
}

// received is one verified request.
type received struct {
	ID      string
	Headers http.Header
	Body    []byte
	At      time.Time
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, signal: make(chan struct{}, 1000)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setSecret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = s
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	secret := r.secret
	r.mu.Unlock()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err == nil {
		err = wh.Verify(body, req.Header)
	}
	if err != nil {
		r.t.Errorf("receiver: bad signature for %s: %v", req.Header.Get("webhook-id"), err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.got = append(r.got, received{ID: req.Header.Get("webhook-id"), Headers: req.Header.Clone(), Body: body, At: time.Now()})
	r.mu.Unlock()
	r.signal <- struct{}{}
	w.WriteHeader(http.StatusNoContent)
}

// wait blocks until n requests were received in all, or fails the test.
func (r *receiver) wait(n int, within time.Duration) []received {
	r.t.Helper()
	deadline := time.After(within)
	for {
		r.mu.Lock()
		if len(r.got) >= n {
			out := append([]received(nil), r.got...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.signal:
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			r.t.Fatalf("receiver got %d webhooks in %s, want %d", len(r.got), within, n)
			return nil
		}
	}
}

// allowLoopback lets webhooks reach the test receivers on 127.0.0.1.
func allowLoopback(c *config) {
	c.WebhookAllowedCIDRs = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
}

const createEndpoint = `mutation($url: String!, $types: [WebhookEventType!], $agents: [ID!]) {
	createWebhookEndpoint(input: {url: $url, eventTypes: $types, agentIds: $agents}) {
		webhookEndpoint { id url enabled eventTypes } secret userErrors { field message code } } }`

// TestWebhookAbilityChange checks the whole path: a mutation changes an
// agent's ability, and a receiver gets a signed body as docs/domain.md,
// "Webhooks", says.
func TestWebhookAbilityChange(t *testing.T) {
	e := setup(t, allowLoopback)
	rcv := newReceiver(t)
	var ep struct {
		WebhookEndpoint struct{ ID string }
		Secret          string
	}
	e.mustMutate("createWebhookEndpoint", createEndpoint, map[string]any{"url": rcv.srv.URL + "/hook"}, &ep)
	rcv.setSecret(ep.Secret)

	aiko := e.createAgentID("Aiko Tanaka", "aiko@example.com", true)
	got := rcv.wait(1, waitTimeout)
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
	if ct := got[0].Headers.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content-type %q", ct)
	}

	e.mustMutate("updateAgent", `mutation($id: ID!) { updateAgent(input: {id: $id, unifiedRoutingEnabled: false}) { userErrors { code } } }`,
		map[string]any{"id": aiko}, nil)
	got = rcv.wait(2, waitTimeout)
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
