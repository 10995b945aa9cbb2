package resolvers_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"outdial/calling"
	"outdial/internal/hooktest"
	"outdial/internal/server"
	"outdial/internal/testenv"
)

// Acceptance tests of the webhooks through the API (docs/domain.md,
// "Webhooks"): the real
// server, GraphQL over HTTP, real receivers that verify every signature
// with the Standard Webhooks library.

// retrySchedule sets the server's webhook retry schedule.
func retrySchedule(delays ...time.Duration) func(*server.Config) {
	return func(c *server.Config) { c.WebhookRetrySchedule = delays }
}

func succeeded(d testenv.DeliveryNode) bool { return d.Status == "SUCCEEDED" }

// endpointIDs lists the IDs of webhookEndpoints as token.
func endpointIDs(e *testenv.Env, token string) []string {
	e.T.Helper()
	var data struct {
		WebhookEndpoints struct {
			TotalCount int
			Nodes      []testenv.IDOnly
		}
	}
	e.QueryAs(token, `{ webhookEndpoints(first: 100) { totalCount nodes { id } } }`, nil, &data)
	ids := []string{}
	for _, n := range data.WebhookEndpoints.Nodes {
		ids = append(ids, n.ID)
	}
	if len(ids) != data.WebhookEndpoints.TotalCount {
		e.T.Fatalf("webhookEndpoints: %d nodes, totalCount %d", len(ids), data.WebhookEndpoints.TotalCount)
	}
	return ids
}

// jsonEqual fails the test unless got (JSON) holds exactly want, with no
// field more or less.
func jsonEqual(t *testing.T, what string, got json.RawMessage, want any) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %s is not JSON: %v", what, got, err)
	}
	raw, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, got, raw)
	}
}

// envelope is a webhook body split into its three fields.
type hookBody struct {
	Type      string
	Timestamp string
	Data      json.RawMessage
}

// decodeBody checks a body is exactly {type, timestamp, data} with an RFC
// 3339 timestamp close to now, and returns it.
func decodeBody(t *testing.T, r hooktest.Request) hookBody {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &fields); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	keys := []string{}
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"data", "timestamp", "type"}) {
		t.Errorf("body fields %v, want data, timestamp, type: %s", keys, r.Body)
	}
	var b hookBody
	if err := json.Unmarshal(r.Body, &b); err != nil {
		t.Fatal(err)
	}
	ts, err := time.Parse(time.RFC3339, b.Timestamp)
	if err != nil {
		t.Errorf("timestamp %q is not RFC 3339: %v", b.Timestamp, err)
	} else if d := r.Arrived.Sub(ts); d < -time.Minute || d > time.Minute {
		t.Errorf("timestamp %s is %s away from the time it arrived", b.Timestamp, d)
	}
	return b
}

var (
	msgIDPattern     = regexp.MustCompile(`^msg_[0-9A-Za-z]+$`)
	signaturePattern = regexp.MustCompile(`^v1,[A-Za-z0-9+/]+={0,2}$`)
)

// checkHeaders checks the Standard Webhooks headers of a request: the
// library verified the signature already.
func checkHeaders(t *testing.T, r hooktest.Request) {
	t.Helper()
	if !msgIDPattern.MatchString(r.ID) {
		t.Errorf("webhook-id %q: want msg_…", r.ID)
	}
	ts, err := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
	if err != nil {
		t.Errorf("webhook-timestamp %q is not Unix seconds", r.Header.Get("webhook-timestamp"))
	} else if d := r.Arrived.Sub(time.Unix(ts, 0)); d < -time.Minute || d > time.Minute {
		t.Errorf("webhook-timestamp %d is %s away from the time it arrived", ts, d)
	}
	for _, sig := range strings.Fields(r.Header.Get("webhook-signature")) {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sig, "v1,"))
		if !signaturePattern.MatchString(sig) || err != nil || len(raw) != 32 {
			t.Errorf("webhook-signature part %q: want v1,<base64 of an HMAC-SHA256>", sig)
		}
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content-type %q, want application/json", ct)
	}
}

// TestWebhookBodyFields follows an agent that gains caller IDs (through a
// profile with a callerIdName and capacity settings, then a personal
// number governed by the default profile) and checks every field of every
// body the receiver gets against docs/domain.md, "Webhooks", the headers, and that each
// body is byte for byte the payload the API shows.
func TestWebhookBodyFields(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t, testenv.AllowLoopback)
	rc := hooktest.New(t, hooktest.Options{})
	ep, _ := e.CreateHook("", rc, nil)
	got := 0
	// next waits for the webhooks of one mutation, so that no version
	// overtakes an older one (which would then be SUPERSEDED).
	next := func(n int) []hooktest.Request {
		got += n
		return rc.WaitAnswered(got)[got-n:]
	}

	n1 := e.AddNumberID("+1 425 555 0100", "RECEIVE_CALLS", "MAKE_CALLS")
	personal := e.AddNumberID("+1 206 555 0123")
	queue := e.QueueID("Outbound sales", "VOICE")
	var cp struct{ CapacityProfile testenv.IDOnly }
	e.MustMutate("createCapacityProfile", testenv.CreateCapacity,
		map[string]any{"name": "Outbound voice", "limit": 3, "reset": "END_OF_DAY", "block": true}, &cp)
	var prof struct{ OutboundProfile testenv.IDOnly }
	e.MustMutate("createOutboundProfile", testenv.CreateProfile, map[string]any{"name": "Outbound sales", "q": queue,
		"cp": cp.CapacityProfile.ID, "nums": []string{n1}, "def": true, "cnam": "CONTOSO SALES"}, &prof)
	profile := prof.OutboundProfile.ID

	aiko := e.CreateAgentID("Aiko Tanaka", "Aiko.Tanaka@Example.com", true)
	v1 := next(1)[0]
	e.Join("", cp.CapacityProfile.ID, aiko)
	v2 := next(1)[0]
	notInQueue := e.Ability(aiko).Blockers[0].Message
	e.Join(queue, "", aiko)
	v3 := next(1)[0]
	e.Assign(aiko, personal) // no MAKE_CALLS yet: no change, no webhook
	e.MustMutate("upgradeCallingPlan", testenv.Upgrade, map[string]any{"id": personal, "caps": []string{"MAKE_CALLS"}}, nil)
	both := next(2)
	var test struct{ WebhookDelivery testenv.DeliveryNode }
	e.MustMutate("sendTestWebhook", testenv.SendTest, map[string]any{"id": ep.ID}, &test)
	testReq := next(1)[0]

	var v4, plan hooktest.Request
	for _, r := range both {
		if decodeBody(t, r).Type == "phone_number.calling_plan.changed" {
			plan = r
		} else {
			v4 = r
		}
	}
	if plan.Body == nil || v4.Body == nil {
		t.Fatalf("the testenv.Upgrade sent %d webhooks but not one of each type", len(both))
	}

	agent := map[string]any{"id": aiko, "email": "aiko.tanaka@example.com", "name": "Aiko Tanaka"}
	viaProfile := map[string]any{"phoneNumber": "+14255550100", "phoneNumberId": n1, "source": "OUTBOUND_PROFILE",
		"outboundProfileId": profile, "outboundProfileName": "Outbound sales", "workItemLimit": 3,
		"resetFrequency": "END_OF_DAY", "blockAssignment": true, "callerIdName": "CONTOSO SALES"}
	viaPersonal := map[string]any{"phoneNumber": "+12065550123", "phoneNumberId": personal, "source": "PERSONAL_NUMBER",
		"outboundProfileId": profile, "outboundProfileName": "Outbound sales", "workItemLimit": 3,
		"resetFrequency": "END_OF_DAY", "blockAssignment": true, "callerIdName": "CONTOSO SALES"}
	notInQueueBlocker := map[string]any{"code": "NOT_IN_PROFILE_QUEUE", "message": notInQueue, "outboundProfileId": profile}
	v2State := map[string]any{"version": 2, "canMakeCalls": false, "callerIds": []any{}, "blockers": []any{notInQueueBlocker}}
	v3State := map[string]any{"version": 3, "canMakeCalls": true, "callerIds": []any{viaProfile}, "blockers": []any{}}
	noProfile := map[string]any{"code": "NO_OUTBOUND_PROFILE", "message": blockerMessage(e, v1), "outboundProfileId": nil}
	v1State := map[string]any{"version": 1, "canMakeCalls": false, "callerIds": []any{}, "blockers": []any{noProfile}}

	cases := []struct {
		name     string
		req      hooktest.Request
		wireType string
		data     any
	}{
		{"v1", v1, "agent.calling_ability.changed", map[string]any{"agent": agent, "deleted": false, "version": 1, "canMakeCalls": false,
			"callerIds": []any{}, "blockers": []any{noProfile}, "previous": nil}},
		{"v2", v2, "agent.calling_ability.changed", map[string]any{"agent": agent, "deleted": false, "version": 2, "canMakeCalls": false,
			"callerIds": []any{}, "blockers": []any{notInQueueBlocker}, "previous": v1State}},
		{"v3", v3, "agent.calling_ability.changed", map[string]any{"agent": agent, "deleted": false, "version": 3, "canMakeCalls": true,
			"callerIds": []any{viaProfile}, "blockers": []any{}, "previous": v2State}},
		{"v4", v4, "agent.calling_ability.changed", map[string]any{"agent": agent, "deleted": false, "version": 4, "canMakeCalls": true,
			"callerIds": []any{viaPersonal, viaProfile}, "blockers": []any{}, "previous": v3State}},
		{"plan", plan, "phone_number.calling_plan.changed", map[string]any{
			"phoneNumber": map[string]any{"id": personal, "e164": "+12065550123"},
			"callingPlan": []string{"RECEIVE_CALLS", "MAKE_CALLS"}, "previous": []string{"RECEIVE_CALLS"}}},
		{"test", testReq, "webhook.test", map[string]any{"endpointId": ep.ID}},
	}
	payloads := map[string]string{}
	ds, _ := e.Deliveries("", map[string]any{"endpointId": ep.ID})
	for _, d := range ds {
		payloads[d.Event.MessageID] = d.Event.Payload
	}
	ids := map[string]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkHeaders(t, c.req)
			b := decodeBody(t, c.req)
			if b.Type != c.wireType {
				t.Errorf("type %q, want %q", b.Type, c.wireType)
			}
			jsonEqual(t, c.name+" data", b.Data, c.data)
			if p, ok := payloads[c.req.ID]; !ok || p != string(c.req.Body) {
				t.Errorf("the body received is not byte for byte the event's payload:\n body    %s\n payload %s", c.req.Body, p)
			}
			if ids[c.req.ID] {
				t.Errorf("webhook-id %s sent for two events", c.req.ID)
			}
			ids[c.req.ID] = true
		})
	}
}

// blockerMessage returns the message of the first blocker of an ability
// body.
func blockerMessage(e *testenv.Env, r hooktest.Request) string {
	e.T.Helper()
	var b struct {
		Data struct{ Blockers []struct{ Message string } }
	}
	if err := json.Unmarshal(r.Body, &b); err != nil || len(b.Data.Blockers) == 0 || b.Data.Blockers[0].Message == "" {
		e.T.Fatalf("body without a blocker message: %s", r.Body)
	}
	return b.Data.Blockers[0].Message
}

// TestWebhookRetriesThroughAPI checks retries as the API shows them: a
// receiver answering 500 twice gets the delivery on the third attempt with
// the same webhook-id; one that keeps failing ends FAILED after the last
// retry; one that answers 410 has its endpoint disabled, and re-enabling
// it resumes delivery of new events.
func TestWebhookRetriesThroughAPI(t *testing.T) {
	t.Parallel()
	const step = 100 * time.Millisecond
	short := retrySchedule(step, step, step)

	t.Run("500 twice, then 204", func(t *testing.T) {
		t.Parallel()
		e := testenv.Setup(t, testenv.AllowLoopback, short)
		rc := hooktest.New(t, hooktest.Options{Answer: func(w http.ResponseWriter, _ *http.Request, got hooktest.Request) {
			if got.Nth <= 2 {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}})
		ep, _ := e.CreateHook("", rc, nil)
		e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
		reqs := rc.WaitAnswered(3)
		for i, r := range reqs {
			checkHeaders(t, r) // each attempt has its own timestamp, close to when it arrived
			if r.ID != reqs[0].ID || !bytes.Equal(r.Body, reqs[0].Body) {
				t.Errorf("attempt %d: webhook-id %s, want %s with the same body", i+1, r.ID, reqs[0].ID)
			}
		}
		d := e.SettledDeliveries(ep.ID, 1, succeeded)[0]
		if !slices.Equal(d.StatusCodes(), []int{500, 500, 204}) || d.AttemptCount != 3 || d.NextAttemptAt != nil ||
			d.Event.MessageID != reqs[0].ID {
			t.Fatalf("delivery %s: %d attempts %v, next %v; want SUCCEEDED after attempts 500, 500, 204 of %s",
				d.Status, d.AttemptCount, d.StatusCodes(), d.NextAttemptAt, reqs[0].ID)
		}
		// The schedule counts from the start of the failed attempt (its
		// attemptedAt), not from when the receiver read it: on a loaded
		// machine a request may take a while to arrive, so the gap between
		// arrivals can be shorter than the schedule while the attempts
		// themselves keep it. Not later than the schedule says is for a
		// loaded machine to decide: webhooks.TestRetrySentWhenDueWithoutAPoll
		// checks that a retry does not wait for the next poll. The API
		// gives times in milliseconds, hence the millisecond of slack.
		for i := 1; i < len(d.Attempts); i++ {
			if gap := d.Attempts[i].AttemptedAt.Sub(d.Attempts[i-1].AttemptedAt); gap < step-time.Millisecond {
				t.Errorf("attempt %d started %s after the previous one; the schedule says %s: %+v", i+1, gap, step, d.Attempts)
			}
		}
	})

	t.Run("always 500: FAILED after the last retry", func(t *testing.T) {
		t.Parallel()
		e := testenv.Setup(t, testenv.AllowLoopback, short)
		rc := hooktest.New(t, hooktest.Options{Answer: hooktest.Status(http.StatusInternalServerError)})
		ep, _ := e.CreateHook("", rc, nil)
		aiko := e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
		failed := func(d testenv.DeliveryNode) bool { return d.Status == "FAILED" }
		d := e.SettledDeliveries(ep.ID, 1, failed)[0]
		if !slices.Equal(d.StatusCodes(), []int{500, 500, 500, 500}) || d.AttemptCount != 4 || d.NextAttemptAt != nil {
			t.Fatalf("delivery %s: %d attempts %v, next %v; want FAILED after 4 attempts of 500", d.Status, d.AttemptCount, d.StatusCodes(), d.NextAttemptAt)
		}
		// Nothing more comes of it: a second delivery, made after the
		// first failed, goes through its three retries (each due later
		// than any retry of the first could be, and retries are sent in
		// the order they fall due) and fails too, and still the first
		// one's webhook-id was sent four times.
		e.MustMutate("updateAgent", testenv.UpdateAgent, map[string]any{"id": aiko, "unified": false}, nil)
		for _, d := range e.SettledDeliveries(ep.ID, 2, failed) {
			if d.AttemptCount != 4 {
				t.Fatalf("delivery of %s: %d attempts %v; want FAILED after 4", d.Event.MessageID, d.AttemptCount, d.StatusCodes())
			}
		}
		sent := 0
		for _, r := range rc.Answered() {
			if r.ID == d.Event.MessageID {
				sent++
			}
		}
		if sent != 4 {
			t.Errorf("the receiver got %d requests of the failed delivery, want 4", sent)
		}
	})

	t.Run("410 disables, enabling resumes", func(t *testing.T) {
		t.Parallel()
		e := testenv.Setup(t, testenv.AllowLoopback, short)
		var gone atomic.Bool
		gone.Store(true)
		rc := hooktest.New(t, hooktest.Options{Answer: func(w http.ResponseWriter, _ *http.Request, _ hooktest.Request) {
			if gone.Load() {
				w.WriteHeader(http.StatusGone)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}})
		ep, _ := e.CreateHook("", rc, nil)
		aiko := e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
		d := e.SettledDeliveries(ep.ID, 1, func(d testenv.DeliveryNode) bool { return d.Status == "FAILED" })[0]
		if !slices.Equal(d.StatusCodes(), []int{410}) {
			t.Fatalf("delivery %s after attempts %v; want FAILED after one 410", d.Status, d.StatusCodes())
		}
		var node struct{ Node testenv.EndpointNode }
		endpointQ := `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { id enabled disabledReason } } }`
		e.Query(endpointQ, map[string]any{"id": ep.ID}, &node)
		if node.Node.Enabled || node.Node.DisabledReason == nil || !strings.Contains(*node.Node.DisabledReason, "410") {
			t.Fatalf("endpoint after 410 = %+v; want disabled with a reason naming 410", node.Node)
		}

		// Disabled: a new event gets no delivery.
		e.MustMutate("updateAgent", testenv.UpdateAgent, map[string]any{"id": aiko, "unified": false}, nil)
		if _, n := e.Deliveries("", map[string]any{"endpointId": ep.ID}); n != 1 {
			t.Fatalf("a disabled endpoint has %d deliveries, want still 1", n)
		}

		gone.Store(false)
		var up struct{ WebhookEndpoint testenv.EndpointNode }
		e.MustMutate("updateWebhookEndpoint", testenv.UpdateEndpoint, map[string]any{"id": ep.ID, "enabled": true}, &up)
		if !up.WebhookEndpoint.Enabled || up.WebhookEndpoint.DisabledReason != nil {
			t.Fatalf("endpoint after re-enabling = %+v; want enabled, no disabledReason", up.WebhookEndpoint)
		}
		e.MustMutate("updateAgent", testenv.UpdateAgent, map[string]any{"id": aiko, "unified": true}, nil)
		ds := e.SettledDeliveries(ep.ID, 2, func(d testenv.DeliveryNode) bool { return d.Status != "PENDING" })
		if ds[0].Status != "SUCCEEDED" || !slices.Equal(ds[0].StatusCodes(), []int{204}) {
			t.Fatalf("newest delivery after re-enabling: %s after attempts %v; want SUCCEEDED", ds[0].Status, ds[0].StatusCodes())
		}
		reqs := rc.Answered()
		last := decodeBody(t, reqs[len(reqs)-1])
		var data struct{ Version int }
		_ = json.Unmarshal(last.Data, &data)
		if len(reqs) != 2 || data.Version != 3 {
			t.Fatalf("the receiver got %d requests, the last of version %d; want 2, the last of version 3 (none while disabled)", len(reqs), data.Version)
		}
	})
}

// TestWebhookSecretShownOnce checks that the signing secret comes back
// from createWebhookEndpoint and rotateWebhookSecret only: no field of the
// schema exposes it and no answer carries it later; and that a VIEWER
// token may not create an endpoint or rotate its secret.
func TestWebhookSecretShownOnce(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t, testenv.AllowLoopback)
	rc := hooktest.New(t, hooktest.Options{})
	ep, secret := e.CreateHook("", rc, map[string]any{"desc": "Agent app"})
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if !strings.HasPrefix(secret, "whsec_") || err != nil || len(raw) < 24 || len(raw) > 64 {
		t.Fatalf("secret %q: want whsec_ and the base64 of 24 to 64 bytes", secret)
	}
	var rot struct{ Secret string }
	e.MustMutate("rotateWebhookSecret", testenv.RotateSecret, map[string]any{"id": ep.ID, "overlap": 60}, &rot)
	if rot.Secret == secret || !strings.HasPrefix(rot.Secret, "whsec_") {
		t.Fatalf("rotated secret %q", rot.Secret)
	}

	for _, typ := range []string{"WebhookEndpoint", "WebhookEndpointPayload", "WebhookDelivery", "WebhookEvent", "DeletePayload", "WebhookDeliveryPayload"} {
		var schema struct {
			Type struct{ Fields []struct{ Name string } } `json:"__type"`
		}
		e.Query(`query($t: String!) { __type(name: $t) { fields { name } } }`, map[string]any{"t": typ}, &schema)
		if len(schema.Type.Fields) == 0 {
			t.Fatalf("type %s has no fields", typ)
		}
		for _, f := range schema.Type.Fields {
			if strings.Contains(strings.ToLower(f.Name), "secret") {
				t.Errorf("%s.%s exposes a secret", typ, f.Name)
			}
		}
	}
	e.MustMutate("sendTestWebhook", testenv.SendTest, map[string]any{"id": ep.ID}, nil)
	e.SettledDeliveries(ep.ID, 1, succeeded)
	for _, q := range []string{
		`{ webhookEndpoints(first: 10) { nodes { id url description eventTypes enabled disabledReason createdAt updatedAt agents { id }
			deliveries(first: 10) { nodes { id event { payload } attempts { responseBody error } } } } } }`,
		`{ webhookDeliveries { nodes { id event { payload messageId } attempts { responseBody error } } } }`,
		`{ auditLog(first: 100) { nodes { action details } } }`,
	} {
		r := e.Do(e.Admin, q, nil)
		if len(r.Errors) > 0 {
			t.Fatalf("%s: %+v", q, r.Errors)
		}
		for _, s := range []string{secret, rot.Secret, strings.TrimPrefix(secret, "whsec_"), strings.TrimPrefix(rot.Secret, "whsec_")} {
			if strings.Contains(string(r.Data), s) {
				t.Errorf("a secret is readable through %s", q)
			}
		}
	}

	_, viewer := e.Token("dashboard", "VIEWER", "")
	e.Rejected(viewer, "FORBIDDEN", 0, testenv.CreateEndpointFull, map[string]any{"url": rc.URL("/viewer")})
	e.Rejected(viewer, "FORBIDDEN", 0, testenv.RotateSecret, map[string]any{"id": ep.ID})
	if ids := endpointIDs(e, viewer); !slices.Equal(ids, []string{ep.ID}) {
		t.Errorf("a VIEWER reads endpoints %v, want [%s]", ids, ep.ID)
	}
}

// TestWebhookURLRules checks the URL rules of createWebhookEndpoint:
// INVALID_URL for malformed URLs, URL_NOT_ALLOWED for literal loopback,
// private, CGNAT and link-local addresses unless WEBHOOK_ALLOWED_CIDRS
// lets them through. Every refusal leaves the database unchanged.
func TestWebhookURLRules(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	for _, c := range []struct{ code, url string }{
		{"INVALID_URL", "ftp://example.com/hooks"},
		{"INVALID_URL", "https:///hooks"},
		{"INVALID_URL", "http://"},
		{"INVALID_URL", "https://user:pass@example.com/hooks"},
		{"INVALID_URL", "https://example.com/" + strings.Repeat("a", 2048)},
		{"INVALID_URL", "example.com/hooks"},
		{"URL_NOT_ALLOWED", "http://127.0.0.1:8080/hooks"},
		{"URL_NOT_ALLOWED", "http://[::1]/hooks"},
		{"URL_NOT_ALLOWED", "https://10.0.0.1/hooks"},
		{"URL_NOT_ALLOWED", "https://100.64.0.1/hooks"},
		{"URL_NOT_ALLOWED", "http://169.254.169.254/latest/meta-data"},
	} {
		t.Run(c.code+" "+c.url[:min(len(c.url), 40)], func(t *testing.T) {
			ue := e.As(t).Refused(c.code, "createWebhookEndpoint", testenv.CreateEndpointFull, map[string]any{"url": c.url})
			if !slices.Equal(ue.Field, []string{"input", "url"}) {
				t.Errorf("field %v, want [input url]", ue.Field)
			}
			if c.code == "URL_NOT_ALLOWED" {
				wantAllowHint(t, ue.Message)
			}
		})
	}
	// The same rules on update.
	ep, _ := e.CreateHook("", nil, map[string]any{"url": "https://hooks.example.com/outdial"})
	ue := e.Refused("URL_NOT_ALLOWED", "updateWebhookEndpoint", testenv.UpdateEndpoint, map[string]any{"id": ep.ID, "url": "http://10.1.2.3/"})
	wantAllowHint(t, ue.Message)
	if !strings.Contains(ue.Message, "10.1.2.3/32") {
		t.Errorf("URL_NOT_ALLOWED %q does not offer the address's own prefix 10.1.2.3/32", ue.Message)
	}
	e.Refused("INVALID_URL", "updateWebhookEndpoint", testenv.UpdateEndpoint, map[string]any{"id": ep.ID, "url": "ftp://example.com/"})

	allowed := testenv.Setup(t, testenv.AllowLoopback)
	for _, url := range []string{"http://127.0.0.1:8080/hooks", "http://127.0.0.2/hooks"} {
		got, _ := allowed.CreateHook("", nil, map[string]any{"url": url})
		if got.URL != url || !got.Enabled {
			t.Errorf("with WEBHOOK_ALLOWED_CIDRS=127.0.0.0/8, %s gave %+v", url, got)
		}
	}
	allowed.Refused("URL_NOT_ALLOWED", "createWebhookEndpoint", testenv.CreateEndpointFull, map[string]any{"url": "http://[::1]/hooks"})
}

// wantAllowHint checks that a URL_NOT_ALLOWED message names the setting
// that would allow the address, and its flag.
func wantAllowHint(t *testing.T, msg string) {
	t.Helper()
	if !strings.Contains(msg, "WEBHOOK_ALLOWED_CIDRS") || !strings.Contains(msg, "-webhook-allowed-cidrs") {
		t.Errorf("URL_NOT_ALLOWED %q does not name WEBHOOK_ALLOWED_CIDRS and -webhook-allowed-cidrs", msg)
	}
}

// TestWebhookHostNameCheckedAtConnect checks that a URL with a host name
// is accepted at creation and its address is checked when an attempt
// connects: localhost resolves to loopback, so without
// WEBHOOK_ALLOWED_CIDRS the attempt fails with no answer and the receiver
// never gets a request.
func TestWebhookHostNameCheckedAtConnect(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t, retrySchedule(time.Hour))
	rc := hooktest.New(t, hooktest.Options{})
	url := strings.Replace(rc.URL("/hooks"), "127.0.0.1", "localhost", 1)
	ep, _ := e.CreateHook("", rc, map[string]any{"url": url})
	e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	d := e.SettledDeliveries(ep.ID, 1, func(d testenv.DeliveryNode) bool { return d.AttemptCount == 1 })[0]
	a := d.Attempts[0]
	if d.Status != "PENDING" || a.StatusCode != nil || a.Error == nil || *a.Error == "" {
		t.Fatalf("delivery to %s: %s, attempt %+v; want a failed attempt without an answer, and a retry", url, d.Status, a)
	}
	t.Logf("attempt error: %s", *a.Error)
	if n := len(rc.Answered()); n != 0 {
		t.Errorf("the receiver behind localhost got %d requests", n)
	}
}

// TestWebhookAgentToken checks what an AGENT token may do with endpoints:
// create, update, test, rotate and delete its own agent's (agentIds empty
// means its own agent), and nothing else (OUT_OF_SCOPE, nothing changed);
// it sees only its own endpoints and their deliveries.
func TestWebhookAgentToken(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t, testenv.AllowLoopback)
	aiko := e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	ben := e.CreateAgentID("Ben Okafor", "ben@example.com", true)
	_, tok := e.Token("aiko's app", "AGENT", aiko)
	rcMine, rcBen, rcAll := hooktest.New(t, hooktest.Options{}), hooktest.New(t, hooktest.Options{}), hooktest.New(t, hooktest.Options{})

	mine, _ := e.CreateHook(tok, rcMine, map[string]any{"types": []string{"AGENT_CALLING_ABILITY_CHANGED", "WEBHOOK_TEST"}})
	if len(mine.Agents) != 1 || mine.Agents[0].ID != aiko {
		t.Fatalf("an AGENT's endpoint without agentIds is for agents %v, want [%s]", mine.Agents, aiko)
	}
	bens, _ := e.CreateHook("", rcBen, map[string]any{"agents": []string{ben}})
	all, _ := e.CreateHook("", rcAll, nil)

	out := func(field, query string, vars map[string]any) {
		t.Helper()
		e.RefusedAs(tok, "OUT_OF_SCOPE", field, query, vars)
	}
	url := rcMine.URL("/other")
	out("createWebhookEndpoint", testenv.CreateEndpointFull, map[string]any{"url": url, "agents": []string{ben}})
	out("createWebhookEndpoint", testenv.CreateEndpointFull, map[string]any{"url": url, "agents": []string{aiko, ben}})
	out("createWebhookEndpoint", testenv.CreateEndpointFull, map[string]any{"url": url, "types": []string{"PHONE_NUMBER_CALLING_PLAN_CHANGED"}})
	out("updateWebhookEndpoint", testenv.UpdateEndpoint, map[string]any{"id": mine.ID, "agents": []string{ben}})
	out("updateWebhookEndpoint", testenv.UpdateEndpoint, map[string]any{"id": mine.ID, "types": []string{"PHONE_NUMBER_CALLING_PLAN_CHANGED"}})
	for _, other := range []string{bens.ID, all.ID} {
		out("updateWebhookEndpoint", testenv.UpdateEndpoint, map[string]any{"id": other, "desc": "mine now"})
		out("deleteWebhookEndpoint", testenv.DeleteEndpoint, map[string]any{"id": other})
		out("sendTestWebhook", testenv.SendTest, map[string]any{"id": other})
		out("rotateWebhookSecret", testenv.RotateSecret, map[string]any{"id": other})
	}

	// Its own endpoint: update, test, rotate.
	var up struct{ WebhookEndpoint testenv.EndpointNode }
	if errs := e.MutateAs(tok, "updateWebhookEndpoint", testenv.UpdateEndpoint, map[string]any{"id": mine.ID, "desc": "Aiko's phone"}, &up); len(errs) > 0 {
		t.Fatalf("an AGENT updating its own endpoint: %+v", errs)
	}
	if up.WebhookEndpoint.Description == nil || *up.WebhookEndpoint.Description != "Aiko's phone" {
		t.Fatalf("updated endpoint = %+v", up.WebhookEndpoint)
	}
	// An empty agentIds means its own agent, as on creation.
	if errs := e.MutateAs(tok, "updateWebhookEndpoint", testenv.UpdateEndpoint, map[string]any{"id": mine.ID, "agents": []string{}}, &up); len(errs) > 0 ||
		len(up.WebhookEndpoint.Agents) != 1 || up.WebhookEndpoint.Agents[0].ID != aiko {
		t.Fatalf("an AGENT updating its endpoint with agentIds []: %+v %+v", errs, up.WebhookEndpoint)
	}
	if errs := e.MutateAs(tok, "sendTestWebhook", testenv.SendTest, map[string]any{"id": mine.ID}, nil); len(errs) > 0 {
		t.Fatalf("an AGENT testing its own endpoint: %+v", errs)
	}
	r := rcMine.WaitAnswered(1)[0]
	if decodeBody(t, r).Type != "webhook.test" {
		t.Fatalf("own endpoint got %s", r.Body)
	}
	var rot struct{ Secret string }
	if errs := e.MutateAs(tok, "rotateWebhookSecret", testenv.RotateSecret, map[string]any{"id": mine.ID, "overlap": 0}, &rot); len(errs) > 0 || rot.Secret == "" {
		t.Fatalf("an AGENT rotating its own endpoint's secret: %+v", errs)
	}
	rcMine.SetSecrets(rot.Secret)

	// A change of both agents: each endpoint gets what it may.
	e.MustMutate("updateAgent", testenv.UpdateAgent, map[string]any{"id": aiko, "unified": false}, nil)
	e.MustMutate("updateAgent", testenv.UpdateAgent, map[string]any{"id": ben, "unified": false}, nil)
	e.SettledDeliveries(mine.ID, 2, succeeded) // the test and Aiko's change
	e.SettledDeliveries(bens.ID, 1, succeeded)
	e.SettledDeliveries(all.ID, 2, succeeded)

	if ids := endpointIDs(e, tok); !slices.Equal(ids, []string{mine.ID}) {
		t.Errorf("the AGENT token sees endpoints %v, want only [%s]", ids, mine.ID)
	}
	if ids := endpointIDs(e, e.Admin); len(ids) != 3 {
		t.Errorf("the admin sees endpoints %v, want 3", ids)
	}
	ds, n := e.Deliveries(tok, nil)
	if n != 2 || len(ds) != 2 {
		t.Errorf("the AGENT token sees %d deliveries (totalCount %d), want its endpoint's 2", len(ds), n)
	}
	for _, d := range ds {
		if d.Endpoint.ID != mine.ID {
			t.Errorf("the AGENT token sees a delivery to endpoint %s", d.Endpoint.ID)
		}
	}
	if _, n := e.Deliveries(tok, map[string]any{"endpointId": all.ID}); n != 0 {
		t.Errorf("the AGENT token sees %d deliveries of the every-agent endpoint", n)
	}
	allDeliveries, _ := e.Deliveries("", map[string]any{"endpointId": all.ID})
	out("redeliverWebhook", testenv.Redeliver, map[string]any{"id": allDeliveries[0].ID})

	// Delete its own: gone from its list.
	var del struct{ DeletedID string }
	if errs := e.MutateAs(tok, "deleteWebhookEndpoint", testenv.DeleteEndpoint, map[string]any{"id": mine.ID}, &del); len(errs) > 0 || del.DeletedID != mine.ID {
		t.Fatalf("an AGENT deleting its own endpoint: %+v %+v", errs, del)
	}
	if ids := endpointIDs(e, tok); len(ids) != 0 {
		t.Errorf("after deleting its endpoint the AGENT token sees %v", ids)
	}
}

// TestWebhookEndpointFilters checks who gets what: an endpoint for
// PHONE_NUMBER_CALLING_PLAN_CHANGED only gets no ability event, one for
// some agents gets only their ability events (and no phone number event),
// and a disabled one gets nothing.
func TestWebhookEndpointFilters(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t, testenv.AllowLoopback)
	number := e.AddNumberID("+1 425 555 0100", "RECEIVE_CALLS", "MAKE_CALLS")
	queue := e.QueueID("Outbound", "VOICE")
	cp := e.CapacityID("Voice")
	e.ProfileID("Outbound sales", queue, cp, []string{number}, false)
	aiko := e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	ben := e.CreateAgentID("Ben Okafor", "ben@example.com", true)
	e.Join(queue, cp, aiko, ben)

	rcAll, rcPlan, rcAiko, rcOff := hooktest.New(t, hooktest.Options{}), hooktest.New(t, hooktest.Options{}), hooktest.New(t, hooktest.Options{}), hooktest.New(t, hooktest.Options{})
	all, _ := e.CreateHook("", rcAll, nil)
	plan, _ := e.CreateHook("", rcPlan, map[string]any{"types": []string{"PHONE_NUMBER_CALLING_PLAN_CHANGED"}})
	onlyAiko, _ := e.CreateHook("", rcAiko, map[string]any{"agents": []string{aiko}})
	off, _ := e.CreateHook("", rcOff, nil)
	var up struct{ WebhookEndpoint testenv.EndpointNode }
	e.MustMutate("updateWebhookEndpoint", testenv.UpdateEndpoint, map[string]any{"id": off.ID, "enabled": false}, &up)
	if up.WebhookEndpoint.Enabled || up.WebhookEndpoint.DisabledReason != nil {
		t.Fatalf("disabled by hand: %+v; want enabled false and no disabledReason", up.WebhookEndpoint)
	}

	// One mutation, three events: the number's plan, and both agents lose
	// their caller ID.
	e.MustMutate("downgradeCallingPlan", testenv.Downgrade, map[string]any{"id": number, "caps": []string{"MAKE_CALLS"}}, nil)
	types := func(rc *hooktest.Receiver) []string {
		var out []string
		for _, r := range rc.Answered() {
			b := decodeBody(t, r)
			var d struct{ Agent struct{ ID string } }
			_ = json.Unmarshal(b.Data, &d)
			out = append(out, strings.TrimSpace(b.Type+" "+d.Agent.ID))
		}
		slices.Sort(out)
		return out
	}
	e.SettledDeliveries(all.ID, 3, succeeded)
	e.SettledDeliveries(plan.ID, 1, succeeded)
	e.SettledDeliveries(onlyAiko.ID, 1, succeeded)
	abilityOf := func(agent string) string { return "agent.calling_ability.changed " + agent }
	want := []string{abilityOf(aiko), abilityOf(ben), "phone_number.calling_plan.changed"}
	slices.Sort(want)
	if got := types(rcAll); !slices.Equal(got, want) {
		t.Errorf("the every-event endpoint got %v, want %v", got, want)
	}
	if got := types(rcPlan); !slices.Equal(got, []string{"phone_number.calling_plan.changed"}) {
		t.Errorf("the plan-only endpoint got %v", got)
	}
	if got := types(rcAiko); !slices.Equal(got, []string{abilityOf(aiko)}) {
		t.Errorf("the endpoint for Aiko got %v", got)
	}
	idOf := func(rc *hooktest.Receiver, agent string) string {
		for _, r := range rc.Answered() {
			if bytes.Contains(r.Body, []byte(agent)) {
				return r.ID
			}
		}
		return ""
	}
	if a, b := idOf(rcAll, aiko), idOf(rcAiko, aiko); a == "" || a != b {
		t.Errorf("Aiko's change came to two endpoints as %q and %q; want the same webhook-id", a, b)
	}
	if _, n := e.Deliveries("", map[string]any{"endpointId": off.ID}); n != 0 || len(rcOff.Answered()) != 0 {
		t.Errorf("the disabled endpoint has %d deliveries and got %d requests; want none", n, len(rcOff.Answered()))
	}
}

// TestWebhookUpdateEndpoint checks updateWebhookEndpoint: a new URL gets
// the next events, empty eventTypes and agentIds lift the filters, a
// null description clears it.
func TestWebhookUpdateEndpoint(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t, testenv.AllowLoopback)
	aiko := e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	ben := e.CreateAgentID("Ben Okafor", "ben@example.com", true)
	rcOld, rcNew := hooktest.New(t, hooktest.Options{}), hooktest.New(t, hooktest.Options{})
	ep, secret := e.CreateHook("", rcOld, map[string]any{"agents": []string{aiko}, "desc": "old",
		"types": []string{"PHONE_NUMBER_CALLING_PLAN_CHANGED"}})
	rcNew.SetSecrets(secret)

	var up struct{ WebhookEndpoint testenv.EndpointNode }
	e.MustMutate("updateWebhookEndpoint", testenv.UpdateEndpoint, map[string]any{"id": ep.ID, "url": rcNew.URL("/v2"),
		"types": []string{}, "agents": []string{}, "desc": nil}, &up)
	got := up.WebhookEndpoint
	if got.URL != rcNew.URL("/v2") || len(got.EventTypes) != 0 || len(got.Agents) != 0 || got.Description != nil || !got.Enabled {
		t.Fatalf("updated endpoint = %+v; want the new URL, no filters, no description", got)
	}
	e.MustMutate("updateAgent", testenv.UpdateAgent, map[string]any{"id": ben, "unified": false}, nil)
	ds := e.SettledDeliveries(ep.ID, 1, succeeded)
	if len(rcOld.Answered()) != 0 || len(rcNew.Answered()) != 1 || ds[0].Event.Type != "AGENT_CALLING_ABILITY_CHANGED" {
		t.Fatalf("after the update the old URL got %d requests, the new one %d (%s); want 0 and Ben's change",
			len(rcOld.Answered()), len(rcNew.Answered()), ds[0].Event.Type)
	}
	e.Refused("INVALID_INPUT", "rotateWebhookSecret", testenv.RotateSecret, map[string]any{"id": ep.ID, "overlap": -1})
	e.Refused("INVALID_INPUT", "rotateWebhookSecret", testenv.RotateSecret, map[string]any{"id": ep.ID, "overlap": 8 * 86400})
	e.Refused("NOT_FOUND", "updateWebhookEndpoint", testenv.UpdateEndpoint, map[string]any{"id": ep.ID, "agents": []string{calling.GlobalID(calling.KindAgent, 999999)}})
}

// TestWebhookDeleteEndpoint checks that deleting an endpoint fails its
// pending deliveries, which stay readable, and that it disappears from
// webhookEndpoints and node().
func TestWebhookDeleteEndpoint(t *testing.T) {
	t.Parallel()
	// A failed attempt is retried in an hour: the delivery stays PENDING.
	e := testenv.Setup(t, testenv.AllowLoopback, retrySchedule(time.Hour))
	rc := hooktest.New(t, hooktest.Options{Answer: hooktest.Status(http.StatusServiceUnavailable)})
	ep, _ := e.CreateHook("", rc, nil)
	keep, _ := e.CreateHook("", hooktest.New(t, hooktest.Options{}), nil)
	e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	d := e.SettledDeliveries(ep.ID, 1, func(d testenv.DeliveryNode) bool { return d.AttemptCount == 1 })[0]
	if d.Status != "PENDING" || d.NextAttemptAt == nil {
		t.Fatalf("delivery after a 503 = %+v; want PENDING with a next attempt", d)
	}

	var del struct{ DeletedID string }
	e.MustMutate("deleteWebhookEndpoint", testenv.DeleteEndpoint, map[string]any{"id": ep.ID}, &del)
	if del.DeletedID != ep.ID {
		t.Fatalf("deletedId %q, want %q", del.DeletedID, ep.ID)
	}
	ds, _ := e.Deliveries("", map[string]any{"endpointId": ep.ID})
	if len(ds) != 1 || ds[0].Status != "FAILED" || ds[0].NextAttemptAt != nil {
		t.Fatalf("deliveries of the deleted endpoint = %+v; want the one FAILED", ds)
	}
	if ids := endpointIDs(e, e.Admin); !slices.Equal(ids, []string{keep.ID}) {
		t.Errorf("webhookEndpoints after the delete = %v, want [%s]", ids, keep.ID)
	}
	var node struct{ Node *testenv.IDOnly }
	e.Query(`query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": ep.ID}, &node)
	if node.Node != nil {
		t.Errorf("node(id:) still finds the deleted endpoint")
	}
	e.SettledDeliveries(keep.ID, 1, succeeded)
	e.Refused("NOT_FOUND", "deleteWebhookEndpoint", testenv.DeleteEndpoint, map[string]any{"id": ep.ID})
	e.Refused("NOT_FOUND", "sendTestWebhook", testenv.SendTest, map[string]any{"id": ep.ID})
	if n := len(rc.Answered()); n != 1 {
		t.Errorf("the deleted endpoint's receiver got %d requests, want 1", n)
	}
}

// TestWebhookRotateSecret checks that during a rotation's overlap every
// delivery carries two signatures, one verifiable with the new secret and
// the other with the old one, and that a rotation without overlap signs
// with the new secret only.
func TestWebhookRotateSecret(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t, testenv.AllowLoopback)
	rc := hooktest.New(t, hooktest.Options{})
	ep, old := e.CreateHook("", rc, nil)
	aiko := e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	rc.WaitAnswered(1)

	var rot struct{ Secret string }
	e.MustMutate("rotateWebhookSecret", testenv.RotateSecret, map[string]any{"id": ep.ID, "overlap": 3600}, &rot)
	rc.SetSecrets(old, rot.Secret)
	e.MustMutate("updateAgent", testenv.UpdateAgent, map[string]any{"id": aiko, "unified": false}, nil)
	r := rc.WaitAnswered(2)[1]
	if got := verifiedBy(t, r, old, rot.Secret); !slices.Equal(got, []string{"new", "old"}) && !slices.Equal(got, []string{"old", "new"}) {
		t.Errorf("during the overlap the signatures verify with %v; want one with each secret", got)
	}

	var rot2 struct{ Secret string }
	e.MustMutate("rotateWebhookSecret", testenv.RotateSecret, map[string]any{"id": ep.ID, "overlap": 0}, &rot2)
	rc.SetSecrets(rot2.Secret)
	e.MustMutate("updateAgent", testenv.UpdateAgent, map[string]any{"id": aiko, "unified": true}, nil)
	r = rc.WaitAnswered(3)[2]
	if got := verifiedBy(t, r, rot.Secret, rot2.Secret); !slices.Equal(got, []string{"new"}) {
		t.Errorf("after a rotation without overlap the signatures verify with %v; want the new secret only", got)
	}
}

// verifiedBy verifies each signature of a request on its own with the
// Standard Webhooks library and says which secret verified it: "old",
// "new", or "none".
func verifiedBy(t *testing.T, r hooktest.Request, old, new string) []string {
	t.Helper()
	var out []string
	for _, sig := range strings.Fields(r.Header.Get("webhook-signature")) {
		h := r.Header.Clone()
		h.Set("webhook-signature", sig)
		who := "none"
		for name, secret := range map[string]string{"old": old, "new": new} {
			wh, err := standardwebhooks.NewWebhook(secret)
			if err != nil {
				t.Fatal(err)
			}
			if wh.Verify(r.Body, h) == nil {
				if who != "none" {
					t.Fatalf("signature %s verifies with both secrets", sig)
				}
				who = name
			}
		}
		out = append(out, who)
	}
	return out
}

// TestWebhookTestAndRedeliver checks sendTestWebhook (webhook.test to that
// endpoint only) and redeliverWebhook (a new delivery of the same event:
// the receiver gets the same webhook-id and body again).
func TestWebhookTestAndRedeliver(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t, testenv.AllowLoopback)
	rc1, rc2 := hooktest.New(t, hooktest.Options{}), hooktest.New(t, hooktest.Options{})
	ep1, _ := e.CreateHook("", rc1, nil)
	ep2, _ := e.CreateHook("", rc2, nil)

	var test struct{ WebhookDelivery testenv.DeliveryNode }
	e.MustMutate("sendTestWebhook", testenv.SendTest, map[string]any{"id": ep1.ID}, &test)
	td := test.WebhookDelivery
	if td.Endpoint.ID != ep1.ID || td.Event.Type != "WEBHOOK_TEST" || (td.Status != "PENDING" && td.Status != "SUCCEEDED") {
		t.Fatalf("test delivery = %+v", td)
	}
	r := rc1.WaitAnswered(1)[0]
	jsonEqual(t, "webhook.test data", decodeBody(t, r).Data, map[string]any{"endpointId": ep1.ID})
	if r.ID != td.Event.MessageID || string(r.Body) != td.Event.Payload {
		t.Errorf("received %s %s; want the test event %s %s", r.ID, r.Body, td.Event.MessageID, td.Event.Payload)
	}
	e.SettledDeliveries(ep1.ID, 1, succeeded)
	if _, n := e.Deliveries("", map[string]any{"endpointId": ep2.ID}); n != 0 || len(rc2.Answered()) != 0 {
		t.Errorf("the other endpoint has %d deliveries and got %d requests; want none", n, len(rc2.Answered()))
	}

	var again struct{ WebhookDelivery testenv.DeliveryNode }
	e.MustMutate("redeliverWebhook", testenv.Redeliver, map[string]any{"id": td.ID}, &again)
	ad := again.WebhookDelivery
	if ad.ID == td.ID || ad.Endpoint.ID != ep1.ID || ad.Event.MessageID != td.Event.MessageID {
		t.Fatalf("redelivery = %+v; want a new delivery of message %s to %s", ad, td.Event.MessageID, ep1.ID)
	}
	r2 := rc1.WaitAnswered(2)[1]
	if r2.ID != r.ID || !bytes.Equal(r2.Body, r.Body) {
		t.Errorf("the redelivery came as %s %s; want %s with the same body", r2.ID, r2.Body, r.ID)
	}
	ds := e.SettledDeliveries(ep1.ID, 2, succeeded)
	if ds[0].ID != ad.ID || ds[1].ID != td.ID {
		t.Errorf("deliveries newest first = %s, %s; want %s, %s", ds[0].ID, ds[1].ID, ad.ID, td.ID)
	}

	// An agent event too, and refusals that change nothing.
	e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	first := rc2.WaitAnswered(1)[0]
	ds2 := e.SettledDeliveries(ep2.ID, 1, succeeded)
	e.MustMutate("redeliverWebhook", testenv.Redeliver, map[string]any{"id": ds2[0].ID}, nil)
	if r := rc2.WaitAnswered(2)[1]; r.ID != first.ID || !bytes.Equal(r.Body, first.Body) {
		t.Errorf("the redelivered ability event came as %s; want %s with the same body", r.ID, first.ID)
	}
	e.SettledDeliveries(ep2.ID, 2, succeeded)
	e.MustMutate("updateWebhookEndpoint", testenv.UpdateEndpoint, map[string]any{"id": ep2.ID, "enabled": false}, nil)
	e.Refused("INVALID_INPUT", "sendTestWebhook", testenv.SendTest, map[string]any{"id": ep2.ID})
	e.Refused("INVALID_INPUT", "redeliverWebhook", testenv.Redeliver, map[string]any{"id": ds2[0].ID})
}

// TestWebhookDeliveryFilters checks the filters of webhookDeliveries
// (endpointId, status, eventType, agentId, and together) and
// WebhookEndpoint.Deliveries(status:).
func TestWebhookDeliveryFilters(t *testing.T) {
	t.Parallel()
	// Failed attempts are retried in an hour: their deliveries stay PENDING.
	e := testenv.Setup(t, testenv.AllowLoopback, retrySchedule(time.Hour))
	ok, _ := e.CreateHook("", hooktest.New(t, hooktest.Options{}), nil)
	bad, _ := e.CreateHook("", hooktest.New(t, hooktest.Options{Answer: hooktest.Status(http.StatusInternalServerError)}), nil)
	aiko := e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	ben := e.CreateAgentID("Ben Okafor", "ben@example.com", true)
	number := e.AddNumberID("+1 425 555 0100")
	e.MustMutate("upgradeCallingPlan", testenv.Upgrade, map[string]any{"id": number, "caps": []string{"MAKE_CALLS"}}, nil)
	e.SettledDeliveries(ok.ID, 3, succeeded)
	e.SettledDeliveries(bad.ID, 3, func(d testenv.DeliveryNode) bool { return d.AttemptCount == 1 && d.Status == "PENDING" })

	for _, c := range []struct {
		name   string
		filter map[string]any
		want   int
		check  func(testenv.DeliveryNode) bool
	}{
		{"endpointId", map[string]any{"endpointId": ok.ID}, 3, func(d testenv.DeliveryNode) bool { return d.Endpoint.ID == ok.ID }},
		{"status SUCCEEDED", map[string]any{"status": "SUCCEEDED"}, 3, func(d testenv.DeliveryNode) bool { return d.Endpoint.ID == ok.ID }},
		{"status PENDING", map[string]any{"status": "PENDING"}, 3, func(d testenv.DeliveryNode) bool { return d.Endpoint.ID == bad.ID }},
		{"status FAILED", map[string]any{"status": "FAILED"}, 0, nil},
		{"eventType ability", map[string]any{"eventType": "AGENT_CALLING_ABILITY_CHANGED"}, 4,
			func(d testenv.DeliveryNode) bool { return d.Event.Type == "AGENT_CALLING_ABILITY_CHANGED" }},
		{"eventType plan", map[string]any{"eventType": "PHONE_NUMBER_CALLING_PLAN_CHANGED"}, 2,
			func(d testenv.DeliveryNode) bool { return d.Event.Type == "PHONE_NUMBER_CALLING_PLAN_CHANGED" }},
		{"eventType test", map[string]any{"eventType": "WEBHOOK_TEST"}, 0, nil},
		{"agentId", map[string]any{"agentId": aiko}, 2, func(d testenv.DeliveryNode) bool { return strings.Contains(d.Event.Payload, aiko) }},
		{"endpointId, status, eventType and agentId", map[string]any{"endpointId": bad.ID, "status": "PENDING",
			"eventType": "AGENT_CALLING_ABILITY_CHANGED", "agentId": ben}, 1,
			func(d testenv.DeliveryNode) bool {
				return d.Endpoint.ID == bad.ID && strings.Contains(d.Event.Payload, ben)
			}},
		{"no match", map[string]any{"endpointId": ok.ID, "status": "PENDING"}, 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			ds, n := e.As(t).Deliveries("", c.filter)
			if n != c.want || len(ds) != c.want {
				t.Fatalf("%d deliveries (totalCount %d), want %d", len(ds), n, c.want)
			}
			for _, d := range ds {
				if !c.check(d) {
					t.Errorf("delivery %+v does not match the filter", d)
				}
			}
		})
	}

	var data struct {
		WebhookEndpoints struct {
			Nodes []struct {
				ID                         string
				Pending, Succeeded, Anyway struct {
					TotalCount int
					Nodes      []struct{ Status string }
				}
			}
		}
	}
	e.Query(`{ webhookEndpoints(first: 10) { nodes { id
		pending: deliveries(first: 10, status: PENDING) { totalCount nodes { status } }
		succeeded: deliveries(first: 10, status: SUCCEEDED) { totalCount nodes { status } }
		anyway: deliveries(first: 10) { totalCount nodes { status } } } } }`, nil, &data)
	want := map[string][3]int{ok.ID: {0, 3, 3}, bad.ID: {3, 0, 3}}
	for _, n := range data.WebhookEndpoints.Nodes {
		got := [3]int{n.Pending.TotalCount, n.Succeeded.TotalCount, n.Anyway.TotalCount}
		if got != want[n.ID] || len(n.Pending.Nodes) != got[0] || len(n.Succeeded.Nodes) != got[1] {
			t.Errorf("endpoint %s deliveries PENDING/SUCCEEDED/all = %v, want %v", n.ID, got, want[n.ID])
		}
		for _, d := range n.Pending.Nodes {
			if d.Status != "PENDING" {
				t.Errorf("deliveries(status: PENDING) lists a %s one", d.Status)
			}
		}
	}
}

// TestWebhookAgentTokenNarrowedEndpoint: an endpoint that listened to
// agents A and B, narrowed to A by an admin, becomes A's own; A's token
// still sees nothing of B's deliveries on it (list, endpoint deliveries,
// node) and cannot redeliver them.
func TestWebhookAgentTokenNarrowedEndpoint(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t, testenv.AllowLoopback)
	aiko := e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	ben := e.CreateAgentID("Ben Okafor", "ben@example.com", true)
	_, tok := e.Token("aiko's app", "AGENT", aiko)
	rc := hooktest.New(t, hooktest.Options{})
	both, _ := e.CreateHook("", rc, map[string]any{"agents": []string{aiko, ben}})
	e.MustMutate("updateAgent", testenv.UpdateAgent, map[string]any{"id": aiko, "unified": false}, nil)
	e.MustMutate("updateAgent", testenv.UpdateAgent, map[string]any{"id": ben, "unified": false}, nil)
	all := e.SettledDeliveries(both.ID, 2, succeeded)
	e.MustMutate("updateWebhookEndpoint", testenv.UpdateEndpoint, map[string]any{"id": both.ID, "agents": []string{aiko}}, nil)

	var bens testenv.DeliveryNode
	for _, d := range all {
		if strings.Contains(d.Event.Payload, "ben@example.com") {
			bens = d
		}
	}
	if bens.ID == "" {
		t.Fatalf("no delivery of Ben's change among %+v", all)
	}
	ds, n := e.Deliveries(tok, nil)
	if n != 1 || len(ds) != 1 || strings.Contains(ds[0].Event.Payload, "ben@example.com") {
		t.Fatalf("Aiko's token sees %d deliveries (%+v); want only her own", n, ds)
	}
	var data struct {
		Node     *struct{ ID string }
		Endpoint struct {
			Deliveries struct{ TotalCount int }
		} `json:"endpoint"`
	}
	e.QueryAs(tok, `query($d: ID!, $e: ID!) { node(id: $d) { id }
		endpoint: node(id: $e) { ... on WebhookEndpoint { deliveries { totalCount } } } }`,
		map[string]any{"d": bens.ID, "e": both.ID}, &data)
	if data.Node != nil || data.Endpoint.Deliveries.TotalCount != 1 {
		t.Fatalf("Aiko's token: node(Ben's delivery) = %+v, endpoint deliveries %d; want null and 1", data.Node, data.Endpoint.Deliveries.TotalCount)
	}
	e.RefusedAs(tok, "OUT_OF_SCOPE", "redeliverWebhook", testenv.Redeliver, map[string]any{"id": bens.ID})
}

// TestWebhookEndpointsPageStatements: a page of endpoints with their
// deliveries (and counts) costs the same statements for 2 endpoints as
// for 6, not one per endpoint.
func TestWebhookEndpointsPageStatements(t *testing.T) {
	t.Parallel()
	e := testenv.SetupCounted(t, testenv.AllowLoopback)
	const query = `{ webhookEndpoints { nodes { id deliveries(first: 5) { totalCount nodes { id status } }
		failed: deliveries(first: 5, status: FAILED) { totalCount } } } }`
	count := func() int64 {
		t.Helper()
		var data struct {
			WebhookEndpoints struct {
				Nodes []struct {
					Deliveries struct {
						TotalCount int
						Nodes      []struct{ ID, Status string }
					}
				}
			}
		}
		// The token's lastUsedAt is written at most once a minute, within
		// a request: the least of three.
		best := int64(-1)
		for range 3 {
			n := e.QueryCounted(query, nil, &data)
			for _, n := range data.WebhookEndpoints.Nodes {
				if n.Deliveries.TotalCount == 0 || len(n.Deliveries.Nodes) == 0 {
					t.Fatalf("an endpoint without deliveries: %+v", data)
				}
			}
			if best < 0 || n < best {
				best = n
			}
		}
		return best
	}
	var counts []int64
	for _, endpoints := range []int{2, 6} {
		for len(endpointIDs(e, e.Admin)) < endpoints {
			e.CreateHook("", hooktest.New(t, hooktest.Options{}), nil)
		}
		e.CreateAgentID(fmt.Sprintf("Agent %d", endpoints), fmt.Sprintf("agent%d@example.com", endpoints), true)
		counts = append(counts, count())
	}
	t.Logf("webhookEndpoints with deliveries: %d statements for 2 endpoints, %d for 6", counts[0], counts[1])
	if counts[0] != counts[1] {
		t.Fatalf("%d statements for 2 endpoints, %d for 6: one per endpoint", counts[0], counts[1])
	}
}
