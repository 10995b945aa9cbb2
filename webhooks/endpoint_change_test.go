package webhooks

import (
	"net/http"
	"strings"
	"testing"

	"outdial/models"
)

// TestNoAttemptRecordedForADeliveryNoLongerHeld: a delivery settled by
// someone else (its endpoint deleted) or taken over by another process
// while its attempt was in flight gets no attempt row from this process.
func TestNoAttemptRecordedForADeliveryNoLongerHeld(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		meddle  map[string]any
		wantEnd string
	}{
		{"Settled", map[string]any{"status": StatusFailed, "lease_owner": nil, "lease_expires_at": nil, "next_attempt_at": nil}, StatusFailed},
		{"TakenOver", map[string]any{"lease_owner": "d_another"}, StatusPending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			arrived, answer := make(chan struct{}, 1), make(chan struct{})
			rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				arrived <- struct{}{}
				<-answer
				w.WriteHeader(http.StatusOK)
			})
			b.endpoint(rc.url("/"))
			b.start(b.config())
			id := b.onlyDelivery(b.enqueue(abilityEvent(1, 1))[0].ID).ID
			<-arrived
			if err := b.db.Model(&models.WebhookDelivery{}).Where("id = ?", id).Updates(tc.meddle).Error; err != nil {
				t.Fatal(err)
			}
			close(answer)
			waitFor(t, "the result written", func() bool {
				return strings.Contains(b.logs.String(), "webhook results not applied")
			})
			if as := b.attempts(id); len(as) != 0 {
				t.Errorf("%d attempts recorded for a delivery this process no longer held, want none", len(as))
			}
			if got := b.delivery(id); got.Status != tc.wantEnd || got.AttemptCount != 0 {
				t.Errorf("delivery %s after %d attempts, want %s after 0", got.Status, got.AttemptCount, tc.wantEnd)
			}
		})
	}
}
