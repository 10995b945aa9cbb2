package webhooks

// feedRing is what the feed published, in the order it did, numbered from
// 0 (a sequence number, seq): the newest `recent` events whole, and the
// ID and agent of the newest `horizon` (horizon >= recent). A subscriber
// reads after its own seq: from memory while its next events are recent,
// by ID from the database while they are within the horizon (see
// subscriber). Guarded by the feed's mu.
type feedRing struct {
	events []FeedEvent // events[seq % len]: the newest len(events)
	refs   []eventRef  // refs[seq % len]: the newest len(refs)
	next   uint64      // seq of the next event published
}

// eventRef names a published event.
type eventRef struct{ id, agentID int64 }

func newFeedRing(recent, horizon int) *feedRing {
	return &feedRing{events: make([]FeedEvent, recent), refs: make([]eventRef, max(horizon, recent))}
}

// add appends e.
func (r *feedRing) add(e FeedEvent) {
	r.events[r.next%uint64(len(r.events))] = e
	r.refs[r.next%uint64(len(r.refs))] = eventRef{e.ID, e.AgentID}
	r.next++
}

// oldest returns the seq of the oldest event whose ref is kept, and of
// the oldest kept whole.
func (r *feedRing) oldest() (ref, whole uint64) {
	return r.next - min(r.next, uint64(len(r.refs))), r.next - min(r.next, uint64(len(r.events)))
}

// feedBatch is what a subscriber reads at once: events from memory, or
// the IDs of events to read from the database; to is the seq after the
// last one looked at (wanted or not), below the ring's next when more
// are to be looked at.
type feedBatch struct {
	events []FeedEvent
	ids    []int64
	to     uint64
}

// maxLook bounds the events one read looks at (under the feed's lock).
const maxLook = 4096

// read returns up to limit events from seq from on that the subscriber
// wants: whole ones from memory, or, when from is older than those, the
// IDs of the ones before them. It looks at maxLook events at most. ok is
// false when from is older than the horizon: the refs of some of its
// events are gone.
func (r *feedRing) read(from uint64, wants func(agentID int64) bool, limit int) (b feedBatch, ok bool) {
	oldestRef, oldestWhole := r.oldest()
	if from < oldestRef {
		return feedBatch{}, false
	}
	seq, end := from, min(r.next, from+maxLook)
	for ; seq < min(oldestWhole, end) && len(b.ids) < limit; seq++ {
		if ref := r.refs[seq%uint64(len(r.refs))]; wants(ref.agentID) {
			b.ids = append(b.ids, ref.id)
		}
	}
	if len(b.ids) > 0 {
		b.to = seq
		return b, true
	}
	for ; seq < end && len(b.events) < limit; seq++ {
		if e := r.events[seq%uint64(len(r.events))]; wants(e.AgentID) {
			b.events = append(b.events, e)
		}
	}
	b.to = seq
	return b, true
}
