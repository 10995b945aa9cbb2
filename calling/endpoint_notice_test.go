package calling_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"outdial/calling"
	"outdial/models"
	"outdial/models/dbtest"
	"outdial/webhooks"
)

// TestEndpointCommandsNoticeWhatDeliveriesAreSentWith: a command tells
// the dispatchers (Outbox.EndpointChanged) when it changed what queued
// deliveries are sent with (the URL, the secret, enabled, deleted), and
// only then: each notice makes a dispatcher give back the endpoint's
// queued deliveries, so edits of a description, event types or agents
// (which an agent app may make as often as it likes) send none.
func TestEndpointCommandsNoticeWhatDeliveriesAreSentWith(t *testing.T) {
	t.Parallel()
	outbox := webhooks.NewOutbox(models.Now)
	var mu sync.Mutex
	var noticed []int64
	outbox.ListenEndpoints(func(id int64) {
		mu.Lock()
		defer mu.Unlock()
		noticed = append(noticed, id)
	})
	svc := calling.New(dbtest.Open(t), outbox, slog.New(slog.NewTextHandler(io.Discard, nil)), abilityOracle(t))
	ctx := context.Background()
	ep, _, err := svc.CreateWebhookEndpoint(ctx, admin, calling.CreateWebhookEndpointInput{URL: "https://hooks.example.com/a"})
	must(t, err)
	id := ep.Row.ID
	desc, url, yes, no := "the CRM", "https://hooks.example.com/b", true, false
	for _, c := range []struct {
		name   string
		run    func() error
		notice bool
	}{
		{"description", func() error {
			_, err := svc.UpdateWebhookEndpoint(ctx, admin, calling.UpdateWebhookEndpointInput{ID: id, Description: calling.Some(&desc)})
			return err
		}, false},
		{"event types", func() error {
			_, err := svc.UpdateWebhookEndpoint(ctx, admin, calling.UpdateWebhookEndpointInput{ID: id, EventTypes: []string{"agent.calling_ability.changed"}})
			return err
		}, false},
		{"the same URL", func() error {
			_, err := svc.UpdateWebhookEndpoint(ctx, admin, calling.UpdateWebhookEndpointInput{ID: id, URL: &ep.Row.URL})
			return err
		}, false},
		{"enabled, as it was", func() error {
			_, err := svc.UpdateWebhookEndpoint(ctx, admin, calling.UpdateWebhookEndpointInput{ID: id, Enabled: &yes})
			return err
		}, false},
		{"a refused update", func() error {
			bad := "ftp://hooks.example.com/"
			if _, err := svc.UpdateWebhookEndpoint(ctx, admin, calling.UpdateWebhookEndpointInput{ID: id, URL: &bad}); err == nil {
				t.Error("an ftp URL was accepted")
			}
			return nil
		}, false},
		{"a new URL", func() error {
			_, err := svc.UpdateWebhookEndpoint(ctx, admin, calling.UpdateWebhookEndpointInput{ID: id, URL: &url})
			return err
		}, true},
		{"disabled", func() error {
			_, err := svc.UpdateWebhookEndpoint(ctx, admin, calling.UpdateWebhookEndpointInput{ID: id, Enabled: &no})
			return err
		}, true},
		{"enabled again", func() error {
			_, err := svc.UpdateWebhookEndpoint(ctx, admin, calling.UpdateWebhookEndpointInput{ID: id, Enabled: &yes})
			return err
		}, true},
		{"a new secret", func() error {
			_, _, err := svc.RotateWebhookSecret(ctx, admin, id, 0)
			return err
		}, true},
		{"deleted", func() error { return svc.DeleteWebhookEndpoint(ctx, admin, id) }, true},
	} {
		mu.Lock()
		noticed = nil
		mu.Unlock()
		must(t, c.run())
		mu.Lock()
		got := slices.Clone(noticed)
		mu.Unlock()
		want := []int64(nil)
		if c.notice {
			want = []int64{id}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: the dispatchers were told of endpoints %v, want %v", c.name, got, want)
		}
	}
}

// TestEndpointNoticeOfAnUnknownOutcome: a command whose COMMIT's outcome
// is unknown tells the dispatchers at once (the change may have landed),
// and once more when a late answer says it committed (a claim between the
// first notice and the COMMIT read the endpoint as it was); a refused
// command tells them nothing.
func TestEndpointNoticeOfAnUnknownOutcome(t *testing.T) {
	t.Parallel()
	outbox := webhooks.NewOutbox(models.Now)
	notices := make(chan int64, 16)
	outbox.ListenEndpoints(func(id int64) { notices <- id })
	svc := calling.New(dbtest.Open(t), outbox, slog.New(slog.NewTextHandler(io.Discard, nil)), abilityOracle(t))
	// expect waits (within a minute) for want notices, and fails on more.
	expect := func(what string, want int) {
		t.Helper()
		for i := range want {
			select {
			case <-notices:
			case <-time.After(time.Minute):
				t.Errorf("%s: %d notices within a minute, want %d", what, i, want)
				return
			}
		}
		if n := len(notices); n > 0 {
			t.Errorf("%s: %d notices more than %d", what, n, want)
		}
	}
	svc.EndpointChanged(1, nil)
	expect("committed", 1)
	svc.EndpointChanged(1, &calling.Error{Code: calling.CodeNotFound})
	expect("refused", 0)
	err, answer := calling.LateOutcome("updateWebhookEndpoint")
	svc.EndpointChanged(1, err)
	expect("outcome unknown", 1)
	answer(true)
	expect("the late answer: committed", 1)
	err, answer = calling.LateOutcome("updateWebhookEndpoint")
	svc.EndpointChanged(1, err)
	expect("outcome unknown, again", 1)
	answer(false) // returns once the answer was taken
	expect("the late answer: not committed", 0)
}
