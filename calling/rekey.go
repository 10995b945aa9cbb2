package calling

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// keyedColumn is a text column with its key column beside it (names.Key of
// the text). Unique ones hold names that must differ: what names the rows
// in messages.
type keyedColumn struct {
	table, text, key string
	unique           bool
	what             string
}

// keyedColumns are every stored key.
var keyedColumns = []keyedColumn{
	{"queues", "name", "name_key", true, "queues"},
	{"capacity_profiles", "name", "name_key", true, "capacity profiles"},
	{"outbound_profiles", "name", "name_key", true, "outbound profiles"},
	{"api_tokens", "name", "name_key", true, "API tokens"},
	{"agents", "email", "email_key", true, "agents"},
	{"agents", "name", "name_key", false, "agents"},
	{"queues", "description", "description_key", false, "queues"},
	{"phone_numbers", "label", "label_key", false, "phone numbers"},
}

// ErrNameCollision is wrapped by RekeyNames's error when existing rows
// share a key that must be unique.
var ErrNameCollision = errors.New("rows that must have different names have the same name")

// RekeyNames recomputes every stored key from its text under the rule of
// package names, in one transaction, so that rows written under an older
// rule (or before migration 00004 added a key) are found and kept unique as
// new ones are. The server calls it at start, after migrating. When two
// rows that must differ (queue, capacity profile, outbound profile and API
// token names, agent emails) have the same key, it changes nothing and
// returns an error wrapping ErrNameCollision that names every such pair
// and how to resolve it. It writes an audit entry (action
// recomputeNameKeys) only when a key changed.
func (s *Service) RekeyNames(ctx context.Context) error {
	err := s.run(ctx, Actor{Name: "system"}, "recomputeNameKeys", func(t *txn) (outcome, error) {
		// It runs on rows an older version wrote, whose abilities
		// CompleteAbilities derives next: the ability check waits for that.
		t.unchecked = true
		changed := map[string]int{}
		var collisions []string
		for _, col := range keyedColumns {
			n, clash, err := t.rekey(col)
			if err != nil {
				return outcome{}, err
			}
			collisions = append(collisions, clash...)
			if n > 0 {
				changed[col.table+"."+col.key] = n
			}
		}
		if len(collisions) > 0 {
			return outcome{}, fmt.Errorf("%w:\n  %s\nRename or delete one row of each pair (with SQL: the server does not start until then; keys are recomputed at the next start) and start again",
				ErrNameCollision, strings.Join(collisions, "\n  "))
		}
		if len(changed) == 0 {
			return outcome{}, errUnchanged
		}
		s.log.Info("name keys recomputed", "changed", changed)
		return outcome{details: map[string]any{"changedKeys": changed}}, nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// keyedRow is one row of a keyed column.
type keyedRow struct {
	ID        int64
	TextValue *string
	KeyValue  *string
}

// rekey recomputes the keys of one column and returns how many changed and,
// for a unique column, a sentence per pair of rows whose keys are equal.
func (t *txn) rekey(col keyedColumn) (int, []string, error) {
	var rows []keyedRow
	err := t.tx.Table(col.table).Select(fmt.Sprintf("id, %s AS text_value, %s AS key_value", col.text, col.key)).
		Order("id").Scan(&rows).Error
	if err != nil {
		return 0, nil, fmt.Errorf("read %s.%s: %w", col.table, col.key, err)
	}
	first := map[string]keyedRow{}
	var clash []string
	changes := map[int64]*string{}
	for _, r := range rows {
		key := keyOf(r.TextValue)
		if col.unique && key != nil {
			if other, dup := first[*key]; dup {
				clash = append(clash, fmt.Sprintf("%s %d (%s %s) and %d (%s %s) have the same %s under the name rule (case, character width, accent encoding, invisible characters and white space do not count)",
					col.what, other.ID, col.text, quote(*other.TextValue), r.ID, col.text, quote(*r.TextValue), col.text))
			} else {
				first[*key] = r
			}
		}
		if !samePtr(key, r.KeyValue) {
			changes[r.ID] = key
		}
	}
	if len(clash) > 0 {
		return 0, clash, nil
	}
	return len(changes), nil, t.writeKeys(col, changes)
}

// quote quotes s for a message; when s holds characters beyond ASCII it
// adds the ASCII form, which tells apart texts that look alike ("Café" =
// "Caf\u00e9" and "Café" = "Cafe\u0301").
func quote(s string) string {
	q, a := strconv.Quote(s), strconv.QuoteToASCII(s)
	if q == a {
		return q
	}
	return q + " = " + a
}

func samePtr(a, b *string) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// keyBatch bounds the rows of one UPDATE of writeKeys.
const keyBatch = 500

// writeKeys sets the key column of the rows in changes: one UPDATE per
// keyBatch rows.
func (t *txn) writeKeys(col keyedColumn, changes map[int64]*string) error {
	ids := make([]int64, 0, len(changes))
	for id := range changes {
		ids = append(ids, id)
	}
	ids = uniqueSorted(ids)
	for start := 0; start < len(ids); start += keyBatch {
		batch := ids[start:min(len(ids), start+keyBatch)]
		var sb strings.Builder
		args := make([]any, 0, 2*len(batch)+1)
		for _, id := range batch {
			sb.WriteString(" WHEN ? THEN ?")
			args = append(args, id, changes[id])
		}
		args = append(args, batch)
		q := fmt.Sprintf("UPDATE %s SET %s = CASE id%s END WHERE id IN ?", col.table, col.key, sb.String())
		if err := t.tx.Exec(q, args...).Error; err != nil {
			return fmt.Errorf("write %s.%s: %w", col.table, col.key, err)
		}
	}
	return nil
}
