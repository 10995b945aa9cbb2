package main

import (
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
// a claimed delivery's lease (30 s) or longer than an hour.
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
