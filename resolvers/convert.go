package resolvers

import (
	"encoding/json"
	"fmt"
	"time"

	"outdial/calling"
	"outdial/graph/model"
	"outdial/models"
)

// Named conversions from stored rows to GraphQL types: every crossing from
// storage to the API goes through one of these.

func toPhoneNumber(n *models.PhoneNumber) *model.PhoneNumber {
	if n == nil {
		return nil
	}
	plan := calling.Plan(n)
	caps := make([]model.CallingCapability, len(plan))
	for i, c := range plan {
		caps[i] = model.CallingCapability(c)
	}
	return &model.PhoneNumber{ID: calling.GlobalID(calling.KindPhoneNumber, n.ID), DBID: n.ID, E164: n.E164,
		CountryCode: n.CountryCode, Type: model.PhoneNumberType(n.Type), Label: n.Label, CallingPlan: caps,
		CanMakeCalls: n.MakeCalls, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt}
}

func toQueue(q *models.Queue) *model.Queue {
	if q == nil {
		return nil
	}
	out := &model.Queue{ID: calling.GlobalID(calling.KindQueue, q.ID), DBID: q.ID, Name: q.Name,
		Channel: model.QueueChannel(q.Channel), Description: q.Description, CreatedAt: q.CreatedAt, UpdatedAt: q.UpdatedAt}
	if q.OverflowTransferTo != nil && q.OverflowCallerID != nil {
		out.Overflow = &model.QueueOverflow{TransferTo: *q.OverflowTransferTo, TransferToExtension: q.OverflowTransferExtension,
			CallerIDNumberID: *q.OverflowCallerID}
	}
	return out
}

func toCapacityProfile(c *models.CapacityProfile) *model.CapacityProfile {
	if c == nil {
		return nil
	}
	return &model.CapacityProfile{ID: calling.GlobalID(calling.KindCapacityProfile, c.ID), DBID: c.ID, Name: c.Name,
		WorkItemLimit: c.WorkItemLimit, ResetFrequency: model.ResetFrequency(c.ResetFrequency),
		BlockAssignment: c.BlockAssignment, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func toOutboundProfile(p *models.OutboundProfile) *model.OutboundProfile {
	if p == nil {
		return nil
	}
	return &model.OutboundProfile{ID: calling.GlobalID(calling.KindOutboundProfile, p.ID), DBID: p.ID, Name: p.Name,
		QueueID: p.QueueID, CapacityProfileID: p.CapacityProfileID, IsDefault: p.IsDefault(),
		CallerIDName: p.CallerIDName, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// toAgent converts an agent whose relations load through rel.
func toAgent(a *models.Agent, rel model.Relations) *model.Agent {
	if a == nil {
		return nil
	}
	return &model.Agent{Rel: rel, ID: calling.GlobalID(calling.KindAgent, a.ID), DBID: a.ID, Name: a.Name, Email: a.Email,
		UnifiedRoutingEnabled: a.UnifiedRoutingEnabled, PersonalNumberID: a.PersonalNumberID,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

func toAPIToken(t *models.APIToken) *model.APIToken {
	if t == nil {
		return nil
	}
	return &model.APIToken{ID: calling.GlobalID(calling.KindAPIToken, t.ID), DBID: t.ID, Name: t.Name,
		Role: model.Role(t.Role), AgentID: t.AgentID, Revoked: t.RevokedAt != nil, LastUsedAt: t.LastUsedAt,
		CreatedAt: t.CreatedAt}
}

func toAuditEntry(e *models.AuditEntry) *model.AuditEntry {
	if e == nil {
		return nil
	}
	return &model.AuditEntry{ID: calling.GlobalID(calling.KindAuditEntry, e.ID), DBID: e.ID, At: e.At,
		Actor: e.Actor, Action: e.Action, TargetID: e.TargetID, Details: e.Details}
}

// toCallingAbility decodes a stored ability snapshot whose relations load
// through rel.
func toCallingAbility(row *models.CallingAbility, rel model.Relations) (*model.CallingAbility, error) {
	var ab calling.Ability
	if err := json.Unmarshal([]byte(row.Snapshot), &ab); err != nil {
		return nil, fmt.Errorf("decode ability of agent %d: %w", row.AgentID, err)
	}
	return abilityToModel(ab, row.Version, row.ChangedAt, rel), nil
}

// abilityToModel converts an ability with its version and change time.
func abilityToModel(ab calling.Ability, version int64, changedAt time.Time, rel model.Relations) *model.CallingAbility {
	out := &model.CallingAbility{CanMakeCalls: ab.CanMakeCalls, Version: int(version), ChangedAt: changedAt,
		CallerIds: make([]*model.CallerID, len(ab.CallerIDs)), Blockers: make([]*model.CallingBlocker, len(ab.Blockers)),
		Warnings: make([]*model.CallingWarning, len(ab.Warnings))}
	for i, w := range ab.Warnings {
		out.Warnings[i] = toWarning(w, rel)
	}
	for i, c := range ab.CallerIDs {
		out.CallerIds[i] = toCallerID(c, rel)
	}
	for i, b := range ab.Blockers {
		out.Blockers[i] = toBlocker(b, rel)
	}
	return out
}

func toCallerID(c calling.CallerID, rel model.Relations) *model.CallerID {
	return &model.CallerID{Rel: rel, PhoneNumberID: c.PhoneNumberID, OutboundProfileID: c.OutboundProfileID,
		Source: model.CallerIDSource(c.Source), WorkItemLimit: c.WorkItemLimit,
		ResetFrequency: model.ResetFrequency(c.ResetFrequency), BlockAssignment: c.BlockAssignment,
		CallerIDName: c.CallerIDName}
}

func toBlocker(b calling.Blocker, rel model.Relations) *model.CallingBlocker {
	return &model.CallingBlocker{Rel: rel, Code: model.CallingBlockerCode(b.Code), Message: b.Message, OutboundProfileID: b.OutboundProfileID}
}

// toRefusals turns domain refusals into payload userErrors.
func toUserErrors(refusals []*calling.Error) []*model.UserError {
	out := make([]*model.UserError, len(refusals))
	for i, r := range refusals {
		out[i] = &model.UserError{Field: r.Field, Message: r.Message, Code: model.UserErrorCode(r.Code)}
	}
	return out
}
