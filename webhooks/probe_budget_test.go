package webhooks

import (
	"fmt"
	"testing"
	"time"
)

// TestAHealthyEndpointNotProvenYetPassesHangingProbes: the probes of
// endpoints recorded failing hold at most half of a lane's places for
// endpoints not proven healthy (lane.probeBudget: 8 of the first lane's
// 32 workers by default), so that a healthy endpoint this process has
// not yet seen succeed, one proven before a restart or a new one, is
// attempted at once beside more hanging endpoints than those places,
// not after one of their probes timed out (WEBHOOK_TIMEOUT, 10 s). Before,
// probes could take all 16 places: beside 40 hanging endpoints, a tester
// saw the first delivery after a restart 16 s after the change.
//
// A first dispatcher, with a short timeout, finds the hanging endpoints
// failing (their first attempts time out: failing_since); it stops, and a
// second one, with the default configuration, starts on the same
// database, as a restarted process would.
func TestAHealthyEndpointNotProvenYetPassesHangingProbes(t *testing.T) {
	for _, c := range []struct {
		hanging, failing int
		newEndpoint      bool // the healthy endpoint is made after the restart
	}{
		{hanging: 40},
		{hanging: 20, failing: 20},
		{hanging: 40, newEndpoint: true},
	} {
		t.Run(fmt.Sprintf("%d hanging, %d failing, new endpoint %v", c.hanging, c.failing, c.newEndpoint), func(t *testing.T) {
			bu := setup(t)
			f := newDeadFleet(t, bu, c.hanging, c.failing)
			first := fairConfig(bu)
			first.Timeout = 300 * time.Millisecond
			stop := run(t, bu.dispatcher(first))
			commitChanges(t, bu, 1)
			dead := int64(c.hanging + c.failing)
			waitWithin(t, time.Minute, "the dead endpoints recorded failing", func() bool {
				var n int64
				if err := bu.db.Raw("SELECT COUNT(*) FROM webhook_endpoints WHERE failing_since IS NOT NULL").Scan(&n).Error; err != nil {
					t.Fatal(err)
				}
				return n == dead
			})
			stop()

			healthy := f.healthy
			want := 2 // the change before the restart, and the one after
			if c.newEndpoint {
				healthy = newTimedReceiver(t)
				healthy.expect(bu.endpoint(healthy.url("/")).Secret)
				want = 1
			}
			run(t, bu.dispatcher(fairConfig(bu))) // the default Timeout, 10 s
			f.releaseAtEnd(t)
			committed := commitChanges(t, bu, 1)
			waitWithin(t, time.Minute, "the healthy endpoint's delivery after the restart", func() bool {
				_, ok := healthy.last(want)
				return ok
			})
			arrived, _ := healthy.last(want)
			if took := arrived.Sub(committed); took > 3*time.Second {
				t.Errorf("the healthy endpoint got its delivery %v after the commit, want within 3 s (the hanging probes' timeout: %v)",
					took.Round(time.Millisecond), DefaultTimeout)
			} else {
				t.Logf("the healthy endpoint got its delivery %v after the commit", took.Round(time.Millisecond))
			}
			for _, h := range f.hanging {
				if p := h.peakOpen(); p > 1 {
					t.Errorf("a hanging endpoint held %d attempts at once, want at most 1", p)
				}
			}
		})
	}
}
