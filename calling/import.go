package calling

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"outdial/models"
)

// MaxImportAgents bounds the agents of one ImportAgents call: one
// transaction, whose memory (the agents, their abilities and events) grows
// with it.
const MaxImportAgents = 10000

// ImportAgent is one new agent of ImportAgents, with its memberships and
// an optional personal number to register for it.
type ImportAgent struct {
	CreateAgentInput
	QueueIDs           []int64
	CapacityProfileIDs []int64
	// PersonalNumber, when not "", is a geographic number (read as
	// addPhoneNumber reads it, in the server's default region) registered
	// with the calling plan PersonalPlan and made the agent's personal
	// number.
	PersonalNumber string
	PersonalPlan   []Capability
}

// ImportAgents creates up to MaxImportAgents new agents with their
// memberships and personal numbers in one transaction, with set-based
// statements (a few per 500 rows, never one per agent), then computes
// their abilities (version 1, one event each) as CreateAgent does. It is
// the bulk path of an organisation built at once (the benchmark's seed:
// BENCHMARKS.md); it returns the agents' IDs in the order of in. The same
// rules hold as for the one-by-one commands: refusals name the entry at
// fault (INVALID_INPUT, INVALID_PHONE_NUMBER, TOLL_FREE_NOT_ALLOWED,
// UNIFIED_ROUTING_REQUIRED), ALREADY_EXISTS when an email or number is
// taken, NOT_FOUND for an unknown queue or capacity profile; nothing is
// written then.
func (s *Service) ImportAgents(ctx context.Context, actor Actor, in []ImportAgent) ([]int64, error) {
	var c checker
	if len(in) > MaxImportAgents {
		return nil, refuse(CodeInvalidInput, fmt.Sprintf("At most %d agents at once.", MaxImportAgents), "agents")
	}
	agents := make([]models.Agent, len(in))
	var numbers []models.PhoneNumber
	numberOf := make([]int, len(in)) // index in numbers + 1, 0 for none
	emails := map[string]int{}
	queues, capacities := map[int64]bool{}, map[int64]bool{}
	for i, a := range in {
		at := strconv.Itoa(i)
		agents[i] = newAgent(&c, a.CreateAgentInput, at)
		if j, dup := emails[agents[i].EmailKey]; dup {
			c.add(refuse(CodeInvalidInput, fmt.Sprintf("%s is the email of entry %d too: give each email once.", agents[i].Email, j), "agents", at, "email"))
		}
		emails[agents[i].EmailKey] = i
		for _, id := range a.QueueIDs {
			queues[id] = true
		}
		for _, id := range a.CapacityProfileIDs {
			capacities[id] = true
		}
		if a.PersonalNumber == "" {
			continue
		}
		p, refusal := ownNumber(a.PersonalNumber, region{code: s.defaultRegion}, "agents", at, "personalNumber")
		switch {
		case refusal != nil:
			c.add(refusal)
			continue
		case p.Type == TypeTollFree:
			c.add(refuse(CodeTollFreeNotAllowed, fmt.Sprintf("%s is toll-free; a personal number must be geographic.", p.E164), "agents", at, "personalNumber"))
		case !a.UnifiedRoutingEnabled:
			c.add(refuse(CodeUnifiedRoutingRequired, "An agent with unified routing turned off has no personal number.", "agents", at, "personalNumber"))
		}
		plan := a.PersonalPlan
		if plan == nil {
			plan = []Capability{ReceiveCalls}
		}
		checkCapabilities(&c, plan, "agents", at, "personalPlan")
		numbers = append(numbers, models.PhoneNumber{E164: p.E164, CountryCode: p.CountryCode, Type: p.Type,
			ReceiveCalls: slices.Contains(plan, ReceiveCalls), MakeCalls: slices.Contains(plan, MakeCalls)})
		numberOf[i] = len(numbers)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	var ids []int64
	agentRows, numberRows := agents, numbers
	err := s.run(ctx, actor, "importAgents", func(t *txn) (outcome, error) {
		// Fresh rows each attempt: an attempt rolled back may have set
		// their IDs.
		agents, numbers := slices.Clone(agentRows), slices.Clone(numberRows)
		if err := t.allExist("queues", keys(queues), "queueIds"); err != nil {
			return outcome{}, err
		}
		if err := t.allExist("capacity_profiles", keys(capacities), "capacityProfileIds"); err != nil {
			return outcome{}, err
		}
		for i := range numbers {
			numbers[i].CreatedAt, numbers[i].UpdatedAt = t.now, t.now
		}
		if len(numbers) > 0 {
			if err := t.tx.CreateInBatches(&numbers, 500).Error; err != nil {
				if isDuplicate(err) {
					return outcome{}, refuse(CodeAlreadyExists, "A personal number is already registered.", "agents")
				}
				return outcome{}, fmt.Errorf("insert personal numbers: %w", err)
			}
		}
		for i := range agents {
			agents[i].CreatedAt, agents[i].UpdatedAt = t.now, t.now
			if n := numberOf[i]; n > 0 {
				agents[i].PersonalNumberID = &numbers[n-1].ID
			}
		}
		if len(agents) > 0 {
			if err := t.tx.CreateInBatches(&agents, 500).Error; err != nil {
				if isDuplicate(err) {
					return outcome{}, refuse(CodeAlreadyExists, "An agent with one of these emails already exists.", "agents")
				}
				return outcome{}, fmt.Errorf("insert agents: %w", err)
			}
		}
		ids = make([]int64, len(agents))
		var qm []models.QueueMember
		var cm []models.CapacityProfileMember
		for i, a := range agents {
			ids[i] = a.ID
			for _, q := range uniqueSorted(in[i].QueueIDs) {
				qm = append(qm, models.QueueMember{QueueID: q, AgentID: a.ID})
			}
			for _, p := range uniqueSorted(in[i].CapacityProfileIDs) {
				cm = append(cm, models.CapacityProfileMember{CapacityProfileID: p, AgentID: a.ID})
			}
		}
		if len(qm) > 0 {
			if err := t.tx.CreateInBatches(&qm, 500).Error; err != nil {
				return outcome{}, fmt.Errorf("insert queue members: %w", err)
			}
		}
		if len(cm) > 0 {
			if err := t.tx.CreateInBatches(&cm, 500).Error; err != nil {
				return outcome{}, fmt.Errorf("insert capacity profile members: %w", err)
			}
		}
		if err := t.touch(KindAgent, ids...); err != nil {
			return outcome{}, err
		}
		return outcome{details: map[string]any{"agents": len(ids), "personalNumbers": len(numbers),
			"queueMemberships": len(qm), "capacityProfileMemberships": len(cm)}}, nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

func keys(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return uniqueSorted(out)
}

// allExist refuses with NOT_FOUND on field when one of ids is not a row
// of table.
func (t *txn) allExist(table string, ids []int64, field string) error {
	if len(ids) == 0 {
		return nil
	}
	found, err := pluckIDs(t, "SELECT id FROM "+table+" WHERE id IN ?", ids)
	if err != nil {
		return err
	}
	if len(found) != len(ids) {
		return refuse(CodeNotFound, fmt.Sprintf("%d of the %d IDs of %s name nothing.", len(ids)-len(found), len(ids), field), field)
	}
	return nil
}
