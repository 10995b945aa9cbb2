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
	"path/filepath"
	"strconv"
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

// DB is an open database: gorm on top of one connection pool (on a SQLite
// file, the one writer's connection, and a read-only one beside it: see
// Reader).
type DB struct {
	*gorm.DB
	Dialect Dialect
	url     string
	opts    Options
	// shared: Pool returned this same SQLite connection; Close leaves it
	// open for its owner.
	shared bool
	// reader: on a SQLite file, a read-only connection of its own (see
	// Reader); nil elsewhere.
	reader *DB
}

// Options tunes how a database is opened. The zero value of every field
// means its default.
type Options struct {
	// LockWait bounds how long one statement waits for a lock, in whole
	// seconds (rounded up): MySQL's innodb_lock_wait_timeout (row locks)
	// and lock_wait_timeout (table and metadata locks, e.g. LOCK TABLES),
	// SQLite's busy timeout. Default DefaultLockWait. A statement that
	// waits longer fails with a LockTimeout fault.
	//
	// It also bounds how long the locks of a stalled client last: on
	// MariaDB, a transaction left idle for idleTransaction(LockWait) (a
	// process paused or hung between two statements) has its connection
	// closed and is rolled back (idle_transaction_timeout), so that its
	// locks do not stop the other processes for longer. Outdial never
	// leaves a transaction idle on purpose.
	LockWait time.Duration
	// MaxConns bounds the connections of the pool on MySQL; default
	// DefaultMaxConns. SQLite always has one writer's connection (and,
	// on a file, a read-only one: see Reader).
	MaxConns int
}

// Defaults of Options.
const (
	DefaultLockWait = 5 * time.Second
	DefaultMaxConns = 32
)

// dialTimeout bounds the TCP connect to a MySQL server; the handshake that
// follows is bounded by the caller's context.
const dialTimeout = 5 * time.Second

func (o Options) withDefaults() Options {
	if o.LockWait <= 0 {
		o.LockWait = DefaultLockWait
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	return o
}

// lockWaitSeconds is LockWait in whole seconds, rounded up, at least 1.
func (o Options) lockWaitSeconds() int64 {
	return max(1, int64((o.LockWait+time.Second-1)/time.Second))
}

// idleTransactionSeconds is how long a transaction may stay idle, in
// seconds: twice the lock wait, at least 10 s (a process starved of CPU
// for a moment keeps its transaction).
func (o Options) idleTransactionSeconds() int64 { return max(10, 2*o.lockWaitSeconds()) }

// Now is the clock of stored timestamps: UTC, to the microsecond (the
// precision both databases keep).
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Open opens the database named by rawURL with the default Options:
// "sqlite:<path>", "sqlite::memory:" or "mysql://user:pass@host:port/dbname".
// It does not migrate; call Migrate.
func Open(rawURL string) (*DB, error) { return OpenWith(rawURL, Options{}) }

// OpenWith opens the database named by rawURL (see Open) with opts.
func OpenWith(rawURL string, opts Options) (*DB, error) {
	opts = opts.withDefaults()
	cfg := &gorm.Config{
		Logger:                                   logger.Discard,
		NowFunc:                                  Now,
		TranslateError:                           true,
		DisableForeignKeyConstraintWhenMigrating: true,
	}
	var db *DB
	var err error
	switch {
	case strings.HasPrefix(rawURL, "sqlite:"):
		db, err = openSQLite(strings.TrimPrefix(rawURL, "sqlite:"), cfg, opts)
	case strings.HasPrefix(rawURL, "mysql://"):
		db, err = openMySQL(rawURL, cfg, opts)
	default:
		return nil, fmt.Errorf("database URL %q: want sqlite:<path>, sqlite::memory: or mysql://user:pass@host:port/dbname", RedactURL(rawURL))
	}
	if err != nil {
		return nil, err
	}
	db.url, db.opts = rawURL, opts
	if db.reader != nil {
		db.reader.url, db.reader.opts = rawURL, opts
	}
	return db, nil
}

// Pool returns a pool of its own, of at most maxConns connections, to the
// same database with the same options, for work that must not wait behind
// the connections of db (or hold them): background work, health checks.
// On SQLite it returns db itself, whose single connection is the one
// writer; closing it then leaves db open.
func (db *DB) Pool(maxConns int) (*DB, error) {
	if db.Dialect == SQLite {
		return &DB{DB: db.DB, Dialect: db.Dialect, url: db.url, opts: db.opts, shared: true, reader: db.reader}, nil
	}
	opts := db.opts
	opts.MaxConns = maxConns
	return OpenWith(db.url, opts)
}

// Reader returns the pool for reads that may take long and need no
// transaction with a write: on a SQLite file, a read-only connection of
// its own (PRAGMA query_only), so that such a read never holds the one
// writer's connection: in WAL mode a reader and the writer run side by
// side, and the reader sees what was committed when its statement began
// (in a transaction, when the transaction first read;
// https://www.sqlite.org/wal.html, "Concurrency"). On MySQL, and on a
// SQLite database in memory, it returns db itself. A write through it
// fails on SQLite ("attempt to write a readonly database").
func (db *DB) Reader() *DB {
	if db.reader != nil {
		return db.reader
	}
	return db
}

// openSQLite opens a SQLite file (or memory) with WAL, a busy timeout and
// foreign keys on a single connection, so that ":memory:" is one database
// and the process has one writer; a file also gets a read-only connection
// (see Reader). The DSN asks for immediate write transactions, but
// glebarez/go-sqlite v1.21.2 reads _txlock only when _time_format is
// absent (applyQueryParams), so they are deferred: within a process the
// one connection serializes them; two processes on one file may see
// SQLITE_BUSY where immediate transactions would wait.
func openSQLite(path string, cfg *gorm.Config, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("database URL sqlite: needs a path, e.g. sqlite:outdial.db")
	}
	both := path + fmt.Sprintf("?_pragma=busy_timeout(%d)", opts.lockWaitSeconds()*1000) + "&_time_format=sqlite"
	writer := both + "&_pragma=foreign_keys(1)&_txlock=immediate"
	if !inMemory(path) {
		writer += "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	}
	g, err := openOneConnection(writer, cfg)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db := &DB{DB: g, Dialect: SQLite}
	if inMemory(path) {
		return db, nil // a second connection would open another, empty database
	}
	// The writer's connection, opened above, has set WAL mode, which the
	// file keeps.
	r, err := openOneConnection(both+"&_pragma=query_only(1)", cfg)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s for reading: %w", path, err)
	}
	db.reader = &DB{DB: r, Dialect: SQLite}
	return db, nil
}

// openOneConnection opens the SQLite DSN dsn on a pool of one connection,
// kept open for the pool's life (a database in memory lives as long as
// its connection).
func openOneConnection(dsn string, cfg *gorm.Config) (*gorm.DB, error) {
	g, err := gorm.Open(sqlite.Open(dsn), cfg)
	if err != nil {
		return nil, err
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(1)
	sqlDB.SetMaxIdleConns(1)
	sqlDB.SetConnMaxLifetime(0)
	return g, nil
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

func openMySQL(rawURL string, cfg *gorm.Config, opts Options) (*DB, error) {
	dsn, err := MySQLDSN(rawURL)
	if err != nil {
		return nil, err
	}
	if dsn, err = withSession(dsn, opts); err != nil {
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
	sqlDB.SetMaxOpenConns(opts.MaxConns)
	sqlDB.SetMaxIdleConns(opts.MaxConns)
	sqlDB.SetConnMaxLifetime(3 * time.Minute)
	return &DB{DB: g, Dialect: MySQL}, nil
}

// withSession sets what every connection of dsn starts with: READ
// COMMITTED isolation, lock waits bounded by opts.LockWait (and, on
// MariaDB, idle transactions), and a dial timeout. The isolation variable
// is tx_isolation on MariaDB before 11.1 and transaction_isolation
// elsewhere, so it asks the server which it has.
func withSession(dsn string, opts Options) (string, error) {
	c, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", err
	}
	c.Timeout = dialTimeout
	if c.Params == nil {
		c.Params = map[string]string{}
	}
	probe, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		return "", err
	}
	defer probe.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	has := func(variable string) (bool, error) {
		var name, value string
		err := probe.QueryRowContext(ctx, "SHOW VARIABLES LIKE '"+variable+"'").Scan(&name, &value)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return err == nil, err
	}
	isolation := "transaction_isolation"
	if ok, err := has(isolation); err != nil {
		return "", err
	} else if !ok {
		isolation = "tx_isolation"
	}
	c.Params[isolation] = "'READ-COMMITTED'"
	wait := strconv.FormatInt(opts.lockWaitSeconds(), 10)
	c.Params["innodb_lock_wait_timeout"] = wait
	c.Params["lock_wait_timeout"] = wait
	if ok, err := has("idle_transaction_timeout"); err != nil { // MariaDB 10.3+
		return "", err
	} else if ok {
		c.Params["idle_transaction_timeout"] = strconv.FormatInt(opts.idleTransactionSeconds(), 10)
	}
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

// Close closes the connection pool and its reader's (unless Pool shared
// them).
func (db *DB) Close() error {
	if db.shared {
		return nil
	}
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}
	err = sqlDB.Close()
	if db.reader != nil {
		err = errors.Join(err, db.reader.Close())
	}
	return err
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

// migrationLockWait bounds a migration's lock waits: its DDL waits for
// the transactions of running replicas, as long as replicas wait for each
// other's migrations (GET_LOCK, 300 s).
const migrationLockWait = 300 * time.Second

// Migrate applies every pending migration. On MySQL, replicas starting at
// once take turns (GET_LOCK), so each migration runs exactly once; the
// migrations run on a pool of their own, whose lock waits are long enough
// for DDL on a busy database.
//
// The version table is created first, under the lock (GetDBVersion takes
// it): goose's Up asks HasPending before it takes the lock, and HasPending
// creates a missing version table without it. On MySQL that CREATE TABLE
// commits before the row of version 0 is inserted, so a replica starting
// beside it could see the table, take the lock first and find no row
// ("missing zero version migration"; pressly/goose#1120). Once the
// provider has made sure of its table, HasPending no longer creates it.
func (db *DB) Migrate(ctx context.Context, log *slog.Logger) error {
	mdb := db
	if db.Dialect == MySQL {
		opts := db.opts
		opts.LockWait, opts.MaxConns = migrationLockWait, 2
		var err error
		if mdb, err = OpenWith(db.url, opts); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer mdb.Close()
	}
	p, err := mdb.provider()
	if err != nil {
		return err
	}
	if _, err := p.GetDBVersion(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
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

// ErrNoSpace is the error Ready reports when the filesystem of a SQLite
// database has less than MinFreeSpace available.
var ErrNoSpace = errors.New("the filesystem of the database is (almost) full")

// MinFreeSpace is the space a SQLite database's filesystem must have
// available for Ready: below it, writes that need a new page soon fail.
const MinFreeSpace = 1 << 20

// Ready reports an error unless the database answers and every migration
// is applied and, for a SQLite file, the database can write: its
// filesystem has MinFreeSpace available (else ErrNoSpace) and a write
// commits (else the write's error: a full disk, a read-only file).
//
// Ready writes nothing. goose's HasPending creates its version table when
// it is missing, without the migration lock; on MySQL that CREATE TABLE
// commits before the row of version 0 is inserted, so a /readyz answered
// while another process migrated a new database made that process's
// migration fail ("missing zero version migration"). A database without
// the table is reported as pending before goose is asked.
func (db *DB) Ready(ctx context.Context) error {
	exists, err := db.hasTable(ctx, versionTable)
	if err != nil {
		return err
	}
	if !exists {
		return errors.New("migrations pending")
	}
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
	if path := db.sqliteFile(); path != "" {
		return db.canWrite(ctx, path)
	}
	return nil
}

// versionTable is the table in which goose records the migrations
// applied (its default name).
const versionTable = "goose_db_version"

// hasTable reports whether the current database has a table called name.
func (db *DB) hasTable(ctx context.Context, name string) (bool, error) {
	q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	if db.Dialect == MySQL {
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
	}
	var n int64
	if err := db.WithContext(ctx).Raw(q, name).Scan(&n).Error; err != nil {
		return false, fmt.Errorf("look for table %s: %w", name, err)
	}
	return n > 0, nil
}

// sqliteFile returns the path of a SQLite database file, "" for MySQL or
// a database in memory.
func (db *DB) sqliteFile() string {
	path, ok := strings.CutPrefix(db.url, "sqlite:")
	if !ok || inMemory(path) {
		return ""
	}
	return path
}

// inMemory reports whether SQLite opens path as a database in memory,
// private to each connection: ":memory:", or the URI filenames "file:"
// and "file::memory:" (https://www.sqlite.org/inmemorydb.html). A path
// with a query of its own ("?mode=memory") does not open: the options
// Outdial sets are a query.
func inMemory(path string) bool {
	return path == ":memory:" || path == "file:" || path == "file::memory:"
}

// canWrite checks that the filesystem of the SQLite file path has space
// and that a write commits: PRAGMA user_version (unused by Outdial) is
// set to a new value, which rewrites the database header through the WAL.
func (db *DB) canWrite(ctx context.Context, path string) error {
	avail, err := availableBytes(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("free space of %s: %w", filepath.Dir(path), err)
	}
	if avail >= 0 && avail < MinFreeSpace {
		return fmt.Errorf("%w: %d bytes available in %s, below %d", ErrNoSpace, avail, filepath.Dir(path), MinFreeSpace)
	}
	probe := time.Now().UnixNano() & 0x7fffffff
	if err := db.WithContext(ctx).Exec(fmt.Sprintf("PRAGMA user_version = %d", probe)).Error; err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	return nil
}

// mysqlLocker serialises migrations between processes with a named MySQL
// lock held by goose's session connection.
type mysqlLocker struct{}

// migrationLock names the lock of the current database: GET_LOCK is
// server-wide, and databases on one server (deployments, or one per test)
// need not wait for each other. MD5 keeps the name within MariaDB's 64
// characters whatever the database's name.
const migrationLock = "CONCAT('outdial_migrations.', MD5(COALESCE(DATABASE(), '')))"

func (mysqlLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK("+migrationLock+", 300)").Scan(&got); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	if got.Int64 != 1 {
		return errors.New("migration lock: timed out after 300s waiting for another process")
	}
	return nil
}

func (mysqlLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, "SELECT RELEASE_LOCK("+migrationLock+")")
	return err
}
