package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"outdial/calling"
	"outdial/internal/server"
	"outdial/webhooks"
)

// config is the server's configuration (server.Config), read from flags
// falling back to the environment variables the README lists under
// "Configuration", falling back to defaults.
type config = server.Config

// Defaults of the configuration (README, "Configuration").
const (
	defaultListenAddr    = ":8080"
	defaultDatabaseURL   = "sqlite:outdial.db"
	defaultRetrySchedule = "5s,5m,30m,2h,5h,10h,10h"
	defaultTimeout       = "10s"
	// defaultInFlightLease is webhooks.DefaultInFlightLease.
	defaultInFlightLease = "2m"
	maxLease             = time.Hour
	// defaultRequestTimeout (resolvers.DefaultRequestTimeout) is half the
	// HTTP write timeout (server.WriteTimeout, 60 s); maxRequestTimeout leaves
	// room in it for a commit under way at the deadline (calling waits
	// 10 s for it) and for writing the answer.
	defaultRequestTimeout = "30s"
	defaultRetention      = "720h"
	defaultAuditRetention = "0"
	maxRequestTimeout     = 45 * time.Second
)

// Bounds of ADMIN_TOKEN's length, in characters (bytes: every character
// allowed is ASCII). minAdminToken: 32 characters are 128 bits even when
// written in hex, the least dense way a random value is commonly written
// (e.g. openssl rand -hex 16), so a random value of that length cannot be
// guessed, and a generated token (odt_ and 43 base64url characters, 47
// in all) clears it; a short value such as x is refused as trivially weak.
// maxAdminToken is the longest token calling.Authenticate accepts: a
// longer one would be stored and never work.
const (
	minAdminToken = 32
	maxAdminToken = calling.MaxTokenLength
)

// parseConfig reads flags from args and environment variables through
// getenv; a flag given on the command line wins over its variable.
func parseConfig(args []string, getenv func(string) string, usage io.Writer) (config, error) {
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("outdial", flag.ContinueOnError)
	fs.SetOutput(usage)
	listen := fs.String("listen", env("LISTEN_ADDR", defaultListenAddr), "HTTP address (LISTEN_ADDR)")
	// The secrets' variables are read after parsing, not made the flags'
	// defaults: -h (or a flag it cannot parse) prints every default, and
	// would print ADMIN_TOKEN and a password in DATABASE_URL.
	dbURL := fs.String("database", defaultDatabaseURL,
		"sqlite:<path>, sqlite::memory: or mysql://user:pass@host:port/dbname (DATABASE_URL)")
	admin := fs.String("admin-token", "",
		fmt.Sprintf("value of the ADMIN token named bootstrap, %d to %d characters of A-Z a-z 0-9 - . _ ~ + / (then = padding); "+
			"when unset and no token exists, one is generated and printed (ADMIN_TOKEN)", minAdminToken, maxAdminToken))
	cidrs := fs.String("webhook-allowed-cidrs", env("WEBHOOK_ALLOWED_CIDRS", ""),
		"comma-separated CIDRs webhook URLs may reach despite the address rule, e.g. 127.0.0.0/8 (WEBHOOK_ALLOWED_CIDRS)")
	schedule := fs.String("webhook-retry-schedule", env("WEBHOOK_RETRY_SCHEDULE", defaultRetrySchedule),
		"delays between webhook attempts, Go durations, comma-separated (WEBHOOK_RETRY_SCHEDULE)")
	timeout := fs.String("webhook-timeout", env("WEBHOOK_TIMEOUT", defaultTimeout), "timeout of one webhook attempt (WEBHOOK_TIMEOUT)")
	inFlight := fs.String("webhook-inflight-lease", env("WEBHOOK_INFLIGHT_LEASE", defaultInFlightLease),
		"how long a claimed webhook delivery stays reserved for its process, from the larger of 3×timeout and 2×(timeout+1s) to 1h (WEBHOOK_INFLIGHT_LEASE)")
	removedLease := fs.String("webhook-lease", env("WEBHOOK_LEASE", ""),
		"removed: a claimed delivery is leased for -webhook-inflight-lease (WEBHOOK_LEASE)")
	region := fs.String("default-region", env("DEFAULT_REGION", calling.DefaultRegion),
		"ISO 3166-1 alpha-2 country of phone numbers written without a country code when the request names none, e.g. GB (DEFAULT_REGION)")
	requestTimeout := fs.String("request-timeout", env("REQUEST_TIMEOUT", defaultRequestTimeout),
		"deadline of every request, its database statements, lock waits and retries included (REQUEST_TIMEOUT)")
	retention := fs.String("retention", env("RETENTION", defaultRetention),
		"how long finished webhook deliveries, their attempts and events are kept, e.g. 720h; pending deliveries are kept whatever their age (RETENTION)")
	auditRetention := fs.String("audit-retention", env("AUDIT_RETENTION", defaultAuditRetention),
		"how long audit entries are kept, e.g. 8760h; 0 keeps them forever (AUDIT_RETENTION)")
	demo := fs.Bool("demo", false, "load a small example organisation when the database is empty")
	rotate := fs.Bool("rotate-admin-token", false,
		"replace the bootstrap ADMIN token with a new generated one (the old one is revoked), print it once and exit; ADMIN_TOKEN must be unset")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q; see -h", fs.Args())
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	if !onCommandLine["database"] {
		*dbURL = env("DATABASE_URL", defaultDatabaseURL)
	}
	if !onCommandLine["admin-token"] {
		*admin = getenv("ADMIN_TOKEN") // exactly as given, not trimmed (checkAdminToken)
	}
	cfg := config{ListenAddr: *listen, DatabaseURL: *dbURL, AdminToken: *admin, Demo: *demo, RotateAdminToken: *rotate}
	if cfg.RotateAdminToken && cfg.AdminToken != "" {
		return config{}, errors.New("-rotate-admin-token generates a new value while ADMIN_TOKEN (or -admin-token) sets one: " +
			"unset ADMIN_TOKEN to generate one, or set ADMIN_TOKEN to the new value you want instead")
	}
	if err := checkAdminToken(cfg.AdminToken); err != nil {
		return config{}, err
	}
	var err error
	if cfg.WebhookAllowedCIDRs, err = parseCIDRs(*cidrs); err != nil {
		return config{}, fmt.Errorf("WEBHOOK_ALLOWED_CIDRS: %w", err)
	}
	if cfg.WebhookRetrySchedule, err = parseSchedule(*schedule); err != nil {
		return config{}, fmt.Errorf("WEBHOOK_RETRY_SCHEDULE: %w", err)
	}
	if cfg.DefaultRegion, err = calling.Region(*region); err != nil {
		return config{}, fmt.Errorf("DEFAULT_REGION: %w", err)
	}
	if cfg.WebhookTimeout, err = time.ParseDuration(*timeout); err != nil || cfg.WebhookTimeout <= 0 || cfg.WebhookTimeout > 5*time.Minute {
		return config{}, fmt.Errorf("WEBHOOK_TIMEOUT: want a duration between 1ms and 5m, e.g. 10s; got %q", *timeout)
	}
	if strings.TrimSpace(*removedLease) != "" {
		return config{}, errors.New("WEBHOOK_LEASE (-webhook-lease): removed; a claimed delivery is now leased for WEBHOOK_INFLIGHT_LEASE (-webhook-inflight-lease, default 2m, more for a long WEBHOOK_TIMEOUT): set that instead, and remove WEBHOOK_LEASE")
	}
	if cfg.WebhookInFlightLease, err = parseLease(*inFlight, cfg.WebhookTimeout, given(fs, getenv)); err != nil {
		return config{}, err
	}
	if cfg.RequestTimeout, err = time.ParseDuration(*requestTimeout); err != nil || cfg.RequestTimeout < time.Second || cfg.RequestTimeout > maxRequestTimeout {
		return config{}, fmt.Errorf("REQUEST_TIMEOUT: want a duration between 1s and %s, e.g. 30s; got %q", maxRequestTimeout, *requestTimeout)
	}
	if cfg.Retention, err = time.ParseDuration(*retention); err != nil || cfg.Retention < time.Second {
		return config{}, fmt.Errorf("RETENTION: want a duration of at least 1s, e.g. 720h (30 days); got %q", *retention)
	}
	if cfg.AuditRetention, err = time.ParseDuration(*auditRetention); err != nil || (cfg.AuditRetention != 0 && cfg.AuditRetention < time.Second) {
		return config{}, fmt.Errorf("AUDIT_RETENTION: want 0 (keep forever) or a duration of at least 1s, e.g. 8760h; got %q", *auditRetention)
	}
	return cfg, nil
}

// checkAdminToken refuses an ADMIN_TOKEN (or -admin-token) value that
// could not work as a bearer token, or is trivially weak, before the
// server opens the database: a value set replaces the working bootstrap
// token at start (calling.EnsureBootstrapToken), so one no client can send
// would lock every ADMIN out. "" (unset) is accepted. A value is refused
// unless it is a b64token (RFC 6750, section 2.1: one or more of A-Z a-z
// 0-9 - . _ ~ + / then "=" padding only), which is what every HTTP
// client can send in "Authorization: Bearer <token>" and what
// resolvers.bearer passes on unchanged (it trims spaces around the token,
// and a b64token has none), and minAdminToken to maxAdminToken characters
// long. The value is never trimmed, so that the operator fixes the
// configuration; the error never holds the value (a secret), only its
// length and the position and kind of the first character refused.
func checkAdminToken(value string) error {
	if value == "" {
		return nil
	}
	rule := fmt.Sprintf("want %d to %d characters of A-Z a-z 0-9 - . _ ~ + / then optional = padding, as a Bearer token carries (RFC 6750), "+
		"no spaces or line breaks; it is not trimmed: fix the value, or unset it to keep the current bootstrap token", minAdminToken, maxAdminToken)
	padding := false
	for i, r := range value {
		var bad string
		switch {
		case r == '=':
			padding = true
			if i == 0 {
				bad = `"=" at its start`
			}
		case padding:
			bad = `a character after "=" padding`
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9', strings.ContainsRune("-._~+/", r):
		default:
			bad = charKind(r)
		}
		if bad != "" {
			return fmt.Errorf("ADMIN_TOKEN (-admin-token): %s; character %d of %d is %s", rule, utf8.RuneCountInString(value[:i])+1,
				utf8.RuneCountInString(value), bad)
		}
	}
	if n := len(value); n < minAdminToken || n > maxAdminToken {
		return fmt.Errorf("ADMIN_TOKEN (-admin-token): %s; got %d characters", rule, n)
	}
	return nil
}

// charKind names the kind of a character a bearer token cannot hold,
// without showing it (it is part of a secret): whitespace and control
// characters by name, the others by class.
func charKind(r rune) string {
	switch {
	case r == ' ':
		return "a space"
	case r == '\t':
		return "a tab"
	case r == '\n':
		return "a line feed"
	case r == '\r':
		return "a carriage return"
	case r == utf8.RuneError:
		return "not UTF-8, or U+FFFD"
	case unicode.IsSpace(r):
		return "a whitespace character"
	case unicode.IsControl(r):
		return "a control character"
	case r > unicode.MaxASCII:
		return "a non-ASCII character"
	default:
		return "a character a Bearer token cannot carry"
	}
}

// parseLease parses WEBHOOK_INFLIGHT_LEASE, value: at least
// webhooks.MinLease of the attempt timeout (three times it, and at least
// twice the sum of the timeout and a second) and at most maxLease. The default (the
// setting not given) is raised to that minimum; a given value too short
// is an error.
func parseLease(value string, timeout time.Duration, given func(variable string) bool) (time.Duration, error) {
	least := webhooks.MinLease(timeout)
	d, err := time.ParseDuration(value)
	if !given("WEBHOOK_INFLIGHT_LEASE") && err == nil {
		d = max(d, least)
	}
	if err != nil || d < least || d > maxLease {
		return 0, fmt.Errorf("WEBHOOK_INFLIGHT_LEASE: want a duration between %s (for WEBHOOK_TIMEOUT %s) and 1h, e.g. %s; got %q",
			least, timeout, max(least, 2*time.Minute), value)
	}
	return d, nil
}

// given reports whether a setting was given, by its variable or its flag
// (the variable's name in lower case, with - for _).
func given(fs *flag.FlagSet, getenv func(string) string) func(variable string) bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return func(variable string) bool {
		return strings.TrimSpace(getenv(variable)) != "" || set[strings.ReplaceAll(strings.ToLower(variable), "_", "-")]
	}
}

// parseCIDRs parses a comma-separated list of CIDRs.
func parseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR like 127.0.0.0/8", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// parseSchedule parses a comma-separated list of positive durations.
func parseSchedule(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%q is not a positive Go duration like 5s or 2h", strings.TrimSpace(part))
		}
		out = append(out, d)
	}
	if len(out) == 0 || len(out) > 50 {
		return nil, errors.New("want 1 to 50 delays, e.g. 5s,5m,30m")
	}
	return out, nil
}
