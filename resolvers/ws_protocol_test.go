package resolvers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"outdial/internal/server"
	"outdial/internal/testenv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// The graphql-transport-ws protocol (github.com/enisdenjo/graphql-ws,
// PROTOCOL.md) with a real WebSocket client: every close code the server
// uses for a client's fault, and the normal paths beside them.

const abilitySubscription = `subscription { callingAbilityChanged { current { version } } }`

// wsDial opens a WebSocket to e's /graphql offering protocols (the
// graphql-transport-ws one when none).
func wsDial(e *testenv.Env, ctx context.Context, t *testing.T, protocols ...string) *websocket.Conn {
	t.Helper()
	if len(protocols) == 0 {
		protocols = []string{"graphql-transport-ws"}
	}
	url := "ws" + strings.TrimPrefix(e.Srv.URL, "http") + "/graphql"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: protocols})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	return conn
}

// wsSend writes a raw text message.
func wsSend(ctx context.Context, t *testing.T, conn *websocket.Conn, raw string) {
	t.Helper()
	if err := conn.Write(ctx, websocket.MessageText, []byte(raw)); err != nil {
		t.Fatalf("write %s: %v", raw, err)
	}
}

// wsInit sends connection_init with token and, when ack, expects the ack.
func wsInit(ctx context.Context, t *testing.T, conn *websocket.Conn, token string, ack bool) {
	t.Helper()
	payload, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + token})
	if err := wsjson.Write(ctx, conn, testenv.WSMessage{Type: "connection_init", Payload: payload}); err != nil {
		t.Fatalf("connection_init: %v", err)
	}
	if !ack {
		return
	}
	var msg testenv.WSMessage
	if err := wsjson.Read(ctx, conn, &msg); err != nil || msg.Type != "connection_ack" {
		t.Fatalf("want connection_ack, got %+v (%v)", msg, err)
	}
}

// wsSubscribe sends subscribe id with query.
func wsSubscribe(ctx context.Context, t *testing.T, conn *websocket.Conn, id, query string) {
	t.Helper()
	payload, _ := json.Marshal(map[string]string{"query": query})
	if err := wsjson.Write(ctx, conn, testenv.WSMessage{ID: id, Type: "subscribe", Payload: payload}); err != nil {
		t.Fatalf("subscribe %s: %v", id, err)
	}
}

// wsRead reads the next message that is not a ping.
func wsRead(ctx context.Context, t *testing.T, conn *websocket.Conn) testenv.WSMessage {
	t.Helper()
	for {
		var msg testenv.WSMessage
		if err := wsjson.Read(ctx, conn, &msg); err != nil {
			t.Fatalf("read: %v", err)
		}
		if msg.Type != "ping" {
			return msg
		}
	}
}

func TestWebSocketCloseCodes(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t, func(c *server.Config) { c.WebSocketInitTimeout = 300 * time.Millisecond })
	aiko := e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	revokedID, revoked := e.Token("revoked-app", "AGENT", aiko)
	e.MustMutate("revokeApiToken", testenv.RevokeToken, map[string]any{"id": revokedID}, nil)
	_, viewer := e.Token("viewer", "VIEWER", "")

	cases := []struct {
		name   string
		steps  func(ctx context.Context, t *testing.T, conn *websocket.Conn)
		code   websocket.StatusCode
		reason string
	}{
		{"duplicate subscribe id", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			wsInit(ctx, t, conn, e.Admin, true)
			wsSubscribe(ctx, t, conn, "1", abilitySubscription)
			wsSubscribe(ctx, t, conn, "1", abilitySubscription)
		}, 4409, "Subscriber for 1 already exists"},
		{"duplicate id of a query in flight or a subscription", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			wsInit(ctx, t, conn, viewer, true)
			wsSubscribe(ctx, t, conn, "s", abilitySubscription)
			wsSubscribe(ctx, t, conn, "q", `{ viewer { role } }`)
			wsSubscribe(ctx, t, conn, "s", `{ viewer { role } }`)
		}, 4409, "Subscriber for s already exists"},
		{"unknown token", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			wsInit(ctx, t, conn, "odt_nope", false)
		}, 4403, "Forbidden"},
		{"revoked token", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			wsInit(ctx, t, conn, revoked, false)
		}, 4403, "Forbidden"},
		{"no token in connection_init", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			wsSend(ctx, t, conn, `{"type":"connection_init"}`)
		}, 4403, "Forbidden"},
		{"no connection_init within the timeout", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
		}, 4408, "Connection initialisation timeout"},
		{"only pings, no connection_init", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			wsSend(ctx, t, conn, `{"type":"ping"}`)
			if msg := wsRead(ctx, t, conn); msg.Type != "pong" {
				t.Fatalf("ping got %+v, want pong", msg)
			}
		}, 4408, "Connection initialisation timeout"},
		{"subscribe before connection_init", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			wsSubscribe(ctx, t, conn, "1", abilitySubscription)
		}, 4401, "Unauthorized"},
		{"subscribe, then connection_init", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			wsSubscribe(ctx, t, conn, "1", `{ viewer { role } }`)
			wsInit(ctx, t, conn, e.Admin, false)
		}, 4401, "Unauthorized"},
		{"second connection_init", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			wsInit(ctx, t, conn, e.Admin, true)
			wsInit(ctx, t, conn, e.Admin, false)
		}, 4429, "Too many initialisation requests"},
		{"second connection_init with another token", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			wsInit(ctx, t, conn, viewer, true)
			wsSend(ctx, t, conn, `{"type":"connection_init","payload":{"Authorization":"Bearer odt_nope"}}`)
		}, 4429, "Too many initialisation requests"},
		{"invalid JSON", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			wsSend(ctx, t, conn, `{"type":"connection_init"`)
		}, 4400, "not a JSON message"},
		{"invalid JSON after the ack", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			wsInit(ctx, t, conn, e.Admin, true)
			wsSend(ctx, t, conn, `not json`)
		}, 4400, "not a JSON message"},
		{"unknown message type", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			wsInit(ctx, t, conn, e.Admin, true)
			wsSend(ctx, t, conn, `{"type":"start","id":"1","payload":{"query":"{ viewer { role } }"}}`)
		}, 4400, `unknown type "start"`},
		{"no type", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			wsSend(ctx, t, conn, `{"id":"1"}`)
		}, 4400, "unknown type"},
		{"subscribe without an id", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			wsInit(ctx, t, conn, e.Admin, true)
			wsSend(ctx, t, conn, `{"type":"subscribe","payload":{"query":"{ viewer { role } }"}}`)
		}, 4400, "without an id"},
		{"subscribe without a query", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			wsInit(ctx, t, conn, e.Admin, true)
			wsSend(ctx, t, conn, `{"type":"subscribe","id":"1","payload":{"variables":{}}}`)
		}, 4400, "payload with a query"},
		{"connection_init payload not an object", func(ctx context.Context, t *testing.T, conn *websocket.Conn) {
			wsSend(ctx, t, conn, `{"type":"connection_init","payload":[1]}`)
		}, 4400, "not a JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			conn := wsDial(e, ctx, t)
			c.steps(ctx, t, conn)
			expectClose(ctx, t, conn, c.code, c.reason)
		})
	}

	t.Run("no graphql-transport-ws subprotocol", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		conn := wsDial(e, ctx, t, "graphql-ws")
		expectClose(ctx, t, conn, 4406, "Subprotocol not acceptable")
	})
}

// TestWebSocketNormalPaths: what a well-behaved client does still works
// beside the close codes: ping/pong, a query answered with next then
// complete, a client's complete stops its subscription (no event after
// it, and its id may be used again), a refused document is an error
// message that keeps the connection open.
func TestWebSocketNormalPaths(t *testing.T) {
	e := testenv.Setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := wsDial(e, ctx, t)
	wsInit(ctx, t, conn, e.Admin, true)

	wsSend(ctx, t, conn, `{"type":"ping","payload":{"n":1}}`)
	if msg := wsRead(ctx, t, conn); msg.Type != "pong" || string(msg.Payload) != `{"n":1}` {
		t.Fatalf("ping got %+v %s, want a pong with its payload", msg, msg.Payload)
	}

	wsSubscribe(ctx, t, conn, "q", `{ viewer { role } }`)
	if msg := wsRead(ctx, t, conn); msg.Type != "next" || msg.ID != "q" || !strings.Contains(string(msg.Payload), `"ADMIN"`) {
		t.Fatalf("query got %+v %s", msg, msg.Payload)
	}
	expectComplete(ctx, t, conn, "q")

	// A document over the limits: an error message for its id, no close.
	wsSubscribe(ctx, t, conn, "big", "{ "+strings.Repeat("__typename ", 5000)+"}")
	if msg := wsRead(ctx, t, conn); msg.Type != "error" || msg.ID != "big" || !strings.Contains(string(msg.Payload), "SIZE_LIMIT_EXCEEDED") {
		t.Fatalf("an oversized document got %+v %s, want an error with SIZE_LIMIT_EXCEEDED", msg, msg.Payload)
	}

	// Subscribe "a" and "b", complete "a", then subscribe "a" again: a
	// change reaches "b" and the new "a", once each.
	const named = `subscription { callingAbilityChanged { agent { name } current { version } } }`
	wsSubscribe(ctx, t, conn, "a", named)
	wsSubscribe(ctx, t, conn, "b", named)
	wsSend(ctx, t, conn, `{"type":"complete","id":"a"}`)
	wsSubscribe(ctx, t, conn, "a", named)
	// A subscription sees changes committed after it started, which is
	// a moment after subscribe: make changes until both saw one. From here
	// a goroutine reads (a Read whose context ends closes the connection).
	msgs := make(chan testenv.WSMessage, 100)
	go func() {
		defer close(msgs)
		for {
			var msg testenv.WSMessage
			if err := wsjson.Read(ctx, conn, &msg); err != nil {
				return
			}
			msgs <- msg
		}
	}()
	next := func(wait <-chan time.Time) (testenv.WSMessage, bool) {
		t.Helper()
		select {
		case msg, ok := <-msgs:
			if !ok {
				t.Fatalf("the connection ended: %v", ctx.Err())
			}
			return msg, true
		case <-wait:
			return testenv.WSMessage{}, false
		}
	}
	got := map[string]map[string]int{"a": {}, "b": {}}
	count := func(msg testenv.WSMessage) {
		t.Helper()
		if msg.Type != "next" || strings.Contains(string(msg.Payload), `"errors"`) || got[msg.ID] == nil {
			t.Fatalf("got %+v %s, want events of a and b", msg, msg.Payload)
		}
		var p struct {
			Data struct {
				CallingAbilityChanged struct{ Agent struct{ Name string } }
			}
		}
		if err := json.Unmarshal(msg.Payload, &p); err != nil {
			t.Fatal(err)
		}
		got[msg.ID][p.Data.CallingAbilityChanged.Agent.Name]++
	}
	for i := 0; len(got["a"]) == 0 || len(got["b"]) == 0; i++ {
		e.CreateAgentID(fmt.Sprintf("Warm-up %d", i), fmt.Sprintf("warm-up-%d@example.com", i), true)
		again := time.After(time.Second) // no event by then: another change
		for len(got["a"]) == 0 || len(got["b"]) == 0 {
			msg, ok := next(again)
			if !ok {
				break
			}
			count(msg)
		}
	}
	// Both run now: each change reaches each once (a stopped "a" still
	// running would send it twice to "a").
	e.CreateAgentID("Chen Wei", "chen@example.com", true)
	e.CreateAgentID("Dan Park", "dan@example.com", true)
	for got["a"]["Dan Park"] == 0 || got["b"]["Dan Park"] == 0 {
		msg, _ := next(nil)
		count(msg)
	}
	for _, id := range []string{"a", "b"} {
		if got[id]["Chen Wei"] != 1 || got[id]["Dan Park"] != 1 {
			t.Fatalf("subscription %s got %v, want each change once", id, got[id])
		}
	}

	// Complete both: the connection stays open and answers.
	wsSend(ctx, t, conn, `{"type":"complete","id":"a"}`)
	wsSend(ctx, t, conn, `{"type":"complete","id":"b"}`)
	wsSubscribe(ctx, t, conn, "q2", `{ viewer { role } }`)
	for {
		msg, _ := next(nil)
		if msg.ID == "a" || msg.ID == "b" { // late events of changes above
			continue
		}
		if msg.Type != "next" || msg.ID != "q2" {
			t.Fatalf("after completing, a query got %+v %s", msg, msg.Payload)
		}
		break
	}
	if msg, _ := next(nil); msg.Type != "complete" || msg.ID != "q2" {
		t.Fatalf("got %+v, want the complete of q2", msg)
	}
	if err := conn.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// TestWebSocketIntVariables checks that Int variables over the WebSocket
// follow the same coercion as over HTTP (int_input_test.go): numbers are
// read as written, so a fraction or an exponent is refused, a value out of
// range is named as given, and none of them closes the connection. The
// transport used to decode them as float64: 1e3 and 3.0 became Ints,
// 2147483648 was named 2.147483648e+09, and 1e400 closed the connection.
func TestWebSocketIntVariables(t *testing.T) {
	e := testenv.Setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := wsDial(e, ctx, t)
	wsInit(ctx, t, conn, e.Admin, true)
	const doc = `mutation($w: Int!) { createCapacityProfile(input: {name: \"ws ints\", workItemLimit: $w}, dryRun: true) { userErrors { code } } }`
	for i, v := range []string{"1e3", "3.0", "1E0", "-0.0", "0.3e1", "1e400", "2147483648", "9007199254740993", "-2147483649"} {
		id := fmt.Sprint("v", i)
		wsSend(ctx, t, conn, `{"id":"`+id+`","type":"subscribe","payload":{"query":"`+doc+`","variables":{"w":`+v+`}}}`)
		msg := wsRead(ctx, t, conn)
		if msg.Type != "error" || msg.ID != id || !strings.Contains(string(msg.Payload), "BAD_USER_INPUT") ||
			!strings.Contains(string(msg.Payload), "Variable $w: "+v+" is not an Int") {
			t.Errorf("$w = %s got %+v %s, want an error naming %s as given, with BAD_USER_INPUT", v, msg, msg.Payload, v)
		}
	}
	wsSend(ctx, t, conn, `{"id":"ok","type":"subscribe","payload":{"query":"`+doc+`","variables":{"w":3}}}`)
	if msg := wsRead(ctx, t, conn); msg.Type != "next" || msg.ID != "ok" || !strings.Contains(string(msg.Payload), `"userErrors":[]`) {
		t.Fatalf("$w = 3 got %+v %s, want a result without userErrors", msg, msg.Payload)
	}
	expectComplete(ctx, t, conn, "ok")
}
