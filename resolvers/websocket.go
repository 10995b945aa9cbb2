package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The graphql-transport-ws protocol (github.com/enisdenjo/graphql-ws,
// PROTOCOL.md), served by a transport of our own: gqlgen's closes every
// protocol fault with 1000 or 1002 and runs a second subscribe with an id
// already running, so a client could neither tell a revoked token from a
// normal end nor stop one of the two streams.
//
// Close codes (the protocol's; the reason says more):
//
//	4400 a message that is not JSON, of an unknown type, or without a
//	     needed id or payload
//	4401 subscribe before the connection was acknowledged
//	4403 connection_init with a missing, unknown or revoked token; also a
//	     token revoked while the connection is open, once its
//	     subscriptions got the UNAUTHENTICATED error
//	4406 the client did not offer the graphql-transport-ws subprotocol
//	4408 no connection_init within the init timeout
//	4409 subscribe with the id of a running operation
//	4429 a second connection_init
//	1013 the token could not be checked (database unavailable): try again
const wsSubprotocol = "graphql-transport-ws"

// wsTransport serves /graphql WebSockets.
type wsTransport struct {
	// init authenticates connection_init's payload and returns the
	// connection's context; its error is an *apiError.
	init        func(context.Context, transport.InitPayload) (context.Context, *transport.InitPayload, error)
	initTimeout time.Duration
}

var _ graphql.Transport = wsTransport{}

func (wsTransport) Supports(r *http.Request) bool { return isWebSocket(r) }

// wsMessage is a message of the protocol, either way.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func (t wsTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wsSubprotocol}})
	if err != nil {
		return // Accept answered the request
	}
	if conn.Subprotocol() != wsSubprotocol {
		_ = conn.Close(4406, "Subprotocol not acceptable: only "+wsSubprotocol+" is spoken")
		return
	}
	conn.SetReadLimit(MaxBodyBytes)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	c := &wsConn{t: t, conn: conn, exec: exec, headers: r.Header, life: ctx, cancel: cancel, active: map[string]*wsOperation{}}
	c.serve()
}

// wsConn is one connection.
type wsConn struct {
	t       wsTransport
	conn    *websocket.Conn
	exec    graphql.GraphExecutor
	headers http.Header
	// life ends when the connection does.
	life   context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	initSeen bool            // connection_init received
	acked    bool            // connection_ack sent
	authed   context.Context // life with the actor, once acked
	active   map[string]*wsOperation
	closed   bool
}

// wsOperation is a running subscribe.
type wsOperation struct {
	cancel context.CancelFunc
	// mu is held while a message of the operation is sent, so that once
	// stop returns none is.
	mu sync.Mutex
	// stopped: the client completed it; the server sends nothing more.
	stopped bool
	// slots counts the subscription slots its resolvers hold
	// (holdSubscriptionSlot); done is closed once they returned and gave
	// them back, so that a subscribe sent after the end finds them free.
	// (gqlgen's stream ends when its context does, before the resolver's
	// goroutine has given its slot back: hence the count.)
	slots sync.WaitGroup
	done  chan struct{}
}

// wsStopWait bounds how long a client's complete waits for its operation
// to end before the next message is read.
const wsStopWait = 5 * time.Second

// stop marks op completed by the client.
func (op *wsOperation) stop() {
	op.mu.Lock()
	op.stopped = true
	op.mu.Unlock()
	op.cancel()
}

// sendUnlessStopped sends m for op unless the client completed op.
func (c *wsConn) sendUnlessStopped(op *wsOperation, m wsMessage) {
	op.mu.Lock()
	defer op.mu.Unlock()
	if !op.stopped {
		c.send(m)
	}
}

func (c *wsConn) serve() {
	initTimer := time.AfterFunc(c.t.initTimeout, func() {
		c.mu.Lock()
		seen := c.initSeen
		c.mu.Unlock()
		if !seen {
			c.close(4408, "Connection initialisation timeout")
		}
	})
	defer initTimer.Stop()
	for {
		// Not life: a Read whose context ends closes the connection
		// with a code of its own.
		_, data, err := c.conn.Read(context.Background())
		if err != nil {
			c.close(websocket.StatusNormalClosure, "")
			return
		}
		var m wsMessage
		if err := json.Unmarshal(data, &m); err != nil {
			c.close(4400, "Invalid message received: not a JSON message")
			return
		}
		switch m.Type {
		case "connection_init":
			if !c.connectionInit(m) {
				return
			}
		case "ping":
			c.send(wsMessage{Type: "pong", Payload: m.Payload})
		case "pong":
		case "subscribe":
			if !c.subscribe(m) {
				return
			}
		case "complete":
			// The id is free at once: the client may subscribe with it again.
			c.mu.Lock()
			op := c.active[m.ID]
			delete(c.active, m.ID)
			c.mu.Unlock()
			if op != nil {
				// Wait for it to end, so that a subscribe sent right after
				// finds its slot free.
				op.stop()
				select {
				case <-op.done:
				case <-time.After(wsStopWait):
				}
			}
		default:
			c.close(4400, fmt.Sprintf("Invalid message received: unknown type %q", truncate(m.Type, 40)))
			return
		}
	}
}

// connectionInit authenticates the connection; false when it closed it.
func (c *wsConn) connectionInit(m wsMessage) bool {
	c.mu.Lock()
	again := c.initSeen
	c.initSeen = true
	c.mu.Unlock()
	if again {
		c.close(4429, "Too many initialisation requests")
		return false
	}
	payload := transport.InitPayload{}
	if len(m.Payload) > 0 && string(m.Payload) != "null" {
		if err := json.Unmarshal(m.Payload, &payload); err != nil {
			c.close(4400, "Invalid message received: the connection_init payload is not a JSON object")
			return false
		}
	}
	ctx, _, err := c.t.init(c.life, payload)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.code != CodeUnauthenticated {
			c.close(websocket.StatusTryAgainLater, ae.code+": "+ae.message)
		} else {
			c.close(4403, "Forbidden: "+err.Error())
		}
		return false
	}
	c.mu.Lock()
	c.authed, c.acked = ctx, true
	c.mu.Unlock()
	c.send(wsMessage{Type: "connection_ack"})
	return true
}

// subscribe starts operation m; false when it closed the connection.
func (c *wsConn) subscribe(m wsMessage) bool {
	var params struct {
		Query         string         `json:"query"`
		OperationName string         `json:"operationName"`
		Variables     map[string]any `json:"variables"`
		Extensions    map[string]any `json:"extensions"`
	}
	if m.ID == "" {
		c.close(4400, "Invalid message received: subscribe without an id")
		return false
	}
	// Numbers stay as written (json.Number), as over HTTP: Int input
	// coercion refuses 1e3 and 3.0 and names 2147483648 as given.
	if err := decodeJSON(bytes.NewReader(m.Payload), &params); err != nil || params.Query == "" {
		c.close(4400, "Invalid message received: subscribe needs a payload with a query")
		return false
	}
	c.mu.Lock()
	if !c.acked {
		c.mu.Unlock()
		c.close(4401, "Unauthorized")
		return false
	}
	if c.active[m.ID] != nil {
		c.mu.Unlock()
		c.close(4409, "Subscriber for "+truncate(m.ID, 80)+" already exists")
		return false
	}
	ctx, cancel := context.WithCancel(c.authed)
	op := &wsOperation{cancel: cancel, done: make(chan struct{})}
	ctx = context.WithValue(ctx, operationSlotsKey{}, &op.slots)
	c.active[m.ID] = op
	c.mu.Unlock()

	start := graphql.Now()
	ctx = graphql.StartOperationTrace(ctx)
	raw := &graphql.RawParams{Query: params.Query, OperationName: params.OperationName, Variables: params.Variables,
		Extensions: params.Extensions, Headers: c.headers, ReadTime: graphql.TraceTiming{Start: start, End: graphql.Now()}}
	rc, errs := c.exec.CreateOperationContext(ctx, raw)
	if errs != nil {
		resp := c.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		c.finish(m.ID, op)
		payload, _ := json.Marshal(resp.Errors)
		c.send(wsMessage{ID: m.ID, Type: "error", Payload: payload})
		return true
	}
	ctx = graphql.WithOperationContext(ctx, rc)
	go c.run(ctx, m.ID, op, rc)
	return true
}

// run sends the responses of a started operation, then complete.
func (c *wsConn) run(ctx context.Context, id string, op *wsOperation, rc *graphql.OperationContext) {
	revoked := false
	defer func() {
		if r := recover(); r != nil {
			err := rc.Recover(ctx, r)
			var gqlErr *gqlerror.Error
			if !errors.As(err, &gqlErr) {
				gqlErr = &gqlerror.Error{Message: "internal error"}
			}
			c.finish(id, op)
			op.slots.Wait()
			payload, _ := json.Marshal(gqlerror.List{gqlErr})
			c.sendUnlessStopped(op, wsMessage{ID: id, Type: "error", Payload: payload})
			close(op.done)
			return
		}
		c.finish(id, op)
		op.slots.Wait()
		c.sendUnlessStopped(op, wsMessage{ID: id, Type: "complete"})
		close(op.done)
		if revoked {
			c.close(4403, "Forbidden: the API token was revoked")
		}
	}()
	responses, ctx := c.exec.DispatchOperation(ctx, rc)
	for {
		resp := responses(ctx)
		if resp == nil {
			return
		}
		for _, e := range resp.Errors {
			if code, _ := e.Extensions["code"].(string); code == CodeUnauthenticated {
				revoked = true
			}
		}
		payload, err := json.Marshal(resp)
		if err != nil {
			panic(err)
		}
		c.sendUnlessStopped(op, wsMessage{ID: id, Type: "next", Payload: payload})
	}
}

// finish forgets operation op of id (unless a complete from the client
// did, and the id names another operation now): the client may reuse id.
func (c *wsConn) finish(id string, op *wsOperation) {
	op.cancel()
	c.mu.Lock()
	if c.active[id] == op {
		delete(c.active, id)
	}
	c.mu.Unlock()
}

// wsWriteTimeout bounds one write to a client that does not read.
const wsWriteTimeout = 10 * time.Second

func (c *wsConn) send(m wsMessage) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return
	}
	data, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wsWriteTimeout)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, data); err != nil {
		c.close(websocket.StatusGoingAway, "")
	}
}

// close closes the connection with code and reason (once), which ends
// every operation.
func (c *wsConn) close(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	for _, op := range c.active {
		op.cancel()
	}
	c.mu.Unlock()
	_ = c.conn.Close(code, truncate(reason, 123))
	c.cancel()
}

// truncate cuts s to at most n bytes on a rune boundary (a close reason
// holds 123 bytes).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
