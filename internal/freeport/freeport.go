// Package freeport hands tests TCP ports of 127.0.0.1 for servers they
// start as processes of their own that must be told a port before they
// listen: MariaDB in internal/faultdb, whose restarts keep the port its
// clients' URLs name.
//
// A port from Get is only a port that was free: until the server listens
// on it, any socket of the machine may take it (an outgoing connection's
// local port comes from the same range), and then the server fails to
// start or another server answers there. A server that can listen on
// 127.0.0.1:0 and print its address should do that instead: Outdial's
// own test servers do (serverProc in the root package's process_test.go).
package freeport

import (
	"net"
	"sync"
	"testing"
)

// Get returns a TCP port of 127.0.0.1 that was free a moment ago, never
// one it returned before in this process: servers started side by side
// would otherwise be given the same port when the kernel hands a freed
// port out again. Another process may still take the port meanwhile: the
// caller must check who answers on it (internal/faultdb does, and starts
// again on another port).
func Get(tb testing.TB) int {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		if !given[port] {
			given[port] = true
			return port
		}
	}
}

// The ports Get returned.
var (
	mu    sync.Mutex
	given = map[int]bool{}
)
