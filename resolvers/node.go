package resolvers

import (
	"context"

	"outdial/calling"
	"outdial/graph/model"
	"outdial/models"
)

func (r *queryResolver) Node(ctx context.Context, id string) (model.Node, error) {
	thunk, err := r.nodeThunk(ctx, id)
	if err != nil {
		return nil, err
	}
	return thunk()
}

func (r *queryResolver) Nodes(ctx context.Context, ids []string) ([]model.Node, error) {
	if len(ids) > calling.MaxListLen {
		return nil, badInput("ids has %d IDs; at most %d are allowed.", len(ids), calling.MaxListLen)
	}
	thunks := make([]func() (model.Node, error), len(ids))
	for i, id := range ids {
		var err error
		if thunks[i], err = r.nodeThunk(ctx, id); err != nil {
			return nil, err
		}
	}
	out := make([]model.Node, len(ids))
	for i, thunk := range thunks {
		var err error
		if out[i], err = thunk(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// nodeThunk starts loading the object of a global ID (batched with the
// other IDs of the request) and returns a function that waits for it. The
// object is nil when it does not exist or the caller may not see it.
func (r *queryResolver) nodeThunk(ctx context.Context, id string) (func() (model.Node, error), error) {
	actor, err := requireActor(ctx)
	if err != nil {
		return nil, err
	}
	kind, dbID, err := calling.ParseGlobalID(id)
	if err != nil {
		return nil, badInput("%q is not a valid ID.", id)
	}
	if actor.Role == calling.RoleAgent && kind != calling.KindAgent && !isWebhookKind(kind) {
		return func() (model.Node, error) { return nil, nil }, nil
	}
	l := loadersFrom(ctx)
	switch kind {
	case calling.KindPhoneNumber:
		return nodeOf(l.phoneNumber.LoadThunk(ctx, dbID), toPhoneNumber), nil
	case calling.KindQueue:
		return nodeOf(l.queue.LoadThunk(ctx, dbID), toQueue), nil
	case calling.KindCapacityProfile:
		return nodeOf(l.capacityProfile.LoadThunk(ctx, dbID), toCapacityProfile), nil
	case calling.KindOutboundProfile:
		return nodeOf(l.outboundProfile.LoadThunk(ctx, dbID), toOutboundProfile), nil
	case calling.KindAgent:
		return nodeOf(l.agent.LoadThunk(ctx, dbID), func(a *models.Agent) *model.Agent {
			return visibleAgent(ctx, loadersFrom(ctx).toAgent(a))
		}), nil
	case calling.KindAPIToken:
		return nodeOf(l.apiToken.LoadThunk(ctx, dbID), toAPIToken), nil
	case calling.KindAuditEntry:
		return nodeOf(l.auditEntry.LoadThunk(ctx, dbID), toAuditEntry), nil
	default:
		return r.webhookNodeThunk(ctx, kind, dbID), nil
	}
}

// nodeOf adapts a loader thunk to a Node thunk; a missing (or invisible)
// object is a nil Node, not a typed nil.
func nodeOf[R, N any, PN interface {
	*N
	model.Node
}](thunk func() (*R, error), conv func(*R) PN) func() (model.Node, error) {
	return func() (model.Node, error) {
		row, err := thunk()
		if err != nil || row == nil {
			return nil, err
		}
		if n := conv(row); n != nil {
			return n, nil
		}
		return nil, nil
	}
}
