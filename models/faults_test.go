package models_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"outdial/models"
	"outdial/models/dbtest"
)

// TestFaultOfDriverErrors: the errors the drivers return for each fault
// (MySQL server errors by number) and the context's end are classified;
// a constraint violation or a plain error is no fault.
func TestFaultOfDriverErrors(t *testing.T) {
	cases := []struct {
		err  error
		want models.Fault
	}{
		{nil, models.NoFault},
		{errors.New("boom"), models.NoFault},
		{&mysql.MySQLError{Number: 1062, Message: "Duplicate entry"}, models.NoFault},
		{&mysql.MySQLError{Number: 1205, Message: "Lock wait timeout exceeded"}, models.LockTimeout},
		{fmt.Errorf("lock configuration: %w", &mysql.MySQLError{Number: 1213}), models.LockTimeout},
		{&mysql.MySQLError{Number: 1021}, models.DiskFull},
		{&mysql.MySQLError{Number: 1114}, models.DiskFull},
		{&mysql.MySQLError{Number: 1040}, models.Unreachable},
		{&mysql.MySQLError{Number: 1053}, models.Unreachable},
		{&mysql.MySQLError{Number: 1927}, models.Unreachable},
		{&mysql.MySQLError{Number: 1290}, models.StorageFailed},
		{&mysql.MySQLError{Number: 1969}, models.Deadline},
		{mysql.ErrInvalidConn, models.Unreachable},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), models.Deadline},
		{context.Canceled, models.Canceled},
	}
	for i, c := range cases {
		if got := models.FaultOf(c.err); got != c.want {
			t.Errorf("#%d: FaultOf(%v) = %v, want %v", i, c.err, got, c.want)
		}
	}
	if !models.Retriable(&mysql.MySQLError{Number: 1213}) || models.Retriable(mysql.ErrInvalidConn) {
		t.Error("Retriable: want a deadlock retried, a broken connection not")
	}
}

// TestFaultOfUnreachableServer: opening a MySQL database on a port where
// nothing listens fails with an Unreachable fault, within the dial
// timeout.
func TestFaultOfUnreachableServer(t *testing.T) {
	start := time.Now()
	_, err := models.Open("mysql://root@127.0.0.1:1/nothing")
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if f := models.FaultOf(err); f != models.Unreachable {
		t.Fatalf("FaultOf(%v) = %v, want unreachable", err, f)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("Open of a closed port took %s", took)
	}
}

// TestLockWaitBounded: a statement that waits for a lock another
// connection holds fails with a LockTimeout fault after about
// Options.LockWait (SQLite's busy timeout; on MySQL
// innodb_lock_wait_timeout for a row lock, lock_wait_timeout for LOCK
// TABLES), not after the database's default.
func TestLockWaitBounded(t *testing.T) {
	t.Parallel()
	url := "sqlite:" + filepath.Join(t.TempDir(), "locks.db")
	if dbtest.MySQLURL() != "" {
		url = dbtest.URL(t)
	}
	opts := models.Options{LockWait: time.Second}
	holder, err := models.OpenWith(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Close() })
	if err := holder.Exec("CREATE TABLE probe (id INTEGER PRIMARY KEY, n INTEGER)").Error; err != nil {
		t.Fatal(err)
	}
	if err := holder.Exec("INSERT INTO probe (id, n) VALUES (1, 0)").Error; err != nil {
		t.Fatal(err)
	}
	waiter, err := models.OpenWith(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = waiter.Close() })

	locks := map[string]string{"row lock": "UPDATE probe SET n = n + 1 WHERE id = 1"}
	if holder.Dialect == models.MySQL {
		locks["table lock"] = "LOCK TABLES probe WRITE"
	}
	for name, lock := range locks {
		tx := holder.Begin()
		if err := tx.Exec(lock).Error; err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		start := time.Now()
		err := waiter.Exec("UPDATE probe SET n = n + 10 WHERE id = 1").Error
		took := time.Since(start)
		if name == "table lock" {
			tx.Exec("UNLOCK TABLES")
		}
		tx.Rollback()
		if f := models.FaultOf(err); f != models.LockTimeout || !models.Retriable(err) {
			t.Fatalf("%s: the waiting statement returned %v (fault %v), want a lock timeout", name, err, f)
		}
		if took < 900*time.Millisecond || took > 10*time.Second {
			t.Errorf("%s: the waiting statement gave up after %s, want about 1s", name, took)
		}
		t.Logf("%s: the waiting statement gave up after %s: %v", name, took.Round(time.Millisecond), err)
	}
}

// TestStalledTransactionReleasesItsLocks (MariaDB): a transaction left
// idle while it holds a row lock, as by a paused process, is rolled back
// by the server after the idle limit (10 s for a lock wait of 1 s), so
// that another connection gets the row; its own commit then fails.
func TestStalledTransactionReleasesItsLocks(t *testing.T) {
	if dbtest.MySQLURL() == "" {
		t.Skip("TEST_MYSQL_URL is not set: idle_transaction_timeout is MariaDB's")
	}
	t.Parallel()
	url := dbtest.URL(t)
	opts := models.Options{LockWait: time.Second}
	holder, err := models.OpenWith(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Close() })
	var supported int64
	if err := holder.Raw("SELECT COUNT(*) FROM information_schema.global_variables WHERE variable_name = 'IDLE_TRANSACTION_TIMEOUT'").
		Scan(&supported).Error; err != nil || supported == 0 {
		t.Skipf("the server has no idle_transaction_timeout (MySQL): %v", err)
	}
	if err := holder.Exec("CREATE TABLE probe (id INTEGER PRIMARY KEY, n INTEGER)").Error; err != nil {
		t.Fatal(err)
	}
	if err := holder.Exec("INSERT INTO probe (id, n) VALUES (1, 0)").Error; err != nil {
		t.Fatal(err)
	}
	waiter, err := models.OpenWith(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = waiter.Close() })
	tx := holder.Begin()
	if err := tx.Exec("UPDATE probe SET n = 1 WHERE id = 1").Error; err != nil {
		t.Fatal(err)
	}
	stalled := time.Now()
	var lockTimeouts int
	for {
		err := waiter.Exec("UPDATE probe SET n = 2 WHERE id = 1").Error
		if err == nil {
			break
		}
		if !models.Retriable(err) || time.Since(stalled) > time.Minute {
			t.Fatalf("after %s: %v", time.Since(stalled), err)
		}
		lockTimeouts++
	}
	took := time.Since(stalled)
	if err := tx.Commit().Error; err == nil {
		t.Error("the stalled transaction committed after the server rolled it back")
	}
	if took < 9*time.Second || took > 30*time.Second {
		t.Errorf("the row was free after %s, want about 10 s", took)
	}
	t.Logf("the stalled transaction's row was free after %s (%d lock timeouts meanwhile)", took.Round(time.Millisecond), lockTimeouts)
}
