package calling_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"outdial/calling"
	"outdial/models"
	"outdial/models/dbtest"
)

// TestDeleteAgent: DeleteAgent tells the agent's apps once more (a last
// event with deleted: true, version + 1, canMakeCalls false, no caller
// IDs, no blockers, delivered to both its own endpoint and an endpoint for
// every agent), revokes its AGENT tokens, releases its personal number
// (still registered), drops its memberships, writes an audit entry, and,
// once none of its deliveries is pending and it was deleted before the
// time ScrubDeletedAgents is given (the pruner's grace), that leaves its
// name and email in no stored row of any table. Its email then makes a new
// agent (new ID, version 1). (The webhooks as received and the
// subscription: TestDeleteAgent in package main.)
func TestDeleteAgent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const name, email = "Zelda Quixotic-Offboard", "zelda.quixotic@example.com"
	personal := w.number("+12065550123", calling.MakeCalls)
	outbound := w.number("+14255550100", calling.MakeCalls)
	queue, capacity := w.queue("Outbound sales"), w.capacity("One at a time")
	w.profile("Outbound sales", queue, capacity, []int64{outbound}, true)
	zelda := w.agent(name, email, true)
	other := w.agent("Other Agent", "other@example.com", true)
	w.join(queue, capacity, zelda)
	w.assign(zelda, personal)
	tok, appValue, err := w.svc.CreateAPIToken(w.ctx, admin, calling.CreateAPITokenInput{Name: "zelda-app", Role: calling.RoleAgent, AgentID: &zelda})
	w.must(err)
	app := res(w.svc.Authenticate(w.ctx, appValue)).must(w)
	own, _, err := w.svc.CreateWebhookEndpoint(w.ctx, app, calling.CreateWebhookEndpointInput{URL: "https://hooks.example.com/zelda",
		EventTypes: []string{"agent.calling_ability.changed"}})
	w.must(err)
	all := w.endpointAs(admin, "https://hooks.example.com/all")
	res(w.svc.UpdateAgent(w.ctx, admin, calling.UpdateAgentInput{ID: other, UnifiedRoutingEnabled: ptr(false)})).must(w)

	v := w.ability(zelda).Version
	if v < 2 {
		t.Fatalf("zelda's version before deletion: %d; want 2 or more (created, then joined)", v)
	}
	beforeDeletion := models.Now()
	w.must(w.svc.DeleteAgent(w.ctx, admin, zelda))
	afterDeletion := models.Now().Add(time.Microsecond)

	// The last event, for both endpoints; every event says whether it is
	// the last.
	var events []models.WebhookEvent
	w.must(w.db.Where("type = ?", "agent.calling_ability.changed").Order("id").Find(&events).Error)
	var last *models.WebhookEvent
	for i, ev := range events {
		var body struct {
			Data map[string]json.RawMessage
		}
		w.must(json.Unmarshal([]byte(ev.Payload), &body))
		if _, says := body.Data["deleted"]; !says {
			t.Fatalf("an event without \"deleted\": %s", ev.Payload)
		}
		if ev.AgentID != nil && *ev.AgentID == zelda {
			last = &events[i]
		}
	}
	if last == nil {
		t.Fatal("no event of zelda")
	}
	var body struct {
		Data calling.AbilityChangedData
	}
	w.must(json.Unmarshal([]byte(last.Payload), &body))
	d := body.Data
	if !d.Deleted || d.Version != v+1 || d.CanMakeCalls || len(d.CallerIDs) != 0 || len(d.Blockers) != 0 ||
		d.Previous == nil || d.Previous.Version != v || d.Agent.Email != email || d.Agent.Name != name {
		t.Errorf("last event %+v; want deleted, version %d, canMakeCalls false, no caller IDs, no blockers, previous %d, named as written", d, v+1, v)
	}
	for _, ep := range []int64{own.Row.ID, all} {
		if n := w.count("webhook_deliveries", "event_id = ? AND endpoint_id = ?", last.ID, ep); n != 1 {
			t.Errorf("the last event has %d deliveries to endpoint %d; want 1", n, ep)
		}
	}

	// Its AGENT token no longer works.
	if _, err := w.svc.Authenticate(w.ctx, appValue); !errors.Is(err, calling.ErrUnauthenticated) {
		t.Errorf("the deleted agent's token authenticates: %v; want ErrUnauthenticated", err)
	}
	if tokens := res(w.svc.APITokensByID(w.ctx, []int64{tok.ID})).must(w); tokens[0] == nil || tokens[0].RevokedAt == nil || tokens[0].AgentID != nil {
		t.Errorf("the deleted agent's token: %+v; want revoked, naming no agent", tokens[0])
	}
	// Its personal number is still registered and held by no one; it can
	// be assigned again.
	if n := res(w.svc.PhoneNumbersByID(w.ctx, []int64{personal})).must(w)[0]; n == nil || n.E164 != "+12065550123" {
		t.Errorf("personal number after deletion: %+v; want registered", n)
	}
	if holder := res(w.svc.PersonalAgentsOfNumbers(w.ctx, []int64{personal})).must(w)[0]; holder != nil {
		t.Errorf("personal number held by %+v after deletion; want no one", holder)
	}
	res(w.svc.UpdateAgent(w.ctx, admin, calling.UpdateAgentInput{ID: other, UnifiedRoutingEnabled: ptr(true)})).must(w)
	w.assign(other, personal)
	// Its memberships are gone.
	if q, cp := res(w.svc.QueueAgentCounts(w.ctx, []int64{queue})).must(w)[0], res(w.svc.CapacityProfileAgentCounts(w.ctx, []int64{capacity})).must(w)[0]; q != 0 || cp != 0 {
		t.Errorf("members after deletion: queue %d, capacity profile %d; want 0", q, cp)
	}
	// The maintained counts follow.
	summary := res(w.svc.CallingSummary(w.ctx)).must(w)
	agents, canCall := w.count("agents", ""), w.count("calling_abilities", "can_make_calls = ?", true)
	if int64(summary.Agents) != agents || int64(summary.AgentsCanMakeCalls) != canCall || agents != 1 {
		t.Errorf("CallingSummary %+v after deletion; the tables say %d agents, %d can call (want 1 agent)", summary, agents, canCall)
	}
	// Deleted, it is not found.
	w.refused(calling.CodeNotFound, "deleteAgent again", func() error { return w.svc.DeleteAgent(w.ctx, admin, zelda) })
	// The audit entry.
	if n := w.auditCount(calling.KindAgent, zelda, "deleteAgent"); n != 1 {
		t.Fatalf("%d audit entries of deleteAgent about zelda; want 1", n)
	}

	// Its name and email stay while its deliveries are pending, and for
	// an agent deleted at deletedBefore or later (the pruner's grace);
	// once neither holds, they leave every stored row.
	if n := res(w.svc.ScrubDeletedAgents(w.ctx, afterDeletion)).must(w); n != 0 {
		t.Errorf("ScrubDeletedAgents finished %d agents while their deliveries are pending; want 0", n)
	}
	if hits := dbtest.TextContaining(t, w.db, strings.ToLower(email)); len(hits) == 0 {
		t.Error("the deleted agent's email is gone before its deliveries were sent")
	}
	w.must(w.svc.DeleteWebhookEndpoint(w.ctx, admin, own.Row.ID))
	w.must(w.svc.DeleteWebhookEndpoint(w.ctx, admin, all))
	if n := res(w.svc.ScrubDeletedAgents(w.ctx, beforeDeletion)).must(w); n != 0 {
		t.Errorf("ScrubDeletedAgents of the agents deleted before the deletion finished %d agents; want 0", n)
	}
	if hits := dbtest.TextContaining(t, w.db, strings.ToLower(email)); len(hits) == 0 {
		t.Error("the deleted agent's email is gone before the grace ended")
	}
	if n := res(w.svc.ScrubDeletedAgents(w.ctx, afterDeletion)).must(w); n != 1 {
		t.Errorf("ScrubDeletedAgents finished %d agents once nothing was pending; want 1", n)
	}
	if hits := dbtest.TextContaining(t, w.db, strings.ToLower(name), strings.ToLower(email)); len(hits) != 0 {
		t.Errorf("the deleted agent's name or email is still stored: %v", hits)
	}

	// Its email makes a new agent.
	up := res(w.svc.UpsertAgents(w.ctx, admin, []calling.CreateAgentInput{{Name: name, Email: email, UnifiedRoutingEnabled: true}})).must(w)
	if len(up) != 1 || up[0].ID == zelda {
		t.Fatalf("UpsertAgents with the deleted agent's email: %+v; want a new agent", up)
	}
	w.expectVersion("the new agent", up[0].ID, 1)
}
