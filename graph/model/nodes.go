// Package model holds the Go types of the GraphQL schema. The node types in
// this file are bound in gqlgen.yml: they carry an object's own fields and
// the database keys of its relations, which resolvers load through
// dataloaders. Everything else is generated into models_gen.go.
package model

import "time"

// PhoneNumber is the GraphQL PhoneNumber.
type PhoneNumber struct {
	ID           string
	DBID         int64
	E164         string
	CountryCode  string
	Type         PhoneNumberType
	Label        *string
	CallingPlan  []CallingCapability
	CanMakeCalls bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Queue is the GraphQL Queue.
type Queue struct {
	ID          string
	DBID        int64
	Name        string
	Channel     QueueChannel
	Description *string
	Overflow    *QueueOverflow
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// QueueOverflow is the GraphQL QueueOverflow; CallerID is resolved from
// CallerIDNumberID.
type QueueOverflow struct {
	TransferTo       string
	CallerIDNumberID int64
}

// CapacityProfile is the GraphQL CapacityProfile.
type CapacityProfile struct {
	ID              string
	DBID            int64
	Name            string
	WorkItemLimit   int
	ResetFrequency  ResetFrequency
	BlockAssignment bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// OutboundProfile is the GraphQL OutboundProfile.
type OutboundProfile struct {
	ID                string
	DBID              int64
	Name              string
	QueueID           int64
	CapacityProfileID int64
	IsDefault         bool
	CallerIDName      *string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Agent is the GraphQL Agent.
type Agent struct {
	ID                    string
	DBID                  int64
	Name                  string
	Email                 string
	UnifiedRoutingEnabled bool
	PersonalNumberID      *int64
	CreatedAt             time.Time
	UpdatedAt             time.Time
}

// CallingAbility is the GraphQL CallingAbility: a stored snapshot.
type CallingAbility struct {
	CanMakeCalls bool
	CallerIds    []*CallerID
	Blockers     []*CallingBlocker
	Version      int
	ChangedAt    time.Time
}

// CallerID is the GraphQL CallerId.
type CallerID struct {
	PhoneNumberID     int64
	OutboundProfileID int64
	Source            CallerIDSource
	WorkItemLimit     int
	ResetFrequency    ResetFrequency
	BlockAssignment   bool
	CallerIDName      *string
}

// CallingBlocker is the GraphQL CallingBlocker.
type CallingBlocker struct {
	Code              CallingBlockerCode
	Message           string
	OutboundProfileID *int64
}

// CallingAbilityChange is one event of the callingAbilityChanged subscription.
type CallingAbilityChange struct {
	AgentID  int64
	Previous *CallingAbility
	Current  *CallingAbility
}

// Viewer is the GraphQL Viewer: the caller's token.
type Viewer struct {
	Role    Role
	TokenID *int64
	AgentID *int64
}

// APIToken is the GraphQL ApiToken. It never carries the token or its hash.
type APIToken struct {
	ID         string
	DBID       int64
	Name       string
	Role       Role
	AgentID    *int64
	Revoked    bool
	LastUsedAt *time.Time
	CreatedAt  time.Time
}

// AuditEntry is the GraphQL AuditEntry.
type AuditEntry struct {
	ID       string
	DBID     int64
	At       time.Time
	Actor    string
	Action   string
	TargetID *string
	Details  string
}

// WebhookEndpoint is the GraphQL WebhookEndpoint. It never carries a secret.
type WebhookEndpoint struct {
	ID             string
	DBID           int64
	URL            string
	Description    *string
	EventTypes     []WebhookEventType
	Enabled        bool
	DisabledReason *string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// WebhookEvent is the GraphQL WebhookEvent.
type WebhookEvent struct {
	ID         string
	DBID       int64
	MessageID  string
	Type       WebhookEventType
	Payload    string
	OccurredAt time.Time
}

// WebhookDelivery is the GraphQL WebhookDelivery.
type WebhookDelivery struct {
	ID            string
	DBID          int64
	EndpointID    int64
	EventID       int64
	Status        WebhookDeliveryStatus
	AttemptCount  int
	NextAttemptAt *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// The node types implement the generated Node interface.

func (PhoneNumber) IsNode()     {}
func (Queue) IsNode()           {}
func (CapacityProfile) IsNode() {}
func (OutboundProfile) IsNode() {}
func (Agent) IsNode()           {}
func (APIToken) IsNode()        {}
func (AuditEntry) IsNode()      {}
func (WebhookEndpoint) IsNode() {}
func (WebhookEvent) IsNode()    {}
func (WebhookDelivery) IsNode() {}
