package calling

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"outdial/models"
)

// checkAbilities is the refresh rule's oracle (WithAbilityCheck): it
// re-derives the ability of every agent from the configuration as the
// transaction sees it and compares it with the stored one, byte for byte
// (warnings and wording included), and checks the stored version against
// the history: the history holds the stored version with an equivalent
// ability, and the version before it (when kept) differs in a way that
// counts. It returns every difference (nil: none), or the error that
// stopped it reading.
func checkAbilities(t *txn) (differences, err error) {
	ids, err := pluckIDs(t, "SELECT id FROM agents ORDER BY id")
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	profiles, err := t.loadProfiles()
	if err != nil {
		return nil, err
	}
	set := prepareProfiles(profiles)
	var problems []error
	for chunk := range slices.Chunk(ids, chunkSize) {
		facts, _, err := t.loadAgentFacts(chunk)
		if err != nil {
			return nil, err
		}
		stored, err := t.loadStored(chunk)
		if err != nil {
			return nil, err
		}
		history, err := t.lastVersions(chunk)
		if err != nil {
			return nil, err
		}
		for _, id := range chunk {
			want := set.derive(facts[id])
			got, ok := stored[id]
			switch {
			case !ok:
				problems = append(problems, fmt.Errorf("agent %d has no stored ability", id))
				continue
			case !abilitiesIdentical(got.ability, want):
				w, _ := json.Marshal(want)
				g, _ := json.Marshal(got.ability)
				problems = append(problems, fmt.Errorf("agent %d: stored ability (version %d) is stale:\n  stored  %s\n  derived %s", id, got.version, g, w))
			}
			h := history[id]
			cur, hasCur := h[got.version]
			if !hasCur {
				problems = append(problems, fmt.Errorf("agent %d: version %d is not in the history", id, got.version))
			} else if !Equivalent(cur, got.ability) {
				problems = append(problems, fmt.Errorf("agent %d: the history's version %d is not the stored ability", id, got.version))
			}
			if prev, hasPrev := h[got.version-1]; hasPrev && hasCur && Equivalent(prev, cur) {
				problems = append(problems, fmt.Errorf("agent %d: versions %d and %d are the same ability: a version without a change", id, got.version-1, got.version))
			}
			for v := range h {
				if v > got.version {
					problems = append(problems, fmt.Errorf("agent %d: the history has version %d beyond the stored %d", id, v, got.version))
				}
			}
		}
	}
	if len(problems) > 10 {
		problems = append(problems[:10], fmt.Errorf("… and %d more", len(problems)-10))
	}
	return errors.Join(problems...), nil
}

// lastVersions reads the two newest versions in the history of each agent.
func (t *txn) lastVersions(ids []int64) (map[int64]map[int64]Ability, error) {
	var rows []models.CallingAbilityVersion
	err := t.tx.Raw(`SELECT v.* FROM calling_ability_versions v
		WHERE v.agent_id IN ? AND v.version >= (SELECT MAX(w.version) FROM calling_ability_versions w WHERE w.agent_id = v.agent_id) - 1`, ids).
		Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("read ability history: %w", err)
	}
	out := make(map[int64]map[int64]Ability, len(ids))
	for _, r := range rows {
		var ab Ability
		if err := json.Unmarshal([]byte(r.Snapshot), &ab); err != nil {
			return nil, fmt.Errorf("decode version %d of agent %d: %w", r.Version, r.AgentID, err)
		}
		if out[r.AgentID] == nil {
			out[r.AgentID] = map[int64]Ability{}
		}
		out[r.AgentID][r.Version] = ab
	}
	return out, nil
}
