package resolvers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"outdial/calling"
	"outdial/graph"
	"outdial/graph/model"
	"outdial/webhooks"
)

// API limits.
const (
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes = 1 << 20
	// DefaultComplexityLimit bounds an operation's cost: every field costs 1,
	// and a connection costs its first (default 50) times its selection.
	DefaultComplexityLimit = 10000
	// DefaultDepthLimit bounds how deep an operation's selections nest.
	DefaultDepthLimit = 15
	// ParserTokenLimit bounds the tokens of a query document.
	ParserTokenLimit = 15000
)

// Config configures the GraphQL handler.
type Config struct {
	Service *calling.Service
	// Feed serves the callingAbilityChanged subscription.
	Feed *webhooks.Feed
	Log  *slog.Logger
	// ComplexityLimit and DepthLimit default to DefaultComplexityLimit and
	// DefaultDepthLimit.
	ComplexityLimit int
	DepthLimit      int
	// TokenRecheck is how often a subscription checks that its token was
	// not revoked; default DefaultTokenRecheck.
	TokenRecheck time.Duration
	// RequestTimeout is the deadline of every request (a WebSocket's
	// connection_init included, its subscriptions not); default
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// WebSocketInitTimeout is how long a WebSocket may wait before its
	// connection_init; default DefaultWebSocketInitTimeout.
	WebSocketInitTimeout time.Duration
}

// DefaultWebSocketInitTimeout is how long a WebSocket may wait before its
// connection_init (then it is closed with 4408).
const DefaultWebSocketInitTimeout = 10 * time.Second

// DefaultTokenRecheck is how often a subscription checks its token.
const DefaultTokenRecheck = 30 * time.Second

type api struct {
	svc      *calling.Service
	log      *slog.Logger
	deadline time.Duration // of every request
}

// NewHandler returns the handler of /graphql: POST and GET (queries only),
// and WebSocket (graphql-transport-ws) for subscriptions. Every request
// needs a bearer token.
func NewHandler(cfg Config) http.Handler {
	if cfg.ComplexityLimit == 0 {
		cfg.ComplexityLimit = DefaultComplexityLimit
	}
	if cfg.DepthLimit == 0 {
		cfg.DepthLimit = DefaultDepthLimit
	}
	if cfg.TokenRecheck == 0 {
		cfg.TokenRecheck = DefaultTokenRecheck
	}
	if cfg.WebSocketInitTimeout == 0 {
		cfg.WebSocketInitTimeout = DefaultWebSocketInitTimeout
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	h := &api{svc: cfg.Service, log: cfg.Log, deadline: cfg.RequestTimeout}
	es := graph.NewExecutableSchema(graph.Config{
		Resolvers:  &Resolver{svc: cfg.Service, log: cfg.Log, feed: cfg.Feed, tokenRecheck: cfg.TokenRecheck},
		Complexity: complexity(),
	})
	srv := handler.New(es)
	srv.AddTransport(wsTransport{
		init:        h.websocketInit,
		initTimeout: cfg.WebSocketInitTimeout,
		// Origin check: coder/websocket accepts same-origin browsers (the
		// playground) and clients that send no Origin (agent apps); other
		// browser origins are refused on purpose.
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(graphqlHTTP{}) // GET and POST, see http.go
	queries := lru.New[*ast.QueryDocument](1000)
	srv.SetQueryCache(queries)
	srv.SetParserTokenLimit(ParserTokenLimit)
	srv.SetErrorPresenter(errorPresenter(cfg.Log, cfg.RequestTimeout))
	srv.SetRecoverFunc(recoverFunc(cfg.Log))
	srv.AroundRootFields(h.freshLoadersPerMutation)
	srv.AroundOperations(withSubscriptionEnd)
	srv.AroundResponses(reportSubscriptionEnd)
	srv.Use(extension.Introspection{})
	// Before gqlgen parses and validates: validation costs more than linear time.
	srv.Use(documentLimit{maxDepth: cfg.DepthLimit, validated: queries})
	srv.Use(intVariables{schema: es.Schema(), validated: queries})
	srv.Use(sizeArguments{}) // before the complexity limit, which grows with them
	srv.Use(extension.FixedComplexityLimit(cfg.ComplexityLimit))
	return withDeadline(cfg.RequestTimeout, http.MaxBytesHandler(h.authenticate(srv), MaxBodyBytes))
}

// freshLoadersPerMutation gives each mutation of a request loaders of its
// own: the mutations run one after the other, and what one changed must
// not be answered from what the loaders read before it.
func (h *api) freshLoadersPerMutation(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	if op := graphql.GetOperationContext(ctx); op.Operation != nil && op.Operation.Operation == ast.Mutation {
		if a, ok := actorFrom(ctx); ok {
			ctx = withLoaders(ctx, newLoaders(ctx, h.svc, a))
		}
	}
	return next(ctx)
}

// websocketInit authenticates a WebSocket from its connection_init payload
// {"Authorization": "Bearer <token>"}.
func (h *api) websocketInit(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	header := payload.Authorization()
	if header == "" {
		header = payload.GetString("Authorization")
	}
	authCtx, cancel := context.WithTimeout(ctx, h.deadline)
	defer cancel()
	actor, err := h.svc.Authenticate(authCtx, bearer(header))
	if err != nil {
		if f, ok := faultOf(authCtx, err, h.deadline); ok {
			h.log.Log(ctx, f.level, "WebSocket authentication not done: "+f.kind, "err", err)
			return ctx, nil, &apiError{code: f.code, message: f.message}
		}
		if !errors.Is(err, calling.ErrUnauthenticated) {
			h.log.Error("WebSocket authentication failed", "err", err)
		}
		return ctx, nil, errUnauthenticated
	}
	// A subscription lives long: no loader cache across its events.
	ctx = context.WithValue(ctx, connSubscriptionsKey{}, new(atomic.Int32))
	return withLoaderFactory(withActor(ctx, actor), func() *loaders { return newLoaders(ctx, h.svc, actor) }), nil, nil
}

// MaxSubscriptionsPerConnection bounds the subscriptions one WebSocket
// runs at once.
const MaxSubscriptionsPerConnection = 20

// connSubscriptionsKey holds, on a WebSocket's context, the number of
// subscriptions it runs.
type connSubscriptionsKey struct{}

// operationSlotsKey holds, on a WebSocket operation's context, the
// slots it holds (a WaitGroup): the connection waits for them to be given
// back before it counts the operation ended (wsOperation.done).
type operationSlotsKey struct{}

// holdSubscriptionSlot takes one of the connection's subscription slots;
// the returned func gives it back. It fails with QUOTA_EXCEEDED once the
// connection runs MaxSubscriptionsPerConnection.
func holdSubscriptionSlot(ctx context.Context) (func(), error) {
	n, ok := ctx.Value(connSubscriptionsKey{}).(*atomic.Int32)
	if !ok {
		return func() {}, nil
	}
	if n.Add(1) > MaxSubscriptionsPerConnection {
		n.Add(-1)
		return nil, overQuota("A connection runs at most %d subscriptions at once; complete one first, or open another connection.", MaxSubscriptionsPerConnection)
	}
	held, _ := ctx.Value(operationSlotsKey{}).(*sync.WaitGroup)
	if held != nil {
		held.Add(1)
	}
	return func() {
		n.Add(-1)
		if held != nil {
			held.Done()
		}
	}, nil
}

// listSize is what a plain list (an agent's queues, a profile's numbers…)
// counts for in the complexity limit: its typical length.
const listSize = 5

// maxFieldCost is the most one field counts for in the complexity limit:
// far above any limit, and far from overflowing when gqlgen adds fields up.
const maxFieldCost = 1 << 40

// times is the cost of n elements of cost child each, plus one for the
// field itself, saturating at maxFieldCost: a product that wrapped around
// would turn a huge selection into a cheap one.
func times(n, child int) int {
	if n <= 0 || child <= 0 {
		return 1
	}
	if child > (maxFieldCost-1)/n {
		return maxFieldCost
	}
	return 1 + n*child
}

// complexity makes a connection cost its page size times its selection, a
// plain list listSize times, and nodes(ids:) the number of IDs times. A
// first above MaxPageSize counts as MaxPageSize: the field is refused when
// it runs, with a message that names the bound.
func complexity() graph.ComplexityRoot {
	var c graph.ComplexityRoot
	page := func(child int, first *int) int {
		n := calling.DefaultPageSize
		if first != nil && *first > 0 {
			n = min(*first, calling.MaxPageSize)
		}
		return times(n, child)
	}
	// A plain list (no paging) costs as if it held listSize elements.
	list := func(child int) int { return times(listSize, child) }
	c.Agent.Queues, c.Agent.CapacityProfiles = list, list
	c.CallingAbility.CallerIds, c.CallingAbility.Blockers, c.CallingAbility.Warnings = list, list, list
	c.Agent.CallingAbilityHistory = func(child int, first *int, _ *string) int { return page(child, first) }
	c.AbilityImpact.Changes = func(child int, first *int) int {
		n := 20
		if first != nil && *first > 0 {
			n = min(*first, calling.MaxImpactChanges)
		}
		return times(n, child)
	}
	c.PhoneNumber.OutboundProfiles, c.OutboundProfile.PhoneNumbers = list, list
	c.Queue.OutboundProfiles, c.CapacityProfile.OutboundProfiles = list, list
	c.WebhookEndpoint.Agents, c.WebhookDelivery.Attempts = list, list
	c.Query.Nodes = func(child int, ids []string) int { return times(len(ids), child) }
	c.Query.PhoneNumbers = func(child int, first *int, _ *string, _ *model.PhoneNumberFilter) int { return page(child, first) }
	c.Query.Queues = func(child int, first *int, _ *string, _ *model.QueueFilter) int { return page(child, first) }
	c.Query.CapacityProfiles = func(child int, first *int, _ *string) int { return page(child, first) }
	c.Query.OutboundProfiles = func(child int, first *int, _ *string) int { return page(child, first) }
	c.Query.Agents = func(child int, first *int, _ *string, _ *model.AgentFilter) int { return page(child, first) }
	c.Query.WebhookEndpoints = func(child int, first *int, _ *string) int { return page(child, first) }
	c.Query.WebhookDeliveries = func(child int, first *int, _ *string, _ *model.WebhookDeliveryFilter) int {
		return page(child, first)
	}
	c.Query.AuditLog = func(child int, first *int, _ *string, _ *model.AuditLogFilter) int { return page(child, first) }
	c.Query.APITokens = func(child int, first *int, _ *string) int { return page(child, first) }
	c.Queue.Agents = func(child int, first *int, _ *string) int { return page(child, first) }
	c.CapacityProfile.Agents = func(child int, first *int, _ *string) int { return page(child, first) }
	c.WebhookEndpoint.Deliveries = func(child int, first *int, _ *string, _ *model.WebhookDeliveryStatus) int {
		return page(child, first)
	}
	return c
}
