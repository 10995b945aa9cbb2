package resolvers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Media types of GraphQL over HTTP.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// CodeBadRequest is the extensions.code of a request that is not a GraphQL
// request at all (no JSON body, no query, parameters of the wrong type).
const CodeBadRequest = "BAD_REQUEST"

// graphqlHTTP is the GET and POST transport of /graphql. It follows the
// GraphQL over HTTP specification (graphql.github.io/graphql-over-http),
// where gqlgen's own transports differ:
//
//   - a request that is not a GraphQL request (unreadable JSON, no query,
//     a parameter of the wrong type) is 400; a POST body that is not
//     application/json (UTF-8) is 415, one over MaxBodyBytes is 413;
//   - a request the GraphQL engine refuses before executing it (parse,
//     validation, variable coercion, complexity and depth limits) is
//     answered without a data entry: 200 under application/json, 400 under
//     application/graphql-response+json;
//   - a GET that is not a query is 405 (Allow: POST).
//
// The answer's media type follows the Accept header; application/json
// when it names neither.
type graphqlHTTP struct{}

var _ graphql.Transport = graphqlHTTP{}

// Supports reports whether r is a plain (not WebSocket) GET or POST.
func (graphqlHTTP) Supports(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodPost) && r.Header.Get("Upgrade") == ""
}

// Do answers one GraphQL request.
func (graphqlHTTP) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := responseMediaType(r.Header.Get("Accept"))
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	start := graphql.Now()
	params, status, err := readParams(r)
	if err != nil {
		writeGraphQLErrors(w, status, &graphql.Response{Errors: gqlerror.List{requestError(err)}})
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	ctx := r.Context()
	opCtx, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		status := http.StatusOK
		if media == mediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		writeGraphQLErrors(w, status, exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs))
		return
	}
	if opCtx.Operation.Operation == ast.Subscription {
		err := requestError(errors.New("subscriptions run over a WebSocket (graphql-transport-ws) on /graphql, not over GET or POST"))
		writeGraphQLErrors(w, http.StatusBadRequest, &graphql.Response{Errors: gqlerror.List{err}})
		return
	}
	if r.Method == http.MethodGet && opCtx.Operation.Operation != ast.Query {
		w.Header().Set("Allow", http.MethodPost)
		err := requestError(fmt.Errorf("GET runs queries only; send a %s with POST", opCtx.Operation.Operation))
		writeGraphQLErrors(w, http.StatusMethodNotAllowed, &graphql.Response{Errors: gqlerror.List{err}})
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	if resp := responses(ctx); resp != nil {
		writeJSON(w, http.StatusOK, resp)
	}
}

// responseMediaType picks the media type of the answer from an Accept
// header: the supported type with the highest quality (the first one on a
// tie), and application/json when the header names neither.
func responseMediaType(accept string) string {
	best, bestQ := mediaJSON, 0.0
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		switch mt {
		case mediaGraphQLResponse:
		case mediaJSON, "application/*", "*/*":
			mt = mediaJSON
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = mt, q
		}
	}
	return best
}

// requestBody is the JSON body of a POST (and the parameters of a GET).
type requestBody struct {
	Query         *string        `json:"query"`
	OperationName *string        `json:"operationName"`
	Variables     map[string]any `json:"variables"`
	Extensions    map[string]any `json:"extensions"`
}

// readParams reads the GraphQL parameters of r, or returns the HTTP status
// and the reason why r is not a GraphQL request.
func readParams(r *http.Request) (*graphql.RawParams, int, error) {
	var body requestBody
	if r.Method == http.MethodGet {
		if err := fromQueryString(r.URL.RawQuery, &body); err != nil {
			return nil, http.StatusBadRequest, err
		}
	} else if status, err := fromJSONBody(r, &body); err != nil {
		return nil, status, err
	}
	if body.Query == nil || strings.TrimSpace(*body.Query) == "" {
		return nil, http.StatusBadRequest, errors.New(`the request has no query: send {"query": "{ viewer { role } }"}`)
	}
	params := &graphql.RawParams{Query: *body.Query, Variables: body.Variables, Extensions: body.Extensions}
	if body.OperationName != nil {
		params.OperationName = *body.OperationName
	}
	return params, 0, nil
}

// fromQueryString reads the parameters of a GET: query, operationName, and
// variables and extensions as JSON objects.
func fromQueryString(rawQuery string, body *requestBody) error {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fmt.Errorf("the query string is malformed: %w", err)
	}
	if q.Has("query") {
		body.Query = new(q.Get("query"))
	}
	if q.Has("operationName") {
		body.OperationName = new(q.Get("operationName"))
	}
	for name, dst := range map[string]*map[string]any{"variables": &body.Variables, "extensions": &body.Extensions} {
		if v := q.Get(name); v != "" {
			if err := decodeJSON(strings.NewReader(v), dst); err != nil {
				return fmt.Errorf("the %s parameter is not a JSON object: %w", name, err)
			}
		}
	}
	return nil
}

// fromJSONBody reads the body of a POST, which must be one JSON object
// sent as application/json in UTF-8.
func fromJSONBody(r *http.Request, body *requestBody) (int, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != mediaJSON {
		return http.StatusUnsupportedMediaType, errors.New("send the request as Content-Type: application/json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return http.StatusUnsupportedMediaType, fmt.Errorf("charset %q is not supported: send UTF-8", cs)
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return http.StatusRequestEntityTooLarge, fmt.Errorf("the request body is larger than %d bytes", MaxBodyBytes)
		}
		return http.StatusBadRequest, fmt.Errorf("read the request body: %w", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return http.StatusBadRequest, errors.New(`the request body is empty: send {"query": "{ viewer { role } }"}`)
	}
	if err := decodeJSON(bytes.NewReader(raw), body); err != nil {
		return http.StatusBadRequest, fmt.Errorf("the request body is not a GraphQL request in JSON: %w", err)
	}
	return 0, nil
}

// decodeJSON decodes exactly one JSON value from r into v, keeping numbers
// as json.Number as gqlgen expects. An object that names one key twice is
// refused: Go keeps the last, other readers (a proxy, a log) the first,
// so {"query": "{ viewer { role } }", "query": "mutation …"} would run
// what they did not see.
func decodeJSON(r io.Reader, v any) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if key := repeatedKey(raw); key != "" {
		return fmt.Errorf("the object names %q twice", key)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// repeatedKey returns the first key that an object of raw, at any depth,
// names twice; "" when there is none or raw is not JSON (the decoder then
// says what is wrong).
func repeatedKey(raw []byte) string {
	type object struct {
		keys      map[string]bool
		expectKey bool
	}
	var stack []*object // the objects being read, innermost last; nil for an array
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		t, err := dec.Token()
		if err != nil {
			return ""
		}
		var top *object
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if key, ok := t.(string); ok && top != nil && top.expectKey {
			if top.keys[key] {
				return key
			}
			top.keys[key], top.expectKey = true, false
			continue
		}
		switch t {
		case json.Delim('{'):
			stack = append(stack, &object{keys: map[string]bool{}, expectKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, nil)
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return ""
			}
		}
		// A value ended: the enclosing object expects its next key.
		if len(stack) == 0 {
			return "" // a value that is no object or array
		}
		if top := stack[len(stack)-1]; top != nil {
			top.expectKey = true
		}
	}
}

// requestError is the GraphQL error of a request that is not a GraphQL
// request.
func requestError(err error) *gqlerror.Error {
	return &gqlerror.Error{Message: err.Error(), Extensions: map[string]any{"code": CodeBadRequest}}
}

// writeGraphQLErrors writes a response that has no data entry: the request
// failed before anything was executed.
func writeGraphQLErrors(w http.ResponseWriter, status int, resp *graphql.Response) {
	writeJSON(w, status, struct {
		Errors     gqlerror.List  `json:"errors"`
		Extensions map[string]any `json:"extensions,omitempty"`
	}{resp.Errors, resp.Extensions})
}

// writeJSON writes v as the body of an answer with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Errorf("encode GraphQL response: %w", err))
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
