package main

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestWebhookEndpointDeletedMidFanOut deletes an endpoint through the API
// while deliveries to it wait in the dispatcher behind a slow receiver:
// none is sent once deleteWebhookEndpoint has returned (beyond those a
// worker was already sending), and every one
// ends FAILED without an attempt (or SUCCEEDED, if it was answered
// before the delete).
func TestWebhookEndpointDeletedMidFanOut(t *testing.T) {
	t.Parallel()
	e := setup(t, allowLoopback)
	arrived := make(chan struct{}, 100)
	var answering, mostAtOnce atomic.Int64 // requests being answered: now, and the most at once
	rc := newHookReceiver(t, func(string, int) int {
		n := answering.Add(1)
		for m := mostAtOnce.Load(); n > m && !mostAtOnce.CompareAndSwap(m, n); m = mostAtOnce.Load() {
		}
		arrived <- struct{}{}
		time.Sleep(300 * time.Millisecond)
		answering.Add(-1)
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
	// the receiver after the mutation returned (on a loaded machine, any
	// time later): at most as many as the endpoint is sent at once. Sends
	// begun after the delete would be many more (before the fix: 52, over
	// 35 s).
	late := 0
	for _, r := range rc.requests() {
		if after := r.Arrived.Sub(deleted); after > 0 {
			late++
			t.Logf("a webhook arrived %v after the delete returned", after)
		}
	}
	if late > int(mostAtOnce.Load()) {
		t.Errorf("%d webhooks arrived after deleteWebhookEndpoint returned, more than the %d the endpoint was ever sent at once",
			late, mostAtOnce.Load())
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
