package resolvers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"outdial/graph"
	"outdial/internal/adversarial"
	"outdial/internal/testenv"
	"outdial/resolvers"
)

// validate does for doc what a request does before it runs: parse, the
// document limit, then (when it passes) gqlgen's parse and gqlparser's
// validation with gqlgen's rules. It returns the limit's error, if any.
func validate(tb testing.TB, schema *ast.Schema, doc string) *gqlerror.Error {
	parsed, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: doc}, resolvers.ParserTokenLimit)
	if err != nil {
		tb.Fatalf("document does not parse: %v", err)
	}
	if err := resolvers.CheckDocument(parsed, resolvers.DefaultDepthLimit); err != nil {
		return err
	}
	parsed, _ = parser.ParseQueryWithTokenLimit(&ast.Source{Input: doc}, resolvers.ParserTokenLimit)
	validator.ValidateWithRules(schema, parsed, rules.NewDefaultRules())
	return nil
}

func testSchema() *ast.Schema {
	return graph.NewExecutableSchema(graph.Config{Resolvers: &resolvers.Resolver{}}).Schema()
}

// TestAdversarialDocumentsAreBounded checks that each shape is cut where
// the limits say, with a coded error, and that the shapes have sizes that
// make them adversarial.
func TestAdversarialDocumentsAreBounded(t *testing.T) {
	t.Parallel()
	schema := testSchema()
	for _, a := range adversarial.Documents() {
		t.Run(a.Name, func(t *testing.T) {
			if len(a.Text) > resolvers.MaxBodyBytes {
				t.Fatalf("document is %d bytes, over the body limit", len(a.Text))
			}
			err := validate(t, schema, a.Text)
			switch {
			case !a.Refused && err != nil:
				t.Fatalf("refused: %v", err)
			case a.Refused && err == nil:
				t.Fatalf("not refused")
			case a.Refused:
				if code, _ := err.Extensions["code"].(string); code != "SIZE_LIMIT_EXCEEDED" && code != "DEPTH_LIMIT_EXCEEDED" {
					t.Fatalf("code %q (%s)", code, err.Message)
				}
				t.Log(err.Message)
			}
		})
	}
}

// BenchmarkAdversarialDocuments reports the time a request spends before
// it runs (parse, document limit, validation) for each shape, as
// ms/request; the goal is under 50 ms for the worst.
func BenchmarkAdversarialDocuments(b *testing.B) {
	schema := testSchema()
	for _, a := range adversarial.Documents() {
		b.Run(a.Name, func(b *testing.B) {
			start := time.Now()
			for b.Loop() {
				validate(b, schema, a.Text)
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/request")
			b.ReportMetric(float64(len(a.Text)), "bytes")
		})
	}
}

// graphiqlIntrospection is the introspection query of the playground
// (GraphiQL, every option on): the limits must let it through.
const graphiqlIntrospection = `query IntrospectionQuery {
  __schema {
    description
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL isOneOf
  fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue isDeprecated deprecationReason }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } } }`

func TestPlaygroundIntrospectionWithinLimits(t *testing.T) {
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: graphiqlIntrospection}, resolvers.ParserTokenLimit)
	if err != nil {
		t.Fatal(err)
	}
	if err := resolvers.CheckDocument(doc, resolvers.DefaultDepthLimit); err != nil {
		t.Fatalf("refused: %v", err)
	}
	if errs := validator.ValidateWithRules(testSchema(), doc, rules.NewDefaultRules()); len(errs) > 0 {
		t.Fatalf("invalid: %v", errs)
	}
}

// BenchmarkValidationWithoutLimit is the baseline: what validation of the
// issue's example ({ __typename } 5,000 times) cost before the document
// limit refused it. Compare with same-name/refused of
// BenchmarkAdversarialDocuments, run side by side:
//
//	go test -run XXX -bench 'AdversarialDocuments/same-name/|ValidationWithoutLimit' -benchtime 3x ./resolvers
func BenchmarkValidationWithoutLimit(b *testing.B) {
	schema := testSchema()
	doc := "query Q { " + strings.Repeat("__typename ", 5000) + "}"
	start := time.Now()
	for b.Loop() {
		parsed, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: doc}, resolvers.ParserTokenLimit)
		if err != nil {
			b.Fatal(err)
		}
		validator.ValidateWithRules(schema, parsed, rules.NewDefaultRules())
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/request")
}

// TestIntrospectionFieldsBounded checks that an operation may ask for
// __schema and __type under at most MaxIntrospectionFields response names,
// whatever the notation (aliases, fragments, inline fragments, a mix),
// while copies under one name, which run once, and the same fields in
// other operations of the document do not add up.
func TestIntrospectionFieldsBounded(t *testing.T) {
	schema := testSchema()
	n := resolvers.MaxIntrospectionFields
	aliased := func(count int, field string) string {
		var sb strings.Builder
		for i := range count {
			sb.WriteString(" a" + strings.Repeat("x", i) + ": " + field)
		}
		return sb.String()
	}
	const schemaField, typeField = `__schema { types { name } }`, `__type(name: "Query") { fields { name } }`
	refused := map[string]string{
		"aliased __schema":  "{" + aliased(n+1, schemaField) + " }",
		"aliased __type":    "{" + aliased(n+1, typeField) + " }",
		"a mix":             "{ __schema { queryType { name } } __type(name: \"Queue\") { name }" + aliased(n-1, schemaField) + " }",
		"through fragments": "{ ...A ...B } fragment A on Query {" + aliased(n/2+1, schemaField) + " } fragment B on Query { b1: __type(name: \"Agent\") { name } b2: __type(name: \"Queue\") { name } b3: __schema { types { name } } }",
		"through inline":    "{ ... on Query {" + aliased(n+1, typeField) + " } }",
		"400 copies":        "{" + aliased(400, `__schema { types { fields { args { type { name } } } } }`) + " }",
	}
	for name, doc := range refused {
		err := validate(t, schema, doc)
		if err == nil || err.Extensions["code"] != "SIZE_LIMIT_EXCEEDED" || !strings.Contains(err.Message, "introspection") {
			t.Errorf("%s: got %v, want SIZE_LIMIT_EXCEEDED naming introspection", name, err)
		}
	}
	allowed := map[string]string{
		"the limit, aliased":      "{" + aliased(n, schemaField) + " }",
		"copies under one name":   "{" + strings.Repeat(" "+schemaField, 3*n) + " }",
		"the limit per operation": "query A {" + aliased(n, schemaField) + " } query B {" + aliased(n, typeField) + " }",
		"__typename is not one":   "{" + strings.Repeat(" __typename", 50) + aliased(n, typeField) + " }",
	}
	for name, doc := range allowed {
		if err := validate(t, schema, doc); err != nil {
			t.Errorf("%s: refused: %v", name, err)
		}
	}
}

// TestAdversarialDocumentsAnsweredQuickly sends every adversarial document
// shape (package adversarial: each at the largest size the document
// limits allow and at the largest that parses) to a real server with an
// AGENT token, the token every agent's desktop app holds. Those over a
// limit are refused with a top-level SIZE_LIMIT_EXCEEDED or
// DEPTH_LIMIT_EXCEEDED error and no data; the others are answered (data,
// or validation errors) without a server error. Their validation time is
// BenchmarkAdversarialDocuments's (package resolvers).
func TestAdversarialDocumentsAnsweredQuickly(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	var up struct{ Agents []testenv.IDOnly }
	e.MustMutate("upsertAgents", testenv.UpsertAgents, map[string]any{"agents": []map[string]any{
		{"name": "Ada Agent", "email": "ada@example.com"}}}, &up)
	_, agentToken := e.Token("Ada's desktop", "AGENT", up.Agents[0].ID)
	for _, d := range adversarial.Documents() {
		t.Run(d.Name, func(t *testing.T) {
			r := e.Post(agentToken, d.Text, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("HTTP %d: %+v", r.Status, r.Errors)
			}
			code := r.Code()
			limit := code == "SIZE_LIMIT_EXCEEDED" || code == "DEPTH_LIMIT_EXCEEDED"
			switch {
			case d.Refused && (!limit || r.HasData()):
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
func first(errs []testenv.Error) []testenv.Error {
	return errs[:min(len(errs), 1)]
}
