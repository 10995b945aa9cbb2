package main

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"outdial/resolvers"
	"outdial/web"
)

// routes returns the HTTP API: /graphql, the playground at /, the
// dashboard at /dashboard, /healthz, /readyz and /metrics.
func (a *app) routes() http.Handler {
	reg := a.registry()
	mux := http.NewServeMux()
	api := resolvers.NewHandler(resolvers.Config{Service: a.svc, Feed: a.feed, Log: a.log, TokenRecheck: a.tokenRecheck})
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

// ready answers 200 when the database answers and every migration is
// applied, 503 otherwise.
func (a *app) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := a.db.Ready(ctx); err != nil {
		// The reason stays in the log: /readyz needs no token.
		a.log.Warn("not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready: the database does not answer or migrations are pending (see the server log)\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// registry returns the Prometheus registry of this app, with Go and process
// metrics.
func (a *app) registry() *prometheus.Registry {
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
