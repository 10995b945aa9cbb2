//go:build linux

package faultdb

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// WaitStopped waits, up to within, until every thread of the process pid
// is stopped, as SIGSTOP leaves it, and returns an error when one still
// runs then. kill(2) returns once the signal is queued: a thread that is
// running (a mariadbd thread answering a COMMIT, say) goes on until the
// kernel next switches it out, which on a loaded machine comes after the
// caller's next statement has been answered. A fault that must begin
// before that statement waits here first. It reads each thread's state
// in /proc/<pid>/task/<tid>/stat (Linux, proc(5)): T or t is stopped.
func WaitStopped(pid int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		running, err := runningThreads(pid)
		if err != nil {
			return err
		}
		if running == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d: %d threads still running %s after SIGSTOP", pid, running, within)
		}
		time.Sleep(time.Millisecond)
	}
}

// runningThreads returns how many threads of the process pid are neither
// stopped nor ended, and an error when the process has ended.
func runningThreads(pid int) (int, error) {
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil {
		return 0, err
	}
	running, alive := 0, 0
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) || (err == nil && len(b) == 0) {
			continue // the thread ended while we looked (ESRCH: after its file was opened)
		}
		if err != nil {
			return 0, err
		}
		// "tid (comm) state ...": comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) {
			return 0, fmt.Errorf("%s: unexpected contents %q", f, b)
		}
		switch b[i+2] {
		case 'Z', 'X': // ended, not yet reaped
		case 'T', 't':
			alive++
		default:
			alive++
			running++
		}
	}
	if alive == 0 {
		return 0, fmt.Errorf("process %d has ended", pid)
	}
	return running, nil
}
