package calling

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"outdial/models"
	"outdial/webhooks"
)

// Agent offboarding (docs/domain.md, "Deleting an agent"): deleteAgent removes an
// agent and tells its apps once more; its name and email then leave the
// stored events and audit details once nothing pending needs them.

// DeleteAgent removes an agent in one transaction:
//
//   - its apps are told once more: a last agent.calling_ability.changed
//     event with "deleted": true, the version after the stored one,
//     canMakeCalls false, no caller IDs and no blockers (and the stored
//     ability as previous), to every endpoint that takes the agent's
//     events, and to the subscription;
//   - its AGENT tokens are revoked (and no longer name it);
//   - its memberships, stored ability and blockers go, then the agent
//     row; its personal number is released (it stays registered);
//   - it is listed in deleted_agents, so that ScrubDeletedAgents blanks its
//     name and email in stored event bodies and audit details once none
//     of its deliveries is pending.
//
// The audit entry names the agent by ID only. An email of a deleted agent
// is free: upsertAgents or createAgent with it make a new agent (a new ID,
// version 1). Refusals: NOT_FOUND.
func (s *Service) DeleteAgent(ctx context.Context, actor Actor, id int64) error {
	return s.run(ctx, actor, "deleteAgent", func(t *txn) (outcome, error) {
		a, err := find[models.Agent](t, id, "agent", "id")
		if err != nil {
			return outcome{}, err
		}
		stored, err := t.loadStored([]int64{a.ID})
		if err != nil {
			return outcome{}, err
		}
		t.emitAgentDeleted(*a, stored[a.ID])
		revoked := t.tx.Model(&models.APIToken{}).Where("agent_id = ? AND revoked_at IS NULL", a.ID).Update("revoked_at", t.now)
		if revoked.Error != nil {
			return outcome{}, fmt.Errorf("revoke the agent's tokens: %w", revoked.Error)
		}
		if err := t.tx.Model(&models.APIToken{}).Where("agent_id = ?", a.ID).Update("agent_id", nil).Error; err != nil {
			return outcome{}, fmt.Errorf("detach the agent's tokens: %w", err)
		}
		// The rows that hang off the agent are deleted one table at a
		// time rather than by ON DELETE CASCADE: MariaDB runs no trigger
		// for a cascaded row, and triggers keep the member counts and
		// callingSummary's tallies (migration 00018).
		deleted := map[string]int64{}
		for _, table := range []string{"queue_members", "capacity_profile_members", "agent_blockers", "calling_abilities"} {
			res := t.tx.Exec("DELETE FROM "+table+" WHERE agent_id = ?", a.ID)
			if res.Error != nil {
				return outcome{}, fmt.Errorf("delete the agent's %s: %w", table, res.Error)
			}
			deleted[table] = res.RowsAffected
		}
		queues, profiles := deleted["queue_members"], deleted["capacity_profile_members"]
		if err := t.tx.Delete(&models.Agent{}, a.ID).Error; err != nil {
			return outcome{}, fmt.Errorf("delete agent: %w", err)
		}
		if err := t.tx.Create(&models.DeletedAgent{AgentID: a.ID, DeletedAt: t.now}).Error; err != nil {
			return outcome{}, fmt.Errorf("list the deleted agent: %w", err)
		}
		details := map[string]any{"revokedTokens": revoked.RowsAffected, "queues": queues, "capacityProfiles": profiles}
		if a.PersonalNumberID != nil {
			details["releasedPhoneNumberId"] = GlobalID(KindPhoneNumber, *a.PersonalNumberID)
		}
		return outcome{target: GlobalID(KindAgent, a.ID), details: details}, nil
	})
}

// emitAgentDeleted records the last agent.calling_ability.changed event
// of a, which is being deleted; prev is its stored ability (version 0 when
// it has none).
func (t *txn) emitAgentDeleted(a models.Agent, prev storedAbility) {
	version := prev.version + 1
	data := AbilityChangedData{
		Agent:        EventAgent{ID: GlobalID(KindAgent, a.ID), Email: a.Email, Name: a.Name},
		Deleted:      true,
		AbilityState: wireState(version, Ability{}),
	}
	var previous *storedAbility
	if prev.version > 0 {
		p := wireState(prev.version, prev.ability)
		data.Previous = &p
		previous = &prev
	}
	t.impact.add(a, previous, version, Ability{})
	agentID := a.ID
	t.emit(webhooks.Event{Type: webhooks.TypeAbilityChanged, Data: data, AgentID: &agentID, Version: &version})
}

// scrubBatch bounds the rows ScrubDeletedAgents rewrites per statement.
const scrubBatch = 200

// ScrubDeletedAgents blanks the name and email of deleted agents in the
// stored webhook event bodies (data.agent) and removes them from the
// details of the audit entries about them, for each agent deleted before
// deletedBefore none of whose deliveries is pending (those are sent as
// written first); it then marks the agent scrubbed. The pruner calls it on
// every run with its clock less PruneConfig.ScrubGrace, so that every
// process's subscription feed reads the last event as written before its
// name goes (README, "What Outdial keeps and for how long"). It returns
// how many agents it finished, and an error when the database fails (what
// is done stays done; the rest is done on the next run).
func (s *Service) ScrubDeletedAgents(ctx context.Context, deletedBefore time.Time) (int, error) {
	db := s.db.WithContext(ctx)
	var ids []int64
	if err := db.Raw("SELECT agent_id FROM deleted_agents WHERE scrubbed_at IS NULL AND deleted_at < ? ORDER BY agent_id LIMIT 100",
		deletedBefore.UTC()).Scan(&ids).Error; err != nil {
		return 0, fmt.Errorf("scrub: list deleted agents: %w", err)
	}
	done := 0
	for _, id := range ids {
		var pending int64
		if err := db.Raw("SELECT COUNT(*) FROM webhook_deliveries WHERE agent_id = ? AND status = ?", id, webhooks.StatusPending).
			Scan(&pending).Error; err != nil {
			return done, fmt.Errorf("scrub: pending deliveries of agent %d: %w", id, err)
		}
		if pending > 0 {
			continue
		}
		if err := s.scrubEvents(ctx, id); err != nil {
			return done, err
		}
		if err := s.scrubAudit(ctx, id); err != nil {
			return done, err
		}
		if err := db.Model(&models.DeletedAgent{}).Where("agent_id = ?", id).Update("scrubbed_at", models.Now()).Error; err != nil {
			return done, fmt.Errorf("scrub: mark agent %d: %w", id, err)
		}
		done++
	}
	return done, nil
}

// scrubEvents blanks data.agent.name and email in the stored events of
// the deleted agent id, a batch at a time by event ID.
func (s *Service) scrubEvents(ctx context.Context, id int64) error {
	db := s.db.WithContext(ctx)
	var after int64
	for {
		var rows []models.WebhookEvent
		if err := db.Where("agent_id = ? AND id > ?", id, after).Order("id").Limit(scrubBatch).Find(&rows).Error; err != nil {
			return fmt.Errorf("scrub: events of agent %d: %w", id, err)
		}
		if len(rows) == 0 {
			return nil
		}
		after = rows[len(rows)-1].ID
		for _, r := range rows {
			body, changed, err := scrubEventBody(r.Payload)
			if err != nil {
				return fmt.Errorf("scrub: event %d: %w", r.ID, err)
			}
			if !changed {
				continue
			}
			if err := db.Model(&models.WebhookEvent{}).Where("id = ?", r.ID).Update("payload", body).Error; err != nil {
				return fmt.Errorf("scrub: event %d: %w", r.ID, err)
			}
		}
	}
}

// scrubEventBody returns body with data.agent's name and email blank,
// keeping everything else as it was written, and whether it changed.
func scrubEventBody(body string) (string, bool, error) {
	var env struct {
		Data struct {
			Agent *EventAgent `json:"agent"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		return "", false, err
	}
	a := env.Data.Agent
	if a == nil || (a.Name == "" && a.Email == "") {
		return body, false, nil
	}
	written, err := json.Marshal(a)
	if err != nil {
		return "", false, err
	}
	blank, err := json.Marshal(EventAgent{ID: a.ID})
	if err != nil {
		return "", false, err
	}
	if strings.Contains(body, string(written)) {
		return strings.Replace(body, string(written), string(blank), 1), true, nil
	}
	// Not as Outdial writes it: rewrite the whole body.
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		return "", false, err
	}
	if data, ok := doc["data"].(map[string]any); ok {
		data["agent"] = EventAgent{ID: a.ID}
	}
	out, err := json.Marshal(doc)
	return string(out), true, err
}

// scrubAudit removes name and email from the details of the audit entries
// about the deleted agent id (createAgent and updateAgent write them).
func (s *Service) scrubAudit(ctx context.Context, id int64) error {
	db := s.db.WithContext(ctx)
	target := GlobalID(KindAgent, id)
	var after int64
	for {
		var rows []models.AuditEntry
		if err := db.Where("target_id = ? AND id > ?", target, after).Order("id").Limit(scrubBatch).Find(&rows).Error; err != nil {
			return fmt.Errorf("scrub: audit entries of agent %d: %w", id, err)
		}
		if len(rows) == 0 {
			return nil
		}
		after = rows[len(rows)-1].ID
		for _, r := range rows {
			var details map[string]any
			if err := json.Unmarshal([]byte(r.Details), &details); err != nil {
				return fmt.Errorf("scrub: audit entry %d: %w", r.ID, err)
			}
			_, hasName := details["name"]
			_, hasEmail := details["email"]
			if !hasName && !hasEmail {
				continue
			}
			delete(details, "name")
			delete(details, "email")
			out, err := json.Marshal(details)
			if err != nil {
				return err
			}
			if err := db.Model(&models.AuditEntry{}).Where("id = ?", r.ID).Update("details", string(out)).Error; err != nil {
				return fmt.Errorf("scrub: audit entry %d: %w", r.ID, err)
			}
		}
	}
}
