package calling

// The data of the events Outdial records, in their wire form
// (docs/domain.md, "Webhooks"): global IDs, field names as documented.

// AbilityChangedData is the data of agent.calling_ability.changed.
type AbilityChangedData struct {
	Agent EventAgent `json:"agent"`
	// Deleted is true on the last event of an agent deleteAgent removed
	// (canMakeCalls false, no caller IDs, no blockers), false on others.
	Deleted bool `json:"deleted"`
	AbilityState
	// Previous is nil for a new agent.
	Previous *AbilityState `json:"previous"`
}

// EventAgent names the agent an event is about.
type EventAgent struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

// AbilityState is a versioned ability in wire form.
type AbilityState struct {
	Version      int64           `json:"version"`
	CanMakeCalls bool            `json:"canMakeCalls"`
	CallerIDs    []EventCallerID `json:"callerIds"`
	Blockers     []EventBlocker  `json:"blockers"`
}

// EventCallerID is a CallerID in wire form.
type EventCallerID struct {
	PhoneNumber         string         `json:"phoneNumber"`
	PhoneNumberID       string         `json:"phoneNumberId"`
	Source              CallerIDSource `json:"source"`
	OutboundProfileID   string         `json:"outboundProfileId"`
	OutboundProfileName string         `json:"outboundProfileName"`
	WorkItemLimit       int            `json:"workItemLimit"`
	ResetFrequency      string         `json:"resetFrequency"`
	BlockAssignment     bool           `json:"blockAssignment"`
	CallerIDName        *string        `json:"callerIdName"`
}

// EventBlocker is a Blocker in wire form.
type EventBlocker struct {
	Code              BlockerCode `json:"code"`
	Message           string      `json:"message"`
	OutboundProfileID *string     `json:"outboundProfileId"`
}

// CallingPlanChangedData is the data of phone_number.calling_plan.changed.
type CallingPlanChangedData struct {
	PhoneNumber EventPhoneNumber `json:"phoneNumber"`
	CallingPlan []Capability     `json:"callingPlan"`
	Previous    []Capability     `json:"previous"`
}

// EventPhoneNumber names the number an event is about.
type EventPhoneNumber struct {
	ID   string `json:"id"`
	E164 string `json:"e164"`
}

// wireState turns a stored ability into its wire form.
func wireState(version int64, ab Ability) AbilityState {
	st := AbilityState{Version: version, CanMakeCalls: ab.CanMakeCalls,
		CallerIDs: make([]EventCallerID, len(ab.CallerIDs)), Blockers: make([]EventBlocker, len(ab.Blockers))}
	for i, c := range ab.CallerIDs {
		st.CallerIDs[i] = EventCallerID{
			PhoneNumber: c.PhoneNumber, PhoneNumberID: GlobalID(KindPhoneNumber, c.PhoneNumberID),
			Source: c.Source, OutboundProfileID: GlobalID(KindOutboundProfile, c.OutboundProfileID),
			OutboundProfileName: c.OutboundProfileName, WorkItemLimit: c.WorkItemLimit,
			ResetFrequency: c.ResetFrequency, BlockAssignment: c.BlockAssignment, CallerIDName: c.CallerIDName,
		}
	}
	for i, b := range ab.Blockers {
		st.Blockers[i] = EventBlocker{Code: b.Code, Message: b.Message}
		if b.OutboundProfileID != nil {
			id := GlobalID(KindOutboundProfile, *b.OutboundProfileID)
			st.Blockers[i].OutboundProfileID = &id
		}
	}
	return st
}
