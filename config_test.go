package main

import (
	"strings"
	"testing"
	"time"
)

// TestRetentionSettings: RETENTION and AUDIT_RETENTION are read from the
// environment and flags, and refused when they cannot work.
func TestRetentionSettings(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	cfg, err := parseConfig(nil, env(nil), nil)
	if err != nil || cfg.Retention != 720*time.Hour || cfg.AuditRetention != 0 {
		t.Fatalf("defaults: %v, %v, %v; want 720h, 0", cfg.Retention, cfg.AuditRetention, err)
	}
	cfg, err = parseConfig([]string{"-retention", "48h"}, env(map[string]string{"RETENTION": "1s", "AUDIT_RETENTION": "8760h"}), nil)
	if err != nil || cfg.Retention != 48*time.Hour || cfg.AuditRetention != 8760*time.Hour {
		t.Fatalf("flag and variable: %v, %v, %v; want 48h, 8760h", cfg.Retention, cfg.AuditRetention, err)
	}
	for _, bad := range []map[string]string{{"RETENTION": "0"}, {"RETENTION": "-1h"}, {"RETENTION": "a month"},
		{"AUDIT_RETENTION": "-1s"}, {"AUDIT_RETENTION": "1ms"}} {
		if _, err := parseConfig(nil, env(bad), nil); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestInFlightLeaseSetting: WEBHOOK_INFLIGHT_LEASE, the lease of a
// claimed delivery, defaults to 2 minutes, raised to
// webhooks.MinLease(WEBHOOK_TIMEOUT) when not given (three times the
// timeout, and twice the timeout and a second); it is read from the
// environment and the flag, and refused below that minimum when given,
// above an hour, or when not a duration.
func TestInFlightLeaseSetting(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	for _, c := range []struct {
		args []string
		vars map[string]string
		want time.Duration // 0: refused
	}{
		{nil, nil, 2 * time.Minute},
		{nil, map[string]string{"WEBHOOK_INFLIGHT_LEASE": "45s"}, 45 * time.Second},
		{[]string{"-webhook-inflight-lease", "1h"}, map[string]string{"WEBHOOK_INFLIGHT_LEASE": "45s"}, time.Hour},
		{nil, map[string]string{"WEBHOOK_INFLIGHT_LEASE": "30s"}, 30 * time.Second},
		{nil, map[string]string{"WEBHOOK_TIMEOUT": "20s"}, 2 * time.Minute},
		{nil, map[string]string{"WEBHOOK_TIMEOUT": "1m"}, 3 * time.Minute},
		{[]string{"-webhook-timeout", "2m"}, nil, 6 * time.Minute},
		{nil, map[string]string{"WEBHOOK_TIMEOUT": "2s", "WEBHOOK_INFLIGHT_LEASE": "6s"}, 6 * time.Second},
		{nil, map[string]string{"WEBHOOK_TIMEOUT": "500ms", "WEBHOOK_INFLIGHT_LEASE": "3s"}, 3 * time.Second},
		{nil, map[string]string{"WEBHOOK_TIMEOUT": "10ms"}, 2 * time.Minute},
		// Given, and too short for the attempt timeout (10 s by default):
		// below three times it, or below twice it and a second, which
		// would have every claimed delivery given back unsent.
		{nil, map[string]string{"WEBHOOK_INFLIGHT_LEASE": "29s"}, 0},
		{[]string{"-webhook-inflight-lease", "6s"}, nil, 0},
		{nil, map[string]string{"WEBHOOK_TIMEOUT": "500ms", "WEBHOOK_INFLIGHT_LEASE": "2s"}, 0},
		{nil, map[string]string{"WEBHOOK_TIMEOUT": "10ms", "WEBHOOK_INFLIGHT_LEASE": "30ms"}, 0},
		{nil, map[string]string{"WEBHOOK_INFLIGHT_LEASE": "61m"}, 0},
		{nil, map[string]string{"WEBHOOK_INFLIGHT_LEASE": "0s"}, 0},
		{nil, map[string]string{"WEBHOOK_INFLIGHT_LEASE": "-2m"}, 0},
		{[]string{"-webhook-inflight-lease", "two minutes"}, nil, 0},
	} {
		cfg, err := parseConfig(c.args, env(c.vars), nil)
		switch {
		case c.want == 0 && err == nil:
			t.Errorf("%v %v accepted as %v", c.args, c.vars, cfg.WebhookInFlightLease)
		case c.want == 0 && !strings.Contains(err.Error(), "WEBHOOK_INFLIGHT_LEASE"):
			t.Errorf("%v %v: %v, want an error naming the setting", c.args, c.vars, err)
		case c.want != 0 && (err != nil || cfg.WebhookInFlightLease != c.want):
			t.Errorf("%v %v: %v, %v; want %v", c.args, c.vars, cfg.WebhookInFlightLease, err, c.want)
		}
	}
}

// TestRemovedLeaseSetting: WEBHOOK_LEASE, the lease a claimed delivery
// had before its attempt began until claims took the whole lease
// (webhooks/lease.go), is refused, by variable or flag, with what to set
// instead, rather than ignored: an operator who shortened it for faster
// failover would otherwise get 2 minutes without a word.
func TestRemovedLeaseSetting(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	for _, c := range []struct {
		args []string
		vars map[string]string
	}{
		{nil, map[string]string{"WEBHOOK_LEASE": "30s"}},
		{nil, map[string]string{"WEBHOOK_LEASE": "10s", "WEBHOOK_INFLIGHT_LEASE": "1m"}},
		{[]string{"-webhook-lease", "45s"}, nil},
	} {
		_, err := parseConfig(c.args, env(c.vars), nil)
		if err == nil || !strings.Contains(err.Error(), "WEBHOOK_LEASE (-webhook-lease): removed") || !strings.Contains(err.Error(), "WEBHOOK_INFLIGHT_LEASE") {
			t.Errorf("%v %v: %v, want WEBHOOK_LEASE refused, naming WEBHOOK_INFLIGHT_LEASE", c.args, c.vars, err)
		}
	}
	if _, err := parseConfig(nil, env(map[string]string{"WEBHOOK_LEASE": " "}), nil); err != nil {
		t.Errorf("WEBHOOK_LEASE blank: %v, want accepted (unset)", err)
	}
}

// TestAdminTokenSetting: ADMIN_TOKEN (or -admin-token) is refused, not
// trimmed, when no HTTP client could send it as a Bearer token (a space,
// a line break, a tab, a control or non-ASCII character, a character
// outside RFC 6750's b64token, "=" but as final padding) or when it is
// shorter than 32 or longer than 512 characters; the error names the
// setting and never holds the value. Unset, and every b64token of an
// allowed length, are accepted as given.
func TestAdminTokenSetting(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	// good's first 20 characters are in every refused value but the short
	// ones: an error holding them shows the value.
	good := "odt_" + strings.Repeat("Ab9-._~+/", 4) // 40 characters, every kind allowed
	for _, ok := range []string{"", good, good + "==", strings.Repeat("a", 32), "odt_" + strings.Repeat("x", 508)} {
		cfg, err := parseConfig(nil, env(map[string]string{"ADMIN_TOKEN": ok}), nil)
		if err != nil || cfg.AdminToken != ok {
			t.Errorf("ADMIN_TOKEN of %d characters: %q, %v; want accepted as given", len(ok), cfg.AdminToken, err)
		}
	}
	for _, c := range []struct{ value, why string }{
		{good + "\n", "character 41 of 41 is a line feed"},
		{good + " \n", "character 41 of 42 is a space"},
		{good + "\r\n", "a carriage return"},
		{" " + good, "character 1 of 41 is a space"},
		{good[:20] + "\t" + good[20:], "character 21 of 41 is a tab"},
		{good[:20] + "\u00a0" + good[20:], "a whitespace character"},
		{good[:20] + "\x00" + good[20:], "a control character"},
		{good[:20] + "é" + good[20:], "character 21 of 41 is a non-ASCII character"},
		{good[:20] + "\xff" + good[20:], "not UTF-8"},
		{good[:20] + "!" + good[20:], "a character a Bearer token cannot carry"},
		{good[:20] + "=" + good[20:], `a character after "=" padding`},
		{"=" + good, `"=" at its start`},
		{`"` + good + `"`, "a character a Bearer token cannot carry"},
		{"x", "got 1 characters"},
		{"odt_short", "got 9 characters"},
		{strings.Repeat("a", 31), "got 31 characters"},
		{"odt_" + strings.Repeat("x", 509), "got 513 characters"},
	} {
		for _, from := range []struct {
			args []string
			vars map[string]string
		}{{nil, map[string]string{"ADMIN_TOKEN": c.value}}, {[]string{"-admin-token", c.value}, map[string]string{"ADMIN_TOKEN": good}}} {
			cfg, err := parseConfig(from.args, env(from.vars), nil)
			switch {
			case err == nil:
				t.Errorf("%q (%s) accepted as %q", c.value, c.why, cfg.AdminToken)
			case !strings.HasPrefix(err.Error(), "ADMIN_TOKEN (-admin-token): want 32 to 512 characters") || !strings.Contains(err.Error(), c.why):
				t.Errorf("%q: %v; want the setting, the rule and %q", c.value, err, c.why)
			case (len(c.value) > 8 && strings.Contains(err.Error(), strings.TrimSpace(c.value))) || strings.Contains(err.Error(), good[:20]) ||
				strings.Contains(err.Error(), "\n"):
				t.Errorf("%q: the error shows the value or is not one line: %v", c.value, err)
			}
		}
	}
}

// TestUsageHoldsNoSecret: -h, and a flag that cannot be parsed, print the
// flags' usage with their defaults; the values of ADMIN_TOKEN and
// DATABASE_URL (which may hold a password) are not among them.
func TestUsageHoldsNoSecret(t *testing.T) {
	vars := map[string]string{
		"ADMIN_TOKEN":  "odt_" + strings.Repeat("S3cretAdminValue", 3),
		"DATABASE_URL": "mysql://outdial:Pa55wordInTheURL@db.example:3306/outdial",
	}
	getenv := func(k string) string { return vars[k] }
	for _, args := range [][]string{{"-h"}, {"-help"}, {"-no-such-flag"}, {"-webhook-timeout"}} {
		var usage strings.Builder
		if _, err := parseConfig(args, getenv, &usage); err == nil {
			t.Fatalf("%v: no error", args)
		}
		out := usage.String()
		if !strings.Contains(out, "-admin-token") {
			t.Fatalf("%v printed no usage: %q", args, out)
		}
		for name, secret := range map[string]string{"ADMIN_TOKEN": vars["ADMIN_TOKEN"], "DATABASE_URL's password": "Pa55wordInTheURL"} {
			if strings.Contains(out, secret) {
				t.Errorf("%v printed %s", args, name)
			}
		}
	}
	cfg, err := parseConfig(nil, getenv, nil)
	if err != nil || cfg.AdminToken != vars["ADMIN_TOKEN"] || cfg.DatabaseURL != vars["DATABASE_URL"] {
		t.Fatalf("the variables are not read: %v", err)
	}
	cfg, err = parseConfig([]string{"-database", "sqlite::memory:"}, getenv, nil)
	if err != nil || cfg.DatabaseURL != "sqlite::memory:" {
		t.Fatalf("-database does not win over DATABASE_URL: %q, %v", cfg.DatabaseURL, err)
	}
}
