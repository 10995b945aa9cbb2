package webhooks

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"outdial/models"
)

// FeedEvent is one stored agent.calling_ability.changed event.
type FeedEvent struct {
	ID         int64
	MessageID  string
	AgentID    int64
	Version    int64
	Payload    string // the exact webhook body: {"type", "timestamp", "data"}
	OccurredAt time.Time
	// PreviousOccurredAt is when the agent's previous version (Version-1)
	// was recorded: the time of its event, read in the same statement;
	// zero when there is none.
	PreviousOccurredAt time.Time
	// previousID is the ID of that event; 0 when there is none.
	previousID int64
}

// FeedConfig tunes a Feed. The zero value of every field means its default.
type FeedConfig struct {
	// PollInterval is how often the database is read when no commit of
	// this process woke the feed (other processes' commits, late commits
	// below the cursor); default 1s.
	PollInterval time.Duration
	// GapWindow is how long an event ID below one already seen may still
	// commit and be delivered: a transaction that took an ID earlier can
	// commit later. Default 30s.
	GapWindow time.Duration
	// Buffer is the number of events queued on a subscriber's channel;
	// default 64.
	Buffer int
	// Recent is the number of the newest events kept whole in memory for
	// the subscribers; one further behind reads its events from the
	// database. Default 1024.
	Recent int
	// Horizon is the number of the newest events whose ID the feed keeps
	// (16 bytes each); a subscriber further behind is ended with
	// ErrSubscriberBehind. Default 100,000; at least Recent.
	Horizon int
	// StallTimeout is how long a subscriber with events waiting may leave
	// its channel full (its client reads nothing) before it is ended with
	// ErrSubscriberStalled; default 1 minute.
	StallTimeout time.Duration
	// Now is the clock of the gap window; default time.Now.
	Now func() time.Time
	// Logger receives subscribers falling behind or ended, and read
	// errors; default: discarded.
	Logger *slog.Logger
}

// feedPage bounds the events read at once.
const feedPage = 500

// Feed tails the stored agent.calling_ability.changed events and
// publishes them to in-process subscribers (the GraphQL subscription). A
// commit of this process wakes it; polling finds other processes' commits
// and events that committed after a higher ID had been seen. Each event
// is published once, and each agent's versions in order; an event that
// fills a gap in the IDs may come after higher IDs.
//
// Run alone reads the database and appends to the ring (feedRing); each
// subscriber's own goroutine reads the ring after its cursor (feedsub.go).
type Feed struct {
	db   *models.DB
	cfg  FeedConfig
	log  *slog.Logger
	wake chan struct{}
	// life is done once Run has returned: the subscribers end.
	life context.Context
	stop context.CancelFunc

	mu        sync.RWMutex
	ring      *feedRing
	published chan struct{} // closed, and replaced, when events are added to ring
	subs      int
	closed    bool

	// Run's own.
	high int64               // highest ID published
	safe int64               // every ID up to it is settled: seen, or never to commit
	seen map[int64]time.Time // IDs above safe seen, and when
}

// NewFeed returns a feed of db's ability events, woken by outbox after
// every commit (outbox may be nil: polling only).
func NewFeed(db *models.DB, outbox *Outbox, cfg FeedConfig) *Feed {
	setDefault(&cfg.PollInterval, DefaultPollInterval)
	setDefault(&cfg.GapWindow, 30*time.Second)
	setDefault(&cfg.Buffer, 64)
	setDefault(&cfg.Recent, 1024)
	setDefault(&cfg.Horizon, 100_000)
	cfg.Horizon = max(cfg.Horizon, cfg.Recent)
	setDefault(&cfg.StallTimeout, time.Minute)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	f := &Feed{db: db, cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1),
		ring: newFeedRing(cfg.Recent, cfg.Horizon), published: make(chan struct{}), seen: map[int64]time.Time{}}
	f.life, f.stop = context.WithCancel(context.Background())
	if outbox != nil {
		outbox.Listen(f.Wake)
	}
	return f
}

// Wake makes the feed read new events now. It never blocks.
func (f *Feed) Wake() { signal(f.wake) }

// Run publishes events until ctx is done, then ends every subscription
// with ErrFeedStopped (Run returns without waiting for them to close
// their channels). It starts after the newest event stored. It returns an
// error when the database cannot be read at the start.
func (f *Feed) Run(ctx context.Context) error {
	defer f.close()
	if err := f.start(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	tick := time.NewTicker(f.cfg.PollInterval)
	defer tick.Stop()
	for {
		var rescan bool
		select {
		case <-ctx.Done():
			return nil
		case <-f.wake:
		case <-tick.C:
			rescan = true
		}
		if err := f.poll(ctx, rescan); err != nil && ctx.Err() == nil {
			f.log.Warn("reading calling ability events failed", "err", err)
		}
	}
}

// start sets the cursor after the newest stored event.
func (f *Feed) start(ctx context.Context) error {
	var high *int64
	if err := f.db.WithContext(ctx).Raw("SELECT MAX(id) FROM webhook_events WHERE type = ?", TypeAbilityChanged).
		Scan(&high).Error; err != nil {
		return fmt.Errorf("feed: read newest event: %w", err)
	}
	if high != nil {
		f.high, f.safe = *high, *high
	}
	return nil
}

// close ends every subscription with ErrFeedStopped; later ones get a
// closed channel.
func (f *Feed) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.stop()
}

// poll publishes the events above the cursor and, when rescan is set, the
// late ones below it, then moves the settled mark.
func (f *Feed) poll(ctx context.Context, rescan bool) error {
	for {
		evs, err := f.read(ctx, feedPage, "e.id > ?", f.high)
		if err != nil {
			return err
		}
		if f.previousLate(evs) {
			// An agent's previous version committed late: publish it
			// first, so that every agent's versions come in order.
			if err := f.rescan(ctx); err != nil {
				return err
			}
		}
		f.publish(evs)
		if len(evs) < feedPage {
			break
		}
	}
	if !rescan {
		return nil
	}
	if err := f.rescan(ctx); err != nil {
		return err
	}
	f.settle()
	return nil
}

// rescan publishes the events between the settled mark and the cursor
// that were not seen yet: those whose transaction committed late.
func (f *Feed) rescan(ctx context.Context) error {
	var ids []int64
	if err := f.db.WithContext(ctx).Raw("SELECT id FROM webhook_events WHERE type = ? AND id > ? AND id < ? ORDER BY id",
		TypeAbilityChanged, f.safe, f.high).Scan(&ids).Error; err != nil {
		return fmt.Errorf("feed: rescan: %w", err)
	}
	ids = slices.DeleteFunc(ids, func(id int64) bool { _, ok := f.seen[id]; return ok })
	for chunk := range slices.Chunk(ids, feedPage) {
		evs, err := f.read(ctx, feedPage, "e.id IN "+inList(chunk))
		if err != nil {
			return err
		}
		f.publish(evs)
	}
	return nil
}

// previousLate reports whether the previous version of any of evs,
// stored below the highest ID published, is not published yet: it
// committed late, and the rescan will find it.
func (f *Feed) previousLate(evs []FeedEvent) bool {
	return slices.ContainsFunc(evs, func(e FeedEvent) bool {
		_, seen := f.seen[e.previousID]
		return e.previousID > f.safe && e.previousID < f.high && !seen
	})
}

// feedSelect reads ability events with, for each one, the time and the ID
// of its agent's previous version (webhook_events_agent_version finds
// it).
const feedSelect = "SELECT e.id, e.message_id, e.agent_id, e.version, e.payload, e.occurred_at," +
	" (SELECT p.occurred_at FROM webhook_events AS p WHERE p.agent_id = e.agent_id AND p.version = e.version - 1" +
	" AND p.type = e.type LIMIT 1)," +
	" (SELECT p.id FROM webhook_events AS p WHERE p.agent_id = e.agent_id AND p.version = e.version - 1" +
	" AND p.type = e.type LIMIT 1)" +
	" FROM webhook_events AS e WHERE e.type = ? AND "

// read returns up to limit ability events matching cond (on the events
// as e), by ID.
func (f *Feed) read(ctx context.Context, limit int, cond string, args ...any) ([]FeedEvent, error) {
	rows, err := f.db.WithContext(ctx).Raw(feedSelect+cond+" ORDER BY e.id LIMIT ?",
		append(append([]any{TypeAbilityChanged}, args...), limit)...).Rows()
	if err != nil {
		return nil, fmt.Errorf("feed: read events: %w", err)
	}
	defer rows.Close()
	var evs []FeedEvent
	for rows.Next() {
		var e FeedEvent
		var agentID, version sql.NullInt64
		var previous sql.NullTime
		var previousID sql.NullInt64
		if err := rows.Scan(&e.ID, &e.MessageID, &agentID, &version, &e.Payload, &e.OccurredAt, &previous, &previousID); err != nil {
			return nil, fmt.Errorf("feed: read events: %w", err)
		}
		e.AgentID, e.Version, e.PreviousOccurredAt, e.previousID = agentID.Int64, version.Int64, previous.Time, previousID.Int64
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("feed: read events: %w", err)
	}
	return evs, nil
}

// publish marks evs seen and adds them to the ring, then wakes the
// subscribers waiting for events. It waits for none of them.
func (f *Feed) publish(evs []FeedEvent) {
	if len(evs) == 0 {
		return
	}
	now := f.cfg.Now()
	for _, e := range evs {
		f.seen[e.ID] = now
		f.high = max(f.high, e.ID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range evs {
		f.ring.add(e)
	}
	close(f.published)
	f.published = make(chan struct{})
}

// settle moves the settled mark to the highest ID seen at least GapWindow
// ago: any lower ID still missing belongs to a transaction that would
// have committed by now. It forgets the seen IDs at or below it.
func (f *Feed) settle() {
	cutoff := f.cfg.Now().Add(-f.cfg.GapWindow)
	for id, at := range f.seen {
		if !at.After(cutoff) && id > f.safe {
			f.safe = id
		}
	}
	for id := range f.seen {
		if id <= f.safe {
			delete(f.seen, id)
		}
	}
}
