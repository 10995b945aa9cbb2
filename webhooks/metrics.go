package webhooks

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes counted by outdial_webhook_deliveries_total.
const (
	outcomeSucceeded  = "succeeded"
	outcomeRetry      = "retry_scheduled"
	outcomeFailed     = "failed"
	outcomeSuperseded = "superseded"
)

// Reasons counted by outdial_webhook_deliveries_given_back_total.
const (
	givenBackWaited  = "waited"           // queued longer than maxQueued
	givenBackChanged = "endpoint_changed" // the endpoint changed since the claim read it
)

// metrics are the dispatcher's Prometheus collectors.
type metrics struct {
	deliveries    *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	queueDepth    prometheus.Gauge
	oldestAge     prometheus.Gauge
	leaseTakeover prometheus.Counter
	givenBack     *prometheus.CounterVec
}

// newMetrics creates the collectors and registers them on reg (nil: on
// none). It returns an error when registration fails, e.g. because another
// dispatcher already registered them on reg.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "outdial_webhook_deliveries_total",
			Help: "Webhook deliveries by outcome: succeeded, failed (for good), superseded, or retry_scheduled (an attempt failed and a retry is due).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "outdial_webhook_attempt_duration_seconds",
			Help:    "Duration of webhook attempts, request to answer, by lane (first or retry).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"lane"}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "outdial_webhook_queue_depth",
			Help: "Pending webhook deliveries (waiting for a first attempt or a retry).",
		}),
		oldestAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "outdial_webhook_oldest_pending_age_seconds",
			Help: "Age of the oldest pending webhook delivery; 0 when none is pending.",
		}),
		leaseTakeover: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "outdial_webhook_lease_takeovers_total",
			Help: "Deliveries claimed after another process's lease on them expired.",
		}),
		givenBack: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "outdial_webhook_deliveries_given_back_total",
			Help: "Claimed deliveries given back unsent, due at once, to be claimed again, by reason: waited (queued longer than a second for a worker) or endpoint_changed (the endpoint changed after the claim read it, before the attempt).",
		}, []string{"reason"}),
	}
	for _, outcome := range []string{outcomeSucceeded, outcomeRetry, outcomeFailed, outcomeSuperseded} {
		m.deliveries.WithLabelValues(outcome)
	}
	for _, reason := range []string{givenBackWaited, givenBackChanged} {
		m.givenBack.WithLabelValues(reason)
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.deliveries, m.latency, m.queueDepth, m.oldestAge, m.leaseTakeover, m.givenBack} {
		errs = append(errs, reg.Register(c))
	}
	return m, errors.Join(errs...)
}
