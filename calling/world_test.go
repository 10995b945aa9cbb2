package calling_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"testing"

	"outdial/calling"
	"outdial/models"
	"outdial/models/dbtest"
	"outdial/webhooks"
)

// world is a calling service on a new database of its own (SQLite, or
// MariaDB when TEST_MYSQL_URL is set) with the refresh oracle after every
// command, and the helpers the rule tests build their configuration with.
// Every helper fails the test when its command is refused.
type world struct {
	t   testing.TB
	ctx context.Context
	svc *calling.Service
	db  *models.DB
}

// newWorld opens a new database and the service for t.
func newWorld(t testing.TB, opts ...calling.Option) *world {
	t.Helper()
	return worldOn(t, dbtest.Open(t), opts...)
}

// worldOn is newWorld on a database that is open and migrated.
func worldOn(t testing.TB, db *models.DB, opts ...calling.Option) *world {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := calling.New(db, webhooks.NewOutbox(models.Now), log, append(opts, abilityOracle(t))...)
	return &world{t: t, ctx: context.Background(), svc: svc, db: db}
}

// as returns a copy of w that reports to t (a subtest).
func (w *world) as(t testing.TB) *world {
	c := *w
	c.t = t
	return &c
}

// result is a command's result and error: res(w.svc.CreateQueue(...)).must(w)
// is the queue, or the test fails.
type result[T any] struct {
	v   T
	err error
}

// res holds a command's result and error for must.
func res[T any](v T, err error) result[T] { return result[T]{v, err} }

// must fails the test when the command failed, and returns its result.
func (r result[T]) must(w *world) T {
	w.t.Helper()
	w.must(r.err)
	return r.v
}

// must fails the test when err is not nil.
func (w *world) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("refused: %v", err)
	}
}

// page reads the first page of up to 100 items of a list, or fails the test.
func page[T any](w *world, l calling.Lister[T]) []T {
	w.t.Helper()
	items, _, err := l.Page(calling.Page{First: 100})
	w.must(err)
	return items
}

// number adds a number with a calling plan (RECEIVE_CALLS when none).
func (w *world) number(e164 string, plan ...calling.Capability) int64 {
	w.t.Helper()
	return res(w.svc.AddPhoneNumber(w.ctx, admin, calling.AddPhoneNumberInput{Number: e164, CallingPlan: plan})).must(w).ID
}

// queue creates a voice queue.
func (w *world) queue(name string) int64 {
	w.t.Helper()
	return res(w.svc.CreateQueue(w.ctx, admin, calling.CreateQueueInput{Name: name, Channel: calling.ChannelVoice})).must(w).ID
}

// capacity creates a capacity profile of one call at a time.
func (w *world) capacity(name string) int64 {
	w.t.Helper()
	return res(w.svc.CreateCapacityProfile(w.ctx, admin, calling.CreateCapacityProfileInput{Name: name, WorkItemLimit: 1,
		ResetFrequency: calling.ResetImmediate})).must(w).ID
}

// profile creates an outbound profile.
func (w *world) profile(name string, queue, capacity int64, numbers []int64, isDefault bool) int64 {
	w.t.Helper()
	return res(w.svc.CreateOutboundProfile(w.ctx, admin, calling.CreateOutboundProfileInput{Name: name, QueueID: queue,
		CapacityProfileID: capacity, PhoneNumberIDs: numbers, IsDefault: isDefault})).must(w).ID
}

// agent creates an agent.
func (w *world) agent(name, email string, unified bool) int64 {
	w.t.Helper()
	return res(w.svc.CreateAgent(w.ctx, admin, calling.CreateAgentInput{Name: name, Email: email, UnifiedRoutingEnabled: unified})).must(w).ID
}

// join adds agents to a queue and to a capacity profile (0: none).
func (w *world) join(queue, capacity int64, agents ...int64) {
	w.t.Helper()
	if queue != 0 {
		res(w.svc.AddAgentsToQueue(w.ctx, admin, calling.QueueMembersInput{QueueID: queue, AgentIDs: agents})).must(w)
	}
	if capacity != 0 {
		res(w.svc.AddAgentsToCapacityProfile(w.ctx, admin, calling.CapacityProfileMembersInput{CapacityProfileID: capacity, AgentIDs: agents})).must(w)
	}
}

// assign makes number the agent's personal number.
func (w *world) assign(agent, number int64) {
	w.t.Helper()
	res(w.svc.AssignPersonalNumber(w.ctx, admin, calling.AssignPersonalNumberInput{AgentID: agent, PhoneNumberID: number})).must(w)
}

// stored is an agent's stored ability with its version.
type stored struct {
	Version int64
	calling.Ability
}

// callers writes the caller IDs as "e164/source/profile name".
func (s stored) callers() []string {
	out := []string{}
	for _, c := range s.CallerIDs {
		out = append(out, fmt.Sprintf("%s/%s/%s", c.PhoneNumber, c.Source, c.OutboundProfileName))
	}
	return out
}

// blockerCodes lists the codes of the blockers, in order.
func (s stored) blockerCodes() []string {
	out := []string{}
	for _, b := range s.Blockers {
		out = append(out, string(b.Code))
	}
	return out
}

// ability reads an agent's stored ability.
func (w *world) ability(agent int64) stored {
	w.t.Helper()
	rows := res(w.svc.AbilitiesByAgentID(w.ctx, []int64{agent})).must(w)
	if len(rows) != 1 || rows[0] == nil {
		w.t.Fatalf("agent %d has no stored ability", agent)
	}
	var s stored
	if err := json.Unmarshal([]byte(rows[0].Snapshot), &s.Ability); err != nil {
		w.t.Fatalf("ability of agent %d: %v", agent, err)
	}
	s.Version = rows[0].Version
	if s.CanMakeCalls != rows[0].CanMakeCalls {
		w.t.Fatalf("agent %d: canMakeCalls column %v, snapshot %v", agent, rows[0].CanMakeCalls, s.CanMakeCalls)
	}
	return s
}

// expectVersion checks an agent's ability version after a step.
func (w *world) expectVersion(step string, agent, want int64) stored {
	w.t.Helper()
	s := w.ability(agent)
	if s.Version != want {
		w.t.Fatalf("%s: ability version %d, want %d (%+v)", step, s.Version, want, s)
	}
	return s
}

// count returns the rows of table that match where (all when "").
func (w *world) count(table, where string, args ...any) int64 {
	w.t.Helper()
	q := w.db.Table(table)
	if where != "" {
		q = q.Where(where, args...)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		w.t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// eventCount returns the number of agent.calling_ability.changed events
// stored so far.
func (w *world) eventCount() int64 {
	w.t.Helper()
	return w.count("webhook_events", "type = ?", "agent.calling_ability.changed")
}

// refused runs a command that must be refused with code, checks that the
// database is exactly as before, and returns the first refusal.
func (w *world) refused(code calling.Code, what string, command func() error) *calling.Error {
	w.t.Helper()
	var first *calling.Error
	w.unchanged(func() { first = w.refusedWith(code, what, command) })
	return first
}

// refusedWith is refused without the check of the database: run it inside
// unchanged.
func (w *world) refusedWith(code calling.Code, what string, command func() error) *calling.Error {
	w.t.Helper()
	err := command()
	if err == nil {
		w.t.Fatalf("%s succeeded; want %s", what, code)
	}
	errs, isRefusal := calling.Refusals(err)
	if !isRefusal {
		w.t.Fatalf("%s failed: %v; want a refusal %s", what, err, code)
	}
	if errs[0].Code != code {
		w.t.Fatalf("%s refused with %v; want %s", what, err, code)
	}
	return errs[0]
}

// unchanged runs fn, whose commands must all be refused, and checks that
// the database is exactly as before them.
func (w *world) unchanged(fn func()) {
	w.t.Helper()
	before := dbtest.Snapshot(w.t, w.db)
	fn()
	if after := dbtest.Snapshot(w.t, w.db); !reflect.DeepEqual(before, after) {
		w.t.Fatalf("refused commands changed the database:\n%s", dbtest.DiffSnapshots(before, after))
	}
}

// ignore drops a command's result: refused takes only its error.
func ignore[T any](_ T, err error) error { return err }

// errIs reports whether err is a refusal with code.
func errIs(err error, code calling.Code) bool {
	var e *calling.Error
	if errors.As(err, &e) {
		return e.Code == code
	}
	errs, _ := calling.Refusals(err)
	return len(errs) > 0 && errs[0].Code == code
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
