package resolvers_test

import (
	"fmt"
	"net/http"
	"outdial/internal/hooktest"
	"outdial/internal/testenv"
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
	e := testenv.Setup(t, testenv.AllowLoopback)
	arrived := make(chan struct{}, 100)
	var answering, mostAtOnce atomic.Int64 // requests being answered: now, and the most at once
	rc := hooktest.New(t, hooktest.Options{Answer: func(w http.ResponseWriter, _ *http.Request, _ hooktest.Request) {
		n := answering.Add(1)
		for m := mostAtOnce.Load(); n > m && !mostAtOnce.CompareAndSwap(m, n); m = mostAtOnce.Load() {
		}
		arrived <- struct{}{}
		time.Sleep(300 * time.Millisecond)
		answering.Add(-1)
		w.WriteHeader(http.StatusOK)
	}})
	ep, _ := e.CreateHook("", rc, nil)
	agents := make([]map[string]any, 60)
	for i := range agents {
		agents[i] = map[string]any{"name": fmt.Sprintf("Agent %d", i), "email": fmt.Sprintf("a%d@example.com", i)}
	}
	e.MustMutate("upsertAgents", testenv.UpsertAgents, map[string]any{"agents": agents}, nil)
	for range 3 {
		<-arrived
	}
	e.MustMutate("deleteWebhookEndpoint", testenv.DeleteEndpoint, map[string]any{"id": ep.ID}, nil)
	deleted := time.Now()
	// The dispatcher is let run until it is quiet: every delivery
	// finished, no request being answered and every request answered
	// recorded as an attempt (a dispatcher that went on sending the
	// endpoint's queued deliveries is seldom so, 60 deliveries of 300 ms
	// each). Then its workers are stopped, which waits for the attempts
	// in flight and records them: no request can come after that.
	quiet := func() bool {
		ds, _ := e.Deliveries("", map[string]any{"endpointId": ep.ID})
		attempts := 0
		for _, d := range ds {
			if d.Status != "FAILED" && d.Status != "SUCCEEDED" {
				return false
			}
			attempts += len(d.Attempts)
		}
		return answering.Load() == 0 && attempts == len(rc.Answered())
	}
	testenv.WaitUntil(t, "the dispatcher quiet after the delete", testenv.WaitTimeout, quiet)
	e.StopWorkers()

	// A send that a worker had begun as the delete committed may reach
	// the receiver after the mutation returned (on a loaded machine, any
	// time later): at most as many as the endpoint is sent at once. Sends
	// begun after the delete would be many more (before the fix: 52, over
	// 35 s).
	late := 0
	for _, r := range rc.Answered() {
		if after := r.Arrived.Sub(deleted); after > 0 {
			late++
			t.Logf("a webhook arrived %v after the delete returned", after)
		}
	}
	if late > int(mostAtOnce.Load()) {
		t.Errorf("%d webhooks arrived after deleteWebhookEndpoint returned, more than the %d the endpoint was ever sent at once",
			late, mostAtOnce.Load())
	}
	ds, total := e.Deliveries("", map[string]any{"endpointId": ep.ID})
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
	if attempts != len(rc.Answered()) {
		t.Errorf("%d attempts recorded for %d requests received", attempts, len(rc.Answered()))
	}
	t.Logf("%d requests in all, none sent after the delete", len(rc.Answered()))
}
