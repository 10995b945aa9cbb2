package resolvers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"outdial/internal/server"
	"outdial/internal/testenv"
	"outdial/resolvers"
)

// TestSubscriptionSeesAbilityChange subscribes over a real WebSocket and
// sees an agent's change with its previous and current versions.
func TestSubscriptionSeesAbilityChange(t *testing.T) {
	e := testenv.Setup(t)
	aiko := e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	ben := e.CreateAgentID("Ben Okafor", "ben@example.com", true)

	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitTimeout)
	defer cancel()
	conn := e.Subscribe(ctx, e.Admin, `subscription($id: ID) { callingAbilityChanged(agentId: $id) {
		agent { id email } previous { version canMakeCalls blockers { code } } current { version canMakeCalls blockers { code } changedAt } } }`)
	waitSubscribers(e, 1)

	// agentId is null: the changes of every agent come.
	e.MustMutate("updateAgent", `mutation($id: ID!) { updateAgent(input: {id: $id, unifiedRoutingEnabled: false}) { userErrors { code } } }`,
		map[string]any{"id": ben}, nil)
	e.MustMutate("updateAgent", `mutation($id: ID!) { updateAgent(input: {id: $id, unifiedRoutingEnabled: false}) { userErrors { code } } }`,
		map[string]any{"id": aiko}, nil)

	var seen []string
	for len(seen) < 2 {
		var msg testenv.WSMessage
		if err := wsjson.Read(ctx, conn, &msg); err != nil {
			t.Fatalf("read: %v (seen %v)", err, seen)
		}
		if msg.Type != "next" {
			t.Fatalf("message %+v", msg)
		}
		var p struct {
			Data struct {
				CallingAbilityChanged struct {
					Agent    struct{ ID, Email string }
					Previous *struct {
						Version      int
						CanMakeCalls bool
						Blockers     []struct{ Code string }
					}
					Current struct {
						Version      int
						CanMakeCalls bool
						Blockers     []struct{ Code string }
						ChangedAt    string
					}
				}
			}
			Errors []any
		}
		if err := json.Unmarshal(msg.Payload, &p); err != nil || len(p.Errors) > 0 {
			t.Fatalf("payload %s: %v", msg.Payload, err)
		}
		c := p.Data.CallingAbilityChanged
		if c.Current.Version == 1 {
			continue // an agent's creation, committed just before the subscription started
		}
		if c.Previous == nil || c.Previous.Version != 1 || c.Current.Version != 2 ||
			len(c.Current.Blockers) != 1 || c.Current.Blockers[0].Code != "UNIFIED_ROUTING_DISABLED" ||
			len(c.Previous.Blockers) != 1 || c.Previous.Blockers[0].Code != "NO_OUTBOUND_PROFILE" || c.Current.ChangedAt == "" {
			t.Fatalf("change = %s", msg.Payload)
		}
		seen = append(seen, c.Agent.Email)
	}
	if seen[0] != "ben@example.com" || seen[1] != "aiko@example.com" {
		t.Errorf("changes seen in order %v", seen)
	}
}

// TestSubscriptionAgentTokenOwnAgentOnly: an AGENT token subscribes to its
// own agent (agentId may be left out) and is refused another agent's.
func TestSubscriptionAgentTokenOwnAgentOnly(t *testing.T) {
	e := testenv.Setup(t)
	aiko := e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	ben := e.CreateAgentID("Ben Okafor", "ben@example.com", true)
	var tok struct{ Token string }
	e.MustMutate("createApiToken", `mutation($a: ID!) { createApiToken(input: {name: "aiko-app", role: AGENT, agentId: $a}) { token userErrors { code } } }`,
		map[string]any{"a": aiko}, &tok)

	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitTimeout)
	defer cancel()
	other := e.Subscribe(ctx, tok.Token, `subscription { callingAbilityChanged(agentId: "`+ben+`") { current { version } } }`)
	var msg testenv.WSMessage
	if err := wsjson.Read(ctx, other, &msg); err != nil {
		t.Fatalf("read: %v", err)
	}
	if (msg.Type != "error" && msg.Type != "next") || !strings.Contains(string(msg.Payload), "FORBIDDEN") ||
		strings.Contains(string(msg.Payload), `"version"`) {
		t.Fatalf("subscription to another agent: %+v %s", msg, msg.Payload)
	}

	own := e.Subscribe(ctx, tok.Token, `subscription { callingAbilityChanged { agent { email } current { version } } }`)
	waitSubscribers(e, 1)
	for _, id := range []string{ben, aiko} {
		e.MustMutate("updateAgent", `mutation($id: ID!) { updateAgent(input: {id: $id, unifiedRoutingEnabled: false}) { userErrors { code } } }`,
			map[string]any{"id": id}, nil)
	}
	for {
		if err := wsjson.Read(ctx, own, &msg); err != nil {
			t.Fatalf("read: %v", err)
		}
		if msg.Type != "next" || !strings.Contains(string(msg.Payload), "aiko@example.com") {
			t.Fatalf("own subscription got %+v %s; want aiko's changes only", msg, msg.Payload)
		}
		if strings.Contains(string(msg.Payload), `"version":2`) {
			break
		}
	}
}

// TestSubscriptionNeedsToken: connection_init without a valid token is refused.
func TestSubscriptionNeedsToken(t *testing.T) {
	e := testenv.Setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(e.Srv.URL, "http") + "/graphql"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.CloseNow()
	init, _ := json.Marshal(map[string]string{"Authorization": "Bearer nope"})
	if err := wsjson.Write(ctx, conn, testenv.WSMessage{Type: "connection_init", Payload: init}); err != nil {
		t.Fatal(err)
	}
	var msg testenv.WSMessage
	err = wsjson.Read(ctx, conn, &msg)
	if err == nil && msg.Type == "connection_ack" {
		t.Fatalf("connection with a bad token was acknowledged")
	}
	if status := websocket.CloseStatus(err); err != nil && status != 4403 && status != 4401 && status != -1 {
		t.Logf("closed with %d: %v", status, err)
	}
}

// TestSubscriptionEndsWhenItsTokenIsRevoked: revoking the token of an open
// subscription ends it with UNAUTHENTICATED, then the connection
// (authenticated before the revocation) closes with 4403, which a client
// tells apart from a normal end.
func TestSubscriptionEndsWhenItsTokenIsRevoked(t *testing.T) {
	e := testenv.Setup(t, func(c *server.Config) { c.TokenRecheck = 50 * time.Millisecond })
	aiko := e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	var tok struct {
		Token    string
		ApiToken struct{ ID string }
	}
	e.MustMutate("createApiToken", `mutation($a: ID!) { createApiToken(input: {name: "aiko-app", role: AGENT, agentId: $a}) { token apiToken { id } userErrors { code } } }`,
		map[string]any{"a": aiko}, &tok)

	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitTimeout)
	defer cancel()
	conn := e.Subscribe(ctx, tok.Token, `subscription { callingAbilityChanged { current { version } } }`)
	waitSubscribers(e, 1)
	e.MustMutate("revokeApiToken", `mutation($id: ID!) { revokeApiToken(input: {id: $id}) { userErrors { code } } }`,
		map[string]any{"id": tok.ApiToken.ID}, nil)

	// Events of changes made before (the agent's creation) may come first.
	var msg testenv.WSMessage
	for msg.Type == "" || (msg.Type == "next" && !strings.Contains(string(msg.Payload), `"errors"`)) {
		if err := wsjson.Read(ctx, conn, &msg); err != nil {
			t.Fatalf("read: %v", err)
		}
	}
	if msg.Type != "next" || msg.ID != "1" || !strings.Contains(string(msg.Payload), `"UNAUTHENTICATED"`) ||
		!strings.Contains(string(msg.Payload), "revoked") {
		t.Fatalf("after revoking its token the subscription got %+v %s, want an UNAUTHENTICATED error", msg, msg.Payload)
	}
	expectComplete(ctx, t, conn, "1")
	expectClose(ctx, t, conn, 4403, "revoked")
}

// TestSubscriptionEndedByShutdownSaysSo: when the server stops its event
// feed (shutting down), an open subscription ends with an error telling
// the client to subscribe again, not with a complete.
func TestSubscriptionEndedByShutdownSaysSo(t *testing.T) {
	e := testenv.Setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitTimeout)
	defer cancel()
	conn := e.Subscribe(ctx, e.Admin, `subscription { callingAbilityChanged { current { version } } }`)
	waitSubscribers(e, 1)
	e.StopWorkers()

	var msg testenv.WSMessage
	if err := wsjson.Read(ctx, conn, &msg); err != nil {
		t.Fatalf("read: %v", err)
	}
	if msg.Type != "next" || !strings.Contains(string(msg.Payload), `"SUBSCRIPTION_ENDED"`) ||
		!strings.Contains(string(msg.Payload), "Subscribe again") {
		t.Fatalf("at shutdown the subscription got %+v %s, want a SUBSCRIPTION_ENDED error", msg, msg.Payload)
	}
	expectComplete(ctx, t, conn, "1")
}

// expectComplete reads the next message of conn: the complete of id.
func expectComplete(ctx context.Context, t *testing.T, conn *websocket.Conn, id string) {
	t.Helper()
	var msg testenv.WSMessage
	if err := wsjson.Read(ctx, conn, &msg); err != nil {
		t.Fatalf("read: %v", err)
	}
	if msg.Type != "complete" || msg.ID != id {
		t.Fatalf("got %+v %s, want the complete of subscription %s", msg, msg.Payload, id)
	}
}

// expectClose reads conn until the server closes it, with code and a
// reason that holds reason; results of operations that ran meanwhile are
// skipped.
func expectClose(ctx context.Context, t *testing.T, conn *websocket.Conn, code websocket.StatusCode, reason string) {
	t.Helper()
	for {
		var msg testenv.WSMessage
		err := wsjson.Read(ctx, conn, &msg)
		if err == nil && (msg.Type == "next" || msg.Type == "complete") {
			continue
		}
		if err == nil {
			t.Fatalf("got %+v %s, want the connection closed with %d", msg, msg.Payload, code)
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("read: %v; want a close with %d", err, code)
		}
		if ce.Code != code || !strings.Contains(ce.Reason, reason) {
			t.Fatalf("closed with %d %q, want %d and a reason with %q", ce.Code, ce.Reason, code, reason)
		}
		return
	}
}

// TestSubscriptionsPerConnectionAreLimited: a WebSocket runs at most
// MaxSubscriptionsPerConnection subscriptions; the next is refused with
// QUOTA_EXCEEDED (a quota, not bad input), and completing one frees its slot.
func TestSubscriptionsPerConnectionAreLimited(t *testing.T) {
	e := testenv.Setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitTimeout)
	defer cancel()
	conn, send := abilitySubscriptions(ctx, e)
	// One goroutine reads, so that the test can wait for a message or for
	// the feed's count of subscribers, whichever comes first (a Read whose
	// context ends closes the connection). It ends with ctx.
	msgs := make(chan testenv.WSMessage)
	var readErr error // set before msgs is closed
	go func() {
		defer close(msgs)
		for {
			var msg testenv.WSMessage
			if readErr = wsjson.Read(ctx, conn, &msg); readErr != nil {
				return
			}
			select {
			case msgs <- msg:
			case <-ctx.Done():
				readErr = ctx.Err()
				return
			}
		}
	}()
	t.Cleanup(func() {
		for range msgs { // the reader has returned
		}
	})
	received := func(msg testenv.WSMessage, ok bool) testenv.WSMessage {
		t.Helper()
		if !ok {
			t.Fatalf("read: %v", readErr)
		}
		return msg
	}
	next := func() testenv.WSMessage {
		t.Helper()
		msg, ok := <-msgs
		return received(msg, ok)
	}
	for i := 2; i <= resolvers.MaxSubscriptionsPerConnection+1; i++ {
		send(strconv.Itoa(i), "subscribe")
	}
	// The subscriptions start concurrently: any one of them is the one
	// too many.
	msg := next()
	if !strings.Contains(string(msg.Payload), `"QUOTA_EXCEEDED"`) || !strings.Contains(string(msg.Payload), "at most 20 subscriptions") {
		t.Fatalf("subscription #%d got %+v %s, want QUOTA_EXCEEDED", resolvers.MaxSubscriptionsPerConnection+1, msg, msg.Payload)
	}
	refused, running := msg.ID, "1"
	if refused == running {
		running = "2"
	}
	// The feed counts each of the others once its subscribe took effect, a
	// moment after the server read it, and stops counting the completed
	// one once it stopped: from then on the count grows only when a
	// subscribe is accepted.
	waitSubscribers(e, resolvers.MaxSubscriptionsPerConnection)
	send(running, "complete")
	waitSubscribers(e, resolvers.MaxSubscriptionsPerConnection-1)
	// The completed one's slot is free once the server read the complete
	// (TestSubscriptionSlotIsFreeOnceCompleted); a refusal would only mean
	// "not yet": subscribe until one is accepted (the feed counts it).
	// Only then is a change committed: a subscription sees the changes
	// committed after it took effect, which the protocol does not tell the
	// client (one committed right after subscribe may be missed).
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	var again string
	for k := 1; again == ""; k++ {
		try := fmt.Sprintf("again-%d", k)
		send(try, "subscribe")
	wait:
		for {
			select {
			case m, ok := <-msgs:
				msg = received(m, ok)
				switch {
				case msg.Type == "complete" && msg.ID != try:
					// The refused one, or an earlier try.
				case msg.ID == try && strings.Contains(string(msg.Payload), `"QUOTA_EXCEEDED"`):
					break wait // not freed yet
				default:
					t.Fatalf("after completing one, got %+v %s", msg, msg.Payload)
				}
			case <-poll.C:
				if e.App.Feed.Subscribers() == resolvers.MaxSubscriptionsPerConnection {
					again = try
					break wait
				}
			}
		}
	}
	e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	for {
		msg = next()
		errs := strings.Contains(string(msg.Payload), "errors") || msg.Type == "error"
		switch {
		case msg.Type == "complete" && msg.ID != again:
			// An earlier try.
		case msg.ID != again && msg.Type == "next" && !errs:
			// The change, for one of the others still running.
		case msg.ID == again && msg.Type == "next" && !errs:
			return
		default:
			t.Fatalf("after completing one, got %+v %s", msg, msg.Payload)
		}
	}
}

// waitSubscribers waits until the server's event feed runs n
// subscriptions: those the test opened are registered, and see every
// change committed from then on.
func waitSubscribers(e *testenv.Env, n int) {
	e.T.Helper()
	testenv.WaitUntil(e.T, fmt.Sprintf("%d subscriptions running", n), testenv.WaitTimeout, func() bool { return e.App.Feed.Subscribers() == n })
}

// TestSubscriptionSeesChangesMadeByAnotherProcess: two servers share one
// database; a subscriber of the first sees a change made through the
// second (driven from the stored events, not from memory).
func TestSubscriptionSeesChangesMadeByAnotherProcess(t *testing.T) {
	t.Parallel()
	a := testenv.Setup(t)
	b := testenv.Setup(t, func(c *server.Config) { c.DatabaseURL = a.DatabaseURL })
	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitTimeout)
	defer cancel()
	conn := a.Subscribe(ctx, a.Admin, `subscription { callingAbilityChanged { agent { email } current { version } } }`)
	waitSubscribers(a, 1)
	b.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)

	var msg testenv.WSMessage
	if err := wsjson.Read(ctx, conn, &msg); err != nil {
		t.Fatalf("read: %v", err)
	}
	if msg.Type != "next" || !strings.Contains(string(msg.Payload), `"aiko@example.com"`) ||
		!strings.Contains(string(msg.Payload), `"version":1`) {
		t.Fatalf("the subscriber on the other server got %+v %s, want aiko's creation", msg, msg.Payload)
	}
}

// TestSubscriptionSlotIsFreeOnceCompleted: a subscription the client
// completed has given its slot back by the time the server reads the
// client's next message, so that on a connection at its limit a subscribe
// sent right after a complete is accepted, every time (100 times here).
// gqlgen ends the stream when its context ends, before the resolver has
// given the slot back; the connection waits for that too.
func TestSubscriptionSlotIsFreeOnceCompleted(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), testenv.WaitTimeout)
	defer cancel()
	conn, send := abilitySubscriptions(ctx, e)
	running := []string{"1"}
	for i := 2; i <= resolvers.MaxSubscriptionsPerConnection; i++ {
		running = append(running, strconv.Itoa(i))
		send(running[i-1], "subscribe")
	}
	waitSubscribers(e, resolvers.MaxSubscriptionsPerConnection)
	// Nothing changes meanwhile: any message is a refusal or an error.
	msgs := make(chan testenv.WSMessage, 1)
	go func() {
		var msg testenv.WSMessage
		if err := wsjson.Read(ctx, conn, &msg); err == nil {
			msgs <- msg
		}
	}()
	poll := time.NewTicker(2 * time.Millisecond)
	defer poll.Stop()
	for k := range 100 {
		old, fresh := running[k%len(running)], fmt.Sprintf("again-%d", k)
		send(old, "complete")
		send(fresh, "subscribe")
		running[k%len(running)] = fresh
		// Accepted: the feed counts the limit again.
		for counted := false; !counted; {
			select {
			case msg := <-msgs:
				t.Fatalf("subscribe %d, sent right after a complete, got %+v %s; want it accepted", k+1, msg, msg.Payload)
			case <-poll.C:
				counted = e.App.Feed.Subscribers() == resolvers.MaxSubscriptionsPerConnection
			case <-ctx.Done():
				t.Fatalf("subscribe %d: the feed counts %d subscriptions, want %d", k+1, e.App.Feed.Subscribers(), resolvers.MaxSubscriptionsPerConnection)
			}
		}
	}
}

// abilitySubscriptions opens a WebSocket as the admin with one
// callingAbilityChanged subscription (id "1"), and returns it with send,
// which sends a message of type typ for id: a subscribe sends the same
// subscription.
func abilitySubscriptions(ctx context.Context, e *testenv.Env) (*websocket.Conn, func(id, typ string)) {
	const query = `subscription { callingAbilityChanged { current { version } } }`
	conn := e.Subscribe(ctx, e.Admin, query)
	payload, _ := json.Marshal(map[string]string{"query": query})
	return conn, func(id, typ string) {
		e.T.Helper()
		msg := testenv.WSMessage{ID: id, Type: typ}
		if typ == "subscribe" {
			msg.Payload = payload
		}
		if err := wsjson.Write(ctx, conn, msg); err != nil {
			e.T.Fatalf("%s %s: %v", typ, id, err)
		}
	}
}
