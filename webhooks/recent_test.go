package webhooks

import "testing"

func TestRecentEvents(t *testing.T) {
	t.Parallel()
	r := newRecentEvents()
	r.add(1, &recentEvent{msgID: "msg_1", body: []byte("one"), agentID: 5, version: 2, left: 2})
	r.add(2, &recentEvent{msgID: "msg_2", body: []byte("two"), left: 1})
	for i, c := range []struct {
		id, agent, version int64
		want               string // "" for a miss
	}{
		{1, 5, 2, "one"},
		{1, 5, 2, "one"}, // its second delivery
		{1, 5, 2, ""},    // none left
		{2, 5, 2, ""},    // another agent: not the event it was
		{2, 0, 0, ""},    // dropped by the mismatch
		{3, 0, 0, ""},    // never kept
	} {
		_, body, ok := r.take(c.id, c.agent, c.version)
		if ok != (c.want != "") || string(body) != c.want {
			t.Errorf("#%d: take(%d) = %q, %v; want %q", i, c.id, body, ok, c.want)
		}
	}
	if len(r.byID) != 0 || r.bytes != 0 {
		t.Errorf("%d events (%d bytes) still kept, want none", len(r.byID), r.bytes)
	}
	for id := range int64(maxRecentEvents + 10) {
		r.add(id+10, &recentEvent{body: []byte("x"), left: 1})
	}
	if _, _, ok := r.take(10, 0, 0); ok {
		t.Errorf("the oldest event is kept past %d events", maxRecentEvents)
	}
	if _, _, ok := r.take(maxRecentEvents+19, 0, 0); !ok {
		t.Errorf("the newest event is not kept")
	}
	if len(r.byID) > maxRecentEvents || len(r.order) > 4*maxRecentEvents {
		t.Errorf("%d events kept, %d in order; want at most %d", len(r.byID), len(r.order), maxRecentEvents)
	}
}

// TestEventsOfAnotherProcessAreReadBack checks the dispatcher reads an
// event its outbox did not record (another process's) from the database.
func TestEventsOfAnotherProcessAreReadBack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := newReceiver(t, nil)
	ep := b.endpoint(rc.url("/"))
	rc.expect(ep.Secret)
	b.start(b.config())
	ev := enqueueWith(t, b.db, NewOutbox(b.clock.Now), abilityEvent(7, 3))[0]
	b.outbox.Committed()
	b.waitStatus(b.onlyDelivery(ev.ID).ID, StatusSucceeded, 1)
	reqs := rc.got()
	if len(reqs) != 1 || reqs[0].ID != ev.MessageID || string(reqs[0].Body) != ev.Payload || reqs[0].VerifyErr != nil {
		t.Fatalf("receiver got %+v, want the event %s with its payload, signed", reqs, ev.MessageID)
	}
}

// TestRecentEventsOverwrite: an ID kept again (SQLite reuses the IDs of a
// rolled-back transaction) replaces the old event and its byte count.
func TestRecentEventsOverwrite(t *testing.T) {
	t.Parallel()
	r := newRecentEvents()
	r.add(1, &recentEvent{msgID: "msg_a", body: []byte("rolled back"), left: 1})
	r.add(1, &recentEvent{msgID: "msg_b", body: []byte("kept"), left: 1})
	if r.bytes != len("kept") {
		t.Errorf("%d bytes counted after an overwrite, want %d (the new body only)", r.bytes, len("kept"))
	}
	if msgID, _, ok := r.take(1, 0, 0); !ok || msgID != "msg_b" {
		t.Errorf("take(1) = %q, %v; want the newer event msg_b", msgID, ok)
	}
	if len(r.byID) != 0 || r.bytes != 0 {
		t.Errorf("%d events (%d bytes) still counted after the last take, want none", len(r.byID), r.bytes)
	}
}
