// Package calling is Outdial's domain: the commands behind every mutation
// (each one transaction), their validation rules, the read queries, and the
// pure derivation of an agent's calling ability (RULES.md §2), which is
// stored per agent with a version and recomputed in the transaction of
// every change that can affect it.
package calling

import (
	"context"
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
}

// Option configures a Service.
type Option func(*Service)

// WithAllowedCIDRs lets webhook URLs name literal addresses in these
// networks despite the address rule (WEBHOOK_ALLOWED_CIDRS).
func WithAllowedCIDRs(cidrs []netip.Prefix) Option {
	return func(s *Service) { s.allowedCIDRs = cidrs }
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

// DB returns the service's database.
func (s *Service) DB() *models.DB { return s.db }

// txn is one running command: its transaction, the clock reading it
// stamps rows with, and the events it records.
type txn struct {
	ctx     context.Context
	tx      *gorm.DB
	now     time.Time
	events  []webhooks.Event
	changed int  // agents whose ability version was raised
	wake    bool // a delivery was written directly: wake the dispatcher
}

// outcome is what a successful command reports for the audit log.
type outcome struct {
	target  string // global ID of the main object changed, if any
	details any    // JSON-encoded into the audit entry; never a secret
}

// maxTxAttempts bounds the retries of a command that MySQL chose as a
// deadlock victim.
const maxTxAttempts = 3

// run executes fn as the command action of actor in one transaction: it
// serialises configuration changes, records fn's events and one audit
// entry, commits, then wakes the webhook dispatcher. When fn fails,
// nothing is written.
func (s *Service) run(ctx context.Context, actor Actor, action string, fn func(t *txn) (outcome, error)) error {
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		var t *txn
		t, err = s.runOnce(ctx, actor, action, fn)
		if err == nil {
			if len(t.events) > 0 || t.wake {
				s.outbox.Committed()
			}
			return nil
		}
		if !isDeadlock(err) {
			return err
		}
		s.log.Warn("command retried after a deadlock", "action", action, "attempt", attempt)
	}
	return err
}

func (s *Service) runOnce(ctx context.Context, actor Actor, action string, fn func(t *txn) (outcome, error)) (*txn, error) {
	start := time.Now()
	t := &txn{ctx: ctx, now: s.now()}
	var out outcome
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t.tx = tx
		if err := tx.Exec("UPDATE config_revisions SET revision = revision + 1 WHERE id = 1").Error; err != nil {
			return fmt.Errorf("lock configuration: %w", err)
		}
		var err error
		if out, err = fn(t); err != nil {
			return err
		}
		if _, err := s.outbox.Enqueue(ctx, tx, t.events); err != nil {
			return err
		}
		return s.audit(t, actor, action, out)
	})
	if err != nil {
		if _, refused := Refusals(err); refused {
			s.log.Info("command refused", "action", action, "actor", actor.Name, "reason", err.Error())
		}
		return nil, err
	}
	s.log.Info("command done", "action", action, "actor", actor.Name, "target", out.target,
		"abilityChanges", t.changed, "events", len(t.events), "duration", time.Since(start))
	return t, nil
}

func (s *Service) audit(t *txn, actor Actor, action string, out outcome) error {
	details := []byte("{}")
	if out.details != nil {
		var err error
		if details, err = json.Marshal(out.details); err != nil {
			return fmt.Errorf("encode audit details: %w", err)
		}
	}
	entry := models.AuditEntry{At: t.now, Actor: actor.Name, Action: action, Details: string(details)}
	if out.target != "" {
		entry.TargetID = &out.target
	}
	if err := t.tx.Create(&entry).Error; err != nil {
		return fmt.Errorf("write audit entry: %w", err)
	}
	return nil
}

// isDeadlock reports whether err is MySQL's deadlock or lock wait timeout.
func isDeadlock(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}

// isDuplicate reports whether err is a unique-key violation.
func isDuplicate(err error) bool {
	return errors.Is(err, gorm.ErrDuplicatedKey)
}

// emit records an event to be written with the command.
func (t *txn) emit(e webhooks.Event) { t.events = append(t.events, e) }
