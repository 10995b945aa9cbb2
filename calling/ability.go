package calling

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Capability is an entry of a calling plan (GraphQL CallingCapability).
type Capability string

// The calling capabilities, in their sorted order.
const (
	ReceiveCalls Capability = "RECEIVE_CALLS"
	MakeCalls    Capability = "MAKE_CALLS"
)

// CallerIDSource says why a number is one of an agent's caller IDs.
type CallerIDSource string

// The caller ID sources.
const (
	SourceOutboundProfile CallerIDSource = "OUTBOUND_PROFILE"
	SourcePersonalNumber  CallerIDSource = "PERSONAL_NUMBER"
)

// BlockerCode says why an agent cannot make calls (GraphQL CallingBlockerCode).
type BlockerCode string

// The blocker codes, in the order the rules produce them.
const (
	BlockerUnifiedRoutingDisabled   BlockerCode = "UNIFIED_ROUTING_DISABLED"
	BlockerNoOutboundProfile        BlockerCode = "NO_OUTBOUND_PROFILE"
	BlockerNotInProfileQueue        BlockerCode = "NOT_IN_PROFILE_QUEUE"
	BlockerNoOutboundNumber         BlockerCode = "NO_OUTBOUND_NUMBER"
	BlockerNoDefaultOutboundProfile BlockerCode = "NO_DEFAULT_OUTBOUND_PROFILE"
)

// WarningCode names configuration that does nothing (GraphQL
// CallingWarningCode).
type WarningCode string

// The warning codes, in the order the rules produce them.
const (
	WarningPersonalNumberUnused WarningCode = "PERSONAL_NUMBER_UNUSED"
	WarningProfileIncomplete    WarningCode = "PROFILE_INCOMPLETE"
)

// Capacity is a capacity profile's three settings.
type Capacity struct {
	WorkItemLimit   int    `json:"workItemLimit"`
	ResetFrequency  string `json:"resetFrequency"`
	BlockAssignment bool   `json:"blockAssignment"`
}

// Number is a phone number as the derivation sees it.
type Number struct {
	ID        int64
	E164      string
	MakeCalls bool
}

// Profile is an outbound profile with what the derivation needs of its
// queue, capacity profile and numbers.
type Profile struct {
	ID                int64
	Name              string
	QueueID           int64
	QueueName         string
	CapacityProfileID int64
	// CapacityProfileName names the capacity profile in warnings.
	CapacityProfileName string
	Capacity            Capacity
	CallerIDName        *string
	IsDefault           bool
	Numbers             []Number
}

// AgentFacts is what the derivation needs of one agent.
type AgentFacts struct {
	UnifiedRoutingEnabled bool
	CapacityProfileIDs    []int64
	QueueIDs              []int64
	PersonalNumber        *Number
}

// Ability is an agent's calling ability (docs/domain.md, "The calling
// ability"); it is stored as JSON. Warnings are not part of what counts as
// a change (Equivalent) and are not in webhook payloads.
type Ability struct {
	CanMakeCalls bool       `json:"canMakeCalls"`
	CallerIDs    []CallerID `json:"callerIds"`
	Blockers     []Blocker  `json:"blockers"`
	Warnings     []Warning  `json:"warnings"`
}

// CallerID is one number an agent may call from, with the rules of the
// profile that governs it.
type CallerID struct {
	PhoneNumberID       int64          `json:"phoneNumberId"`
	PhoneNumber         string         `json:"phoneNumber"`
	Source              CallerIDSource `json:"source"`
	OutboundProfileID   int64          `json:"outboundProfileId"`
	OutboundProfileName string         `json:"outboundProfileName"`
	Capacity
	CallerIDName *string `json:"callerIdName"`
}

// Blocker is one reason an agent cannot make calls.
type Blocker struct {
	Code              BlockerCode `json:"code"`
	Message           string      `json:"message"`
	OutboundProfileID *int64      `json:"outboundProfileId"`
}

// Warning is a piece of the agent's configuration that does nothing, with
// what to change. It never repeats what a blocker says.
type Warning struct {
	Code              WarningCode `json:"code"`
	Message           string      `json:"message"`
	OutboundProfileID *int64      `json:"outboundProfileId"`
	PhoneNumberID     *int64      `json:"phoneNumberId"`
}

// Derive computes the calling ability of agent a from the outbound
// profiles (docs/domain.md, "The calling ability" and "Blockers"), with
// its warnings (see warnings). It is pure: the same facts give the same
// ability.
func Derive(a AgentFacts, profiles []Profile) Ability {
	return prepareProfiles(profiles).derive(a)
}

// profileSet is the outbound profiles prepared once for the derivation of
// many agents (a refresh): sorted by profileLess, each profile's numbers
// sorted by e164, and each profile's rank in that order. Sorting them per
// agent was a quarter of a 50,000-agent refresh (BENCHMARKS.md).
type profileSet struct {
	sorted []Profile
	rank   map[int64]int
}

// prepareProfiles sorts copies of profiles and their numbers; ps is not
// changed.
func prepareProfiles(ps []Profile) profileSet {
	s := profileSet{sorted: sortedProfiles(ps), rank: make(map[int64]int, len(ps))}
	for i := range s.sorted {
		s.sorted[i].Numbers = sortedNumbers(s.sorted[i].Numbers)
		s.rank[s.sorted[i].ID] = i
	}
	return s
}

// derive is Derive over prepared profiles.
func (s profileSet) derive(a AgentFacts) Ability {
	ab := deriveAbility(a, s)
	ab.Warnings = warnings(a, s.sorted, ab)
	return ab
}

// deriveAbility is Derive without warnings.
func deriveAbility(a AgentFacts, set profileSet) Ability {
	profiles := set.sorted
	inCapacity := func(p Profile) bool { return slices.Contains(a.CapacityProfileIDs, p.CapacityProfileID) }
	inQueue := func(p Profile) bool { return slices.Contains(a.QueueIDs, p.QueueID) }
	qualifies := func(p Profile) bool { return a.UnifiedRoutingEnabled && inCapacity(p) && inQueue(p) }

	ab := Ability{CallerIDs: []CallerID{}, Blockers: []Blocker{}, Warnings: []Warning{}}
	var def *Profile
	for i, p := range profiles {
		if p.IsDefault {
			def = &profiles[i]
		}
		if !qualifies(p) {
			continue
		}
		for _, n := range p.Numbers { // sorted by prepareProfiles
			if n.MakeCalls {
				ab.CallerIDs = append(ab.CallerIDs, callerID(n, SourceOutboundProfile, p))
			}
		}
	}
	if pn := a.PersonalNumber; pn != nil && pn.MakeCalls && def != nil && qualifies(*def) {
		ab.CallerIDs = append(ab.CallerIDs, callerID(*pn, SourcePersonalNumber, *def))
		sortCallerIDs(ab.CallerIDs, set.rank)
	}
	ab.CanMakeCalls = len(ab.CallerIDs) > 0
	if ab.CanMakeCalls {
		return ab
	}
	if !a.UnifiedRoutingEnabled {
		ab.Blockers = append(ab.Blockers, Blocker{Code: BlockerUnifiedRoutingDisabled,
			Message: "Unified routing is turned off for this agent: turn it on (updateAgent, unifiedRoutingEnabled: true)."})
		return ab
	}
	var mine []Profile
	for _, p := range profiles {
		if inCapacity(p) {
			mine = append(mine, p)
		}
	}
	if len(mine) == 0 {
		ab.Blockers = append(ab.Blockers, Blocker{Code: BlockerNoOutboundProfile, Message: noProfileMessage(a)})
	}
	for _, p := range mine {
		if !inQueue(p) {
			ab.Blockers = append(ab.Blockers, profileBlocker(BlockerNotInProfileQueue, p,
				fmt.Sprintf("The agent is not a member of queue %q of outbound profile %q: add the agent to that queue.", p.QueueName, p.Name)))
		}
	}
	for _, p := range mine {
		if inQueue(p) && !slices.ContainsFunc(p.Numbers, func(n Number) bool { return n.MakeCalls }) {
			ab.Blockers = append(ab.Blockers, profileBlocker(BlockerNoOutboundNumber, p, noNumberMessage(p)))
		}
	}
	if a.PersonalNumber != nil && def == nil {
		ab.Blockers = append(ab.Blockers, Blocker{Code: BlockerNoDefaultOutboundProfile,
			Message: fmt.Sprintf("The agent's personal number %s needs a default outbound profile to govern its calls, and there is none: make one outbound profile the default.", a.PersonalNumber.E164)})
	}
	return ab
}

// warnings lists what in a's configuration does nothing, given its
// ability ab (profiles sorted; docs/domain.md, "Warnings"):
//
//   - PROFILE_INCOMPLETE, per outbound profile (in profile order) whose
//     queue or capacity profile the agent is in, but not both; except a
//     profile that a NOT_IN_PROFILE_QUEUE blocker already names.
//   - PERSONAL_NUMBER_UNUSED, when the agent holds a personal number that
//     is not one of its caller IDs: there is no default outbound profile,
//     the agent is not in both its queue and capacity profile, or the
//     number lacks MAKE_CALLS. Not when a blocker already explains it
//     (UNIFIED_ROUTING_DISABLED, NO_DEFAULT_OUTBOUND_PROFILE).
func warnings(a AgentFacts, profiles []Profile, ab Ability) []Warning {
	out := []Warning{}
	inCapacity := func(p Profile) bool { return slices.Contains(a.CapacityProfileIDs, p.CapacityProfileID) }
	inQueue := func(p Profile) bool { return slices.Contains(a.QueueIDs, p.QueueID) }
	blocked := func(code BlockerCode, profileID *int64) bool {
		return slices.ContainsFunc(ab.Blockers, func(b Blocker) bool {
			return b.Code == code && (profileID == nil || (b.OutboundProfileID != nil && *b.OutboundProfileID == *profileID))
		})
	}
	for _, p := range profiles {
		id := p.ID
		switch {
		case inQueue(p) && !inCapacity(p):
			out = append(out, Warning{Code: WarningProfileIncomplete, OutboundProfileID: &id,
				Message: fmt.Sprintf("The agent is in queue %q of outbound profile %q but not in its capacity profile %q, so the profile gives it nothing: add the agent to capacity profile %q, or take it out of the queue.", p.QueueName, p.Name, p.CapacityProfileName, p.CapacityProfileName)})
		case inCapacity(p) && !inQueue(p) && !blocked(BlockerNotInProfileQueue, &id):
			out = append(out, Warning{Code: WarningProfileIncomplete, OutboundProfileID: &id,
				Message: fmt.Sprintf("The agent is in capacity profile %q of outbound profile %q but not in its queue %q, so the profile gives it nothing: add the agent to queue %q, or take it out of the capacity profile.", p.CapacityProfileName, p.Name, p.QueueName, p.QueueName)})
		}
	}
	pn := a.PersonalNumber
	if pn == nil || slices.ContainsFunc(ab.CallerIDs, func(c CallerID) bool { return c.Source == SourcePersonalNumber }) ||
		blocked(BlockerUnifiedRoutingDisabled, nil) || blocked(BlockerNoDefaultOutboundProfile, nil) {
		return out
	}
	numberID := pn.ID
	w := Warning{Code: WarningPersonalNumberUnused, PhoneNumberID: &numberID}
	def := slices.IndexFunc(profiles, func(p Profile) bool { return p.IsDefault })
	switch {
	case def < 0:
		w.Message = fmt.Sprintf("The agent's personal number %s is not one of its caller IDs: no outbound profile is the default, and the default governs personal numbers. Make one outbound profile the default.", pn.E164)
	case !pn.MakeCalls:
		w.Message = fmt.Sprintf("The agent's personal number %s is not one of its caller IDs: its calling plan lacks MAKE_CALLS. Upgrade the calling plan of %s.", pn.E164, pn.E164)
	default:
		p := profiles[def]
		id := p.ID
		w.OutboundProfileID = &id
		w.Message = fmt.Sprintf("The agent's personal number %s is not one of its caller IDs: the default outbound profile %q governs it, and the agent is not in both its queue %q and its capacity profile %q. Add the agent to both.", pn.E164, p.Name, p.QueueName, p.CapacityProfileName)
	}
	return append(out, w)
}

func callerID(n Number, source CallerIDSource, p Profile) CallerID {
	return CallerID{
		PhoneNumberID: n.ID, PhoneNumber: n.E164, Source: source,
		OutboundProfileID: p.ID, OutboundProfileName: p.Name,
		Capacity: p.Capacity, CallerIDName: p.CallerIDName,
	}
}

func profileBlocker(code BlockerCode, p Profile, msg string) Blocker {
	id := p.ID
	return Blocker{Code: code, Message: msg, OutboundProfileID: &id}
}

func noProfileMessage(a AgentFacts) string {
	if len(a.CapacityProfileIDs) == 0 {
		return "The agent is in no capacity profile: add it to the capacity profile of an outbound profile."
	}
	return "None of the agent's capacity profiles is used by an outbound profile: add the agent to the capacity profile of an outbound profile, or create an outbound profile for one of its capacity profiles."
}

func noNumberMessage(p Profile) string {
	if len(p.Numbers) == 0 {
		return fmt.Sprintf("Outbound profile %q has no phone number: add a number with MAKE_CALLS in its calling plan.", p.Name)
	}
	e164s := make([]string, 0, len(p.Numbers))
	for _, n := range sortedNumbers(p.Numbers) {
		e164s = append(e164s, n.E164)
	}
	return fmt.Sprintf("No number of outbound profile %q has MAKE_CALLS (%s): upgrade the calling plan of one of them, or add a number that has it.", p.Name, strings.Join(e164s, ", "))
}

// profileLess orders profiles by name (case-insensitively), then ID.
func profileLess(a, b Profile) int {
	if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return int(a.ID - b.ID)
}

func sortedProfiles(ps []Profile) []Profile {
	out := slices.Clone(ps)
	slices.SortStableFunc(out, profileLess)
	return out
}

func sortedNumbers(ns []Number) []Number {
	out := slices.Clone(ns)
	slices.SortFunc(out, func(a, b Number) int { return strings.Compare(a.E164, b.E164) })
	return out
}

// sortCallerIDs orders caller IDs by profile (by rank: its position among
// the sorted profiles), then e164, then source.
func sortCallerIDs(ids []CallerID, rank map[int64]int) {
	slices.SortStableFunc(ids, func(a, b CallerID) int {
		if c := rank[a.OutboundProfileID] - rank[b.OutboundProfileID]; c != 0 {
			return c
		}
		if c := strings.Compare(a.PhoneNumber, b.PhoneNumber); c != 0 {
			return c
		}
		return strings.Compare(string(a.Source), string(b.Source))
	})
}

// Equivalent reports whether two abilities are the same in every respect
// that counts as a change (docs/domain.md, "Versions and changes"): canMakeCalls; each caller ID's
// number, source, profile, capacity settings and callerIdName; each
// blocker's code and profile. Messages, names and an order that only
// follows a rename do not count.
func Equivalent(a, b Ability) bool {
	if a.CanMakeCalls != b.CanMakeCalls || len(a.CallerIDs) != len(b.CallerIDs) || len(a.Blockers) != len(b.Blockers) {
		return false
	}
	return slices.Equal(callerIDKeys(a.CallerIDs), callerIDKeys(b.CallerIDs)) &&
		slices.Equal(blockerKeys(a.Blockers), blockerKeys(b.Blockers))
}

// callerIDKey is what Equivalent compares of a caller ID.
type callerIDKey struct {
	number, profile int64
	source          CallerIDSource
	capacity        Capacity
	named           bool
	name            string
}

// callerIDKeys returns the keys of ids in a canonical order. (Struct keys
// rather than formatted strings: formatting was a tenth of the CPU of a
// 10,000-ability change on MariaDB.)
func callerIDKeys(ids []CallerID) []callerIDKey {
	keys := make([]callerIDKey, len(ids))
	for i, c := range ids {
		keys[i] = callerIDKey{number: c.PhoneNumberID, profile: c.OutboundProfileID, source: c.Source, capacity: c.Capacity}
		if c.CallerIDName != nil {
			keys[i].named, keys[i].name = true, *c.CallerIDName
		}
	}
	slices.SortFunc(keys, func(a, b callerIDKey) int {
		return cmp.Or(cmp.Compare(a.number, b.number), cmp.Compare(a.profile, b.profile),
			strings.Compare(string(a.source), string(b.source)),
			cmp.Compare(a.capacity.WorkItemLimit, b.capacity.WorkItemLimit),
			strings.Compare(a.capacity.ResetFrequency, b.capacity.ResetFrequency),
			compareBool(a.capacity.BlockAssignment, b.capacity.BlockAssignment),
			compareBool(a.named, b.named), strings.Compare(a.name, b.name))
	})
	return keys
}

// blockerKey is what Equivalent compares of a blocker: its code and
// profile (0: none).
type blockerKey struct {
	code    BlockerCode
	profile int64
}

func blockerKeys(bs []Blocker) []blockerKey {
	keys := make([]blockerKey, len(bs))
	for i, b := range bs {
		keys[i].code = b.Code
		if b.OutboundProfileID != nil {
			keys[i].profile = *b.OutboundProfileID
		}
	}
	slices.SortFunc(keys, func(a, b blockerKey) int {
		return cmp.Or(strings.Compare(string(a.code), string(b.code)), cmp.Compare(a.profile, b.profile))
	})
	return keys
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
