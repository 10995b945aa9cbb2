package resolvers

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"outdial/calling"
	"outdial/graph/model"
	"outdial/models"
)

// Every mutation: authorize, decode, call the domain, map. A refusal of the
// domain becomes the payload's userErrors; anything else is an error.

// outcome maps a command's result: the converted object, or its refusals.
func outcome[R, N any](row *R, err error, conv func(*R) *N) (*N, []*model.UserError, error) {
	if refusals, ok := calling.Refusals(err); ok {
		return nil, toUserErrors(refusals), nil
	}
	if err != nil {
		return nil, nil, err
	}
	return conv(row), []*model.UserError{}, nil
}

// deleted maps the result of a delete command.
func deleted(id string, err error) (*model.DeletePayload, error) {
	if refusals, ok := calling.Refusals(err); ok {
		return &model.DeletePayload{UserErrors: toUserErrors(refusals)}, nil
	}
	if err != nil {
		return nil, err
	}
	return &model.DeletePayload{DeletedID: &id, UserErrors: []*model.UserError{}}, nil
}

// or returns the value of an optional input, or def when it is absent or null.
func or[T any](o graphql.Omittable[*T], def T) T {
	if v := o.Value(); v != nil {
		return *v
	}
	return def
}

// opt turns an optional nullable input into the domain's Opt.
func opt[T any](o graphql.Omittable[T]) calling.Opt[T] {
	return calling.Opt[T]{Set: o.IsSet(), Value: o.Value()}
}

func capabilities(in []model.CallingCapability) []calling.Capability {
	if in == nil {
		return nil
	}
	out := make([]calling.Capability, len(in))
	for i, c := range in {
		out[i] = calling.Capability(c)
	}
	return out
}

// ---------------------------------------------------------------- phone numbers

func (r *mutationResolver) AddPhoneNumber(ctx context.Context, input model.AddPhoneNumberInput, dryRun *bool) (*model.PhoneNumberPayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	n, err := o.svc.AddPhoneNumber(ctx, actor, calling.AddPhoneNumberInput{
		Number: input.Number, Region: input.Region.Value(), Label: input.Label.Value(), CallingPlan: capabilities(input.CallingPlan.Value())})
	node, ue, err := outcome(n, err, toPhoneNumber)
	return &model.PhoneNumberPayload{PhoneNumber: keep(o, node), UserErrors: ue, Impact: o.report(ue, err)}, err
}

func (r *mutationResolver) UpgradeCallingPlan(ctx context.Context, input model.ChangeCallingPlanInput, dryRun *bool) (*model.PhoneNumberPayload, error) {
	return r.changePlan(ctx, input, dryRun, (*calling.Service).UpgradeCallingPlan)
}

func (r *mutationResolver) DowngradeCallingPlan(ctx context.Context, input model.ChangeCallingPlanInput, dryRun *bool) (*model.PhoneNumberPayload, error) {
	return r.changePlan(ctx, input, dryRun, (*calling.Service).DowngradeCallingPlan)
}

func (r *mutationResolver) changePlan(ctx context.Context, input model.ChangeCallingPlanInput, dryRun *bool,
	cmd func(*calling.Service, context.Context, calling.Actor, calling.ChangeCallingPlanInput) (*models.PhoneNumber, error)) (*model.PhoneNumberPayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	id, err := decodeID(calling.KindPhoneNumber, input.PhoneNumberID, "input.phoneNumberId")
	if err != nil {
		return nil, err
	}
	n, err := cmd(o.svc, ctx, actor, calling.ChangeCallingPlanInput{PhoneNumberID: id, Capabilities: capabilities(input.Capabilities)})
	node, ue, err := outcome(n, err, toPhoneNumber)
	return &model.PhoneNumberPayload{PhoneNumber: keep(o, node), UserErrors: ue, Impact: o.report(ue, err)}, err
}

func (r *mutationResolver) UpdatePhoneNumber(ctx context.Context, input model.UpdatePhoneNumberInput, dryRun *bool) (*model.PhoneNumberPayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	id, err := decodeID(calling.KindPhoneNumber, input.ID, "input.id")
	if err != nil {
		return nil, err
	}
	n, err := o.svc.UpdatePhoneNumber(ctx, actor, calling.UpdatePhoneNumberInput{ID: id, Label: opt(input.Label)})
	node, ue, err := outcome(n, err, toPhoneNumber)
	return &model.PhoneNumberPayload{PhoneNumber: keep(o, node), UserErrors: ue, Impact: o.report(ue, err)}, err
}

func (r *mutationResolver) ReleasePhoneNumber(ctx context.Context, input model.IDInput, dryRun *bool) (*model.DeletePayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	id, err := decodeID(calling.KindPhoneNumber, input.ID, "input.id")
	if err != nil {
		return nil, err
	}
	return o.deleted(input.ID, o.svc.ReleasePhoneNumber(ctx, actor, id))
}

// ---------------------------------------------------------------- queues

func (r *mutationResolver) CreateQueue(ctx context.Context, input model.CreateQueueInput, dryRun *bool) (*model.QueuePayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	q, err := o.svc.CreateQueue(ctx, actor, calling.CreateQueueInput{Name: input.Name, Channel: string(input.Channel), Description: input.Description.Value()})
	node, ue, err := outcome(q, err, toQueue)
	return &model.QueuePayload{Queue: keep(o, node), UserErrors: ue, Impact: o.report(ue, err)}, err
}

func (r *mutationResolver) UpdateQueue(ctx context.Context, input model.UpdateQueueInput, dryRun *bool) (*model.QueuePayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	id, err := decodeID(calling.KindQueue, input.ID, "input.id")
	if err != nil {
		return nil, err
	}
	q, err := o.svc.UpdateQueue(ctx, actor, calling.UpdateQueueInput{ID: id, Name: opt(input.Name), Description: opt(input.Description)})
	node, ue, err := outcome(q, err, toQueue)
	return &model.QueuePayload{Queue: keep(o, node), UserErrors: ue, Impact: o.report(ue, err)}, err
}

func (r *mutationResolver) DeleteQueue(ctx context.Context, input model.IDInput, dryRun *bool) (*model.DeletePayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	id, err := decodeID(calling.KindQueue, input.ID, "input.id")
	if err != nil {
		return nil, err
	}
	return o.deleted(input.ID, o.svc.DeleteQueue(ctx, actor, id))
}

func (r *mutationResolver) DeleteAgent(ctx context.Context, input model.IDInput, dryRun *bool) (*model.DeletePayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	id, err := decodeID(calling.KindAgent, input.ID, "input.id")
	if err != nil {
		return nil, err
	}
	return o.deleted(input.ID, o.svc.DeleteAgent(ctx, actor, id))
}

func (r *mutationResolver) AddAgentsToQueue(ctx context.Context, input model.QueueMembersInput, dryRun *bool) (*model.QueuePayload, error) {
	return r.queueMembers(ctx, input, dryRun, (*calling.Service).AddAgentsToQueue)
}

func (r *mutationResolver) RemoveAgentsFromQueue(ctx context.Context, input model.QueueMembersInput, dryRun *bool) (*model.QueuePayload, error) {
	return r.queueMembers(ctx, input, dryRun, (*calling.Service).RemoveAgentsFromQueue)
}

func (r *mutationResolver) queueMembers(ctx context.Context, input model.QueueMembersInput, dryRun *bool,
	cmd func(*calling.Service, context.Context, calling.Actor, calling.QueueMembersInput) (*models.Queue, error)) (*model.QueuePayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	id, err := decodeID(calling.KindQueue, input.QueueID, "input.queueId")
	if err != nil {
		return nil, err
	}
	agents, err := decodeIDs(calling.KindAgent, input.AgentIds, "input.agentIds")
	if err != nil {
		return nil, err
	}
	q, err := cmd(o.svc, ctx, actor, calling.QueueMembersInput{QueueID: id, AgentIDs: agents})
	node, ue, err := outcome(q, err, toQueue)
	return &model.QueuePayload{Queue: keep(o, node), UserErrors: ue, Impact: o.report(ue, err)}, err
}

func (r *mutationResolver) SetQueueOverflow(ctx context.Context, input model.SetQueueOverflowInput, dryRun *bool) (*model.QueuePayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	id, err := decodeID(calling.KindQueue, input.QueueID, "input.queueId")
	if err != nil {
		return nil, err
	}
	number, err := decodeID(calling.KindPhoneNumber, input.CallerIDNumberID, "input.callerIdNumberId")
	if err != nil {
		return nil, err
	}
	q, err := o.svc.SetQueueOverflow(ctx, actor, calling.SetQueueOverflowInput{QueueID: id, TransferTo: input.TransferTo,
		Region: input.Region.Value(), CallerIDNumberID: number})
	node, ue, err := outcome(q, err, toQueue)
	return &model.QueuePayload{Queue: keep(o, node), UserErrors: ue, Impact: o.report(ue, err)}, err
}

func (r *mutationResolver) ClearQueueOverflow(ctx context.Context, input model.IDInput, dryRun *bool) (*model.QueuePayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	id, err := decodeID(calling.KindQueue, input.ID, "input.id")
	if err != nil {
		return nil, err
	}
	q, err := o.svc.ClearQueueOverflow(ctx, actor, id)
	node, ue, err := outcome(q, err, toQueue)
	return &model.QueuePayload{Queue: keep(o, node), UserErrors: ue, Impact: o.report(ue, err)}, err
}

// ---------------------------------------------------------------- capacity profiles

func (r *mutationResolver) CreateCapacityProfile(ctx context.Context, input model.CreateCapacityProfileInput, dryRun *bool) (*model.CapacityProfilePayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	c, err := o.svc.CreateCapacityProfile(ctx, actor, calling.CreateCapacityProfileInput{
		Name: input.Name, WorkItemLimit: or(input.WorkItemLimit, 1),
		ResetFrequency:  string(or(input.ResetFrequency, model.ResetFrequencyImmediate)),
		BlockAssignment: or(input.BlockAssignment, false)})
	node, ue, err := outcome(c, err, toCapacityProfile)
	return &model.CapacityProfilePayload{CapacityProfile: keep(o, node), UserErrors: ue, Impact: o.report(ue, err)}, err
}

func (r *mutationResolver) UpdateCapacityProfile(ctx context.Context, input model.UpdateCapacityProfileInput, dryRun *bool) (*model.CapacityProfilePayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	id, err := decodeID(calling.KindCapacityProfile, input.ID, "input.id")
	if err != nil {
		return nil, err
	}
	in := calling.UpdateCapacityProfileInput{ID: id, Name: input.Name.Value(), WorkItemLimit: input.WorkItemLimit.Value(),
		BlockAssignment: input.BlockAssignment.Value()}
	if rf := input.ResetFrequency.Value(); rf != nil {
		s := string(*rf)
		in.ResetFrequency = &s
	}
	c, err := o.svc.UpdateCapacityProfile(ctx, actor, in)
	node, ue, err := outcome(c, err, toCapacityProfile)
	return &model.CapacityProfilePayload{CapacityProfile: keep(o, node), UserErrors: ue, Impact: o.report(ue, err)}, err
}

func (r *mutationResolver) DeleteCapacityProfile(ctx context.Context, input model.IDInput, dryRun *bool) (*model.DeletePayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	id, err := decodeID(calling.KindCapacityProfile, input.ID, "input.id")
	if err != nil {
		return nil, err
	}
	return o.deleted(input.ID, o.svc.DeleteCapacityProfile(ctx, actor, id))
}

func (r *mutationResolver) AddAgentsToCapacityProfile(ctx context.Context, input model.CapacityProfileMembersInput, dryRun *bool) (*model.CapacityProfilePayload, error) {
	return r.capacityMembers(ctx, input, dryRun, (*calling.Service).AddAgentsToCapacityProfile)
}

func (r *mutationResolver) RemoveAgentsFromCapacityProfile(ctx context.Context, input model.CapacityProfileMembersInput, dryRun *bool) (*model.CapacityProfilePayload, error) {
	return r.capacityMembers(ctx, input, dryRun, (*calling.Service).RemoveAgentsFromCapacityProfile)
}

func (r *mutationResolver) capacityMembers(ctx context.Context, input model.CapacityProfileMembersInput, dryRun *bool,
	cmd func(*calling.Service, context.Context, calling.Actor, calling.CapacityProfileMembersInput) (*models.CapacityProfile, error)) (*model.CapacityProfilePayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	id, err := decodeID(calling.KindCapacityProfile, input.CapacityProfileID, "input.capacityProfileId")
	if err != nil {
		return nil, err
	}
	agents, err := decodeIDs(calling.KindAgent, input.AgentIds, "input.agentIds")
	if err != nil {
		return nil, err
	}
	c, err := cmd(o.svc, ctx, actor, calling.CapacityProfileMembersInput{CapacityProfileID: id, AgentIDs: agents})
	node, ue, err := outcome(c, err, toCapacityProfile)
	return &model.CapacityProfilePayload{CapacityProfile: keep(o, node), UserErrors: ue, Impact: o.report(ue, err)}, err
}

// ---------------------------------------------------------------- outbound profiles

func (r *mutationResolver) CreateOutboundProfile(ctx context.Context, input model.CreateOutboundProfileInput, dryRun *bool) (*model.OutboundProfilePayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	in := calling.CreateOutboundProfileInput{Name: input.Name, IsDefault: or(input.IsDefault, false), CallerIDName: input.CallerIDName.Value()}
	if in.QueueID, err = decodeID(calling.KindQueue, input.QueueID, "input.queueId"); err != nil {
		return nil, err
	}
	if in.CapacityProfileID, err = decodeID(calling.KindCapacityProfile, input.CapacityProfileID, "input.capacityProfileId"); err != nil {
		return nil, err
	}
	if in.PhoneNumberIDs, err = decodeIDs(calling.KindPhoneNumber, input.PhoneNumberIds, "input.phoneNumberIds"); err != nil {
		return nil, err
	}
	p, err := o.svc.CreateOutboundProfile(ctx, actor, in)
	node, ue, err := outcome(p, err, toOutboundProfile)
	return &model.OutboundProfilePayload{OutboundProfile: keep(o, node), UserErrors: ue, Impact: o.report(ue, err)}, err
}

func (r *mutationResolver) UpdateOutboundProfile(ctx context.Context, input model.UpdateOutboundProfileInput, dryRun *bool) (*model.OutboundProfilePayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	in := calling.UpdateOutboundProfileInput{Name: input.Name.Value(), IsDefault: input.IsDefault.Value(), CallerIDName: opt(input.CallerIDName)}
	if in.ID, err = decodeID(calling.KindOutboundProfile, input.ID, "input.id"); err != nil {
		return nil, err
	}
	if in.QueueID, err = optionalID(calling.KindQueue, input.QueueID.Value(), "input.queueId"); err != nil {
		return nil, err
	}
	if in.CapacityProfileID, err = optionalID(calling.KindCapacityProfile, input.CapacityProfileID.Value(), "input.capacityProfileId"); err != nil {
		return nil, err
	}
	if ids := input.PhoneNumberIds.Value(); ids != nil {
		if in.PhoneNumberIDs, err = decodeIDs(calling.KindPhoneNumber, ids, "input.phoneNumberIds"); err != nil {
			return nil, err
		}
	}
	p, err := o.svc.UpdateOutboundProfile(ctx, actor, in)
	node, ue, err := outcome(p, err, toOutboundProfile)
	return &model.OutboundProfilePayload{OutboundProfile: keep(o, node), UserErrors: ue, Impact: o.report(ue, err)}, err
}

func (r *mutationResolver) DeleteOutboundProfile(ctx context.Context, input model.IDInput, dryRun *bool) (*model.DeletePayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	id, err := decodeID(calling.KindOutboundProfile, input.ID, "input.id")
	if err != nil {
		return nil, err
	}
	return o.deleted(input.ID, o.svc.DeleteOutboundProfile(ctx, actor, id))
}

// ---------------------------------------------------------------- agents

func agentInput(in *model.CreateAgentInput) calling.CreateAgentInput {
	return calling.CreateAgentInput{Name: in.Name, Email: in.Email, UnifiedRoutingEnabled: or(in.UnifiedRoutingEnabled, true)}
}

func (r *mutationResolver) CreateAgent(ctx context.Context, input model.CreateAgentInput, dryRun *bool) (*model.AgentPayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	a, err := o.svc.CreateAgent(ctx, actor, agentInput(&input))
	node, ue, err := outcome(a, err, loadersFrom(ctx).toAgent)
	return &model.AgentPayload{Agent: keep(o, node), UserErrors: ue, Impact: o.report(ue, err)}, err
}

func (r *mutationResolver) UpsertAgents(ctx context.Context, input model.UpsertAgentsInput, dryRun *bool) (*model.UpsertAgentsPayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	if len(input.Agents) > calling.MaxListLen {
		return nil, badInput("input.agents has %d entries; at most %d are allowed.", len(input.Agents), calling.MaxListLen)
	}
	in := make([]calling.CreateAgentInput, len(input.Agents))
	for i, a := range input.Agents {
		in[i] = agentInput(a)
	}
	agents, err := o.svc.UpsertAgents(ctx, actor, in)
	if refusals, ok := calling.Refusals(err); ok {
		return &model.UpsertAgentsPayload{Agents: []*model.Agent{}, UserErrors: toUserErrors(refusals)}, nil
	}
	if err != nil {
		return nil, err
	}
	if o.dry {
		agents = nil
	}
	return &model.UpsertAgentsPayload{Agents: convertAll(agents, loadersFrom(ctx).toAgent), UserErrors: []*model.UserError{},
		Impact: o.report(nil, nil)}, nil
}

func (r *mutationResolver) UpdateAgent(ctx context.Context, input model.UpdateAgentInput, dryRun *bool) (*model.AgentPayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	id, err := decodeID(calling.KindAgent, input.ID, "input.id")
	if err != nil {
		return nil, err
	}
	a, err := o.svc.UpdateAgent(ctx, actor, calling.UpdateAgentInput{ID: id, Name: input.Name.Value(),
		UnifiedRoutingEnabled: input.UnifiedRoutingEnabled.Value()})
	node, ue, err := outcome(a, err, loadersFrom(ctx).toAgent)
	return &model.AgentPayload{Agent: keep(o, node), UserErrors: ue, Impact: o.report(ue, err)}, err
}

func (r *mutationResolver) AssignPersonalNumber(ctx context.Context, input model.AssignPersonalNumberInput, dryRun *bool) (*model.AgentPayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	var in calling.AssignPersonalNumberInput
	if in.AgentID, err = decodeID(calling.KindAgent, input.AgentID, "input.agentId"); err != nil {
		return nil, err
	}
	if in.PhoneNumberID, err = decodeID(calling.KindPhoneNumber, input.PhoneNumberID, "input.phoneNumberId"); err != nil {
		return nil, err
	}
	a, err := o.svc.AssignPersonalNumber(ctx, actor, in)
	node, ue, err := outcome(a, err, loadersFrom(ctx).toAgent)
	return &model.AgentPayload{Agent: keep(o, node), UserErrors: ue, Impact: o.report(ue, err)}, err
}

func (r *mutationResolver) UnassignPersonalNumber(ctx context.Context, input model.IDInput, dryRun *bool) (*model.AgentPayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	o := observe(r.svc, dryRun)
	id, err := decodeID(calling.KindAgent, input.ID, "input.id")
	if err != nil {
		return nil, err
	}
	a, err := o.svc.UnassignPersonalNumber(ctx, actor, id)
	node, ue, err := outcome(a, err, loadersFrom(ctx).toAgent)
	return &model.AgentPayload{Agent: keep(o, node), UserErrors: ue, Impact: o.report(ue, err)}, err
}

// ---------------------------------------------------------------- access

func (r *mutationResolver) CreateAPIToken(ctx context.Context, input model.CreateAPITokenInput) (*model.CreateAPITokenPayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	in := calling.CreateAPITokenInput{Name: input.Name, Role: calling.Role(input.Role)}
	if in.AgentID, err = optionalID(calling.KindAgent, input.AgentID.Value(), "input.agentId"); err != nil {
		return nil, err
	}
	tok, value, err := r.svc.CreateAPIToken(ctx, actor, in)
	node, ue, err := outcome(tok, err, toAPIToken)
	out := &model.CreateAPITokenPayload{APIToken: node, UserErrors: ue}
	if node != nil {
		out.Token = &value
	}
	return out, err
}

func (r *mutationResolver) RevokeAPIToken(ctx context.Context, input model.IDInput) (*model.APITokenPayload, error) {
	actor, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	id, err := decodeID(calling.KindAPIToken, input.ID, "input.id")
	if err != nil {
		return nil, err
	}
	tok, err := r.svc.RevokeAPIToken(ctx, actor, id)
	node, ue, err := outcome(tok, err, toAPIToken)
	return &model.APITokenPayload{APIToken: node, UserErrors: ue}, err
}
