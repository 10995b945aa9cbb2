package calling

import (
	"context"
	"fmt"
	"strconv"

	"gorm.io/gorm/clause"

	"outdial/models"
	"outdial/names"
)

// CreateAgentInput is the input of CreateAgent and one entry of
// UpsertAgents.
type CreateAgentInput struct {
	Name                  string
	Email                 string
	UnifiedRoutingEnabled bool
}

// CreateAgent creates an agent with its first calling ability (version 1).
// Refusals: INVALID_INPUT, ALREADY_EXISTS.
func (s *Service) CreateAgent(ctx context.Context, actor Actor, in CreateAgentInput) (*models.Agent, error) {
	var c checker
	row := newAgent(&c, in, "")
	if err := c.err(); err != nil {
		return nil, err
	}
	var a *models.Agent
	err := s.run(ctx, actor, "createAgent", func(t *txn) (outcome, error) {
		// A fresh row each attempt: an attempt rolled back may have set its ID.
		fresh := row
		a = &fresh
		taken, err := takenBy(t, "agents", "email", "email_key", a.EmailKey, 0)
		if err != nil {
			return outcome{}, err
		}
		if taken != "" {
			return outcome{}, refuse(CodeAlreadyExists, fmt.Sprintf("An agent with email %s already exists: emails are the same whatever their case, width and invisible characters.", taken), "email")
		}
		a.CreatedAt, a.UpdatedAt = t.now, t.now
		if err := t.tx.Create(a).Error; err != nil {
			if isDuplicate(err) {
				return outcome{}, refuse(CodeAlreadyExists, fmt.Sprintf("An agent with email %s already exists.", a.Email), "email")
			}
			return outcome{}, fmt.Errorf("insert agent: %w", err)
		}
		if err := t.touch(KindAgent, a.ID); err != nil {
			return outcome{}, err
		}
		return outcome{target: GlobalID(KindAgent, a.ID), details: agentDetails(a)}, nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// newAgent checks the name and email of in (entry at of a list, "" for
// none) and returns the agent row to write, with its keys.
func newAgent(c *checker, in CreateAgentInput, at string) models.Agent {
	path := func(field string) []string {
		if at == "" {
			return []string{field}
		}
		return []string{"agents", at, field}
	}
	a := models.Agent{Name: cleanName(c, in.Name, path("name")...), Email: cleanEmail(c, in.Email, path("email")...),
		UnifiedRoutingEnabled: in.UnifiedRoutingEnabled}
	a.NameKey, a.EmailKey = nameKey(a.Name), names.Key(a.Email)
	return a
}

func agentDetails(a *models.Agent) map[string]any {
	return map[string]any{"name": a.Name, "email": a.Email, "unifiedRoutingEnabled": a.UnifiedRoutingEnabled}
}

// UpsertAgents creates or updates (by email) up to MaxListLen agents, all
// or nothing, and returns them in the order of in. Refusals name the index
// of the entry at fault: INVALID_INPUT (also for an email given twice).
func (s *Service) UpsertAgents(ctx context.Context, actor Actor, in []CreateAgentInput) ([]models.Agent, error) {
	var c checker
	if len(in) > MaxListLen {
		c.add(refuse(CodeInvalidInput, fmt.Sprintf("At most %d agents at once.", MaxListLen), "agents"))
	}
	wanted := make([]models.Agent, len(in))
	first := map[string]int{}
	for i, a := range in {
		at := strconv.Itoa(i)
		wanted[i] = newAgent(&c, a, at)
		if j, dup := first[wanted[i].EmailKey]; dup && wanted[i].Email != "" {
			c.add(refuse(CodeInvalidInput, fmt.Sprintf("%s is the email of entry %d too: give each email once.", wanted[i].Email, j), "agents", at, "email"))
		} else {
			first[wanted[i].EmailKey] = i
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	var out []models.Agent
	err := s.run(ctx, actor, "upsertAgents", func(t *txn) (outcome, error) {
		var err error
		out, err = t.upsertAgents(wanted)
		if err != nil {
			return outcome{}, err
		}
		ids := make([]int64, len(out))
		for i, a := range out {
			ids[i] = a.ID
		}
		if err := t.touch(KindAgent, ids...); err != nil {
			return outcome{}, err
		}
		return outcome{details: map[string]any{"agents": globalIDs(KindAgent, ids)}}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// upsertAgents writes wanted (unique email keys) and returns the stored
// rows in the same order: one SELECT, then batched statements: an INSERT
// of the new agents and an upsert of the changed ones. An agent is matched
// by the key of its email, and keeps the email it was stored with.
func (t *txn) upsertAgents(wanted []models.Agent) ([]models.Agent, error) {
	keys := make([]string, len(wanted))
	for i, a := range wanted {
		keys[i] = a.EmailKey
	}
	var existing []models.Agent
	if err := t.tx.Where("email_key IN ?", keys).Find(&existing).Error; err != nil {
		return nil, fmt.Errorf("load agents: %w", err)
	}
	byKey := make(map[string]models.Agent, len(existing))
	for _, a := range existing {
		byKey[a.EmailKey] = a
	}
	out := make([]models.Agent, len(wanted))
	var fresh, changed []*models.Agent
	for i, w := range wanted {
		cur, ok := byKey[w.EmailKey]
		switch {
		case !ok:
			w.CreatedAt, w.UpdatedAt = t.now, t.now
			out[i] = w
			fresh = append(fresh, &out[i])
		case cur.Name != w.Name || cur.UnifiedRoutingEnabled != w.UnifiedRoutingEnabled:
			cur.Name, cur.NameKey, cur.UnifiedRoutingEnabled, cur.UpdatedAt = w.Name, w.NameKey, w.UnifiedRoutingEnabled, t.now
			out[i] = cur
			changed = append(changed, &out[i])
		default:
			out[i] = cur
		}
	}
	if len(fresh) > 0 {
		if err := t.tx.CreateInBatches(fresh, 500).Error; err != nil {
			return nil, fmt.Errorf("insert agents: %w", err)
		}
	}
	if len(changed) > 0 {
		upsert := clause.OnConflict{Columns: []clause.Column{{Name: "id"}},
			DoUpdates: clause.AssignmentColumns([]string{"name", "name_key", "unified_routing_enabled", "updated_at"})}
		if err := t.tx.Clauses(upsert).CreateInBatches(changed, 500).Error; err != nil {
			return nil, fmt.Errorf("update agents: %w", err)
		}
	}
	return out, nil
}

// UpdateAgentInput is the input of UpdateAgent; a nil field is left as it is.
type UpdateAgentInput struct {
	ID                    int64
	Name                  *string
	UnifiedRoutingEnabled *bool
}

// UpdateAgent renames an agent or turns unified routing on or off (an
// agent with it off cannot call; a personal number stays assigned).
// Refusals: INVALID_INPUT, NOT_FOUND.
func (s *Service) UpdateAgent(ctx context.Context, actor Actor, in UpdateAgentInput) (*models.Agent, error) {
	var c checker
	var name string
	if in.Name != nil {
		name = cleanName(&c, *in.Name, "name")
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	var a *models.Agent
	err := s.run(ctx, actor, "updateAgent", func(t *txn) (outcome, error) {
		var err error
		if a, err = find[models.Agent](t, in.ID, "agent", "id"); err != nil {
			return outcome{}, err
		}
		if name != "" {
			a.Name, a.NameKey = name, nameKey(name)
		}
		if in.UnifiedRoutingEnabled != nil {
			a.UnifiedRoutingEnabled = *in.UnifiedRoutingEnabled
		}
		a.UpdatedAt = t.now
		if err := t.touch(KindAgent, a.ID); err != nil {
			return outcome{}, err
		}
		if err := t.tx.Model(a).Select("name", "name_key", "unified_routing_enabled", "updated_at").Updates(a).Error; err != nil {
			return outcome{}, fmt.Errorf("update agent: %w", err)
		}
		return outcome{target: GlobalID(KindAgent, a.ID), details: agentDetails(a)}, nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// AssignPersonalNumberInput is the input of AssignPersonalNumber.
type AssignPersonalNumberInput struct {
	AgentID       int64
	PhoneNumberID int64
}

// AssignPersonalNumber makes a geographic number the agent's personal
// number, replacing the one it had. Refusals: NOT_FOUND,
// TOLL_FREE_NOT_ALLOWED, UNIFIED_ROUTING_REQUIRED, NUMBER_ALREADY_ASSIGNED
// (held by another agent, or a caller ID of an outbound profile).
func (s *Service) AssignPersonalNumber(ctx context.Context, actor Actor, in AssignPersonalNumberInput) (*models.Agent, error) {
	var a *models.Agent
	err := s.run(ctx, actor, "assignPersonalNumber", func(t *txn) (outcome, error) {
		var err error
		if a, err = find[models.Agent](t, in.AgentID, "agent", "agentId"); err != nil {
			return outcome{}, err
		}
		n, err := find[models.PhoneNumber](t, in.PhoneNumberID, "phone number", "phoneNumberId")
		if err != nil {
			return outcome{}, err
		}
		if err := checkPersonalNumber(t, a, n); err != nil {
			return outcome{}, err
		}
		out := outcome{target: GlobalID(KindAgent, a.ID),
			details: map[string]any{"phoneNumberId": GlobalID(KindPhoneNumber, n.ID), "e164": n.E164}}
		if a.PersonalNumberID != nil && *a.PersonalNumberID == n.ID {
			return out, nil
		}
		if a.PersonalNumberID != nil {
			out.details.(map[string]any)["replaced"] = GlobalID(KindPhoneNumber, *a.PersonalNumberID)
		}
		a.PersonalNumberID, a.UpdatedAt = &n.ID, t.now
		if err := t.tx.Model(a).Select("personal_number_id", "updated_at").Updates(a).Error; err != nil {
			if isDuplicate(err) {
				return outcome{}, refuse(CodeNumberAlreadyAssigned, fmt.Sprintf("%s is already another agent's personal number.", n.E164), "phoneNumberId")
			}
			return outcome{}, fmt.Errorf("assign personal number: %w", err)
		}
		return out, t.touch(KindAgent, a.ID)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// checkPersonalNumber applies the rules of docs/domain.md, "Personal
// numbers", to assigning n to a.
func checkPersonalNumber(t *txn, a *models.Agent, n *models.PhoneNumber) error {
	if n.Type == TypeTollFree {
		return refuse(CodeTollFreeNotAllowed, fmt.Sprintf("%s is toll-free; a personal number must be geographic.", n.E164), "phoneNumberId")
	}
	if !a.UnifiedRoutingEnabled {
		return refuse(CodeUnifiedRoutingRequired, fmt.Sprintf("Agent %s has unified routing turned off: turn it on before assigning a personal number.", a.Email), "agentId")
	}
	holders, err := count(t, "agents", "personal_number_id = ? AND id <> ?", n.ID, a.ID)
	if err != nil {
		return err
	}
	if holders > 0 {
		return refuse(CodeNumberAlreadyAssigned, fmt.Sprintf("%s is already another agent's personal number.", n.E164), "phoneNumberId")
	}
	profiles, err := count(t, "outbound_profile_numbers", "phone_number_id = ?", n.ID)
	if err != nil {
		return err
	}
	if profiles > 0 {
		return refuse(CodeNumberAlreadyAssigned, fmt.Sprintf("%s is a caller ID of an outbound profile and cannot also be a personal number.", n.E164), "phoneNumberId")
	}
	return nil
}

// UnassignPersonalNumber takes the agent's personal number away (a no-op
// when it has none). Refusals: NOT_FOUND.
func (s *Service) UnassignPersonalNumber(ctx context.Context, actor Actor, agentID int64) (*models.Agent, error) {
	var a *models.Agent
	err := s.run(ctx, actor, "unassignPersonalNumber", func(t *txn) (outcome, error) {
		var err error
		if a, err = find[models.Agent](t, agentID, "agent", "id"); err != nil {
			return outcome{}, err
		}
		out := outcome{target: GlobalID(KindAgent, a.ID)}
		if a.PersonalNumberID == nil {
			return out, nil
		}
		out.details = map[string]any{"phoneNumberId": GlobalID(KindPhoneNumber, *a.PersonalNumberID)}
		a.PersonalNumberID, a.UpdatedAt = nil, t.now
		if err := t.tx.Model(a).Select("personal_number_id", "updated_at").Updates(a).Error; err != nil {
			return outcome{}, fmt.Errorf("unassign personal number: %w", err)
		}
		return out, t.touch(KindAgent, a.ID)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}
