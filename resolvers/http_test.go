package resolvers

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"outdial/calling"
	"outdial/models"
	"outdial/models/dbtest"
	"outdial/webhooks"
)

const testToken = "odt_http-test-admin"

// newTestServer serves NewHandler over HTTP on a fresh database that has
// an ADMIN token testToken.
func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	db := dbtest.Open(t)
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc := calling.New(db, webhooks.NewOutbox(models.Now), log, calling.WithAbilityCheck(func(action string, err error) {
		t.Errorf("refresh oracle: after %s, the stored abilities are not those of the configuration:\n%v", action, err)
	}))
	if _, err := svc.EnsureBootstrapToken(context.Background(), testToken); err != nil {
		t.Fatalf("bootstrap token: %v", err)
	}
	srv := httptest.NewServer(NewHandler(Config{Service: svc, Log: log}))
	t.Cleanup(srv.Close)
	return srv
}

// httpCase is one request to /graphql and what must come back.
type httpCase struct {
	name        string
	method      string // POST when empty
	query       string // URL query string of a GET
	contentType string
	accept      string
	body        string
	noToken     bool

	status   int
	media    string // the answer's media type; application/json when empty
	code     string // extensions.code of the first error; none when empty
	hasData  bool   // whether the answer has a data entry
	dataJSON string // when set, the exact data entry
}

const (
	jsonCT      = mediaJSON
	gqlResponse = mediaGraphQLResponse
)

// Requests are answered as GraphQL over HTTP says: the media type follows
// Accept, requests that are not GraphQL requests are 4xx, and errors raised
// before execution come without a data entry (200 under application/json,
// 400 under application/graphql-response+json).
func TestGraphQLOverHTTP(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	coerce := `{"query":"query Q($id: ID!) { node(id: $id) { id } }","variables":{"id":null}}`
	tooComplex := `{"query":"{ agents(first: 100) { nodes { queues { agents(first: 100) { nodes { queues { name } } } } } } }"}`
	for _, c := range []httpCase{
		{name: "NoToken", noToken: true, contentType: jsonCT, body: `{"query":"{ __typename }"}`,
			status: 401, code: CodeUnauthenticated},
		{name: "OK", contentType: jsonCT, body: `{"query":"{ viewer { role } }"}`,
			status: 200, hasData: true, dataJSON: `{"viewer":{"role":"ADMIN"}}`},
		{name: "OKGraphQLResponse", contentType: jsonCT, accept: gqlResponse, body: `{"query":"{ viewer { role } }"}`,
			status: 200, media: gqlResponse, hasData: true, dataJSON: `{"viewer":{"role":"ADMIN"}}`},
		{name: "OKPreferredByQuality", contentType: jsonCT, accept: gqlResponse + ";q=0.5, application/json",
			body: `{"query":"{ __typename }"}`, status: 200, hasData: true},
		{name: "OKUnknownAccept", contentType: jsonCT, accept: "text/html", body: `{"query":"{ __typename }"}`,
			status: 200, hasData: true},
		{name: "OKUTF8Charset", contentType: jsonCT + "; charset=UTF-8", body: `{"query":"{ __typename }"}`,
			status: 200, hasData: true},
		{name: "OKOperationNameAndNulls", contentType: jsonCT,
			body:   `{"query":"query A { __typename } query B { viewer { role } }","operationName":"B","variables":null,"extensions":null}`,
			status: 200, hasData: true, dataJSON: `{"viewer":{"role":"ADMIN"}}`},

		{name: "ParseFailedJSON", contentType: jsonCT, body: `{"query":"{"}`,
			status: 200, code: "GRAPHQL_PARSE_FAILED"},
		{name: "ParseFailedGraphQLResponse", contentType: jsonCT, accept: gqlResponse, body: `{"query":"{"}`,
			status: 400, media: gqlResponse, code: "GRAPHQL_PARSE_FAILED"},
		{name: "ValidationFailedJSON", contentType: jsonCT, body: `{"query":"{ noSuchField }"}`,
			status: 200, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "ValidationFailedGraphQLResponse", contentType: jsonCT, accept: gqlResponse, body: `{"query":"{ noSuchField }"}`,
			status: 400, media: gqlResponse, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "CoercionFailedJSON", contentType: jsonCT, body: coerce,
			status: 200, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "CoercionFailedGraphQLResponse", contentType: jsonCT, accept: gqlResponse, body: coerce,
			status: 400, media: gqlResponse, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "ComplexityJSON", contentType: jsonCT, body: tooComplex,
			status: 200, code: "COMPLEXITY_LIMIT_EXCEEDED"},
		{name: "ComplexityGraphQLResponse", contentType: jsonCT, accept: gqlResponse, body: tooComplex,
			status: 400, media: gqlResponse, code: "COMPLEXITY_LIMIT_EXCEEDED"},
		{name: "ExecutionErrorKeepsData", contentType: jsonCT, accept: gqlResponse,
			body:   `{"query":"{ queues(after: \"not a cursor\") { nodes { name } } }"}`,
			status: 200, media: gqlResponse, code: CodeBadUserInput, hasData: true, dataJSON: `null`},

		{name: "BodyNotJSON", contentType: jsonCT, body: `{ "not a JSON`, status: 400, code: CodeBadRequest},
		{name: "BodyNotJSONGraphQLResponse", contentType: jsonCT, accept: gqlResponse, body: `{ "not a JSON`,
			status: 400, media: gqlResponse, code: CodeBadRequest},
		{name: "TrailingData", contentType: jsonCT, body: `{"query":"{ __typename }"} {}`, status: 400, code: CodeBadRequest},
		{name: "EmptyBody", contentType: jsonCT, status: 400, code: CodeBadRequest},
		// A key named twice: Go keeps the last, a proxy or log may read the first.
		{name: "QueryTwice", contentType: jsonCT,
			body:   `{"query":"{ viewer { role } }","query":"mutation { createQueue(input: {name: \"dup\", channel: VOICE}) { queue { id } } }"}`,
			status: 400, code: CodeBadRequest},
		{name: "OperationNameTwice", contentType: jsonCT,
			body:   `{"query":"query A { __typename } query B { viewer { role } }","operationName":"A","operationName":"B"}`,
			status: 400, code: CodeBadRequest},
		{name: "VariablesTwice", contentType: jsonCT,
			body:   `{"query":"query($f: Int) { agents(first: $f) { nodes { id } } }","variables":{"f":1},"variables":{"f":2}}`,
			status: 400, code: CodeBadRequest},
		{name: "VariablesTwiceGET", method: http.MethodGet,
			query:  "query=" + url.QueryEscape(`query($f: Int) { agents(first: $f) { nodes { id } } }`) + "&variables=" + url.QueryEscape(`{"f":1,"f":2}`),
			status: 400, code: CodeBadRequest},
		{name: "VariableFieldTwice", contentType: jsonCT,
			body:   `{"query":"mutation($i: CreateQueueInput!) { createQueue(input: $i) { queue { id } } }","variables":{"i":{"name":"a","channel":"VOICE","name":"b"}}}`,
			status: 400, code: CodeBadRequest},
		{name: "KeyTwiceInAList", contentType: jsonCT,
			body:   `{"query":"query($i: [ID!]) { nodes(ids: $i) { id } }","variables":{"i":[],"x":[{"a":1},{"a":2,"a":3}]}}`,
			status: 400, code: CodeBadRequest},
		{name: "BodyANumber", contentType: jsonCT, body: `1`, status: 400, code: CodeBadRequest},
		{name: "BodyAString", contentType: jsonCT, body: `"{ __typename }"`, status: 400, code: CodeBadRequest},
		{name: "BodyNull", contentType: jsonCT, body: `null`, status: 400, code: CodeBadRequest},
		{name: "BodyAList", contentType: jsonCT, body: `[{"query":"{ __typename }"},{"query":"{ __typename }"}]`, status: 400, code: CodeBadRequest},
		{name: "SameNameInsideVariablesIsTheirs", contentType: jsonCT,
			body:   `{"query":"query($f: Int) { agents(first: $f) { nodes { id } } }","variables":{"f":1,"g":{"f":2}}}`,
			status: 200, hasData: true},
		{name: "NoQuery", contentType: jsonCT, body: `{"qeury":"{ __typename }"}`, status: 400, code: CodeBadRequest},
		{name: "QueryNotString", contentType: jsonCT, body: `{"query":{"obj":"ect"}}`, status: 400, code: CodeBadRequest},
		{name: "VariablesNotObject", contentType: jsonCT, body: `{"query":"{ __typename }","variables":"x"}`,
			status: 400, code: CodeBadRequest},
		{name: "NoContentType", body: `{"query":"{ __typename }"}`, status: 415, code: CodeBadRequest},
		{name: "OtherContentType", contentType: "text/plain", body: `{"query":"{ __typename }"}`,
			status: 415, code: CodeBadRequest},
		{name: "OtherCharset", contentType: jsonCT + "; charset=latin1", body: `{"query":"{ __typename }"}`,
			status: 415, code: CodeBadRequest},
		{name: "BodyTooLarge", contentType: jsonCT, body: `{"query":"{ __typename }"}` + strings.Repeat(" ", MaxBodyBytes),
			status: 413, code: CodeBadRequest},

		{name: "GetQuery", method: "GET", query: "query=" + url.QueryEscape("{ viewer { role } }"),
			status: 200, hasData: true, dataJSON: `{"viewer":{"role":"ADMIN"}}`},
		{name: "GetVariables", method: "GET",
			query:  "query=" + url.QueryEscape("query Q($n: String!) { __type(name: $n) { name } }") + "&variables=" + url.QueryEscape(`{"n":"Agent"}`),
			status: 200, hasData: true, dataJSON: `{"__type":{"name":"Agent"}}`},
		{name: "GetMutation", method: "GET", accept: gqlResponse, query: "query=" + url.QueryEscape("mutation { __typename }"),
			status: 405, media: gqlResponse, code: CodeBadRequest},
		{name: "GetNoQuery", method: "GET", status: 400, code: CodeBadRequest},
		{name: "GetVariablesNotJSON", method: "GET", query: "query=" + url.QueryEscape("{ __typename }") + "&variables=x",
			status: 400, code: CodeBadRequest},
	} {
		t.Run(c.name, func(t *testing.T) { c.check(t, srv.URL) })
	}
}

// check sends c's request to the server at base and checks the answer.
func (c httpCase) check(t *testing.T, base string) {
	t.Helper()
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequest(method, base+"?"+c.query, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	if c.accept != "" {
		req.Header.Set("Accept", c.accept)
	}
	if !c.noToken {
		req.Header.Set("Authorization", "Bearer "+testToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	if resp.StatusCode != c.status {
		t.Errorf("status %d; want %d (body %s)", resp.StatusCode, c.status, raw)
	}
	media := c.media
	if media == "" {
		media = mediaJSON
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, media) {
		t.Errorf("Content-Type %q; want %s", ct, media)
	}
	if c.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != http.MethodPost {
		t.Errorf("Allow %q; want POST", resp.Header.Get("Allow"))
	}
	var body struct {
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("answer is not JSON: %s", raw)
	}
	var entries map[string]json.RawMessage
	_ = json.Unmarshal(raw, &entries)
	data, hasData := entries["data"]
	if hasData != c.hasData {
		t.Errorf("data entry present = %t; want %t (body %s)", hasData, c.hasData, raw)
	}
	if c.dataJSON != "" && string(data) != c.dataJSON {
		t.Errorf("data %s; want %s", raw, c.dataJSON)
	}
	switch {
	case c.code == "" && len(body.Errors) > 0:
		t.Errorf("errors %s; want none", raw)
	case c.code != "" && len(body.Errors) == 0:
		t.Errorf("no errors; want %s (body %s)", c.code, raw)
	case c.code != "" && body.Errors[0].Extensions["code"] != c.code:
		t.Errorf("error code %v; want %s (body %s)", body.Errors[0].Extensions["code"], c.code, raw)
	case c.code != "" && body.Errors[0].Message == "":
		t.Errorf("error without a message: %s", raw)
	}
}

func TestResponseMediaType(t *testing.T) {
	for i, c := range []struct{ accept, want string }{
		{"", mediaJSON},
		{"*/*", mediaJSON},
		{"application/*", mediaJSON},
		{"text/html", mediaJSON},
		{"application/json", mediaJSON},
		{mediaGraphQLResponse, mediaGraphQLResponse},
		{mediaGraphQLResponse + ", application/json", mediaGraphQLResponse},
		{"application/json, " + mediaGraphQLResponse, mediaJSON},
		{"application/json;q=0.9, " + mediaGraphQLResponse, mediaGraphQLResponse},
		{mediaGraphQLResponse + ";q=0, */*", mediaJSON},
		{mediaGraphQLResponse + "; charset=utf-8", mediaGraphQLResponse},
		{"text/html, " + mediaGraphQLResponse + ";q=0.1", mediaGraphQLResponse},
		{"bad;;;, " + mediaGraphQLResponse, mediaGraphQLResponse},
	} {
		if got := responseMediaType(c.accept); got != c.want {
			t.Errorf("#%d: responseMediaType(%q) = %s; want %s", i, c.accept, got, c.want)
		}
	}
}
