package main

import (
	"context"

	"github.com/coder/websocket"

	"outdial/internal/testenv"
)

// The webhook endpoint and subscription helpers of the shared test
// environment (internal/testenv), under the names of this package's tests.

type wsMessage = testenv.WSMessage

// createHook is testenv's CreateHook.
func (e *testEnv) createHook(token string, rc *hookReceiver, vars map[string]any) (testenv.EndpointNode, string) {
	e.t.Helper()
	return e.CreateHook(token, rc.Receiver, vars)
}

// subscribe is testenv's Subscribe.
func (e *testEnv) subscribe(ctx context.Context, token, query string) *websocket.Conn {
	e.t.Helper()
	return e.Subscribe(ctx, token, query)
}
