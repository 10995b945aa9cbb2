package webhooks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Why a subscription ended, as Subscription.Err reports it.
var (
	// ErrFeedStopped: the feed stopped (the server is shutting down).
	ErrFeedStopped = errors.New("the event feed stopped")
	// ErrSubscriberStalled: the subscriber had events waiting and read
	// none for FeedConfig.StallTimeout.
	ErrSubscriberStalled = errors.New("the subscriber read no event for too long")
	// ErrSubscriberBehind: the subscriber fell more than
	// FeedConfig.Horizon events behind the feed.
	ErrSubscriberBehind = errors.New("the subscriber fell too far behind")
)

// errCancelled ends a subscription whose context is done: Err is nil.
var errCancelled = errors.New("subscription cancelled")

// subscriberBatch bounds the events a subscriber takes at once, from
// memory or from the database.
const subscriberBatch = 100

// Subscription is the stream of one subscriber: its events and, once
// they end, why.
type Subscription struct{ s *subscriber }

// subscriber is one subscription. Its goroutine (serve) is the only one
// that sends on ch, and end, which it calls once when it returns, the only
// place that closes ch.
//
// It reads the feed's ring (feedRing) after its own seq: the events it
// wants, whole from memory while they are recent; once the ring has moved
// past them, by ID from the database (one statement per batch); and once
// it is more than the horizon behind, it is ended with
// ErrSubscriberBehind. So it gets every event the feed publishes, once
// and in the feed's order, at its own pace: a subscriber that does not
// read holds up no other, and its memory is its channel's Buffer events
// and one batch.
type subscriber struct {
	f       *Feed
	ch      chan FeedEvent
	ctx     context.Context // Watch's
	agentID int64
	all     bool
	cursor  uint64       // seq of the next event to look at
	counted bool         // in the feed's count of subscribers
	fromDB  atomic.Int64 // events read from the database, for tests

	mu  sync.Mutex
	err error // why it ended; set right before ch is closed
}

// Subscribe returns a channel of the events committed from now on, about
// agentID only when it is not nil. It is Watch(ctx, agentID).Events().
func (f *Feed) Subscribe(ctx context.Context, agentID *int64) <-chan FeedEvent {
	return f.Watch(ctx, agentID).Events()
}

// Watch subscribes to the events committed from now on, about agentID
// only when it is not nil. A subscriber that does not keep up loses
// nothing: it reads its events from the database once they are no longer
// in memory (see subscriber). Its events channel is closed when ctx is
// done, when the feed stops, or when the subscriber is ended for being
// stalled or too far behind (Err says which).
func (f *Feed) Watch(ctx context.Context, agentID *int64) *Subscription {
	s := &subscriber{f: f, ch: make(chan FeedEvent, f.cfg.Buffer), ctx: ctx, all: agentID == nil}
	if agentID != nil {
		s.agentID = *agentID
	}
	f.mu.Lock()
	if !f.closed {
		s.cursor, s.counted = f.ring.next, true
		f.subs++
	}
	f.mu.Unlock()
	if !s.counted {
		s.end(ErrFeedStopped)
	} else {
		go s.serve()
	}
	return &Subscription{s}
}

// Subscribers returns the number of subscriptions the feed runs: those
// Watch started that have not ended.
func (f *Feed) Subscribers() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.subs
}

// Events returns the channel of the subscription's events. It is closed
// when the subscription ends.
func (sub *Subscription) Events() <-chan FeedEvent { return sub.s.ch }

// Err returns why the subscription ended once Events is closed: nil when
// its context was done, ErrFeedStopped, ErrSubscriberStalled,
// ErrSubscriberBehind or ErrOlderThanRetention. Before that it returns
// nil.
func (sub *Subscription) Err() error {
	s := sub.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if errors.Is(s.err, errCancelled) {
		return nil
	}
	return s.err
}

// wants reports whether s subscribed to agentID's events.
func (s *subscriber) wants(agentID int64) bool { return s.all || s.agentID == agentID }

// serve sends s's events until ctx is done, the feed stops or s is ended,
// then ends s.
func (s *subscriber) serve() {
	// Reads stop when the subscription or the feed does.
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	stopReads := context.AfterFunc(s.f.life, cancel)
	defer stopReads()
	stall := time.NewTimer(s.f.cfg.StallTimeout)
	stall.Stop()
	err := s.run(ctx, stall)
	if err != nil && errors.Is(err, ctx.Err()) {
		err = ErrFeedStopped
		if s.ctx.Err() != nil {
			err = errCancelled
		}
	}
	s.end(err)
}

// run sends batches of s's events; it returns why it stopped.
func (s *subscriber) run(ctx context.Context, stall *time.Timer) error {
	for {
		evs, err := s.nextBatch(ctx)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if err := s.send(ctx, stall, e); err != nil {
				return err
			}
		}
	}
}

// send puts e on s's channel, waiting at most StallTimeout for room.
func (s *subscriber) send(ctx context.Context, stall *time.Timer, e FeedEvent) error {
	select {
	case s.ch <- e:
		return nil
	default:
	}
	stall.Reset(s.f.cfg.StallTimeout)
	defer stall.Stop()
	select {
	case s.ch <- e:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-stall.C:
		s.f.log.Warn("calling ability subscriber ended: it read nothing while events waited", "for", s.f.cfg.StallTimeout)
		return ErrSubscriberStalled
	}
}

// nextBatch returns s's next events and moves its cursor past them,
// waiting for the feed to publish some. After a failed read it waits a
// poll interval and tries again.
func (s *subscriber) nextBatch(ctx context.Context) ([]FeedEvent, error) {
	f := s.f
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f.mu.RLock()
		b, ok := f.ring.read(s.cursor, s.wants, subscriberBatch)
		published, more := f.published, b.to < f.ring.next
		f.mu.RUnlock()
		switch {
		case !ok:
			f.log.Warn("calling ability subscriber ended: it fell too far behind", "horizon", f.cfg.Horizon)
			return nil, ErrSubscriberBehind
		case len(b.ids) > 0:
			evs, err := f.readIDs(ctx, b.ids)
			if errors.Is(err, ErrOlderThanRetention) {
				f.log.Warn("calling ability subscriber ended: the events it had yet to read were deleted as older than the retention")
				return nil, err
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				f.log.Warn("reading a calling ability subscriber's events failed; trying again", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(f.cfg.PollInterval):
				}
				continue
			}
			s.cursor = b.to
			s.fromDB.Add(int64(len(evs)))
			return evs, nil
		case len(b.events) > 0:
			s.cursor = b.to
			return b.events, nil
		}
		s.cursor = b.to // past events s does not want
		if more {
			continue
		}
		select {
		case <-published:
		case <-ctx.Done():
		}
	}
}

// end records why s ended, leaves the feed's count and closes s's
// channel: the one place that does, called once, by serve (or by Watch
// when the feed has stopped and serve never runs).
func (s *subscriber) end(err error) {
	if s.counted {
		s.f.mu.Lock()
		s.f.subs--
		s.f.mu.Unlock()
	}
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	close(s.ch)
}

// readIDs reads the events ids, in that order. It returns
// ErrOlderThanRetention when any is gone: the pruner deleted it.
func (f *Feed) readIDs(ctx context.Context, ids []int64) ([]FeedEvent, error) {
	sorted := slices.Sorted(slices.Values(ids))
	evs, err := f.read(ctx, len(sorted), "e.id IN "+inList(sorted))
	if err != nil {
		return nil, fmt.Errorf("read a subscriber's events: %w", err)
	}
	if len(evs) < len(ids) {
		return nil, ErrOlderThanRetention
	}
	byID := make(map[int64]FeedEvent, len(evs))
	for _, e := range evs {
		byID[e.ID] = e
	}
	out := make([]FeedEvent, len(ids))
	for i, id := range ids {
		out[i] = byID[id]
	}
	return out, nil
}
