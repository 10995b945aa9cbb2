package main

import (
	"slices"
	"testing"
	"time"

	"outdial/models/dbtest"
)

// idleGap is the pause before each measured mutation of
// BenchmarkWebhookLatency, so that it finds the dispatcher idle.
const idleGap = 30 * time.Millisecond

// TestWebhookSentWithoutWaitingForAPoll: a mutation's webhook is sent
// because its commit wakes the dispatcher, not at the dispatcher's next
// poll: with an hour between polls, 20 mutations one after the other
// each get their webhook. How fast it comes is a benchmark's question
// (BenchmarkWebhookLatency: the median should stay under 50 ms).
func TestWebhookSentWithoutWaitingForAPoll(t *testing.T) {
	t.Parallel()
	e := setup(t, allowLoopback, func(c *config) { c.WebhookPollInterval = time.Hour })
	rc := newHookReceiver(t, nil)
	e.createHook("", rc, nil)
	aiko := e.createAgentID("Aiko Tanaka", "aiko@example.com", true)
	rc.waitRequests(1)
	for i := range 20 {
		seen := len(rc.requests())
		e.mustMutate("updateAgent", updateAgentM, map[string]any{"id": aiko, "unified": i%2 == 1}, nil)
		rc.waitRequests(seen + 1)
	}
}

// percentiles returns the median, the 90th percentile and the maximum of
// d (which it sorts).
func percentiles(d []time.Duration) (p50, p90, worst time.Duration) {
	slices.Sort(d)
	return d[len(d)/2], d[len(d)*9/10], d[len(d)-1]
}

// BenchmarkWebhookLatency measures the same latency against the real
// binary (SQLite, or MySQL with TEST_MYSQL_URL): each operation is one
// mutation and the wait for its webhook; p50 and p90 are reported too.
func BenchmarkWebhookLatency(b *testing.B) {
	rc := newHookReceiver(b, nil)
	p := startServer(b, "server", dbtest.URL(b))
	var ep struct {
		WebhookEndpoint idOnly
		Secret          string
	}
	p.mutate("createWebhookEndpoint", createEndpoint, map[string]any{"url": rc.url("/hooks")}, &ep)
	rc.setSecrets(ep.Secret)
	var agent struct{ Agent idOnly }
	p.mutate("createAgent", createAgent, map[string]any{"name": "Aiko Tanaka", "email": "aiko@example.com", "unified": true}, &agent)
	rc.waitRequests(1)

	lat := make([]time.Duration, 0, b.N)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		time.Sleep(idleGap)
		b.StartTimer()
		seen := len(rc.requests())
		start := time.Now()
		p.mutate("updateAgent", updateAgentM, map[string]any{"id": agent.Agent.ID, "unified": i%2 == 1}, nil)
		r := rc.waitRequests(seen + 1)[seen]
		lat = append(lat, r.Arrived.Sub(start))
	}
	p50, p90, _ := percentiles(lat)
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p90.Microseconds())/1000, "p90-ms")
}
