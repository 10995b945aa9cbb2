package calling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"outdial/models"
)

// The history of each agent's calling ability: every version refresh makes
// is kept (calling_ability_versions) with the audit entry of the command
// that made it, so that one command (one audit entry) causes many
// versions. The rows stay as long as their agent, whatever becomes of the
// audit log: a version whose entry was pruned keeps its entry's ID and
// reads without a cause.

// AbilityVersion is one stored version of an agent's ability.
type AbilityVersion struct {
	AgentID int64
	Version int64
	Ability Ability
	// ChangedAt is when the version was made.
	ChangedAt time.Time
	// AuditEntryID is the command that made it; nil before the history
	// was kept.
	AuditEntryID *int64
}

// HistoryPage is one page of an agent's versions, newest first.
type HistoryPage struct {
	Versions []AbilityVersion
	HasNext  bool
}

// AbilityHistories loads page p of the versions of each agent, newest
// first (p.After is a version: the page holds older ones), all agents in
// one statement (ROW_NUMBER() over each agent's versions).
func (s *Service) AbilityHistories(ctx context.Context, agentIDs []int64, p Page) ([]HistoryPage, error) {
	inner := s.db.WithContext(ctx).Model(&models.CallingAbilityVersion{}).
		Select("calling_ability_versions.*, agent_id AS owner_id, ROW_NUMBER() OVER (PARTITION BY agent_id ORDER BY version DESC) AS rn").
		Where("agent_id IN ?", uniqueSorted(agentIDs))
	if p.After > 0 {
		inner = inner.Where("version < ?", p.After)
	}
	q := s.db.WithContext(ctx).Table("(?) AS paged", inner).Where("rn <= ?", p.First+1).Order("owner_id, version DESC")
	groups, err := groupOwned[models.CallingAbilityVersion](q, agentIDs)
	if err != nil {
		return nil, fmt.Errorf("page ability history: %w", err)
	}
	out := make([]HistoryPage, len(agentIDs))
	for i, g := range groups {
		if len(g) > p.First {
			g, out[i].HasNext = g[:p.First], true
		}
		out[i].Versions = make([]AbilityVersion, len(g))
		for j, r := range g {
			var ab Ability
			if err := json.Unmarshal([]byte(r.Snapshot), &ab); err != nil {
				return nil, fmt.Errorf("decode version %d of agent %d: %w", r.Version, r.AgentID, err)
			}
			out[i].Versions[j] = AbilityVersion{AgentID: r.AgentID, Version: r.Version, Ability: ab,
				ChangedAt: r.ChangedAt, AuditEntryID: r.AuditEntryID}
		}
	}
	return out, nil
}

// AbilityVersionCounts counts the versions of each agent: one statement.
func (s *Service) AbilityVersionCounts(ctx context.Context, agentIDs []int64) ([]int, error) {
	var rows []struct {
		AgentID int64
		N       int
	}
	err := s.db.WithContext(ctx).Model(&models.CallingAbilityVersion{}).Select("agent_id, COUNT(*) AS n").
		Where("agent_id IN ?", uniqueSorted(agentIDs)).Group("agent_id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("count ability versions: %w", err)
	}
	by := make(map[int64]int, len(rows))
	for _, r := range rows {
		by[r.AgentID] = r.N
	}
	out := make([]int, len(agentIDs))
	for i, id := range agentIDs {
		out[i] = by[id]
	}
	return out, nil
}

// CompleteAbilities derives and stores the abilities that are missing (an
// agent written without one, as by hand) and the warnings of those stored
// before warnings existed (their JSON has no "warnings"): the server calls
// it at start, after migrating. It changes no version when the rest of the
// ability is as stored, and writes nothing (no audit entry) when every
// agent has its ability with its warnings.
func (s *Service) CompleteAbilities(ctx context.Context) error {
	err := s.run(ctx, Actor{Name: "system"}, "deriveWarnings", func(t *txn) (outcome, error) {
		ids, err := pluckIDs(t, `SELECT agent_id FROM calling_abilities WHERE snapshot NOT LIKE ?
			UNION SELECT id FROM agents WHERE id NOT IN (SELECT agent_id FROM calling_abilities)`, `%"warnings":%`)
		if err != nil {
			return outcome{}, err
		}
		if len(ids) == 0 {
			return outcome{}, errUnchanged
		}
		return outcome{details: map[string]any{"agents": len(ids)}}, t.touch(KindAgent, ids...)
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}
