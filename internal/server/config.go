package server

import (
	"net/netip"
	"time"

	"outdial/calling"
)

// Config is the server's configuration. Command outdial fills it from
// flags, falling back to the environment variables the README lists under
// "Configuration", falling back to defaults; tests fill it directly.
type Config struct {
	ListenAddr           string
	DatabaseURL          string
	AdminToken           string
	WebhookAllowedCIDRs  []netip.Prefix
	WebhookRetrySchedule []time.Duration
	WebhookTimeout       time.Duration
	// WebhookInFlightLease is how long a claimed delivery stays reserved
	// for its process (webhooks.Config.InFlightLease); 0 is the
	// dispatcher's default, 2 minutes.
	WebhookInFlightLease time.Duration
	// DefaultRegion is the ISO 3166-1 alpha-2 country of phone numbers
	// written without a country code when the input names none.
	DefaultRegion string
	// RequestTimeout is the deadline of every request (see
	// resolvers.Config.RequestTimeout).
	RequestTimeout time.Duration
	// Retention is how long finished webhook deliveries, their attempts
	// and events without a pending delivery are kept (webhooks.Pruner).
	Retention time.Duration
	// AuditRetention is how long audit entries are kept; 0 is forever.
	AuditRetention time.Duration
	// PruneInterval is the time between two pruning runs (not a flag:
	// tests shorten it); 0 is the pruner's default.
	PruneInterval time.Duration
	// ScrubGrace is how long a deleted agent's name and email are kept at
	// least (webhooks.PruneConfig.ScrubGrace; not a flag: tests lengthen
	// it); 0 is the pruner's default, 1 minute.
	ScrubGrace time.Duration
	// PruneNow is the pruner's clock (not a flag: tests move it past
	// ScrubGrace); nil is models.Now.
	PruneNow func() time.Time
	Demo     bool
	// RotateAdminToken: replace the bootstrap token with a new generated
	// one, print it once and exit, instead of serving.
	RotateAdminToken bool
	// TokenRecheck is how often a subscription checks that its token was
	// not revoked (not a flag: tests shorten it); 0 is the default.
	TokenRecheck time.Duration
	// WebhookPollInterval is how often the webhook dispatcher and the
	// subscription feed look for work no commit of this process woke
	// them for (not a flag: tests lengthen it, to show that a commit
	// wakes them, or shorten it); 0 is webhooks.DefaultPollInterval.
	WebhookPollInterval time.Duration
	// WebSocketInitTimeout is how long a WebSocket may wait before its
	// connection_init (not a flag: tests shorten it); 0 is the default.
	WebSocketInitTimeout time.Duration
	// ServiceOptions are added to the service's (not a flag: tests add
	// calling.WithAbilityCheck).
	ServiceOptions []calling.Option
}
