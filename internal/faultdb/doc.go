// Package faultdb gives a fault test a MariaDB server of its own — its own
// data directory under the test's temporary directory, its own port,
// started with mariadb-install-db and mariadbd --no-defaults — that the
// test may kill (SIGKILL), restart on the same data, pause (SIGSTOP) and
// resume (SIGCONT), and a small filesystem (a tmpfs of a few MiB) to fill.
// It never touches another MariaDB (the shared one on port 3306 stays
// untouched).
//
// Both need root (mariadbd runs as --user=root, mount needs
// CAP_SYS_ADMIN) and MariaDB's binaries. Require fails a test that lacks
// them when CI is set (CI must run every fault test) and skips it
// otherwise, saying what is missing.
package faultdb
