package dbtest

import (
	"context"
	"testing"

	"outdial/models"
)

// Statement is one SQL statement with its arguments.
type Statement struct {
	SQL  string
	Args []any
}

// AtVersion returns the URL of a new database (as URL gives) migrated only
// to version, holding the rows that statements write: the data an older
// server left, for tests of what a newer one does with it.
func AtVersion(tb testing.TB, version int64, statements ...Statement) string {
	tb.Helper()
	url := URL(tb)
	db, err := models.Open(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateTo(context.Background(), version); err != nil {
		tb.Fatal(err)
	}
	for _, s := range statements {
		if err := db.Exec(s.SQL, s.Args...).Error; err != nil {
			tb.Fatalf("%s: %v", s.SQL, err)
		}
	}
	return url
}
