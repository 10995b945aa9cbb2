package dbtest

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"outdial/models"
)

// SnapshotTables are the tables a refused command must leave untouched:
// all of them but api_tokens, whose last_used_at records reads.
var SnapshotTables = []string{
	"phone_numbers", "queues", "capacity_profiles", "outbound_profiles", "outbound_profile_numbers",
	"agents", "queue_members", "capacity_profile_members", "calling_abilities", "agent_blockers",
	"agent_warnings", "calling_ability_versions",
	"config_revisions", "audit_entries", "webhook_endpoints", "webhook_endpoint_agents",
	"webhook_events", "webhook_deliveries", "webhook_attempts",
}

// Snapshot reads every row of every table of SnapshotTables, each row as
// text, sorted: two snapshots are equal (reflect.DeepEqual) when nothing
// was written in between.
func Snapshot(tb testing.TB, db *models.DB) map[string][]string {
	tb.Helper()
	out := map[string][]string{}
	for _, table := range SnapshotTables {
		rows, err := db.Raw("SELECT * FROM " + table).Rows()
		if err != nil {
			tb.Fatalf("snapshot %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatalf("snapshot %s: %v", table, err)
			}
			text := make([]string, len(vals))
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				text[i] = fmt.Sprint(v)
			}
			out[table] = append(out[table], fmt.Sprint(text))
		}
		if err := rows.Err(); err != nil {
			tb.Fatalf("snapshot %s: %v", table, err)
		}
		rows.Close()
		sort.Strings(out[table])
	}
	return out
}

// DiffSnapshots names the tables whose rows differ between two snapshots,
// with their row counts, one line each ("" when none differ).
func DiffSnapshots(a, b map[string][]string) string {
	var sb strings.Builder
	for _, table := range SnapshotTables {
		if !reflect.DeepEqual(a[table], b[table]) {
			fmt.Fprintf(&sb, "%s: %d rows before, %d after\n", table, len(a[table]), len(b[table]))
		}
	}
	return sb.String()
}
