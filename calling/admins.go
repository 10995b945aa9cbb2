package calling

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"outdial/models"
)

// Admin access: at least one active ADMIN token exists at all times, and
// the bootstrap token (ADMIN_TOKEN, or generated at first start) is
// replaced only when the operator asks: a revoked one is never revived.

// BootstrapTokenName is the name of the ADMIN token made from ADMIN_TOKEN,
// or generated on first start or by RotateBootstrapToken.
const BootstrapTokenName = "bootstrap"

// retiredPrefix starts the name a replaced bootstrap token is given, so
// that the name "bootstrap" always means the current one while the old
// one's row (revokedAt, lastUsedAt) stays for the record.
const retiredPrefix = "bootstrap-replaced-"

// maxListedAdmins bounds the active ADMIN token names Bootstrap lists.
const maxListedAdmins = 5

// systemActor is the server itself in the audit log.
var systemActor = Actor{Name: "system"}

// BootstrapOutcome says what starting the server did to the bootstrap
// token.
type BootstrapOutcome string

// The bootstrap outcomes.
const (
	// BootstrapCreated: there was no token named bootstrap; one was made.
	BootstrapCreated BootstrapOutcome = "created"
	// BootstrapReplaced: a new bootstrap token replaced the previous one,
	// which was revoked (if it was not yet) and renamed (Bootstrap.Retired).
	BootstrapReplaced BootstrapOutcome = "replaced"
	// BootstrapUnchanged: nothing was asked, or the bootstrap token already
	// had ADMIN_TOKEN's value.
	BootstrapUnchanged BootstrapOutcome = "unchanged"
	// BootstrapKeptRevoked: ADMIN_TOKEN is the value of a revoked token;
	// it stays revoked (a revocation is undone only by a new value).
	BootstrapKeptRevoked BootstrapOutcome = "kept revoked"
)

// Bootstrap is what EnsureBootstrapToken or RotateBootstrapToken did, and
// the admin access after it.
type Bootstrap struct {
	Outcome BootstrapOutcome
	// Generated is a generated token value, to be shown once; "" when the
	// value was ADMIN_TOKEN's or nothing was made.
	Generated string
	// Retired is the new name of the bootstrap token that was replaced.
	Retired string
	// Revoked is the name of the revoked token whose value ADMIN_TOKEN is
	// (BootstrapKeptRevoked).
	Revoked string
	// Active reports whether a token named bootstrap exists and works.
	Active bool
	// Admins names active ADMIN tokens, sorted by name, at most
	// maxListedAdmins of them; AdminCount counts them all.
	Admins     []string
	AdminCount int
}

// EnsureBootstrapToken applies ADMIN_TOKEN at start:
//
//   - adminToken set, no token has its value: it becomes the bootstrap
//     token (created, or replacing the previous one, which is revoked and
//     renamed bootstrap-replaced-<id>);
//   - adminToken is the value of the active bootstrap token: nothing;
//   - adminToken is the value of a revoked token: it stays revoked
//     (BootstrapKeptRevoked), so that a restart never undoes the
//     revocation of a leaked token;
//   - adminToken is the value of another active token: an error;
//   - adminToken empty: when no token exists at all, a bootstrap token is
//     generated (Bootstrap.Generated, to be shown once); nothing otherwise.
func (s *Service) EnsureBootstrapToken(ctx context.Context, adminToken string) (Bootstrap, error) {
	b := Bootstrap{Outcome: BootstrapUnchanged}
	err := s.run(ctx, systemActor, "ensureBootstrapToken", func(t *txn) (outcome, error) {
		value := adminToken // exactly as given
		if value == "" {
			n, err := count(t, "api_tokens", "1 = 1")
			if err != nil || n > 0 {
				return outcome{}, errNothingToDo(err)
			}
			value = newToken()
			b.Generated = value
		}
		same, err := tokenWhere(t, "token_hash = ?", HashToken(value))
		switch {
		case err != nil:
			return outcome{}, err
		case same == nil:
			return t.installBootstrap(&b, value)
		case same.RevokedAt != nil:
			b.Outcome, b.Revoked = BootstrapKeptRevoked, same.Name
			return outcome{}, errUnchanged
		case same.Name == BootstrapTokenName && Role(same.Role) == RoleAdmin:
			return outcome{}, errUnchanged
		default:
			return outcome{}, fmt.Errorf("ADMIN_TOKEN is the value of the active %s token %q: give it a value of its own", same.Role, same.Name)
		}
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		return Bootstrap{}, err
	}
	return s.adminAccess(ctx, b)
}

// RotateBootstrapToken replaces the bootstrap token with a new generated
// one (Bootstrap.Generated, to be shown once), whether the old one was
// active, revoked or missing; the old one is revoked and renamed
// bootstrap-replaced-<id>. It is how an operator replaces a leaked
// bootstrap token, or regains access when no ADMIN token works.
func (s *Service) RotateBootstrapToken(ctx context.Context) (Bootstrap, error) {
	var b Bootstrap
	err := s.run(ctx, systemActor, "rotateAdminToken", func(t *txn) (outcome, error) {
		b.Generated = newToken()
		return t.installBootstrap(&b, b.Generated)
	})
	if err != nil {
		return Bootstrap{}, err
	}
	return s.adminAccess(ctx, b)
}

// installBootstrap makes value the bootstrap token's, retiring the current
// bootstrap token if there is one.
func (t *txn) installBootstrap(b *Bootstrap, value string) (outcome, error) {
	old, err := tokenWhere(t, "name = ?", BootstrapTokenName)
	if err != nil {
		return outcome{}, err
	}
	b.Outcome = BootstrapCreated
	details := map[string]any{"name": BootstrapTokenName, "role": RoleAdmin}
	if old != nil {
		if b.Retired, err = t.retire(old); err != nil {
			return outcome{}, err
		}
		b.Outcome, details["replaced"] = BootstrapReplaced, b.Retired
	}
	row := models.APIToken{Name: BootstrapTokenName, NameKey: nameKey(BootstrapTokenName), Role: string(RoleAdmin),
		TokenHash: HashToken(value), CreatedAt: t.now}
	if err := uniqueName(t, "api_tokens", "token", row.NameKey, 0); err != nil {
		return outcome{}, fmt.Errorf("create bootstrap token: %w", err)
	}
	if err := t.tx.Create(&row).Error; err != nil {
		return outcome{}, fmt.Errorf("create bootstrap token: %w", err)
	}
	return outcome{target: GlobalID(KindAPIToken, row.ID), details: details}, nil
}

// retire revokes a replaced bootstrap token (keeping the time of an earlier
// revocation) and renames it, returning its new name.
func (t *txn) retire(old *models.APIToken) (string, error) {
	name := fmt.Sprintf("%s%d", retiredPrefix, old.ID)
	for i := 2; ; i++ {
		taken, err := takenBy(t, "api_tokens", "name", "name_key", nameKey(name), old.ID)
		if err != nil {
			return "", err
		}
		if taken == "" {
			break
		}
		name = fmt.Sprintf("%s%d-%d", retiredPrefix, old.ID, i)
	}
	revokedAt := old.RevokedAt
	if revokedAt == nil {
		revokedAt = &t.now
	}
	err := t.tx.Model(old).Updates(map[string]any{"name": name, "name_key": nameKey(name), "revoked_at": *revokedAt}).Error
	if err != nil {
		return "", fmt.Errorf("retire bootstrap token: %w", err)
	}
	return name, nil
}

// tokenWhere loads the token matching where, or nil when none does.
func tokenWhere(t *txn, where string, args ...any) (*models.APIToken, error) {
	var row models.APIToken
	err := t.tx.Where(where, args...).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load token: %w", err)
	}
	return &row, nil
}

// adminAccess completes b with the state of the bootstrap token and the
// active ADMIN tokens.
func (s *Service) adminAccess(ctx context.Context, b Bootstrap) (Bootstrap, error) {
	admins := func() *gorm.DB {
		return s.db.WithContext(ctx).Model(&models.APIToken{}).Where("role = ? AND revoked_at IS NULL", string(RoleAdmin))
	}
	var n, boot int64
	if err := admins().Count(&n).Error; err != nil {
		return b, fmt.Errorf("count ADMIN tokens: %w", err)
	}
	if err := admins().Order("name").Limit(maxListedAdmins).Pluck("name", &b.Admins).Error; err != nil {
		return b, fmt.Errorf("list ADMIN tokens: %w", err)
	}
	if err := admins().Where("name = ?", BootstrapTokenName).Count(&boot).Error; err != nil {
		return b, fmt.Errorf("check bootstrap token: %w", err)
	}
	b.AdminCount, b.Active = int(n), boot == 1
	return b, nil
}

// checkNotLastAdmin refuses with LAST_ADMIN to revoke tok when it is the
// last active ADMIN token: nothing could then change the configuration or
// make a token. Commands run one at a time (run's configuration lock), so
// two ADMIN tokens revoked at once cannot both pass.
func checkNotLastAdmin(t *txn, tok *models.APIToken) error {
	if tok.RevokedAt != nil || Role(tok.Role) != RoleAdmin {
		return nil
	}
	others, err := count(t, "api_tokens", "role = ? AND revoked_at IS NULL AND id <> ?", string(RoleAdmin), tok.ID)
	if err != nil {
		return err
	}
	if others == 0 {
		return refuse(CodeLastAdmin, fmt.Sprintf("%q is the last active ADMIN token: without it no token could change the configuration or make tokens. "+
			"Create another ADMIN token first (createApiToken, role: ADMIN), then revoke this one.", tok.Name), "id")
	}
	return nil
}

// errUnchanged aborts a command that finds nothing to do, so that it writes
// no audit entry.
var errUnchanged = errors.New("nothing to change")

func errNothingToDo(err error) error {
	if err != nil {
		return err
	}
	return errUnchanged
}
