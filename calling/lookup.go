package calling

import (
	"errors"
	"fmt"
	"strconv"

	"gorm.io/gorm"

	"outdial/models"
)

// find loads the row of type T with primary key id in t's transaction, or
// returns a NOT_FOUND refusal for the input field at path.
func find[T any](t *txn, id int64, what string, path ...string) (*T, error) {
	var row T
	err := t.tx.Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, refuse(CodeNotFound, fmt.Sprintf("No %s has this ID.", what), path...)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s %d: %w", what, id, err)
	}
	return &row, nil
}

// findAgents loads the agents with the given IDs (one statement) or refuses
// with NOT_FOUND naming the index of the first unknown one in the input
// list at path.
func findAgents(t *txn, ids []int64, path ...string) ([]models.Agent, error) {
	var agents []models.Agent
	if err := t.tx.Where("id IN ?", uniqueSorted(ids)).Find(&agents).Error; err != nil {
		return nil, fmt.Errorf("load agents: %w", err)
	}
	found := make(map[int64]bool, len(agents))
	for _, a := range agents {
		found[a.ID] = true
	}
	for i, id := range ids {
		if !found[id] {
			return nil, refuse(CodeNotFound, "No agent has this ID.", append(path, strconv.Itoa(i))...)
		}
	}
	return agents, nil
}

// count runs a COUNT(*) of the rows of table that match where.
func count(t *txn, table string, where string, args ...any) (int64, error) {
	var n int64
	if err := t.tx.Table(table).Where(where, args...).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	return n, nil
}

// pluckIDs runs a query that selects one integer column.
func pluckIDs(t *txn, query string, args ...any) ([]int64, error) {
	var ids []int64
	if err := t.tx.Raw(query, args...).Scan(&ids).Error; err != nil {
		return nil, fmt.Errorf("select agent IDs: %w", err)
	}
	return ids, nil
}

// agentsInCapacityProfiles returns the members of the capacity profiles.
func (t *txn) agentsInCapacityProfiles(ids ...int64) ([]int64, error) {
	return pluckIDs(t, "SELECT DISTINCT agent_id FROM capacity_profile_members WHERE capacity_profile_id IN ?", ids)
}

// agentsWithPersonalNumbers returns every agent that holds a personal number.
func (t *txn) agentsWithPersonalNumbers() ([]int64, error) {
	return pluckIDs(t, "SELECT id FROM agents WHERE personal_number_id IS NOT NULL")
}

// agentsUsingNumber returns the agents whose ability can depend on the
// number: members of the capacity profiles of the outbound profiles that
// have it, and the agent holding it as a personal number.
func (t *txn) agentsUsingNumber(numberID int64) ([]int64, error) {
	return pluckIDs(t, `SELECT m.agent_id FROM capacity_profile_members m
		JOIN outbound_profiles p ON p.capacity_profile_id = m.capacity_profile_id
		JOIN outbound_profile_numbers n ON n.outbound_profile_id = p.id
		WHERE n.phone_number_id = ?
		UNION SELECT id FROM agents WHERE personal_number_id = ?`, numberID, numberID)
}
