package resolvers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"outdial/calling"
)

type actorKey struct{}

// withActor returns ctx carrying the authenticated actor.
func withActor(ctx context.Context, a calling.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// actorFrom returns the authenticated actor of ctx.
func actorFrom(ctx context.Context) (calling.Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(calling.Actor)
	return a, ok
}

// bearer extracts the token of an "Authorization: Bearer <token>" value.
func bearer(header string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// authenticate wraps next so that it runs only for a valid bearer token;
// otherwise the answer is HTTP 401 with an UNAUTHENTICATED error and no
// operation runs. WebSocket upgrades and CORS preflights pass through (a
// WebSocket authenticates in its connection_init message).
func (h *api) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions || isWebSocket(r) {
			next.ServeHTTP(w, r)
			return
		}
		actor, err := h.svc.Authenticate(r.Context(), bearer(r.Header.Get("Authorization")))
		if err != nil {
			if !errors.Is(err, calling.ErrUnauthenticated) {
				h.authenticationFailed(w, r, err)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="outdial"`)
			writeError(w, http.StatusUnauthorized, errUnauthenticated.message, CodeUnauthenticated)
			return
		}
		next.ServeHTTP(w, r.WithContext(h.newRequestContext(r.Context(), actor)))
	})
}

// authenticationFailed answers a request whose token could not be looked
// up: 503 with Retry-After when the database failed (no operation ran),
// 500 otherwise.
func (h *api) authenticationFailed(w http.ResponseWriter, r *http.Request, err error) {
	ref := newRef()
	if f, ok := faultOf(r.Context(), err, h.deadline); ok {
		h.log.Log(r.Context(), f.level, "authentication not done: "+f.kind, "ref", ref, "err", err)
		writeFault(w, f)
		return
	}
	h.log.Error("authentication failed", "ref", ref, "err", err)
	writeError(w, http.StatusInternalServerError, (&internalError{ref: ref}).Error(), CodeInternal)
}

// isWebSocket reports whether r asks for a WebSocket upgrade.
func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// newRequestContext returns ctx with the actor and fresh dataloaders.
func (h *api) newRequestContext(ctx context.Context, actor calling.Actor) context.Context {
	return withLoaders(withActor(ctx, actor), newLoaders(ctx, h.svc, actor))
}

// writeError writes a GraphQL response with one error and no data.
func writeError(w http.ResponseWriter, status int, message, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []any{map[string]any{"message": message, "extensions": map[string]any{"code": code}}},
	})
}

// requireActor returns the actor of ctx.
func requireActor(ctx context.Context) (calling.Actor, error) {
	a, ok := actorFrom(ctx)
	if !ok {
		return calling.Actor{}, errUnauthenticated
	}
	return a, nil
}

// admin returns the actor of ctx if it may change the configuration (an
// ADMIN token); otherwise FORBIDDEN.
func admin(ctx context.Context) (calling.Actor, error) {
	a, err := requireActor(ctx)
	if err != nil {
		return a, err
	}
	if a.Role != calling.RoleAdmin {
		return a, forbidden("Only an ADMIN token may do this; this token is " + string(a.Role) + ".")
	}
	return a, nil
}

// reader returns the actor of ctx if it may read the whole configuration
// (ADMIN or VIEWER); AGENT tokens see only their own agent.
func reader(ctx context.Context) (calling.Actor, error) {
	a, err := requireActor(ctx)
	if err != nil {
		return a, err
	}
	if a.Role == calling.RoleAgent {
		return a, forbidden("An AGENT token reads only its own agent (viewer.agent, agent(id:) or agents).")
	}
	return a, nil
}

// canSeeAgent reports whether the actor of ctx may see agent id.
func canSeeAgent(ctx context.Context, id int64) bool {
	a, ok := actorFrom(ctx)
	if !ok {
		return false
	}
	return a.Role != calling.RoleAgent || (a.AgentID != nil && *a.AgentID == id)
}
