package testenv

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// WSMessage is a graphql-transport-ws message.
type WSMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Subscribe opens a WebSocket to /graphql, authenticates with token in
// connection_init and starts query; it returns the connection after the
// server acknowledged it.
func (e *Env) Subscribe(ctx context.Context, token, query string) *websocket.Conn {
	e.T.Helper()
	url := "ws" + strings.TrimPrefix(e.Srv.URL, "http") + "/graphql"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		e.T.Fatalf("dial %s: %v", url, err)
	}
	e.T.Cleanup(func() { _ = conn.CloseNow() })
	init, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + token})
	if err := wsjson.Write(ctx, conn, WSMessage{Type: "connection_init", Payload: init}); err != nil {
		e.T.Fatalf("connection_init: %v", err)
	}
	var ack WSMessage
	if err := wsjson.Read(ctx, conn, &ack); err != nil || ack.Type != "connection_ack" {
		e.T.Fatalf("want connection_ack, got %+v (%v)", ack, err)
	}
	payload, _ := json.Marshal(map[string]string{"query": query})
	if err := wsjson.Write(ctx, conn, WSMessage{ID: "1", Type: "subscribe", Payload: payload}); err != nil {
		e.T.Fatalf("subscribe: %v", err)
	}
	return conn
}
