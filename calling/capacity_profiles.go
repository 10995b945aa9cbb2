package calling

import (
	"context"
	"fmt"

	"outdial/models"
)

// Reset frequencies (GraphQL ResetFrequency).
const (
	ResetImmediate = "IMMEDIATE"
	ResetEndOfDay  = "END_OF_DAY"
)

// CreateCapacityProfileInput is the input of CreateCapacityProfile.
type CreateCapacityProfileInput struct {
	Name            string
	WorkItemLimit   int
	ResetFrequency  string
	BlockAssignment bool
}

func checkCapacity(c *checker, limit int, reset string) {
	c.check(limit >= MinWorkItemLimit && limit <= MaxWorkItemLimit, CodeInvalidInput,
		fmt.Sprintf("The work item limit is %d to %d calls at once.", MinWorkItemLimit, MaxWorkItemLimit), "workItemLimit")
	c.check(reset == ResetImmediate || reset == ResetEndOfDay, CodeInvalidInput,
		"The reset frequency is IMMEDIATE or END_OF_DAY.", "resetFrequency")
}

// CreateCapacityProfile creates a capacity profile. Refusals:
// INVALID_INPUT, ALREADY_EXISTS.
func (s *Service) CreateCapacityProfile(ctx context.Context, actor Actor, in CreateCapacityProfileInput) (*models.CapacityProfile, error) {
	var c checker
	name := cleanName(&c, in.Name, "name")
	checkCapacity(&c, in.WorkItemLimit, in.ResetFrequency)
	if err := c.err(); err != nil {
		return nil, err
	}
	row := models.CapacityProfile{Name: name, NameKey: nameKey(name), WorkItemLimit: in.WorkItemLimit,
		ResetFrequency: in.ResetFrequency, BlockAssignment: in.BlockAssignment}
	var cp *models.CapacityProfile
	err := s.run(ctx, actor, "createCapacityProfile", func(t *txn) (outcome, error) {
		// A fresh row each attempt: an attempt rolled back may have set its ID.
		fresh := row
		cp = &fresh
		if err := uniqueName(t, "capacity_profiles", "capacity profile", cp.NameKey, 0); err != nil {
			return outcome{}, err
		}
		cp.CreatedAt, cp.UpdatedAt = t.now, t.now
		if err := insert(t, cp, "capacity profile"); err != nil {
			return outcome{}, err
		}
		return outcome{target: GlobalID(KindCapacityProfile, cp.ID), details: capacityDetails(cp)}, nil
	})
	if err != nil {
		return nil, err
	}
	return cp, nil
}

func capacityDetails(cp *models.CapacityProfile) map[string]any {
	return map[string]any{"name": cp.Name, "workItemLimit": cp.WorkItemLimit,
		"resetFrequency": cp.ResetFrequency, "blockAssignment": cp.BlockAssignment}
}

// UpdateCapacityProfileInput is the input of UpdateCapacityProfile; a null
// field is left as it is.
type UpdateCapacityProfileInput struct {
	ID              int64
	Name            *string
	WorkItemLimit   *int
	ResetFrequency  *string
	BlockAssignment *bool
}

// UpdateCapacityProfile changes a capacity profile; the caller IDs of its
// agents carry the new settings. Refusals: INVALID_INPUT, NOT_FOUND,
// ALREADY_EXISTS.
func (s *Service) UpdateCapacityProfile(ctx context.Context, actor Actor, in UpdateCapacityProfileInput) (*models.CapacityProfile, error) {
	var c checker
	var name string
	if in.Name != nil {
		name = cleanName(&c, *in.Name, "name")
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	var cp *models.CapacityProfile
	err := s.run(ctx, actor, "updateCapacityProfile", func(t *txn) (outcome, error) {
		var err error
		if cp, err = find[models.CapacityProfile](t, in.ID, "capacity profile", "id"); err != nil {
			return outcome{}, err
		}
		if name != "" && name != cp.Name {
			if err := uniqueName(t, "capacity_profiles", "capacity profile", nameKey(name), cp.ID); err != nil {
				return outcome{}, err
			}
			cp.Name, cp.NameKey = name, nameKey(name)
		}
		if in.WorkItemLimit != nil {
			cp.WorkItemLimit = *in.WorkItemLimit
		}
		if in.ResetFrequency != nil {
			cp.ResetFrequency = *in.ResetFrequency
		}
		if in.BlockAssignment != nil {
			cp.BlockAssignment = *in.BlockAssignment
		}
		var c checker
		checkCapacity(&c, cp.WorkItemLimit, cp.ResetFrequency)
		if err := c.err(); err != nil {
			return outcome{}, err
		}
		cp.UpdatedAt = t.now
		// Caller IDs carry its settings, warnings its name.
		if err := t.touch(KindCapacityProfile, cp.ID); err != nil {
			return outcome{}, err
		}
		if err := t.tx.Model(cp).Select("name", "name_key", "work_item_limit", "reset_frequency", "block_assignment", "updated_at").Updates(cp).Error; err != nil {
			return outcome{}, fmt.Errorf("update capacity profile: %w", err)
		}
		return outcome{target: GlobalID(KindCapacityProfile, cp.ID), details: capacityDetails(cp)}, nil
	})
	if err != nil {
		return nil, err
	}
	return cp, nil
}

// DeleteCapacityProfile deletes a capacity profile and its memberships. It
// is refused with IN_USE while an outbound profile uses it. Refusals:
// NOT_FOUND, IN_USE.
func (s *Service) DeleteCapacityProfile(ctx context.Context, actor Actor, id int64) error {
	return s.run(ctx, actor, "deleteCapacityProfile", func(t *txn) (outcome, error) {
		cp, err := find[models.CapacityProfile](t, id, "capacity profile", "id")
		if err != nil {
			return outcome{}, err
		}
		used, err := count(t, "outbound_profiles", "capacity_profile_id = ?", cp.ID)
		if err != nil {
			return outcome{}, err
		}
		if used > 0 {
			return outcome{}, refuse(CodeInUse, fmt.Sprintf("Capacity profile %q is used by %d outbound profile(s): delete them or give them another capacity profile first.", cp.Name, used), "id")
		}
		// No outbound profile uses it, so no ability changes; but a blocker
		// message may say the agent is in no capacity profile now.
		if err := t.touch(KindCapacityProfile, cp.ID); err != nil {
			return outcome{}, err
		}
		// Its memberships go with it (ON DELETE CASCADE).
		if err := t.tx.Delete(cp).Error; err != nil {
			return outcome{}, fmt.Errorf("delete capacity profile: %w", err)
		}
		return outcome{target: GlobalID(KindCapacityProfile, cp.ID), details: map[string]any{"name": cp.Name}}, nil
	})
}

// CapacityProfileMembersInput is the input of AddAgentsToCapacityProfile
// and RemoveAgentsFromCapacityProfile.
type CapacityProfileMembersInput struct {
	CapacityProfileID int64
	AgentIDs          []int64
}

// AddAgentsToCapacityProfile puts the agents in the capacity profile;
// those already in it stay. Refusals: INVALID_INPUT, NOT_FOUND.
func (s *Service) AddAgentsToCapacityProfile(ctx context.Context, actor Actor, in CapacityProfileMembersInput) (*models.CapacityProfile, error) {
	return s.changeCapacityMembers(ctx, actor, "addAgentsToCapacityProfile", in, true)
}

// RemoveAgentsFromCapacityProfile takes the agents out of the capacity
// profile; agents not in it are ignored. Refusals: INVALID_INPUT, NOT_FOUND.
func (s *Service) RemoveAgentsFromCapacityProfile(ctx context.Context, actor Actor, in CapacityProfileMembersInput) (*models.CapacityProfile, error) {
	return s.changeCapacityMembers(ctx, actor, "removeAgentsFromCapacityProfile", in, false)
}

func (s *Service) changeCapacityMembers(ctx context.Context, actor Actor, action string, in CapacityProfileMembersInput, add bool) (*models.CapacityProfile, error) {
	if err := checkIDList(in.AgentIDs, "agentIds"); err != nil {
		return nil, err
	}
	var cp *models.CapacityProfile
	err := s.run(ctx, actor, action, func(t *txn) (outcome, error) {
		var err error
		if cp, err = find[models.CapacityProfile](t, in.CapacityProfileID, "capacity profile", "capacityProfileId"); err != nil {
			return outcome{}, err
		}
		if _, err := findAgents(t, in.AgentIDs, "agentIds"); err != nil {
			return outcome{}, err
		}
		n, err := changeMembers(t, "capacity_profile_members", "capacity_profile_id", cp.ID, in.AgentIDs, add)
		if err != nil {
			return outcome{}, err
		}
		if n > 0 {
			if err := t.touch(KindAgent, in.AgentIDs...); err != nil {
				return outcome{}, err
			}
		}
		return outcome{target: GlobalID(KindCapacityProfile, cp.ID), details: map[string]any{"agents": globalIDs(KindAgent, in.AgentIDs), "changed": n}}, nil
	})
	if err != nil {
		return nil, err
	}
	return cp, nil
}
