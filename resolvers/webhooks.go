package resolvers

import (
	"context"
	"errors"

	"outdial/calling"
	"outdial/graph"
	"outdial/graph/model"
)

// The webhook and subscription part of the API (RULES.md §4).

var errNotYet = errors.New("webhooks are not served yet")

func (r *Resolver) WebhookDelivery() graph.WebhookDeliveryResolver { return &deliveryResolver{r} }
func (r *Resolver) WebhookEndpoint() graph.WebhookEndpointResolver { return &endpointResolver{r} }
func (r *Resolver) Subscription() graph.SubscriptionResolver       { return &subscriptionResolver{r} }

type (
	deliveryResolver     struct{ *Resolver }
	endpointResolver     struct{ *Resolver }
	subscriptionResolver struct{ *Resolver }
)

func isWebhookKind(k calling.Kind) bool {
	return k == calling.KindWebhookEndpoint || k == calling.KindWebhookEvent || k == calling.KindWebhookDelivery
}

func (r *queryResolver) webhookNodeThunk(ctx context.Context, kind calling.Kind, id int64) func() (model.Node, error) {
	return func() (model.Node, error) { return nil, nil }
}

func (r *queryResolver) WebhookEndpoints(ctx context.Context, first *int, after *string) (*model.WebhookEndpointConnection, error) {
	return nil, errNotYet
}

func (r *queryResolver) WebhookDeliveries(ctx context.Context, first *int, after *string, filter *model.WebhookDeliveryFilter) (*model.WebhookDeliveryConnection, error) {
	return nil, errNotYet
}

func (r *mutationResolver) CreateWebhookEndpoint(ctx context.Context, input model.CreateWebhookEndpointInput) (*model.WebhookEndpointSecretPayload, error) {
	return nil, errNotYet
}

func (r *mutationResolver) UpdateWebhookEndpoint(ctx context.Context, input model.UpdateWebhookEndpointInput) (*model.WebhookEndpointPayload, error) {
	return nil, errNotYet
}

func (r *mutationResolver) DeleteWebhookEndpoint(ctx context.Context, input model.IDInput) (*model.DeletePayload, error) {
	return nil, errNotYet
}

func (r *mutationResolver) RotateWebhookSecret(ctx context.Context, input model.RotateWebhookSecretInput) (*model.WebhookEndpointSecretPayload, error) {
	return nil, errNotYet
}

func (r *mutationResolver) SendTestWebhook(ctx context.Context, input model.IDInput) (*model.WebhookDeliveryPayload, error) {
	return nil, errNotYet
}

func (r *mutationResolver) RedeliverWebhook(ctx context.Context, input model.IDInput) (*model.WebhookDeliveryPayload, error) {
	return nil, errNotYet
}

func (r *deliveryResolver) Endpoint(ctx context.Context, obj *model.WebhookDelivery) (*model.WebhookEndpoint, error) {
	return nil, errNotYet
}

func (r *deliveryResolver) Event(ctx context.Context, obj *model.WebhookDelivery) (*model.WebhookEvent, error) {
	return nil, errNotYet
}

func (r *deliveryResolver) Attempts(ctx context.Context, obj *model.WebhookDelivery) ([]*model.WebhookAttempt, error) {
	return nil, errNotYet
}

func (r *endpointResolver) Agents(ctx context.Context, obj *model.WebhookEndpoint) ([]*model.Agent, error) {
	return nil, errNotYet
}

func (r *endpointResolver) Deliveries(ctx context.Context, obj *model.WebhookEndpoint, first *int, after *string, status *model.WebhookDeliveryStatus) (*model.WebhookDeliveryConnection, error) {
	return nil, errNotYet
}

func (r *subscriptionResolver) CallingAbilityChanged(ctx context.Context, agentID *string) (<-chan *model.CallingAbilityChange, error) {
	return nil, errNotYet
}
