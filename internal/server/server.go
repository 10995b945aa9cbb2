package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"outdial/calling"
	"outdial/models"
	"outdial/resolvers"
	"outdial/webhooks"
)

// ShutdownTimeout bounds the graceful shutdown.
const ShutdownTimeout = 20 * time.Second

// WriteTimeout bounds the time from a request's headers to the end of
// its answer; every request's deadline (REQUEST_TIMEOUT) is well inside.
const WriteTimeout = 60 * time.Second

// Connection pools on MySQL beside the requests' (models.DefaultMaxConns):
// the background work (webhook dispatcher, subscription feed) has its own,
// so that it never takes the connections requests need nor waits for
// them, and so does /readyz, which then answers while requests queue.
const (
	backgroundConns = 10
	healthConns     = 2
)

// Run serves cfg: it opens the database, serves HTTP on cfg.ListenAddr
// and runs the background work until ctx is done (SIGINT, SIGTERM) or the
// server fails, then shuts down gracefully. With cfg.RotateAdminToken it
// rotates the bootstrap token instead (RotateAdminToken) and returns. It
// prints what an operator needs (admin token, URLs) to stdout and logs
// to log.
func Run(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	if cfg.RotateAdminToken {
		return RotateAdminToken(ctx, cfg, log, stdout)
	}
	a, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	generated, err := a.Bootstrap(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err)
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "Outdial is listening: playground at %s/ , API at %s/graphql\n", baseURL(ln.Addr()), baseURL(ln.Addr()))
	printSignIn(stdout, baseURL(ln.Addr()), generated)
	log.Info("listening", "addr", ln.Addr().String(), "database", models.RedactURL(cfg.DatabaseURL))

	workers, stopWorkers := a.StartWorkers(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err = <-served:
	case <-ctx.Done():
		log.Info("shutting down")
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(shutCtx); serr != nil {
		log.Warn("HTTP shutdown", "err", serr)
	}
	stopWorkers()
	select {
	case <-workers:
	case <-time.After(a.Dispatcher.ShutdownTimeout() + 5*time.Second):
		log.Error("background work did not stop in time; exiting without it")
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// baseURL turns a listener address into a URL a person can open.
func baseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// printSignIn prints where the dashboard is and, with a token generated
// at this start, links that sign the dashboard and the playground in: the
// token is in the URL fragment, which the browser keeps to itself (never
// sent to the server, nor in a Referer); the page moves it to the tab's
// sessionStorage and removes it from the address bar. A token that was not
// generated now (ADMIN_TOKEN, or one printed when the database was made)
// is never printed: it may be a secret kept elsewhere, and logs last.
func printSignIn(w io.Writer, base, generated string) {
	if generated == "" {
		fmt.Fprintf(w, "Dashboard at %s/dashboard : sign in with an API token (or open %s/dashboard#token=<token>).\n", base, base)
		return
	}
	fmt.Fprintf(w, "Open the dashboard, signed in: %s/dashboard#token=%s\n", base, generated)
	fmt.Fprintf(w, "Open the playground, signed in: %s/#token=%s\n", base, generated)
}

// Bootstrap applies cfg.AdminToken (ADMIN_TOKEN; printing a generated
// token once to stdout), says which admin token works, and loads the demo
// organisation when cfg.Demo asks. It returns the token it generated, or
// "".
func (a *App) Bootstrap(ctx context.Context, cfg Config, stdout io.Writer) (string, error) {
	b, err := a.Svc.EnsureBootstrapToken(ctx, cfg.AdminToken)
	if err != nil {
		return "", fmt.Errorf("bootstrap token: %w", err)
	}
	a.logAdminAccess(b)
	printAdminAccess(stdout, b, cfg.AdminToken != "")
	if cfg.Demo {
		loaded, err := a.Svc.LoadDemo(ctx)
		if err != nil {
			return "", fmt.Errorf("demo data: %w", err)
		}
		if loaded {
			fmt.Fprintln(stdout, "Demo organisation loaded: try  { agents { nodes { name callingAbility { canMakeCalls blockers { code message } } } } }")
		} else {
			fmt.Fprintln(stdout, "Demo organisation not loaded: the database already holds agents or numbers.")
		}
	}
	return b.Generated, nil
}

// RotateAdminToken replaces the bootstrap token with a new generated one,
// prints it once to stdout and returns: the -rotate-admin-token run,
// beside or instead of a running server.
func RotateAdminToken(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	a, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := a.Svc.RotateBootstrapToken(ctx)
	if err != nil {
		return fmt.Errorf("rotate the admin token: %w", err)
	}
	a.logAdminAccess(b)
	printAdminAccess(stdout, b, false)
	return nil
}

// logAdminAccess logs what became of the bootstrap token at start, as a
// warning when no ADMIN token, or not the one the operator set, works.
func (a *App) logAdminAccess(b calling.Bootstrap) {
	level := slog.LevelInfo
	if b.AdminCount == 0 || b.Outcome == calling.BootstrapKeptRevoked {
		level = slog.LevelWarn
	}
	a.Log.Log(context.Background(), level, "admin access", "bootstrapToken", string(b.Outcome), "bootstrapActive", b.Active,
		"retired", b.Retired, "keptRevoked", b.Revoked, "activeAdminTokens", b.AdminCount)
}

// printAdminAccess tells the operator which admin token works: a generated
// one (shown once), ADMIN_TOKEN's value (fromEnv), the bootstrap token of
// an earlier start, or, when none of them does, the active ADMIN tokens
// and how to make a new one. It never points at a token that does not
// work.
func printAdminAccess(w io.Writer, b calling.Bootstrap, fromEnv bool) {
	switch {
	case b.Generated != "":
		fmt.Fprintf(w, "Admin token (shown once, keep it): %s\n", b.Generated)
		fmt.Fprintf(w, "Use it as the header  Authorization: Bearer %s\n", b.Generated)
	case b.Outcome == calling.BootstrapKeptRevoked:
		fmt.Fprintf(w, "ADMIN_TOKEN is the value of the revoked token %q: it stays revoked and does not work. "+
			"To replace it, set ADMIN_TOKEN to a new value, or unset it and run once with -rotate-admin-token.\n", b.Revoked)
	case b.Active && fromEnv:
		fmt.Fprintln(w, `Admin token: the value of ADMIN_TOKEN (token name "bootstrap").`)
	case b.Active:
		fmt.Fprintln(w, `Admin token: the one printed when this database was created or its admin token last rotated (token name "bootstrap"); -rotate-admin-token replaces it.`)
	default:
		fmt.Fprintln(w, "The bootstrap admin token is revoked; -rotate-admin-token replaces it.")
	}
	if b.Retired != "" {
		fmt.Fprintf(w, "It replaces the previous bootstrap token, which no longer works (revoked, renamed %q).\n", b.Retired)
	}
	switch {
	case b.AdminCount == 0:
		fmt.Fprintln(w, "No ADMIN token works: nothing can change the configuration or make tokens. "+
			"Run once with -rotate-admin-token (ADMIN_TOKEN unset) for a new one, or set ADMIN_TOKEN to a new value.")
	case b.Outcome == calling.BootstrapKeptRevoked || !b.Active:
		more := ""
		if n := b.AdminCount - len(b.Admins); n > 0 {
			more = fmt.Sprintf(" and %d more", n)
		}
		fmt.Fprintf(w, "Active ADMIN tokens: %s%s.\n", strings.Join(quoteAll(b.Admins), ", "), more)
	}
}

// quoteAll quotes each of names.
func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strconv.Quote(n)
	}
	return out
}

// App is the wired service: database, domain, webhooks and HTTP routes
// (Handler). Tests reach its parts through the exported fields; nothing
// else should.
type App struct {
	Log *slog.Logger
	// DB serves the requests; BG the dispatcher and the feed; Health
	// /readyz. On SQLite the three are one connection.
	DB, BG, Health *models.DB
	Svc            *calling.Service
	Outbox         *webhooks.Outbox
	Dispatcher     *webhooks.Dispatcher
	Feed           *webhooks.Feed
	Pruner         *webhooks.Pruner
	reg            *prometheus.Registry
	// tokenRecheck: see config.TokenRecheck.
	tokenRecheck time.Duration
	// requestTimeout: see config.RequestTimeout.
	requestTimeout time.Duration
	// wsInitTimeout: see config.WebSocketInitTimeout.
	wsInitTimeout time.Duration
}

// New opens and migrates the database, recomputes the name keys (it
// fails when existing names collide under the name rule), derives the
// abilities that are missing or stored before warnings existed, and wires
// the service. No background work runs until StartWorkers; Close closes
// the databases.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	timeout := cmp.Or(cfg.RequestTimeout, resolvers.DefaultRequestTimeout)
	a := &App{Log: log, tokenRecheck: cfg.TokenRecheck, requestTimeout: timeout, wsInitTimeout: cfg.WebSocketInitTimeout}
	if err := a.open(ctx, cfg.DatabaseURL, timeout); err != nil {
		return nil, err
	}
	a.Outbox = webhooks.NewOutbox(models.Now)
	opts := append([]calling.Option{calling.WithAllowedCIDRs(cfg.WebhookAllowedCIDRs), calling.WithDefaultRegion(cfg.DefaultRegion)},
		cfg.ServiceOptions...)
	a.Svc = calling.New(a.DB, a.Outbox, log, opts...)
	if err := a.Svc.RekeyNames(ctx); err != nil {
		a.Close()
		return nil, fmt.Errorf("name keys: %w", err)
	}
	if err := a.Svc.CompleteAbilities(ctx); err != nil {
		a.Close()
		return nil, fmt.Errorf("calling abilities: %w", err)
	}
	var err error
	a.Dispatcher, err = webhooks.NewDispatcher(a.BG, a.Outbox, webhooks.Config{
		RetrySchedule: cfg.WebhookRetrySchedule, Timeout: cfg.WebhookTimeout, InFlightLease: cfg.WebhookInFlightLease, PollInterval: cfg.WebhookPollInterval,
		AllowedCIDRs: cfg.WebhookAllowedCIDRs, Logger: log, Registerer: a.registry(),
	})
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("webhook dispatcher: %w", err)
	}
	a.Feed = webhooks.NewFeed(a.BG, a.Outbox, webhooks.FeedConfig{Logger: log, PollInterval: cfg.WebhookPollInterval})
	a.Pruner, err = webhooks.NewPruner(a.BG, webhooks.PruneConfig{Retention: cfg.Retention, AuditRetention: cfg.AuditRetention,
		Interval: cfg.PruneInterval, Scrub: a.Svc.ScrubDeletedAgents, ScrubGrace: cfg.ScrubGrace, Now: cfg.PruneNow, Logger: log, Registerer: a.registry()})
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("pruner: %w", err)
	}
	return a, nil
}

// lockWait is how long one statement waits for a lock, for requests of
// deadline timeout: a sixth of it, between 1 and 5 seconds, so that a
// command that waited in vain is tried again within its deadline, and a
// connection whose client gave up at the deadline is not held much longer.
func lockWait(timeout time.Duration) time.Duration {
	return min(models.DefaultLockWait, max(time.Second, timeout/6))
}

// open opens the database (with lock waits for requests of deadline
// timeout), migrates it, and opens its other pools.
func (a *App) open(ctx context.Context, url string, timeout time.Duration) error {
	db, err := models.OpenWith(url, models.Options{LockWait: lockWait(timeout)})
	if err != nil {
		return err
	}
	a.DB = db
	if err := db.Migrate(ctx, a.Log); err != nil {
		a.Close()
		return err
	}
	if a.BG, err = db.Pool(backgroundConns); err == nil {
		a.Health, err = db.Pool(healthConns)
	}
	if err != nil {
		a.Close()
		return fmt.Errorf("open database: %w", err)
	}
	return nil
}

// StartWorkers starts the background work (webhook dispatcher, event
// feed, pruner) and returns a channel closed once it has stopped after
// stop is called.
func (a *App) StartWorkers(ctx context.Context) (<-chan struct{}, func()) {
	ctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := a.Dispatcher.Run(ctx); err != nil {
			a.Log.Error("webhook dispatcher stopped", "err", err)
		}
	})
	wg.Go(func() {
		if err := a.Feed.Run(ctx); err != nil {
			a.Log.Error("subscription feed stopped", "err", err)
		}
	})
	wg.Go(func() {
		if err := a.Pruner.Run(ctx); err != nil {
			a.Log.Error("pruner stopped", "err", err)
		}
	})
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done, stop
}

// Close closes the database pools that are open.
func (a *App) Close() {
	for _, db := range []*models.DB{a.Health, a.BG, a.DB} {
		if db == nil {
			continue
		}
		if err := db.Close(); err != nil {
			a.Log.Warn("close database", "err", err)
		}
	}
}
