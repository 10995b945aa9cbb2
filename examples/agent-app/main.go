// Command agent-app is an example agent app for Outdial: it shows, as they
// happen, the changes of one agent's calling ability, pushed by webhook.
//
// Given the server's URL, an AGENT token and the address Outdial can reach
// it at, it
//
//   - looks up its agent (viewer { agent { … } }) and prints its ability;
//   - serves webhooks on /webhook and registers that URL with
//     createWebhookEndpoint, keeping the returned secret in memory only;
//   - verifies every webhook's Standard Webhooks signature (401 when it
//     fails), ignores a version not newer than the one it printed last,
//     and prints each new ability;
//   - on SIGINT or SIGTERM deletes its endpoint and exits.
//
// Usage (flags, or the environment variables in brackets):
//
//	go run ./examples/agent-app -token odt_… [-server http://localhost:8080]
//	    [-listen 127.0.0.1:9090] [-public-url http://127.0.0.1:9090/webhook] [-send-test]
//
// Outdial refuses loopback webhook URLs unless the server is started with
// -webhook-allowed-cidrs 127.0.0.0/8.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "agent-app:", err)
		os.Exit(1)
	}
}

// config is the app's configuration.
type config struct {
	Server    string // Outdial's base URL
	Token     string // an AGENT token
	Listen    string // where this app serves webhooks
	PublicURL string // the webhook URL Outdial posts to; empty: derived from Listen
	SendTest  bool   // ask Outdial for a webhook.test once registered
}

// parseConfig reads flags from args, falling back to environment variables
// read through getenv.
func parseConfig(args []string, getenv func(string) string, usage io.Writer) (config, error) {
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("agent-app", flag.ContinueOnError)
	fs.SetOutput(usage)
	var c config
	fs.StringVar(&c.Server, "server", env("OUTDIAL_URL", "http://localhost:8080"), "Outdial's base URL (OUTDIAL_URL)")
	fs.StringVar(&c.Token, "token", env("OUTDIAL_TOKEN", ""), "an AGENT token, from createApiToken (OUTDIAL_TOKEN)")
	fs.StringVar(&c.Listen, "listen", env("AGENT_APP_LISTEN", "127.0.0.1:9090"), "address to serve webhooks on (AGENT_APP_LISTEN)")
	fs.StringVar(&c.PublicURL, "public-url", env("AGENT_APP_PUBLIC_URL", ""),
		"the URL Outdial posts webhooks to; default http://<listen address>/webhook (AGENT_APP_PUBLIC_URL)")
	fs.BoolVar(&c.SendTest, "send-test", false, "ask Outdial to send a webhook.test once registered")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q; see -h", fs.Args())
	}
	if c.Token == "" {
		return config{}, errors.New("an AGENT token is required: -token or OUTDIAL_TOKEN")
	}
	return c, nil
}

// run runs the app until ctx is done, then deletes its endpoint.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	api := newOutdial(cfg.Server, cfg.Token)
	agent, err := api.viewer(ctx)
	if err != nil {
		return fmt.Errorf("look up the token's agent: %w", err)
	}
	rcv := newReceiver(stdout, log)
	rcv.apply(agent.ID, agent.Name, agent.ability())

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	srv, served := serve(ln, rcv, log)
	defer shutdown(srv, log)

	endpointID, err := register(ctx, api, rcv, publicURL(cfg, ln.Addr()), agent, log)
	if err != nil {
		return err
	}
	defer deleteEndpoint(api, endpointID, log)
	catchUp(ctx, api, rcv, log)
	if cfg.SendTest {
		if err := api.sendTestWebhook(ctx, endpointID); err != nil {
			log.Warn("sendTestWebhook", "err", err)
		}
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-served:
		return fmt.Errorf("webhook server: %w", err)
	}
}

// serve serves rcv on /webhook in the background; the channel gets the
// error that stops it before Shutdown is called.
func serve(ln net.Listener, rcv *receiver, log *slog.Logger) (*http.Server, <-chan error) {
	mux := http.NewServeMux()
	mux.Handle("/webhook", rcv)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			served <- err
		}
	}()
	log.Info("serving webhooks", "addr", ln.Addr().String())
	return srv, served
}

// publicURL returns the configured webhook URL, or one made of the
// listener's address (loopback when it listens on every interface).
func publicURL(cfg config, addr net.Addr) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/webhook"
}

// register creates the app's webhook endpoint and hands its secret to rcv.
func register(ctx context.Context, api *outdial, rcv *receiver, url string, agent me, log *slog.Logger) (string, error) {
	id, secret, err := api.createWebhookEndpoint(ctx, url, agent.ID)
	if err != nil {
		return "", fmt.Errorf("register %s: %w", url, err)
	}
	if err := rcv.setSecret(secret); err != nil {
		deleteEndpoint(api, id, log)
		return "", err
	}
	log.Info("registered webhook endpoint", "id", id, "url", url, "agent", agent.Email)
	return id, nil
}

// catchUp reads the ability again now that the endpoint exists, so that a
// change made between the first look-up and the registration is not
// missed; apply ignores it when it is not newer.
func catchUp(ctx context.Context, api *outdial, rcv *receiver, log *slog.Logger) {
	agent, err := api.viewer(ctx)
	if err != nil {
		log.Warn("read the ability after registering", "err", err)
		return
	}
	rcv.apply(agent.ID, agent.Name, agent.ability())
}

// deleteEndpoint deletes the endpoint, with a context of its own since the
// app's is done by then.
func deleteEndpoint(api *outdial, id string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := api.deleteWebhookEndpoint(ctx, id); err != nil {
		log.Error("delete webhook endpoint", "id", id, "err", err)
		return
	}
	log.Info("deleted webhook endpoint", "id", id)
}

// shutdown stops the webhook server, letting requests in progress finish.
func shutdown(srv *http.Server, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("webhook server shutdown", "err", err)
	}
}
