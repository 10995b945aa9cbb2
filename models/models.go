package models

import (
	"slices"
	"time"

	"gorm.io/gorm"

	"outdial/names"
)

// PhoneNumber is a row of phone_numbers. LabelKey is names.Key of Label,
// for search; BeforeSave keeps it.
type PhoneNumber struct {
	ID           int64 `gorm:"primaryKey"`
	E164         string
	CountryCode  string
	Type         string
	Label        *string
	LabelKey     *string
	ReceiveCalls bool
	MakeCalls    bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// BeforeSave keeps LabelKey the key of Label on every write of the row,
// also on an update restricted to columns that include label.
func (n *PhoneNumber) BeforeSave(tx *gorm.DB) error {
	n.LabelKey = nil
	if n.Label != nil {
		k := names.Key(*n.Label)
		n.LabelKey = &k
	}
	if sel := tx.Statement.Selects; slices.Contains(sel, "label") && !slices.Contains(sel, "label_key") {
		tx.Statement.Selects = append(sel, "label_key")
	}
	return nil
}

// Queue is a row of queues. NameKey and DescriptionKey are names.Key of
// Name and Description: names are unique by key, and searched by key.
type Queue struct {
	ID                 int64 `gorm:"primaryKey"`
	Name               string
	NameKey            string
	Channel            string
	Description        *string
	DescriptionKey     *string
	OverflowTransferTo *string
	// OverflowTransferExtension is the extension of OverflowTransferTo
	// (digits dialled once the transfer connects), nil when it has none.
	OverflowTransferExtension *string
	OverflowCallerID          *int64
	CreatedAt                 time.Time
	UpdatedAt                 time.Time
}

// CapacityProfile is a row of capacity_profiles. NameKey is names.Key of
// Name, unique.
type CapacityProfile struct {
	ID              int64 `gorm:"primaryKey"`
	Name            string
	NameKey         string
	WorkItemLimit   int
	ResetFrequency  string
	BlockAssignment bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// OutboundProfile is a row of outbound_profiles. NameKey is names.Key of
// Name, unique. DefaultMarker is 1 on the default profile and nil elsewhere
// (a unique column: one default at most).
type OutboundProfile struct {
	ID                int64 `gorm:"primaryKey"`
	Name              string
	NameKey           string
	QueueID           int64
	CapacityProfileID int64
	DefaultMarker     *int
	CallerIDName      *string `gorm:"column:caller_id_name"`
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// IsDefault reports whether p is the default outbound profile.
func (p *OutboundProfile) IsDefault() bool { return p.DefaultMarker != nil }

// OutboundProfileNumber is a row of outbound_profile_numbers: a caller ID of
// an outbound profile.
type OutboundProfileNumber struct {
	OutboundProfileID int64 `gorm:"primaryKey;autoIncrement:false"`
	PhoneNumberID     int64 `gorm:"primaryKey;autoIncrement:false"`
}

// Agent is a row of agents. NameKey and EmailKey are names.Key of Name
// and Email: emails are unique by key; both are searched by key.
type Agent struct {
	ID                    int64 `gorm:"primaryKey"`
	Name                  string
	NameKey               string
	Email                 string
	EmailKey              string
	UnifiedRoutingEnabled bool
	PersonalNumberID      *int64
	CreatedAt             time.Time
	UpdatedAt             time.Time
}

// QueueMember is a row of queue_members.
type QueueMember struct {
	QueueID int64 `gorm:"primaryKey;autoIncrement:false"`
	AgentID int64 `gorm:"primaryKey;autoIncrement:false"`
}

// CapacityProfileMember is a row of capacity_profile_members.
type CapacityProfileMember struct {
	CapacityProfileID int64 `gorm:"primaryKey;autoIncrement:false"`
	AgentID           int64 `gorm:"primaryKey;autoIncrement:false"`
}

// CallingAbility is a row of calling_abilities: an agent's stored ability.
// Snapshot is the JSON of calling.Ability.
type CallingAbility struct {
	AgentID      int64 `gorm:"primaryKey;autoIncrement:false"`
	Version      int64
	CanMakeCalls bool
	Snapshot     string
	ChangedAt    time.Time
}

// AgentBlocker is a row of agent_blockers: one blocker code of an agent's
// stored ability.
type AgentBlocker struct {
	AgentID int64  `gorm:"primaryKey;autoIncrement:false"`
	Code    string `gorm:"primaryKey"`
}

// AgentWarning is a row of agent_warnings: one warning code of an agent's
// stored ability.
type AgentWarning struct {
	AgentID int64  `gorm:"primaryKey;autoIncrement:false"`
	Code    string `gorm:"primaryKey"`
}

// CallingAbilityVersion is a row of calling_ability_versions: one version
// of an agent's ability as it was stored when made. AuditEntryID is the
// audit entry of the command that made it: nil for versions made before
// the history existed. The audit entry may be gone (audit retention): the
// row stays.
type CallingAbilityVersion struct {
	AgentID      int64 `gorm:"primaryKey;autoIncrement:false"`
	Version      int64 `gorm:"primaryKey;autoIncrement:false"`
	CanMakeCalls bool
	Snapshot     string
	ChangedAt    time.Time
	AuditEntryID *int64
}

// APIToken is a row of api_tokens. Only the SHA-256 of the token is kept.
// NameKey is names.Key of Name, unique.
type APIToken struct {
	ID         int64 `gorm:"primaryKey"`
	Name       string
	NameKey    string
	Role       string
	AgentID    *int64
	TokenHash  string
	RevokedAt  *time.Time
	LastUsedAt *time.Time
	CreatedAt  time.Time
}

// TableName keeps gorm from naming the table a_p_i_tokens.
func (APIToken) TableName() string { return "api_tokens" }

// AuditEntry is a row of audit_entries.
type AuditEntry struct {
	ID       int64 `gorm:"primaryKey"`
	At       time.Time
	Actor    string
	Action   string
	TargetID *string
	Details  string
}

// WebhookEndpoint is a row of webhook_endpoints. EventTypes is a
// comma-separated list of wire names; empty means every type.
type WebhookEndpoint struct {
	ID                      int64 `gorm:"primaryKey"`
	URL                     string
	Description             *string
	EventTypes              string
	Enabled                 bool
	DisabledReason          *string
	Secret                  string
	PreviousSecret          *string
	PreviousSecretExpiresAt *time.Time
	FailingSince            *time.Time
	// ProbeOwner and ProbeUntil record the probe of a failing endpoint
	// running in some process: the lease token of the claim that took it,
	// and when its attempt has certainly ended. Only the webhook
	// dispatcher writes them (webhooks/pacer.go); the API shows neither.
	ProbeOwner *string
	ProbeUntil *time.Time
	DeletedAt  *time.Time
	// CreatedByTokenID is the API token that created the endpoint (nil for
	// endpoints older than the column).
	CreatedByTokenID *int64
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// WebhookEndpointAgent is a row of webhook_endpoint_agents: an endpoint's
// agent filter.
type WebhookEndpointAgent struct {
	EndpointID int64 `gorm:"primaryKey;autoIncrement:false"`
	AgentID    int64 `gorm:"primaryKey;autoIncrement:false"`
}

// WebhookEvent is a row of webhook_events: one event and its exact body.
type WebhookEvent struct {
	ID         int64 `gorm:"primaryKey"`
	MessageID  string
	Type       string
	AgentID    *int64
	Version    *int64
	Payload    string
	OccurredAt time.Time
}

// WebhookDelivery is a row of webhook_deliveries: one event for one endpoint.
type WebhookDelivery struct {
	ID             int64 `gorm:"primaryKey"`
	EndpointID     int64
	EventID        int64
	AgentID        *int64
	Version        *int64
	Status         string
	AttemptCount   int
	NextAttemptAt  *time.Time
	LeaseOwner     *string
	LeaseExpiresAt *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// WebhookAttempt is a row of webhook_attempts.
type WebhookAttempt struct {
	ID           int64 `gorm:"primaryKey"`
	DeliveryID   int64
	AttemptedAt  time.Time
	StatusCode   *int
	DurationMs   int
	Error        *string
	ResponseBody *string
}

// RetentionMark is a row of retention_marks: the highest ID the pruner
// deleted from a table as older than the retention, and when.
type RetentionMark struct {
	Table        string `gorm:"column:table_name;primaryKey"`
	MaxDeletedID int64
	PrunedAt     time.Time
}

// DeletedAgent is a row of deleted_agents: an agent deleteAgent removed.
// ScrubbedAt is set once its name and email are gone from every stored
// event body and audit detail.
type DeletedAgent struct {
	AgentID    int64 `gorm:"primaryKey;autoIncrement:false"`
	DeletedAt  time.Time
	ScrubbedAt *time.Time
}
