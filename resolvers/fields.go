package resolvers

import (
	"context"

	"outdial/calling"
	"outdial/graph/model"
)

// The nested fields of the node types: one loader call each.

func (r *apiTokenResolver) Agent(ctx context.Context, obj *model.APIToken) (*model.Agent, error) {
	if obj.AgentID == nil {
		return nil, nil
	}
	a, err := loadersFrom(ctx).agent.Load(ctx, *obj.AgentID)
	return visibleAgent(ctx, loadersFrom(ctx).toAgent(a)), err
}

func (r *capacityProfileResolver) Agents(ctx context.Context, obj *model.CapacityProfile, first *int, after *string) (*model.AgentConnection, error) {
	return memberConnection(ctx, loadersFrom(ctx).capacityAgents.Load, loadersFrom(ctx).capacityAgentCount.Load, obj.DBID, first, after)
}

func (r *capacityProfileResolver) AgentCount(ctx context.Context, obj *model.CapacityProfile) (int, error) {
	return memberCount(ctx, loadersFrom(ctx).capacityAgents.Load, loadersFrom(ctx).capacityAgentCount.Load, obj.DBID)
}

func (r *capacityProfileResolver) OutboundProfiles(ctx context.Context, obj *model.CapacityProfile) ([]*model.OutboundProfile, error) {
	rows, err := loadersFrom(ctx).capacityProfiles.Load(ctx, obj.DBID)
	return convertAll(rows, toOutboundProfile), err
}

func (r *outboundProfileResolver) Queue(ctx context.Context, obj *model.OutboundProfile) (*model.Queue, error) {
	q, err := loadersFrom(ctx).queue.Load(ctx, obj.QueueID)
	return toQueue(q), err
}

func (r *outboundProfileResolver) CapacityProfile(ctx context.Context, obj *model.OutboundProfile) (*model.CapacityProfile, error) {
	c, err := loadersFrom(ctx).capacityProfile.Load(ctx, obj.CapacityProfileID)
	return toCapacityProfile(c), err
}

func (r *outboundProfileResolver) PhoneNumbers(ctx context.Context, obj *model.OutboundProfile) ([]*model.PhoneNumber, error) {
	rows, err := loadersFrom(ctx).profileNumbers.Load(ctx, obj.DBID)
	return convertAll(rows, toPhoneNumber), err
}

func (r *phoneNumberResolver) PersonalAgent(ctx context.Context, obj *model.PhoneNumber) (*model.Agent, error) {
	a, err := loadersFrom(ctx).personalAgent.Load(ctx, obj.DBID)
	return visibleAgent(ctx, loadersFrom(ctx).toAgent(a)), err
}

func (r *phoneNumberResolver) OutboundProfiles(ctx context.Context, obj *model.PhoneNumber) ([]*model.OutboundProfile, error) {
	rows, err := loadersFrom(ctx).numberProfiles.Load(ctx, obj.DBID)
	return convertAll(rows, toOutboundProfile), err
}

func (r *queueResolver) Agents(ctx context.Context, obj *model.Queue, first *int, after *string) (*model.AgentConnection, error) {
	return memberConnection(ctx, loadersFrom(ctx).queueAgents.Load, loadersFrom(ctx).queueAgentCount.Load, obj.DBID, first, after)
}

func (r *queueResolver) AgentCount(ctx context.Context, obj *model.Queue) (int, error) {
	return memberCount(ctx, loadersFrom(ctx).queueAgents.Load, loadersFrom(ctx).queueAgentCount.Load, obj.DBID)
}

func (r *queueResolver) OutboundProfiles(ctx context.Context, obj *model.Queue) ([]*model.OutboundProfile, error) {
	rows, err := loadersFrom(ctx).queueProfiles.Load(ctx, obj.DBID)
	return convertAll(rows, toOutboundProfile), err
}

func (r *queueOverflowResolver) CallerID(ctx context.Context, obj *model.QueueOverflow) (*model.PhoneNumber, error) {
	n, err := loadersFrom(ctx).phoneNumber.Load(ctx, obj.CallerIDNumberID)
	return toPhoneNumber(n), err
}

func (r *viewerResolver) Token(ctx context.Context, obj *model.Viewer) (*model.APIToken, error) {
	if obj.TokenID == nil {
		return nil, nil
	}
	t, err := loadersFrom(ctx).apiToken.Load(ctx, *obj.TokenID)
	return toAPIToken(t), err
}

func (r *viewerResolver) Agent(ctx context.Context, obj *model.Viewer) (*model.Agent, error) {
	if obj.AgentID == nil {
		return nil, nil
	}
	a, err := loadersFrom(ctx).agent.Load(ctx, *obj.AgentID)
	return loadersFrom(ctx).toAgent(a), err
}

func (r *abilityChangeResolver) Agent(ctx context.Context, obj *model.CallingAbilityChange) (*model.Agent, error) {
	if obj.DeletedAgent != nil {
		return obj.DeletedAgent, nil
	}
	a, err := loadersFrom(ctx).agent.Load(ctx, obj.AgentID)
	return loadersFrom(ctx).toAgent(a), err
}

// memberCount counts the agents of a queue or capacity profile. For an
// AGENT token only its own agent counts, as in the agents connection's
// totalCount: a count must not tell it that other agents are there.
func memberCount(ctx context.Context, load func(context.Context, memberKey) (calling.MemberPage, error),
	count func(context.Context, int64) (int, error), owner int64) (int, error) {
	if a, _ := actorFrom(ctx); a.Role == calling.RoleAgent {
		mp, err := load(ctx, memberKey{owner: owner, page: calling.Page{First: 1}})
		return len(mp.Agents), err
	}
	return count(ctx, owner)
}

// memberConnection resolves the agents of a queue or capacity profile.
func memberConnection(ctx context.Context, load func(context.Context, memberKey) (calling.MemberPage, error),
	count func(context.Context, int64) (int, error), owner int64, first *int, after *string) (*model.AgentConnection, error) {
	list := listOf(ctx, owner)
	p, err := pageArgs(list, first, after)
	if err != nil {
		return nil, err
	}
	mp, err := load(ctx, memberKey{owner: owner, page: p})
	if err != nil {
		return nil, err
	}
	pg := newPage(list, mp.Agents, mp.HasNext, p, agentKey, loadersFrom(ctx).toAgent)
	n, err := total(ctx, func() (int, error) {
		if a, _ := actorFrom(ctx); a.Role == calling.RoleAgent {
			return len(mp.Agents), nil
		}
		return count(ctx, owner)
	})
	if err != nil {
		return nil, err
	}
	return agentConnection(pg, n), nil
}
