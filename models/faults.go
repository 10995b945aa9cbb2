package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	gosqlite "github.com/glebarez/go-sqlite"
	"github.com/go-sql-driver/mysql"
)

// Fault is why a statement failed when the cause is the state of the
// database (or of the caller's deadline), not the statement: what a
// client may retry later rather than a bug to report.
type Fault int

// The faults, from FaultOf.
const (
	// NoFault: err is nil, or a failure the database's state does not
	// explain (a bug, a constraint).
	NoFault Fault = iota
	// Unreachable: the database does not answer (connection refused,
	// broken or timed out, server shutting down, too many connections).
	Unreachable
	// LockTimeout: a lock was not granted in time or a deadlock was
	// broken: MySQL 1205 and 1213, SQLite BUSY and LOCKED. A new
	// transaction may succeed (Retriable).
	LockTimeout
	// DiskFull: the database has no space to write: MySQL 1021 and 1114,
	// SQLite FULL.
	DiskFull
	// StorageFailed: the database cannot write for another reason: a
	// read-only server or file, an I/O error.
	StorageFailed
	// Deadline: the caller's deadline passed first.
	Deadline
	// Canceled: the caller gave up (a client that went away).
	Canceled
)

// String names the fault for logs.
func (f Fault) String() string {
	switch f {
	case Unreachable:
		return "unreachable"
	case LockTimeout:
		return "lock timeout"
	case DiskFull:
		return "disk full"
	case StorageFailed:
		return "storage failed"
	case Deadline:
		return "deadline"
	case Canceled:
		return "canceled"
	default:
		return "none"
	}
}

// SQLite result codes (the primary code is the low byte of an extended
// one): sqlite.org/rescode.html.
const (
	sqliteBusy      = 5
	sqliteLocked    = 6
	sqliteReadOnly  = 8
	sqliteInterrupt = 9
	sqliteIOErr     = 10
	sqliteFull      = 13
	sqliteCantOpen  = 14
)

// mysqlFaults maps MySQL and MariaDB server error numbers to faults
// (dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html,
// mariadb.com/kb/en/mariadb-error-code-reference).
var mysqlFaults = map[uint16]Fault{
	1205: LockTimeout,   // ER_LOCK_WAIT_TIMEOUT (also LOCK TABLES waits: lock_wait_timeout)
	1213: LockTimeout,   // ER_LOCK_DEADLOCK
	1021: DiskFull,      // ER_DISK_FULL
	1114: DiskFull,      // ER_RECORD_FILE_FULL: the table is full
	1040: Unreachable,   // ER_CON_COUNT_ERROR: too many connections
	1203: Unreachable,   // ER_TOO_MANY_USER_CONNECTIONS
	1053: Unreachable,   // ER_SERVER_SHUTDOWN
	1077: Unreachable,   // ER_NORMAL_SHUTDOWN
	1317: Unreachable,   // ER_QUERY_INTERRUPTED: killed or shut down
	1927: Unreachable,   // ER_CONNECTION_KILLED (MariaDB)
	4031: Unreachable,   // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
	1290: StorageFailed, // ER_OPTION_PREVENTS_STATEMENT: --read-only
	1792: StorageFailed, // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
	1836: StorageFailed, // ER_READ_ONLY_MODE
	1030: StorageFailed, // ER_GET_ERRNO: the storage engine failed (e.g. errno 28, no space)
	1969: Deadline,      // ER_STATEMENT_TIMEOUT (MariaDB max_statement_time)
	3024: Deadline,      // ER_QUERY_TIMEOUT (MySQL max_execution_time)
}

// FaultOf classifies err: which fault of the database (or of the caller's
// context) made a statement fail, or NoFault.
func FaultOf(err error) Fault {
	switch {
	case err == nil:
		return NoFault
	case errors.Is(err, context.DeadlineExceeded):
		return Deadline
	case errors.Is(err, context.Canceled):
		return Canceled
	}
	if me, ok := errors.AsType[*mysql.MySQLError](err); ok {
		return mysqlFaults[me.Number]
	}
	if se, ok := errors.AsType[*gosqlite.Error](err); ok {
		return sqliteFault(se.Code() & 0xff)
	}
	if unreachable(err) {
		return Unreachable
	}
	return NoFault
}

// sqliteFault maps a primary SQLite result code to a fault.
func sqliteFault(code int) Fault {
	switch code {
	case sqliteBusy, sqliteLocked:
		return LockTimeout
	case sqliteFull:
		return DiskFull
	case sqliteReadOnly, sqliteIOErr, sqliteCantOpen:
		return StorageFailed
	case sqliteInterrupt:
		return Deadline // an interrupt is how a context's end stops a statement
	}
	return NoFault
}

// unreachable reports whether err says that the connection to the
// database failed or broke.
func unreachable(err error) bool {
	if errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	_, isNet := errors.AsType[net.Error](err)
	return isNet
}

// Retriable reports whether a transaction that failed with err may
// succeed if run again at once: it lost a deadlock or waited too long
// for a lock (which may be free by now).
func Retriable(err error) bool { return FaultOf(err) == LockTimeout }
