package loadtest

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"outdial/calling"
	"outdial/models"
	"outdial/models/dbtest"
	"outdial/webhooks"
)

// TestImportAgents: the bulk path stores agents, memberships and personal
// numbers with abilities as the one-by-one commands make them, and a
// refused import writes nothing.
func TestImportAgents(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t)
	svc := calling.New(db, webhooks.NewOutbox(models.Now), slog.New(slog.NewTextHandler(io.Discard, nil)),
		calling.WithAbilityCheck(func(action string, err error) {
			t.Errorf("refresh oracle: after %s, the stored abilities are not those of the configuration:\n%v", action, err)
		}))
	org, err := SeedOrg(ctx, svc, 60, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := svc.CallingSummary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Agents != 60 || sum.AgentsCanMakeCalls != 60 || sum.PhoneNumbers != 8+15 {
		t.Errorf("summary %+v, want 60 agents who all can call, 23 numbers", sum)
	}
	// Agent 0 has a personal number with MAKE_CALLS: a caller ID of the
	// default profile beside its two numbers, the tenth's two and its
	// team's two.
	abs, err := svc.AbilitiesByAgentID(ctx, org.AgentIDs[:1])
	if err != nil || abs[0] == nil || abs[0].Version != 1 {
		t.Fatalf("ability of agent 0: %+v, %v", abs, err)
	}
	queues, err := svc.QueuesOfAgents(ctx, org.AgentIDs[:1])
	if err != nil || len(queues[0]) != 3 {
		t.Errorf("agent 0 is in %d queues (%v), want 3", len(queues[0]), err)
	}

	refused := []struct {
		name string
		in   []calling.ImportAgent
		code calling.Code
	}{
		{"email taken", []calling.ImportAgent{{CreateAgentInput: calling.CreateAgentInput{Name: "New", Email: "new@example.com"}},
			{CreateAgentInput: calling.CreateAgentInput{Name: "Again", Email: OrgAgentEmail(3)}}}, calling.CodeAlreadyExists},
		{"email twice", []calling.ImportAgent{{CreateAgentInput: calling.CreateAgentInput{Name: "A", Email: "x@example.com"}},
			{CreateAgentInput: calling.CreateAgentInput{Name: "B", Email: "X@example.com"}}}, calling.CodeInvalidInput},
		{"unknown queue", []calling.ImportAgent{{CreateAgentInput: calling.CreateAgentInput{Name: "A", Email: "y@example.com"},
			QueueIDs: []int64{999999}}}, calling.CodeNotFound},
		{"number taken", []calling.ImportAgent{{CreateAgentInput: calling.CreateAgentInput{Name: "A", Email: "z@example.com", UnifiedRoutingEnabled: true},
			PersonalNumber: personalNumber(0)}}, calling.CodeAlreadyExists},
		{"toll-free", []calling.ImportAgent{{CreateAgentInput: calling.CreateAgentInput{Name: "A", Email: "z@example.com", UnifiedRoutingEnabled: true},
			PersonalNumber: "+1 800 555 0100"}}, calling.CodeTollFreeNotAllowed},
		{"routing off", []calling.ImportAgent{{CreateAgentInput: calling.CreateAgentInput{Name: "A", Email: "z@example.com"},
			PersonalNumber: personalNumber(99)}}, calling.CodeUnifiedRoutingRequired},
		{"bad name", []calling.ImportAgent{{CreateAgentInput: calling.CreateAgentInput{Name: " ", Email: "z@example.com"}}}, calling.CodeInvalidInput},
	}
	for _, c := range refused {
		_, err := svc.ImportAgents(ctx, seedActor, c.in)
		if refusals, ok := calling.Refusals(err); !ok || refusals[0].Code != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	after, err := svc.CallingSummary(ctx)
	if err != nil || after.Agents != sum.Agents || after.PhoneNumbers != sum.PhoneNumbers {
		t.Errorf("after refusals: %+v (%v), want %+v", after, err, sum)
	}
}
