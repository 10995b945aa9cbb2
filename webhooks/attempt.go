package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxKeptBody is how much of an answer's body an attempt keeps.
const maxKeptBody = 1024

// maxDrainedBody is how much more of an answer is read so that the
// connection can be reused.
const maxDrainedBody = 64 << 10

// keptBodies recycles the buffers answers are read into.
var keptBodies = sync.Pool{New: func() any { return new([maxKeptBody]byte) }}

// userAgent identifies Outdial to receivers.
const userAgent = "Outdial-Webhooks/1"

// result is what became of one job.
type result struct {
	job       *job
	attempted bool      // an HTTP request was made (or refused before it)
	dropped   bool      // not sent: the endpoint changed meanwhile, or the lease ran out (lapsed)
	lapsed    bool      // not sent: the lease would end before the attempt
	settled   bool      // not sent: settled or taken over by another process before the attempt (begin)
	at        time.Time // when the attempt started
	status    int       // HTTP status; 0 when no answer came
	took      time.Duration
	errText   string
	body      string
	ok        bool
	gone      bool      // 410: disable the endpoint
	next      time.Time // when to retry; zero when the delivery is done
}

// attempt sends j once and returns the result, with the retry scheduled
// when it failed and retries remain.
func (d *Dispatcher) attempt(ctx context.Context, j *job) *result {
	r := &result{job: j, attempted: true, at: d.now()}
	start := time.Now()
	resp, err := d.send(ctx, j, r.at)
	r.took = time.Since(start)
	if err != nil {
		r.errText = err.Error()
		d.schedule(r, 0)
		return r
	}
	r.status, r.body = resp.status, resp.body
	r.ok = r.status >= 200 && r.status <= 299
	switch {
	case r.ok:
	case r.status >= 300 && r.status <= 399:
		r.errText = "redirect not followed"
		d.schedule(r, 0)
	case r.status == http.StatusGone:
		r.gone = true
		r.errText = "410 Gone: the endpoint is disabled"
	default:
		d.schedule(r, resp.retryAfter)
	}
	return r
}

// answer is what an attempt kept of an HTTP answer.
type answer struct {
	status     int
	body       string
	retryAfter time.Duration
}

// send makes the HTTP request of one attempt at at, within the timeout. It
// returns an error, fit for the attempt record, when no answer came.
//
// The request goes to the transport directly: http.Client would copy its
// headers for redirects, which are never followed.
func (d *Dispatcher) send(ctx context.Context, j *job, at time.Time) (answer, error) {
	if j.ep.err != nil {
		return answer{}, fmt.Errorf("cannot sign: %w", j.ep.err)
	}
	sig, err := j.ep.signer.sign(j.msgID, at, j.body)
	if err != nil {
		return answer{}, fmt.Errorf("cannot sign: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := attemptTimer(d.cfg.Timeout, cancel)
	defer stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.ep.url, bytes.NewReader(j.body))
	if err != nil {
		return answer{}, fmt.Errorf("bad URL: %w", unwrapURLError(err))
	}
	req.Header = webhookHeader(j.msgID, at, sig)
	resp, err := d.transport.RoundTrip(req)
	if err != nil {
		return answer{}, d.describe(ctx, err)
	}
	defer resp.Body.Close()
	kept := keptBodies.Get().(*[maxKeptBody]byte)
	defer keptBodies.Put(kept)
	n, _ := io.ReadFull(resp.Body, kept[:])
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrainedBody))
	a := answer{status: resp.StatusCode}
	if n > 0 {
		a.body = strings.ToValidUTF8(string(kept[:n]), "\uFFFD")
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		a.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), at)
	}
	return a, nil
}

// webhookHeader returns the headers of a webhook, their values in one
// allocation.
func webhookHeader(msgID string, at time.Time, sig string) http.Header {
	v := []string{"application/json", userAgent, msgID, strconv.FormatInt(at.Unix(), 10), sig}
	return http.Header{
		"Content-Type":      v[0:1:1],
		"User-Agent":        v[1:2:2],
		"Webhook-Id":        v[2:3:3],
		"Webhook-Timestamp": v[3:4:4],
		"Webhook-Signature": v[4:5:5],
	}
}

// errAttemptTimeout cancels an attempt that had no answer in time.
var errAttemptTimeout = errors.New("attempt timed out")

// stallGrace is how long an attempt whose timer fired late goes on.
const stallGrace = time.Second

// attemptTimer cancels an attempt after timeout, and returns the function
// that stops it. A timer that fires more than stallGrace late says that
// the process did not run meanwhile (paused by SIGSTOP, a stalled VM):
// the answer may have come while it could not read it (the kernel keeps
// it), and taking that attempt as unanswered would send the delivery
// again. The attempt then goes on for stallGrace more, enough to read
// what is waiting.
func attemptTimer(timeout time.Duration, cancel context.CancelCauseFunc) (stop func()) {
	start := time.Now()
	t := time.AfterFunc(timeout, func() {
		if time.Since(start) > timeout+stallGrace {
			time.AfterFunc(stallGrace, func() { cancel(errAttemptTimeout) })
			return
		}
		cancel(errAttemptTimeout)
	})
	return func() { t.Stop() }
}

// describe turns a failed request's error into the attempt's error text.
func (d *Dispatcher) describe(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errAttemptTimeout) {
		return fmt.Errorf("no answer within %s", d.cfg.Timeout)
	}
	return unwrapURLError(err)
}

// unwrapURLError drops the "Post <url>:" prefix that net/http adds.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseRetryAfter reads a Retry-After header, in seconds or as an HTTP
// date, as a delay from now; 0 when it is absent or unreadable.
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		return time.Duration(max(0, min(secs, 1<<31))) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(0, t.Sub(now))
	}
	return 0
}

// schedule sets r.next to the time of the next attempt after r's failed
// one: the scheduled delay plus up to 20% jitter, stretched to honour
// retryAfter up to twice that. It leaves r.next zero after the last retry.
func (d *Dispatcher) schedule(r *result, retryAfter time.Duration) {
	n := r.job.attempts // retries already made: this attempt is number n+1
	if n >= len(d.cfg.RetrySchedule) {
		return
	}
	delay := d.cfg.RetrySchedule[n]
	delay += time.Duration(d.cfg.Rand() * 0.2 * float64(delay))
	if retryAfter > 0 {
		delay = min(max(retryAfter, delay), 2*delay)
	}
	r.next = r.at.Add(delay)
}
