package webhooks

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// BenchmarkFanOutBesideDeadEndpoints measures a healthy endpoint's
// throughput while 0, 5, 20 or 100 dead endpoints subscribe to the same
// changes: one in five accepts connections and never answers, the others
// refuse them. Every round commits 1,000 changes (so 1,000 deliveries per
// endpoint; the dead endpoints' backlog grows round after round) and
// times them from the commit to the healthy endpoint's last receipt. The
// healthy endpoint's deliveries/s should stay within 20 % of the figure
// with no dead endpoint (compare the sub-benchmarks' deliveries/s).
func BenchmarkFanOutBesideDeadEndpoints(b *testing.B) {
	for _, dead := range []int{0, 5, 20, 100} {
		b.Run(fmt.Sprintf("dead=%d", dead), func(b *testing.B) {
			const n = 1000
			bu := setup(b)
			hanging := make([]*hangingEndpoint, dead/5)
			for i := range hanging {
				hanging[i] = newHangingEndpoint(b)
				bu.endpoint(hanging[i].url())
			}
			for range dead - len(hanging) {
				bu.endpoint(closedPort(b))
			}
			s := newSink(b)
			bu.endpoint(s.srv.URL + "/")
			benchDispatcher(b, bu)
			(&deadFleet{hanging: hanging}).releaseAtEnd(b)
			v := int64(1)
			round := func() time.Duration {
				s.expect(n)
				store(b, bu, agentEvents(n, v))
				v++
				runtime.GC()
				start := time.Now()
				bu.outbox.Committed()
				s.wait(b)
				return time.Since(start)
			}
			round() // warm up: the healthy endpoint is proven, the dead ones found failing
			var took time.Duration
			for b.Loop() {
				took += round()
			}
			b.ReportMetric(n*float64(b.N)/took.Seconds(), "deliveries/s")
		})
	}
}
