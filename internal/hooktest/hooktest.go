// Package hooktest is the webhook receiver of the tests: an HTTP server
// that verifies the signature of every request with the Standard Webhooks
// library (github.com/standard-webhooks/standard-webhooks, the reference
// implementation of the specification Outdial signs by, not our own
// code), answers as the test says and records what it got.
//
// It imports nothing of Outdial, so that the tests of every package,
// webhooks' own included, can use it.
package hooktest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// WaitTimeout bounds the waits of a Receiver: generous, because the
// machines that run the tests are small and shared.
const WaitTimeout = 60 * time.Second

// ErrNoSecret is the VerifyErr of a request that arrived before the
// receiver had a secret (strict receivers only).
var ErrNoSecret = errors.New("the receiver has no secret yet")

// Request is one request a Receiver got.
type Request struct {
	ID        string // webhook-id
	Timestamp string // webhook-timestamp
	Signature string // webhook-signature
	// ContentType is the Content-Type header.
	ContentType string
	Method      string
	Path        string
	Header      http.Header
	Body        []byte
	// N is its number among all the requests the receiver got (from 1),
	// Nth among those with its webhook-id.
	N, Nth int
	// Arrived is when its headers and body had been read, Answered when
	// its answer was written (zero while in flight).
	Arrived, Answered time.Time
	// Status is the status of the answer (0 while in flight).
	Status int
	// VerifyErr is nil when the signature verified with one of the
	// secrets (and, for a lenient receiver, when it had none yet).
	VerifyErr error
}

// Answer writes the answer to r, the request the receiver records as got
// (its N and Nth are set). It may block, e.g. until r's context ends.
type Answer func(w http.ResponseWriter, r *http.Request, got Request)

// Status is an Answer of code.
func Status(code int) Answer {
	return func(w http.ResponseWriter, _ *http.Request, _ Request) { w.WriteHeader(code) }
}

// Options are a Receiver's; the zero value answers 204 to every request
// that verifies.
type Options struct {
	// Answer answers the requests that verify; nil: 204.
	Answer Answer
	// IgnoreTimestamp verifies signatures without the library's check of
	// the timestamp's age (for tests that move the clock).
	IgnoreTimestamp bool
	// Lenient records a request that does not verify with its VerifyErr
	// and answers it with Answer, for tests that check VerifyErr
	// themselves; requests that arrive before the first SetSecrets are
	// not verified. Otherwise (strict) such a request is answered 400 and
	// fails the test when it ends.
	Lenient bool
}

// Receiver is a webhook endpoint of a test (New).
type Receiver struct {
	tb   testing.TB
	srv  *httptest.Server
	opts Options

	mu       sync.Mutex
	secrets  []string
	arrived  []*Request // in arrival order, in flight included
	answered []Request  // in answer order
	perID    map[string]int
	inflight map[string]int
	overlaps []string // webhook-ids received while a request with the same ID was in flight
	notify   chan struct{}
}

// New starts a receiver, closed when tb ends.
func New(tb testing.TB, opts Options) *Receiver {
	rc := &Receiver{tb: tb, opts: opts, perID: map[string]int{}, inflight: map[string]int{}, notify: make(chan struct{}, 1)}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	tb.Cleanup(rc.srv.Close)
	if !opts.Lenient {
		tb.Cleanup(func() {
			for _, r := range rc.Arrived() {
				if r.VerifyErr != nil {
					tb.Errorf("receiver: request %s did not verify: %v", r.ID, r.VerifyErr)
					return
				}
			}
		})
	}
	return rc
}

// Server returns the receiver's server (its listener's address, say).
func (rc *Receiver) Server() *httptest.Server { return rc.srv }

// URL returns the receiver's URL with path.
func (rc *Receiver) URL(path string) string { return rc.srv.URL + path }

// SetSecrets sets the secrets (whsec_…) signatures are verified with: a
// request passes when one of them verifies it.
func (rc *Receiver) SetSecrets(secrets ...string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secrets = secrets
}

func (rc *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r := &Request{ID: req.Header.Get("webhook-id"), Timestamp: req.Header.Get("webhook-timestamp"),
		Signature: req.Header.Get("webhook-signature"), ContentType: req.Header.Get("Content-Type"), Method: req.Method, Path: req.URL.Path,
		Header: req.Header.Clone(), Body: body, Arrived: time.Now()}
	rc.mu.Lock()
	secrets := rc.secrets
	rc.perID[r.ID]++
	r.Nth = rc.perID[r.ID]
	rc.inflight[r.ID]++
	if rc.inflight[r.ID] > 1 {
		rc.overlaps = append(rc.overlaps, r.ID)
	}
	rc.mu.Unlock()

	if len(secrets) > 0 || !rc.opts.Lenient {
		r.VerifyErr = rc.verify(secrets, body, req.Header)
	}
	rc.mu.Lock()
	rc.arrived = append(rc.arrived, r)
	r.N = len(rc.arrived)
	got := *r
	rc.mu.Unlock()
	rc.wake()

	sw := &statusWriter{ResponseWriter: w}
	switch {
	case r.VerifyErr != nil && !rc.opts.Lenient:
		sw.WriteHeader(http.StatusBadRequest)
	case rc.opts.Answer == nil:
		sw.WriteHeader(http.StatusNoContent)
	default:
		rc.opts.Answer(sw, req, got)
	}
	if sw.status == 0 {
		sw.status = http.StatusOK
	}

	rc.mu.Lock()
	r.Status, r.Answered = sw.status, time.Now()
	rc.inflight[r.ID]--
	rc.answered = append(rc.answered, *r)
	rc.mu.Unlock()
	rc.wake()
}

// wake wakes a waiter, if any.
func (rc *Receiver) wake() {
	select {
	case rc.notify <- struct{}{}:
	default:
	}
}

// verify verifies a request with the Standard Webhooks library against
// each secret and returns nil when one verifies it.
func (rc *Receiver) verify(secrets []string, body []byte, h http.Header) error {
	if len(secrets) == 0 {
		return ErrNoSecret
	}
	var err error
	for _, s := range secrets {
		var wh *standardwebhooks.Webhook
		if wh, err = standardwebhooks.NewWebhook(s); err != nil {
			return err
		}
		if rc.opts.IgnoreTimestamp {
			err = wh.VerifyIgnoringTimestamp(body, h)
		} else {
			err = wh.Verify(body, h)
		}
		if err == nil {
			return nil
		}
	}
	return err
}

// VerifyIgnoringTimestamp checks a request's signature against secret
// with the Standard Webhooks library, the timestamp's age apart.
func VerifyIgnoringTimestamp(secret string, body []byte, h http.Header) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return err
	}
	return wh.VerifyIgnoringTimestamp(body, h)
}

// statusWriter remembers the status an Answer wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Arrived returns a copy of the requests received so far, in the order
// they arrived, those still being answered included (Status 0).
func (rc *Receiver) Arrived() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]Request, len(rc.arrived))
	for i, r := range rc.arrived {
		out[i] = *r
	}
	return out
}

// Count returns how many requests arrived.
func (rc *Receiver) Count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.arrived)
}

// Answered returns a copy of the requests answered so far, in the order
// they were answered.
func (rc *Receiver) Answered() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Request(nil), rc.answered...)
}

// AckedIDs returns how many 2xx answers each webhook-id got.
func (rc *Receiver) AckedIDs() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string]int{}
	for _, r := range rc.answered {
		if r.Status >= 200 && r.Status <= 299 {
			out[r.ID]++
		}
	}
	return out
}

// AckedCount returns how many requests were answered 2xx.
func (rc *Receiver) AckedCount() int {
	n := 0
	for _, c := range rc.AckedIDs() {
		n += c
	}
	return n
}

// Overlapping returns the webhook-ids that arrived while a request with
// the same ID was still in flight.
func (rc *Receiver) Overlapping() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.overlaps...)
}

// WaitAnswered waits until n requests were answered and returns the
// answered ones.
func (rc *Receiver) WaitAnswered(n int) []Request {
	rc.tb.Helper()
	rc.WaitFor(fmt.Sprintf("%d webhook requests", n), func() bool { return len(rc.Answered()) >= n })
	return rc.Answered()
}

// WaitFor waits until cond holds, waking at every request that arrives
// or is answered, failing the test after WaitTimeout.
func (rc *Receiver) WaitFor(what string, cond func() bool) {
	rc.tb.Helper()
	rc.WaitWithin(WaitTimeout, what, cond)
}

// WaitWithin is WaitFor with another timeout.
func (rc *Receiver) WaitWithin(within time.Duration, what string, cond func() bool) {
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
			rc.tb.Fatalf("waited %s for %s; the receiver got %d requests", within, what, rc.Count())
		}
	}
}
