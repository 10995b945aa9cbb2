// Package dbtest opens a fresh, migrated database for a test: a SQLite
// file in the test's temporary directory, or, when TEST_MYSQL_URL is set
// (mysql://root@127.0.0.1:3306/test), a database of its own on that MySQL
// server, dropped when the test ends. Tests can then run in parallel.
package dbtest
