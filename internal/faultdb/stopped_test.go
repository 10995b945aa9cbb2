//go:build linux

package faultdb

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWaitStopped: a sleeping process is not stopped (WaitStopped gives
// up after its deadline); after SIGSTOP it is, and WaitStopped says so;
// SIGCONT undoes it; a process that has ended, reaped or not, is an
// error at once, not a wait until the deadline.
func TestWaitStopped(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep to run: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	pid := cmd.Process.Pid
	if err := WaitStopped(pid, 20*time.Millisecond); err == nil {
		t.Fatal("a running process was reported stopped")
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := WaitStopped(pid, 30*time.Second); err != nil {
		t.Fatalf("after SIGSTOP: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := runningThreads(pid)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still stopped 30s after SIGCONT")
		}
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for _, when := range []string{"killed, not reaped", "reaped"} {
		if when == "reaped" {
			_ = cmd.Wait()
		}
		// SIGKILL, too, is delivered when the kernel gets to it.
		start := time.Now()
		err := WaitStopped(pid, 10*time.Millisecond)
		for (err == nil || !strings.Contains(err.Error(), "has ended")) && time.Since(start) < 30*time.Second {
			time.Sleep(time.Millisecond)
			err = WaitStopped(pid, 10*time.Millisecond)
		}
		if err == nil || !strings.Contains(err.Error(), "has ended") {
			t.Fatalf("%s: %v, want that the process has ended", when, err)
		}
	}
}
