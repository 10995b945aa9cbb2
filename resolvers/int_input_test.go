package resolvers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"outdial/internal/testenv"
	"strings"
	"testing"
)

// intField is an Int input of the API, reached once with a literal and
// once through a variable (typed Int, or nested in an input object).
type intField struct {
	name string
	// literal is the document with %s where the literal goes.
	literal string
	// variable is the document with the variable; vars(v) its variables.
	variable string
	vars     func(v any) map[string]any
}

// notInts are values GraphQL's Int does not hold: the literal as written
// in a document, the same value as a JSON variable, and what the error
// message must quote.
var notInts = []struct {
	name     string
	literal  string
	variable any
	quoted   string
}{
	{"2^31", "2147483648", json.Number("2147483648"), "2147483648"},
	{"-2^31-1", "-2147483649", json.Number("-2147483649"), "-2147483649"},
	{"overlap that wrapped a Duration", "18446744074", json.Number("18446744074"), "18446744074"},
	{"beyond 64 bits", "99999999999999999999", json.Number("99999999999999999999"), "99999999999999999999"},
	{"a fraction", "1.5", json.Number("1.5"), "1.5"},
	{"an exponent", "1e3", json.Number("1e3"), "1e3"},
	{"a whole number with a fraction part", "2.0", json.Number("2.0"), "2.0"},
	{"a numeric string", `"3"`, "3", `"3"`},
	{"a boolean", "true", true, "true"},
}

// TestIntInputs checks that every Int input (workItemLimit, overlapSeconds,
// first) refuses what is not a signed 32-bit integer, as a literal and as
// a variable, with a top-level BAD_USER_INPUT that quotes the value, and
// that nothing is written.
func TestIntInputs(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	var ep struct{ WebhookEndpoint testenv.IDOnly }
	e.MustMutate("createWebhookEndpoint", testenv.CreateEndpointFull, map[string]any{"url": "https://hooks.example.com/outdial"}, &ep)
	fields := []intField{
		{name: "workItemLimit",
			literal:  `mutation { createCapacityProfile(input: {name: "Literal", workItemLimit: %s}) { capacityProfile { id } userErrors { code } } }`,
			variable: `mutation($input: CreateCapacityProfileInput!) { createCapacityProfile(input: $input) { capacityProfile { id } userErrors { code } } }`,
			vars: func(v any) map[string]any {
				return map[string]any{"input": map[string]any{"name": "Variable", "workItemLimit": v}}
			}},
		{name: "overlapSeconds",
			literal:  `mutation { rotateWebhookSecret(input: {id: "` + ep.WebhookEndpoint.ID + `", overlapSeconds: %s}) { secret userErrors { code } } }`,
			variable: testenv.RotateSecret,
			vars:     func(v any) map[string]any { return map[string]any{"id": ep.WebhookEndpoint.ID, "overlap": v} }},
		{name: "first",
			literal:  `{ agents(first: %s) { totalCount } }`,
			variable: `query($first: Int) { agents(first: $first) { totalCount } }`,
			vars:     func(v any) map[string]any { return map[string]any{"first": v} }},
	}
	for _, f := range fields {
		for _, v := range notInts {
			t.Run(f.name+"/literal/"+v.name, func(t *testing.T) {
				r := e.As(t).Rejected(e.Admin, "BAD_USER_INPUT", http.StatusOK, fmt.Sprintf(f.literal, v.literal), nil)
				wantIntMessage(t, r, v.quoted)
			})
			t.Run(f.name+"/variable/"+v.name, func(t *testing.T) {
				r := e.As(t).Rejected(e.Admin, "BAD_USER_INPUT", http.StatusOK, f.variable, f.vars(v.variable))
				wantIntMessage(t, r, v.quoted)
			})
		}
		t.Run(f.name+"/null for Int!", func(t *testing.T) {
			doc := strings.Replace(f.variable, "$overlap: Int)", "$overlap: Int!)", 1)
			doc = strings.Replace(doc, "$first: Int)", "$first: Int!)", 1)
			if f.name == "workItemLimit" {
				doc = `mutation($limit: Int!) { createCapacityProfile(input: {name: "Null", workItemLimit: $limit}) { capacityProfile { id } } }`
			}
			vars := f.vars(nil)
			if f.name == "workItemLimit" {
				vars = map[string]any{"limit": nil}
			}
			r := e.As(t).Rejected(e.Admin, "BAD_USER_INPUT", http.StatusOK, doc, vars)
			wantIntMessage(t, r, "null")
		})
	}
}

// wantIntMessage checks that the first error of r quotes the value and
// names Int's bounds. (A literal beyond 64 bits inside an input object
// gets a second error from gqlparser, about the object that holds it.)
func wantIntMessage(t *testing.T, r testenv.Response, quoted string) {
	t.Helper()
	msg := r.Errors[0].Message
	if !strings.Contains(msg, quoted+" is not an Int") || !strings.Contains(msg, "-2147483648 to 2147483647") {
		t.Errorf("message %q does not quote %s and name the bounds of Int", msg, quoted)
	}
}

// TestIntInputsInRange checks that whole numbers within Int pass, as
// literals, as variables and nested in input objects, and reach the rules
// of their field (which refuse them with the field's own bounds).
func TestIntInputsInRange(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	var cp struct {
		CapacityProfile struct{ WorkItemLimit int }
	}
	e.MustMutate("createCapacityProfile", testenv.CreateCapacity, map[string]any{"name": "Three", "limit": json.Number("3")}, &cp)
	if cp.CapacityProfile.WorkItemLimit != 3 {
		t.Errorf("workItemLimit 3 as a variable gave %d", cp.CapacityProfile.WorkItemLimit)
	}
	var nested struct {
		CreateCapacityProfile struct {
			CapacityProfile struct{ WorkItemLimit int }
		}
	}
	e.Query(`mutation($in: CreateCapacityProfileInput!) { createCapacityProfile(input: $in) { capacityProfile { workItemLimit } } }`,
		map[string]any{"in": map[string]any{"name": "Seven", "workItemLimit": 7}}, &nested)
	if got := nested.CreateCapacityProfile.CapacityProfile.WorkItemLimit; got != 7 {
		t.Errorf("workItemLimit 7 nested in a variable gave %d", got)
	}
	for _, limit := range []string{"2147483647", "-2147483648"} {
		ue := e.Refused("INVALID_INPUT", "createCapacityProfile",
			`mutation { createCapacityProfile(input: {name: "Edge", workItemLimit: `+limit+`}) { capacityProfile { id } userErrors { field message code } } }`, nil)
		if !strings.Contains(ue.Message, "1 to 100") {
			t.Errorf("workItemLimit %s: %q does not name the bounds", limit, ue.Message)
		}
	}
	var ep struct{ WebhookEndpoint testenv.IDOnly }
	e.MustMutate("createWebhookEndpoint", testenv.CreateEndpointFull, map[string]any{"url": "https://hooks.example.com/outdial"}, &ep)
	for _, overlap := range []int{2147483647, -2147483648, 604801} {
		ue := e.Refused("INVALID_INPUT", "rotateWebhookSecret", testenv.RotateSecret, map[string]any{"id": ep.WebhookEndpoint.ID, "overlap": overlap})
		if !strings.Contains(ue.Message, fmt.Sprint(overlap)) || !strings.Contains(ue.Message, "604800") {
			t.Errorf("overlapSeconds %d: %q does not name the value and the bound", overlap, ue.Message)
		}
	}
	for _, first := range []string{"2147483647", "-2147483648"} {
		r := e.Rejected(e.Admin, "BAD_USER_INPUT", http.StatusOK, `{ agents(first: `+first+`) { totalCount } }`, nil)
		if !strings.Contains(r.Errors[0].Message, "between 0 and 100") {
			t.Errorf("first %s: %q does not name the bounds of first", first, r.Errors[0].Message)
		}
	}
}

// TestComplexityDoesNotWrap checks that page sizes whose product with
// their selection overflows 64 bits count as the most they can cost, not
// as what the product wraps around to. In the document below, 2^30 times
// the cost of the queues' selection (2^34 with 64-bit arithmetic) is 2^64:
// it used to cost 1 and pass the limit.
func TestComplexityDoesNotWrap(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	// A first over 100 is refused before the complexity is computed.
	doc := `{ queues(first: 1073741824) { nodes { id name channel description createdAt updatedAt
		agents(first: 2147483647) { nodes { id name email unifiedRoutingEnabled createdAt updatedAt } totalCount } } } }`
	e.Rejected(e.Admin, "BAD_USER_INPUT", http.StatusOK, doc, nil)
	nested := `{ queues(first: 100) { nodes { agents(first: 100) { nodes { queues { agents(first: 100) {
		nodes { queues { agents(first: 100) { nodes { name } } } } } } } } } } }`
	e.Rejected(e.Admin, "COMPLEXITY_LIMIT_EXCEEDED", http.StatusOK, nested, nil)
}
