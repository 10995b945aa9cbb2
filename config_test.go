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

// TestInFlightLeaseSetting: WEBHOOK_INFLIGHT_LEASE defaults to 2 minutes,
// is read from the environment and the flag, and is refused shorter than
// a claimed delivery's lease (WEBHOOK_LEASE, 30 s by default) or longer
// than an hour.
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
		{nil, map[string]string{"WEBHOOK_INFLIGHT_LEASE": "29s"}, 0},
		{nil, map[string]string{"WEBHOOK_INFLIGHT_LEASE": "61m"}, 0},
		{nil, map[string]string{"WEBHOOK_INFLIGHT_LEASE": "-2m"}, 0},
		{[]string{"-webhook-inflight-lease", "two minutes"}, nil, 0},
	} {
		cfg, err := parseConfig(c.args, env(c.vars), nil)
		switch {
		case c.want == 0 && err == nil:
			t.Errorf("%v %v accepted as %v", c.args, c.vars, cfg.WebhookInFlightLease)
		case c.want != 0 && (err != nil || cfg.WebhookInFlightLease != c.want):
			t.Errorf("%v %v: %v, %v; want %v", c.args, c.vars, cfg.WebhookInFlightLease, err, c.want)
		}
	}
}

// TestLeaseSetting: WEBHOOK_LEASE defaults to 30 seconds, raised to
// webhooks.MinLease(WEBHOOK_TIMEOUT) when not given (three times the
// timeout, and twice the timeout and a second), and is refused below that
// when given; WEBHOOK_INFLIGHT_LEASE follows it the same way.
func TestLeaseSetting(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	for _, c := range []struct {
		args            []string
		vars            map[string]string
		lease, inFlight time.Duration // 0: refused
	}{
		{nil, nil, 30 * time.Second, 2 * time.Minute},
		{nil, map[string]string{"WEBHOOK_TIMEOUT": "20s"}, time.Minute, 2 * time.Minute},
		{[]string{"-webhook-timeout", "1m"}, nil, 3 * time.Minute, 3 * time.Minute},
		{nil, map[string]string{"WEBHOOK_TIMEOUT": "2s", "WEBHOOK_LEASE": "6s", "WEBHOOK_INFLIGHT_LEASE": "6s"}, 6 * time.Second, 6 * time.Second},
		{[]string{"-webhook-lease", "45s"}, map[string]string{"WEBHOOK_LEASE": "1m"}, 45 * time.Second, 2 * time.Minute},
		{nil, map[string]string{"WEBHOOK_LEASE": "5m"}, 5 * time.Minute, 5 * time.Minute},
		{nil, map[string]string{"WEBHOOK_TIMEOUT": "500ms", "WEBHOOK_LEASE": "3s"}, 3 * time.Second, 2 * time.Minute},
		{nil, map[string]string{"WEBHOOK_TIMEOUT": "10ms"}, 30 * time.Second, 2 * time.Minute},
		// Given, and too short for the attempt timeout (10 s by default):
		// below three times it, or below twice it and a second, which
		// would have every claimed delivery given back unsent.
		{nil, map[string]string{"WEBHOOK_LEASE": "6s"}, 0, 0},
		{[]string{"-webhook-lease", "29s"}, nil, 0, 0},
		{nil, map[string]string{"WEBHOOK_TIMEOUT": "500ms", "WEBHOOK_LEASE": "2s"}, 0, 0},
		{nil, map[string]string{"WEBHOOK_TIMEOUT": "10ms", "WEBHOOK_LEASE": "30ms"}, 0, 0},
		// An in-flight lease given shorter than the lease.
		{nil, map[string]string{"WEBHOOK_TIMEOUT": "1s", "WEBHOOK_LEASE": "5s", "WEBHOOK_INFLIGHT_LEASE": "4s"}, 0, 0},
		{nil, map[string]string{"WEBHOOK_LEASE": "5m", "WEBHOOK_INFLIGHT_LEASE": "2m"}, 0, 0},
		{nil, map[string]string{"WEBHOOK_LEASE": "61m"}, 0, 0},
		{nil, map[string]string{"WEBHOOK_LEASE": "0s"}, 0, 0},
		{nil, map[string]string{"WEBHOOK_LEASE": "-30s"}, 0, 0},
		{[]string{"-webhook-lease", "half a minute"}, nil, 0, 0},
	} {
		cfg, err := parseConfig(c.args, env(c.vars), nil)
		switch {
		case c.lease == 0 && err == nil:
			t.Errorf("%v %v accepted as %v, %v", c.args, c.vars, cfg.WebhookLease, cfg.WebhookInFlightLease)
		case c.lease == 0 && !strings.Contains(err.Error(), "LEASE"):
			t.Errorf("%v %v: %v, want an error naming the setting", c.args, c.vars, err)
		case c.lease != 0 && (err != nil || cfg.WebhookLease != c.lease || cfg.WebhookInFlightLease != c.inFlight):
			t.Errorf("%v %v: %v, %v, %v; want %v, %v", c.args, c.vars, cfg.WebhookLease, cfg.WebhookInFlightLease, err, c.lease, c.inFlight)
		}
	}
}
