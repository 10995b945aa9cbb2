package webhooks

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"gorm.io/gorm"

	"outdial/models"
)

// BenchmarkFanOutBesideDeadEndpoints measures a healthy endpoint's
// throughput while 0, 5, 20 or 100 dead endpoints subscribe to the same
// changes (one in five accepts connections and never answers, the others
// refuse them), against the same healthy endpoint alone, on a database
// and dispatcher of its own, in alternating rounds of the same run, so
// that a loaded machine weighs on both alike. Every round commits 1,000
// changes to each side (so 1,000 deliveries per endpoint; the dead
// endpoints' backlog grows round after round) and times them from the
// commit to the healthy endpoint's last receipt. The metric x-alone is
// the healthy endpoint's deliveries/s beside the dead ones ÷ alone
// (target ≥ 0.8: within 20 %). The dead endpoints' dispatcher goes on
// probing them while the other side's round runs: that work weighs on
// both sides' rounds.
func BenchmarkFanOutBesideDeadEndpoints(b *testing.B) {
	for _, dead := range []int{0, 5, 20, 100} {
		b.Run(fmt.Sprintf("dead=%d", dead), func(b *testing.B) {
			const n = 1000
			type side struct {
				bu   *bundle
				sink *sink
				v    int64
				took time.Duration
			}
			newSide := func(dead int) *side {
				s := &side{bu: setup(b), v: 1}
				hanging := make([]*hangingEndpoint, dead/5)
				for i := range hanging {
					hanging[i] = newHangingEndpoint(b)
					s.bu.endpoint(hanging[i].url())
				}
				for range dead - len(hanging) {
					s.bu.endpoint(closedPort(b))
				}
				s.sink = newSink(b)
				s.bu.endpoint(s.sink.srv.URL + "/")
				benchDispatcher(b, s.bu)
				(&deadFleet{hanging: hanging}).releaseAtEnd(b)
				return s
			}
			round := func(s *side) time.Duration {
				s.sink.expect(n)
				store(b, s.bu, agentEvents(n, s.v))
				s.v++
				runtime.GC()
				start := time.Now()
				s.bu.outbox.Committed()
				s.sink.wait(b)
				return time.Since(start)
			}
			alone, beside := newSide(0), newSide(dead)
			// Warm up: the healthy endpoints are proven, the dead ones found failing.
			round(alone)
			round(beside)
			i := 0
			for b.Loop() {
				first, second := alone, beside
				if i%2 == 1 {
					first, second = beside, alone
				}
				first.took += round(first)
				second.took += round(second)
				i++
			}
			rate := func(s *side) float64 { return n * float64(b.N) / s.took.Seconds() }
			b.ReportMetric(rate(beside), "deliveries/s")
			b.ReportMetric(rate(alone), "alone-deliveries/s")
			b.ReportMetric(rate(beside)/rate(alone), "x-alone")
		})
	}
}

// BenchmarkClaimEndpoints measures what every claim reads of the
// endpoints, with 10, 100 and 1,000 of them: what it plans with of every
// endpoint, and the URL and secrets of the one it took deliveries of
// (claimEndpoints, loadEndpoints), against the baseline of reading every
// endpoint's whole row through gorm, as claims did before. The metric x-whole-rows is the claim's read ÷ the
// baseline's, run side by side.
func BenchmarkClaimEndpoints(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("endpoints=%d", n), func(b *testing.B) {
			bu := setup(b)
			for range n {
				bu.endpoint("http://127.0.0.1:9/")
			}
			d, err := NewDispatcher(bu.db, bu.outbox, Config{AllowedCIDRs: loopback, Logger: bu.log})
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			var claim, whole time.Duration
			for b.Loop() {
				start := time.Now()
				err := bu.db.Transaction(func(tx *gorm.DB) error {
					order, err := d.claimEndpoints(tx, 0, now)
					if err != nil {
						return err
					}
					taken := &order[len(order)/2]
					return d.loadEndpoints(tx, []int64{taken.id}, map[int64]*claimEndpoint{taken.id: taken}, now)
				})
				claim += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				start = time.Now()
				err = bu.db.Transaction(func(tx *gorm.DB) error {
					var eps []models.WebhookEndpoint
					return tx.Select("id", "url", "enabled", "secret", "previous_secret", "previous_secret_expires_at", "failing_since", "deleted_at").
						Where("deleted_at IS NULL OR deleted_at > ?", now.Add(-recentlyDeleted)).Order("id").Find(&eps).Error
				})
				whole += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(claim.Microseconds())/float64(b.N), "claim-µs/op")
			b.ReportMetric(float64(whole.Microseconds())/float64(b.N), "whole-rows-µs/op")
			b.ReportMetric(claim.Seconds()/whole.Seconds(), "x-whole-rows")
		})
	}
}
