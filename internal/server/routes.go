package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"outdial/models"
	"outdial/resolvers"
	"outdial/web"
)

// Handler returns the HTTP API: /graphql, the playground at /, the
// dashboard at /dashboard, /healthz, /readyz and /metrics. Call it once
// per App: it registers its metrics.
func (a *App) Handler() http.Handler {
	reg := a.registry()
	mux := http.NewServeMux()
	api := resolvers.NewHandler(resolvers.Config{Service: a.Svc, Feed: a.Feed, Log: a.Log, TokenRecheck: a.tokenRecheck,
		RequestTimeout: a.requestTimeout, WebSocketInitTimeout: a.wsInitTimeout})
	mux.Handle("/graphql", instrument(reg, "/graphql", clearDeadlinesForWebSockets(api)))
	pages := web.Handler()
	for _, pattern := range web.Paths() {
		mux.Handle(pattern, pages)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", a.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}

// ReadyTimeout bounds a /readyz check.
const ReadyTimeout = 3 * time.Second

// ready answers 200 when the database answers, every migration is applied
// and (SQLite) the database can write, 503 otherwise, with the kind of
// failure; the details stay in the log (/readyz needs no token). It uses
// a pool of its own, so that it answers while requests queue for theirs.
func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := a.Health.Ready(ctx); err != nil {
		a.Log.Warn("not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, "not ready: %s (see the server log)\n", notReadyReason(err))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// notReadyReason says in a few words why Ready failed.
func notReadyReason(err error) string {
	if errors.Is(err, models.ErrNoSpace) {
		return "the database's disk is full"
	}
	switch models.FaultOf(err) {
	case models.DiskFull:
		return "the database's disk is full"
	case models.StorageFailed:
		return "the database cannot write"
	case models.LockTimeout:
		return "the database is locked"
	case models.Unreachable, models.Deadline:
		return "the database does not answer"
	}
	return "the database does not answer or migrations are pending"
}

// registry returns the Prometheus registry of this app, with Go and process
// metrics.
func (a *App) registry() *prometheus.Registry {
	if a.reg == nil {
		a.reg = prometheus.NewRegistry()
		a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return a.reg
}

// instrument counts the requests of a route and times them.
func instrument(reg prometheus.Registerer, route string, next http.Handler) http.Handler {
	labels := prometheus.Labels{"route": route}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "outdial_http_requests_total",
		Help: "HTTP requests by route and status code.", ConstLabels: labels}, []string{"code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "outdial_http_request_duration_seconds",
		Help: "HTTP request duration by route.", ConstLabels: labels, Buckets: prometheus.DefBuckets}, []string{"code"})
	reg.MustRegister(requests, duration)
	return promhttp.InstrumentHandlerCounter(requests, promhttp.InstrumentHandlerDuration(duration, next))
}

// clearDeadlinesForWebSockets lifts the server's read and write timeouts
// from WebSocket upgrades: a subscription lives longer than a request.
func clearDeadlinesForWebSockets(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			rc := http.NewResponseController(w)
			_ = rc.SetReadDeadline(time.Time{})
			_ = rc.SetWriteDeadline(time.Time{})
		}
		next.ServeHTTP(w, r)
	})
}
