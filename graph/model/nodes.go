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
	TransferTo          string
	TransferToExtension *string
	CallerIDNumberID    int64
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

// Relations loads the relations of agents and of their abilities through
// the request's dataloaders. The resolvers implement it; the node types
// below carry it in Rel. gqlgen calls the relation methods (they take no
// context) inline, without a goroutine per field, which on a page of a
// hundred agents is most of the work of a request.
type Relations interface {
	AgentQueues(a *Agent) ([]*Queue, error)
	AgentCapacityProfiles(a *Agent) ([]*CapacityProfile, error)
	AgentPersonalNumber(a *Agent) (*PhoneNumber, error)
	AgentCallingAbility(a *Agent) (*CallingAbility, error)
	CallerIDPhoneNumber(c *CallerID) (*PhoneNumber, error)
	CallerIDOutboundProfile(c *CallerID) (*OutboundProfile, error)
	BlockerOutboundProfile(b *CallingBlocker) (*OutboundProfile, error)
	WarningOutboundProfile(w *CallingWarning) (*OutboundProfile, error)
	WarningPhoneNumber(w *CallingWarning) (*PhoneNumber, error)
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
	Rel                   Relations
}

// Queues resolves Agent.queues.
func (a *Agent) Queues() ([]*Queue, error) { return a.Rel.AgentQueues(a) }

// CapacityProfiles resolves Agent.capacityProfiles.
func (a *Agent) CapacityProfiles() ([]*CapacityProfile, error) { return a.Rel.AgentCapacityProfiles(a) }

// PersonalNumber resolves Agent.personalNumber.
func (a *Agent) PersonalNumber() (*PhoneNumber, error) { return a.Rel.AgentPersonalNumber(a) }

// CallingAbility resolves Agent.callingAbility.
func (a *Agent) CallingAbility() (*CallingAbility, error) { return a.Rel.AgentCallingAbility(a) }

// CallingAbility is the GraphQL CallingAbility: a stored snapshot.
type CallingAbility struct {
	CanMakeCalls bool
	CallerIds    []*CallerID
	Blockers     []*CallingBlocker
	Warnings     []*CallingWarning
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
	Rel               Relations
}

// PhoneNumber resolves CallerId.phoneNumber.
func (c *CallerID) PhoneNumber() (*PhoneNumber, error) { return c.Rel.CallerIDPhoneNumber(c) }

// OutboundProfile resolves CallerId.outboundProfile.
func (c *CallerID) OutboundProfile() (*OutboundProfile, error) {
	return c.Rel.CallerIDOutboundProfile(c)
}

// CallingBlocker is the GraphQL CallingBlocker.
type CallingBlocker struct {
	Code              CallingBlockerCode
	Message           string
	OutboundProfileID *int64
	Rel               Relations
}

// OutboundProfile resolves CallingBlocker.outboundProfile.
func (b *CallingBlocker) OutboundProfile() (*OutboundProfile, error) {
	return b.Rel.BlockerOutboundProfile(b)
}

// CallingWarning is the GraphQL CallingWarning.
type CallingWarning struct {
	Code              CallingWarningCode
	Message           string
	OutboundProfileID *int64
	PhoneNumberID     *int64
	Rel               Relations
}

// OutboundProfile resolves CallingWarning.outboundProfile.
func (w *CallingWarning) OutboundProfile() (*OutboundProfile, error) {
	return w.Rel.WarningOutboundProfile(w)
}

// PhoneNumber resolves CallingWarning.phoneNumber.
func (w *CallingWarning) PhoneNumber() (*PhoneNumber, error) { return w.Rel.WarningPhoneNumber(w) }

// AbilityImpact is the GraphQL AbilityImpact; changes(first) resolves from
// Diffs (at most calling.MaxImpactChanges).
type AbilityImpact struct {
	DryRun               bool
	AgentsChanged        int
	AgentsLosingCalling  int
	AgentsGainingCalling int
	Diffs                []*AbilityDiff
}

// AbilityVersion is the GraphQL AbilityVersion; cause loads AuditEntryID.
type AbilityVersion struct {
	Version      int
	ChangedAt    time.Time
	Ability      *AbilitySnapshot
	AuditEntryID *int64
}

// CallingAbilityChange is one event of the callingAbilityChanged subscription.
type CallingAbilityChange struct {
	AgentID  int64
	Previous *CallingAbility
	Current  *CallingAbility
	// Deleted: the last change of an agent deleteAgent removed.
	Deleted bool
	// DeletedAgent is that agent as the change names it (its row is
	// gone); nil on other changes.
	DeletedAgent *Agent
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
