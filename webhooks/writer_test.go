package webhooks

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"outdial/models"
)

// TestWriteReadsLeasesOnlyWhenACountFallsShort: the writer records a
// batch whose deliveries are all still held without reading them first;
// when one was settled, taken over or deleted between its attempt and the
// write, a fenced UPDATE changes fewer rows than it was given, and the
// batch is written again the careful way: the others get their new state,
// that one keeps what was given to it elsewhere, the attempt of every
// delivery that still exists is recorded, and the counts are those of the
// deliveries still held. A delivery re-claimed here since, under the
// token of the others' results, is not taken for held: the fence ties
// each token to its own deliveries (fenced).
func TestWriteReadsLeasesOnlyWhenACountFallsShort(t *testing.T) {
	t.Parallel()
	const mine, later = "d_test.1", "d_test.2"
	for _, c := range []struct {
		name string
		lose func(r *transitionRig, x *job, others []*job)
		// what becomes of the lost delivery x: its status and lease
		// owner; gone when deleted
		status, owner string
		gone          bool
	}{
		{name: "none lost", status: StatusSucceeded},
		{"settled elsewhere", func(r *transitionRig, x *job, _ []*job) {
			r.set(x.id, map[string]any{"status": StatusSuperseded, "next_attempt_at": nil, "lease_owner": nil, "lease_expires_at": nil})
		}, StatusSuperseded, "", false},
		{"taken over", func(r *transitionRig, x *job, _ []*job) {
			r.set(x.id, map[string]any{"lease_owner": "d_other.1"})
		}, StatusPending, "d_other.1", false},
		{"deleted", func(r *transitionRig, x *job, _ []*job) {
			if err := r.db.Exec("DELETE FROM webhook_deliveries WHERE id = ?", x.id).Error; err != nil {
				r.t.Fatal(err)
			}
		}, "", "", true},
		{"re-claimed here", func(r *transitionRig, x *job, others []*job) {
			// x's lease ended, and a later claim of this process took
			// x and the others: only the others' results are of it.
			r.set(x.id, map[string]any{"lease_owner": later})
			for _, j := range others {
				r.set(j.id, map[string]any{"lease_owner": later})
				token := later
				j.token.Store(&token)
			}
		}, StatusPending, later, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var reads atomic.Int64
			if err := b.db.Callback().Row().Before("gorm:row").Register("test:count_reads", func(tx *gorm.DB) {
				if strings.HasPrefix(tx.Statement.SQL.String(), "SELECT id, status, lease_owner FROM webhook_deliveries") {
					reads.Add(1)
				}
			}); err != nil {
				t.Fatal(err)
			}
			d, err := NewDispatcher(b.db, b.outbox, b.config())
			if err != nil {
				t.Fatal(err)
			}
			r := &transitionRig{bundle: b, s: d.deliveries, now: b.clock.Now()}
			ep := b.endpoint("https://a.example/").ID
			claimed := func() *job {
				j := &job{id: r.leased(ep, mine).ID, endpointID: ep}
				token := mine
				j.token.Store(&token)
				j.leaseEnd.Store(r.now.Add(time.Minute).UnixNano())
				return j
			}
			ok, retried, failed, dropped, x := claimed(), claimed(), claimed(), claimed(), claimed()
			attempt := func(j *job, status int) *result {
				return &result{job: j, attempted: true, at: r.now, status: status, took: time.Millisecond, ok: status == 200}
			}
			batch := []*result{attempt(ok, 200), attempt(retried, 503), attempt(failed, 500), {job: dropped, dropped: true, lapsed: true}, attempt(x, 200)}
			batch[1].next, batch[1].errText = r.now.Add(time.Minute), "503"
			batch[2].errText = "500"
			if c.lose != nil {
				c.lose(r, x, []*job{ok, retried, failed, dropped})
			}

			w, err := d.write(context.Background(), batch, false)
			if err != nil {
				t.Fatalf("write: %v", err)
			}

			held := []int64{ok.id, retried.id, failed.id, dropped.id}
			type counts struct{ succeeded, retried, failed, superseded, released, lapsed, settled, notLeased int64 }
			want := counts{succeeded: 1, retried: 1, failed: 1, released: 1, lapsed: 1, notLeased: 1}
			wantReads := int64(1)
			if c.lose == nil {
				held = append(held, x.id)
				want.succeeded, want.notLeased, wantReads = 2, 0, 0
			}
			var gotHeld []int64
			for _, r := range w.held {
				gotHeld = append(gotHeld, r.job.id)
			}
			if !slices.Equal(gotHeld, held) {
				t.Errorf("results applied: deliveries %v, want %v", gotHeld, held)
			}
			if got := (counts{w.succeeded, w.retried, w.failed, w.superseded, w.released, w.lapsed, w.settled, w.notLeased}); got != want {
				t.Errorf("counts %+v, want %+v", got, want)
			}
			if len(w.failedForGood) != 1 || w.failedForGood[0].job != failed || !w.nextRetry.Equal(r.now.Add(time.Minute)) {
				t.Errorf("failed for good %d results, next retry %v; want the one failed, %v", len(w.failedForGood), w.nextRetry, r.now.Add(time.Minute))
			}
			if reads.Load() != wantReads {
				t.Errorf("%d reads of the deliveries still held, want %d", reads.Load(), wantReads)
			}

			r.want("succeeded", ok.id, StatusSucceeded, 1, "")
			r.want("to retry", retried.id, StatusPending, 1, "")
			r.want("failed for good", failed.id, StatusFailed, 1, "")
			r.want("given back", dropped.id, StatusPending, 0, "")
			for _, id := range []int64{ok.id, retried.id, failed.id} {
				if n := len(b.attempts(id)); n != 1 {
					t.Errorf("delivery %d has %d attempt rows, want 1", id, n)
				}
			}
			if n := len(b.attempts(dropped.id)); n != 0 {
				t.Errorf("the delivery given back has %d attempt rows, want none", n)
			}
			var n int64
			if err := b.db.Model(&models.WebhookDelivery{}).Where("id = ?", x.id).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			switch {
			case c.gone:
				if n != 0 {
					t.Errorf("the deleted delivery is back")
				}
			case c.status == StatusSucceeded:
				r.want("the last one", x.id, StatusSucceeded, 1, "")
			default:
				r.want("the one lost", x.id, c.status, 0, c.owner)
			}
			wantRows := 1
			if c.gone {
				wantRows = 0
			}
			if as := b.attempts(x.id); len(as) != wantRows {
				t.Errorf("the last delivery has %d attempt rows, want %d", len(as), wantRows)
			}
		})
	}
}
