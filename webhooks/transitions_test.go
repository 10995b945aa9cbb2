package webhooks

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"outdial/models"
	"outdial/models/dbtest"
)

// TestDeliveryTransitions runs every transition of Deliveries on SQLite
// and on MySQL (when TEST_MYSQL_URL is set): each changes what it should,
// and each write of a lease holder changes nothing under a lease it no
// longer holds.
func TestDeliveryTransitions(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(testing.TB) *models.DB{"SQLite": dbtest.OpenSQLite, "MySQL": dbtest.OpenMySQL} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testDeliveryTransitions(t, open(t))
		})
	}
}

// transitionRig is a database with one endpoint (and a second one) and
// helpers to make deliveries in a given state.
type transitionRig struct {
	*bundle
	s        Deliveries
	ep, ep2  int64
	now      time.Time
	nextAgnt int64
}

// pending records an ability event of a new agent for ep and returns its
// delivery, PENDING and due now.
func (r *transitionRig) pending(ep int64) models.WebhookDelivery {
	r.t.Helper()
	r.nextAgnt++
	return r.version(ep, r.nextAgnt, 1)
}

// version records version v of agent's ability and returns its delivery
// to ep.
func (r *transitionRig) version(ep, agent, v int64) models.WebhookDelivery {
	r.t.Helper()
	for _, d := range r.deliveriesOf(r.enqueue(abilityEvent(agent, v))[0].ID) {
		if d.EndpointID == ep {
			return d
		}
	}
	r.t.Fatalf("no delivery to endpoint %d", ep)
	return models.WebhookDelivery{}
}

// set changes columns of delivery id directly, as a test's setup.
func (r *transitionRig) set(id int64, cols map[string]any) {
	r.t.Helper()
	if err := r.db.Model(&models.WebhookDelivery{}).Where("id = ?", id).Updates(cols).Error; err != nil {
		r.t.Fatal(err)
	}
}

// leased makes a new PENDING delivery to ep leased under token.
func (r *transitionRig) leased(ep int64, token string) models.WebhookDelivery {
	r.t.Helper()
	d := r.pending(ep)
	if n, err := r.s.lease(r.db.DB, []int64{d.ID}, token, r.now, r.now.Add(time.Minute)); err != nil || n != 1 {
		r.t.Fatalf("lease: %d, %v", n, err)
	}
	return r.delivery(d.ID)
}

// countPending counts the PENDING deliveries to ep.
func (r *transitionRig) countPending(ep int64) int64 {
	var n int64
	r.db.Model(&models.WebhookDelivery{}).Where("endpoint_id = ? AND status = ?", ep, StatusPending).Count(&n)
	return n
}

// want checks delivery id's status, attempt count and lease owner.
func (r *transitionRig) want(what string, id int64, status string, attempts int, owner string) models.WebhookDelivery {
	r.t.Helper()
	d := r.delivery(id)
	got := ""
	if d.LeaseOwner != nil {
		got = *d.LeaseOwner
	}
	if d.Status != status || d.AttemptCount != attempts || got != owner {
		r.t.Errorf("%s: delivery %s, %d attempts, leased to %q; want %s, %d, %q", what, d.Status, d.AttemptCount, got, status, attempts, owner)
	}
	return d
}

func testDeliveryTransitions(t *testing.T, db *models.DB) {
	b := setupOn(t, db)
	r := &transitionRig{bundle: b, s: NewDeliveries(db.Dialect), now: b.clock.Now()}
	r.ep, r.ep2 = b.endpoint("https://a.example/").ID, b.endpoint("https://b.example/").ID
	tx := db.DB
	const mine, other = "d_me.1", "d_other.7"
	check := func(n int64, err error, want int64, what string) {
		t.Helper()
		if err != nil || n != want {
			t.Errorf("%s: %d rows, %v; want %d", what, n, err, want)
		}
	}

	t.Run("lease", func(t *testing.T) {
		due, later, done := r.pending(r.ep), r.pending(r.ep), r.pending(r.ep)
		r.set(later.ID, map[string]any{"next_attempt_at": r.now.Add(time.Hour)})
		r.set(done.ID, map[string]any{"status": StatusSucceeded, "next_attempt_at": nil})
		n, err := r.s.lease(tx, []int64{due.ID, later.ID, done.ID}, mine, r.now, r.now.Add(time.Minute))
		check(n, err, 1, "lease of one due, one not due, one done")
		d := r.want("due", due.ID, StatusPending, 0, mine)
		if d.LeaseExpiresAt == nil || !d.LeaseExpiresAt.Equal(r.now.Add(time.Minute)) || !d.NextAttemptAt.Equal(r.now.Add(time.Minute)) {
			t.Errorf("lease ends %v, next attempt %v; want both %v", d.LeaseExpiresAt, d.NextAttemptAt, r.now.Add(time.Minute))
		}
		r.want("not due", later.ID, StatusPending, 0, "")
		r.want("done", done.ID, StatusSucceeded, 0, "")
	})

	t.Run("fence: each token with its own deliveries", func(t *testing.T) {
		// Two claims of this process in one statement: a delivery matches
		// only under the token it is held with, not under any token listed.
		const second = "d_me.2"
		a, c := r.leased(r.ep, mine), r.leased(r.ep, second)
		n, err := r.s.finish(tx, []hold{{a.ID, second}, {c.ID, mine}}, StatusSucceeded, true, r.now)
		check(n, err, 0, "finish with the tokens crossed")
		n, err = r.s.finish(tx, []hold{{a.ID, mine}, {c.ID, second}}, StatusSucceeded, true, r.now)
		check(n, err, 2, "finish, each under its own token")
		r.want("first claim's", a.ID, StatusSucceeded, 1, "")
		r.want("second claim's", c.ID, StatusSucceeded, 1, "")
	})

	t.Run("renew", func(t *testing.T) {
		a, theirs := r.leased(r.ep, mine), r.leased(r.ep, other)
		until := r.now.Add(2 * time.Minute)
		ids, err := r.s.renew(tx, []hold{{a.ID, mine}, {theirs.ID, mine}}, until)
		if err != nil || len(ids) != 1 || ids[0] != a.ID {
			t.Errorf("renew: %v, %v; want [%d]", ids, err, a.ID)
		}
		if d := r.delivery(a.ID); !d.LeaseExpiresAt.Equal(until) {
			t.Errorf("renewed lease ends %v, want %v", d.LeaseExpiresAt, until)
		}
		if d := r.delivery(theirs.ID); !d.LeaseExpiresAt.Equal(r.now.Add(time.Minute)) {
			t.Errorf("another's lease renewed: ends %v", d.LeaseExpiresAt)
		}
	})

	t.Run("release", func(t *testing.T) {
		a, theirs := r.leased(r.ep, mine), r.leased(r.ep, other)
		later := r.now.Add(time.Second)
		n, err := r.s.release(tx, []hold{{a.ID, mine}, {theirs.ID, mine}}, later)
		check(n, err, 1, "release")
		if d := r.want("released", a.ID, StatusPending, 0, ""); !d.NextAttemptAt.Equal(later) || d.LeaseExpiresAt != nil {
			t.Errorf("released: next attempt %v, lease end %v; want %v, none", d.NextAttemptAt, d.LeaseExpiresAt, later)
		}
		r.want("another's", theirs.ID, StatusPending, 0, other)
	})

	t.Run("finish", func(t *testing.T) {
		for _, tc := range []struct {
			status    string
			attempted bool
			attempts  int
		}{{StatusSucceeded, true, 1}, {StatusFailed, true, 1}, {StatusFailed, false, 0}, {StatusSuperseded, false, 0}} {
			a, theirs, expired := r.leased(r.ep, mine), r.leased(r.ep, other), r.leased(r.ep, "d_me.0")
			n, err := r.s.finish(tx, []hold{{a.ID, mine}, {theirs.ID, mine}, {expired.ID, mine}}, tc.status, tc.attempted, r.now)
			check(n, err, 1, "finish "+tc.status)
			if d := r.want("finished "+tc.status, a.ID, tc.status, tc.attempts, ""); d.NextAttemptAt != nil || d.LeaseExpiresAt != nil {
				t.Errorf("finished %s: next attempt %v, lease end %v; want none", tc.status, d.NextAttemptAt, d.LeaseExpiresAt)
			}
			r.want("another's", theirs.ID, StatusPending, 0, other)
			r.want("an older lease of this process", expired.ID, StatusPending, 0, "d_me.0")
		}
	})

	t.Run("reschedule", func(t *testing.T) {
		a, c, theirs := r.leased(r.ep, mine), r.leased(r.ep, mine), r.leased(r.ep, other)
		na, nc := r.now.Add(5*time.Second), r.now.Add(5*time.Minute)
		n, err := r.s.reschedule(tx, []retry{{hold{a.ID, mine}, na}, {hold{c.ID, mine}, nc}, {hold{theirs.ID, mine}, na}}, r.now)
		check(n, err, 2, "reschedule")
		for id, next := range map[int64]time.Time{a.ID: na, c.ID: nc} {
			if d := r.want("rescheduled", id, StatusPending, 1, ""); !d.NextAttemptAt.Equal(next) {
				t.Errorf("rescheduled: next attempt %v, want %v", d.NextAttemptAt, next)
			}
		}
		r.want("another's", theirs.ID, StatusPending, 0, other)
	})

	t.Run("supersede", func(t *testing.T) {
		const agent = 1000
		v1, v2, v3 := r.version(r.ep, agent, 1), r.version(r.ep, agent, 2), r.version(r.ep, agent, 3)
		v4, v5 := r.version(r.ep, agent, 4), r.version(r.ep, agent, 5)
		var elsewhere models.WebhookDelivery // version 2 at the other endpoint
		for _, d := range r.deliveriesOf(v2.EventID) {
			if d.EndpointID == r.ep2 {
				elsewhere = d
			}
		}
		r.set(v2.ID, map[string]any{"lease_owner": other})
		r.set(v3.ID, map[string]any{"status": StatusSucceeded, "next_attempt_at": nil})
		n, err := r.s.supersede(tx, []int64{v3.ID}, map[int64]int64{v3.ID: 1}, r.now)
		check(n, err, 1, "supersede above version 1")
		r.want("v1, below what is known settled", v1.ID, StatusPending, 0, "")
		r.want("v2, leased to another", v2.ID, StatusSuperseded, 0, "")
		n, err = r.s.supersede(tx, []int64{v3.ID}, nil, r.now)
		check(n, err, 1, "supersede all older")
		r.want("v1", v1.ID, StatusSuperseded, 0, "")
		r.want("v4, newer", v4.ID, StatusPending, 0, "")
		r.want("v5, newer", v5.ID, StatusPending, 0, "")
		r.want("another endpoint", elsewhere.ID, StatusPending, 0, "")
	})

	t.Run("fail", func(t *testing.T) {
		ep := b.endpoint("https://c.example/").ID
		a, theirs, done := r.pending(ep), r.leased(ep, other), r.pending(ep)
		r.set(done.ID, map[string]any{"status": StatusSucceeded, "next_attempt_at": nil})
		n, err := r.s.Fail(tx, ep, r.now)
		check(n, err, 2, "fail")
		r.want("pending", a.ID, StatusFailed, 0, "")
		r.want("leased to another", theirs.ID, StatusFailed, 0, "")
		r.want("succeeded", done.ID, StatusSucceeded, 0, "")
	})

	t.Run("redeliver", func(t *testing.T) {
		const agent = 2000
		v1, v2, v3 := r.version(r.ep, agent, 1), r.version(r.ep, agent, 2), r.version(r.ep, agent, 3)
		r.set(v1.ID, map[string]any{"status": StatusFailed, "next_attempt_at": nil})
		r.set(v2.ID, map[string]any{"status": StatusSucceeded, "next_attempt_at": nil})
		r.set(v3.ID, map[string]any{"status": StatusFailed, "next_attempt_at": nil})
		for _, tc := range []struct {
			old  models.WebhookDelivery
			want string
		}{{v1, StatusSuperseded}, {v2, StatusPending}, {v3, StatusPending}} {
			var d models.WebhookDelivery
			err := db.Transaction(func(tx *gorm.DB) error {
				var err error
				d, err = r.s.Redeliver(tx, tc.old, r.now)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			got := r.want("redelivery", d.ID, tc.want, 0, "")
			if got.EventID != tc.old.EventID || *got.Version != *tc.old.Version || (tc.want == StatusPending) != (got.NextAttemptAt != nil) {
				t.Errorf("redelivery of version %d: %+v", *tc.old.Version, got)
			}
		}
	})

	t.Run("recover", func(t *testing.T) {
		ep := b.endpoint("https://d.example/").ID
		since := r.now.Add(-time.Hour)
		failed := func(d models.WebhookDelivery, at time.Time) int64 {
			r.set(d.ID, map[string]any{"status": StatusFailed, "next_attempt_at": nil, "created_at": at})
			return d.ID
		}
		in := r.now.Add(-time.Minute)
		// Agent 3001: versions 1 to 3 failed: only 3 is queued.
		failed(r.version(ep, 3001, 1), in)
		failed(r.version(ep, 3001, 2), in)
		failed(r.version(ep, 3001, 3), in)
		// Agent 3002: 1 failed, 2 succeeded: nothing.
		failed(r.version(ep, 3002, 1), in)
		r.set(r.version(ep, 3002, 2).ID, map[string]any{"status": StatusSucceeded, "next_attempt_at": nil})
		// Agent 3003: 1 failed, 2 pending: nothing (2 is on its way).
		failed(r.version(ep, 3003, 1), in)
		r.version(ep, 3003, 2)
		// Agent 3004: 1 failed before since: not looked at.
		failed(r.version(ep, 3004, 1), since.Add(-time.Second))
		// Agent 3005: 2 failed twice (a redelivery failed too): queued once.
		v2 := r.version(ep, 3005, 2)
		failed(v2, in)
		again, err := r.s.Redeliver(db.DB, v2, r.now)
		if err != nil {
			t.Fatal(err)
		}
		failed(again, in)
		// A test event about no agent, failed: queued again.
		testEv := r.enqueue(Event{Type: TypeTest, EndpointID: &ep, Data: map[string]string{}})[0]
		var testDel models.WebhookDelivery
		for _, d := range r.deliveriesOf(testEv.ID) {
			testDel = d
		}
		failed(testDel, in)

		pendingBefore := r.countPending(ep)
		var top int64
		db.Raw("SELECT MAX(id) FROM webhook_deliveries").Scan(&top)
		var got Recovered
		err = db.Transaction(func(tx *gorm.DB) error {
			var err error
			got, err = r.s.Recover(tx, ep, since, nil, r.now)
			return err
		})
		if err != nil || got != (Recovered{Queued: 3, Superseded: 5}) {
			t.Fatalf("recover: %+v, %v; want 3 queued, 5 superseded", got, err)
		}
		var queued []models.WebhookDelivery
		db.Where("id > ?", top).Order("id").Find(&queued)
		want := []string{"3001/3", "3005/2", "test"}
		var gotKeys []string
		for _, d := range queued {
			if d.AgentID == nil {
				gotKeys = append(gotKeys, "test")
				continue
			}
			gotKeys = append(gotKeys, fmt.Sprintf("%d/%d", *d.AgentID, *d.Version))
		}
		if fmt.Sprint(gotKeys) != fmt.Sprint(want) || r.countPending(ep) != pendingBefore+3 {
			t.Errorf("queued %v, want %v", gotKeys, want)
		}
		// Again: everything is on its way; nothing more.
		got, err = r.s.Recover(db.DB, ep, since, nil, r.now)
		if err != nil || got != (Recovered{Queued: 0, Superseded: 8}) {
			t.Errorf("second recover: %+v, %v; want 0 queued, 8 superseded", got, err)
		}
		// An agent's own: agent 3001's and those about no agent only.
		other := int64(3002)
		got, err = r.s.Recover(db.DB, ep, since, &other, r.now)
		if err != nil || got != (Recovered{Queued: 0, Superseded: 2}) {
			t.Errorf("recover of agent 3002: %+v, %v; want 0 queued, 2 superseded (its version 1, the test event)", got, err)
		}
	})
}

// TestResultsWrittenAgainAreRecordedOnce: the writer writes a batch again
// after an error, which may have come after a COMMIT that went through
// (the database died as it answered): the attempts are not recorded twice
// and the state is not applied twice.
func TestResultsWrittenAgainAreRecordedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.endpoint("https://a.example/")
	d, err := NewDispatcher(b.db, b.outbox, b.config())
	if err != nil {
		t.Fatal(err)
	}
	id := b.onlyDelivery(b.enqueue(abilityEvent(1, 1))[0].ID).ID
	now := b.clock.Now()
	const token = "d_test.1"
	if n, err := d.deliveries.lease(b.db.DB, []int64{id}, token, now, now.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("lease: %d, %v", n, err)
	}
	j := &job{id: id, endpointID: 1}
	tok := token
	j.token.Store(&tok)
	batch := []*result{{job: j, attempted: true, ok: true, status: 200, at: now, took: time.Millisecond}}
	for _, again := range []bool{false, true} {
		if _, err := d.write(context.Background(), batch, again); err != nil {
			t.Fatal(err)
		}
	}
	if as, del := b.attempts(id), b.delivery(id); len(as) != 1 || del.AttemptCount != 1 || del.Status != StatusSucceeded {
		t.Errorf("%d attempt rows, delivery %s after %d attempts; want 1 row, SUCCEEDED after 1", len(as), del.Status, del.AttemptCount)
	}
}
