package webhooks

import "sync"

// maxChangedEndpoints bounds endpointChanges.at; past it the record starts
// afresh (endpointChanges.note).
const maxChangedEndpoints = 10_000

// endpointChanges records which endpoints changed (a new URL or secret,
// disabled, deleted) since a claim or a hand-off read them, so that only
// the jobs of those endpoints are given back: a change of one endpoint
// must not hold back the deliveries of the others (an agent app may edit
// its endpoint as often as it likes). Dispatcher.endpointChanged says how
// it orders with a claim. It is safe for concurrent use.
type endpointChanges struct {
	mu    sync.Mutex
	seq   uint64           // changes noted so far
	at    map[int64]uint64 // endpoint ID → seq of its last change
	floor uint64           // a mark below it may miss a change the record forgot when it started afresh
}

// mark returns the number of changes noted so far, read by a claim (or a
// hand-off's transaction) before it reads the endpoints, for changedSince.
func (c *endpointChanges) mark() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// note records a change of the endpoint id.
func (c *endpointChanges) note(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	switch {
	case c.at == nil:
		c.at = map[int64]uint64{} // the first change: nothing was forgotten
	case len(c.at) >= maxChangedEndpoints:
		// The changes up to the one before this are forgotten: a mark
		// taken before that one may miss one of them.
		c.at, c.floor = map[int64]uint64{}, c.seq-1
	}
	c.at[id] = c.seq
}

// changedSince reports whether the endpoint id changed after mark was
// read, or may have (mark is older than the record).
func (c *endpointChanges) changedSince(id int64, mark uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return mark < c.floor || c.at[id] > mark
}
