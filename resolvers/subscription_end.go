package resolvers

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// A subscription the server ends (it shuts down, the client stopped
// reading, its token was revoked) must not end with a bare complete, which
// a client takes for a normal end: its last message is a result with the
// error saying why, then complete.
//
// gqlgen's transport.AddSubscriptionError would send it, but its list is
// read by the transport without a lock: when the connection closes while
// the server ends the subscription, the two race. So the reason is kept
// here, under a lock, and reportSubscriptionEnd turns it into the
// subscription's last response once the resolver's channel is closed.

// subscriptionEnd holds why the server ended a subscription.
type subscriptionEnd struct {
	mu   sync.Mutex
	err  *gqlerror.Error
	sent bool
}

type subscriptionEndKey struct{}

// withSubscriptionEnd gives every subscription operation a place for the
// reason it ends.
func withSubscriptionEnd(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if op := graphql.GetOperationContext(ctx); op.Operation != nil && op.Operation.Operation == ast.Subscription {
		ctx = context.WithValue(ctx, subscriptionEndKey{}, &subscriptionEnd{})
	}
	return next(ctx)
}

// endSubscription records err as why the subscription of ctx ends; its
// resolver closes its channel next.
func endSubscription(ctx context.Context, err *apiError) {
	end, ok := ctx.Value(subscriptionEndKey{}).(*subscriptionEnd)
	if !ok {
		return
	}
	end.mu.Lock()
	defer end.mu.Unlock()
	if end.err == nil {
		end.err = &gqlerror.Error{Message: err.message, Extensions: map[string]any{"code": err.code}}
	}
}

// reportSubscriptionEnd sends, once a subscription's events have ended,
// the error that ended it, if the server ended it.
func reportSubscriptionEnd(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp != nil {
		return resp
	}
	end, ok := ctx.Value(subscriptionEndKey{}).(*subscriptionEnd)
	if !ok {
		return nil
	}
	end.mu.Lock()
	defer end.mu.Unlock()
	if end.err == nil || end.sent {
		return nil
	}
	end.sent = true
	return &graphql.Response{Errors: gqlerror.List{end.err}}
}
