package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"outdial/models"
)

// Wire names of the event types.
const (
	TypeAbilityChanged     = "agent.calling_ability.changed"
	TypeCallingPlanChanged = "phone_number.calling_plan.changed"
	TypeTest               = "webhook.test"
)

// Delivery statuses, as stored and as in the GraphQL enum.
const (
	StatusPending    = "PENDING"
	StatusSucceeded  = "SUCCEEDED"
	StatusFailed     = "FAILED"
	StatusSuperseded = "SUPERSEDED"
)

// TimestampLayout is the RFC 3339 form of timestamps in bodies: UTC with
// milliseconds.
const TimestampLayout = "2006-01-02T15:04:05.000Z07:00"

// Event is one event to record: its wire type, its data and, for agent
// events, the agent and ability version it is about.
type Event struct {
	Type    string
	Data    any
	AgentID *int64
	Version *int64
	// EndpointID, when set, sends the event to that endpoint only (webhook.test).
	EndpointID *int64
}

// envelope is the body of every webhook (docs/domain.md, "Webhooks").
type envelope struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      any    `json:"data"`
}

// Outbox records events and their deliveries inside the caller's
// transaction and, once that transaction has committed, wakes whoever
// listens (the dispatcher, the subscription broker).
type Outbox struct {
	now    func() time.Time
	recent *recentEvents // what Enqueue recorded, for the dispatcher

	mu        sync.Mutex
	listeners []func()
	endpoints []func(id int64)
	// dispatchers are woken after every commit that recorded events;
	// the first takes the deliveries of small writes at once (handoff.go).
	dispatchers []*Dispatcher
}

// NewOutbox returns an outbox whose timestamps come from now.
func NewOutbox(now func() time.Time, opts ...OutboxOption) *Outbox {
	o := &Outbox{now: now, recent: newRecentEvents()}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// OutboxOption configures an Outbox.
type OutboxOption func(*Outbox)

// WithRecentEvents bounds the outbox's cache of the events it recorded
// lately (kept for the dispatcher, which otherwise reads them back) to
// events events and bytes bytes of bodies; past either the oldest leave.
// The defaults are 20,000 events and 32 MiB; 0 keeps none.
func WithRecentEvents(events, bytes int) OutboxOption {
	return func(o *Outbox) { o.recent.maxEvents, o.recent.maxBytes = events, bytes }
}

// Listen registers f to be called after every commit that recorded events.
// f must not block.
func (o *Outbox) Listen(f func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.listeners = append(o.listeners, f)
}

// Committed tells the listeners and the dispatchers that events were
// committed.
func (o *Outbox) Committed() { o.committed(true) }

// committed tells the listeners that events were committed, and wakes
// the dispatchers if wake.
func (o *Outbox) committed(wake bool) {
	o.mu.Lock()
	ls := slices.Clone(o.listeners)
	ds := slices.Clone(o.dispatchers)
	o.mu.Unlock()
	for _, f := range ls {
		f()
	}
	if wake {
		for _, d := range ds {
			d.Wake()
		}
	}
}

// ListenEndpoints registers f to be called with an endpoint's ID after
// every commit that changed the endpoint. f must not block.
func (o *Outbox) ListenEndpoints(f func(id int64)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.endpoints = append(o.endpoints, f)
}

// EndpointChanged tells the endpoint listeners that a transaction that
// changed the endpoint id (its URL, secret, enabled state, or deleted
// it) has committed: the dispatcher then stops sending what it queued
// for the endpoint with the endpoint's previous state. Endpoint commands
// call it after their commit.
func (o *Outbox) EndpointChanged(id int64) {
	o.mu.Lock()
	ls := slices.Clone(o.endpoints)
	o.mu.Unlock()
	for _, f := range ls {
		f(id)
	}
}

// batchSize bounds the rows of one INSERT.
const batchSize = 500

// RowsPerInsert returns how many rows one multi-row INSERT of a large
// write carries in tx: fewer on SQLite, whose driver (glebarez/go-sqlite)
// binds each parameter by scanning all of the statement's, in time
// quadratic in their number. In a change of 10,000 abilities (their rows,
// history, events and deliveries) binding took 0.47 s of CPU with 500
// rows a statement, 0.38 s with 100, 0.11 s with 50 (the whole change:
// 1.95 s, 1.43 s with 50), and 25 rows bought nothing more.
func RowsPerInsert(tx *gorm.DB) int {
	if tx.Dialector.Name() == "sqlite" {
		return 50
	}
	return batchSize
}

// Enqueue writes events and one PENDING delivery per matching enabled
// endpoint in tx, and returns the stored events in the order given. The
// caller must call Committed after tx commits.
func (o *Outbox) Enqueue(ctx context.Context, tx *gorm.DB, events []Event) ([]models.WebhookEvent, error) {
	w := &Writer{o: o, ctx: ctx, tx: tx, now: o.now()}
	return w.Write(events)
}

// Writer returns a writer of the events of transaction tx, for a
// command that records many: it writes them in as many parts as the
// caller likes (Write), all stamped with one timestamp and sent to the
// endpoints enabled when the first part is written, so that the caller
// holds one part in memory at a time, not the whole change. The caller
// must call the Writer's Committed after tx commits: the deliveries of a
// small write may be leased to this process's dispatcher in tx and wait
// for it (handoff.go).
func (o *Outbox) Writer(ctx context.Context, tx *gorm.DB) *Writer {
	w := &Writer{o: o, ctx: ctx, tx: tx, now: o.now(), started: monoNow()}
	o.mu.Lock()
	if len(o.dispatchers) > 0 {
		w.taker = o.dispatchers[0]
		w.mark = w.taker.endpointChanges.mark()
	}
	o.mu.Unlock()
	return w
}

// addDispatcher has the outbox wake d after every commit that recorded
// events; the first dispatcher added also takes the deliveries of small
// writes from their transaction (handoff.go).
func (o *Outbox) addDispatcher(d *Dispatcher) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dispatchers = append(o.dispatchers, d)
}

// Committed tells the outbox that w's transaction has committed: the
// deliveries it leased to the dispatcher are queued on its workers, and
// the listeners are told (Outbox.Committed). The dispatchers are woken
// unless every delivery written was handed off and wake is false; wake
// says the transaction wrote deliveries besides w's (Deliveries).
func (w *Writer) Committed(wake bool) {
	wake = wake || w.claimable
	if len(w.handed) > 0 {
		w.taker.take(w.token, w.until, w.handed, w.mark, w.started)
		w.handed = nil
	} else {
		wake = true
	}
	w.o.committed(wake)
}

// Writer writes the events of one transaction in parts (Outbox.Writer).
// It is not safe for concurrent use.
type Writer struct {
	o       *Outbox
	ctx     context.Context
	tx      *gorm.DB
	now     time.Time
	targets []target
	loaded  bool // targets read
	written int

	taker     *Dispatcher // nil: no hand-off (Enqueue)
	mark      uint64      // the taker's endpointChanges.mark() before the transaction read the endpoints
	started   int64       // monoNow() before the transaction wrote anything: when its deliveries were known held
	claimable bool        // deliveries were written that are not handed off
	token     string      // the lease of the deliveries handed off
	until     time.Time
	handed    []handed
}

// Written returns how many events w has written (0 for a nil w).
func (w *Writer) Written() int {
	if w == nil {
		return 0
	}
	return w.written
}

// Write writes events and one PENDING delivery per matching enabled
// endpoint in w's transaction, with multi-row INSERTs (insertBatch rows
// each), and returns the stored events in the order given. Nothing of
// events is kept once it returns but the dispatcher's bounded cache of
// recent bodies.
func (w *Writer) Write(events []Event) ([]models.WebhookEvent, error) {
	if len(events) == 0 {
		return nil, nil
	}
	tx := w.tx.WithContext(w.ctx)
	stamp := w.now.UTC().Format(TimestampLayout)
	rows := make([]models.WebhookEvent, len(events))
	bodies := make([][]byte, len(events))
	for i, e := range events {
		body, err := json.Marshal(envelope{Type: e.Type, Timestamp: stamp, Data: e.Data})
		if err != nil {
			return nil, fmt.Errorf("encode %s event: %w", e.Type, err)
		}
		bodies[i] = body
		rows[i] = models.WebhookEvent{MessageID: NewMessageID(w.now), Type: e.Type, AgentID: e.AgentID,
			Version: e.Version, Payload: string(body), OccurredAt: w.now}
	}
	if err := tx.CreateInBatches(&rows, RowsPerInsert(tx)).Error; err != nil {
		return nil, fmt.Errorf("store events: %w", err)
	}
	if !w.loaded {
		var err error
		if w.targets, err = loadTargets(w.ctx, w.tx); err != nil {
			return nil, err
		}
		w.loaded = true
	}
	// Endpoint by endpoint, so that each endpoint's deliveries of a write
	// lie side by side in the table: the dispatcher leases, extends and
	// settles one endpoint's deliveries together, and rows of one
	// endpoint among every other endpoint's would cost a page written
	// per row on SQLite (BENCHMARKS.md, "A healthy endpoint beside dead
	// ones"). An endpoint's deliveries keep the events' order.
	var deliveries []models.WebhookDelivery
	var to []*target // of each delivery
	var of []int     // the index in events of each delivery
	counts := make([]int, len(events))
	for k := range w.targets {
		for i, e := range events {
			if ep := &w.targets[k]; ep.matches(e) {
				deliveries = append(deliveries, models.WebhookDelivery{
					EndpointID: ep.id, EventID: rows[i].ID, AgentID: e.AgentID, Version: e.Version,
					Status: StatusPending, NextAttemptAt: &w.now, CreatedAt: w.now, UpdatedAt: w.now,
				})
				to, of = append(to, ep), append(of, i)
				counts[i]++
			}
		}
	}
	hand := w.offer(to)
	if hand {
		for i := range deliveries {
			deliveries[i].LeaseOwner, deliveries[i].LeaseExpiresAt, deliveries[i].NextAttemptAt = &w.token, &w.until, &w.until
		}
	}
	if len(deliveries) > 0 {
		if err := tx.CreateInBatches(&deliveries, RowsPerInsert(tx)).Error; err != nil {
			return nil, fmt.Errorf("store deliveries: %w", err)
		}
	}
	if hand {
		for i, dl := range deliveries {
			e := events[of[i]]
			h := handed{id: dl.ID, endpoint: to[i].row, msgID: rows[of[i]].MessageID, body: bodies[of[i]]}
			if e.AgentID != nil && e.Version != nil {
				h.agentID, h.version = *e.AgentID, *e.Version
			}
			w.handed = append(w.handed, h)
		}
		clear(counts) // nothing to keep for a claim
	} else if len(deliveries) > 0 {
		w.claimable = true
	}
	w.o.keep(rows, bodies, counts)
	w.written += len(events)
	return rows, nil
}

// keep hands the stored events that have deliveries to the dispatcher's
// cache of recent events.
func (o *Outbox) keep(rows []models.WebhookEvent, bodies [][]byte, counts []int) {
	for i, r := range rows {
		if counts[i] == 0 {
			continue
		}
		e := &recentEvent{msgID: r.MessageID, body: bodies[i], left: counts[i]}
		if r.AgentID != nil && r.Version != nil {
			e.agentID, e.version = *r.AgentID, *r.Version
		}
		o.recent.add(r.ID, e)
	}
}

// target is an enabled endpoint with its filters.
type target struct {
	id     int64
	types  []string
	agents map[int64]bool
	row    *models.WebhookEndpoint // as read
}

// offer reports whether the deliveries of one write to endpoints to (one
// a delivery) are leased to the dispatcher (handoff.go), and takes the
// lease's token and end if so: only the first write of a Writer with a
// dispatcher, of at most maxHanded deliveries to endpoints not failing.
func (w *Writer) offer(to []*target) bool {
	if w.taker == nil || w.written > 0 || len(to) == 0 || len(to) > maxHanded {
		return false
	}
	ids := make([]int64, len(to))
	for i, t := range to {
		if t.row.FailingSince != nil {
			return false
		}
		ids[i] = t.id
	}
	var ok bool
	w.token, w.until, ok = w.taker.offer(ids)
	return ok
}

// matches reports whether e goes to the endpoint.
func (t target) matches(e Event) bool {
	if e.EndpointID != nil {
		return *e.EndpointID == t.id
	}
	if e.Type == TypeTest {
		return false
	}
	if len(t.types) > 0 && !slices.Contains(t.types, e.Type) {
		return false
	}
	if len(t.agents) == 0 {
		return true
	}
	return e.AgentID != nil && t.agents[*e.AgentID]
}

// loadTargets reads the enabled endpoints and their agent filters.
func loadTargets(ctx context.Context, tx *gorm.DB) ([]target, error) {
	var eps []models.WebhookEndpoint
	if err := tx.WithContext(ctx).Where("enabled = ? AND deleted_at IS NULL", true).Order("id").Find(&eps).Error; err != nil {
		return nil, fmt.Errorf("load endpoints: %w", err)
	}
	if len(eps) == 0 {
		return nil, nil
	}
	var filters []models.WebhookEndpointAgent
	if err := tx.WithContext(ctx).
		Where("endpoint_id IN (SELECT id FROM webhook_endpoints WHERE enabled = ? AND deleted_at IS NULL)", true).
		Find(&filters).Error; err != nil {
		return nil, fmt.Errorf("load endpoint agent filters: %w", err)
	}
	byID := make(map[int64]*target, len(eps))
	out := make([]target, len(eps))
	for i, ep := range eps {
		out[i] = target{id: ep.ID, types: SplitTypes(ep.EventTypes), agents: map[int64]bool{}, row: &eps[i]}
		byID[ep.ID] = &out[i]
	}
	for _, f := range filters {
		if t := byID[f.EndpointID]; t != nil {
			t.agents[f.AgentID] = true
		}
	}
	return out, nil
}

// SplitTypes parses a stored comma-separated list of event types.
func SplitTypes(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

var msgIDEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewMessageID returns a new webhook-id: "msg_" and 26 characters, sortable
// by time (48 bits of milliseconds, then 80 random bits).
func NewMessageID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return "msg_" + msgIDEncoding.EncodeToString(b[:])
}
