// Package dbtest opens a fresh, migrated database for a test: a SQLite
// file in the test's temporary directory, or, when TEST_MYSQL_URL is set
// (mysql://root@127.0.0.1:3306/test), a database of its own on that MySQL
// server, dropped when the test ends. Tests can then run in parallel.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	_ "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"

	"outdial/models"
)

// MySQLURL returns TEST_MYSQL_URL, or "" when MySQL tests are not wanted.
func MySQLURL() string { return os.Getenv("TEST_MYSQL_URL") }

// Open returns a new, migrated database for tb, closed (and on MySQL
// dropped) when tb ends.
func Open(tb testing.TB) *models.DB {
	tb.Helper()
	if MySQLURL() != "" {
		return OpenMySQL(tb)
	}
	return OpenSQLite(tb)
}

// URL returns a database URL for a new, empty database that a separate
// process (a server under test) can open; it is dropped when tb ends.
func URL(tb testing.TB) string {
	tb.Helper()
	if MySQLURL() != "" {
		return createMySQLDatabase(tb)
	}
	return "sqlite:" + filepath.Join(tb.TempDir(), "outdial.db")
}

// OpenSQLite returns a new, migrated SQLite database in a temporary file.
func OpenSQLite(tb testing.TB) *models.DB {
	tb.Helper()
	return openURL(tb, "sqlite:"+filepath.Join(tb.TempDir(), "outdial.db"))
}

// OpenMySQL returns a new, migrated database on TEST_MYSQL_URL's server.
// It skips the test when TEST_MYSQL_URL is unset, and fails it (never
// skips) when the server cannot be reached.
func OpenMySQL(tb testing.TB) *models.DB {
	tb.Helper()
	return openURL(tb, createMySQLDatabase(tb))
}

func openURL(tb testing.TB, rawURL string) *models.DB {
	tb.Helper()
	db, err := models.Open(rawURL)
	if err != nil {
		tb.Fatalf("open test database: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		tb.Fatalf("migrate test database: %v", err)
	}
	return db
}

var seq atomic.Int64

// createMySQLDatabase creates an empty database named after the test on
// TEST_MYSQL_URL's server and returns its URL.
func createMySQLDatabase(tb testing.TB) string {
	tb.Helper()
	base := MySQLURL()
	if base == "" {
		tb.Skip("TEST_MYSQL_URL is not set: MySQL test skipped")
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("TEST_MYSQL_URL: %v", err)
	}
	dsn, err := models.MySQLDSN(base)
	if err != nil {
		tb.Fatalf("TEST_MYSQL_URL: %v", err)
	}
	admin, err := sql.Open("mysql", dsn)
	if err != nil {
		tb.Fatalf("TEST_MYSQL_URL: %v", err)
	}
	defer admin.Close()
	name := databaseName(tb)
	if _, err := admin.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		tb.Fatalf("create MySQL test database (is MariaDB running at %s?): %v", u.Host, err)
	}
	tb.Cleanup(func() {
		admin, err := sql.Open("mysql", dsn)
		if err != nil {
			return
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS `" + name + "`"); err != nil {
			tb.Logf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// databaseName returns a unique database name that shows which test made it.
func databaseName(tb testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '_'
	}, tb.Name())
	if len(clean) > 30 {
		clean = clean[:30]
	}
	return fmt.Sprintf("t_%s_%d_%s", clean, seq.Add(1), hex.EncodeToString(b[:]))
}

// Counter counts the SQL statements a database runs.
type Counter struct{ n atomic.Int64 }

// Count returns the number of statements run since the counter was made
// or last reset.
func (c *Counter) Count() int64 { return c.n.Load() }

// Reset sets the count to zero.
func (c *Counter) Reset() { c.n.Store(0) }

// CountStatements installs a Counter on db: every statement gorm runs
// (queries, inserts, updates, deletes, raw SQL) adds one.
func CountStatements(tb testing.TB, db *models.DB) *Counter {
	tb.Helper()
	c := &Counter{}
	inc := func(*gorm.DB) { c.n.Add(1) }
	cb := db.Callback()
	name := fmt.Sprintf("dbtest:count:%d", seq.Add(1))
	for _, err := range []error{
		cb.Query().After("gorm:query").Register(name, inc),
		cb.Create().After("gorm:create").Register(name, inc),
		cb.Update().After("gorm:update").Register(name, inc),
		cb.Delete().After("gorm:delete").Register(name, inc),
		cb.Row().After("gorm:row").Register(name, inc),
		cb.Raw().After("gorm:raw").Register(name, inc),
	} {
		if err != nil {
			tb.Fatalf("install statement counter: %v", err)
		}
	}
	return c
}
