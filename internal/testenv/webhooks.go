package testenv

import (
	"fmt"
	"time"

	"outdial/internal/hooktest"
)

// GraphQL documents of the webhook endpoint mutations and queries.
const (
	// CreateEndpointFull creates an endpoint with every field selected.
	CreateEndpointFull = `mutation($url: String!, $types: [WebhookEventType!], $agents: [ID!], $desc: String) {
		createWebhookEndpoint(input: {url: $url, eventTypes: $types, agentIds: $agents, description: $desc}) {
			webhookEndpoint { id url description enabled disabledReason eventTypes agents { id } }
			secret userErrors { field message code } } }`
	// RotateSecret rotates an endpoint's secret.
	RotateSecret = `mutation($id: ID!, $overlap: Int) { rotateWebhookSecret(input: {id: $id, overlapSeconds: $overlap}) {
		webhookEndpoint { id } secret userErrors { field message code } } }`
	// CreateEndpointSmall creates an endpoint and selects its ID.
	CreateEndpointSmall = `mutation($url: String!, $agents: [ID!]) {
	createWebhookEndpoint(input: {url: $url, agentIds: $agents}) { webhookEndpoint { id } userErrors { field message code } } }`
	// UpdateEndpoint updates an endpoint, every field selected.
	UpdateEndpoint = `mutation($id: ID!, $url: String, $desc: String, $types: [WebhookEventType!], $agents: [ID!], $enabled: Boolean) {
		updateWebhookEndpoint(input: {id: $id, url: $url, description: $desc, eventTypes: $types, agentIds: $agents, enabled: $enabled}) {
			webhookEndpoint { id url description enabled disabledReason eventTypes agents { id } }
			userErrors { field message code } } }`
	// DeleteEndpoint deletes an endpoint.
	DeleteEndpoint = `mutation($id: ID!) { deleteWebhookEndpoint(input: {id: $id}) { deletedId userErrors { field message code } } }`
	// SendTest sends a test webhook to an endpoint.
	SendTest = `mutation($id: ID!) { sendTestWebhook(input: {id: $id}) {
		webhookDelivery { id status endpoint { id } event { messageId type payload } } userErrors { field message code } } }`
	// Redeliver sends a delivery again.
	Redeliver = `mutation($id: ID!) { redeliverWebhook(input: {id: $id}) {
		webhookDelivery { id status endpoint { id } event { messageId type payload } } userErrors { field message code } } }`
	// DeliveriesQuery reads up to 100 deliveries with a filter $f, newest first.
	DeliveriesQuery = `query($f: WebhookDeliveryFilter) { webhookDeliveries(first: 100, filter: $f) { totalCount nodes {
		id status attemptCount nextAttemptAt endpoint { id }
		event { id messageId type payload } attempts { attemptedAt statusCode durationMs error responseBody } } } }`
)

// EndpointAs creates an endpoint (for agents, when given) as token and
// returns its ID.
func (e *Env) EndpointAs(token, url string, agents ...string) string {
	e.T.Helper()
	var p struct{ WebhookEndpoint IDOnly }
	vars := map[string]any{"url": url}
	if agents != nil {
		vars["agents"] = agents
	}
	if errs := e.MutateAs(token, "createWebhookEndpoint", CreateEndpointSmall, vars, &p); len(errs) > 0 {
		e.T.Fatalf("createWebhookEndpoint %s: %+v", url, errs)
	}
	return p.WebhookEndpoint.ID
}

// EndpointNode is a WebhookEndpoint as these tests read it.
type EndpointNode struct {
	ID             string
	URL            string
	Description    *string
	Enabled        bool
	DisabledReason *string
	EventTypes     []string
	Agents         []IDOnly
}

// DeliveryNode is a WebhookDelivery as these tests read it.
type DeliveryNode struct {
	ID            string
	Status        string
	AttemptCount  int
	NextAttemptAt *string
	Endpoint      IDOnly
	Event         struct{ ID, MessageID, Type, Payload string }
	Attempts      []struct {
		AttemptedAt  time.Time
		StatusCode   *int
		DurationMs   int
		Error        *string
		ResponseBody *string
	}
}

// StatusCodes returns the status codes of d's attempts (0: no answer).
func (d DeliveryNode) StatusCodes() []int {
	out := []int{}
	for _, a := range d.Attempts {
		if a.StatusCode == nil {
			out = append(out, 0)
		} else {
			out = append(out, *a.StatusCode)
		}
	}
	return out
}

// CreateHook registers an endpoint as token (the admin when empty) and
// hands its secret to rc; it returns the endpoint and its secret.
func (e *Env) CreateHook(token string, rc *hooktest.Receiver, vars map[string]any) (EndpointNode, string) {
	e.T.Helper()
	if token == "" {
		token = e.Admin
	}
	if vars == nil {
		vars = map[string]any{}
	}
	if _, ok := vars["url"]; !ok {
		vars["url"] = rc.URL("/hooks")
	}
	var p struct {
		WebhookEndpoint EndpointNode
		Secret          string
	}
	if errs := e.MutateAs(token, "createWebhookEndpoint", CreateEndpointFull, vars, &p); len(errs) > 0 {
		e.T.Fatalf("createWebhookEndpoint refused: %+v", errs)
	}
	if rc != nil {
		rc.SetSecrets(p.Secret)
	}
	return p.WebhookEndpoint, p.Secret
}

// Deliveries reads up to 100 deliveries (newest first) with a filter, as
// token (the admin when empty).
func (e *Env) Deliveries(token string, filter map[string]any) ([]DeliveryNode, int) {
	e.T.Helper()
	if token == "" {
		token = e.Admin
	}
	var data struct {
		WebhookDeliveries struct {
			TotalCount int
			Nodes      []DeliveryNode
		}
	}
	e.QueryAs(token, DeliveriesQuery, map[string]any{"f": filter}, &data)
	return data.WebhookDeliveries.Nodes, data.WebhookDeliveries.TotalCount
}

// SettledDeliveries waits until the endpoint has at least n deliveries,
// all of them settled, and returns them; it fails the test when there
// are more than n.
func (e *Env) SettledDeliveries(endpoint string, n int, settled func(DeliveryNode) bool) []DeliveryNode {
	e.T.Helper()
	var ds []DeliveryNode
	WaitUntil(e.T, fmt.Sprintf("%d settled deliveries of endpoint %s", n, endpoint), WaitTimeout, func() bool {
		ds, _ = e.Deliveries("", map[string]any{"endpointId": endpoint})
		if len(ds) < n {
			return false
		}
		for _, d := range ds {
			if !settled(d) {
				return false
			}
		}
		return true
	})
	if len(ds) != n {
		var types []string
		for _, d := range ds {
			types = append(types, d.Event.Type)
		}
		e.T.Fatalf("endpoint %s has %d deliveries %v, want %d", endpoint, len(ds), types, n)
	}
	return ds
}
