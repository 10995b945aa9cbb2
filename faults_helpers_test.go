//go:build faults

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"outdial/internal/faultdb"
	"outdial/models"
)

// Helpers of the fault tests (go test -tags faults; .ci/run runs them):
// the server run as a child process (this test binary, run again), an
// organisation whose one mutation fans out to several receivers, and the
// figures each fault test prints (issue 8, acceptance 3).

// faultServerEnv holds, as a JSON array, the command line of the server
// TestFaultServerProcess runs.
const faultServerEnv = "OUTDIAL_FAULT_SERVER_ARGS"

// TestFaultServerProcess is the server of the fault tests: this test
// binary, started again with faultServerEnv set, runs the real server
// (run, as main does) until SIGTERM or SIGKILL. In a normal run it does
// nothing.
func TestFaultServerProcess(t *testing.T) {
	raw := os.Getenv(faultServerEnv)
	if raw == "" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatalf("%s: %v", faultServerEnv, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
}

// startTestServer starts the server as a child process (launchTestServer)
// and waits until it is healthy.
func startTestServer(tb testing.TB, name, dbURL string, args ...string) *serverProc {
	tb.Helper()
	p := launchTestServer(tb, name, dbURL, args...)
	p.mustBeHealthy()
	return p
}

// launchTestServer runs the server on database dbURL as a child process
// (TestFaultServerProcess), on a port of 127.0.0.1 it picks itself, with
// the admin token of the tests, loopback webhooks allowed and args
// (serverArgs); url tells its address. It is stopped (SIGTERM, then
// SIGKILL) when tb ends.
func launchTestServer(tb testing.TB, name, dbURL string, args ...string) *serverProc {
	tb.Helper()
	enc, err := json.Marshal(serverArgs(dbURL, args...))
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFaultServerProcess$", "-test.count=1", "-test.timeout=0")
	cmd.Env = append(os.Environ(), faultServerEnv+"="+string(enc))
	return startProc(tb, name, cmd)
}

// running reports whether the process still runs.
func (p *serverProc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// signal sends sig to the process; after SIGSTOP it returns once every
// thread of the process has stopped.
func (p *serverProc) signal(sig syscall.Signal) {
	p.tb.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.tb.Fatalf("%v to %s: %v", sig, p.name, err)
	}
	if sig == syscall.SIGSTOP {
		if err := faultdb.WaitStopped(p.cmd.Process.Pid, 30*time.Second); err != nil {
			p.tb.Fatalf("%s: %v", p.name, err)
		}
	}
}

// readyz returns the status of GET /readyz and its body.
func (p *serverProc) readyz() (int, string) { return getStatus(p.url() + "/readyz") }

// logLines returns the lines of the process's output that contain s.
func (p *serverProc) logLines(s string) []string {
	var out []string
	for line := range strings.SplitSeq(p.out.String(), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// ---------------------------------------------------------------- organisation

// faultOrg is an organisation on a server where one mutation (fire:
// upgrading the only number of their outbound profile) changes the
// ability of n agents, each change going to len(receivers) endpoints, one
// per receiver.
type faultOrg struct {
	n         int
	number    string
	receivers []*hookReceiver
}

// newFaultOrg creates the organisation through p's API. No delivery exists
// yet.
func newFaultOrg(p *serverProc, n int, receivers ...*hookReceiver) *faultOrg {
	p.tb.Helper()
	o := &faultOrg{n: n, receivers: receivers}
	var num struct{ PhoneNumber idOnly }
	p.mutate("addPhoneNumber", addNumber, map[string]any{"n": "+1 425 555 0100", "plan": []string{"RECEIVE_CALLS", "MAKE_CALLS"}}, &num)
	o.number = num.PhoneNumber.ID
	var q struct{ Queue idOnly }
	p.mutate("createQueue", createQueue, map[string]any{"name": "Outbound", "channel": "VOICE"}, &q)
	var cp struct{ CapacityProfile idOnly }
	p.mutate("createCapacityProfile", createCapacity, map[string]any{"name": "Voice"}, &cp)
	p.mutate("createOutboundProfile", createProfile, map[string]any{"name": "Outbound sales", "q": q.Queue.ID,
		"cp": cp.CapacityProfile.ID, "nums": []string{o.number}}, nil)
	p.mutate("downgradeCallingPlan", downgrade, map[string]any{"id": o.number, "caps": []string{"MAKE_CALLS"}}, nil)
	for start := 0; start < n; start += 1000 {
		batch := make([]map[string]any, 0, 1000)
		for i := start; i < min(start+1000, n); i++ {
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
	for _, rc := range receivers {
		var ep struct{ Secret string }
		p.mutate("createWebhookEndpoint", createEndpoint, map[string]any{"url": rc.url("/hooks"),
			"types": []string{"AGENT_CALLING_ABILITY_CHANGED"}}, &ep)
		rc.setSecrets(ep.Secret)
	}
	return o
}

// fire upgrades the number through p, from any goroutine: one mutation, n
// ability changes, n deliveries per receiver. It returns the answer.
func (o *faultOrg) fire(p *serverProc) timed {
	return post(context.Background(), p.url(), upgrade, map[string]any{"id": o.number, "caps": []string{"MAKE_CALLS"}})
}

// mustFire is fire for a mutation that must succeed.
func (o *faultOrg) mustFire(p *serverProc) {
	p.tb.Helper()
	if r := o.fire(p); r.code() != "OK" {
		p.tb.Fatalf("upgradeCallingPlan: %s %+v", r.code(), r.resp.Errors)
	}
}

// ---------------------------------------------------------------- figures

// storedDelivery is a delivery as stored: the receiver it goes to (by
// endpoint URL), its message ID and status.
type storedDelivery struct {
	URL, MessageID, Status string
	Attempts               int64
}

// storedDeliveries reads every agent delivery of db.
func storedDeliveries(tb testing.TB, db *models.DB) []storedDelivery {
	tb.Helper()
	var out []storedDelivery
	err := db.Raw(`SELECT w.url, e.message_id, d.status,
			(SELECT COUNT(*) FROM webhook_attempts AS a WHERE a.delivery_id = d.id) AS attempts
		FROM webhook_deliveries AS d JOIN webhook_events AS e ON e.id = d.event_id
		JOIN webhook_endpoints AS w ON w.id = d.endpoint_id WHERE e.type = ?`, "agent.calling_ability.changed").
		Scan(&out).Error
	if err != nil {
		tb.Fatalf("read deliveries: %v", err)
	}
	return out
}

// openFor opens the database dbURL from the test (a SQLite file is read
// beside the server, as WAL allows), closed when tb ends.
func openFor(tb testing.TB, dbURL string) *models.DB {
	tb.Helper()
	db, err := models.Open(dbURL)
	if err != nil {
		tb.Fatalf("open %s: %v", models.RedactURL(dbURL), err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// count returns the integer query q answers on db.
func count(tb testing.TB, db *models.DB, q string, args ...any) int64 {
	tb.Helper()
	var n int64
	if err := db.Raw(q, args...).Scan(&n).Error; err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return n
}

// poll waits until cond holds, checking every 200 ms (cond reads the
// database), failing tb after within.
func poll(tb testing.TB, what string, within time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tally is what the receivers got of the deliveries stored.
type tally struct {
	expected   int // deliveries stored
	received   int // of them, acknowledged (2xx) at least once
	duplicated int // requests beyond the first acknowledged one
	lost       int // never acknowledged
	sends      int // requests the receivers got in all
	attempts   int64
	statuses   map[string]int
}

// tallyOf compares the deliveries stored in db with what the receivers
// acknowledged.
func tallyOf(tb testing.TB, db *models.DB, receivers ...*hookReceiver) tally {
	tb.Helper()
	byURL := map[string]map[string]int{}
	var t tally
	for _, rc := range receivers {
		byURL[rc.url("/hooks")] = rc.ackedIDs()
		t.sends += len(rc.requests())
	}
	t.statuses = map[string]int{}
	for _, d := range storedDeliveries(tb, db) {
		t.expected++
		t.statuses[d.Status]++
		t.attempts += d.Attempts
		switch n := byURL[d.URL][d.MessageID]; {
		case n == 0:
			t.lost++
		default:
			t.received++
			t.duplicated += n - 1
		}
	}
	return t
}

// waitDelivered waits (within) until every delivery stored in db was
// acknowledged by its receiver and recorded SUCCEEDED.
func waitDelivered(tb testing.TB, within time.Duration, db *models.DB, receivers ...*hookReceiver) tally {
	tb.Helper()
	var t tally
	deadline := time.Now().Add(within)
	for {
		t = tallyOf(tb, db, receivers...)
		if t.lost == 0 && t.statuses["SUCCEEDED"] == t.expected {
			return t
		}
		if time.Now().After(deadline) {
			return t // the caller reports the figures and fails
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// answers counts the answers of requests by HTTP status and code.
type answers struct {
	mu      sync.Mutex
	byCode  map[string]int
	slowest time.Duration
	bad     []string // answers a client must never get here
}

// note records r; bad says why r is an answer the test must fail on, or "".
func (a *answers) note(r timed, bad string) {
	key := r.code()
	if r.err == nil {
		key = fmt.Sprintf("HTTP %d %s", r.resp.Status, r.code())
	}
	a.add(key, r.took, bad)
}

// add records an answer described by key that took took; bad as for note.
func (a *answers) add(key string, took time.Duration, bad string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.byCode == nil {
		a.byCode = map[string]int{}
	}
	a.byCode[key]++
	a.slowest = max(a.slowest, took)
	if bad != "" {
		a.bad = append(a.bad, bad)
	}
}

// String lists the answers, most frequent first.
func (a *answers) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	keys := make([]string, 0, len(a.byCode))
	for k := range a.byCode {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return a.byCode[keys[i]] > a.byCode[keys[j]] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, a.byCode[k])
	}
	return strings.Join(parts, ", ")
}

// refused counts the answers with an error.
func (a *answers) refused() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for k, c := range a.byCode {
		if !strings.HasSuffix(k, " OK") {
			n += c
		}
	}
	return n
}

// report prints the figures of a fault test (issue 8, acceptance 3) on
// one line starting with FAULT REPORT.
func report(tb testing.TB, name string, a *answers, t tally, recovered time.Duration, notes ...string) {
	tb.Helper()
	line := fmt.Sprintf("FAULT REPORT %s: requests refused %d (%s), slowest answer %s; "+
		"deliveries expected %d / received %d / duplicated %d / lost %d; attempt rows %d vs sends %d; statuses %v; recovered in %s",
		name, a.refused(), a, a.slowest.Round(time.Millisecond), t.expected, t.received, t.duplicated, t.lost,
		t.attempts, t.sends, t.statuses, recovered.Round(10*time.Millisecond))
	for _, n := range notes {
		line += "; " + n
	}
	tb.Log(line)
}
