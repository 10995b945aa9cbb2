package webhooks

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"outdial/models/dbtest"
)

// hangingEndpoint is a loopback listener that accepts connections and
// never answers; it records the most connections it held open at once
// (an attempt that times out closes its connection, and a later attempt
// opens a new one: a run slower than the attempt timeout sees several
// connections in all, but never two at once from one process).
//
// Only connections whose request is for its own path count: its port
// may have been another test's "closed port" a moment before (the
// kernel hands freed ports out again, to any process), and that test's
// dispatcher may still be trying it.
type hangingEndpoint struct {
	ln    net.Listener
	path  string // of its URL, unique to it
	mu    sync.Mutex
	conns []net.Conn
	open  int // connections for path not yet closed by the client
	peak  int // the most open at once
	total int // connections for path in all
}

// newHangingEndpoint starts a hanging endpoint. Its connections are closed
// by release, or when the test ends.
func newHangingEndpoint(t testing.TB) *hangingEndpoint {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hangingEndpoint{ln: ln, path: "/hanging-" + rand.Text() + "/"}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns = append(h.conns, c)
			h.mu.Unlock()
			go h.hold(c)
		}
	}()
	t.Cleanup(h.release)
	return h
}

// hold reads c's request line, counts c open while it is for h's path,
// and reads until the client closes c (or release does).
func (h *hangingEndpoint) hold(c net.Conn) {
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	mine := err == nil && strings.HasPrefix(line, "POST "+h.path+" ")
	if mine {
		h.mu.Lock()
		h.open++
		h.total++
		h.peak = max(h.peak, h.open)
		h.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r)
	if mine {
		h.mu.Lock()
		h.open--
		h.mu.Unlock()
	}
}

func (h *hangingEndpoint) url() string { return "http://" + h.ln.Addr().String() + h.path }

// peakOpen returns the most connections the endpoint held open at once.
func (h *hangingEndpoint) peakOpen() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peak
}

// connections returns how many connections for its path the endpoint
// got in all.
func (h *hangingEndpoint) connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total
}

// release closes the listener and every connection: the attempts hanging
// on them fail at once.
func (h *hangingEndpoint) release() {
	_ = h.ln.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		_ = c.Close()
	}
}

// timedReceiver is a receiver that verifies signatures and notes when
// each request arrived.
type timedReceiver struct {
	*receiver
	mu       sync.Mutex
	arrivals []time.Time
}

func newTimedReceiver(t testing.TB) *timedReceiver {
	tr := &timedReceiver{}
	tr.receiver = newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		tr.mu.Lock()
		tr.arrivals = append(tr.arrivals, time.Now())
		tr.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	return tr
}

// last returns when the n-th request arrived, and whether it has.
func (tr *timedReceiver) last(n int) (time.Time, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.arrivals) < n {
		return time.Time{}, false
	}
	return tr.arrivals[n-1], true
}

// deadFleet is one healthy endpoint beside hanging and fast-failing ones,
// the healthy one made last (its deliveries come last in ID order).
type deadFleet struct {
	healthy *timedReceiver
	hanging []*hangingEndpoint
}

func newDeadFleet(t testing.TB, b *bundle, hanging, failing int) *deadFleet {
	f := &deadFleet{healthy: newTimedReceiver(t)}
	for range hanging {
		h := newHangingEndpoint(t)
		f.hanging = append(f.hanging, h)
		b.endpoint(h.url())
	}
	for range failing {
		b.endpoint(closedPort(t))
	}
	f.healthy.expect(b.endpoint(f.healthy.url("/")).Secret)
	return f
}

// releaseAtEnd has the hanging endpoints' connections closed when the
// test ends, before the dispatchers started so far stop (cleanups run
// last first): their attempts then end at once, not after the timeout.
func (f *deadFleet) releaseAtEnd(t testing.TB) {
	t.Cleanup(func() {
		for _, h := range f.hanging {
			h.release()
		}
	})
}

// fairConfig is the dispatcher's default configuration (workers, timeout)
// on the test's clock, which does not move: no retry falls due.
func fairConfig(b *bundle) Config {
	cfg := b.config()
	cfg.FirstAttemptWorkers, cfg.RetryWorkers, cfg.Timeout = 0, 0, 0
	return cfg
}

// commitChanges records n ability changes in one transaction and returns
// when it committed; it wakes the dispatchers listening on b's outbox.
func commitChanges(t testing.TB, b *bundle, n int) time.Time {
	store(t, b, agentEvents(n, 1))
	committed := time.Now()
	b.outbox.Committed()
	return committed
}

// checkHealthyGotAll waits (within a generous deadline) for the healthy
// endpoint's n deliveries, checks they are n distinct, correctly signed
// webhooks, and returns the time from the commit to the last one.
func checkHealthyGotAll(t *testing.T, f *deadFleet, n int, committed time.Time) time.Duration {
	t.Helper()
	waitWithin(t, time.Minute, fmt.Sprintf("the healthy endpoint's %d deliveries", n), func() bool {
		_, ok := f.healthy.last(n)
		return ok
	})
	last, _ := f.healthy.last(n)
	ids := map[string]bool{}
	for _, r := range f.healthy.got() {
		if r.VerifyErr != nil {
			t.Errorf("request %s: signature: %v", r.ID, r.VerifyErr)
		}
		ids[r.ID] = true
	}
	if len(ids) != n || f.healthy.count() != n {
		t.Errorf("the healthy endpoint got %d requests for %d deliveries, want %d", f.healthy.count(), len(ids), n)
	}
	return last.Sub(committed)
}

// The promise of the fairness rule (pacer.go): however many endpoints
// hang or fail, a healthy endpoint gets a fresh change within 2 s. That
// figure is logged; a loaded test machine can take longer (CI saw 2.5 s
// on SQLite), so the tests assert what it rests on: the healthy endpoint
// never waits for a dead one's attempt timeout (DefaultTimeout, 10 s).
const fairPromise = 2 * time.Second

// checkNotDelayed fails the test when the healthy endpoint took as long
// as a dead endpoint's attempt timeout, and logs whether it kept the
// 2 s promise.
func checkNotDelayed(t *testing.T, took time.Duration) {
	t.Helper()
	if took >= DefaultTimeout && raceDetector {
		// Under the race detector (CI step 7) two processes on SQLite
		// took 13.9 s: every attempt and statement is several times
		// slower there. What is asserted there is that all arrive.
		t.Logf("under the race detector: the healthy endpoint got its deliveries %v after the commit", took)
	} else if took >= DefaultTimeout {
		t.Errorf("the healthy endpoint got its deliveries %v after the commit: it waited as long as a dead endpoint's attempt timeout (%v)",
			took, DefaultTimeout)
	} else if took > fairPromise {
		t.Logf("beyond the %v promise (a loaded machine): %v", fairPromise, took)
	}
}

// TestDeadEndpointsDoNotDelayAHealthyOne: one healthy endpoint beside 5
// that accept connections and never answer and 20 whose port is closed;
// 500 changes in one commit (13,000 deliveries). The healthy endpoint
// gets its 500 within 2 s of the commit, and the hanging ones hold one
// worker each (not proven healthy: one attempt at a time).
//
// It and the next test measure a promise in time, so they do not run in
// parallel: they run first, one at a time, before the package's parallel
// tests (whose dispatchers would share the machine with them).
func TestDeadEndpointsDoNotDelayAHealthyOne(t *testing.T) {
	const changes = 500
	b := setup(t)
	f := newDeadFleet(t, b, 5, 20)
	b.start(fairConfig(b))
	f.releaseAtEnd(t)
	took := checkHealthyGotAll(t, f, changes, commitChanges(t, b, changes))
	t.Logf("%s: the healthy endpoint got %d of %d deliveries %v after the commit", b.db.Dialect, changes, changes*26, took)
	checkNotDelayed(t, took)
	for i, h := range f.hanging {
		if n := h.peakOpen(); n > 1 {
			t.Errorf("hanging endpoint %d got %d connections at once, want one", i, n)
		}
	}
}

// TestDeadEndpointsDoNotDelayAHealthyOneTwoProcesses is the same with
// two dispatchers, each with its own connection pool, lease owner and
// outbox, on one database: the process that commits is woken, the other
// polls. Both take part, and together they keep the promise.
func TestDeadEndpointsDoNotDelayAHealthyOneTwoProcesses(t *testing.T) {
	const changes = 500
	url := dbtest.URL(t)
	b, dbs := twoProcesses(t, url)
	f := newDeadFleet(t, b, 5, 20)
	var ds [2]*Dispatcher
	for i := range ds {
		outbox := b.outbox
		if i == 1 {
			outbox = NewOutbox(b.clock.Now)
		}
		d, err := NewDispatcher(dbs[i], outbox, fairConfig(b))
		if err != nil {
			t.Fatal(err)
		}
		run(t, d)
		ds[i] = d
	}
	f.releaseAtEnd(t)
	took := checkHealthyGotAll(t, f, changes, commitChanges(t, b, changes))
	t.Logf("%s, two processes: the healthy endpoint got %d of %d deliveries %v after the commit", b.db.Dialect, changes, changes*26, took)
	checkNotDelayed(t, took)
	waitFor(t, "both dispatchers to make attempts", func() bool {
		// A lane's series exists once it made an attempt: the second
		// process may not have made one when the healthy endpoint had all.
		one, _ := metricValue(t, ds[0], "outdial_webhook_attempt_duration_seconds", "lane", "first")
		other, _ := metricValue(t, ds[1], "outdial_webhook_attempt_duration_seconds", "lane", "first")
		return one > 0 && other > 0
	})
	for i, h := range f.hanging {
		if n := h.peakOpen(); n > 2 {
			t.Errorf("hanging endpoint %d got %d connections at once from two processes, want one each", i, n)
		}
	}
}
