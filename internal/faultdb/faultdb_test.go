//go:build faults

package faultdb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"outdial/internal/faultdb"
)

// TestFaultDBSurvivesKillAndPause: a committed row survives a SIGKILL and
// a restart on the same data directory; a paused server answers nothing
// until it is resumed.
func TestFaultDBSurvivesKillAndPause(t *testing.T) {
	t.Parallel()
	s := faultdb.Start(t)
	s.CreateDatabase("h")
	s.Exec("CREATE TABLE h.t (id INT PRIMARY KEY)", "INSERT INTO h.t VALUES (1)")
	s.Kill()
	if err := query(s, 2*time.Second); err == nil {
		t.Fatal("a killed server answered")
	}
	s.Restart()
	if n := s.Count("h", "SELECT COUNT(*) FROM t"); n != 1 {
		t.Fatalf("%d rows after the restart, want 1", n)
	}
	s.Pause()
	start := time.Now()
	if err := query(s, time.Second); err == nil {
		t.Fatal("a paused server answered")
	}
	t.Logf("a paused server left a query unanswered for %s", time.Since(start).Round(time.Millisecond))
	s.Resume()
	if err := query(s, 30*time.Second); err != nil {
		t.Fatalf("the resumed server does not answer: %v", err)
	}
}

// query runs a query on a new connection within d.
func query(s *faultdb.Server, d time.Duration) error {
	db, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/h?timeout=1s", s.Port))
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var n int
	return db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n)
}

// TestFaultDBSmallFSFills: the small filesystem is full after Fill (a write
// fails with ENOSPC) and has room again once the filler is removed.
func TestFaultDBSmallFSFills(t *testing.T) {
	t.Parallel()
	dir := faultdb.SmallFS(t, 8<<20)
	filler, n := faultdb.Fill(t, dir)
	if n < 7<<20 || n > 8<<20 {
		t.Errorf("filled %d bytes of an 8 MiB filesystem", n)
	}
	err := os.WriteFile(filepath.Join(dir, "more"), []byte("x"), 0o644)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("a write on the full filesystem: %v, want ENOSPC", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "more"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatalf("a write after freeing space: %v", err)
	}
}
