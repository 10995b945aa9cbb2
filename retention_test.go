package main

import (
	"strings"
	"testing"
	"time"
)

// TestRetentionThroughTheServer: a server with RETENTION at one second
// deletes a delivered test webhook, its attempt and its event, counts them
// in /metrics, and redeliverWebhook of the deleted delivery says that it
// is older than the retention.
func TestRetentionThroughTheServer(t *testing.T) {
	e := setup(t, allowLoopback, func(c *config) { c.Retention = time.Second })
	rc := newHookReceiver(t, nil)
	ep, _ := e.createHook("", rc, map[string]any{"url": rc.url("/hooks")})
	var sent struct{ WebhookDelivery struct{ ID string } }
	e.mustMutate("sendTestWebhook", sendTestM, map[string]any{"id": ep.ID}, &sent)
	waitUntil(t, "the test webhook delivered and then pruned", waitTimeout, func() bool {
		var left int64
		if err := e.app.db.Raw("SELECT COUNT(*) FROM webhook_deliveries").Scan(&left).Error; err != nil {
			t.Fatal(err)
		}
		return rc.ackedCount() == 1 && left == 0
	})
	if ds, _ := e.deliveries("", map[string]any{"endpointId": ep.ID}); len(ds) != 0 {
		t.Fatalf("webhookDeliveries lists %d pruned deliveries", len(ds))
	}
	errs := e.mutate("redeliverWebhook", redeliverM, map[string]any{"id": sent.WebhookDelivery.ID}, nil)
	if len(errs) != 1 || errs[0].Code != "NOT_FOUND" || !strings.Contains(errs[0].Message, "older than the retention") {
		t.Fatalf("redeliverWebhook of a pruned delivery: %+v; want NOT_FOUND saying it is older than the retention", errs)
	}
	waitUntil(t, "the rows counted in /metrics", waitTimeout, func() bool {
		_, body := e.get("/metrics", "")
		m := string(body)
		return strings.Contains(m, `outdial_retention_deleted_rows_total{table="webhook_deliveries"} 1`) &&
			strings.Contains(m, `outdial_retention_deleted_rows_total{table="webhook_attempts"} 1`) &&
			strings.Contains(m, `outdial_retention_deleted_rows_total{table="webhook_events"} 1`)
	})
}

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
