package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Bodies as Outdial sent them to this app (docs/domain.md, "Webhooks"),
// copied from a run
// against the demo organisation.
const (
	bodyCanCall    = `{"type":"agent.calling_ability.changed","timestamp":"2026-11-25T08:49:44.194Z","data":{"agent":{"id":"QWdlbnQ6MQ","email":"aiko.tanaka@example.com","name":"Aiko Tanaka"},"version":6,"canMakeCalls":true,"callerIds":[{"phoneNumber":"+12065550123","phoneNumberId":"UGhvbmVOdW1iZXI6NA","source":"PERSONAL_NUMBER","outboundProfileId":"T3V0Ym91bmRQcm9maWxlOjE","outboundProfileName":"Outbound sales","workItemLimit":1,"resetFrequency":"IMMEDIATE","blockAssignment":true,"callerIdName":"CONTOSO"},{"phoneNumber":"+14255550100","phoneNumberId":"UGhvbmVOdW1iZXI6MQ","source":"OUTBOUND_PROFILE","outboundProfileId":"T3V0Ym91bmRQcm9maWxlOjE","outboundProfileName":"Outbound sales","workItemLimit":1,"resetFrequency":"IMMEDIATE","blockAssignment":true,"callerIdName":"CONTOSO"}],"blockers":[],"previous":{"version":5,"canMakeCalls":false,"callerIds":[],"blockers":[{"code":"UNIFIED_ROUTING_DISABLED","message":"Unified routing is turned off for this agent: turn it on (updateAgent, unifiedRoutingEnabled: true).","outboundProfileId":null}]}}}`
	bodyUnifiedOff = `{"type":"agent.calling_ability.changed","timestamp":"2026-11-25T08:49:43.182Z","data":{"agent":{"id":"QWdlbnQ6MQ","email":"aiko.tanaka@example.com","name":"Aiko Tanaka"},"version":5,"canMakeCalls":false,"callerIds":[],"blockers":[{"code":"UNIFIED_ROUTING_DISABLED","message":"Unified routing is turned off for this agent: turn it on (updateAgent, unifiedRoutingEnabled: true).","outboundProfileId":null}],"previous":{"version":4,"canMakeCalls":true,"callerIds":[{"phoneNumber":"+12065550123","phoneNumberId":"UGhvbmVOdW1iZXI6NA","source":"PERSONAL_NUMBER","outboundProfileId":"T3V0Ym91bmRQcm9maWxlOjE","outboundProfileName":"Outbound sales","workItemLimit":1,"resetFrequency":"IMMEDIATE","blockAssignment":true,"callerIdName":"CONTOSO"},{"phoneNumber":"+14255550100","phoneNumberId":"UGhvbmVOdW1iZXI6MQ","source":"OUTBOUND_PROFILE","outboundProfileId":"T3V0Ym91bmRQcm9maWxlOjE","outboundProfileName":"Outbound sales","workItemLimit":1,"resetFrequency":"IMMEDIATE","blockAssignment":true,"callerIdName":"CONTOSO"}],"blockers":[]}}}`
	bodyNotInQueue = `{"type":"agent.calling_ability.changed","timestamp":"2026-11-25T08:50:03.472Z","data":{"agent":{"id":"QWdlbnQ6MQ","email":"aiko.tanaka@example.com","name":"Aiko Tanaka"},"version":9,"canMakeCalls":false,"callerIds":[],"blockers":[{"code":"NOT_IN_PROFILE_QUEUE","message":"The agent is not a member of queue \"Outbound sales\" of outbound profile \"Outbound sales\": add the agent to that queue.","outboundProfileId":"T3V0Ym91bmRQcm9maWxlOjE"}],"previous":{"version":8,"canMakeCalls":true,"callerIds":[{"phoneNumber":"+12065550123","phoneNumberId":"UGhvbmVOdW1iZXI6NA","source":"PERSONAL_NUMBER","outboundProfileId":"T3V0Ym91bmRQcm9maWxlOjE","outboundProfileName":"Outbound sales","workItemLimit":1,"resetFrequency":"IMMEDIATE","blockAssignment":true,"callerIdName":"CONTOSO"},{"phoneNumber":"+14255550100","phoneNumberId":"UGhvbmVOdW1iZXI6MQ","source":"OUTBOUND_PROFILE","outboundProfileId":"T3V0Ym91bmRQcm9maWxlOjE","outboundProfileName":"Outbound sales","workItemLimit":1,"resetFrequency":"IMMEDIATE","blockAssignment":true,"callerIdName":"CONTOSO"}],"blockers":[]}}}`
	bodyDeleted    = `{"type":"agent.calling_ability.changed","timestamp":"2026-11-25T08:51:00.000Z","data":{"agent":{"id":"QWdlbnQ6MQ","email":"aiko.tanaka@example.com","name":"Aiko Tanaka"},"deleted":true,"version":10,"canMakeCalls":false,"callerIds":[],"blockers":[],"previous":{"version":9,"canMakeCalls":false,"callerIds":[],"blockers":[]}}}`
	bodyTest       = `{"type":"webhook.test","timestamp":"2026-11-25T08:49:39.029Z","data":{"endpointId":"V2ViaG9va0VuZHBvaW50OjE"}}`
)

// testSecret makes a whsec_ secret of 32 bytes starting with b.
func testSecret(b byte) string {
	return "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

// bundle is a receiver under test with what it printed and logged.
type bundle struct {
	rcv *receiver
	out *bytes.Buffer
	log *bytes.Buffer
}

// setup returns a receiver that knows the secret testSecret(1).
func setup(t *testing.T) bundle {
	t.Helper()
	b := bundle{out: new(bytes.Buffer), log: new(bytes.Buffer)}
	b.rcv = newReceiver(b.out, slog.New(slog.NewTextHandler(b.log, nil)))
	if err := b.rcv.setSecret(testSecret(1)); err != nil {
		t.Fatal(err)
	}
	return b
}

// signed returns a webhook request for body, signed with secret at ts the
// way Outdial signs it.
func signed(t *testing.T, secret, id string, ts time.Time, body string) *http.Request {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := wh.Sign(id, ts, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", fmt.Sprint(ts.Unix()))
	req.Header.Set("webhook-signature", sig)
	return req
}

// send serves req and returns the status code.
func (b bundle) send(req *http.Request) int {
	w := httptest.NewRecorder()
	b.rcv.ServeHTTP(w, req)
	return w.Code
}

func TestSignature(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name string
		req  func(t *testing.T) *http.Request
		want int
	}{
		{"OK", func(t *testing.T) *http.Request {
			return signed(t, testSecret(1), "msg_1", now, bodyTest)
		}, http.StatusNoContent},
		{"ErrOtherSecret", func(t *testing.T) *http.Request {
			return signed(t, testSecret(2), "msg_1", now, bodyTest)
		}, http.StatusUnauthorized},
		{"ErrBodyChanged", func(t *testing.T) *http.Request {
			req := signed(t, testSecret(1), "msg_1", now, bodyTest)
			req.Body = io.NopCloser(strings.NewReader(bodyCanCall))
			return req
		}, http.StatusUnauthorized},
		{"ErrOldTimestamp", func(t *testing.T) *http.Request {
			return signed(t, testSecret(1), "msg_1", now.Add(-6*time.Minute), bodyTest)
		}, http.StatusUnauthorized},
		{"ErrFutureTimestamp", func(t *testing.T) *http.Request {
			return signed(t, testSecret(1), "msg_1", now.Add(6*time.Minute), bodyTest)
		}, http.StatusUnauthorized},
		{"ErrNoSignature", func(t *testing.T) *http.Request {
			req := signed(t, testSecret(1), "msg_1", now, bodyTest)
			req.Header.Del("webhook-signature")
			return req
		}, http.StatusUnauthorized},
		{"RotatedSecret", func(t *testing.T) *http.Request {
			// During a rotation's overlap the header holds both signatures.
			req := signed(t, testSecret(1), "msg_1", now, bodyTest)
			other := signed(t, testSecret(2), "msg_1", now, bodyTest)
			req.Header.Set("webhook-signature", other.Header.Get("webhook-signature")+" "+req.Header.Get("webhook-signature"))
			return req
		}, http.StatusNoContent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := setup(t)
			if got := b.send(tc.req(t)); got != tc.want {
				t.Fatalf("status %d, want %d; log: %s", got, tc.want, b.log)
			}
			if tc.want == http.StatusUnauthorized {
				if !strings.Contains(b.log.String(), `msg="rejected a webhook" webhook-id=msg_1`) {
					t.Errorf("log = %q, want the rejection logged", b.log)
				}
				if b.out.Len() > 0 {
					t.Errorf("printed %q for a rejected webhook", b.out)
				}
			}
			if strings.Contains(b.log.String(), "whsec_") {
				t.Errorf("the secret was logged: %s", b.log)
			}
		})
	}
}

func TestNotReadyBeforeSecret(t *testing.T) {
	b := bundle{out: new(bytes.Buffer), log: new(bytes.Buffer)}
	b.rcv = newReceiver(b.out, slog.New(slog.NewTextHandler(b.log, nil)))
	w := httptest.NewRecorder()
	b.rcv.ServeHTTP(w, signed(t, testSecret(1), "msg_1", time.Now(), bodyTest))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
}

func TestStaleVersionIgnored(t *testing.T) {
	b := setup(t)
	steps := []struct {
		id, body string
		printed  bool
	}{
		{"msg_v6", bodyCanCall, true},
		{"msg_v5", bodyUnifiedOff, false}, // older: arrived late
		{"msg_v6", bodyCanCall, false},    // the same version again: a retry
		{"msg_v9", bodyNotInQueue, true},
	}
	for i, s := range steps {
		before := b.out.Len()
		if got := b.send(signed(t, testSecret(1), s.id, time.Now(), s.body)); got != http.StatusNoContent {
			t.Fatalf("#%d: status %d, want 204 (an old version is acknowledged, not retried)", i, got)
		}
		if printed := b.out.Len() > before; printed != s.printed {
			t.Errorf("#%d %s: printed = %v, want %v; out: %q", i, s.id, printed, s.printed, b.out)
		}
	}
	if !strings.Contains(b.log.String(), `msg="ignored an old version" webhook-id=msg_v5`) {
		t.Errorf("log = %q, want the old version logged", b.log)
	}
}

func TestPrintedLines(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"CanCall", bodyCanCall,
			"Aiko Tanaka, version 6: can call from +12065550123 (personal), +14255550100 (Outbound sales)\n"},
		{"UnifiedRoutingDisabled", bodyUnifiedOff,
			"Aiko Tanaka, version 5: cannot call: UNIFIED_ROUTING_DISABLED — Unified routing is turned off for this agent: turn it on (updateAgent, unifiedRoutingEnabled: true).\n"},
		{"NotInProfileQueue", bodyNotInQueue,
			"Aiko Tanaka, version 9: cannot call: NOT_IN_PROFILE_QUEUE — The agent is not a member of queue \"Outbound sales\" of outbound profile \"Outbound sales\": add the agent to that queue.\n"},
		{"Deleted", bodyDeleted, "Aiko Tanaka, version 10: deleted: cannot call any more\n"},
		{"Test", bodyTest, "test webhook msg_1 received, signature verified\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := setup(t)
			if got := b.send(signed(t, testSecret(1), "msg_1", time.Now(), tc.body)); got != http.StatusNoContent {
				t.Fatalf("status %d; log: %s", got, b.log)
			}
			if got := b.out.String(); got != tc.want {
				t.Errorf("printed\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestDescribeBlockers(t *testing.T) {
	a := ability{Blockers: []blocker{{Code: "NOT_IN_PROFILE_QUEUE", Message: "Join A."}, {Code: "NO_OUTBOUND_NUMBER", Message: "Add a number to B."}}}
	want := "cannot call: NOT_IN_PROFILE_QUEUE — Join A.; NO_OUTBOUND_NUMBER — Add a number to B."
	if got := a.describe(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCreateWebhookEndpointRefused(t *testing.T) {
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		fmt.Fprint(w, `{"data":{"createWebhookEndpoint":{"webhookEndpoint":null,"secret":null,"userErrors":[
			{"field":["input","url"],"code":"URL_NOT_ALLOWED","message":"The address is not allowed."}]}}}`)
	}))
	defer srv.Close()
	_, _, err := newOutdial(srv.URL, "odt_x").createWebhookEndpoint(t.Context(), "http://127.0.0.1:9090/webhook", "QWdlbnQ6MQ")
	if err == nil || !strings.Contains(err.Error(), "URL_NOT_ALLOWED (input.url)") {
		t.Errorf("err = %v, want URL_NOT_ALLOWED", err)
	}
	if auth != "Bearer odt_x" {
		t.Errorf("Authorization = %q", auth)
	}
}
