package main

import (
	"net/http"
	"strings"
	"testing"

	"outdial/internal/adversarial"
)

// TestAdversarialDocumentsAnsweredQuickly sends every adversarial document
// shape (package adversarial: each at the largest size the document
// limits allow and at the largest that parses) to a real server with an
// AGENT token, the token every agent's desktop app holds. Those over a
// limit are refused with a top-level SIZE_LIMIT_EXCEEDED or
// DEPTH_LIMIT_EXCEEDED error and no data; the others are answered (data,
// or validation errors) without a server error. Their validation time is
// BenchmarkAdversarialDocuments's (package resolvers).
func TestAdversarialDocumentsAnsweredQuickly(t *testing.T) {
	e := setup(t)
	var up struct{ Agents []idOnly }
	e.mustMutate("upsertAgents", upsertAgentsM, map[string]any{"agents": []map[string]any{
		{"name": "Ada Agent", "email": "ada@example.com"}}}, &up)
	_, agentToken := e.token("Ada's desktop", "AGENT", up.Agents[0].ID)
	for _, d := range adversarial.Documents() {
		t.Run(d.Name, func(t *testing.T) {
			r := e.post(agentToken, d.Text, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("HTTP %d: %+v", r.Status, r.Errors)
			}
			code := r.code()
			limit := code == "SIZE_LIMIT_EXCEEDED" || code == "DEPTH_LIMIT_EXCEEDED"
			switch {
			case d.Refused && (!limit || r.hasData()):
				t.Fatalf("want a top-level limit error and no data, got %s %+v data %s", code, first(r.Errors), r.Data)
			case d.Refused && !strings.Contains(r.Errors[0].Message, "limit"):
				t.Fatalf("the message does not name the limit: %q", r.Errors[0].Message)
			case !d.Refused && limit:
				t.Fatalf("refused: %s", r.Errors[0].Message)
			case !d.Refused && len(r.Errors) > 0 && code != "GRAPHQL_VALIDATION_FAILED" && code != "COMPLEXITY_LIMIT_EXCEEDED" && code != "BAD_USER_INPUT" && code != "FORBIDDEN":
				t.Fatalf("unexpected error %s: %+v", code, first(r.Errors))
			}
		})
	}
}

// first returns at most the first error of errs, for messages.
func first(errs []gqlError) []gqlError {
	return errs[:min(len(errs), 1)]
}
