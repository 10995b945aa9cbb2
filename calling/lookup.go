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
