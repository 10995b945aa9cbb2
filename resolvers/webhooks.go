package resolvers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"outdial/calling"
	"outdial/graph"
	"outdial/graph/model"
	"outdial/models"
	"outdial/webhooks"
)

// The webhook and subscription part of the API (docs/domain.md,
// "Webhooks" and "The subscription").

func (r *Resolver) WebhookDelivery() graph.WebhookDeliveryResolver { return &deliveryResolver{r} }
func (r *Resolver) WebhookEndpoint() graph.WebhookEndpointResolver { return &endpointResolver{r} }
func (r *Resolver) Subscription() graph.SubscriptionResolver       { return &subscriptionResolver{r} }

type (
	deliveryResolver     struct{ *Resolver }
	endpointResolver     struct{ *Resolver }
	subscriptionResolver struct{ *Resolver }
)

// Event types: GraphQL enum value ↔ wire name.
var (
	eventTypeWire = map[model.WebhookEventType]string{
		model.WebhookEventTypeAgentCallingAbilityChanged:    webhooks.TypeAbilityChanged,
		model.WebhookEventTypePhoneNumberCallingPlanChanged: webhooks.TypeCallingPlanChanged,
		model.WebhookEventTypeWebhookTest:                   webhooks.TypeTest,
	}
	eventTypeEnum = map[string]model.WebhookEventType{}
)

func init() {
	for enum, wire := range eventTypeWire {
		eventTypeEnum[wire] = enum
	}
}

func wireTypes(in []model.WebhookEventType) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, t := range in {
		out[i] = eventTypeWire[t]
	}
	return out
}

func toWebhookEndpoint(e *models.WebhookEndpoint) *model.WebhookEndpoint {
	if e == nil {
		return nil
	}
	types := []model.WebhookEventType{}
	for _, t := range webhooks.SplitTypes(e.EventTypes) {
		types = append(types, eventTypeEnum[t])
	}
	return &model.WebhookEndpoint{ID: calling.GlobalID(calling.KindWebhookEndpoint, e.ID), DBID: e.ID, URL: e.URL,
		Description: e.Description, EventTypes: types, Enabled: e.Enabled, DisabledReason: e.DisabledReason,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

func toWebhookEvent(e *models.WebhookEvent) *model.WebhookEvent {
	if e == nil {
		return nil
	}
	return &model.WebhookEvent{ID: calling.GlobalID(calling.KindWebhookEvent, e.ID), DBID: e.ID, MessageID: e.MessageID,
		Type: eventTypeEnum[e.Type], Payload: e.Payload, OccurredAt: e.OccurredAt}
}

func toWebhookDelivery(d *models.WebhookDelivery) *model.WebhookDelivery {
	if d == nil {
		return nil
	}
	return &model.WebhookDelivery{ID: calling.GlobalID(calling.KindWebhookDelivery, d.ID), DBID: d.ID,
		EndpointID: d.EndpointID, EventID: d.EventID, Status: model.WebhookDeliveryStatus(d.Status),
		AttemptCount: d.AttemptCount, NextAttemptAt: d.NextAttemptAt, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

func toWebhookAttempt(a *models.WebhookAttempt) *model.WebhookAttempt {
	return &model.WebhookAttempt{AttemptedAt: a.AttemptedAt, StatusCode: a.StatusCode, DurationMs: a.DurationMs,
		Error: a.Error, ResponseBody: a.ResponseBody}
}

func deliveryKey(d *models.WebhookDelivery) int64 { return d.ID }
func endpointKey(e *models.WebhookEndpoint) int64 { return e.ID }

func deliveryConnection(pg page[model.WebhookDelivery], total int) *model.WebhookDeliveryConnection {
	return &model.WebhookDeliveryConnection{Nodes: pg.nodes, PageInfo: pg.pageInfo, TotalCount: total,
		Edges: edges(pg, func(c string, n *model.WebhookDelivery) *model.WebhookDeliveryEdge {
			return &model.WebhookDeliveryEdge{Cursor: c, Node: n}
		})}
}

// webhookActor returns the actor of ctx if it may manage webhooks: ADMIN,
// or AGENT for its own endpoints (the domain checks the scope).
func webhookActor(ctx context.Context) (calling.Actor, error) {
	a, err := requireActor(ctx)
	if err != nil {
		return a, err
	}
	if a.Role == calling.RoleViewer {
		return a, forbidden("A VIEWER token reads webhooks but may not change them.")
	}
	return a, nil
}

// onlyAgent returns the agent an AGENT token is limited to, or nil.
func onlyAgent(a calling.Actor) *int64 {
	if a.Role != calling.RoleAgent {
		return nil
	}
	if a.AgentID == nil {
		none := int64(-1)
		return &none
	}
	return a.AgentID
}

// ---------------------------------------------------------------- queries

func (r *queryResolver) WebhookEndpoints(ctx context.Context, first *int, after *string) (*model.WebhookEndpointConnection, error) {
	a, err := requireActor(ctx)
	if err != nil {
		return nil, err
	}
	pg, n, err := listPage(ctx, r.svc.WebhookEndpoints(ctx, onlyAgent(a)), first, after, endpointKey, toWebhookEndpoint)
	if err != nil {
		return nil, err
	}
	if err := prefetchEndpoints(ctx, pg.nodes); err != nil {
		return nil, err
	}
	return &model.WebhookEndpointConnection{Nodes: pg.nodes, PageInfo: pg.pageInfo, TotalCount: n,
		Edges: edges(pg, func(c string, n *model.WebhookEndpoint) *model.WebhookEndpointEdge {
			return &model.WebhookEndpointEdge{Cursor: c, Node: n}
		})}, nil
}

func (r *queryResolver) WebhookDeliveries(ctx context.Context, first *int, after *string, filter *model.WebhookDeliveryFilter) (*model.WebhookDeliveryConnection, error) {
	a, err := requireActor(ctx)
	if err != nil {
		return nil, err
	}
	f := calling.DeliveryFilter{OnlyAgent: onlyAgent(a)}
	if filter != nil {
		if f.EndpointID, err = optionalID(calling.KindWebhookEndpoint, filter.EndpointID.Value(), "filter.endpointId"); err != nil {
			return nil, err
		}
		if f.AgentID, err = optionalID(calling.KindAgent, filter.AgentID.Value(), "filter.agentId"); err != nil {
			return nil, err
		}
		if s := filter.Status.Value(); s != nil {
			status := string(*s)
			f.Status = &status
		}
		if t := filter.EventType.Value(); t != nil {
			wire := eventTypeWire[*t]
			f.EventType = &wire
		}
	}
	pg, n, err := listPage(ctx, r.svc.WebhookDeliveries(ctx, f), first, after, deliveryKey, toWebhookDelivery)
	if err != nil {
		return nil, err
	}
	return deliveryConnection(pg, n), nil
}

func isWebhookKind(k calling.Kind) bool {
	return k == calling.KindWebhookEndpoint || k == calling.KindWebhookEvent || k == calling.KindWebhookDelivery
}

// webhookNodeThunk loads a webhook object for node(id:); AGENT tokens see
// only their own endpoints, their deliveries and their agent's events.
func (r *queryResolver) webhookNodeThunk(ctx context.Context, kind calling.Kind, id int64) func() (model.Node, error) {
	a, _ := actorFrom(ctx)
	l := loadersFrom(ctx)
	switch kind {
	case calling.KindWebhookEndpoint:
		thunk := l.endpoint.LoadThunk(ctx, id)
		return func() (model.Node, error) {
			e, err := thunk()
			if err != nil || e == nil || e.DeletedAt != nil {
				return nil, err
			}
			if ok, err := r.mayManage(ctx, a, e.ID); !ok || err != nil {
				return nil, err
			}
			return toWebhookEndpoint(e), nil
		}
	case calling.KindWebhookDelivery:
		thunk := l.delivery.LoadThunk(ctx, id)
		return func() (model.Node, error) {
			d, err := thunk()
			if err != nil || d == nil {
				return nil, err
			}
			if ok, err := r.mayManage(ctx, a, d.EndpointID); !ok || err != nil || !calling.MaySeeDelivery(a, d.AgentID) {
				return nil, err
			}
			return toWebhookDelivery(d), nil
		}
	case calling.KindWebhookEvent:
		thunk := l.event.LoadThunk(ctx, id)
		return func() (model.Node, error) {
			e, err := thunk()
			if err != nil || e == nil {
				return nil, err
			}
			if a.Role == calling.RoleAgent && (e.AgentID == nil || !canSeeAgent(ctx, *e.AgentID)) {
				return nil, nil
			}
			return toWebhookEvent(e), nil
		}
	}
	return func() (model.Node, error) { return nil, nil }
}

// mayManage reports whether actor may see endpoint id: any reader, or an
// AGENT token for an endpoint limited to its agent.
func (r *queryResolver) mayManage(ctx context.Context, a calling.Actor, endpointID int64) (bool, error) {
	if a.Role != calling.RoleAgent {
		return true, nil
	}
	agents, err := loadersFrom(ctx).endpointAgents.Load(ctx, endpointID)
	return calling.OwnsEndpoint(a, agents), err
}

// ---------------------------------------------------------------- fields

func (r *endpointResolver) Agents(ctx context.Context, obj *model.WebhookEndpoint) ([]*model.Agent, error) {
	l := loadersFrom(ctx)
	ids, err := l.endpointAgents.Load(ctx, obj.DBID)
	if err != nil {
		return nil, err
	}
	rows, err := l.agent.LoadAll(ctx, ids)
	out := make([]*model.Agent, 0, len(rows))
	for _, a := range rows {
		if v := visibleAgent(ctx, loadersFrom(ctx).toAgent(a)); v != nil {
			out = append(out, v)
		}
	}
	return out, err
}

func (r *endpointResolver) Deliveries(ctx context.Context, obj *model.WebhookEndpoint, first *int, after *string, status *model.WebhookDeliveryStatus) (*model.WebhookDeliveryConnection, error) {
	list := listOf(ctx, obj.DBID)
	p, err := pageArgs(list, first, after)
	if err != nil {
		return nil, err
	}
	key := deliveriesKey{endpoint: obj.DBID, page: p}
	if status != nil {
		key.status = string(*status)
	}
	l := loadersFrom(ctx)
	dp, err := l.endpointDeliveries.Load(ctx, key)
	if err != nil {
		return nil, err
	}
	n, err := total(ctx, func() (int, error) {
		return l.endpointDeliveryCounts.Load(ctx, deliveriesKey{endpoint: obj.DBID, status: key.status})
	})
	if err != nil {
		return nil, err
	}
	return deliveryConnection(newPage(list, dp.Deliveries, dp.HasNext, p, deliveryKey, toWebhookDelivery), n), nil
}

func (r *deliveryResolver) Endpoint(ctx context.Context, obj *model.WebhookDelivery) (*model.WebhookEndpoint, error) {
	e, err := loadersFrom(ctx).endpoint.Load(ctx, obj.EndpointID)
	if err == nil && e == nil {
		err = fmt.Errorf("delivery %d: endpoint %d does not exist", obj.DBID, obj.EndpointID)
	}
	return toWebhookEndpoint(e), err
}

func (r *deliveryResolver) Event(ctx context.Context, obj *model.WebhookDelivery) (*model.WebhookEvent, error) {
	e, err := loadersFrom(ctx).event.Load(ctx, obj.EventID)
	if err == nil && e == nil {
		// The pruner deleted the delivery, then its event, after the
		// delivery was read (an event goes only once no delivery refers
		// to it).
		err = &apiError{code: CodeNotFound, message: fmt.Sprintf("Delivery %s was deleted as older than the retention (RETENTION) "+
			"while it was being read: read again.", obj.ID)}
	}
	return toWebhookEvent(e), err
}

func (r *deliveryResolver) Attempts(ctx context.Context, obj *model.WebhookDelivery) ([]*model.WebhookAttempt, error) {
	rows, err := loadersFrom(ctx).attempts.Load(ctx, obj.DBID)
	if err != nil {
		return nil, err
	}
	return maskAttempts(ctx, obj.EndpointID, convertAll(rows, toWebhookAttempt))
}

// ---------------------------------------------------------------- mutations

func (r *mutationResolver) CreateWebhookEndpoint(ctx context.Context, input model.CreateWebhookEndpointInput) (*model.WebhookEndpointSecretPayload, error) {
	actor, err := webhookActor(ctx)
	if err != nil {
		return nil, err
	}
	in := calling.CreateWebhookEndpointInput{URL: input.URL, Description: input.Description.Value(),
		EventTypes: wireTypes(input.EventTypes.Value())}
	if in.AgentIDs, err = decodeIDs(calling.KindAgent, input.AgentIds.Value(), "input.agentIds"); err != nil {
		return nil, err
	}
	ep, secret, err := r.svc.CreateWebhookEndpoint(ctx, actor, in)
	if refusals, ok := calling.Refusals(err); ok {
		return &model.WebhookEndpointSecretPayload{UserErrors: toUserErrors(refusals)}, nil
	}
	if err != nil {
		return nil, err
	}
	return &model.WebhookEndpointSecretPayload{WebhookEndpoint: toWebhookEndpoint(&ep.Row), Secret: &secret,
		UserErrors: []*model.UserError{}}, nil
}

func (r *mutationResolver) UpdateWebhookEndpoint(ctx context.Context, input model.UpdateWebhookEndpointInput) (*model.WebhookEndpointPayload, error) {
	actor, err := webhookActor(ctx)
	if err != nil {
		return nil, err
	}
	in := calling.UpdateWebhookEndpointInput{URL: input.URL.Value(), Description: opt(input.Description),
		EventTypes: wireTypes(input.EventTypes.Value()), Enabled: input.Enabled.Value()}
	if in.ID, err = decodeID(calling.KindWebhookEndpoint, input.ID, "input.id"); err != nil {
		return nil, err
	}
	if ids := input.AgentIds.Value(); ids != nil {
		if in.AgentIDs, err = decodeIDs(calling.KindAgent, ids, "input.agentIds"); err != nil {
			return nil, err
		}
	}
	ep, err := r.svc.UpdateWebhookEndpoint(ctx, actor, in)
	if refusals, ok := calling.Refusals(err); ok {
		return &model.WebhookEndpointPayload{UserErrors: toUserErrors(refusals)}, nil
	}
	if err != nil {
		return nil, err
	}
	return &model.WebhookEndpointPayload{WebhookEndpoint: toWebhookEndpoint(&ep.Row), UserErrors: []*model.UserError{}}, nil
}

func (r *mutationResolver) DeleteWebhookEndpoint(ctx context.Context, input model.IDInput) (*model.DeletePayload, error) {
	actor, err := webhookActor(ctx)
	if err != nil {
		return nil, err
	}
	id, err := decodeID(calling.KindWebhookEndpoint, input.ID, "input.id")
	if err != nil {
		return nil, err
	}
	return deleted(input.ID, r.svc.DeleteWebhookEndpoint(ctx, actor, id))
}

func (r *mutationResolver) RotateWebhookSecret(ctx context.Context, input model.RotateWebhookSecretInput) (*model.WebhookEndpointSecretPayload, error) {
	actor, err := webhookActor(ctx)
	if err != nil {
		return nil, err
	}
	id, err := decodeID(calling.KindWebhookEndpoint, input.ID, "input.id")
	if err != nil {
		return nil, err
	}
	ep, secret, err := r.svc.RotateWebhookSecret(ctx, actor, id, or(input.OverlapSeconds, 86400))
	if refusals, ok := calling.Refusals(err); ok {
		return &model.WebhookEndpointSecretPayload{UserErrors: toUserErrors(refusals)}, nil
	}
	if err != nil {
		return nil, err
	}
	return &model.WebhookEndpointSecretPayload{WebhookEndpoint: toWebhookEndpoint(&ep.Row), Secret: &secret,
		UserErrors: []*model.UserError{}}, nil
}

func (r *mutationResolver) SendTestWebhook(ctx context.Context, input model.IDInput) (*model.WebhookDeliveryPayload, error) {
	actor, err := webhookActor(ctx)
	if err != nil {
		return nil, err
	}
	id, err := decodeID(calling.KindWebhookEndpoint, input.ID, "input.id")
	if err != nil {
		return nil, err
	}
	d, err := r.svc.SendTestWebhook(ctx, actor, id)
	node, ue, err := outcome(d, err, toWebhookDelivery)
	return &model.WebhookDeliveryPayload{WebhookDelivery: node, UserErrors: ue}, err
}

func (r *mutationResolver) RedeliverWebhook(ctx context.Context, input model.IDInput) (*model.WebhookDeliveryPayload, error) {
	actor, err := webhookActor(ctx)
	if err != nil {
		return nil, err
	}
	id, err := decodeID(calling.KindWebhookDelivery, input.ID, "input.id")
	if err != nil {
		return nil, err
	}
	d, err := r.svc.RedeliverWebhook(ctx, actor, id)
	node, ue, err := outcome(d, err, toWebhookDelivery)
	return &model.WebhookDeliveryPayload{WebhookDelivery: node, UserErrors: ue}, err
}

func (r *mutationResolver) RecoverWebhookDeliveries(ctx context.Context, input model.RecoverWebhookDeliveriesInput) (*model.RecoverWebhookDeliveriesPayload, error) {
	actor, err := webhookActor(ctx)
	if err != nil {
		return nil, err
	}
	id, err := decodeID(calling.KindWebhookEndpoint, input.EndpointID, "input.endpointId")
	if err != nil {
		return nil, err
	}
	rec, err := r.svc.RecoverWebhookDeliveries(ctx, actor, id, input.Since)
	if refusals, ok := calling.Refusals(err); ok {
		return &model.RecoverWebhookDeliveriesPayload{UserErrors: toUserErrors(refusals)}, nil
	}
	if err != nil {
		return nil, err
	}
	return &model.RecoverWebhookDeliveriesPayload{Queued: int(rec.Queued), Superseded: int(rec.Superseded),
		UserErrors: []*model.UserError{}}, nil
}

// ---------------------------------------------------------------- subscription

func (r *subscriptionResolver) CallingAbilityChanged(ctx context.Context, agentID *string) (<-chan *model.CallingAbilityChange, error) {
	a, err := requireActor(ctx)
	if err != nil {
		return nil, err
	}
	id, err := optionalID(calling.KindAgent, agentID, "agentId")
	if err != nil {
		return nil, err
	}
	if a.Role == calling.RoleAgent {
		if id == nil {
			id = onlyAgent(a)
		}
		if !canSeeAgent(ctx, *id) {
			return nil, forbidden("An AGENT token subscribes to its own agent only.")
		}
	}
	if r.feed == nil {
		return nil, fmt.Errorf("no event feed configured")
	}
	// A WebSocket authenticates once, at connection_init: the token may
	// have been revoked since.
	if ok, err := r.svc.StillAuthenticated(ctx, a); err != nil {
		return nil, err
	} else if !ok {
		return nil, errTokenRevoked
	}
	release, err := holdSubscriptionSlot(ctx)
	if err != nil {
		return nil, err
	}
	sub := r.feed.Watch(ctx, id)
	out := make(chan *model.CallingAbilityChange, 1)
	go func() {
		defer close(out)
		defer release()
		recheck := time.NewTicker(r.tokenRecheck)
		defer recheck.Stop()
		for {
			select {
			case ev, ok := <-sub.Events():
				if !ok {
					// A subscription the server ends (shutdown, a client
					// that stopped reading) ends with an error saying so,
					// not with a complete the client would take for "no
					// more events".
					if err := sub.Err(); err != nil {
						r.log.Info("calling ability subscription ended by the server", "token", a.Name, "reason", err)
						endSubscription(ctx, subscriptionEnded(err))
					}
					return
				}
				change, err := r.abilityChange(ctx, ev)
				if err != nil {
					r.log.Error("undecodable ability event", "messageId", ev.MessageID, "err", err)
					continue
				}
				select {
				case out <- change:
				case <-ctx.Done():
					return
				}
			case <-recheck.C:
				ok, err := r.svc.StillAuthenticated(ctx, a)
				if err != nil && ctx.Err() == nil {
					r.log.Warn("could not check a subscription's token; checking again later", "token", a.Name, "err", err)
				}
				if err == nil && !ok {
					r.log.Info("calling ability subscription ended: its token was revoked", "token", a.Name)
					endSubscription(ctx, errTokenRevoked)
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// errTokenRevoked ends a subscription whose token was revoked.
var errTokenRevoked = &apiError{code: CodeUnauthenticated,
	message: "The API token of this subscription was revoked. Subscribe again with a valid token."}

// subscriptionEnded is the error a client gets when the server ends its
// subscription for err.
func subscriptionEnded(err error) *apiError {
	msg := "The subscription ended: the server is shutting down. Subscribe again."
	switch {
	case errors.Is(err, webhooks.ErrSubscriberStalled):
		msg = "The subscription ended: it read no event for too long while events waited. Subscribe again and read its events."
	case errors.Is(err, webhooks.ErrSubscriberBehind):
		msg = "The subscription ended: it fell too far behind the events. Subscribe again and read its events."
	case errors.Is(err, webhooks.ErrOlderThanRetention):
		msg = "The subscription ended: the events it had yet to read are older than the retention (RETENTION) and were deleted. " +
			"Read the agents' current calling abilities, then subscribe again."
	}
	return &apiError{code: CodeSubscriptionEnded, message: msg}
}

// abilityChange decodes a stored agent.calling_ability.changed body.
func (r *subscriptionResolver) abilityChange(ctx context.Context, ev webhooks.FeedEvent) (*model.CallingAbilityChange, error) {
	var body struct {
		Timestamp time.Time                  `json:"timestamp"`
		Data      calling.AbilityChangedData `json:"data"`
	}
	if err := json.Unmarshal([]byte(ev.Payload), &body); err != nil {
		return nil, err
	}
	rel := loadersFrom(ctx)
	current, err := stateToModel(body.Data.AbilityState, body.Timestamp, rel)
	if err != nil {
		return nil, err
	}
	change := &model.CallingAbilityChange{AgentID: ev.AgentID, Current: current, Deleted: body.Data.Deleted}
	if body.Data.Deleted {
		// The agent's row is gone: the change names it as the event does.
		change.DeletedAgent = &model.Agent{ID: body.Data.Agent.ID, DBID: ev.AgentID, Name: body.Data.Agent.Name,
			Email: body.Data.Agent.Email, Rel: rel}
	}
	if p := body.Data.Previous; p != nil {
		if change.Previous, err = stateToModel(*p, ev.PreviousOccurredAt, rel); err != nil {
			return nil, err
		}
	}
	return change, nil
}

// stateToModel converts an ability state in wire form, whose relations
// load through rel.
func stateToModel(st calling.AbilityState, changedAt time.Time, rel model.Relations) (*model.CallingAbility, error) {
	out := &model.CallingAbility{CanMakeCalls: st.CanMakeCalls, Version: int(st.Version), ChangedAt: changedAt,
		CallerIds: make([]*model.CallerID, len(st.CallerIDs)), Blockers: make([]*model.CallingBlocker, len(st.Blockers)),
		Warnings: []*model.CallingWarning{}} // events carry no warnings
	for i, c := range st.CallerIDs {
		number, err := calling.ParseID(calling.KindPhoneNumber, c.PhoneNumberID)
		if err != nil {
			return nil, err
		}
		profile, err := calling.ParseID(calling.KindOutboundProfile, c.OutboundProfileID)
		if err != nil {
			return nil, err
		}
		out.CallerIds[i] = &model.CallerID{Rel: rel, PhoneNumberID: number, OutboundProfileID: profile,
			Source: model.CallerIDSource(c.Source), WorkItemLimit: c.WorkItemLimit,
			ResetFrequency: model.ResetFrequency(c.ResetFrequency), BlockAssignment: c.BlockAssignment, CallerIDName: c.CallerIDName}
	}
	for i, b := range st.Blockers {
		out.Blockers[i] = &model.CallingBlocker{Rel: rel, Code: model.CallingBlockerCode(b.Code), Message: b.Message}
		if b.OutboundProfileID != nil {
			profile, err := calling.ParseID(calling.KindOutboundProfile, *b.OutboundProfileID)
			if err != nil {
				return nil, err
			}
			out.Blockers[i].OutboundProfileID = &profile
		}
	}
	return out, nil
}
