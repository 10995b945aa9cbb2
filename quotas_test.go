package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"outdial/calling"
	"outdial/models"
	"outdial/names"
)

// Acceptance tests of the quotas (issue 13, "Quotas are not input
// errors"): a create beyond a limit on how many objects may exist is
// refused with QUOTA_EXCEEDED, naming the limit and no input field, and
// changes nothing; an agent app's endpoint quota counts what its apps
// made.

const createEndpointSmall = `mutation($url: String!, $agents: [ID!]) {
	createWebhookEndpoint(input: {url: $url, agentIds: $agents}) { webhookEndpoint { id } userErrors { field message code } } }`

// requireQuota checks a QUOTA_EXCEEDED refusal: no field, the limit named.
func requireQuota(t *testing.T, ue userError, limit int) {
	t.Helper()
	if ue.Code != "QUOTA_EXCEEDED" || ue.Field != nil || !strings.Contains(ue.Message, fmt.Sprintf("(%d)", limit)) {
		t.Fatalf("refusal %+v; want QUOTA_EXCEEDED, field null, the limit %d in the message", ue, limit)
	}
}

// endpointAs creates an endpoint as token and returns its ID.
func (e *testEnv) endpointAs(token, url string, agents ...string) string {
	e.t.Helper()
	var p struct{ WebhookEndpoint idOnly }
	vars := map[string]any{"url": url}
	if agents != nil {
		vars["agents"] = agents
	}
	if errs := e.mutateAs(token, "createWebhookEndpoint", createEndpointSmall, vars, &p); len(errs) > 0 {
		e.t.Fatalf("createWebhookEndpoint %s: %+v", url, errs)
	}
	return p.WebhookEndpoint.ID
}

// TestAgentEndpointQuota: an agent's apps (all its AGENT tokens together,
// revoked ones included) make at most MaxAgentEndpoints live endpoints;
// endpoints an ADMIN made for the agent do not count, another agent's apps
// have their own quota, an ADMIN is not held to it, and deleting an
// endpoint the apps made (by the app or an ADMIN) frees a place.
func TestAgentEndpointQuota(t *testing.T) {
	t.Parallel()
	e := setup(t)
	aiko := e.createAgentID("Aiko", "aiko@example.com", true)
	ben := e.createAgentID("Ben", "ben@example.com", true)
	phoneID, phone := e.token("aiko's phone", "AGENT", aiko)
	_, desktop := e.token("aiko's desktop", "AGENT", aiko)
	_, benApp := e.token("ben's app", "AGENT", ben)
	url := func(who string, i int) string {
		return fmt.Sprintf("https://hooks.example.com/%s/%d?key=k%d", who, i, i)
	}

	// An ADMIN's endpoints for aiko, exactly like the app's: not counted.
	for i := range 3 {
		e.endpointAs(e.admin, url("admin", i), aiko)
	}
	var made []string
	for i := range calling.MaxAgentEndpoints {
		token := phone
		if i%3 == 0 {
			token = desktop
		}
		made = append(made, e.endpointAs(token, url("aiko", i)))
	}
	for _, token := range []string{phone, desktop} {
		ue := e.refusedAs(token, "QUOTA_EXCEEDED", "createWebhookEndpoint", createEndpointSmall, map[string]any{"url": url("aiko", 99)})
		requireQuota(t, ue, calling.MaxAgentEndpoints)
		if !strings.Contains(ue.Message, "This agent's apps already made 20 webhook endpoints") {
			t.Errorf("message %q does not say what the agent's apps made", ue.Message)
		}
	}
	// Another agent's app, and an ADMIN for aiko: not held to aiko's quota.
	e.endpointAs(benApp, url("ben", 0))
	e.endpointAs(e.admin, url("admin", 3), aiko)
	e.refusedAs(phone, "QUOTA_EXCEEDED", "createWebhookEndpoint", createEndpointSmall, map[string]any{"url": url("aiko", 99)})

	// Deleting one frees a place: by the app, then by an ADMIN.
	e.mustMutateAs(desktop, "deleteWebhookEndpoint", deleteEndpointM, map[string]any{"id": made[0]})
	made[0] = e.endpointAs(phone, url("aiko", 100))
	e.refusedAs(desktop, "QUOTA_EXCEEDED", "createWebhookEndpoint", createEndpointSmall, map[string]any{"url": url("aiko", 99)})
	e.mustMutate("deleteWebhookEndpoint", deleteEndpointM, map[string]any{"id": made[1]}, nil)
	e.endpointAs(desktop, url("aiko", 101))

	// Revoking a token does not free the places of what it made.
	e.mustMutate("revokeApiToken", revokeTokenM, map[string]any{"id": phoneID}, nil)
	e.refusedAs(desktop, "QUOTA_EXCEEDED", "createWebhookEndpoint", createEndpointSmall, map[string]any{"url": url("aiko", 99)})
}

// mustMutateAs is mustMutate with another token.
func (e *testEnv) mustMutateAs(token, field, query string, vars map[string]any) {
	e.t.Helper()
	if errs := e.mutateAs(token, field, query, vars, nil); len(errs) > 0 {
		e.t.Fatalf("%s refused: %+v", field, errs)
	}
}

// fill arranges n rows of the kind of rows (a slice of models), written
// straight to the database in batches: the quota checks read the table,
// and making a thousand objects through the API would only make the test
// slow.
func (e *testEnv) fill(rows any) {
	e.t.Helper()
	if err := e.app.db.CreateInBatches(rows, 200).Error; err != nil {
		e.t.Fatalf("arrange rows: %v", err)
	}
}

// TestServiceQuotas: the quotas of the whole service, each at its limit:
// live webhook endpoints (MaxEndpoints, for ADMIN and AGENT tokens alike),
// active AGENT tokens per agent (MaxAgentTokens) and active ADMIN and
// VIEWER tokens (MaxStaffTokens). Revoked tokens and deleted endpoints
// free their places.
func TestServiceQuotas(t *testing.T) {
	t.Parallel()
	e := setup(t)
	aiko := e.createAgentID("Aiko", "aiko@example.com", true)
	ben := e.createAgentID("Ben", "ben@example.com", true)

	// AGENT tokens of one agent.
	var aikoTokens []string
	for i := range calling.MaxAgentTokens {
		id, _ := e.token(fmt.Sprintf("aiko device %d", i), "AGENT", aiko)
		aikoTokens = append(aikoTokens, id)
	}
	ue := e.refused("QUOTA_EXCEEDED", "createApiToken", createTokenM, map[string]any{"name": "one too many", "role": "AGENT", "agent": aiko})
	requireQuota(t, ue, calling.MaxAgentTokens)
	e.token("ben device", "AGENT", ben)
	e.mustMutate("revokeApiToken", revokeTokenM, map[string]any{"id": aikoTokens[0]}, nil)
	_, aikoApp := e.token("aiko device again", "AGENT", aiko)

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
	e.fill(&staff)
	lastID, _ := e.token("the last one", "VIEWER", "")
	for _, role := range []string{"VIEWER", "ADMIN"} {
		ue := e.refused("QUOTA_EXCEEDED", "createApiToken", createTokenM, map[string]any{"name": "one too many", "role": role})
		requireQuota(t, ue, calling.MaxStaffTokens)
	}
	e.token("aiko device 11", "AGENT", ben) // AGENT tokens are not staff
	e.mustMutate("revokeApiToken", revokeTokenM, map[string]any{"id": lastID}, nil)
	e.token("in its place", "ADMIN", "")

	// Live webhook endpoints of the service.
	var endpoints []models.WebhookEndpoint
	for i := range calling.MaxEndpoints - 1 {
		now := time.Now().UTC()
		endpoints = append(endpoints, models.WebhookEndpoint{URL: fmt.Sprintf("https://hooks.example.com/%d", i), Enabled: true,
			Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", CreatedAt: now, UpdatedAt: now})
	}
	e.fill(&endpoints)
	lastEndpoint := e.endpointAs(aikoApp, "https://hooks.example.com/aiko")
	ue = e.refused("QUOTA_EXCEEDED", "createWebhookEndpoint", createEndpointSmall, map[string]any{"url": "https://hooks.example.com/more"})
	requireQuota(t, ue, calling.MaxEndpoints)
	ue = e.refusedAs(aikoApp, "QUOTA_EXCEEDED", "createWebhookEndpoint", createEndpointSmall, map[string]any{"url": "https://hooks.example.com/more"})
	requireQuota(t, ue, calling.MaxEndpoints)
	e.mustMutate("deleteWebhookEndpoint", deleteEndpointM, map[string]any{"id": lastEndpoint}, nil)
	e.endpointAs(e.admin, "https://hooks.example.com/in-its-place")
}
