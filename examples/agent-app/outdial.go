package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// outdial is a minimal GraphQL client for the Outdial API, authenticated
// with one bearer token.
type outdial struct {
	url   string // the /graphql endpoint
	token string
	http  *http.Client
}

// newOutdial returns a client for the server at baseURL (e.g.
// http://localhost:8080) using token.
func newOutdial(baseURL, token string) *outdial {
	return &outdial{
		url:   strings.TrimSuffix(baseURL, "/") + "/graphql",
		token: token,
		http:  &http.Client{Timeout: 15 * time.Second},
	}
}

// gqlError is one entry of a GraphQL answer's top-level errors.
type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

// userError is one entry of a mutation payload's userErrors.
type userError struct {
	Field   []string `json:"field"`
	Code    string   `json:"code"`
	Message string   `json:"message"`
}

// userErrorsErr turns a non-empty userErrors list into an error.
func userErrorsErr(errs []userError) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = fmt.Sprintf("%s (%s): %s", e.Code, strings.Join(e.Field, "."), e.Message)
	}
	return errors.New(strings.Join(msgs, "; "))
}

// do sends one GraphQL operation and decodes its data into out. It returns
// an error for a transport failure, a non-200 answer or any top-level
// GraphQL error (e.g. UNAUTHENTICATED for a bad token).
func (c *outdial) do(ctx context.Context, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var answer struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlError      `json:"errors"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&answer); err != nil {
		return fmt.Errorf("%s: HTTP %d: %w", c.url, resp.StatusCode, err)
	}
	if len(answer.Errors) > 0 {
		e := answer.Errors[0]
		return fmt.Errorf("%s: %s (%s)", c.url, e.Message, e.Extensions.Code)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", c.url, resp.StatusCode)
	}
	return json.Unmarshal(answer.Data, out)
}

// me is the token's agent and its calling ability when the app starts.
type me struct {
	ID             string `json:"id"`
	Email          string `json:"email"`
	Name           string `json:"name"`
	CallingAbility struct {
		Version      int64 `json:"version"`
		CanMakeCalls bool  `json:"canMakeCalls"`
		CallerIDs    []struct {
			PhoneNumber     struct{ E164 string } `json:"phoneNumber"`
			Source          string                `json:"source"`
			OutboundProfile struct{ Name string } `json:"outboundProfile"`
		} `json:"callerIds"`
		Blockers []blocker `json:"blockers"`
	} `json:"callingAbility"`
}

// ability returns the agent's current ability in the webhook's form.
func (m me) ability() ability {
	ca := m.CallingAbility
	a := ability{Version: ca.Version, CanMakeCalls: ca.CanMakeCalls, Blockers: ca.Blockers}
	for _, c := range ca.CallerIDs {
		a.CallerIDs = append(a.CallerIDs, callerID{PhoneNumber: c.PhoneNumber.E164, Source: c.Source,
			OutboundProfileName: c.OutboundProfile.Name})
	}
	return a
}

const viewerQuery = `{ viewer { agent { id email name callingAbility { version canMakeCalls
	callerIds { phoneNumber { e164 } source outboundProfile { name } } blockers { code message } } } } }`

// viewer returns the agent of the client's token. It fails when the token
// is not an AGENT token.
func (c *outdial) viewer(ctx context.Context) (me, error) {
	var data struct{ Viewer struct{ Agent *me } }
	if err := c.do(ctx, viewerQuery, nil, &data); err != nil {
		return me{}, err
	}
	if data.Viewer.Agent == nil {
		return me{}, errors.New("the token is not an AGENT token: viewer.agent is null")
	}
	return *data.Viewer.Agent, nil
}

const createEndpointMutation = `mutation($url: String!, $agent: ID!) {
	createWebhookEndpoint(input: {url: $url, description: "example agent app",
		eventTypes: [AGENT_CALLING_ABILITY_CHANGED, WEBHOOK_TEST], agentIds: [$agent]}) {
		webhookEndpoint { id } secret userErrors { field code message } } }`

// createWebhookEndpoint registers url for agentID's ability changes and test
// events, and returns the endpoint's ID and its signing secret (whsec_…),
// which the server shows only this once. A refusal (e.g. URL_NOT_ALLOWED
// for a loopback URL the server does not allow) is returned as an error.
func (c *outdial) createWebhookEndpoint(ctx context.Context, url, agentID string) (id, secret string, err error) {
	var data struct {
		CreateWebhookEndpoint struct {
			WebhookEndpoint *struct{ ID string }
			Secret          string
			UserErrors      []userError
		}
	}
	if err := c.do(ctx, createEndpointMutation, map[string]any{"url": url, "agent": agentID}, &data); err != nil {
		return "", "", err
	}
	p := data.CreateWebhookEndpoint
	if err := userErrorsErr(p.UserErrors); err != nil {
		return "", "", err
	}
	return p.WebhookEndpoint.ID, p.Secret, nil
}

const sendTestMutation = `mutation($id: ID!) {
	sendTestWebhook(input: {id: $id}) { webhookDelivery { id } userErrors { field code message } } }`

// sendTestWebhook asks the server to send a webhook.test event to the
// endpoint.
func (c *outdial) sendTestWebhook(ctx context.Context, endpointID string) error {
	var data struct {
		SendTestWebhook struct{ UserErrors []userError }
	}
	if err := c.do(ctx, sendTestMutation, map[string]any{"id": endpointID}, &data); err != nil {
		return err
	}
	return userErrorsErr(data.SendTestWebhook.UserErrors)
}

const deleteEndpointMutation = `mutation($id: ID!) {
	deleteWebhookEndpoint(input: {id: $id}) { deletedId userErrors { field code message } } }`

// deleteWebhookEndpoint deletes the endpoint; the server then stops sending to it.
func (c *outdial) deleteWebhookEndpoint(ctx context.Context, endpointID string) error {
	var data struct {
		DeleteWebhookEndpoint struct{ UserErrors []userError }
	}
	if err := c.do(ctx, deleteEndpointMutation, map[string]any{"id": endpointID}, &data); err != nil {
		return err
	}
	return userErrorsErr(data.DeleteWebhookEndpoint.UserErrors)
}
