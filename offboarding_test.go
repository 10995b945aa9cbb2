package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket/wsjson"

	"outdial/models"
	"outdial/models/dbtest"
)

const deleteAgentM = `mutation($id: ID!) { deleteAgent(input: {id: $id}) { deletedId userErrors { field message code } } }`

// abilityBody is the data of an agent.calling_ability.changed webhook as
// these tests read it.
type abilityBody struct {
	Type string
	Data struct {
		Agent struct{ ID, Email, Name string }
		// Deleted is a pointer: every event must carry it.
		Deleted      *bool
		Version      int
		CanMakeCalls bool
		CallerIDs    []json.RawMessage `json:"callerIds"`
		Blockers     []json.RawMessage
		Previous     *struct{ Version int }
	}
}

// abilityBodies decodes the ability webhooks rc received, in order.
func abilityBodies(t testing.TB, rc *hookReceiver) []abilityBody {
	t.Helper()
	var out []abilityBody
	for _, r := range rc.requests() {
		var b abilityBody
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatalf("webhook body %s: %v", r.Body, err)
		}
		if b.Type == "agent.calling_ability.changed" {
			out = append(out, b)
		}
	}
	return out
}

// TestDeleteAgent, the whole program: deleteAgent tells the agent's apps
// once more (a last webhook with deleted: true, version + 1, canMakeCalls
// false, no caller IDs, no blockers, received and verified by both its own
// endpoint and an endpoint for every agent; the same last change on the
// subscription, named as written), its AGENT token is refused over HTTP,
// and, once the deliveries are sent and the scrub grace has passed on the
// pruner's clock, the pruner leaves its name and email in no stored row
// of any table. The pruner runs every 50 ms throughout; its clock moves
// past the grace only once the subscription has read the last change, so
// that the test does not depend on which comes first under load. (The
// rest of the rule, on the service: calling's TestDeleteAgent.)
func TestDeleteAgent(t *testing.T) {
	var ahead atomic.Int64 // how far the pruner's clock is ahead of models.Now
	const grace = time.Hour
	e := setup(t, allowLoopback, func(c *config) {
		c.PruneInterval, c.ScrubGrace = 50*time.Millisecond, grace
		c.PruneNow = func() time.Time { return models.Now().Add(time.Duration(ahead.Load())) }
	})
	const name, email = "Zelda Quixotic-Offboard", "zelda.quixotic@example.com"
	personal := e.addNumberID("+12065550123", "MAKE_CALLS")
	outbound := e.addNumberID("+14255550100", "MAKE_CALLS")
	queue, capacity := e.queueID("Outbound sales", "VOICE"), e.capacityID("One at a time")
	e.profileID("Outbound sales", queue, capacity, []string{outbound}, true)
	zelda := e.createAgentID(name, email, true)
	other := e.createAgentID("Other Agent", "other@example.com", true)
	e.join(queue, capacity, zelda)
	e.assign(zelda, personal)
	_, appToken := e.token("zelda-app", "AGENT", zelda)

	own, all := newHookReceiver(t, nil), newHookReceiver(t, nil)
	e.createHook(appToken, own, map[string]any{"types": []string{"AGENT_CALLING_ABILITY_CHANGED"}})
	e.createHook("", all, nil)

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	conn := e.subscribe(ctx, e.admin, `subscription($id: ID) { callingAbilityChanged(agentId: $id) {
		deleted agent { id name email } current { version canMakeCalls callerIds { source } blockers { code } } } }`)
	type change struct {
		Deleted bool
		Agent   struct{ ID, Name, Email string }
		Current struct {
			Version      int
			CanMakeCalls bool
			CallerIDs    []any `json:"callerIds"`
			Blockers     []any
		}
	}
	changes := make(chan change, 100)
	go func() {
		defer close(changes)
		for {
			var msg wsMessage
			if err := wsjson.Read(ctx, conn, &msg); err != nil || msg.Type != "next" {
				return
			}
			var p struct {
				Data   struct{ CallingAbilityChanged change }
				Errors []any
			}
			if err := json.Unmarshal(msg.Payload, &p); err != nil || len(p.Errors) > 0 {
				t.Errorf("subscription payload %s: %v", msg.Payload, err)
				return
			}
			changes <- p.Data.CallingAbilityChanged
		}
	}()
	// The subscription is live once it sees a change: make some (the other
	// agent's routing, off and on) until one comes.
	unified := false
	waitUntil(t, "the subscription to see a change", waitTimeout, func() bool {
		e.mustMutate("updateAgent", updateAgentM, map[string]any{"id": other, "unified": unified}, nil)
		unified = !unified
		select {
		case <-changes:
			return true
		case <-time.After(100 * time.Millisecond):
			return false
		}
	})

	var before struct {
		Node struct{ CallingAbility struct{ Version int } }
	}
	e.query(`query($id: ID!) { node(id: $id) { ... on Agent { callingAbility { version } } } }`, map[string]any{"id": zelda}, &before)
	v := before.Node.CallingAbility.Version
	if v < 2 {
		t.Fatalf("zelda's version before deletion: %d; want 2 or more (created, then joined)", v)
	}

	var p struct{ DeletedID string }
	e.mustMutate("deleteAgent", deleteAgentM, map[string]any{"id": zelda}, &p)
	if p.DeletedID != zelda {
		t.Fatalf("deletedId %q; want %q", p.DeletedID, zelda)
	}

	// The last webhook, on both endpoints.
	for _, rc := range []*hookReceiver{own, all} {
		var bodies []abilityBody
		waitUntil(t, "the last webhook of the deleted agent", waitTimeout, func() bool {
			bodies = abilityBodies(t, rc)
			for _, b := range bodies {
				if b.Data.Agent.ID == zelda && b.Data.Deleted != nil && *b.Data.Deleted {
					return true
				}
			}
			return false
		})
		var last abilityBody
		for _, b := range bodies {
			if b.Data.Deleted == nil {
				t.Fatalf("a webhook without \"deleted\": %+v", b)
			}
			if b.Data.Agent.ID != zelda {
				continue
			}
			if b.Data.Version > last.Data.Version {
				last = b
			}
			if *b.Data.Deleted != (b.Data.Version == v+1) {
				t.Errorf("version %d has deleted: %v", b.Data.Version, *b.Data.Deleted)
			}
		}
		d := last.Data
		if !*d.Deleted || d.Version != v+1 || d.CanMakeCalls || len(d.CallerIDs) != 0 || len(d.Blockers) != 0 ||
			d.Previous == nil || d.Previous.Version != v || d.Agent.Email != email || d.Agent.Name != name {
			t.Errorf("last webhook %+v; want deleted, version %d, canMakeCalls false, no caller IDs, no blockers, previous %d, named as written", d, v+1, v)
		}
	}

	// The same last change on the subscription.
	waitUntil(t, "the last change on the subscription", waitTimeout, func() bool {
		c, ok := <-changes
		if !ok {
			t.Fatalf("the subscription ended before the last change")
		}
		if !c.Deleted {
			return false
		}
		if c.Agent.ID != zelda || c.Agent.Email != email || c.Current.Version != v+1 || c.Current.CanMakeCalls ||
			len(c.Current.CallerIDs) != 0 || len(c.Current.Blockers) != 0 {
			t.Errorf("last change on the subscription: %+v", c)
		}
		return true
	})

	// Its AGENT token no longer works.
	if r := e.do(appToken, `{ viewer { role } }`, nil); r.Status != http.StatusUnauthorized || r.code() != "UNAUTHENTICATED" {
		t.Errorf("the deleted agent's token: HTTP %d %s; want 401 UNAUTHENTICATED", r.Status, r.code())
	}
	// Within the grace its deliveries are sent and nothing is pending, yet
	// its name stays; past it, its name and email leave every stored row.
	if hits := dbtest.TextContaining(t, e.app.db, strings.ToLower(name)); len(hits) == 0 {
		t.Error("the deleted agent's name is gone within the scrub grace")
	}
	ahead.Store(int64(2 * grace))
	var hits []string
	waitUntil(t, "the deleted agent's name and email gone from every stored row", waitTimeout, func() bool {
		hits = dbtest.TextContaining(t, e.app.db, strings.ToLower(name), strings.ToLower(email))
		return len(hits) == 0
	})
}
