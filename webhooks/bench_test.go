package webhooks

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"outdial/models"
)

// sink is a receiver for benchmarks: it reads each body, answers 204 and
// signals when it has counted want requests.
type sink struct {
	srv  *httptest.Server
	n    atomic.Int64
	want atomic.Int64
	done chan struct{}
}

func newSink(tb testing.TB) *sink {
	s := &sink{done: make(chan struct{}, 1)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
		if s.n.Add(1) == s.want.Load() {
			s.done <- struct{}{}
		}
	}))
	tb.Cleanup(s.srv.Close)
	return s
}

// expect resets the count and arms the signal for n more requests.
func (s *sink) expect(n int) {
	s.n.Store(0)
	s.want.Store(int64(n))
}

// wait blocks until the expected requests arrived, failing after 2 minutes.
func (s *sink) wait(tb testing.TB) {
	select {
	case <-s.done:
	case <-time.After(2 * time.Minute):
		tb.Fatalf("the receiver got %d of %d requests", s.n.Load(), s.want.Load())
	}
}

// store records events in one transaction without waking anyone, and
// returns their bodies.
func store(tb testing.TB, b *bundle, events []Event) [][]byte {
	var rows []models.WebhookEvent
	err := b.db.Transaction(func(tx *gorm.DB) error {
		var err error
		rows, err = b.outbox.Enqueue(context.Background(), tx, events)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	bodies := make([][]byte, len(rows))
	for i, r := range rows {
		bodies[i] = []byte(r.Payload)
	}
	return bodies
}

// agentEvents returns n ability events for agents 1..n at version v.
func agentEvents(n int, v int64) []Event {
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = abilityEvent(int64(i+1), v)
	}
	return evs
}

// benchDispatcher starts a dispatcher with the defaults, on the real
// clock, sending to loopback. Only commits wake it (its poll is an hour
// apart), so that no round starts before the benchmark's clock does.
func benchDispatcher(b *testing.B, bu *bundle) *Dispatcher {
	cfg := Config{AllowedCIDRs: loopback, Logger: bu.log, PollInterval: time.Hour, Registerer: prometheus.NewRegistry()}
	d, err := NewDispatcher(bu.db, bu.outbox, cfg)
	if err != nil {
		b.Fatal(err)
	}
	run(b, d)
	return d
}

// bareLoop posts bodies to url with workers goroutines sharing one tuned
// http.Client: the baseline a dispatcher is compared with. Each request
// carries the same headers as a webhook (content-type, webhook-id,
// webhook-timestamp, webhook-signature, user-agent), computed beforehand:
// the baseline does the same HTTP work, without storage or signing.
func bareLoop(tb testing.TB, c *http.Client, url string, bodies [][]byte, workers int) {
	sig := "v1," + strings.Repeat("A", 44)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(bodies)); i = next.Add(1) - 1 {
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(bodies[i]))
				if err != nil {
					tb.Error(err)
					return
				}
				req.Header = http.Header{"Content-Type": {"application/json"}, "User-Agent": {userAgent},
					"Webhook-Id": {"msg_2ab4c6d8e0f2g4h6j8k0m2n4p6"}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {sig}}
				resp, err := c.Do(req)
				if err != nil {
					tb.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
}

// BenchmarkFanOut compares the dispatcher's throughput with a bare
// http.Client loop posting the same bodies to the same receiver with the
// same concurrency (DefaultFirstAttemptWorkers), in the same process, so
// that the receiver's CPU and GOMAXPROCS weigh on both alike. Both sides
// post over warm connections, start from a collected heap, and are timed
// over the same n deliveries; the bare loop starts only once the
// dispatcher has recorded its round, so that none of the dispatcher's
// work lands in the baseline's time or CPU. The metric x-bare is
// dispatcher throughput (received by the receiver) / bare throughput
// (target ≥ 0.7); x-bare-recorded counts the dispatcher's time until all
// its results are recorded as well.
func BenchmarkFanOut(b *testing.B) {
	const n = 5000
	bu := setup(b)
	s := newSink(b)
	bu.endpoint(s.srv.URL + "/")
	d := benchDispatcher(b, bu)
	bare := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: DefaultFirstAttemptWorkers}}
	v := int64(1)
	// dispatch has the dispatcher send events new ability changes, and
	// returns their bodies, the time until they were received and until
	// they were recorded, and the CPU used meanwhile.
	dispatch := func(events int) (bodies [][]byte, received, recorded, cpu time.Duration) {
		s.expect(events)
		want := succeeded(b, d) + float64(events)
		bodies = store(b, bu, agentEvents(events, v))
		v++
		runtime.GC()
		start, cpu0 := time.Now(), cpuTime()
		bu.outbox.Committed()
		s.wait(b)
		received = time.Since(start)
		for succeeded(b, d) < want {
			time.Sleep(200 * time.Microsecond)
		}
		return bodies, received, time.Since(start), cpuTime() - cpu0
	}
	post := func(bodies [][]byte) {
		s.expect(len(bodies))
		bareLoop(b, bare, s.srv.URL+"/", bodies, DefaultFirstAttemptWorkers)
		s.wait(b)
	}
	// Warm up: open both sides' connections, fill the database's caches.
	bodies, _, _, _ := dispatch(4 * DefaultFirstAttemptWorkers)
	post(bodies)

	var dispatched, recorded, baseline, dispatchedCPU, baselineCPU time.Duration
	for b.Loop() {
		bodies, rec, all, cpu := dispatch(n)
		dispatched += rec
		recorded += all
		dispatchedCPU += cpu

		runtime.GC()
		start, cpu := time.Now(), cpuTime()
		post(bodies)
		baseline += time.Since(start)
		baselineCPU += cpuTime() - cpu
	}
	rounds := float64(b.N)
	b.ReportMetric(n*rounds/dispatched.Seconds(), "deliveries/s")
	b.ReportMetric(n*rounds/baseline.Seconds(), "bare-posts/s")
	b.ReportMetric(baseline.Seconds()/dispatched.Seconds(), "x-bare")
	b.ReportMetric(baseline.Seconds()/recorded.Seconds(), "x-bare-recorded")
	b.ReportMetric(float64(dispatchedCPU.Microseconds())/(n*rounds), "cpu-µs/delivery")
	b.ReportMetric(float64(baselineCPU.Microseconds())/(n*rounds), "bare-cpu-µs/post")
}

// succeeded returns how many deliveries d has recorded as SUCCEEDED.
func succeeded(tb testing.TB, d *Dispatcher) float64 {
	return metric(tb, d, "outdial_webhook_deliveries_total", "outcome", outcomeSucceeded)
}

// cpuTime returns the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTenThousand measures how long 10,000 deliveries recorded by
// one transaction (a mutation changing 10,000 agents) take to reach a
// local receiver, and to be recorded as SUCCEEDED (target < 10 s).
func BenchmarkTenThousand(b *testing.B) {
	const n = 10_000
	bu := setup(b)
	s := newSink(b)
	bu.endpoint(s.srv.URL + "/")
	benchDispatcher(b, bu)
	var received, recorded time.Duration
	v := int64(0)
	for b.Loop() {
		v++
		s.expect(n)
		store(b, bu, agentEvents(n, v))
		start := time.Now()
		bu.outbox.Committed()
		s.wait(b)
		received += time.Since(start)
		waitFor(b, "10,000 deliveries recorded", func() bool {
			var pending int64
			bu.db.Model(&models.WebhookDelivery{}).Where("status = ?", StatusPending).Count(&pending)
			return pending == 0
		})
		recorded += time.Since(start)
	}
	b.ReportMetric(received.Seconds()/float64(b.N), "s-received/10k")
	b.ReportMetric(recorded.Seconds()/float64(b.N), "s-recorded/10k")
}

// BenchmarkLatency measures, with an idle queue, the time from a commit
// to the receiver getting the webhook (target p50 < 20 ms).
func BenchmarkLatency(b *testing.B) {
	bu := setup(b)
	s := newSink(b)
	bu.endpoint(s.srv.URL + "/")
	benchDispatcher(b, bu)
	var lat []time.Duration
	v := int64(0)
	for b.Loop() {
		v++
		s.expect(1)
		store(b, bu, []Event{abilityEvent(1, v)})
		start := time.Now()
		bu.outbox.Committed()
		s.wait(b)
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
