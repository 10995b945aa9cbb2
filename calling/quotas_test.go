package calling_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"outdial/calling"
	"outdial/models"
	"outdial/names"
)

// Tests of the quotas (issue 13, "Quotas are not input errors"): a create
// beyond a limit on how many objects may exist is refused with
// QUOTA_EXCEEDED, naming the limit and no input field, and changes
// nothing; an agent app's endpoint quota counts what its apps made.

// requireQuota checks a QUOTA_EXCEEDED refusal: no field, the limit named.
func requireQuota(t *testing.T, ue *calling.Error, limit int) {
	t.Helper()
	if ue.Code != calling.CodeQuotaExceeded || ue.Field != nil || !strings.Contains(ue.Message, fmt.Sprintf("(%d)", limit)) {
		t.Fatalf("refusal %+v; want QUOTA_EXCEEDED, field nil, the limit %d in the message", ue, limit)
	}
}

// token creates an API token (for agent, unless 0) and returns its ID and
// the actor that authenticates with it.
func (w *world) token(name string, role calling.Role, agent int64) (int64, calling.Actor) {
	w.t.Helper()
	in := calling.CreateAPITokenInput{Name: name, Role: role}
	if agent != 0 {
		in.AgentID = &agent
	}
	tok, value, err := w.svc.CreateAPIToken(w.ctx, admin, in)
	w.must(err)
	return tok.ID, res(w.svc.Authenticate(w.ctx, value)).must(w)
}

// endpointAs creates an endpoint as actor (for agents, unless none) and
// returns its ID.
func (w *world) endpointAs(actor calling.Actor, url string, agents ...int64) int64 {
	w.t.Helper()
	ep, _, err := w.svc.CreateWebhookEndpoint(w.ctx, actor, calling.CreateWebhookEndpointInput{URL: url, AgentIDs: agents})
	w.must(err)
	return ep.Row.ID
}

// endpointRefused creates an endpoint as actor, which must be refused with
// QUOTA_EXCEEDED, and returns the refusal.
func (w *world) endpointRefused(actor calling.Actor, url string) *calling.Error {
	w.t.Helper()
	return w.refused(calling.CodeQuotaExceeded, "createWebhookEndpoint "+url, func() error {
		_, _, err := w.svc.CreateWebhookEndpoint(w.ctx, actor, calling.CreateWebhookEndpointInput{URL: url})
		return err
	})
}

// TestAgentEndpointQuota: an agent's apps (all its AGENT tokens together,
// revoked ones included) make at most MaxAgentEndpoints live endpoints;
// endpoints an ADMIN made for the agent do not count, another agent's apps
// have their own quota, an ADMIN is not held to it, and deleting an
// endpoint the apps made (by the app or an ADMIN) frees a place.
func TestAgentEndpointQuota(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	aiko := w.agent("Aiko", "aiko@example.com", true)
	ben := w.agent("Ben", "ben@example.com", true)
	phoneID, phone := w.token("aiko's phone", calling.RoleAgent, aiko)
	_, desktop := w.token("aiko's desktop", calling.RoleAgent, aiko)
	_, benApp := w.token("ben's app", calling.RoleAgent, ben)
	url := func(who string, i int) string {
		return fmt.Sprintf("https://hooks.example.com/%s/%d?key=k%d", who, i, i)
	}

	// An ADMIN's endpoints for aiko, exactly like the app's: not counted.
	for i := range 3 {
		w.endpointAs(admin, url("admin", i), aiko)
	}
	var made []int64
	for i := range calling.MaxAgentEndpoints {
		actor := phone
		if i%3 == 0 {
			actor = desktop
		}
		made = append(made, w.endpointAs(actor, url("aiko", i)))
	}
	for _, actor := range []calling.Actor{phone, desktop} {
		ue := w.endpointRefused(actor, url("aiko", 99))
		requireQuota(t, ue, calling.MaxAgentEndpoints)
		if !strings.Contains(ue.Message, "This agent's apps already made 20 webhook endpoints") {
			t.Errorf("message %q does not say what the agent's apps made", ue.Message)
		}
	}
	// Another agent's app, and an ADMIN for aiko: not held to aiko's quota.
	w.endpointAs(benApp, url("ben", 0))
	w.endpointAs(admin, url("admin", 3), aiko)
	w.endpointRefused(phone, url("aiko", 99))

	// Deleting one frees a place: by the app, then by an ADMIN.
	w.must(w.svc.DeleteWebhookEndpoint(w.ctx, desktop, made[0]))
	made[0] = w.endpointAs(phone, url("aiko", 100))
	w.endpointRefused(desktop, url("aiko", 99))
	w.must(w.svc.DeleteWebhookEndpoint(w.ctx, admin, made[1]))
	w.endpointAs(desktop, url("aiko", 101))

	// Revoking a token does not free the places of what it made.
	res(w.svc.RevokeAPIToken(w.ctx, admin, phoneID)).must(w)
	w.endpointRefused(desktop, url("aiko", 99))
}

// fill arranges rows (a slice of models), written straight to the
// database in batches: the quota checks read the table, and making a
// thousand objects through the service would only make the test slow.
func (w *world) fill(rows any) {
	w.t.Helper()
	if err := w.db.CreateInBatches(rows, 200).Error; err != nil {
		w.t.Fatalf("arrange rows: %v", err)
	}
}

// TestServiceQuotas: the quotas of the whole service, each at its limit:
// live webhook endpoints (MaxEndpoints, for ADMIN and AGENT tokens alike),
// active AGENT tokens per agent (MaxAgentTokens) and active ADMIN and
// VIEWER tokens (MaxStaffTokens). Revoked tokens and deleted endpoints
// free their places.
func TestServiceQuotas(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	res(w.svc.EnsureBootstrapToken(w.ctx, "odt_test-admin-token")).must(w)
	aiko := w.agent("Aiko", "aiko@example.com", true)
	ben := w.agent("Ben", "ben@example.com", true)
	tokenRefused := func(role calling.Role, agent *int64) *calling.Error {
		return w.refused(calling.CodeQuotaExceeded, "createApiToken "+string(role), func() error {
			_, _, err := w.svc.CreateAPIToken(w.ctx, admin, calling.CreateAPITokenInput{Name: "one too many", Role: role, AgentID: agent})
			return err
		})
	}

	// AGENT tokens of one agent.
	var aikoTokens []int64
	for i := range calling.MaxAgentTokens {
		id, _ := w.token(fmt.Sprintf("aiko device %d", i), calling.RoleAgent, aiko)
		aikoTokens = append(aikoTokens, id)
	}
	requireQuota(t, tokenRefused(calling.RoleAgent, &aiko), calling.MaxAgentTokens)
	w.token("ben device", calling.RoleAgent, ben)
	res(w.svc.RevokeAPIToken(w.ctx, admin, aikoTokens[0])).must(w)
	_, aikoApp := w.token("aiko device again", calling.RoleAgent, aiko)

	// ADMIN and VIEWER tokens together (the bootstrap token is one).
	var staff []models.APIToken
	for i := range calling.MaxStaffTokens - 2 {
		role := "VIEWER"
		if i%10 == 0 {
			role = "ADMIN"
		}
		name := fmt.Sprintf("staff %d", i)
		staff = append(staff, models.APIToken{Name: name, NameKey: names.Key(name), Role: role,
			TokenHash: calling.HashToken(fmt.Sprintf("staff %d", i)), CreatedAt: time.Now().UTC()})
	}
	w.fill(&staff)
	lastID, _ := w.token("the last one", calling.RoleViewer, 0)
	for _, role := range []calling.Role{calling.RoleViewer, calling.RoleAdmin} {
		requireQuota(t, tokenRefused(role, nil), calling.MaxStaffTokens)
	}
	w.token("aiko device 11", calling.RoleAgent, ben) // AGENT tokens are not staff
	res(w.svc.RevokeAPIToken(w.ctx, admin, lastID)).must(w)
	w.token("in its place", calling.RoleAdmin, 0)

	// Live webhook endpoints of the service.
	var endpoints []models.WebhookEndpoint
	for i := range calling.MaxEndpoints - 1 {
		now := time.Now().UTC()
		endpoints = append(endpoints, models.WebhookEndpoint{URL: fmt.Sprintf("https://hooks.example.com/%d", i), Enabled: true,
			Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", CreatedAt: now, UpdatedAt: now})
	}
	w.fill(&endpoints)
	lastEndpoint := w.endpointAs(aikoApp, "https://hooks.example.com/aiko")
	requireQuota(t, w.endpointRefused(admin, "https://hooks.example.com/more"), calling.MaxEndpoints)
	requireQuota(t, w.endpointRefused(aikoApp, "https://hooks.example.com/more"), calling.MaxEndpoints)
	w.must(w.svc.DeleteWebhookEndpoint(w.ctx, admin, lastEndpoint))
	w.endpointAs(admin, "https://hooks.example.com/in-its-place")
}
