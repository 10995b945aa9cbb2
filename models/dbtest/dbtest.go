package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-sql-driver/mysql"
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
// TEST_MYSQL_URL's server and returns its URL; the database is dropped
// when tb ends.
func createMySQLDatabase(tb testing.TB) string {
	tb.Helper()
	base := MySQLURL()
	if base == "" {
		tb.Skip("TEST_MYSQL_URL is not set: MySQL test skipped")
	}
	name := databaseName(tb)
	created, err := CreateMySQLDatabase(base, name)
	if err != nil {
		tb.Fatalf("TEST_MYSQL_URL: %v", err)
	}
	tb.Cleanup(func() {
		if err := dropMySQLDatabase(base, name); err != nil {
			tb.Logf("drop test database %s: %v", name, err)
		}
	})
	return created
}

// CreateMySQLDatabase creates the empty database name on the server of
// base (a mysql:// URL whose database must exist: it is where the
// connection starts) and returns the URL of the new database. Its errors
// say which part of base is at fault: the server does not answer, it
// refuses the user, the named database does not exist, or the user may
// not create databases.
func CreateMySQLDatabase(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	dsn, err := models.MySQLDSN(base)
	if err != nil {
		return "", err
	}
	admin, err := sql.Open("mysql", dsn)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		return "", explainMySQLError(err, u)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// dropMySQLDatabase drops the database name on the server of base.
func dropMySQLDatabase(base, name string) error {
	dsn, err := models.MySQLDSN(base)
	if err != nil {
		return err
	}
	admin, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer admin.Close()
	_, err = admin.Exec("DROP DATABASE IF EXISTS `" + name + "`")
	return err
}

// MySQL server error numbers that explainMySQLError names.
const (
	erDBAccessDenied  = 1044 // the user may not use or create that database
	erAccessDenied    = 1045 // unknown user or wrong password
	erBadDB           = 1049 // unknown database
	erSpecificAccess  = 1227 // a privilege is missing
	erAccessDeniedNoP = 1698 // the user may not log in this way (e.g. unix_socket only)
)

// explainMySQLError says what is wrong with the URL u whose server
// answered err, and what to do.
func explainMySQLError(err error, u *url.URL) error {
	host, user, dbName := u.Host, u.User.Username(), strings.TrimPrefix(u.Path, "/")
	var my *mysql.MySQLError
	var netErr net.Error
	switch {
	case errors.As(err, &my) && my.Number == erBadDB:
		return fmt.Errorf("the database %q that it names does not exist on %s: the named database must exist "+
			"(each test connects to it, then creates and drops a database of its own). "+
			"Create it (mysql -h%s -P%s -u%s -e 'CREATE DATABASE `%s`') or name one that exists, "+
			"e.g. mysql://root@127.0.0.1:3306/test: %w", dbName, host, u.Hostname(), portOf(u), user, dbName, err)
	case errors.As(err, &my) && (my.Number == erAccessDenied || my.Number == erAccessDeniedNoP):
		return fmt.Errorf("the server at %s refuses user %q: check the user and password of the URL: %w", host, user, err)
	case errors.As(err, &my) && (my.Number == erDBAccessDenied || my.Number == erSpecificAccess):
		return fmt.Errorf("user %q may not create databases on %s (each test creates and drops one): "+
			"grant it CREATE and DROP, or use another user: %w", user, host, err)
	case errors.As(err, &netErr):
		return fmt.Errorf("nothing answers at %s: is MariaDB (or MySQL) running there? (.ci/mariadb starts it): %w", host, err)
	default:
		return fmt.Errorf("create a test database on %s: %w", host, err)
	}
}

// portOf returns the port of u, 3306 when it names none.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return "3306"
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

// Counter counts the SQL statements run on behalf of one piece of work:
// those whose context carries it (Counter.Context). Statements of other
// requests and of background work (the webhook dispatcher, the
// subscription feed) on the same database are not counted.
type Counter struct{ n atomic.Int64 }

// counterKey is the context key of a Counter.
type counterKey struct{}

// Context returns ctx marked so that the statements run with it, and with
// any context derived from it, count on c.
func (c *Counter) Context(ctx context.Context) context.Context {
	return context.WithValue(ctx, counterKey{}, c)
}

// Count returns the number of statements counted since the counter was
// made or last reset.
func (c *Counter) Count() int64 { return c.n.Load() }

// Reset sets the count to zero.
func (c *Counter) Reset() { c.n.Store(0) }

// CountStatements makes every statement gorm runs on dbs (queries,
// inserts, updates, deletes, raw SQL) add one to the Counter its context
// carries, if any. A pool given twice (models.DB.Pool shares SQLite's) is
// hooked once. Call it before anything else uses dbs: gorm's callbacks may
// not be registered while another goroutine runs statements.
func CountStatements(tb testing.TB, dbs ...*models.DB) {
	tb.Helper()
	inc := func(tx *gorm.DB) {
		if tx.Statement.Context == nil {
			return
		}
		if c, ok := tx.Statement.Context.Value(counterKey{}).(*Counter); ok {
			c.n.Add(1)
		}
	}
	seen := map[*gorm.DB]bool{}
	for _, db := range dbs {
		if seen[db.DB] {
			continue
		}
		seen[db.DB] = true
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
	}
}
