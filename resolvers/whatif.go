package resolvers

import (
	"context"

	"outdial/calling"
	"outdial/graph"
	"outdial/graph/model"
)

// Impact previews (dryRun), ability history and warnings: the mapping of
// calling's Impact, AbilityVersion and Warning (the rules are there).

// observed is one mutation's service (calling.Service.Observe) with the
// impact it reports.
type observed struct {
	svc    *calling.Service
	impact *calling.Impact
	dry    bool
}

func observe(svc *calling.Service, dryRun *bool) observed {
	dry := dryRun != nil && *dryRun
	s, imp := svc.Observe(dry)
	return observed{svc: s, impact: imp, dry: dry}
}

// keep returns the payload's object: none after a dry run, which wrote
// nothing.
func keep[N any](o observed, node *N) *N {
	if o.dry {
		return nil
	}
	return node
}

// report is the payload's impact: null when the mutation was refused or
// failed.
func (o observed) report(ue []*model.UserError, err error) *model.AbilityImpact {
	if err != nil || len(ue) > 0 {
		return nil
	}
	return toImpact(o.impact)
}

// deleted maps the result of a delete command that can change abilities.
func (o observed) deleted(id string, err error) (*model.DeletePayload, error) {
	p, err := deleted(id, err)
	if p != nil {
		p.Impact = o.report(p.UserErrors, err)
		if o.dry {
			p.DeletedID = nil
		}
	}
	return p, err
}

func toImpact(imp *calling.Impact) *model.AbilityImpact {
	out := &model.AbilityImpact{DryRun: imp.DryRun, AgentsChanged: imp.AgentsChanged,
		AgentsLosingCalling: imp.AgentsLosingCalling, AgentsGainingCalling: imp.AgentsGainingCalling,
		Diffs: make([]*model.AbilityDiff, len(imp.Changes))}
	for i, d := range imp.Changes {
		out.Diffs[i] = &model.AbilityDiff{AgentID: calling.GlobalID(calling.KindAgent, d.AgentID),
			AgentEmail: d.AgentEmail, AgentName: d.AgentName,
			Current:         toSnapshot(d.Current.Version, d.Current.Ability),
			CallerIdsGained: d.CallerIDsGained, CallerIdsLost: d.CallerIDsLost}
		if d.Previous != nil {
			out.Diffs[i].Previous = toSnapshot(d.Previous.Version, d.Previous.Ability)
		}
	}
	return out
}

// toSnapshot converts an ability to scalars, as the webhook carries it.
func toSnapshot(version int64, ab calling.Ability) *model.AbilitySnapshot {
	out := &model.AbilitySnapshot{Version: int(version), CanMakeCalls: ab.CanMakeCalls,
		CallerIds: make([]*model.CallerIDSnapshot, len(ab.CallerIDs)), Blockers: make([]*model.BlockerSnapshot, len(ab.Blockers))}
	for i, c := range ab.CallerIDs {
		out.CallerIds[i] = &model.CallerIDSnapshot{PhoneNumber: c.PhoneNumber,
			PhoneNumberID: calling.GlobalID(calling.KindPhoneNumber, c.PhoneNumberID), Source: model.CallerIDSource(c.Source),
			OutboundProfileID: calling.GlobalID(calling.KindOutboundProfile, c.OutboundProfileID), OutboundProfileName: c.OutboundProfileName,
			WorkItemLimit: c.WorkItemLimit, ResetFrequency: model.ResetFrequency(c.ResetFrequency), BlockAssignment: c.BlockAssignment,
			CallerIDName: c.CallerIDName}
	}
	for i, b := range ab.Blockers {
		out.Blockers[i] = &model.BlockerSnapshot{Code: model.CallingBlockerCode(b.Code), Message: b.Message}
		if b.OutboundProfileID != nil {
			id := calling.GlobalID(calling.KindOutboundProfile, *b.OutboundProfileID)
			out.Blockers[i].OutboundProfileID = &id
		}
	}
	return out
}

func toWarning(w calling.Warning, rel model.Relations) *model.CallingWarning {
	return &model.CallingWarning{Rel: rel, Code: model.CallingWarningCode(w.Code), Message: w.Message,
		OutboundProfileID: w.OutboundProfileID, PhoneNumberID: w.PhoneNumberID}
}

func (r *Resolver) AbilityImpact() graph.AbilityImpactResolver { return &abilityImpactResolver{r} }

type abilityImpactResolver struct{ *Resolver }

// Changes returns the first diffs (first: 0..MaxImpactChanges).
func (r *abilityImpactResolver) Changes(ctx context.Context, obj *model.AbilityImpact, first *int) ([]*model.AbilityDiff, error) {
	n := 20
	if first != nil {
		n = *first
	}
	if n < 0 || n > calling.MaxImpactChanges {
		return nil, badInput("first must be between 0 and %d; it is %d.", calling.MaxImpactChanges, n)
	}
	return obj.Diffs[:min(n, len(obj.Diffs))], nil
}

func (r *Resolver) AbilityVersion() graph.AbilityVersionResolver { return &abilityVersionResolver{r} }

type abilityVersionResolver struct{ *Resolver }

// Cause loads the audit entry of the command that made the version: null
// before the history was kept, or once the entry was pruned.
func (r *abilityVersionResolver) Cause(ctx context.Context, obj *model.AbilityVersion) (*model.AuditEntry, error) {
	if obj.AuditEntryID == nil {
		return nil, nil
	}
	e, err := loadersFrom(ctx).auditEntry.Load(ctx, *obj.AuditEntryID)
	if err != nil || e == nil {
		return nil, err
	}
	return toAuditEntry(e), nil
}

func (r *Resolver) Agent() graph.AgentResolver { return &agentResolver{r} }

type agentResolver struct{ *Resolver }

// CallingAbilityHistory pages the agent's versions, newest first: one
// statement for the versions of every agent of the page, one for the
// causes, one for totalCount when selected. An AGENT token reaches only
// its own agent.
func (r *agentResolver) CallingAbilityHistory(ctx context.Context, obj *model.Agent, first *int, after *string) (*model.AbilityVersionConnection, error) {
	if !canSeeAgent(ctx, obj.DBID) {
		return nil, forbidden("An AGENT token reads only its own agent's history.")
	}
	list := listOf(ctx, obj.DBID)
	p, err := pageArgs(list, first, after)
	if err != nil {
		return nil, err
	}
	l := loadersFrom(ctx)
	hp, err := l.history.Load(ctx, memberKey{owner: obj.DBID, page: p})
	if err != nil {
		return nil, err
	}
	pg := newPage(list, hp.Versions, hp.HasNext, p, func(v *calling.AbilityVersion) int64 { return v.Version }, toAbilityVersion)
	n, err := total(ctx, func() (int, error) { return l.historyCount.Load(ctx, obj.DBID) })
	if err != nil {
		return nil, err
	}
	out := &model.AbilityVersionConnection{Nodes: pg.nodes, PageInfo: pg.pageInfo, TotalCount: n,
		Edges: make([]*model.AbilityVersionEdge, len(pg.nodes))}
	for i, node := range pg.nodes {
		out.Edges[i] = &model.AbilityVersionEdge{Cursor: pg.cursors[i], Node: node}
	}
	return out, nil
}

func toAbilityVersion(v *calling.AbilityVersion) *model.AbilityVersion {
	return &model.AbilityVersion{Version: int(v.Version), ChangedAt: v.ChangedAt,
		Ability: toSnapshot(v.Version, v.Ability), AuditEntryID: v.AuditEntryID}
}

// WarningOutboundProfile loads the profile a warning is about, if any.
func (l *loaders) WarningOutboundProfile(w *model.CallingWarning) (*model.OutboundProfile, error) {
	if w.OutboundProfileID == nil {
		return nil, nil
	}
	p, err := l.outboundProfile.Load(l.ctx, *w.OutboundProfileID)
	return toOutboundProfile(p), err
}

// WarningPhoneNumber loads the number a warning is about, if any.
func (l *loaders) WarningPhoneNumber(w *model.CallingWarning) (*model.PhoneNumber, error) {
	if w.PhoneNumberID == nil {
		return nil, nil
	}
	n, err := l.phoneNumber.Load(l.ctx, *w.PhoneNumberID)
	return toPhoneNumber(n), err
}
