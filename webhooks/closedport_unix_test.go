//go:build unix

package webhooks

import (
	"fmt"
	"syscall"
	"testing"
)

// closedPort returns the URL of a loopback port that refuses connections
// until the test ends: an attempt to it fails at once (connection
// refused). The port is held by a socket bound to it and never listening
// (without SO_REUSEADDR, so that no other socket binds it): a port merely
// freed would be handed out again by the kernel to the next listener of
// any test process, which the dispatcher, probing the dead endpoint every
// second, would then reach.
func closedPort(t testing.TB) string {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("closed port: socket: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("closed port: bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("closed port: getsockname: %v", err)
	}
	return fmt.Sprintf("http://127.0.0.1:%d/", sa.(*syscall.SockaddrInet4).Port)
}
