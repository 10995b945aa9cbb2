package webhooks

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"outdial/models"
)

func TestDeliveryWireFormat(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(strings.Repeat("x", 3000)))
	})
	ep := b.endpoint(rc.url("/hook"))
	rc.expect(ep.Secret)
	d := b.start(b.config())
	ev := b.enqueue(abilityEvent(7, 3))[0]
	del := b.waitStatus(b.onlyDelivery(ev.ID).ID, StatusSucceeded, 1)

	reqs := rc.got()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.ContentType != "application/json" || r.Path != "/hook" {
		t.Errorf("got %s %s with content-type %q, want POST /hook application/json", r.Method, r.Path, r.ContentType)
	}
	if r.ID != ev.MessageID || !strings.HasPrefix(r.ID, "msg_") {
		t.Errorf("webhook-id = %q, want the event's messageId %q", r.ID, ev.MessageID)
	}
	if got, want := unixOf(t, r.Timestamp), b.clock.Now().Unix(); got != want {
		t.Errorf("webhook-timestamp = %d, want %d (the attempt's time)", got, want)
	}
	if r.VerifyErr != nil {
		t.Errorf("signature %q does not verify: %v", r.Signature, r.VerifyErr)
	}
	if string(r.Body) != ev.Payload {
		t.Errorf("body %s, want the stored payload %s byte for byte", r.Body, ev.Payload)
	}
	body := decodeBody(t, r.Body)
	if body["type"] != TypeAbilityChanged || body["data"] == nil {
		t.Errorf("body %s: want type %s and data", r.Body, TypeAbilityChanged)
	}
	if ts, _ := body["timestamp"].(string); ts == "" || !strings.HasSuffix(ts, "Z") {
		t.Errorf("body timestamp %q, want RFC 3339 in UTC", body["timestamp"])
	} else if _, err := time.Parse(time.RFC3339, ts); err != nil {
		t.Errorf("body timestamp %q: %v", ts, err)
	}
	as := b.attempts(del.ID)
	if len(as) != 1 || as[0].StatusCode == nil || *as[0].StatusCode != 200 || as[0].Error != nil {
		t.Fatalf("attempts %+v, want one with status 200 and no error", as)
	}
	if as[0].ResponseBody == nil || len(*as[0].ResponseBody) != 1024 {
		t.Errorf("kept %d bytes of the answer, want the first 1024", len(deref(as[0].ResponseBody)))
	}
	waitFor(t, "the succeeded counter at 1", func() bool {
		return metric(t, d, "outdial_webhook_deliveries_total", "outcome", outcomeSucceeded) == 1
	})
	if got := metric(t, d, "outdial_webhook_attempt_duration_seconds", "lane", "first"); got != 1 {
		t.Errorf("latency histogram counted %v attempts, want 1", got)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func TestSignatureDuringRotation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, nil)
	ep := b.endpoint(rc.url("/"))
	old := ep.Secret
	newSecret := NewSecret()
	until := b.clock.Now().Add(time.Hour)
	if err := b.db.Model(&ep).Updates(map[string]any{"secret": newSecret, "previous_secret": old,
		"previous_secret_expires_at": until}).Error; err != nil {
		t.Fatal(err)
	}
	b.start(b.config())
	ev := b.enqueue(abilityEvent(1, 1))[0]
	b.waitStatus(b.onlyDelivery(ev.ID).ID, StatusSucceeded, 1)

	r := rc.got()[0]
	sigs := strings.Split(r.Signature, " ")
	if len(sigs) != 2 || !strings.HasPrefix(sigs[0], "v1,") || !strings.HasPrefix(sigs[1], "v1,") {
		t.Fatalf("webhook-signature %q, want two v1 signatures during the overlap", r.Signature)
	}
	h := http.Header{"Webhook-Id": {r.ID}, "Webhook-Timestamp": {r.Timestamp}}
	for _, secret := range []string{old, newSecret} {
		h.Set("Webhook-Signature", r.Signature)
		if err := verify(secret, r.Body, h); err != nil {
			t.Errorf("signature does not verify with one of the two secrets: %v", err)
		}
	}
	h.Set("Webhook-Signature", sigs[0])
	if err := verify(newSecret, r.Body, h); err != nil {
		t.Errorf("first signature is not the new secret's: %v", err)
	}

	// Once the overlap is over, only the new secret signs.
	b.clock.Advance(2 * time.Hour)
	ev = b.enqueue(abilityEvent(1, 2))[0]
	b.waitStatus(b.onlyDelivery(ev.ID).ID, StatusSucceeded, 1)
	r = rc.got()[1]
	if strings.Contains(r.Signature, " ") {
		t.Errorf("webhook-signature %q after the overlap, want the new secret's only", r.Signature)
	}
	h.Set("Webhook-Signature", r.Signature)
	h.Set("Webhook-Id", r.ID)
	h.Set("Webhook-Timestamp", r.Timestamp)
	if err := verify(newSecret, r.Body, h); err != nil {
		t.Errorf("signature after the overlap: %v", err)
	}
}

func TestRetriesWithTheSameID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("try later"))
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	ep := b.endpoint(rc.url("/"))
	rc.expect(ep.Secret)
	cfg := b.config()
	cfg.Rand = func() float64 { return 0.5 } // 10% on top of each delay
	d := b.start(cfg)
	ev := b.enqueue(abilityEvent(1, 1))[0]
	id := b.onlyDelivery(ev.ID).ID

	del := b.waitStatus(id, StatusPending, 1)
	first := b.attempts(id)[0]
	if want := first.AttemptedAt.Add(5500 * time.Millisecond); del.NextAttemptAt == nil || !del.NextAttemptAt.Equal(want) {
		t.Fatalf("next attempt at %v, want 5s + 10%% jitter after the first: %v", del.NextAttemptAt, want)
	}
	b.clock.Advance(5 * time.Second) // not due yet
	d.Wake()
	b.clock.Advance(500 * time.Millisecond)
	d.Wake()
	del = b.waitStatus(id, StatusPending, 2)
	if want := b.clock.Now().Add(330 * time.Second); !del.NextAttemptAt.Equal(want) {
		t.Fatalf("next attempt at %v, want 5m + 10%% after the second: %v", del.NextAttemptAt, want)
	}
	b.clock.Advance(330 * time.Second)
	d.Wake()
	b.waitStatus(id, StatusSucceeded, 3)

	reqs := rc.got()
	if len(reqs) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if r.ID != ev.MessageID || r.VerifyErr != nil {
			t.Errorf("request %d: webhook-id %q (want %q), signature error %v", i+1, r.ID, ev.MessageID, r.VerifyErr)
		}
	}
	as := b.attempts(id)
	var codes []int
	for _, a := range as {
		codes = append(codes, deref(a.StatusCode))
	}
	if len(codes) != 3 || codes[0] != 500 || codes[1] != 500 || codes[2] != 200 {
		t.Errorf("attempt status codes %v, want [500 500 200]", codes)
	}
	if deref(as[0].ResponseBody) != "try later" {
		t.Errorf("first attempt kept body %q, want %q", deref(as[0].ResponseBody), "try later")
	}
	if unixOf(t, reqs[2].Timestamp) != b.clock.Now().Unix() {
		t.Errorf("third attempt's webhook-timestamp %s, want its own time %d", reqs[2].Timestamp, b.clock.Now().Unix())
	}
	waitFor(t, "the succeeded counter at 1", func() bool {
		return metric(t, d, "outdial_webhook_deliveries_total", "outcome", outcomeSucceeded) == 1
	})
	if got := metric(t, d, "outdial_webhook_deliveries_total", "outcome", outcomeRetry); got != 2 {
		t.Errorf("retry_scheduled counter = %v, want 2", got)
	}
}

// TestRetrySentWhenDueWithoutAPoll: a retry this process scheduled is
// sent when it falls due, not at the next poll: with an hour between
// polls, only the retry's own wake-up can send it.
func TestRetrySentWhenDueWithoutAPoll(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	b.endpoint(rc.url("/"))
	cfg := b.config()
	cfg.Now, cfg.PollInterval = time.Now, time.Hour
	cfg.RetrySchedule = []time.Duration{100 * time.Millisecond, 100 * time.Millisecond}
	b.start(cfg)
	id := b.onlyDelivery(b.enqueue(abilityEvent(1, 1))[0].ID).ID
	b.waitStatus(id, StatusSucceeded, 3)
	if rc.count() != 3 {
		t.Errorf("receiver got %d requests, want 3", rc.count())
	}
}

func TestFailedAfterTheLastRetry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, status(http.StatusBadGateway))
	b.endpoint(rc.url("/"))
	cfg := b.config()
	cfg.RetrySchedule = []time.Duration{time.Second, time.Minute}
	d := b.start(cfg)
	id := b.onlyDelivery(b.enqueue(abilityEvent(1, 1))[0].ID).ID
	b.waitStatus(id, StatusPending, 1)
	b.clock.Advance(time.Second)
	d.Wake()
	b.waitStatus(id, StatusPending, 2)
	b.clock.Advance(time.Minute)
	d.Wake()
	del := b.waitStatus(id, StatusFailed, 3)
	if del.NextAttemptAt != nil {
		t.Errorf("failed delivery keeps next attempt %v", del.NextAttemptAt)
	}
	if rc.count() != 3 {
		t.Errorf("receiver got %d requests, want 3", rc.count())
	}
	waitFor(t, "the failure log", func() bool { return strings.Contains(b.logs.String(), "webhook delivery failed for good") })
}

func TestRetryAfterIsHonouredWithinTheClamp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		retryAfter func(now time.Time) string
		code       int
		wantDelay  time.Duration
	}{
		{"SecondsWithin", func(time.Time) string { return "7" }, 429, 7 * time.Second},
		{"SecondsAboveTwice", func(time.Time) string { return "3600" }, 503, 10 * time.Second},
		{"SecondsBelowSchedule", func(time.Time) string { return "1" }, 429, 5 * time.Second},
		{"HTTPDate", func(now time.Time) string { return now.Add(9 * time.Second).Format(http.TimeFormat) }, 503, 9 * time.Second},
		{"IgnoredOn500", func(time.Time) string { return "8" }, 500, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.clock.Set(b.clock.Now().Truncate(time.Second)) // HTTP dates have whole seconds
			rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, n int) {
				if n == 1 {
					w.Header().Set("Retry-After", tc.retryAfter(b.clock.Now()))
					w.WriteHeader(tc.code)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			})
			b.endpoint(rc.url("/"))
			d := b.start(b.config())
			id := b.onlyDelivery(b.enqueue(abilityEvent(1, 1))[0].ID).ID
			del := b.waitStatus(id, StatusPending, 1)
			at := b.attempts(id)[0].AttemptedAt
			if got := del.NextAttemptAt.Sub(at); got != tc.wantDelay {
				t.Fatalf("retry after %v, want %v", got, tc.wantDelay)
			}
			var due int64
			b.clock.Advance(tc.wantDelay - time.Second)
			if err := b.db.Model(&models.WebhookDelivery{}).Where("status = ? AND next_attempt_at <= ?",
				StatusPending, b.clock.Now()).Count(&due).Error; err != nil || due != 0 {
				t.Fatalf("%d deliveries due a second before the retry (err %v), want 0", due, err)
			}
			b.clock.Advance(time.Second)
			d.Wake()
			b.waitStatus(id, StatusSucceeded, 2)
		})
	}
}

func TestGoneDisablesTheEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, status(http.StatusGone))
	ep := b.endpoint(rc.url("/"))
	other := b.endpoint(rc.url("/other"))
	evs := b.enqueue(abilityEvent(1, 1), abilityEvent(2, 1)) // delivered to both endpoints later
	// A retry waiting far in the future: it must fail with the endpoint.
	waiting := b.deliveriesOf(evs[1].ID)[0]
	later := b.clock.Now().Add(time.Hour)
	if err := b.db.Model(&waiting).Updates(map[string]any{"attempt_count": 1, "next_attempt_at": later}).Error; err != nil {
		t.Fatal(err)
	}
	for _, o := range b.deliveriesOf(evs[0].ID)[1:] {
		b.db.Model(&o).Update("next_attempt_at", later)
	}
	for _, o := range b.deliveriesOf(evs[1].ID)[1:] {
		b.db.Model(&o).Update("next_attempt_at", later)
	}
	b.start(b.config())
	first := b.deliveriesOf(evs[0].ID)[0]
	b.waitStatus(first.ID, StatusFailed, 1)
	waitFor(t, "the endpoint disabled", func() bool {
		var e models.WebhookEndpoint
		b.db.First(&e, ep.ID)
		return !e.Enabled
	})
	var e models.WebhookEndpoint
	b.db.First(&e, ep.ID)
	if e.DisabledReason == nil || !strings.Contains(*e.DisabledReason, "410") {
		t.Errorf("disabled reason %v, want one naming 410 Gone", e.DisabledReason)
	}
	if got := b.delivery(waiting.ID); got.Status != StatusFailed || got.AttemptCount != 1 {
		t.Errorf("pending delivery of the disabled endpoint: %s after %d attempts, want FAILED after 1", got.Status, got.AttemptCount)
	}
	if rc.count() != 1 {
		t.Errorf("receiver got %d requests, want 1", rc.count())
	}
	var o models.WebhookEndpoint
	b.db.First(&o, other.ID)
	if !o.Enabled {
		t.Errorf("the other endpoint was disabled too")
	}
	waitFor(t, "the log of the endpoint being disabled", func() bool {
		return strings.Contains(b.logs.String(), "webhook endpoint disabled")
	})
	if strings.Contains(b.logs.String(), ep.Secret) {
		t.Errorf("a secret was logged")
	}
}

func TestDisabledAndDeletedEndpointsAreNotSent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, nil)
	disabledEp := b.endpoint(rc.url("/disabled"))
	deletedEp := b.endpoint(rc.url("/deleted"))
	live := b.endpoint(rc.url("/live"))
	ev := b.enqueue(abilityEvent(1, 1))[0]
	b.db.Model(&disabledEp).Update("enabled", false)
	b.db.Model(&deletedEp).Update("deleted_at", b.clock.Now())
	b.start(b.config())
	for _, del := range b.deliveriesOf(ev.ID) {
		want := StatusFailed
		if del.EndpointID == live.ID {
			want = StatusSucceeded
		}
		b.waitStatus(del.ID, want, map[bool]int{true: 1, false: 0}[want == StatusSucceeded])
	}
	for _, r := range rc.got() {
		if r.Path != "/live" {
			t.Errorf("sent to %s", r.Path)
		}
	}
}

func TestEndpointDisabledAfterFailingForDays(t *testing.T) {
	t.Parallel()
	b := setup(t)
	healthy := true
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	isHealthy := func() bool { <-mu; defer func() { mu <- struct{}{} }(); return healthy }
	setHealthy := func(v bool) { <-mu; healthy = v; mu <- struct{}{} }
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		if isHealthy() {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	})
	ep := b.endpoint(rc.url("/"))
	cfg := b.config()
	cfg.RetrySchedule = []time.Duration{time.Hour, 24 * time.Hour, 24 * time.Hour, 24 * time.Hour, 24 * time.Hour,
		24 * time.Hour, 24 * time.Hour, 24 * time.Hour}
	cfg.probeEvery = time.Millisecond // the clock moves days, the breaker's wait is real time
	d := b.start(cfg)
	endpoint := func() models.WebhookEndpoint {
		var e models.WebhookEndpoint
		b.db.First(&e, ep.ID)
		return e
	}

	// A failure marks the endpoint failing; a success clears it.
	setHealthy(false)
	id := b.onlyDelivery(b.enqueue(abilityEvent(1, 1))[0].ID).ID
	b.waitStatus(id, StatusPending, 1)
	if e := endpoint(); e.FailingSince == nil {
		t.Fatalf("failing_since not set after a failure")
	}
	setHealthy(true)
	b.clock.Advance(time.Hour)
	d.Wake()
	b.waitStatus(id, StatusSucceeded, 2)
	if e := endpoint(); e.FailingSince != nil {
		t.Fatalf("failing_since %v after a success, want none", e.FailingSince)
	}

	// Five days of failures in a row disable it.
	setHealthy(false)
	start := b.clock.Now()
	id = b.onlyDelivery(b.enqueue(abilityEvent(1, 2))[0].ID).ID
	pending := b.onlyDelivery(b.enqueue(abilityEvent(2, 1))[0].ID).ID
	b.waitStatus(pending, StatusPending, 1)
	b.waitStatus(id, StatusPending, 1)
	for n := 2; n <= 6; n++ { // attempts at 1h, then every 24h: the sixth at 4 days and 1h
		b.clock.Advance(map[bool]time.Duration{true: time.Hour, false: 24 * time.Hour}[n == 2])
		d.Wake()
		b.waitStatus(id, StatusPending, n)
		if e := endpoint(); !e.Enabled {
			t.Fatalf("endpoint disabled after failing for %v only", b.clock.Now().Sub(start))
		}
	}
	b.clock.Advance(24 * time.Hour) // 5 days and 1h
	d.Wake()
	waitFor(t, "the endpoint disabled", func() bool { return !endpoint().Enabled })
	e := endpoint()
	if e.DisabledReason == nil || !strings.Contains(*e.DisabledReason, "5 days") {
		t.Errorf("disabled reason %v, want one saying it failed for 5 days", e.DisabledReason)
	}
	if e.FailingSince != nil {
		t.Errorf("failing_since %v kept on the disabled endpoint: re-enabling it would disable it again at once", e.FailingSince)
	}
	for _, del := range []int64{id, pending} {
		if got := b.delivery(del); got.Status != StatusFailed {
			t.Errorf("delivery %d is %s, want FAILED with its endpoint", del, got.Status)
		}
	}
}

func TestNewerVersionSupersedesARetry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	b.endpoint(rc.url("/"))
	d := b.start(b.config())
	v1 := b.onlyDelivery(b.enqueue(abilityEvent(5, 1))[0].ID).ID
	b.waitStatus(v1, StatusPending, 1)
	otherAgent := b.onlyDelivery(b.enqueue(abilityEvent(6, 1))[0].ID).ID
	v2 := b.onlyDelivery(b.enqueue(abilityEvent(5, 2))[0].ID).ID
	b.waitStatus(v2, StatusSucceeded, 1)
	b.waitStatus(otherAgent, StatusSucceeded, 1)
	if got := b.delivery(v1); got.Status != StatusSuperseded || got.AttemptCount != 1 {
		t.Fatalf("older version: %s after %d attempts, want SUPERSEDED after 1", got.Status, got.AttemptCount)
	}
	b.clock.Advance(time.Hour)
	d.Wake()
	v3 := b.onlyDelivery(b.enqueue(abilityEvent(5, 3))[0].ID).ID
	b.waitStatus(v3, StatusSucceeded, 1)
	var versions []string
	for _, r := range rc.got() {
		versions = append(versions, decodeBody(t, r.Body)["data"].(map[string]any)["version"].(json.Number).String())
	}
	if strings.Join(versions, ",") != "1,1,2,3" && strings.Join(versions, ",") != "1,2,1,3" {
		t.Errorf("versions sent in order %v, want v1 once (failed), then v2 and v3 (and agent 6's v1)", versions)
	}
	if len(b.attempts(v1)) != 1 {
		t.Errorf("superseded delivery was attempted again")
	}
}

// TestNewerVersionSupersedesARetryAfterASuccess covers a success whose
// previous version is not the last one known delivered: version 1
// succeeded, version 2 waits for a retry, version 3 succeeds.
func TestNewerVersionSupersedesARetryAfterASuccess(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 2 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	b.endpoint(rc.url("/"))
	b.start(b.config())
	v1 := b.onlyDelivery(b.enqueue(abilityEvent(5, 1))[0].ID).ID
	b.waitStatus(v1, StatusSucceeded, 1)
	v2 := b.onlyDelivery(b.enqueue(abilityEvent(5, 2))[0].ID).ID
	b.waitStatus(v2, StatusPending, 1)
	v3 := b.onlyDelivery(b.enqueue(abilityEvent(5, 3))[0].ID).ID
	b.waitStatus(v3, StatusSucceeded, 1)
	if got := b.delivery(v2); got.Status != StatusSuperseded || got.AttemptCount != 1 {
		t.Errorf("version 2: %s after %d attempts, want SUPERSEDED after 1", got.Status, got.AttemptCount)
	}
	if got := b.delivery(v1); got.Status != StatusSucceeded {
		t.Errorf("version 1: %s, want SUCCEEDED still", got.Status)
	}
}

func TestSupersededAtClaimTime(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, nil)
	b.endpoint(rc.url("/"))
	evs := b.enqueue(abilityEvent(5, 1), abilityEvent(5, 2), abilityEvent(5, 3))
	// Version 2 reached the endpoint (say, through another process) while
	// versions 1 and 3 are still pending.
	v2 := b.onlyDelivery(evs[1].ID)
	if err := b.db.Model(&v2).Updates(map[string]any{"status": StatusSucceeded, "attempt_count": 1}).Error; err != nil {
		t.Fatal(err)
	}
	d := b.start(b.config())
	b.waitStatus(b.onlyDelivery(evs[2].ID).ID, StatusSucceeded, 1)
	b.waitStatus(b.onlyDelivery(evs[0].ID).ID, StatusSuperseded, 0)
	if rc.count() != 1 || rc.got()[0].ID != evs[2].MessageID {
		t.Errorf("receiver got %d requests, want version 3 only", rc.count())
	}
	waitFor(t, "the superseded counter at 1", func() bool {
		return metric(t, d, "outdial_webhook_deliveries_total", "outcome", outcomeSuperseded) == 1
	})
}
