package webhooks

import (
	"slices"
	"testing"

	"outdial/models"
)

// TestWriteStoresEachEndpointsDeliveriesSideBySide checks the order in
// which a write stores its deliveries: endpoint by endpoint, each
// endpoint's in the events' order, so that the rows the dispatcher leases,
// extends and settles together lie side by side (outbox.go; BENCHMARKS.md,
// "A healthy endpoint beside dead ones").
func TestWriteStoresEachEndpointsDeliveriesSideBySide(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var eps []int64
	for range 3 {
		eps = append(eps, b.endpoint(closedPort(t)).ID)
	}
	for _, write := range [][]Event{agentEvents(5, 1), agentEvents(1, 2), agentEvents(40, 3)} {
		events := b.enqueue(write...)
		var ds []models.WebhookDelivery
		ids := make([]int64, len(events))
		for i, e := range events {
			ids[i] = e.ID
		}
		if err := b.db.Where("event_id IN ?", ids).Order("id").Find(&ds).Error; err != nil {
			t.Fatal(err)
		}
		if len(ds) != len(events)*len(eps) {
			t.Fatalf("%d events to %d endpoints stored %d deliveries", len(events), len(eps), len(ds))
		}
		// In ID order: every delivery of the first endpoint, then of the
		// second, ...; within one endpoint, the events in the order written.
		for i, d := range ds {
			ep, ev := eps[i/len(events)], events[i%len(events)].ID
			if d.EndpointID != ep || d.EventID != ev {
				t.Fatalf("write of %d events: delivery %d (ID %d) is of endpoint %d and event %d, want endpoint %d and event %d",
					len(events), i, d.ID, d.EndpointID, d.EventID, ep, ev)
			}
		}
		if !slices.IsSortedFunc(ds, func(a, b models.WebhookDelivery) int { return int(a.ID - b.ID) }) {
			t.Fatal("deliveries not in ID order")
		}
	}
}
