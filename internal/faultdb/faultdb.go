package faultdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the admin connection

	"outdial/internal/freeport"
)

// startTimeout bounds a start or a restart (crash recovery included) on a
// loaded machine.
const startTimeout = 2 * time.Minute

// Require fails (CI set) or skips (otherwise) tb unless fault tests can
// run here: as root, with mariadbd and mariadb-install-db on the PATH (or
// in /usr/sbin).
func Require(tb testing.TB) {
	tb.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (mariadbd runs as --user=root, mount needs it)")
	}
	for _, bin := range []string{"mariadbd", "mariadb-install-db"} {
		if _, err := lookPath(bin); err != nil {
			missing = append(missing, bin+" (apt-get install mariadb-server)")
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "fault tests need " + strings.Join(missing, ", ")
	if os.Getenv("CI") != "" {
		tb.Fatal(msg + "; CI must run them")
	}
	tb.Skip(msg)
}

// lookPath finds bin on the PATH or in /usr/sbin (not on every root PATH).
func lookPath(bin string) (string, error) {
	if p, err := exec.LookPath(bin); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/sbin", bin)
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

// Server is a MariaDB server of one test.
type Server struct {
	tb      testing.TB
	dir     string // data directory, socket, logs
	Port    int
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the current process has exited
	paused  bool
	started int // processes started so far
}

// Start initialises a data directory under tb's temporary directory,
// starts mariadbd on a free port of 127.0.0.1 and waits until it answers.
// The server is killed when tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	Require(tb)
	s := &Server{tb: tb, dir: tb.TempDir(), Port: freeport.Get(tb)}
	install, err := lookPath("mariadb-install-db")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Mkdir(s.tmpDir(), 0o700); err != nil {
		tb.Fatal(err)
	}
	// A temporary directory of its own: servers installed at once in a
	// shared /tmp remove each other's temporary tables.
	cmd := exec.Command(install, "--no-defaults", "--datadir="+s.dataDir(), "--tmpdir="+s.tmpDir(), "--user=root",
		"--auth-root-authentication-method=normal", "--skip-test-db", "--innodb-log-file-size=16M")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	tb.Cleanup(s.cleanup)
	// The port was free a moment ago; another test's server (of this
	// process or another) may have taken it since. The first start then
	// moves to another port: no client holds this one yet.
	for try := 1; ; try++ {
		err := s.start()
		if err == nil {
			return s
		}
		if !errors.Is(err, errPortTaken) || try == 5 {
			tb.Fatal(err)
		}
		tb.Logf("faultdb: %v; trying another port", err)
		if !s.hasExited() {
			s.Kill()
		}
		s.Port = freeport.Get(tb)
	}
}

// errPortTaken: another server answers on the port the server was given.
var errPortTaken = errors.New("the port is another server's")

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }

func (s *Server) tmpDir() string { return filepath.Join(s.dir, "tmp") }

// URL returns the mysql:// URL of database name on the server.
func (s *Server) URL(name string) string {
	return fmt.Sprintf("mysql://root@127.0.0.1:%d/%s", s.Port, name)
}

// CreateDatabase creates an empty database and returns its URL.
func (s *Server) CreateDatabase(name string) string {
	s.tb.Helper()
	s.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
	return s.URL(name)
}

// Restart starts mariadbd on the data directory (after Start or Kill) and
// waits until it answers; crash recovery runs first after a kill.
func (s *Server) Restart() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatal(err)
	}
}

// start starts mariadbd on the data directory and waits until it answers.
// It returns an error wrapping errPortTaken when a server other than this
// one answers on s.Port.
func (s *Server) start() error {
	s.tb.Helper()
	if s.cmd != nil && !s.hasExited() {
		s.tb.Fatal("faultdb: Restart while mariadbd runs; Kill it first")
	}
	bin, err := lookPath("mariadbd")
	if err != nil {
		s.tb.Fatal(err)
	}
	s.started++
	log, err := os.Create(filepath.Join(s.dir, fmt.Sprintf("mariadbd-%d.out", s.started)))
	if err != nil {
		s.tb.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(bin, "--no-defaults", "--datadir="+s.dataDir(), "--tmpdir="+s.tmpDir(), "--user=root",
		"--bind-address=127.0.0.1", "--port="+strconv.Itoa(s.Port),
		"--socket="+filepath.Join(s.dir, "mysqld.sock"), "--pid-file="+filepath.Join(s.dir, "mysqld.pid"),
		"--log-error="+filepath.Join(s.dir, "error.log"),
		"--skip-grant-tables", "--skip-log-bin", "--innodb-buffer-pool-size=64M",
		"--innodb-log-file-size=16M", "--max-connections=300")
	cmd.Stdout, cmd.Stderr = log, log
	// A process group of its own: a signal to the test does not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("start mariadbd: %v", err)
	}
	s.cmd, s.exited, s.paused = cmd, make(chan struct{}), false
	exited := s.exited
	go func() { _ = cmd.Wait(); close(exited) }()
	return s.waitReady()
}

// waitReady waits until this server answers a query. It returns an error
// when mariadbd exits or does not answer within startTimeout, wrapping
// errPortTaken when another server answers on its port (this one then
// fails to bind it, or has not yet).
func (s *Server) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	for {
		datadir, err := s.datadir()
		switch {
		case err == nil && sameDir(datadir, s.dataDir()):
			return nil
		case err == nil:
			return fmt.Errorf("faultdb: port %d: %w (data directory %s)", s.Port, errPortTaken, datadir)
		case s.hasExited():
			return fmt.Errorf("faultdb: mariadbd exited at start; its log:\n%s", s.ErrorLog())
		case time.Now().After(deadline):
			return fmt.Errorf("faultdb: mariadbd did not answer within %s: %v; its log:\n%s", startTimeout, err, s.ErrorLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sameDir reports whether the paths a and b name the same directory.
func sameDir(a, b string) bool {
	ra, errA := filepath.EvalSymlinks(a)
	rb, errB := filepath.EvalSymlinks(b)
	return errA == nil && errB == nil && ra == rb
}

// datadir returns the data directory of the server answering on s.Port,
// on a new connection.
func (s *Server) datadir() (string, error) {
	db, err := s.open()
	if err != nil {
		return "", err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var dir string
	err = db.QueryRowContext(ctx, "SELECT @@datadir").Scan(&dir)
	return dir, err
}

// open returns a connection pool to the server, no database selected.
func (s *Server) open() (*sql.DB, error) {
	return sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/?timeout=2s&parseTime=true", s.Port))
}

// Conn returns a connection of its own to database name (for a test that
// holds locks), closed when the test ends.
func (s *Server) Conn(name string) *sql.Conn {
	s.tb.Helper()
	db, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/%s?timeout=2s&parseTime=true", s.Port, name))
	if err != nil {
		s.tb.Fatal(err)
	}
	s.tb.Cleanup(func() { _ = db.Close() })
	c, err := db.Conn(context.Background())
	if err != nil {
		s.tb.Fatalf("connect to the fault MariaDB: %v", err)
	}
	s.tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Exec runs statements, one by one, on a new connection.
func (s *Server) Exec(statements ...string) {
	s.tb.Helper()
	db, err := s.open()
	if err != nil {
		s.tb.Fatal(err)
	}
	defer db.Close()
	for _, q := range statements {
		if _, err := db.Exec(q); err != nil {
			s.tb.Fatalf("%s: %v", q, err)
		}
	}
}

// Count returns the single integer query q answers, on database name.
func (s *Server) Count(name, q string, args ...any) int64 {
	s.tb.Helper()
	db, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/%s?timeout=2s", s.Port, name))
	if err != nil {
		s.tb.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		s.tb.Fatalf("%s: %v", q, err)
	}
	return n
}

// Kill sends SIGKILL to mariadbd and waits until it is gone: no shutdown,
// no flush; its clients' connections break.
func (s *Server) Kill() {
	s.tb.Helper()
	s.signal(syscall.SIGKILL)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.tb.Fatal("mariadbd still runs 30s after SIGKILL")
	}
}

// Pause stops mariadbd (SIGSTOP): its connections stay open and nothing
// answers, as on a hung server. It returns once every thread of it has
// stopped (WaitStopped), so that the statement sent next is not answered.
func (s *Server) Pause() {
	s.tb.Helper()
	s.signal(syscall.SIGSTOP)
	s.paused = true
	if err := WaitStopped(s.cmd.Process.Pid, 30*time.Second); err != nil {
		s.tb.Fatalf("faultdb: %v", err)
	}
}

// Resume continues a paused mariadbd (SIGCONT).
func (s *Server) Resume() {
	s.tb.Helper()
	s.signal(syscall.SIGCONT)
	s.paused = false
}

func (s *Server) signal(sig syscall.Signal) {
	s.tb.Helper()
	if s.cmd == nil || s.hasExited() {
		s.tb.Fatalf("faultdb: %v to a mariadbd that is not running", sig)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.tb.Fatalf("faultdb: %v: %v", sig, err)
	}
}

func (s *Server) hasExited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// ErrorLog returns the server's error log (its last 4 KiB).
func (s *Server) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "error.log"))
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

// cleanup kills the server (resuming it first if paused).
func (s *Server) cleanup() {
	if s.cmd == nil || s.hasExited() {
		return
	}
	if s.paused {
		_ = s.cmd.Process.Signal(syscall.SIGCONT)
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// SmallFS mounts a tmpfs of size bytes on a new directory under tb's
// temporary directory and returns the directory; it is unmounted when tb
// ends. It fails (CI set) or skips the test when mounting is not allowed
// here (not root, or no CAP_SYS_ADMIN in this sandbox).
func SmallFS(tb testing.TB, size int64) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "smallfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0755", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("cannot mount a %d-byte tmpfs (needs root with CAP_SYS_ADMIN): %v: %s", size, err, out)
		if os.Getenv("CI") != "" {
			tb.Fatal(msg + "; CI must run the full-disk tests")
		}
		tb.Skip(msg)
	}
	// Registered after TempDir's cleanup, so it runs before it: unmount,
	// then remove the (now empty) directory.
	tb.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			tb.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// Fill writes a file in dir until the filesystem is full (ENOSPC) and
// returns its path and how many bytes it holds; removing it frees them.
func Fill(tb testing.TB, dir string) (string, int64) {
	tb.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	var n int64
	for {
		w, err := f.Write(chunk)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			tb.Fatalf("fill %s: %v", dir, err)
		}
	}
	// Smaller writes take the last partial chunk's room too.
	for _, size := range []int{4096, 512, 1} {
		for {
			w, err := f.Write(chunk[:size])
			n += int64(w)
			if err != nil {
				break
			}
		}
	}
	return path, n
}
