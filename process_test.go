package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"outdial/internal/hooktest"
	"outdial/internal/testenv"
)

// Helpers of the webhook acceptance tests: a receiver that verifies and
// records every request, waiting without fixed sleeps, and the server run
// as a child process: this test binary, started again in server mode.

// serverArgsEnv holds, as a JSON array, the command line of the server a
// test binary runs when it is started again by launchServer.
const serverArgsEnv = "OUTDIAL_TEST_SERVER_ARGS"

// TestMain runs the tests, or, when serverArgsEnv is set, is the server:
// main with those arguments, as the outdial binary would run them, so
// that a process test runs the code under test without building it.
func TestMain(m *testing.M) {
	if raw, ok := os.LookupEnv(serverArgsEnv); ok {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", serverArgsEnv, err)
			os.Exit(2)
		}
		os.Args = append([]string{os.Args[0]}, args...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// waitTimeout bounds every wait of these tests (testenv.WaitTimeout).
const waitTimeout = testenv.WaitTimeout

// waitUntil polls cond until it holds, failing tb after within.
func waitUntil(tb testing.TB, what string, within time.Duration, cond func() bool) {
	tb.Helper()
	testenv.WaitUntil(tb, what, within, cond)
}

// ---------------------------------------------------------------- receiver

// hookRequest is one request a hookReceiver got.
type hookRequest = hooktest.Request

// hookReceiver is a webhook endpoint of a test (hooktest.Receiver, strict:
// a request whose signature does not verify is answered 400 and fails the
// test when it ends).
type hookReceiver struct{ *hooktest.Receiver }

// newHookReceiver starts a receiver whose answer to the nth request (from
// 1) with webhook-id id is the status answer returns (nil: 204); it may
// block. It is closed when tb ends.
func newHookReceiver(tb testing.TB, answer func(id string, nth int) int) *hookReceiver {
	var opts hooktest.Options
	if answer != nil {
		opts.Answer = func(w http.ResponseWriter, _ *http.Request, got hooktest.Request) {
			w.WriteHeader(answer(got.ID, got.Nth))
		}
	}
	return &hookReceiver{hooktest.New(tb, opts)}
}

func (rc *hookReceiver) url(path string) string                { return rc.URL(path) }
func (rc *hookReceiver) setSecrets(secrets ...string)          { rc.SetSecrets(secrets...) }
func (rc *hookReceiver) requests() []hookRequest               { return rc.Answered() }
func (rc *hookReceiver) ackedIDs() map[string]int              { return rc.AckedIDs() }
func (rc *hookReceiver) ackedCount() int                       { return rc.AckedCount() }
func (rc *hookReceiver) overlapping() []string                 { return rc.Overlapping() }
func (rc *hookReceiver) waitRequests(n int) []hookRequest      { return rc.WaitAnswered(n) }
func (rc *hookReceiver) waitFor(what string, cond func() bool) { rc.WaitFor(what, cond) }
func (rc *hookReceiver) waitWithin(within time.Duration, what string, cond func() bool) {
	rc.WaitWithin(within, what, cond)
}

// ---------------------------------------------------------------- processes

// serverProc is the server running as a child process (launchServer).
type serverProc struct {
	tb   testing.TB
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{} // closed when the process has exited, its output read

	mu   sync.Mutex
	base string // http://127.0.0.1:port, once the process printed it (url)
}

// startServer starts the server (launchServer) and waits until it is
// healthy.
func startServer(tb testing.TB, name, dbURL string, args ...string) *serverProc {
	tb.Helper()
	p := launchServer(tb, name, dbURL, args...)
	p.mustBeHealthy()
	return p
}

// launchServer starts the server on database dbURL, on a port of
// 127.0.0.1 it picks itself (-listen 127.0.0.1:0; url tells which), with
// the admin token of the tests, loopback webhooks allowed and args. It
// returns at once, the process possibly still migrating the database. It
// is stopped (SIGTERM, then SIGKILL) when tb ends.
func launchServer(tb testing.TB, name, dbURL string, args ...string) *serverProc {
	tb.Helper()
	return launchProcess(tb, name, serverArgs(dbURL, args...), nil)
}

// serverArgs is the command line of a test server on dbURL (launchServer)
// with args added. The server listens on a port of 127.0.0.1 the kernel
// gives it when it listens: a port picked before, free when the test
// looked, may be taken by any socket of the machine while the server
// migrates (an outgoing connection's local port comes from the same
// range); the server would then fail, or another test's server would
// answer on it.
func serverArgs(dbURL string, args ...string) []string {
	return append([]string{"-listen", "127.0.0.1:0", "-database", dbURL,
		"-admin-token", testAdminToken, "-webhook-allowed-cidrs", "127.0.0.0/8"}, args...)
}

// launchProcess runs this test binary again as the server (TestMain) with
// the command line args, which should have it listen on 127.0.0.1:0 (its
// URL is read from its output: url), and the environment of the tests
// plus env ("KEY=value"). The process is stopped (SIGTERM, then SIGKILL)
// when tb ends.
func launchProcess(tb testing.TB, name string, args, env []string) *serverProc {
	tb.Helper()
	enc, err := json.Marshal(args)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), serverArgsEnv+"="+string(enc)), env...)
	return startProc(tb, name, cmd)
}

// startProc starts cmd, a server process, its output (stdout and stderr)
// going to the serverProc's buffer. It is stopped (SIGTERM, then SIGKILL)
// when tb ends.
func startProc(tb testing.TB, name string, cmd *exec.Cmd) *serverProc {
	tb.Helper()
	p := &serverProc{tb: tb, name: name, cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	tb.Cleanup(p.stop)
	return p
}

// listeningLine is the line the server prints once it listens
// (internal/server.Run), newline included so that a line still being
// written never matches; its first group is the server's base URL.
var listeningLine = regexp.MustCompile(`Outdial is listening: playground at (http://\S+)/ , API at \S+/graphql\n`)

// url returns the base URL of the server, http://127.0.0.1:port, as the
// process printed it once it listened; until then it waits, failing the
// test when the process exits first or prints no address within
// waitTimeout. Once known (mustBeHealthy learns it) it is safe from any
// goroutine.
func (p *serverProc) url() string {
	p.tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.base == "" {
		p.base = p.waitListening()
	}
	return p.base
}

// waitListening waits for the process to print listeningLine and returns
// its URL.
func (p *serverProc) waitListening() string {
	p.tb.Helper()
	printed := func() string {
		if m := listeningLine.FindStringSubmatch(p.out.String()); m != nil {
			return m[1]
		}
		return ""
	}
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for {
		if u := printed(); u != "" {
			return u
		}
		select {
		case <-p.done: // its output is all read: printed now or never
			if u := printed(); u != "" {
				return u
			}
			p.tb.Fatalf("%s exited before it listened; output:\n%s", p.name, p.out.String())
		case <-deadline.C:
			p.tb.Fatalf("%s printed no listening address within %s; output:\n%s", p.name, waitTimeout, p.out.String())
		case <-poll.C:
		}
	}
}

// mustBeHealthy waits until the process listens (url) and GET /healthz
// answers 200, failing the test when the process exits first or does not
// answer in time.
func (p *serverProc) mustBeHealthy() {
	p.tb.Helper()
	url := p.url()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			p.tb.Fatalf("%s exited before it was healthy; output:\n%s", p.name, p.out.String())
		default:
		}
		resp, err := http.Get(url + "/healthz")
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
	resp, err := http.Get(p.url() + "/metrics")
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
	req, err := http.NewRequest(http.MethodPost, p.url()+"/graphql", bytes.NewReader(body))
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
