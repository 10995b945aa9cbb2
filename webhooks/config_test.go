package webhooks

import (
	"testing"
	"time"
)

// TestLeaseIsLongEnoughToSend: a lease shorter than MinLease(Timeout) is
// raised to it, so that a delivery queued after its claim still holds,
// between two renewals (every third of the lease), more than an attempt
// needs to start (Timeout and lapseMargin). With the lease at three times
// a 10 ms timeout, every claimed delivery was given back unsent, again and
// again.
func TestLeaseIsLongEnoughToSend(t *testing.T) {
	for _, c := range []struct{ timeout, lease, want time.Duration }{
		{10 * time.Millisecond, 30 * time.Millisecond, 2020 * time.Millisecond},
		{time.Second, 3 * time.Second, 4 * time.Second},
		{3 * time.Second, 0, DefaultLeaseDuration},
		{10 * time.Second, 0, DefaultLeaseDuration},
		{20 * time.Second, 45 * time.Second, time.Minute},
	} {
		cfg, err := Config{Timeout: c.timeout, LeaseDuration: c.lease}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.LeaseDuration != c.want {
			t.Errorf("timeout %v, lease %v: lease %v, want %v", c.timeout, c.lease, cfg.LeaseDuration, c.want)
		}
		if held := cfg.LeaseDuration * 2 / 3; held <= c.timeout+lapseMargin {
			t.Errorf("timeout %v: a lease of %v holds %v between renewals, not more than the %v an attempt needs",
				c.timeout, cfg.LeaseDuration, held, c.timeout+lapseMargin)
		}
	}
}
