package resolvers_test

import (
	"outdial/internal/hooktest"
	"outdial/internal/server"
	"outdial/internal/testenv"
	"strings"
	"testing"
	"time"
)

// TestRetentionThroughTheServer: a server with RETENTION at one second
// deletes a delivered test webhook, its attempt and its event, counts them
// in /metrics, and redeliverWebhook of the deleted delivery says that it
// is older than the retention.
func TestRetentionThroughTheServer(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t, testenv.AllowLoopback, func(c *server.Config) { c.Retention = time.Second })
	rc := hooktest.New(t, hooktest.Options{})
	ep, _ := e.CreateHook("", rc, map[string]any{"url": rc.URL("/hooks")})
	var sent struct{ WebhookDelivery struct{ ID string } }
	e.MustMutate("sendTestWebhook", testenv.SendTest, map[string]any{"id": ep.ID}, &sent)
	testenv.WaitUntil(t, "the test webhook delivered and then pruned", testenv.WaitTimeout, func() bool {
		var left int64
		if err := e.App.DB.Raw("SELECT COUNT(*) FROM webhook_deliveries").Scan(&left).Error; err != nil {
			t.Fatal(err)
		}
		return rc.AckedCount() == 1 && left == 0
	})
	if ds, _ := e.Deliveries("", map[string]any{"endpointId": ep.ID}); len(ds) != 0 {
		t.Fatalf("webhookDeliveries lists %d pruned deliveries", len(ds))
	}
	errs := e.Mutate("redeliverWebhook", testenv.Redeliver, map[string]any{"id": sent.WebhookDelivery.ID}, nil)
	if len(errs) != 1 || errs[0].Code != "NOT_FOUND" || !strings.Contains(errs[0].Message, "older than the retention") {
		t.Fatalf("redeliverWebhook of a pruned delivery: %+v; want NOT_FOUND saying it is older than the retention", errs)
	}
	testenv.WaitUntil(t, "the rows counted in /metrics", testenv.WaitTimeout, func() bool {
		_, body := e.Get("/metrics", "")
		m := string(body)
		return strings.Contains(m, `outdial_retention_deleted_rows_total{table="webhook_deliveries"} 1`) &&
			strings.Contains(m, `outdial_retention_deleted_rows_total{table="webhook_attempts"} 1`) &&
			strings.Contains(m, `outdial_retention_deleted_rows_total{table="webhook_events"} 1`)
	})
}
