package calling

import (
	"context"
	"time"

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
	return Lister[models.WebhookDelivery]{newestFirst: true, q: func() *gorm.DB {
		q := s.db.WithContext(ctx).Model(&models.WebhookDelivery{})
		if f.EndpointID != nil {
			q = q.Where("endpoint_id = ?", *f.EndpointID)
		}
		if f.Status != nil {
			q = q.Where("status = ?", *f.Status)
		}
		if f.EventType != nil {
			q = q.Where("event_id IN (SELECT id FROM webhook_events WHERE type = ?)", *f.EventType)
		}
		if f.AgentID != nil {
			q = q.Where("agent_id = ?", *f.AgentID)
		}
		if f.OnlyAgent != nil {
			q = q.Where("endpoint_id IN (SELECT id FROM webhook_endpoints WHERE "+ownEndpointsSQL+")", *f.OnlyAgent, *f.OnlyAgent).
				Where("(agent_id IS NULL OR agent_id = ?)", *f.OnlyAgent)
		}
		return q
	}}
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

// AbilityChangedAt returns when an agent's ability reached version: the
// time of the event that recorded it, or the zero time when none did.
func (s *Service) AbilityChangedAt(ctx context.Context, agentID, version int64) (time.Time, error) {
	var rows []models.WebhookEvent
	err := s.db.WithContext(ctx).Select("occurred_at").
		Where("agent_id = ? AND version = ? AND type = ?", agentID, version, webhooks.TypeAbilityChanged).
		Limit(1).Find(&rows).Error
	if err != nil || len(rows) == 0 {
		return time.Time{}, err
	}
	return rows[0].OccurredAt, nil
}
