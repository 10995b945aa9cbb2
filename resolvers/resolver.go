package resolvers

import (
	"context"
	"log/slog"
	"time"

	"outdial/calling"
	"outdial/graph"
	"outdial/graph/model"
	"outdial/webhooks"
)

// Resolver is the root resolver; it holds the dependencies.
type Resolver struct {
	svc  *calling.Service
	log  *slog.Logger
	feed *webhooks.Feed
	// tokenRecheck is how often a subscription checks its token.
	tokenRecheck time.Duration
}

func (r *Resolver) ApiToken() graph.ApiTokenResolver { return &apiTokenResolver{r} }
func (r *Resolver) CapacityProfile() graph.CapacityProfileResolver {
	return &capacityProfileResolver{r}
}
func (r *Resolver) Mutation() graph.MutationResolver { return &mutationResolver{r} }
func (r *Resolver) OutboundProfile() graph.OutboundProfileResolver {
	return &outboundProfileResolver{r}
}
func (r *Resolver) PhoneNumber() graph.PhoneNumberResolver     { return &phoneNumberResolver{r} }
func (r *Resolver) Query() graph.QueryResolver                 { return &queryResolver{r} }
func (r *Resolver) Queue() graph.QueueResolver                 { return &queueResolver{r} }
func (r *Resolver) QueueOverflow() graph.QueueOverflowResolver { return &queueOverflowResolver{r} }
func (r *Resolver) Viewer() graph.ViewerResolver               { return &viewerResolver{r} }
func (r *Resolver) CallingAbilityChange() graph.CallingAbilityChangeResolver {
	return &abilityChangeResolver{r}
}

type (
	mutationResolver        struct{ *Resolver }
	queryResolver           struct{ *Resolver }
	apiTokenResolver        struct{ *Resolver }
	capacityProfileResolver struct{ *Resolver }
	outboundProfileResolver struct{ *Resolver }
	phoneNumberResolver     struct{ *Resolver }
	queueResolver           struct{ *Resolver }
	queueOverflowResolver   struct{ *Resolver }
	viewerResolver          struct{ *Resolver }
	abilityChangeResolver   struct{ *Resolver }
)

// convertAll converts each row with conv.
func convertAll[R, N any](rows []R, conv func(*R) *N) []*N {
	out := make([]*N, len(rows))
	for i := range rows {
		out[i] = conv(&rows[i])
	}
	return out
}

// visibleAgent converts a loaded agent, or returns nil when the caller may
// not see it.
func visibleAgent(ctx context.Context, a *model.Agent) *model.Agent {
	if a == nil || !canSeeAgent(ctx, a.DBID) {
		return nil
	}
	return a
}
