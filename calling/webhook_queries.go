package calling

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"outdial/models"
	"outdial/webhooks"
)

// ownEndpointsSQL selects the endpoints whose agent filter is exactly one
// agent (the argument, given twice).
const ownEndpointsSQL = `id IN (SELECT endpoint_id FROM webhook_endpoint_agents WHERE agent_id = ?)
	AND NOT EXISTS (SELECT 1 FROM webhook_endpoint_agents x WHERE x.endpoint_id = webhook_endpoints.id AND x.agent_id <> ?)`

// WebhookEndpoints lists the live endpoints in the order they were
// created; onlyAgent restricts them to those of one agent (AGENT tokens).
func (s *Service) WebhookEndpoints(ctx context.Context, onlyAgent *int64) Lister[models.WebhookEndpoint] {
	return Lister[models.WebhookEndpoint]{q: func() *gorm.DB {
		q := s.db.WithContext(ctx).Model(&models.WebhookEndpoint{}).Where("deleted_at IS NULL")
		if onlyAgent != nil {
			q = q.Where(ownEndpointsSQL, *onlyAgent, *onlyAgent)
		}
		return q
	}}
}

// DeliveryFilter narrows WebhookDeliveries; nil fields do not filter.
type DeliveryFilter struct {
	EndpointID *int64
	Status     *string
	EventType  *string
	AgentID    *int64
	// OnlyAgent restricts the list to the deliveries of one agent's own
	// endpoints that are about that agent or no agent (AGENT tokens).
	OnlyAgent *int64
}

// WebhookDeliveries lists deliveries, newest first.
func (s *Service) WebhookDeliveries(ctx context.Context, f DeliveryFilter) Lister[models.WebhookDelivery] {
	pendingOnSQLite := f.Status != nil && *f.Status == webhooks.StatusPending && s.db.Dialect == models.SQLite
	filtered := func() *gorm.DB {
		q := s.db.WithContext(ctx).Model(&models.WebhookDelivery{})
		if f.EndpointID != nil {
			q = q.Where("endpoint_id = ?", *f.EndpointID)
		}
		if f.Status != nil {
			q = q.Where("status = ?", *f.Status)
			if *f.Status != webhooks.StatusPending {
				// Implied by the status, and written out for SQLite: its
				// webhook_deliveries_finished (status, updated_at) holds
				// only the deliveries WHERE status <> 'PENDING' (migration
				// 00021), and SQLite reads a partial index only for a
				// query that says so literally. Without it, the count of
				// a status read every delivery, and a page walked every
				// delivery from the newest until it was full.
				q = q.Where("status <> 'PENDING'")
			}
		}
		if f.EventType != nil {
			q = q.Where("event_id IN (SELECT id FROM webhook_events WHERE type = ?)", *f.EventType)
		}
		if f.AgentID != nil {
			q = q.Where("agent_id = ?", *f.AgentID)
		}
		if f.OnlyAgent != nil {
			about := "(agent_id IS NULL OR agent_id = ?)"
			if pendingOnSQLite {
				// The unary + keeps SQLite (no ANALYZE) from reading
				// webhook_deliveries_agent_id for these terms (there,
				// every delivery about no agent), as it did for PENDING
				// since migration 00021: the own endpoints' PENDING
				// entries of webhook_deliveries_endpoint (endpoint_id,
				// status, id) serve, then a sort, as before 00021.
				about = "(+agent_id IS NULL OR +agent_id = ?)"
			}
			q = q.Where("endpoint_id IN (SELECT id FROM webhook_endpoints WHERE "+ownEndpointsSQL+")", *f.OnlyAgent, *f.OnlyAgent).
				Where(about, *f.OnlyAgent)
		}
		return q
	}
	l := Lister[models.WebhookDelivery]{newestFirst: true, q: filtered}
	if pendingOnSQLite && f.EndpointID == nil && f.AgentID == nil && f.OnlyAgent == nil {
		// On SQLite (no ANALYZE) a page, WHERE status = ? AND id < ?
		// ORDER BY id DESC, walks the table from the newest delivery
		// until it is full (every delivery, when few are pending):
		// PENDING's entries of webhook_deliveries_finished served it
		// until migration 00021 made that index partial, and the indexes
		// of pending deliveries are not in id order. With the term below,
		// implied by the status, the plan is "SEARCH webhook_deliveries
		// USING INTEGER PRIMARY KEY (rowid=?)" over a LIST SUBQUERY that
		// scans webhook_deliveries_pending_age: it reads the pending IDs
		// and looks them up from the newest until the page is full, no
		// sort; a cost that grows with the pending deliveries, not with
		// the history. Filtered by endpoint or agent, the plans of before
		// 00021 stay (webhook_deliveries_endpoint, _agent_id); an AGENT
		// token's, see above. MySQL's finished index is whole.
		l.q = func() *gorm.DB {
			return filtered().Where("id IN (SELECT id FROM webhook_deliveries WHERE status = 'PENDING')")
		}
		if f.EventType == nil {
			// Without the term the count of all pending deliveries is a
			// scan of pending_age alone; with it, a lookup of each as
			// well (ten times as long, 20,000 pending).
			l.count = func() (int, error) { return countRows(filtered()) }
		}
	}
	return l
}

// WebhookEndpointsByID loads endpoints (deleted ones included) by ID.
func (s *Service) WebhookEndpointsByID(ctx context.Context, ids []int64) ([]*models.WebhookEndpoint, error) {
	return byID(ctx, s.db.DB, "id", ids, func(r *models.WebhookEndpoint) int64 { return r.ID })
}

// WebhookEventsByID loads events by ID.
func (s *Service) WebhookEventsByID(ctx context.Context, ids []int64) ([]*models.WebhookEvent, error) {
	return byID(ctx, s.db.DB, "id", ids, func(r *models.WebhookEvent) int64 { return r.ID })
}

// WebhookDeliveriesByID loads deliveries by ID.
func (s *Service) WebhookDeliveriesByID(ctx context.Context, ids []int64) ([]*models.WebhookDelivery, error) {
	return byID(ctx, s.db.DB, "id", ids, func(r *models.WebhookDelivery) int64 { return r.ID })
}

// AgentsOfEndpoints loads the agent filter of each endpoint.
func (s *Service) AgentsOfEndpoints(ctx context.Context, ids []int64) ([][]int64, error) {
	var rows []models.WebhookEndpointAgent
	if err := s.db.WithContext(ctx).Where("endpoint_id IN ?", uniqueSorted(ids)).Order("agent_id").Find(&rows).Error; err != nil {
		return nil, err
	}
	byEndpoint := map[int64][]int64{}
	for _, r := range rows {
		byEndpoint[r.EndpointID] = append(byEndpoint[r.EndpointID], r.AgentID)
	}
	out := make([][]int64, len(ids))
	for i, id := range ids {
		out[i] = byEndpoint[id]
	}
	return out, nil
}

// AttemptsOfDeliveries loads the attempts of each delivery, oldest first.
func (s *Service) AttemptsOfDeliveries(ctx context.Context, ids []int64) ([][]models.WebhookAttempt, error) {
	var rows []models.WebhookAttempt
	if err := s.db.WithContext(ctx).Where("delivery_id IN ?", uniqueSorted(ids)).Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	byDelivery := map[int64][]models.WebhookAttempt{}
	for _, r := range rows {
		byDelivery[r.DeliveryID] = append(byDelivery[r.DeliveryID], r)
	}
	out := make([][]models.WebhookAttempt, len(ids))
	for i, id := range ids {
		out[i] = byDelivery[id]
	}
	return out, nil
}

// DeliveryPage is one page of an endpoint's deliveries, newest first.
type DeliveryPage struct {
	Deliveries []models.WebhookDelivery
	HasNext    bool
}

// DeliveriesOfEndpoints loads one page of the deliveries of each endpoint,
// newest first, with f's status and OnlyAgent filters: one statement for
// all endpoints, each part walking its endpoint's index from the newest.
func (s *Service) DeliveriesOfEndpoints(ctx context.Context, ids []int64, p Page, f DeliveryFilter) ([]DeliveryPage, error) {
	keys := uniqueSorted(ids)
	cond, condArgs := "", []any{}
	if p.After > 0 {
		cond, condArgs = cond+" AND id < ?", append(condArgs, p.After)
	}
	if f.Status != nil {
		cond, condArgs = cond+" AND status = ?", append(condArgs, *f.Status)
	}
	if f.OnlyAgent != nil {
		cond, condArgs = cond+" AND (agent_id IS NULL OR agent_id = ?)", append(condArgs, *f.OnlyAgent)
	}
	parts := make([]string, len(keys))
	var args []any
	for i, id := range keys {
		parts[i] = fmt.Sprintf("SELECT * FROM (SELECT * FROM webhook_deliveries WHERE endpoint_id = ?%s ORDER BY id DESC LIMIT ?) AS p%d", cond, i)
		args = append(append(append(args, id), condArgs...), p.First+1)
	}
	var rows []models.WebhookDelivery
	if len(keys) > 0 {
		if err := s.db.WithContext(ctx).Raw(strings.Join(parts, " UNION ALL "), args...).Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("page endpoint deliveries: %w", err)
		}
	}
	byEndpoint := map[int64][]models.WebhookDelivery{}
	for _, d := range rows {
		byEndpoint[d.EndpointID] = append(byEndpoint[d.EndpointID], d)
	}
	out := make([]DeliveryPage, len(ids))
	for i, id := range ids {
		ds := byEndpoint[id]
		slices.SortFunc(ds, func(a, b models.WebhookDelivery) int { return cmp.Compare(b.ID, a.ID) })
		if len(ds) > p.First {
			out[i] = DeliveryPage{Deliveries: ds[:p.First], HasNext: true}
		} else {
			out[i] = DeliveryPage{Deliveries: ds}
		}
	}
	return out, nil
}

// CountDeliveriesOfEndpoints counts the deliveries of each endpoint with
// f's status and OnlyAgent filters, in one statement.
func (s *Service) CountDeliveriesOfEndpoints(ctx context.Context, ids []int64, f DeliveryFilter) ([]int, error) {
	q := s.db.WithContext(ctx).Table("webhook_deliveries").Select("endpoint_id AS owner_id, COUNT(*) AS n").
		Where("endpoint_id IN ?", uniqueSorted(ids)).Group("endpoint_id")
	if f.Status != nil {
		q = q.Where("status = ?", *f.Status)
	}
	if f.OnlyAgent != nil {
		q = q.Where("(agent_id IS NULL OR agent_id = ?)", *f.OnlyAgent)
	}
	var rows []struct {
		OwnerID int64
		N       int
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("count endpoint deliveries: %w", err)
	}
	byOwner := make(map[int64]int, len(rows))
	for _, r := range rows {
		byOwner[r.OwnerID] = r.N
	}
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = byOwner[id]
	}
	return out, nil
}
