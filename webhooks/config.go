package webhooks

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"outdial/models"
)

// DefaultRetrySchedule is the delay before each retry (docs/domain.md,
// "Webhooks"; as Svix does): after the last one fails, the delivery is FAILED.
var DefaultRetrySchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// Defaults of Config.
const (
	DefaultTimeout             = 10 * time.Second
	DefaultFirstAttemptWorkers = 32
	DefaultRetryWorkers        = 8
	DefaultBatchSize           = 500
	DefaultInFlightLease       = 2 * time.Minute
	DefaultPollInterval        = time.Second
	DefaultDisableAfter        = 5 * 24 * time.Hour
	DefaultStatsInterval       = 5 * time.Second
)

// Config tunes a Dispatcher. The zero value of every field means its
// default.
type Config struct {
	// RetrySchedule is the delay before each retry; nil means
	// DefaultRetrySchedule (5s,5m,30m,2h,5h,10h,10h), an empty slice no
	// retry at all. Each delay gets up to 20% random jitter on top.
	RetrySchedule []time.Duration
	// Timeout bounds one attempt, connect to last byte kept; default 10s.
	Timeout time.Duration
	// AllowedCIDRs are addresses webhooks may reach despite the address
	// rule (WEBHOOK_ALLOWED_CIDRS), e.g. 127.0.0.0/8 in tests.
	AllowedCIDRs []netip.Prefix
	// FirstAttemptWorkers is how many first attempts run at once; default 32.
	FirstAttemptWorkers int
	// RetryWorkers is how many retries run at once, on their own workers so
	// that they never delay first attempts; default 8.
	RetryWorkers int
	// BatchSize is the most deliveries claimed at once, and queued for a
	// lane's workers; default 500, what one statement leases (batchSize).
	// A lane claims again once its queue is down to half a batch: a
	// MySQL claim (seven round trips to the server) takes longer than
	// the first attempts' workers take to send 128 deliveries, so that
	// with 256 they waited for claims most of the time (BENCHMARKS.md,
	// "MariaDB's claims").
	BatchSize int
	// InFlightLease is how long a claimed delivery stays reserved for
	// this process (lease.go; renewed while its result waits to be
	// recorded): a process paused or cut off from the database for less
	// than this records its attempts itself, and nothing is sent twice;
	// after it, another process makes the attempt again (at least once:
	// receivers deduplicate on webhook-id). It bounds how long the
	// deliveries a killed process had claimed wait before another process
	// sends them. Default 2 minutes, and never less than
	// MinLease(Timeout).
	InFlightLease time.Duration
	// PollInterval is how often the database is polled when nothing woke
	// the dispatcher (due retries, other processes' commits); default 1s.
	PollInterval time.Duration
	// DisableAfter disables an endpoint whose deliveries have all failed
	// for that long; default 5 days.
	DisableAfter time.Duration
	// StatsInterval is how often the queue-depth gauges are refreshed;
	// default 5s.
	StatsInterval time.Duration
	// Now is the clock of schedules, leases and timestamps; default
	// models.Now. Tests move it instead of sleeping.
	Now func() time.Time
	// Rand returns a number in [0, 1) for the retry jitter; default
	// math/rand/v2.Float64.
	Rand func() float64
	// Logger receives what happened; default: discarded.
	Logger *slog.Logger
	// Registerer receives the metrics; nil registers them nowhere.
	Registerer prometheus.Registerer

	// probeEvery is how long an endpoint whose breaker is open waits
	// after a failed attempt, default probeInterval(RetrySchedule);
	// recordGrace is how long a shutdown gives the recording of results
	// beyond Timeout, default 10s. Only this package's tests set them,
	// to wait less (the breaker's wait is on the monotonic clock, not
	// Now's).
	probeEvery, recordGrace time.Duration
	// taken, when set, is called by a worker that took a job out of its
	// lane, before anything else is done with it: tests pause there.
	taken func()
}

// withDefaults returns c with every zero field set to its default. It
// returns an error for negative or empty values that cannot work.
func (c Config) withDefaults() (Config, error) {
	if c.RetrySchedule == nil {
		c.RetrySchedule = DefaultRetrySchedule
	}
	for _, d := range c.RetrySchedule {
		if d < 0 {
			return c, errors.New("webhooks: negative retry delay")
		}
	}
	setDefault(&c.Timeout, DefaultTimeout)
	setDefault(&c.FirstAttemptWorkers, DefaultFirstAttemptWorkers)
	setDefault(&c.RetryWorkers, DefaultRetryWorkers)
	setDefault(&c.BatchSize, DefaultBatchSize)
	setDefault(&c.InFlightLease, DefaultInFlightLease)
	c.InFlightLease = max(c.InFlightLease, MinLease(c.Timeout))
	setDefault(&c.PollInterval, DefaultPollInterval)
	setDefault(&c.DisableAfter, DefaultDisableAfter)
	setDefault(&c.StatsInterval, DefaultStatsInterval)
	setDefault(&c.recordGrace, 10*time.Second)
	setDefault(&c.probeEvery, probeInterval(c.RetrySchedule))
	if c.Now == nil {
		c.Now = models.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Timeout < 0 || c.FirstAttemptWorkers < 0 || c.RetryWorkers < 0 || c.BatchSize < 0 ||
		c.PollInterval < 0 || c.DisableAfter < 0 || c.StatsInterval < 0 {
		return c, errors.New("webhooks: negative dispatcher setting")
	}
	return c, nil
}

// MinLease is the shortest InFlightLease that works with an attempt
// timeout: three times the timeout, and twice what a lease must still
// hold for an attempt to start (the timeout and a second, lapsed). A
// shorter lease would have claimed deliveries given back unsent, again
// and again.
func MinLease(timeout time.Duration) time.Duration {
	return max(3*timeout, 2*(timeout+lapseMargin))
}

// setDefault sets *v to def when it is zero.
func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// ParseRetrySchedule parses a comma-separated list of Go durations (the
// WEBHOOK_RETRY_SCHEDULE setting), e.g. "5s,5m,30m,2h,5h,10h,10h". An empty
// string means no retry. It returns an error naming the first bad entry.
func ParseRetrySchedule(s string) ([]time.Duration, error) {
	out := []time.Duration{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := time.ParseDuration(part)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("retry delay %q: want a duration such as 5s or 2h", part)
		}
		out = append(out, d)
	}
	return out, nil
}
