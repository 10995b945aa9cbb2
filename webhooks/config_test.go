package webhooks

import (
	"testing"
	"time"
)

// TestLeaseIsLongEnoughToSend: a lease shorter than MinLease(Timeout) is
// raised to it, so that a claimed delivery that waited the longest a
// queued one may (maxQueued) still holds more than an attempt needs to
// start (Timeout and lapseMargin). With the lease at three times a 10 ms
// timeout, every claimed delivery was given back unsent, again and again.
func TestLeaseIsLongEnoughToSend(t *testing.T) {
	for _, c := range []struct{ timeout, lease, want time.Duration }{
		{10 * time.Millisecond, 30 * time.Millisecond, 2020 * time.Millisecond},
		{time.Second, 3 * time.Second, 4 * time.Second},
		{3 * time.Second, 0, DefaultInFlightLease},
		{10 * time.Second, 0, DefaultInFlightLease},
		{20 * time.Second, 45 * time.Second, time.Minute},
		{time.Minute, 0, 3 * time.Minute},
	} {
		cfg, err := Config{Timeout: c.timeout, InFlightLease: c.lease}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.InFlightLease != c.want {
			t.Errorf("timeout %v, lease %v: lease %v, want %v", c.timeout, c.lease, cfg.InFlightLease, c.want)
		}
		if held := cfg.InFlightLease - maxQueued; held <= c.timeout+lapseMargin {
			t.Errorf("timeout %v: a lease of %v holds %v once queued the longest, not more than the %v an attempt needs",
				c.timeout, cfg.InFlightLease, held, c.timeout+lapseMargin)
		}
	}
}
