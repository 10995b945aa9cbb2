package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"
)

// RequestBody returns the JSON body of a GraphQL POST of query.
func RequestBody(query string) []byte {
	b, err := json.Marshal(map[string]string{"query": query})
	if err != nil {
		panic(err) // a string always encodes
	}
	return b
}

// Target is an endpoint to load: the URL of a POST /graphql (or of the
// baseline) and the bearer token to send.
type Target struct {
	Name  string
	URL   string
	Token string
}

// Load fires the same request from a fixed number of workers, each
// sending its next request as soon as the previous one is answered.
type Load struct {
	Client      *http.Client
	Body        []byte
	Concurrency int
}

// NewClient returns an HTTP client that keeps one connection per worker
// alive (the default transport keeps only two per host).
func NewClient(concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 2 * concurrency
	t.MaxIdleConnsPerHost = 2 * concurrency
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// Result is what a run measured.
type Result struct {
	Requests     int
	Failures     int
	FirstFailure string
	Elapsed      time.Duration
	// CPU is the CPU time the whole process used meanwhile (server and
	// load generator): on a shared machine, a measure of the work less
	// disturbed by the others than the elapsed time.
	CPU       time.Duration
	latencies []time.Duration // sorted
}

// CPUPerRequest returns the process CPU time per answered request.
func (r Result) CPUPerRequest() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Requests)
}

// PerSecond returns the answered requests per second (failures included).
func (r Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Percentile returns the latency below which a fraction p (0 to 1) of the
// requests were answered.
func (r Result) Percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(p*float64(len(r.latencies))+0.5) - 1
	return r.latencies[min(max(i, 0), len(r.latencies)-1)]
}

// String summarises r on one line.
func (r Result) String() string {
	s := fmt.Sprintf("%7d requests %9.1f req/s  p50 %8s  p90 %8s  p99 %8s  max %8s  failures %d",
		r.Requests, r.PerSecond(), round(r.Percentile(0.5)), round(r.Percentile(0.9)), round(r.Percentile(0.99)),
		round(r.Percentile(1)), r.Failures)
	if r.FirstFailure != "" {
		s += " (first: " + r.FirstFailure + ")"
	}
	return s
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }

// merge adds the measurements of o to r.
func (r *Result) merge(o Result) {
	r.Requests += o.Requests
	r.Failures += o.Failures
	if r.FirstFailure == "" {
		r.FirstFailure = o.FirstFailure
	}
	r.Elapsed += o.Elapsed
	r.CPU += o.CPU
	r.latencies = append(r.latencies, o.latencies...)
	slices.Sort(r.latencies)
}

// Run loads t for d (or until ctx ends): workers start no request after
// d, and the requests under way are finished and counted, not cut short.
func (l Load) Run(ctx context.Context, t Target, d time.Duration) Result {
	workers := max(l.Concurrency, 1)
	results := make([]Result, workers)
	var wg sync.WaitGroup
	start, cpu := time.Now(), cpuTime()
	deadline := start.Add(d)
	for w := range workers {
		wg.Go(func() {
			res := &results[w]
			for ctx.Err() == nil && time.Now().Before(deadline) {
				began := time.Now()
				err := l.Once(ctx, t)
				if ctx.Err() != nil {
					return // interrupted: not counted
				}
				res.Requests++
				res.latencies = append(res.latencies, time.Since(began))
				if err != nil {
					res.Failures++
					if res.FirstFailure == "" {
						res.FirstFailure = err.Error()
					}
				}
			}
		})
	}
	wg.Wait()
	total := Result{Elapsed: time.Since(start), CPU: cpuTime() - cpu}
	for _, r := range results {
		total.merge(r)
	}
	return total
}

// Once sends one request and reads the whole answer; an answer that is
// not 200 or that carries GraphQL errors is a failure.
func (l Load) Once(ctx context.Context, t Target) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(l.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+t.Token)
	resp, err := l.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := io.Copy(&body, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, body.Bytes())
	}
	if bytes.Contains(body.Bytes(), []byte(`"errors"`)) {
		return fmt.Errorf("GraphQL errors: %.200s", body.Bytes())
	}
	return nil
}

// Compare loads a and b alternately, in rounds of round each, until each
// has been loaded for d, after a warm-up round of each that is not
// counted: both see the same share of whatever else the machine is doing.
func (l Load) Compare(ctx context.Context, a, b Target, d, round time.Duration) (Result, Result) {
	l.Run(ctx, a, min(round, d))
	l.Run(ctx, b, min(round, d))
	var ra, rb Result
	for left := d; left > 0 && ctx.Err() == nil; left -= round {
		ra.merge(l.Run(ctx, a, min(round, left)))
		rb.merge(l.Run(ctx, b, min(round, left)))
	}
	return ra, rb
}

// cpuTime returns the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
