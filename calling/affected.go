package calling

import (
	"fmt"
	"slices"
)

// The refresh rule (docs/domain.md, "Versions and changes"): a command
// recomputes the ability of every agent it can affect. Commands do not
// work that set out themselves: before changing an object they declare it
// with touch, and affectedAgents, one rule per kind of object, works out
// whose ability can depend on it. It is asked twice, when the object is
// touched (the agents it concerned: a deleted queue's members, a moved
// profile's old capacity profile) and once the command's changes are done
// (those it concerns now: a new profile's agents), and refreshTouched
// refreshes the union.

// touch records that the command is about to change the objects of kind
// with ids (agents: their own rows or memberships). Call it before the
// change; for an object created by the command, after creating it.
func (t *txn) touch(kind Kind, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	agents, err := t.affectedAgents(kind, ids)
	if err != nil {
		return err
	}
	t.affected = append(t.affected, agents...)
	if t.touched == nil {
		t.touched = map[Kind][]int64{}
	}
	t.touched[kind] = append(t.touched[kind], ids...)
	return nil
}

// refreshTouched refreshes the agents the touched objects concerned and
// concern now. run calls it once fn is done.
func (t *txn) refreshTouched() error {
	agents := t.affected
	kinds := make([]Kind, 0, len(t.touched))
	for k := range t.touched {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		now, err := t.affectedAgents(k, uniqueSorted(t.touched[k]))
		if err != nil {
			return err
		}
		agents = append(agents, now...)
	}
	return t.refresh(agents)
}

// affectedAgents returns the agents whose ability can depend on the
// objects of kind with ids, as the transaction sees them now:
//
//   - an agent: itself;
//   - a phone number: the agent holding it as a personal number, and the
//     agents of the outbound profiles that have it;
//   - a queue or a capacity profile: its members (warnings name them), and
//     the agents of the outbound profiles that use it (their blockers and
//     caller IDs name it);
//   - an outbound profile: the members of its queue and of its capacity
//     profile, and, when it is the default, every agent holding a personal
//     number (the default governs those numbers).
func (t *txn) affectedAgents(kind Kind, ids []int64) ([]int64, error) {
	var profiles []int64
	var direct []int64
	var err error
	switch kind {
	case KindAgent:
		return ids, nil
	case KindPhoneNumber:
		if direct, err = pluckIDs(t, "SELECT id FROM agents WHERE personal_number_id IN ?", ids); err != nil {
			return nil, err
		}
		profiles, err = pluckIDs(t, "SELECT outbound_profile_id FROM outbound_profile_numbers WHERE phone_number_id IN ?", ids)
	case KindQueue:
		if direct, err = pluckIDs(t, "SELECT agent_id FROM queue_members WHERE queue_id IN ?", ids); err != nil {
			return nil, err
		}
		profiles, err = pluckIDs(t, "SELECT id FROM outbound_profiles WHERE queue_id IN ?", ids)
	case KindCapacityProfile:
		if direct, err = pluckIDs(t, "SELECT agent_id FROM capacity_profile_members WHERE capacity_profile_id IN ?", ids); err != nil {
			return nil, err
		}
		profiles, err = pluckIDs(t, "SELECT id FROM outbound_profiles WHERE capacity_profile_id IN ?", ids)
	case KindOutboundProfile:
		profiles = ids
	default:
		return nil, fmt.Errorf("affected agents: %s cannot change an ability", kind)
	}
	if err != nil {
		return nil, err
	}
	if len(profiles) == 0 {
		return direct, nil
	}
	viaProfiles, err := pluckIDs(t, `SELECT m.agent_id FROM queue_members m JOIN outbound_profiles p ON p.queue_id = m.queue_id WHERE p.id IN ?
		UNION SELECT m.agent_id FROM capacity_profile_members m JOIN outbound_profiles p ON p.capacity_profile_id = m.capacity_profile_id WHERE p.id IN ?
		UNION SELECT a.id FROM agents a WHERE a.personal_number_id IS NOT NULL
			AND EXISTS (SELECT 1 FROM outbound_profiles p WHERE p.id IN ? AND p.default_marker IS NOT NULL)`,
		profiles, profiles, profiles)
	return append(direct, viaProfiles...), err
}

// touchDefault touches the default outbound profile, if there is one:
// call it before another profile takes its place.
func (t *txn) touchDefault() error {
	ids, err := pluckIDs(t, "SELECT id FROM outbound_profiles WHERE default_marker IS NOT NULL")
	if err != nil {
		return err
	}
	return t.touch(KindOutboundProfile, ids...)
}
