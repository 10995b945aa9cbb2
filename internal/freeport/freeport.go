// Package freeport hands tests TCP ports of 127.0.0.1 for servers they
// start as processes of their own (Outdial's server, MariaDB), which must
// be told a port before they listen.
package freeport

import (
	"net"
	"sync"
	"testing"
)

// Get returns a TCP port of 127.0.0.1 that was free a moment ago, never
// one it returned before in this process: servers started side by side
// would otherwise be given the same port when the kernel hands a freed
// port out again. Another process may still take the port meanwhile; a
// caller that can tell (internal/faultdb) checks who answers on it.
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
