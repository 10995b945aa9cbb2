package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestWebhookEndpointDeletedMidFanOut deletes an endpoint through the API
// while deliveries to it wait in the dispatcher behind a slow receiver:
// none is sent once deleteWebhookEndpoint has returned (beyond one a
// worker was already sending), and every one
// ends FAILED without an attempt (or SUCCEEDED, if it was answered
// before the delete).
func TestWebhookEndpointDeletedMidFanOut(t *testing.T) {
	t.Parallel()
	e := setup(t, allowLoopback)
	arrived := make(chan struct{}, 100)
	rc := newHookReceiver(t, func(string, int) int {
		arrived <- struct{}{}
		time.Sleep(300 * time.Millisecond)
		return http.StatusOK
	})
	ep, _ := e.createHook("", rc, nil)
	agents := make([]map[string]any, 60)
	for i := range agents {
		agents[i] = map[string]any{"name": fmt.Sprintf("Agent %d", i), "email": fmt.Sprintf("a%d@example.com", i)}
	}
	e.mustMutate("upsertAgents", upsertAgentsM, map[string]any{"agents": agents}, nil)
	for range 3 {
		<-arrived
	}
	e.mustMutate("deleteWebhookEndpoint", deleteEndpointM, map[string]any{"id": ep.ID}, nil)
	deleted := time.Now()
	time.Sleep(1500 * time.Millisecond)

	// A send that a worker had begun as the delete committed may reach
	// the receiver just after the mutation returned (it was seen 0.3 ms
	// after, under load); one begun after the delete would arrive at any
	// time in the 1.5 s watched (before the fix: 52, over 35 s).
	const inFlight = 250 * time.Millisecond
	late := 0
	for _, r := range rc.requests() {
		if after := r.Arrived.Sub(deleted); after > inFlight {
			late++
			t.Logf("a webhook arrived %v after the delete returned", after)
		}
	}
	if late > 0 {
		t.Errorf("%d webhooks arrived more than %v after deleteWebhookEndpoint returned", late, inFlight)
	}
	ds, total := e.deliveries("", map[string]any{"endpointId": ep.ID})
	if total != len(agents) {
		t.Fatalf("the endpoint has %d deliveries, want %d", total, len(agents))
	}
	// Every request made has its attempt, those in flight as the delete
	// committed included (on FAILED deliveries): the history says what
	// was sent.
	attempts := 0
	for _, d := range ds {
		attempts += len(d.Attempts)
		if d.Status != "FAILED" && d.Status != "SUCCEEDED" {
			t.Errorf("delivery %s is %s, want FAILED", d.ID, d.Status)
		}
	}
	if attempts != len(rc.requests()) {
		t.Errorf("%d attempts recorded for %d requests received", attempts, len(rc.requests()))
	}
	t.Logf("%d requests in all, none sent after the delete", len(rc.requests()))
}
