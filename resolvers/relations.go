package resolvers

import (
	"fmt"

	"outdial/graph/model"
	"outdial/models"
)

// The relations of agents and abilities (model.Relations), loaded through
// the request's dataloaders. gqlgen resolves them inline; siblings still
// batch, because the elements of a list are resolved concurrently.

var _ model.Relations = (*loaders)(nil)

// toAgent converts an agent whose relations load through l.
func (l *loaders) toAgent(a *models.Agent) *model.Agent { return toAgent(a, l) }

// AgentQueues loads the queues the agent is a member of.
func (l *loaders) AgentQueues(a *model.Agent) ([]*model.Queue, error) {
	rows, err := l.agentQueues.Load(l.ctx, a.DBID)
	return convertAll(rows, toQueue), err
}

// AgentCapacityProfiles loads the capacity profiles holding the agent.
func (l *loaders) AgentCapacityProfiles(a *model.Agent) ([]*model.CapacityProfile, error) {
	rows, err := l.agentCapacityProfiles.Load(l.ctx, a.DBID)
	return convertAll(rows, toCapacityProfile), err
}

// AgentPersonalNumber loads the agent's personal number, if any.
func (l *loaders) AgentPersonalNumber(a *model.Agent) (*model.PhoneNumber, error) {
	if a.PersonalNumberID == nil {
		return nil, nil
	}
	n, err := l.phoneNumber.Load(l.ctx, *a.PersonalNumberID)
	return toPhoneNumber(n), err
}

// AgentCallingAbility loads the agent's stored ability.
func (l *loaders) AgentCallingAbility(a *model.Agent) (*model.CallingAbility, error) {
	ab, err := l.ability.Load(l.ctx, a.DBID)
	if err == nil && ab == nil {
		err = fmt.Errorf("agent %d has no stored calling ability", a.DBID)
	}
	return ab, err
}

// CallerIDPhoneNumber loads a caller ID's number.
func (l *loaders) CallerIDPhoneNumber(c *model.CallerID) (*model.PhoneNumber, error) {
	n, err := l.phoneNumber.Load(l.ctx, c.PhoneNumberID)
	if err == nil && n == nil {
		err = fmt.Errorf("caller ID number %d no longer exists", c.PhoneNumberID)
	}
	return toPhoneNumber(n), err
}

// CallerIDOutboundProfile loads the profile governing a caller ID.
func (l *loaders) CallerIDOutboundProfile(c *model.CallerID) (*model.OutboundProfile, error) {
	p, err := l.outboundProfile.Load(l.ctx, c.OutboundProfileID)
	if err == nil && p == nil {
		err = fmt.Errorf("caller ID profile %d no longer exists", c.OutboundProfileID)
	}
	return toOutboundProfile(p), err
}

// BlockerOutboundProfile loads the profile a blocker is about, if any.
func (l *loaders) BlockerOutboundProfile(b *model.CallingBlocker) (*model.OutboundProfile, error) {
	if b.OutboundProfileID == nil {
		return nil, nil
	}
	p, err := l.outboundProfile.Load(l.ctx, *b.OutboundProfileID)
	return toOutboundProfile(p), err
}
