// Command outdial-load measures the agents page against its performance
// targets (docs/design.md, "Performance targets") over HTTP.
//
// Against a running server, it fires the query from a number of workers
// for a while and reports requests/s and latency percentiles:
//
//	go run ./cmd/outdial-load -url http://127.0.0.1:8080/graphql -token odt_… -duration 10s -concurrency 8
//
// With -compare, it starts in this process the GraphQL handler and the
// hand-written baseline (internal/loadtest) on one database, seeded when
// it holds no agent yet, checks that both answer the same data, loads
// them alternately with the same load and prints graphql req/s ÷
// baseline req/s:
//
//	go run ./cmd/outdial-load -compare -duration 10s -concurrency 8
//	go run ./cmd/outdial-load -compare -database mysql://root@127.0.0.1:3306/outdial_load
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"outdial/calling"
	"outdial/internal/loadtest"
	"outdial/models"
	"outdial/resolvers"
	"outdial/webhooks"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "outdial-load:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	url, token, query string
	duration, round   time.Duration
	concurrency       int
	compare           bool
	database          string
	agents            int
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("outdial-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080/graphql", "GraphQL endpoint of a running server")
	fs.StringVar(&o.token, "token", os.Getenv("ADMIN_TOKEN"), "bearer token (default $ADMIN_TOKEN)")
	fs.StringVar(&o.query, "query", loadtest.AgentsQuery, "GraphQL query to fire (not with -compare)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to load (each side, with -compare)")
	fs.IntVar(&o.concurrency, "concurrency", 8, "concurrent requests")
	fs.BoolVar(&o.compare, "compare", false, "start the GraphQL handler and the baseline in this process and compare them")
	fs.StringVar(&o.database, "database", "", "with -compare: sqlite:<path> or mysql://… (default: a temporary SQLite file)")
	fs.IntVar(&o.agents, "agents", 150, "with -compare: agents to create when the database has none")
	fs.DurationVar(&o.round, "round", time.Second, "with -compare: the sides take turns of this length")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q; see -h", fs.Args())
	}
	if o.concurrency < 1 || o.duration <= 0 || o.round <= 0 {
		return o, errors.New("-concurrency, -duration and -round must be positive")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.compare {
		return compare(ctx, o, stdout, stderr)
	}
	if o.token == "" {
		return errors.New("give the server's token with -token (or ADMIN_TOKEN)")
	}
	u := o.url
	if p, err := url.Parse(u); err == nil && (p.Path == "" || p.Path == "/") {
		u = strings.TrimSuffix(u, "/") + "/graphql"
	}
	l := loadtest.Load{Client: loadtest.NewClient(o.concurrency), Body: loadtest.RequestBody(o.query), Concurrency: o.concurrency}
	t := loadtest.Target{Name: "server", URL: u, Token: o.token}
	if err := l.Once(ctx, t); err != nil {
		return fmt.Errorf("first request: %w", err)
	}
	fmt.Fprintf(stdout, "%s, %d workers, %s\n", u, o.concurrency, o.duration)
	fmt.Fprintf(stdout, "%-8s %s\n", "server", l.Run(ctx, t, o.duration))
	return nil
}

// compare serves the GraphQL handler and the baseline on one database and
// loads them side by side.
func compare(ctx context.Context, o options, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dbURL, cleanup, err := loadtest.PrepareDatabase(o.database, "outdial-load-", false)
	if err != nil {
		return err
	}
	defer cleanup()
	db, err := models.Open(dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx, log); err != nil {
		return err
	}
	svc := calling.New(db, webhooks.NewOutbox(models.Now), log)
	if err := svc.RekeyNames(ctx); err != nil {
		return err
	}
	var agents int64
	if err := db.WithContext(ctx).Table("agents").Count(&agents).Error; err != nil {
		return err
	}
	if agents == 0 {
		fmt.Fprintf(stdout, "seeding %d agents on %s …\n", o.agents, models.RedactURL(dbURL))
		if err := loadtest.Seed(ctx, svc, o.agents); err != nil {
			return err
		}
	}
	token, revoke, err := loadToken(ctx, svc)
	if err != nil {
		return err
	}
	defer revoke()

	gql, err := serve(resolvers.NewHandler(resolvers.Config{Service: svc, Log: log}))
	if err != nil {
		return err
	}
	defer gql.Close()
	base, err := serve(loadtest.NewBaseline(svc, log))
	if err != nil {
		return err
	}
	defer base.Close()

	l := loadtest.Load{Client: loadtest.NewClient(o.concurrency), Body: loadtest.RequestBody(loadtest.AgentsQuery), Concurrency: o.concurrency}
	g := loadtest.Target{Name: "graphql", URL: "http://" + gql.Addr + "/graphql", Token: token}
	b := loadtest.Target{Name: "baseline", URL: "http://" + base.Addr + "/graphql", Token: token}
	if err := sameData(ctx, l, g, b); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: agents(first:%d), %d workers, %s each, in turns of %s\n",
		models.RedactURL(dbURL), loadtest.PageSize, o.concurrency, o.duration, o.round)
	rg, rb := l.Compare(ctx, g, b, o.duration, o.round)
	fmt.Fprintf(stdout, "%-8s %s\n%-8s %s\n", g.Name, rg, b.Name, rb)
	if rb.PerSecond() > 0 {
		fmt.Fprintf(stdout, "ratio    %.3f (graphql req/s ÷ baseline req/s)\n", rg.PerSecond()/rb.PerSecond())
	}
	return nil
}

// loadToken creates a VIEWER token for the run and returns it with a
// function that revokes it.
func loadToken(ctx context.Context, svc *calling.Service) (string, func(), error) {
	actor := calling.Actor{Name: "outdial-load", Role: calling.RoleAdmin}
	tok, value, err := svc.CreateAPIToken(ctx, actor, calling.CreateAPITokenInput{
		Name: "outdial-load " + time.Now().UTC().Format("2006-01-02T15:04:05.000000000"), Role: calling.RoleViewer})
	if err != nil {
		return "", nil, fmt.Errorf("create a token for the run: %w", err)
	}
	return value, func() { _, _ = svc.RevokeAPIToken(context.WithoutCancel(ctx), actor, tok.ID) }, nil
}

// server is an HTTP server on a loopback port.
type server struct {
	Addr string
	srv  *http.Server
}

func (s *server) Close() { _ = s.srv.Close() }

// serve serves h at /graphql on a free loopback port.
func serve(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/graphql", h)
	s := &server{Addr: ln.Addr().String(), srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// sameData checks that both sides answer the same data.
func sameData(ctx context.Context, l loadtest.Load, a, b loadtest.Target) error {
	da, err := fetchData(ctx, l, a)
	if err != nil {
		return err
	}
	db, err := fetchData(ctx, l, b)
	if err != nil {
		return err
	}
	if !bytes.Equal(da, db) {
		return fmt.Errorf("%s and %s answer different data:\n%.500s\n%.500s", a.Name, b.Name, da, db)
	}
	return nil
}

// fetchData returns the compacted data of one answer of t.
func fetchData(ctx context.Context, l loadtest.Load, t loadtest.Target) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(l.Body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+t.Token)
	resp, err := l.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	defer resp.Body.Close()
	var body struct {
		Data   json.RawMessage `json:"data"`
		Errors json.RawMessage `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK || body.Errors != nil {
		return nil, fmt.Errorf("%s answered HTTP %d with errors %s (%v)", t.Name, resp.StatusCode, body.Errors, err)
	}
	var out bytes.Buffer
	err = json.Compact(&out, body.Data)
	return out.Bytes(), err
}
