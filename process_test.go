package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Helpers of the webhook acceptance tests: a receiver that verifies and
// records every request, waiting without fixed sleeps, and the real
// outdial binary run as a child process (built once per test binary).

// TestMain removes the outdial binary built for the process tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// waitTimeout bounds every wait of these tests: generous, because the
// machines are small and shared.
const waitTimeout = 60 * time.Second

// waitUntil polls cond until it holds, failing tb after within.
func waitUntil(tb testing.TB, what string, within time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---------------------------------------------------------------- receiver

// hookRequest is one request a hookReceiver got.
type hookRequest struct {
	ID        string // webhook-id
	Header    http.Header
	Body      []byte
	Arrived   time.Time // when its headers and body had been read
	Answered  time.Time
	Status    int   // the answer sent
	VerifyErr error // nil: a signature verified with one of the secrets
}

// hookReceiver is a webhook endpoint of a test. It verifies the signature
// of every request with the Standard Webhooks library (against any of its
// secrets), answers as its answer function says (204 when nil) and
// records every request; it notices when two requests with the same
// webhook-id are in flight at once. A request whose signature does not
// verify is answered 400 and fails the test when it ends.
type hookReceiver struct {
	tb  testing.TB
	srv *httptest.Server
	// answer returns the status of the nth request (from 1) with webhook-id
	// id; it may block. nil: 204.
	answer func(id string, nth int) int

	mu       sync.Mutex
	secrets  []string
	reqs     []hookRequest
	perID    map[string]int // requests per webhook-id
	acked    map[string]int // 2xx answers per webhook-id
	inflight map[string]int
	overlaps []string // webhook-ids received while a request with the same ID was in flight
	notify   chan struct{}
}

// newHookReceiver starts a receiver that answers as answer says (nil:
// 204), closed when tb ends.
func newHookReceiver(tb testing.TB, answer func(id string, nth int) int) *hookReceiver {
	rc := &hookReceiver{tb: tb, answer: answer, perID: map[string]int{}, acked: map[string]int{},
		inflight: map[string]int{}, notify: make(chan struct{}, 1)}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	tb.Cleanup(rc.srv.Close)
	tb.Cleanup(func() {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for _, r := range rc.reqs {
			if r.VerifyErr != nil {
				tb.Errorf("receiver: request %s did not verify: %v", r.ID, r.VerifyErr)
				return
			}
		}
	})
	return rc
}

// url returns the receiver's URL with path.
func (rc *hookReceiver) url(path string) string { return rc.srv.URL + path }

// setSecrets sets the secrets signatures are verified with: a request
// passes when one of them verifies it.
func (rc *hookReceiver) setSecrets(secrets ...string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secrets = secrets
}

func (rc *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r := hookRequest{ID: req.Header.Get("webhook-id"), Header: req.Header.Clone(), Body: body, Arrived: time.Now()}
	rc.mu.Lock()
	secrets := rc.secrets
	rc.perID[r.ID]++
	nth := rc.perID[r.ID]
	rc.inflight[r.ID]++
	if rc.inflight[r.ID] > 1 {
		rc.overlaps = append(rc.overlaps, r.ID)
	}
	rc.mu.Unlock()

	r.VerifyErr = verifyAny(secrets, body, req.Header)
	switch {
	case r.VerifyErr != nil:
		r.Status = http.StatusBadRequest
	case rc.answer == nil:
		r.Status = http.StatusNoContent
	default:
		r.Status = rc.answer(r.ID, nth)
	}
	w.WriteHeader(r.Status)
	r.Answered = time.Now()

	rc.mu.Lock()
	rc.inflight[r.ID]--
	if r.Status >= 200 && r.Status <= 299 {
		rc.acked[r.ID]++
	}
	rc.reqs = append(rc.reqs, r)
	rc.mu.Unlock()
	select {
	case rc.notify <- struct{}{}:
	default:
	}
}

// verifyAny verifies a request with the Standard Webhooks library against
// each secret and returns nil when one verifies it.
func verifyAny(secrets []string, body []byte, h http.Header) error {
	if len(secrets) == 0 {
		return fmt.Errorf("the receiver has no secret yet")
	}
	var err error
	for _, s := range secrets {
		var wh *standardwebhooks.Webhook
		if wh, err = standardwebhooks.NewWebhook(s); err != nil {
			return err
		}
		if err = wh.Verify(body, h); err == nil {
			return nil
		}
	}
	return err
}

// requests returns a copy of the requests received so far, in the order
// they were answered.
func (rc *hookReceiver) requests() []hookRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hookRequest(nil), rc.reqs...)
}

// ackedIDs returns how many 2xx answers each webhook-id got.
func (rc *hookReceiver) ackedIDs() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]int, len(rc.acked))
	for id, n := range rc.acked {
		out[id] = n
	}
	return out
}

// ackedCount returns how many requests were answered 2xx.
func (rc *hookReceiver) ackedCount() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, c := range rc.acked {
		n += c
	}
	return n
}

// overlapping returns the webhook-ids that arrived while a request with the
// same ID was still in flight.
func (rc *hookReceiver) overlapping() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.overlaps...)
}

// waitRequests waits until n requests were answered and returns them.
func (rc *hookReceiver) waitRequests(n int) []hookRequest {
	rc.tb.Helper()
	rc.waitFor(fmt.Sprintf("%d webhook requests", n), func() bool { return len(rc.requests()) >= n })
	return rc.requests()
}

// waitFor waits until cond holds, waking at every answered request.
func (rc *hookReceiver) waitFor(what string, cond func() bool) {
	rc.tb.Helper()
	rc.waitWithin(waitTimeout, what, cond)
}

// waitWithin is waitFor with another timeout.
func (rc *hookReceiver) waitWithin(within time.Duration, what string, cond func() bool) {
	rc.tb.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-rc.notify:
		case <-tick.C:
		case <-deadline.C:
			rc.tb.Fatalf("waited %s for %s; the receiver got %d requests", within, what, len(rc.requests()))
		}
	}
}

// ---------------------------------------------------------------- processes

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// outdialBinary builds the server (go build of this module's main package)
// once per test binary and returns its path.
func outdialBinary(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "outdial-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "outdial")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		tb.Fatal(binErr)
	}
	return binPath
}

// serverProc is the outdial binary running as a child process.
type serverProc struct {
	tb   testing.TB
	name string
	cmd  *exec.Cmd
	url  string // http://127.0.0.1:port
	out  *lockedBuffer
	done chan struct{} // closed when the process has exited
}

// startServer starts the outdial binary (launchServer) and waits until it
// is healthy.
func startServer(tb testing.TB, name, dbURL string, args ...string) *serverProc {
	tb.Helper()
	p := launchServer(tb, name, dbURL, args...)
	p.mustBeHealthy()
	return p
}

// launchServer starts the outdial binary on database dbURL, on a free port
// of 127.0.0.1, with the admin token of the tests, loopback webhooks
// allowed and args. It is stopped (SIGTERM, then SIGKILL) when tb ends.
func launchServer(tb testing.TB, name, dbURL string, args ...string) *serverProc {
	tb.Helper()
	bin := outdialBinary(tb)
	port := strconv.Itoa(freePort(tb))
	p := &serverProc{tb: tb, name: name, url: "http://127.0.0.1:" + port, out: &lockedBuffer{}, done: make(chan struct{})}
	full := append([]string{"-listen", "127.0.0.1:" + port, "-database", dbURL,
		"-admin-token", testAdminToken, "-webhook-allowed-cidrs", "127.0.0.0/8"}, args...)
	p.cmd = exec.Command(bin, full...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	tb.Cleanup(p.stop)
	return p
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// mustBeHealthy waits until GET /healthz answers 200, failing the test
// when the process exits first or does not answer in time.
func (p *serverProc) mustBeHealthy() {
	p.tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			p.tb.Fatalf("%s exited before it was healthy; output:\n%s", p.name, p.out.String())
		default:
		}
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.tb.Fatalf("%s did not answer /healthz within %s; output:\n%s", p.name, waitTimeout, p.out.String())
}

// kill sends SIGKILL and waits until the process is gone.
func (p *serverProc) kill() {
	p.tb.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.tb.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.done
}

// stop ends the process gracefully (SIGTERM), killing it when it does not
// exit within the shutdown timeout.
func (p *serverProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(shutdownTimeout + 5*time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.tb.Errorf("%s did not stop within %s of SIGTERM; output:\n%s", p.name, shutdownTimeout, p.out.String())
	}
}

// owner returns the webhook lease owner the process logged at start.
func (p *serverProc) owner() string {
	sc := bufio.NewScanner(strings.NewReader(p.out.String()))
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "webhook dispatcher started") {
			if i := strings.Index(line, "owner="); i >= 0 {
				return strings.Fields(line[i+len("owner="):])[0]
			}
		}
	}
	return "?"
}

// metric returns the value of a Prometheus sample of the process's
// /metrics, e.g. `outdial_webhook_deliveries_total{outcome="succeeded"}`.
func (p *serverProc) metric(sample string) float64 {
	p.tb.Helper()
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		p.tb.Fatalf("GET %s/metrics: %v", p.name, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				p.tb.Fatalf("%s: metric %s = %q", p.name, sample, v)
			}
			return f
		}
	}
	p.tb.Fatalf("%s: no metric %s", p.name, sample)
	return 0
}

// gql runs a GraphQL request as the admin; it must succeed without errors.
// Its data is decoded into out when out is not nil.
func (p *serverProc) gql(query string, vars map[string]any, out any) {
	p.tb.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		p.tb.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, p.url+"/graphql", bytes.NewReader(body))
	if err != nil {
		p.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.tb.Fatalf("POST %s/graphql: %v", p.name, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r gqlResponse
	if err := json.Unmarshal(raw, &r); err != nil || resp.StatusCode != http.StatusOK || len(r.Errors) > 0 {
		p.tb.Fatalf("%s: request failed (HTTP %d): %s\nquery: %s", p.name, resp.StatusCode, raw, query)
	}
	if out != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			p.tb.Fatalf("decode %s: %v", r.Data, err)
		}
	}
}

// mutate runs a mutation whose payload is data.<field>; it must succeed
// without userErrors. The payload is decoded into out when not nil.
func (p *serverProc) mutate(field, query string, vars map[string]any, out any) {
	p.tb.Helper()
	var data map[string]json.RawMessage
	p.gql(query, vars, &data)
	var payload struct{ UserErrors []userError }
	if err := json.Unmarshal(data[field], &payload); err != nil {
		p.tb.Fatalf("decode %s payload %s: %v", field, data[field], err)
	}
	if len(payload.UserErrors) > 0 {
		p.tb.Fatalf("%s refused: %+v", field, payload.UserErrors)
	}
	if out != nil {
		if err := json.Unmarshal(data[field], out); err != nil {
			p.tb.Fatalf("decode %s payload: %v", field, err)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for a process's output and readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
