package webhooks

import "sync"

// Default bounds of recentEvents (WithRecentEvents): past either, the
// oldest events leave first.
const (
	maxRecentEvents = 20_000
	maxRecentBytes  = 32 << 20
)

// recentEvents keeps the message ID and body of the events this process
// recorded lately, so that the dispatcher need not read back from the
// database what the outbox just wrote (on SQLite a tenth of a claim's
// work; on MySQL a query and the bodies' trip back). An event leaves once
// each of its deliveries was claimed, or when newer ones push it out,
// oldest first: one whose transaction rolled back, or whose deliveries
// another process claimed. A miss costs only the database read.
type recentEvents struct {
	mu    sync.Mutex
	byID  map[int64]*recentEvent
	order []int64 // IDs in the order they came; some may have left byID
	bytes int
	// maxEvents and maxBytes bound byID and bytes.
	maxEvents, maxBytes int
}

// recentEvent is one event of recentEvents.
type recentEvent struct {
	msgID   string
	body    []byte
	agentID int64 // 0: not an agent event
	version int64
	left    int // deliveries not claimed yet
}

func newRecentEvents() *recentEvents {
	return &recentEvents{byID: map[int64]*recentEvent{}, maxEvents: maxRecentEvents, maxBytes: maxRecentBytes}
}

// add keeps e as event id. An event already kept under id (SQLite
// reuses the IDs of a transaction that rolled back) is replaced, and no
// longer counted; id then has two places in order, and leaves at the
// first, a little early: that costs at most a database read.
func (r *recentEvents) add(id int64, e *recentEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.byID[id]; old != nil {
		r.bytes -= len(old.body)
	}
	r.byID[id] = e
	r.order = append(r.order, id)
	r.bytes += len(e.body)
	for len(r.byID) > r.maxEvents || r.bytes > r.maxBytes {
		r.evictOldest()
	}
}

// evictOldest drops the oldest event still kept.
func (r *recentEvents) evictOldest() {
	for len(r.order) > 0 {
		id := r.order[0]
		r.order = r.order[1:]
		if e := r.byID[id]; e != nil {
			r.drop(id, e)
			return
		}
	}
}

// drop removes event id and, when few of the IDs in order are still
// kept, compacts order.
func (r *recentEvents) drop(id int64, e *recentEvent) {
	delete(r.byID, id)
	r.bytes -= len(e.body)
	if len(r.order) > 1024 && len(r.order) > 4*len(r.byID) {
		kept := make([]int64, 0, 2*len(r.byID))
		for _, id := range r.order {
			if r.byID[id] != nil {
				kept = append(kept, id)
			}
		}
		r.order = kept
	}
}

// take returns the message ID and body of event id for one claimed
// delivery of agent agentID (0: none) at version, and whether the event
// was kept. After its last delivery the event leaves.
func (r *recentEvents) take(id, agentID, version int64) (string, []byte, bool) {
	if r == nil {
		return "", nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.byID[id]
	if e == nil {
		return "", nil, false
	}
	if e.agentID != agentID || e.version != version {
		r.drop(id, e) // not the event it was: never trust it again
		return "", nil, false
	}
	if e.left--; e.left <= 0 {
		r.drop(id, e)
	}
	return e.msgID, e.body, true
}
