package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"outdial/models"
	"outdial/models/dbtest"
)

// The reliability acceptance tests of the webhooks (docs/design.md,
// "Reliability targets"): the real
// binary killed with SIGKILL in the middle of a fan-out, and two server
// processes sharing one MariaDB database. Both are slow: -short skips them.

// fanOutAgents is the size of the fan-outs of these tests.
const fanOutAgents = 2000

// fanOut is an organisation on a server process where one mutation
// changes the ability of fanOutAgents agents: their outbound profile's
// only number has lost MAKE_CALLS, and upgrading it back gives them all a
// caller ID.
type fanOut struct {
	p        *serverProc
	number   string
	endpoint string
}

// newFanOut creates the agents and their configuration through p's API
// and registers an endpoint at url (for ability changes only) whose
// secret goes to rc. No delivery exists yet.
func newFanOut(p *serverProc, rc *hookReceiver) *fanOut {
	p.tb.Helper()
	f := &fanOut{p: p}
	var num struct{ PhoneNumber idOnly }
	p.mutate("addPhoneNumber", addNumber, map[string]any{"n": "+1 425 555 0100", "plan": []string{"RECEIVE_CALLS", "MAKE_CALLS"}}, &num)
	f.number = num.PhoneNumber.ID
	var q struct{ Queue idOnly }
	p.mutate("createQueue", createQueue, map[string]any{"name": "Outbound", "channel": "VOICE"}, &q)
	var cp struct{ CapacityProfile idOnly }
	p.mutate("createCapacityProfile", createCapacity, map[string]any{"name": "Voice"}, &cp)
	p.mutate("createOutboundProfile", createProfile, map[string]any{"name": "Outbound sales", "q": q.Queue.ID,
		"cp": cp.CapacityProfile.ID, "nums": []string{f.number}}, nil)
	p.mutate("downgradeCallingPlan", downgrade, map[string]any{"id": f.number, "caps": []string{"MAKE_CALLS"}}, nil)
	for start := 0; start < fanOutAgents; start += 1000 {
		batch := make([]map[string]any, 0, 1000)
		for i := start; i < min(start+1000, fanOutAgents); i++ {
			batch = append(batch, map[string]any{"name": fmt.Sprintf("Agent %d", i), "email": fmt.Sprintf("agent%d@example.com", i)})
		}
		var up struct{ Agents []idOnly }
		p.mutate("upsertAgents", upsertAgentsM, map[string]any{"agents": batch}, &up)
		ids := make([]string, len(up.Agents))
		for i, a := range up.Agents {
			ids[i] = a.ID
		}
		p.mutate("addAgentsToCapacityProfile", addToCapacity, map[string]any{"cp": cp.CapacityProfile.ID, "agents": ids}, nil)
		p.mutate("addAgentsToQueue", addToQueue, map[string]any{"q": q.Queue.ID, "agents": ids}, nil)
	}
	var ep struct {
		WebhookEndpoint idOnly
		Secret          string
	}
	p.mutate("createWebhookEndpoint", createEndpoint, map[string]any{"url": rc.url("/hooks"),
		"types": []string{"AGENT_CALLING_ABILITY_CHANGED"}}, &ep)
	rc.setSecrets(ep.Secret)
	f.endpoint = ep.WebhookEndpoint.ID
	return f
}

// fire upgrades the number through p: one mutation, fanOutAgents
// deliveries.
func (f *fanOut) fire(p *serverProc) {
	p.tb.Helper()
	p.mutate("upgradeCallingPlan", upgrade, map[string]any{"id": f.number, "caps": []string{"MAKE_CALLS"}}, nil)
}

// deliveryRow is what the fan-out tests read of a delivery.
type deliveryRow struct {
	Status       string
	AttemptCount int
	Event        struct{ MessageID string }
}

// deliveries reads every delivery of the endpoint through p's API, 100 a
// page.
func (f *fanOut) deliveries(p *serverProc) []deliveryRow {
	p.tb.Helper()
	var out []deliveryRow
	var after *string
	for {
		var data struct {
			WebhookDeliveries struct {
				Nodes    []deliveryRow
				PageInfo struct {
					HasNextPage bool
					EndCursor   string
				}
			}
		}
		p.gql(`query($after: String, $ep: ID!) { webhookDeliveries(first: 100, after: $after, filter: {endpointId: $ep}) {
			nodes { status attemptCount event { messageId } } pageInfo { hasNextPage endCursor } } }`,
			map[string]any{"after": after, "ep": f.endpoint}, &data)
		out = append(out, data.WebhookDeliveries.Nodes...)
		if !data.WebhookDeliveries.PageInfo.HasNextPage {
			return out
		}
		after = &data.WebhookDeliveries.PageInfo.EndCursor
	}
}

// succeeded returns how many deliveries of the endpoint succeeded.
func (f *fanOut) succeeded(p *serverProc) int {
	p.tb.Helper()
	var data struct{ WebhookDeliveries struct{ TotalCount int } }
	p.gql(`query($ep: ID!) { webhookDeliveries(first: 1, filter: {endpointId: $ep, status: SUCCEEDED}) { totalCount } }`,
		map[string]any{"ep": f.endpoint}, &data)
	return data.WebhookDeliveries.TotalCount
}

// messageIDs returns the distinct message IDs of rows, checking there are
// fanOutAgents of them.
func messageIDs(tb testing.TB, rows []deliveryRow) map[string]bool {
	tb.Helper()
	ids := map[string]bool{}
	for _, r := range rows {
		ids[r.Event.MessageID] = true
	}
	if len(rows) != fanOutAgents || len(ids) != fanOutAgents {
		tb.Fatalf("%d deliveries with %d message IDs; want %d of each", len(rows), len(ids), fanOutAgents)
	}
	return ids
}

// TestWebhookKillMidFanOut kills the server with SIGKILL in the middle of
// a fan-out of 2,000 deliveries, restarts it on the same database, and
// checks that the receiver gets every message ID at least once. The
// receiver answers the first 300 requests and holds the next ones until
// the process is dead, so that the kill always falls mid-way.
func TestWebhookKillMidFanOut(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts the server binary twice and waits for its leases to expire")
	}
	t.Parallel()
	const ackBeforeKill = 300
	var killed atomic.Bool
	release := make(chan struct{})
	var answered atomic.Int64
	rc := newHookReceiver(t, func(string, int) int {
		if killed.Load() || answered.Add(1) <= ackBeforeKill {
			return 204
		}
		<-release // the process is killed meanwhile: this answer goes nowhere
		return 503
	})
	dbURL := dbtest.URL(t)
	// The deliveries the killed process held stay reserved for it for
	// WEBHOOK_INFLIGHT_LEASE: 9 s here, the shortest with a 3 s attempt
	// timeout, instead of the default 2 minutes.
	leases := []string{"-webhook-timeout", "3s", "-webhook-inflight-lease", "9s"}
	first := startServer(t, "first", dbURL, leases...)
	f := newFanOut(first, rc)
	f.fire(first)
	rc.waitFor("the first answers", func() bool { return rc.ackedCount() >= ackBeforeKill })
	first.kill()
	killedAt := time.Now()
	killed.Store(true)
	close(release)
	if got := rc.ackedCount(); got >= fanOutAgents {
		t.Fatalf("all %d deliveries were received before the kill; the test proves nothing", got)
	}

	second := startServer(t, "restarted", dbURL, leases...)
	want := messageIDs(t, f.deliveries(second))
	// Deliveries the dead process held are due again once its leases
	// (9 s, claimed or in flight) expire.
	rc.waitWithin(3*time.Minute, "every message ID after the restart", func() bool {
		acked := rc.ackedIDs()
		for id := range want {
			if acked[id] == 0 {
				return false
			}
		}
		return true
	})
	recovered := time.Since(killedAt)
	waitUntil(t, "every delivery recorded SUCCEEDED", waitTimeout, func() bool { return f.succeeded(second) == fanOutAgents })

	acked := rc.ackedIDs()
	dups, extra := 0, 0
	for id, n := range acked {
		if !want[id] {
			t.Errorf("received %s, which is no delivery of the fan-out", id)
		}
		if n > 1 {
			dups++
			extra += n - 1
		}
	}
	t.Logf("killed after %d of %d deliveries were acknowledged; every message ID received %s after the kill; "+
		"%d message IDs received twice or more (%d extra requests); %v leases taken over by the restarted process",
		ackBeforeKill, fanOutAgents, recovered.Round(100*time.Millisecond), dups, extra,
		second.metric("outdial_webhook_lease_takeovers_total"))
}

// TestWebhookTwoProcessesShareFanOut runs two server processes on one
// MariaDB database and fans out 2,000 deliveries: every one is delivered,
// no webhook-id is ever in flight twice at once, and both processes do
// part of the work (their delivery counters, from /metrics, add up).
//
// That both take part is what the dispatcher promises only while one
// process cannot send everything before the other's poll: a process
// leases at most what its workers can send now and a batch more (288 of
// the 2,000), so while the receiver answers nothing the other process
// finds the rest and leases some. The receiver holds every request until
// the database shows deliveries leased by both (however late B's poll
// comes on a loaded machine), then answers them all; the attempt timeout
// is long enough that none of the held requests times out.
func TestWebhookTwoProcessesShareFanOut(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts the server binary twice")
	}
	if dbtest.MySQLURL() == "" {
		t.Skip("TEST_MYSQL_URL is not set: MySQL test skipped")
	}
	t.Parallel()
	release := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	t.Cleanup(open) // before the receiver closes: no handler stays blocked
	rc := newHookReceiver(t, func(string, int) int {
		<-release
		return 204
	})
	dbURL := dbtest.URL(t)
	// Both start at once on the new database: they migrate it together.
	timeout := []string{"-webhook-timeout", "2m"}
	a := launchServer(t, "A", dbURL, timeout...)
	b := launchServer(t, "B", dbURL, timeout...)
	a.mustBeHealthy()
	b.mustBeHealthy()
	db, err := models.Open(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f := newFanOut(a, rc)
	start := time.Now()
	f.fire(a)
	ownerA, ownerB := a.owner(), b.owner()
	if ownerA == "?" || ownerB == "?" || ownerA == ownerB {
		t.Fatalf("lease owners of the processes: A %s, B %s; want two", ownerA, ownerB)
	}
	waitUntil(t, "deliveries leased by both processes", waitTimeout, func() bool {
		var leasedA, leasedB int64
		q := "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'PENDING' AND lease_owner LIKE ?"
		if err := db.Raw(q, ownerA+".%").Scan(&leasedA).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Raw(q, ownerB+".%").Scan(&leasedB).Error; err != nil {
			t.Fatal(err)
		}
		return leasedA > 0 && leasedB > 0
	})
	open()
	want := messageIDs(t, f.deliveries(b))
	rc.waitFor("every message ID", func() bool {
		acked := rc.ackedIDs()
		for id := range want {
			if acked[id] == 0 {
				return false
			}
		}
		return true
	})
	took := time.Since(start)

	const succeeded = `outdial_webhook_deliveries_total{outcome="succeeded"}`
	var byA, byB float64
	waitUntil(t, "both processes recorded every success", waitTimeout, func() bool {
		byA, byB = a.metric(succeeded), b.metric(succeeded)
		return byA+byB >= fanOutAgents
	})
	if byA+byB != fanOutAgents {
		t.Errorf("the processes recorded %v + %v successes; want %d in all", byA, byB, fanOutAgents)
	}
	if byA == 0 || byB == 0 {
		t.Errorf("one process did all the work: A %v, B %v", byA, byB)
	}
	if o := rc.overlapping(); len(o) > 0 {
		t.Errorf("%d requests arrived while another with the same webhook-id was in flight, e.g. %s", len(o), o[0])
	}
	dups := 0
	for id, n := range rc.ackedIDs() {
		if !want[id] {
			t.Errorf("received %s, which is no delivery of the fan-out", id)
		}
		if n > 1 {
			dups++
		}
	}
	attempts := 0
	for _, d := range f.deliveries(a) {
		attempts += d.AttemptCount
		if d.Status != "SUCCEEDED" {
			t.Errorf("delivery of %s is %s", d.Event.MessageID, d.Status)
		}
	}
	if reqs := len(rc.requests()); attempts != reqs {
		t.Errorf("%d attempts recorded for %d requests received", attempts, reqs)
	}
	t.Logf("%d deliveries in %s: process A (lease owner %s) sent %v, process B (%s) %v; %d message IDs received twice, %d requests while the same webhook-id was in flight",
		fanOutAgents, took.Round(10*time.Millisecond), a.owner(), byA, b.owner(), byB, dups, len(rc.overlapping()))
}
