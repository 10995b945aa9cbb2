//go:build !unix

package webhooks

import (
	"net"
	"testing"
)

// closedPort returns the URL of a loopback port nothing listens on: an
// attempt to it fails at once (connection refused). Here the port is only
// free when closedPort returns: another listener may take it later
// (closedport_unix_test.go reserves it on Unix).
func closedPort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/"
	_ = ln.Close()
	return url
}
