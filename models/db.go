package models

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"
	mysqldriver "gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

//go:embed migrations
var migrations embed.FS

// Dialect names the SQL dialect of an open database.
type Dialect string

// The supported dialects.
const (
	SQLite Dialect = "sqlite"
	MySQL  Dialect = "mysql"
)

// DB is an open database: gorm on top of one connection pool.
type DB struct {
	*gorm.DB
	Dialect Dialect
}

// Now is the clock of stored timestamps: UTC, to the microsecond (the
// precision both databases keep).
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Open opens the database named by rawURL: "sqlite:<path>",
// "sqlite::memory:" or "mysql://user:pass@host:port/dbname". It does not
// migrate; call Migrate.
func Open(rawURL string) (*DB, error) {
	cfg := &gorm.Config{
		Logger:                                   logger.Discard,
		NowFunc:                                  Now,
		TranslateError:                           true,
		DisableForeignKeyConstraintWhenMigrating: true,
	}
	switch {
	case strings.HasPrefix(rawURL, "sqlite:"):
		return openSQLite(strings.TrimPrefix(rawURL, "sqlite:"), cfg)
	case strings.HasPrefix(rawURL, "mysql://"):
		return openMySQL(rawURL, cfg)
	default:
		return nil, fmt.Errorf("database URL %q: want sqlite:<path>, sqlite::memory: or mysql://user:pass@host:port/dbname", RedactURL(rawURL))
	}
}

// openSQLite opens a SQLite file (or memory) with WAL, a busy timeout,
// foreign keys and immediate write transactions on a single connection, so
// that writers never fail with SQLITE_BUSY and ":memory:" is one database.
func openSQLite(path string, cfg *gorm.Config) (*DB, error) {
	if path == "" {
		return nil, errors.New("database URL sqlite: needs a path, e.g. sqlite:outdial.db")
	}
	dsn := path + "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate&_time_format=sqlite"
	if path != ":memory:" {
		dsn += "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	}
	g, err := gorm.Open(sqlite.Open(dsn), cfg)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(1)
	sqlDB.SetMaxIdleConns(1)
	sqlDB.SetConnMaxLifetime(0)
	return &DB{DB: g, Dialect: SQLite}, nil
}

// MySQLDSN turns mysql://user:pass@host:port/dbname?params into the
// go-sql-driver form, with the settings Outdial relies on: parseTime, UTC,
// utf8mb4, client-side interpolation (one round trip per statement).
func MySQLDSN(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("database URL: %w", err)
	}
	dbName := strings.TrimPrefix(u.Path, "/")
	if u.Host == "" || dbName == "" {
		return "", errors.New("database URL: want mysql://user:pass@host:port/dbname")
	}
	c := mysql.NewConfig()
	c.User = u.User.Username()
	c.Passwd, _ = u.User.Password()
	c.Net = "tcp"
	c.Addr = u.Host
	if u.Port() == "" {
		c.Addr = u.Host + ":3306"
	}
	c.DBName = dbName
	c.ParseTime = true
	c.Loc = time.UTC
	c.Collation = "utf8mb4_bin"
	c.InterpolateParams = true
	c.Params = map[string]string{"time_zone": "'+00:00'"}
	for k, vs := range u.Query() {
		c.Params[k] = vs[len(vs)-1]
	}
	return c.FormatDSN(), nil
}

func openMySQL(rawURL string, cfg *gorm.Config) (*DB, error) {
	dsn, err := MySQLDSN(rawURL)
	if err != nil {
		return nil, err
	}
	if dsn, err = withReadCommitted(dsn); err != nil {
		return nil, fmt.Errorf("open mysql %s: %w", RedactURL(rawURL), err)
	}
	g, err := gorm.Open(mysqldriver.Open(dsn), cfg)
	if err != nil {
		return nil, fmt.Errorf("open mysql %s: %w", RedactURL(rawURL), err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(32)
	sqlDB.SetMaxIdleConns(32)
	sqlDB.SetConnMaxLifetime(3 * time.Minute)
	return &DB{DB: g, Dialect: MySQL}, nil
}

// withReadCommitted adds READ COMMITTED isolation to every connection of
// dsn. The session variable is tx_isolation on MariaDB before 11.1 and
// transaction_isolation elsewhere, so it asks the server which it has.
func withReadCommitted(dsn string) (string, error) {
	probe, err := sql.Open("mysql", dsn)
	if err != nil {
		return "", err
	}
	defer probe.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	variable := "transaction_isolation"
	var name, value string
	err = probe.QueryRowContext(ctx, "SHOW VARIABLES LIKE 'transaction_isolation'").Scan(&name, &value)
	if errors.Is(err, sql.ErrNoRows) {
		variable = "tx_isolation"
	} else if err != nil {
		return "", err
	}
	c, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", err
	}
	c.Params[variable] = "'READ-COMMITTED'"
	return c.FormatDSN(), nil
}

// RedactURL hides the password of a database URL for messages and logs.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Close closes the connection pool.
func (db *DB) Close() error {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

func (db *DB) provider() (*goose.Provider, error) {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	if db.Dialect == MySQL {
		dialect = goose.DialectMySQL
	}
	fsys, err := fs.Sub(migrations, "migrations/"+string(db.Dialect))
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if db.Dialect == MySQL {
		opts = append(opts, goose.WithSessionLocker(mysqlLocker{}))
	}
	return goose.NewProvider(dialect, sqlDB, fsys, opts...)
}

// Migrate applies every pending migration. On MySQL, replicas starting at
// once take turns (GET_LOCK), so each migration runs exactly once.
func (db *DB) Migrate(ctx context.Context, log *slog.Logger) error {
	p, err := db.provider()
	if err != nil {
		return err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		log.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// MigrateTo migrates up or down to version (0: no table at all), for
// tests of a migration and of what the server does with data written by
// an older version.
func (db *DB) MigrateTo(ctx context.Context, version int64) error {
	p, err := db.provider()
	if err != nil {
		return err
	}
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("migrate to %d: %w", version, err)
	}
	if version < current {
		_, err = p.DownTo(ctx, version)
	} else {
		_, err = p.UpTo(ctx, version)
	}
	if err != nil {
		return fmt.Errorf("migrate to %d: %w", version, err)
	}
	return nil
}

// Ready reports an error unless the database answers and every migration
// is applied.
func (db *DB) Ready(ctx context.Context) error {
	p, err := db.provider()
	if err != nil {
		return err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return err
	}
	if pending {
		return errors.New("migrations pending")
	}
	return nil
}

// mysqlLocker serialises migrations between processes with a named MySQL
// lock held by goose's session connection.
type mysqlLocker struct{}

const migrationLock = "outdial_migrations"

func (mysqlLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 300)", migrationLock).Scan(&got); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	if got.Int64 != 1 {
		return errors.New("migration lock: timed out after 300s waiting for another process")
	}
	return nil
}

func (mysqlLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, "SELECT RELEASE_LOCK(?)", migrationLock)
	return err
}
