package webhooks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Why a subscription ended, as Subscription.Err reports it.
var (
	// ErrFeedStopped: the feed stopped (the server is shutting down).
	ErrFeedStopped = errors.New("the event feed stopped")
	// ErrSubscriberStalled: the subscriber was behind and read nothing
	// for FeedConfig.StallTimeout.
	ErrSubscriberStalled = errors.New("the subscriber read no event for too long")
	// ErrSubscriberBehind: while the subscriber caught up, more than
	// maxLateIDs of its events committed out of ID order.
	ErrSubscriberBehind = errors.New("the subscriber fell too far behind")
)

// catchUpPage bounds the events a catching-up subscriber reads at once.
const catchUpPage = 100

// maxLateIDs bounds the IDs of late events (committed after a higher ID
// was published) a catching-up subscriber keeps to read.
const maxLateIDs = 10_000

// Subscription is the stream of one subscriber: its events and, once
// they end, why.
type Subscription struct{ s *subscriber }

// subscriber is one subscription. Every field below ch is guarded by the
// feed's mu.
//
// A subscriber is live while the feed hands it events into ch. When ch
// is full, it falls behind: its own goroutine (catchUp) then reads its
// events from the database after cursor, a page at a time, waiting on ch
// (back-pressure), until it has reached the highest ID published; then it
// is live again. Meanwhile the feed hands it nothing, except that an
// event published late (committed after a higher ID had been seen) at or
// below cursor, which no page will read any more, is noted in lateIDs;
// and one above cursor published while a page is being read marks the
// page dirty, to be read again (the read may have missed it).
//
// So a subscriber gets every event exactly once, late ones included,
// whatever its pace: in ID order, except that an event that committed
// late may come after higher IDs (as live). Its memory is bounded by
// Buffer events in ch, one page of catchUpPage events and maxLateIDs
// IDs; past that many late IDs it is ended with ErrSubscriberBehind.
type subscriber struct {
	ch      chan FeedEvent
	agentID int64
	all     bool
	ctx     context.Context // done when the subscription ends; its cause says why
	cancel  context.CancelCauseFunc
	stopCtx func() bool // stops the context.AfterFunc of Watch's ctx

	ended bool
	err   error

	behind  bool    // catchUp feeds ch
	cursor  int64   // every event wanted up to it is in ch or lateIDs, or was taken by the client
	lateIDs []int64 // late events at or below cursor, for catchUp to read
	reading bool    // catchUp is reading the page (cursor, readTo]
	readTo  int64
	dirty   bool // a late event of the page being read was published meanwhile
}

// Subscribe returns a channel of the events committed from now on, about
// agentID only when it is not nil. It is Watch(ctx, agentID).Events().
func (f *Feed) Subscribe(ctx context.Context, agentID *int64) <-chan FeedEvent {
	return f.Watch(ctx, agentID).Events()
}

// Watch subscribes to the events committed from now on, about agentID
// only when it is not nil. A subscriber that does not keep up loses
// nothing: it catches up from the database (see subscriber). Its events
// channel is closed when ctx is done, when the feed stops, or when the
// subscriber is ended for being behind (Err says which).
func (f *Feed) Watch(ctx context.Context, agentID *int64) *Subscription {
	s := &subscriber{ch: make(chan FeedEvent, f.cfg.Buffer), all: agentID == nil}
	if agentID != nil {
		s.agentID = *agentID
	}
	s.ctx, s.cancel = context.WithCancelCause(context.WithoutCancel(ctx))
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		f.end(s, ErrFeedStopped)
		return &Subscription{s}
	}
	f.subs[s] = struct{}{}
	s.stopCtx = context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.end(s, nil)
	})
	return &Subscription{s}
}

// Subscribers returns the number of subscriptions the feed runs: those
// Watch started that have not ended.
func (f *Feed) Subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// Events returns the channel of the subscription's events. It is closed
// when the subscription ends.
func (sub *Subscription) Events() <-chan FeedEvent { return sub.s.ch }

// Err returns why the subscription ended once Events is closed: nil when
// its context was done, ErrFeedStopped, ErrSubscriberStalled,
// ErrSubscriberBehind or ErrOlderThanRetention. Before that it returns
// nil.
func (sub *Subscription) Err() error {
	if sub.s.ctx.Err() == nil {
		return nil
	}
	if err := context.Cause(sub.s.ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// wants reports whether s subscribed to e's agent.
func (s *subscriber) wants(e FeedEvent) bool { return s.all || s.agentID == e.AgentID }

// hand gives e, published late or not, to s. f.mu is held.
func (f *Feed) hand(s *subscriber, e FeedEvent, late bool) {
	if !s.behind {
		select {
		case s.ch <- e:
		default:
			f.fallBehind(s, e, late)
		}
		return
	}
	switch {
	case e.ID <= s.cursor:
		if len(s.lateIDs) >= maxLateIDs {
			f.log.Warn("calling ability subscriber ended: too many late events while it caught up", "lateEvents", maxLateIDs)
			f.end(s, ErrSubscriberBehind)
			return
		}
		s.lateIDs = append(s.lateIDs, e.ID)
	case s.reading && e.ID <= s.readTo:
		s.dirty = true
	}
	// Above both: a page will read it.
}

// fallBehind switches s, whose channel is full, to catching up from e on.
// f.mu is held.
func (f *Feed) fallBehind(s *subscriber, e FeedEvent, late bool) {
	s.behind = true
	if late {
		// Every event up to the highest published was handed, except
		// late ones, which come one by one: this one, and those to come.
		s.cursor = f.high
		s.lateIDs = append(s.lateIDs, e.ID)
	} else {
		s.cursor = e.ID - 1
	}
	f.log.Info("calling ability subscriber fell behind; it catches up from the database", "buffer", f.cfg.Buffer, "event", e.ID)
	go f.catchUp(s)
}

// end ends s with err (nil: its context is done), unless it has ended:
// it leaves the feed and its channel is closed, by catchUp if it runs.
// f.mu is held.
func (f *Feed) end(s *subscriber, err error) {
	if s.ended {
		return
	}
	s.ended = true
	delete(f.subs, s)
	s.cancel(err) // nil: the cause is context.Canceled
	if s.stopCtx != nil {
		s.stopCtx()
	}
	if !s.behind {
		close(s.ch)
	}
}

// catchUp feeds s's channel from the database until s has caught up (it
// is live again) or ended (then it closes the channel).
func (f *Feed) catchUp(s *subscriber) {
	stall := time.NewTimer(f.cfg.StallTimeout)
	defer stall.Stop()
	for {
		evs, ok := f.nextPage(s)
		if !ok {
			return
		}
		for _, e := range evs {
			stall.Reset(f.cfg.StallTimeout)
			select {
			case s.ch <- e:
				continue
			case <-s.ctx.Done():
			case <-stall.C:
				f.mu.Lock()
				if !s.ended {
					f.log.Warn("calling ability subscriber ended: it read nothing while behind", "for", f.cfg.StallTimeout)
				}
				f.end(s, ErrSubscriberStalled)
				f.mu.Unlock()
			}
			f.closeBehind(s)
			return
		}
	}
}

// closeBehind closes the channel of s, ended while catchUp fed it.
func (f *Feed) closeBehind(s *subscriber) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s.behind = false
	close(s.ch)
}

// nextPage returns s's next events to hand: its late ones, or the page
// after its cursor. It returns false once s has caught up (it is live
// again) or ended (its channel closed). After a failed read it waits a
// poll interval and tries again.
func (f *Feed) nextPage(s *subscriber) ([]FeedEvent, bool) {
	for {
		f.mu.Lock()
		if s.ended {
			s.behind = false
			close(s.ch)
			f.mu.Unlock()
			return nil, false
		}
		if ids := s.lateIDs; len(ids) > 0 {
			s.lateIDs = nil
			f.mu.Unlock()
			evs, err := f.readLate(s, ids)
			if err == nil {
				return evs, true
			}
			f.mu.Lock()
			s.lateIDs = append(ids, s.lateIDs...)
			f.mu.Unlock()
			f.pause(s, err)
			continue
		}
		if s.cursor >= f.high {
			s.behind = false
			at := s.cursor
			f.mu.Unlock()
			f.log.Info("calling ability subscriber caught up", "event", at)
			return nil, false
		}
		from, to := s.cursor, f.high
		s.reading, s.readTo, s.dirty = true, to, false
		f.mu.Unlock()
		evs, err := f.readPage(s, from, to)
		f.mu.Lock()
		s.reading = false
		dirty := s.dirty
		switch {
		case err != nil || dirty:
			// After a late event of the page committed during the read,
			// read it again: the read may have missed it.
		case len(evs) < catchUpPage:
			s.cursor = to
		default:
			s.cursor = evs[len(evs)-1].ID
		}
		if err == nil && !dirty {
			evs = f.unpublished(evs)
		}
		f.mu.Unlock()
		if errors.Is(err, ErrOlderThanRetention) {
			f.mu.Lock()
			if !s.ended {
				f.log.Warn("calling ability subscriber ended: the events it had yet to read were deleted as older than the retention", "after", from)
			}
			f.end(s, err)
			f.mu.Unlock()
			continue
		}
		if err != nil {
			f.pause(s, err)
			continue
		}
		if !dirty {
			return evs, true
		}
	}
}

// unpublished removes from a page the events the feed has not published
// yet: committed after a higher ID was seen, they will be, as late ones,
// and reach the subscriber then (through lateIDs, being at or below its
// cursor, or live), so they must not come now as well. f.mu is held.
func (f *Feed) unpublished(evs []FeedEvent) []FeedEvent {
	return slices.DeleteFunc(evs, func(e FeedEvent) bool {
		_, seen := f.seen[e.ID]
		return e.ID > f.safe && !seen
	})
}

// pause logs a failed read and waits a poll interval, or until s ends.
func (f *Feed) pause(s *subscriber, err error) {
	if s.ctx.Err() == nil {
		f.log.Warn("catching up a calling ability subscriber failed; trying again", "err", err)
	}
	select {
	case <-s.ctx.Done():
	case <-time.After(f.cfg.PollInterval):
	}
}

// readPage reads s's events in (from, to], at most catchUpPage. It
// returns ErrOlderThanRetention when the pruner deleted events above
// from before the read: some of s's events may be gone.
func (f *Feed) readPage(s *subscriber, from, to int64) ([]FeedEvent, error) {
	var evs []FeedEvent
	var err error
	if s.all {
		evs, err = f.read(s.ctx, catchUpPage, "e.id > ? AND e.id <= ?", from, to)
	} else {
		evs, err = f.read(s.ctx, catchUpPage, "e.agent_id = ? AND e.id > ? AND e.id <= ?", s.agentID, from, to)
	}
	if err != nil {
		return nil, err
	}
	gone, err := Pruned(s.ctx, f.db.DB, TableEvents, from+1)
	if err != nil {
		return nil, err
	}
	if gone {
		return nil, ErrOlderThanRetention
	}
	return evs, nil
}

// readLate reads s's late events ids.
func (f *Feed) readLate(s *subscriber, ids []int64) ([]FeedEvent, error) {
	slices.Sort(ids)
	var out []FeedEvent
	for chunk := range slices.Chunk(ids, feedPage) {
		evs, err := f.read(s.ctx, len(chunk), "e.id IN "+inList(chunk))
		if err != nil {
			return nil, fmt.Errorf("read late events: %w", err)
		}
		out = append(out, evs...)
	}
	return out, nil
}
