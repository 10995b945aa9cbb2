// Command outdial-bench measures Outdial at the scale of a large contact
// center (BENCHMARKS.md): it seeds an organisation of -agents agents and
// -profiles outbound profiles on an empty database through the bulk path
// of the calling service, starts the GraphQL server, the webhook
// dispatcher, the hand-written baseline and a webhook receiver in this
// process, runs every scenario with its baseline side by side, checks
// every answer, and prints the table. It exits with status 1 when a
// scenario failed.
//
//	go run ./cmd/outdial-bench -agents 100000 -profiles 50
//	go run ./cmd/outdial-bench -agents 100000 -database mysql://root@127.0.0.1:3306/bench11 -fresh
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // -pprof
	"os"
	"os/signal"
	"syscall"
	"time"

	"outdial/internal/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "outdial-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("outdial-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg loadtest.BenchConfig
	database := fs.String("database", "", "an empty database: sqlite:<path> or mysql://… (default: a temporary SQLite file)")
	fresh := fs.Bool("fresh", false, "MySQL: drop the database first")
	pprof := fs.String("pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060)")
	fs.IntVar(&cfg.Agents, "agents", 100_000, "agents of the organisation")
	fs.IntVar(&cfg.Profiles, "profiles", 50, "outbound profiles of the organisation")
	fs.IntVar(&cfg.Concurrency, "concurrency", 1, "concurrent requests of the read scenarios (1: p50 and p99 are latencies, not queueing)")
	fs.DurationVar(&cfg.Duration, "duration", 5*time.Second, "how long each side of a read scenario is loaded")
	fs.IntVar(&cfg.Latencies, "latencies", 50, "one-agent changes of the latency scenario")
	fs.IntVar(&cfg.History, "history", 0, "delivered webhooks to store before the scenarios (e.g. 1000000)")
	verbose := fs.Bool("v", false, "log the server's warnings")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; see -h", fs.Args())
	}
	if cfg.Duration <= 0 || cfg.Concurrency < 1 {
		return errors.New("-duration and -concurrency must be positive")
	}
	if *pprof != "" {
		go func() { _ = http.ListenAndServe(*pprof, nil) }()
	}
	url, cleanup, err := loadtest.PrepareDatabase(*database, "outdial-bench-", *fresh)
	if err != nil {
		return err
	}
	defer cleanup()
	cfg.DatabaseURL = url
	cfg.Progress = stderr
	level := slog.LevelError
	if *verbose {
		level = slog.LevelWarn
	}
	cfg.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	rep, err := loadtest.RunBench(ctx, cfg)
	if err != nil {
		return err
	}
	rep.Print(stdout)
	if rep.Failed() {
		return errors.New("a scenario failed (see the table)")
	}
	return nil
}
