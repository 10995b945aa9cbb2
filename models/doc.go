// Package models holds the gorm rows of Outdial's tables, opens the
// database (SQLite or MySQL/MariaDB) and applies the embedded, versioned
// migrations. Rows are storage only: the rules live in package calling, the
// GraphQL types in graph/model.
//
// Open takes a DATABASE_URL (sqlite:<path>, sqlite::memory: or
// mysql://user:pass@host:port/dbname) and returns a pool tuned for that
// dialect: SQLite in WAL mode with a busy timeout, foreign keys and one
// writer connection; MySQL with parseTime, bounded connection lifetimes and
// lock waits. Migrations are goose files, one set per dialect
// (migrations/sqlite, migrations/mysql) numbered alike; on MySQL several
// processes starting at once serialise them with a named lock. faults.go
// classifies database failures (unreachable, locked, full, deadlock) so
// that callers can retry or answer SERVICE_UNAVAILABLE. Package dbtest
// gives each test a database of its own on SQLite or, with
// TEST_MYSQL_URL, on MariaDB (docs/design.md, "Databases").
package models
