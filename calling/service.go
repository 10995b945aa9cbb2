package calling

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/go-sql-driver/mysql"
	"gorm.io/gorm"

	"outdial/models"
	"outdial/webhooks"
)

// Role is an API token's role.
type Role string

// The roles.
const (
	RoleAdmin  Role = "ADMIN"
	RoleViewer Role = "VIEWER"
	RoleAgent  Role = "AGENT"
)

// Actor is who runs a command or query: an authenticated API token.
type Actor struct {
	TokenID int64
	Name    string
	Role    Role
	// AgentID is the token's agent (AGENT tokens only).
	AgentID *int64
	// tokenHash is the stored form of the token Authenticate took.
	tokenHash string
}

// Service runs Outdial's commands and queries on one database.
type Service struct {
	db           *models.DB
	outbox       *webhooks.Outbox
	log          *slog.Logger
	now          func() time.Time
	allowedCIDRs []netip.Prefix
	// defaultRegion is the region of numbers written without a country
	// code when the input names none (DEFAULT_REGION).
	defaultRegion string
	// impact, when not nil, receives the Impact of the next successful
	// command; with dryRun that command is rolled back (Observe).
	impact *Impact
	dryRun bool
	// check, when set, receives what checkAbilities finds wrong after
	// each command (WithAbilityCheck).
	check func(action string, err error)
}

// Option configures a Service.
type Option func(*Service)

// WithAllowedCIDRs lets webhook URLs name literal addresses in these
// networks despite the address rule (WEBHOOK_ALLOWED_CIDRS).
func WithAllowedCIDRs(cidrs []netip.Prefix) Option {
	return func(s *Service) { s.allowedCIDRs = cidrs }
}

// WithAbilityCheck makes every command, before it commits (or rolls back
// a dry run), re-derive the ability of every agent from the configuration
// and compare it with the stored one (checkAbilities); report receives the
// command's action and what differs. It costs a read of every agent per
// command: it is for tests, whose setup turns it on so that a command that
// misses an affected agent fails the test that ran it.
func WithAbilityCheck(report func(action string, err error)) Option {
	return func(s *Service) { s.check = report }
}

// WithDefaultRegion makes region (an ISO 3166-1 alpha-2 code checked with
// Region) the country of phone numbers written without a country code when
// the input names none (DEFAULT_REGION); "" keeps DefaultRegion.
func WithDefaultRegion(region string) Option {
	return func(s *Service) {
		if region != "" {
			s.defaultRegion = region
		}
	}
}

// New returns a Service on db that records webhook events in outbox.
func New(db *models.DB, outbox *webhooks.Outbox, log *slog.Logger, opts ...Option) *Service {
	s := &Service{db: db, outbox: outbox, log: log, now: models.Now, defaultRegion: DefaultRegion}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Observe returns a copy of s for one command, and the Impact that command
// will have had on the agents' calling ability once it succeeds (left zero
// when it fails or is refused). With dryRun the command runs in its
// transaction exactly as it would, its impact is computed, and the
// transaction is rolled back: nothing is written, no ability version,
// webhook event or audit entry. Use the copy for one command only.
func (s *Service) Observe(dryRun bool) (*Service, *Impact) {
	c := *s
	c.impact, c.dryRun = &Impact{}, dryRun
	return &c, c.impact
}

// DB returns the service's database.
func (s *Service) DB() *models.DB { return s.db }

// txn is one running command: its transaction, the clock reading it
// stamps rows with, and the events it records.
type txn struct {
	ctx context.Context
	tx  *gorm.DB
	now time.Time
	// events are the events recorded and not yet written; flushEvents
	// writes them (through outbox), so that a large change holds one
	// chunk's events at a time.
	events  []webhooks.Event
	outbox  *webhooks.Writer // nil in a dry run
	changed int              // agents whose ability version was raised
	wake    bool             // a delivery was written directly: wake the dispatcher
	// deliveries writes the states of webhook deliveries: a command
	// never writes webhook_deliveries rows itself.
	deliveries webhooks.Deliveries
	// auditID is the command's audit entry, written first so that the
	// ability versions it makes can name their cause.
	auditID *int64
	impact  *impactCollector
	// dryRun: the transaction is rolled back; events are not kept.
	dryRun bool
	// touched are the objects the command declared it changes (touch),
	// affected the agents they concerned when touched.
	touched  map[Kind][]int64
	affected []int64
	// unchecked skips the ability check (WithAbilityCheck) for this
	// command.
	unchecked bool
}

// outcome is what a successful command reports for the audit log.
type outcome struct {
	target  string // global ID of the main object changed, if any
	details any    // JSON-encoded into the audit entry; never a secret
}

// maxTxAttempts bounds the attempts of a command that lost a deadlock or
// waited too long for a lock; the caller's deadline bounds them too.
const maxTxAttempts = 10

// commitGrace is how long past the caller's deadline a command waits for
// a COMMIT it has sent: the statements before it stop at the deadline,
// but a COMMIT under way is not interrupted (its outcome would be
// unknown). Longer than the lock waits (models.Options.LockWait), so a
// COMMIT that waits for a lock ends in time with a known outcome; with
// the request deadline, well under the HTTP write timeout.
const commitGrace = 10 * time.Second

// run executes fn as the command action of actor in one transaction: it
// serialises configuration changes, records one audit entry and fn's
// events, commits, then wakes the webhook dispatcher. When fn fails,
// nothing is written. A transaction that lost a deadlock or waited too
// long for a lock (models.Retriable) is run again, within ctx's deadline
// and at most maxTxAttempts times: fn may run more than once, each time
// on a new txn, so it must not carry state from one attempt to the next
// (what it captures it sets afresh in each attempt). It returns fn's
// error, the database's (see models.FaultOf), or an *OutcomeUnknownError
// when the COMMIT was sent and no answer came. In a dry run (Observe) fn
// runs and the transaction is rolled back.
func (s *Service) run(ctx context.Context, actor Actor, action string, fn func(t *txn) (outcome, error)) error {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		t, out, err := s.runOnce(ctx, actor, action, fn)
		if err == nil && s.impact != nil {
			*s.impact = *t.impact.result(s.dryRun)
		}
		if err == nil && s.dryRun {
			s.log.Info("command previewed (dry run, rolled back)", "action", action, "actor", actor.Name, "target", out.target,
				"abilityChanges", t.changed, "attempts", attempt, "duration", time.Since(start))
			return nil
		}
		if err == nil {
			s.log.Info("command done", "action", action, "actor", actor.Name, "target", out.target,
				"abilityChanges", t.changed, "events", t.outbox.Written(), "attempts", attempt, "duration", time.Since(start))
			if t.outbox.Written() > 0 || t.wake {
				t.outbox.Committed(t.wake)
			}
			return nil
		}
		if !models.Retriable(err) || attempt == maxTxAttempts || !models.PauseBeforeRetry(ctx, attempt) {
			s.logFailure(ctx, actor, action, err, attempt, time.Since(start))
			return err
		}
		s.log.Warn("command retried", "action", action, "attempt", attempt, "err", err)
	}
}

// logFailure logs a command that did not commit: a refusal (Info), an
// unknown outcome (Error), a fault of the database or of the caller's
// deadline (Warn; the caller is told), a caller that went away (Info),
// with how long it took in all.
func (s *Service) logFailure(ctx context.Context, actor Actor, action string, err error, attempts int, took time.Duration) {
	args := []any{"action", action, "actor", actor.Name, "attempts", attempts, "duration", took}
	if _, refused := Refusals(err); refused {
		s.log.Info("command refused", append(args, "reason", err.Error())...)
		return
	}
	if errors.Is(err, errUnchanged) {
		return
	}
	if _, unknown := errors.AsType[*OutcomeUnknownError](err); unknown {
		s.log.Error("command outcome unknown: the commit was sent and no answer came", append(args, "err", err)...)
		return
	}
	f := models.FaultOf(err)
	if errors.Is(ctx.Err(), context.Canceled) {
		f = models.Canceled // what the database said came of that
	}
	switch f {
	case models.NoFault:
	case models.Canceled: // the client went away
		s.log.Info("command not done", append(args, "fault", f.String(), "err", err)...)
	default:
		s.log.Warn("command not done", append(args, "fault", f.String(), "err", err)...)
	}
}

// runOnce runs one attempt of a command in a transaction of its own.
func (s *Service) runOnce(ctx context.Context, actor Actor, action string, fn func(t *txn) (outcome, error)) (t *txn, out outcome, err error) {
	// SkipDefaultTransaction: gorm would otherwise open a SAVEPOINT for
	// every CreateInBatches of more than one batch and never release it
	// (hundreds in a large refresh; on SQLite each makes the pages written
	// after it journaled once more). A command needs none: any failed
	// statement fails the command, and the whole transaction rolls back.
	tx := s.db.WithContext(ctx).Session(&gorm.Session{SkipDefaultTransaction: true}).Begin()
	if tx.Error != nil {
		return nil, out, fmt.Errorf("begin transaction: %w", tx.Error)
	}
	committing := false
	defer func() {
		if !committing {
			tx.Rollback()
		}
	}()
	t = &txn{ctx: ctx, tx: tx, now: s.now(), deliveries: webhooks.NewDeliveries(s.db.Dialect),
		impact: &impactCollector{}, dryRun: s.dryRun}
	if !s.dryRun {
		t.outbox = s.outbox.Writer(ctx, tx)
	}
	if err := tx.Exec("UPDATE config_revisions SET revision = revision + 1 WHERE id = 1").Error; err != nil {
		return nil, out, fmt.Errorf("lock configuration: %w", err)
	}
	// A token revoked while its request waited for the lock changes
	// nothing: its revocation has committed before this command.
	if ok, err := stillValid(tx, actor); err != nil {
		return nil, out, err
	} else if !ok {
		return nil, out, ErrUnauthenticated
	}
	entry := models.AuditEntry{At: t.now, Actor: actor.Name, Action: action, Details: "{}"}
	if err := tx.Create(&entry).Error; err != nil {
		return nil, out, fmt.Errorf("write audit entry: %w", err)
	}
	t.auditID = &entry.ID
	if out, err = fn(t); err != nil {
		return nil, out, err
	}
	if err := t.refreshTouched(); err != nil {
		return nil, out, err
	}
	if s.check != nil && !t.unchecked {
		differences, err := checkAbilities(t)
		if err != nil {
			return nil, out, err // as any failed read: the command fails
		}
		if differences != nil {
			s.check(action, differences)
		}
	}
	if t.dryRun {
		return t, out, nil // rolled back by the deferred call
	}
	if err := t.flushEvents(); err != nil {
		return nil, out, err
	}
	if err := s.audit(t, out); err != nil {
		return nil, out, err
	}
	committing = true
	return t, out, s.commit(ctx, tx, action)
}

// commit commits tx. The statements before it ran under ctx; the COMMIT
// itself is not interrupted by ctx's end (database/sql sends it only if
// ctx has not ended), so it is waited for up to commitGrace past ctx's
// end. It returns nil once committed, the error when the database said
// it did not commit, and an *OutcomeUnknownError when the COMMIT was
// sent but no answer came: the connection broke, or none came in time.
func (s *Service) commit(ctx context.Context, tx *gorm.DB, action string) error {
	done := make(chan error, 1)
	go func() { done <- tx.Commit().Error }()
	select {
	case err := <-done:
		return commitOutcome(action, err)
	case <-ctx.Done():
	}
	grace := time.NewTimer(commitGrace)
	defer grace.Stop()
	select {
	case err := <-done:
		return commitOutcome(action, err)
	case <-grace.C:
	}
	landed := make(chan bool, 1)
	go func() {
		err := <-done
		s.log.Warn("a commit reported as of unknown outcome has ended", "action", action, "committed", err == nil, "err", err)
		landed <- err == nil
	}()
	return &OutcomeUnknownError{Action: action, Err: fmt.Errorf("no answer to the commit within %s of the deadline: %w", commitGrace, ctx.Err()),
		landed: landed}
}

// commitOutcome turns the error of a COMMIT into run's: nil, the error
// when the COMMIT was never sent or the database answered it (then it
// did not commit), or an *OutcomeUnknownError when the connection broke
// after the COMMIT was sent.
func commitOutcome(action string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrTxDone), errors.Is(err, driver.ErrBadConn), errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
		// database/sql or the driver did not send the COMMIT: the
		// transaction is rolled back.
		return fmt.Errorf("commit: %w", err)
	}
	if _, answered := errors.AsType[*mysql.MySQLError](err); answered {
		return fmt.Errorf("commit: %w", err)
	}
	if models.FaultOf(err) == models.Unreachable {
		return &OutcomeUnknownError{Action: action, Err: err}
	}
	return fmt.Errorf("commit: %w", err) // SQLite: commits or fails in this process
}

// OutcomeUnknownError is a command whose COMMIT was sent to the database
// and not answered: the change may or may not have been made. Read what
// the command would have changed (or the audit log) before trying again.
type OutcomeUnknownError struct {
	Action string
	Err    error

	// landed, when the COMMIT's answer may still come (it was only late),
	// receives whether it committed once it does; nil when none will come
	// (the connection broke).
	landed <-chan bool
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("%s: outcome unknown: %v", e.Action, e.Err)
}

func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// audit completes the command's audit entry (written at its start) with
// the target and details of out: one UPDATE, none when there are neither.
func (s *Service) audit(t *txn, out outcome) error {
	if out.details == nil && out.target == "" {
		return nil
	}
	details := []byte("{}")
	if out.details != nil {
		var err error
		if details, err = json.Marshal(out.details); err != nil {
			return fmt.Errorf("encode audit details: %w", err)
		}
	}
	set := map[string]any{"details": string(details)}
	if out.target != "" {
		set["target_id"] = out.target
	}
	if err := t.tx.Model(&models.AuditEntry{}).Where("id = ?", *t.auditID).Updates(set).Error; err != nil {
		return fmt.Errorf("write audit entry: %w", err)
	}
	return nil
}

// isDuplicate reports whether err is a unique-key violation.
func isDuplicate(err error) bool {
	return errors.Is(err, gorm.ErrDuplicatedKey)
}

// emit records an event to be written with the command (none in a dry
// run, which writes none).
func (t *txn) emit(e webhooks.Event) {
	if !t.dryRun {
		t.events = append(t.events, e)
	}
}

// flushEvents writes the events recorded so far, in the order recorded,
// with their deliveries, in the command's transaction, and forgets them:
// what the command recorded is written either way, by the end of the
// command, and committed or rolled back with it.
func (t *txn) flushEvents() error {
	if len(t.events) == 0 {
		return nil
	}
	if _, err := t.outbox.Write(t.events); err != nil {
		return err
	}
	clear(t.events) // the chunk's data goes with its memory
	t.events = t.events[:0]
	return nil
}
