package dbtest

import (
	"fmt"
	"strings"
	"testing"

	"outdial/models"
)

// TextContaining returns "table.column (needle, n rows)" for every text
// column of every table of db in which some row contains one of needles
// (lower case), compared in lower case: where a text is still stored.
func TextContaining(tb testing.TB, db *models.DB, needles ...string) []string {
	tb.Helper()
	type column struct{ Tbl, Col string }
	var cols []column
	if db.Dialect == models.MySQL {
		err := db.Raw(`SELECT table_name AS tbl, column_name AS col FROM information_schema.columns
			WHERE table_schema = DATABASE() AND data_type IN ('char', 'varchar', 'text', 'mediumtext', 'longtext', 'tinytext')`).
			Scan(&cols).Error
		if err != nil {
			tb.Fatal(err)
		}
	} else {
		var tables []string
		if err := db.Raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").Scan(&tables).Error; err != nil {
			tb.Fatal(err)
		}
		for _, table := range tables {
			var info []struct{ Name, Type string }
			if err := db.Raw(fmt.Sprintf("SELECT name, type FROM pragma_table_info('%s')", table)).Scan(&info).Error; err != nil {
				tb.Fatal(err)
			}
			for _, c := range info {
				if ty := strings.ToUpper(c.Type); strings.Contains(ty, "TEXT") || strings.Contains(ty, "CHAR") {
					cols = append(cols, column{table, c.Name})
				}
			}
		}
	}
	if len(cols) < 20 {
		tb.Fatalf("found %d text columns; the query over the tables is wrong", len(cols))
	}
	var hits []string
	for _, c := range cols {
		for _, n := range needles {
			var count int64
			q := fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE LOWER(%s) LIKE ?", c.Tbl, c.Col)
			if err := db.Raw(q, "%"+n+"%").Scan(&count).Error; err != nil {
				tb.Fatalf("%s: %v", q, err)
			}
			if count > 0 {
				hits = append(hits, fmt.Sprintf("%s.%s (%q, %d rows)", c.Tbl, c.Col, n, count))
			}
		}
	}
	return hits
}
