package webhooks

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// A claim reads, in its transaction, each delivery's endpoint (where and
// how to send it) and whether a newer version of its agent already
// reached that endpoint (then it is SUPERSEDED instead). What it read may
// change before the delivery is sent: the endpoint may be disabled,
// deleted, given another URL or secret (by a command of this process,
// which tells the dispatcher at once through Outbox.EndpointChanged, or
// of another process, or by another process that got a 410), and another
// process may deliver a newer version (one it claimed at the same time,
// or later while this one waited behind a slow endpoint).
//
// So a delivery is sent only while what is known of it is at most
// RecheckAfter old (lane.pick). One still queued past that is checked
// again before it is sent, together with every other queued delivery
// whose check is half that old, in two set-based statements: the state
// of their endpoints, and which of them a newer version reached. A job
// whose endpoint changed is given back with every queued job of that
// endpoint (claimed again with the current state, or found FAILED); a
// job a newer version reached becomes SUPERSEDED; the others are fresh
// again.
//
// The hot path stays as it was: deliveries sent soon after their claim
// (a fan-out to healthy endpoints sends a batch within milliseconds)
// rely on the claim's own check, and no statement is added per
// delivery. The cost is a window: a newer version delivered, or an
// endpoint changed, by another process less than RecheckAfter before a
// send is not seen by it. Receivers must still ignore a version lower
// than one they applied (docs/domain.md, "Webhooks"). Within this process the window is
// closed: a change made by this process's commands (EndpointChanged) or
// seen by its writer (410) is noted before any later send, and this
// process's own deliveries of newer versions are known in memory
// (Dispatcher.stale).

// verifyLoop checks the stale jobs of the lanes whenever a lane asks for
// it, until ctx is done. After a failure it tries again after
// RecheckAfter; meanwhile the stale jobs wait.
func (d *Dispatcher) verifyLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.verifyNow:
		}
		if err := d.verify(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("checking queued webhook deliveries failed; they wait for the next check", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(d.cfg.RecheckAfter):
			}
			signal(d.verifyNow)
		}
	}
}

// verify checks again the queued jobs whose last check is more than half
// RecheckAfter old: their endpoints' state and the newer versions
// delivered. It returns an error when the database fails; the jobs then
// stay unchecked.
func (d *Dispatcher) verify(ctx context.Context) error {
	start := time.Now()
	perLane := make([][]*job, len(d.lanes))
	var all []*job
	for i, l := range d.lanes {
		perLane[i] = l.staleJobs(start.Add(-d.cfg.RecheckAfter / 2))
		all = append(all, perLane[i]...)
	}
	if len(all) == 0 {
		return nil
	}
	changed, err := d.changedEndpoints(ctx, all)
	if err != nil {
		return err
	}
	for id := range changed {
		d.endpointChanged(id)
	}
	var ids []int64
	for _, j := range all {
		if j.agentID != 0 && !changed[j.endpointID] {
			ids = append(ids, j.id)
		}
	}
	superseded, err := d.supersededAmong(d.db.WithContext(ctx), ids)
	if err != nil {
		return err
	}
	for i, l := range d.lanes {
		if len(superseded) > 0 {
			for _, j := range l.remove(superseded) {
				d.results.put(&result{job: j, superseded: true}, true)
			}
		}
		l.checked(perLane[i], start)
	}
	return nil
}

// changedEndpoints reads the endpoints of jobs in one statement and
// returns those whose state differs from what a job holds of it (or
// which no longer exist).
func (d *Dispatcher) changedEndpoints(ctx context.Context, jobs []*job) (map[int64]bool, error) {
	held := map[int64][]endpointState{} // endpoint → the states its jobs hold
	for _, j := range jobs {
		if !slices.Contains(held[j.endpointID], j.ep.endpointState) {
			held[j.endpointID] = append(held[j.endpointID], j.ep.endpointState)
		}
	}
	fresh, err := loadEndpoints(d.db.WithContext(ctx), slices.Collect(maps.Keys(held)), d.now())
	if err != nil {
		return nil, fmt.Errorf("check endpoints: %w", err)
	}
	changed := map[int64]bool{}
	for id, states := range held {
		ep := fresh[id]
		if ep == nil || len(states) > 1 || states[0] != ep.endpointState {
			changed[id] = true
		}
	}
	return changed, nil
}
