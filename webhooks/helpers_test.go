package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"outdial/internal/hooktest"
	"outdial/models"
	"outdial/models/dbtest"
)

// loopback is the allow-list that lets dispatchers reach httptest servers.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// clock is a test clock that only moves when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: models.Now()} }

// Now returns the clock's time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set sets the clock to t.
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// syncBuffer is a bytes.Buffer safe for concurrent use, for logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// bundle is what most tests need: a database, a clock, an outbox, logs.
type bundle struct {
	t      testing.TB
	db     *models.DB
	clock  *clock
	outbox *Outbox
	logs   *syncBuffer
	log    *slog.Logger
}

// setup returns a bundle on a new test database (SQLite, or MySQL when
// TEST_MYSQL_URL is set).
func setup(t testing.TB) *bundle {
	t.Helper()
	return setupOn(t, dbtest.Open(t))
}

// twoProcesses opens the database at url twice, as two processes would
// (each its own connection pool), migrates it, and returns a bundle on
// the first and both pools, closed when the test ends.
func twoProcesses(t *testing.T, url string) (*bundle, [2]*models.DB) {
	t.Helper()
	var dbs [2]*models.DB
	for i := range dbs {
		db, err := models.Open(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		dbs[i] = db
	}
	b := setupOn(t, dbs[0])
	if err := b.db.Migrate(context.Background(), b.log); err != nil {
		t.Fatal(err)
	}
	return b, dbs
}

func setupOn(t testing.TB, db *models.DB) *bundle {
	c := newClock()
	logs := &syncBuffer{}
	return &bundle{t: t, db: db, clock: c, outbox: NewOutbox(c.Now), logs: logs,
		log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
}

// endpoint stores an enabled endpoint for every event type and agent.
func (b *bundle) endpoint(url string) models.WebhookEndpoint {
	b.t.Helper()
	now := b.clock.Now()
	ep := models.WebhookEndpoint{URL: url, Enabled: true, Secret: NewSecret(), CreatedAt: now, UpdatedAt: now}
	if err := b.db.Create(&ep).Error; err != nil {
		b.t.Fatalf("create endpoint: %v", err)
	}
	return ep
}

// abilityEvent returns an agent.calling_ability.changed event.
func abilityEvent(agentID, version int64) Event {
	return Event{Type: TypeAbilityChanged, AgentID: &agentID, Version: &version,
		Data: map[string]any{"agent": map[string]any{"id": fmt.Sprint(agentID)}, "version": version}}
}

// enqueue records events in one transaction, as a command does (run again
// after a lost deadlock or a lock wait timeout), and wakes the outbox's
// listeners.
func (b *bundle) enqueue(events ...Event) []models.WebhookEvent {
	b.t.Helper()
	return enqueueWith(b.t, b.db, b.outbox, events...)
}

func enqueueWith(t testing.TB, db *models.DB, o *Outbox, events ...Event) []models.WebhookEvent {
	t.Helper()
	var rows []models.WebhookEvent
	err := models.RetryLocks(context.Background(), func() error {
		return db.Transaction(func(tx *gorm.DB) error {
			var err error
			rows, err = o.Enqueue(context.Background(), tx, events)
			return err
		})
	})
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	o.Committed()
	return rows
}

// config returns a dispatcher configuration on the bundle's clock, logs,
// a fresh registry, no jitter and an allow-list for loopback receivers.
func (b *bundle) config() Config {
	return Config{Now: b.clock.Now, Rand: func() float64 { return 0 }, AllowedCIDRs: loopback,
		Logger: b.log, Registerer: prometheus.NewRegistry(), FirstAttemptWorkers: 8, RetryWorkers: 4,
		PollInterval: 50 * time.Millisecond, Timeout: 5 * time.Second}
}

// start returns a running dispatcher; it is stopped when the test ends.
func (b *bundle) start(cfg Config) *Dispatcher {
	b.t.Helper()
	d := b.dispatcher(cfg)
	run(b.t, d)
	return d
}

// dispatcher returns a dispatcher on the bundle's database and outbox
// with cfg, not running.
func (b *bundle) dispatcher(cfg Config) *Dispatcher {
	b.t.Helper()
	d, err := NewDispatcher(b.db, b.outbox, cfg)
	if err != nil {
		b.t.Fatalf("NewDispatcher: %v", err)
	}
	return d
}

// run runs d until the test ends, and checks that Run returns.
func run(t testing.TB, d *Dispatcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			awaitStopped(t, "Dispatcher.Run", done, 30*time.Second)
		})
	}
	t.Cleanup(stop)
	return stop
}

// awaitStopped waits for done, closed when what (a Run) returned after
// its context was cancelled, at most within. Past it the test fails with
// the stacks of this package's goroutines, so that a Run that cannot stop
// names what it waits on instead of hanging the test binary.
func awaitStopped(t testing.TB, what string, done <-chan struct{}, within time.Duration) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(within):
		t.Errorf("%s did not return %v after its context was cancelled; the goroutines of package webhooks:\n%s",
			what, within, packageStacks())
	}
}

// runEnded waits for the result of a Run (what), sent on done after its
// context was cancelled, at most within, and returns it. Past within the
// test fails as awaitStopped does, naming what the goroutines wait on,
// instead of hanging until the test binary's own timeout.
func runEnded(t testing.TB, what string, done <-chan error, within time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(within):
		t.Errorf("%s did not return %v after its context was cancelled; the goroutines of package webhooks:\n%s",
			what, within, packageStacks())
		return nil
	}
}

// packageStacks returns the stacks of the goroutines running code of
// package webhooks, the test runner's excepted, at most 40 of them.
func packageStacks() string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "outdial/webhooks.") && !strings.Contains(g, "testing.tRunner") && len(out) < 40 {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// waitFor polls cond (a database or receiver check, never a retry delay:
// retries are made due by moving the clock) until it holds or a minute
// passed: generous, for a loaded machine and the race detector.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, time.Minute, what, cond)
}

// waitWithin is waitFor with another timeout.
func waitWithin(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitProgress polls count until it reaches want. It fails the test when
// count stays the same for a minute: slow progress on a loaded machine is
// waited for, a stall is not.
func waitProgress(t testing.TB, what string, want int64, count func() int64) {
	t.Helper()
	last, since := count(), time.Now()
	for last < want {
		if time.Since(since) > time.Minute {
			t.Fatalf("timed out waiting for %s: stuck at %d for a minute", what, last)
		}
		time.Sleep(10 * time.Millisecond)
		if n := count(); n != last {
			last, since = n, time.Now()
		}
	}
}

// delivery reads a delivery.
func (b *bundle) delivery(id int64) models.WebhookDelivery {
	b.t.Helper()
	var d models.WebhookDelivery
	if err := b.db.First(&d, id).Error; err != nil {
		b.t.Fatalf("read delivery %d: %v", id, err)
	}
	return d
}

// deliveriesOf reads the deliveries of an event.
func (b *bundle) deliveriesOf(eventID int64) []models.WebhookDelivery {
	b.t.Helper()
	var ds []models.WebhookDelivery
	if err := b.db.Where("event_id = ?", eventID).Order("id").Find(&ds).Error; err != nil {
		b.t.Fatalf("read deliveries: %v", err)
	}
	return ds
}

// onlyDelivery returns the one delivery of an event.
func (b *bundle) onlyDelivery(eventID int64) models.WebhookDelivery {
	b.t.Helper()
	ds := b.deliveriesOf(eventID)
	if len(ds) != 1 {
		b.t.Fatalf("event %d has %d deliveries, want 1", eventID, len(ds))
	}
	return ds[0]
}

// attempts reads a delivery's attempts, oldest first.
func (b *bundle) attempts(deliveryID int64) []models.WebhookAttempt {
	b.t.Helper()
	var as []models.WebhookAttempt
	if err := b.db.Where("delivery_id = ?", deliveryID).Order("id").Find(&as).Error; err != nil {
		b.t.Fatalf("read attempts: %v", err)
	}
	return as
}

// waitStatus waits until delivery id has status and n attempts.
func (b *bundle) waitStatus(id int64, status string, n int) models.WebhookDelivery {
	b.t.Helper()
	var d models.WebhookDelivery
	waitFor(b.t, fmt.Sprintf("delivery %d %s after %d attempts", id, status, n), func() bool {
		d = b.delivery(id)
		return d.Status == status && d.AttemptCount == n && d.LeaseOwner == nil
	})
	return d
}

// received is one request a receiver got.
type received = hooktest.Request

// receiver is a webhook receiver (hooktest.Receiver, lenient: the tests
// check VerifyErr themselves) that verifies every signature, its
// timestamp apart (tests move the clock), and answers as told.
type receiver struct{ *hooktest.Receiver }

// newReceiver starts a receiver, closed when the test ends; answer writes
// the answer to the n-th request (from 1); nil: 204.
func newReceiver(t testing.TB, answer func(w http.ResponseWriter, r *http.Request, n int)) *receiver {
	opts := hooktest.Options{IgnoreTimestamp: true, Lenient: true}
	if answer != nil {
		opts.Answer = func(w http.ResponseWriter, r *http.Request, got hooktest.Request) { answer(w, r, got.N) }
	}
	return &receiver{hooktest.New(t, opts)}
}

// hangUntil holds a receiver's answer until released is closed or the
// client gives up on the request.
func hangUntil(r *http.Request, released <-chan struct{}) {
	select {
	case <-released:
	case <-r.Context().Done():
	}
}

// expect sets the secret the receiver verifies signatures with.
func (rc *receiver) expect(secret string) { rc.SetSecrets(secret) }

// got returns the requests received so far, in the order they arrived.
func (rc *receiver) got() []received { return rc.Arrived() }

// count returns how many requests were received.
func (rc *receiver) count() int { return rc.Count() }

// url returns the receiver's URL with path.
func (rc *receiver) url(path string) string { return rc.URL(path) }

// verify checks a request's signature with the Standard Webhooks library.
// The timestamp is checked apart (tests move the clock).
func verify(secret string, body []byte, h http.Header) error {
	return hooktest.VerifyIgnoringTimestamp(secret, body, h)
}

// status answers with code.
func status(code int) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(code) }
}

// unixOf parses a webhook-timestamp header.
func unixOf(t testing.TB, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("webhook-timestamp %q: %v", s, err)
	}
	return n
}

// decodeBody decodes a webhook body.
func decodeBody(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("body %q is not JSON: %v", body, err)
	}
	return m
}

var _ = strings.Contains

// metric returns the value of the counter, gauge or histogram count name
// whose labels include labels (name=value pairs), as d registered it.
func metric(t testing.TB, d *Dispatcher, name string, labels ...string) float64 {
	t.Helper()
	v, ok := metricValue(t, d, name, labels...)
	if !ok {
		t.Fatalf("metric %s %v not found", name, labels)
	}
	return v
}

// metricValue is metric, and reports whether the series exists: a
// histogram's or a labelled counter's series appears only once something
// was observed in it.
func metricValue(t testing.TB, d *Dispatcher, name string, labels ...string) (float64, bool) {
	t.Helper()
	g, ok := d.cfg.Registerer.(prometheus.Gatherer)
	if !ok {
		t.Fatalf("the dispatcher's registerer cannot be gathered")
	}
	fams, err := g.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
				}
				if !found {
					continue metrics
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue(), true
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue(), true
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}
