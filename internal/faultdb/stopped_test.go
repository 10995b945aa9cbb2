//go:build linux

package faultdb

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestWaitStopped: a sleeping process is not stopped (WaitStopped gives
// up after its deadline); after SIGSTOP it is, and WaitStopped says so.
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
}
