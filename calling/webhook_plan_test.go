package calling

import (
	"context"
	"strings"
	"testing"

	"gorm.io/gorm"

	"outdial/models"
	"outdial/models/dbtest"
	"outdial/webhooks"
)

// TestDeliveriesOfAFinishedStatusUseTheIndex checks on SQLite (EXPLAIN
// QUERY PLAN) that webhookDeliveries filtered by a finished status alone
// reads that status's entries of webhook_deliveries_finished, a partial
// index (status <> 'PENDING') that SQLite uses only when the query says
// so literally: without it, the count read every delivery, and a page
// walked every delivery from the newest until it was full (as many as
// the table holds for a status that few deliveries have).
func TestDeliveriesOfAFinishedStatusUseTheIndex(t *testing.T) {
	t.Parallel()
	db := dbtest.OpenSQLite(t)
	s := New(db, nil, nil)
	for _, status := range []string{webhooks.StatusSucceeded, webhooks.StatusFailed, webhooks.StatusSuperseded} {
		l := s.WebhookDeliveries(context.Background(), DeliveryFilter{Status: &status})
		dry := func() *gorm.DB { return l.q().Session(&gorm.Session{DryRun: true}) }
		var n int64
		var rows []models.WebhookDelivery
		for name, stmt := range map[string]*gorm.Statement{
			"count": dry().Count(&n).Statement,
			"page":  dry().Where("id < ?", 100).Order("id DESC").Limit(51).Find(&rows).Statement,
		} {
			var plan []struct {
				ID, Parent, NotUsed int
				Detail              string
			}
			if err := db.Raw("EXPLAIN QUERY PLAN "+stmt.SQL.String(), stmt.Vars...).Scan(&plan).Error; err != nil {
				t.Fatalf("%s %s: %v", status, name, err)
			}
			if len(plan) == 0 || !strings.Contains(plan[0].Detail, "webhook_deliveries_finished (status=?)") {
				t.Errorf("%s %s (%s) reads %+v, want the status's entries of webhook_deliveries_finished",
					status, name, stmt.SQL.String(), plan)
			}
		}
	}
}
