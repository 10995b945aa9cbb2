package testenv

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// TokenState is an apiTokens node as the tests read it.
type TokenState struct {
	ID, Name, Role string
	Revoked        bool
}

// Tokens reads every token as token (an ADMIN), by name.
func (e *Env) Tokens(token string) map[string]TokenState {
	e.T.Helper()
	var data struct {
		APITokens struct{ Nodes []TokenState } `json:"apiTokens"`
	}
	e.QueryAs(token, `{ apiTokens(first: 100) { nodes { id name role revoked } } }`, nil, &data)
	out := map[string]TokenState{}
	for _, n := range data.APITokens.Nodes {
		out[n.Name] = n
	}
	return out
}

// Works reports whether token authenticates (viewer answers 200), and
// fails the test on anything but 200 or 401.
func (e *Env) Works(token string) bool {
	e.T.Helper()
	r := e.Do(token, `{ viewer { role } }`, nil)
	switch {
	case r.Status == http.StatusOK && len(r.Errors) == 0:
		return true
	case r.Status == http.StatusUnauthorized && r.Code() == "UNAUTHENTICATED":
		return false
	}
	e.T.Fatalf("viewer: HTTP %d %+v", r.Status, r.Errors)
	return false
}

// Post sends a GraphQL request from any goroutine: it never fails the
// test, transport errors come back as status 0.
func (e *Env) Post(token, query string, vars map[string]any) Response {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, e.Srv.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		return Response{Errors: []Error{{Message: err.Error()}}}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Response{Errors: []Error{{Message: err.Error()}}}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := Response{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, &out); err != nil {
		out.Errors = append(out.Errors, Error{Message: "not JSON: " + string(raw)})
	}
	return out
}

// RequireNoData checks that an unauthenticated or refused request got no
// data at all.
func RequireNoData(t testing.TB, r Response) {
	t.Helper()
	if r.HasData() {
		t.Fatalf("answer carries data %s; want none", r.Data)
	}
}

// TokenAs creates a token of role as token (an ADMIN) and returns its ID
// and value.
func (e *Env) TokenAs(token, name, role string) (id, value string) {
	e.T.Helper()
	var p struct {
		Token    string
		APIToken IDOnly `json:"apiToken"`
	}
	if errs := e.MutateAs(token, "createApiToken", CreateToken, map[string]any{"name": name, "role": role}, &p); len(errs) > 0 {
		e.T.Fatalf("createApiToken %s: %+v", name, errs)
	}
	return p.APIToken.ID, p.Token
}

// RevokeTokenAs revokes a token as token and returns the userErrors.
func (e *Env) RevokeTokenAs(token, id string) []UserError {
	e.T.Helper()
	return e.MutateAs(token, "revokeApiToken", RevokeToken, map[string]any{"id": id}, nil)
}
