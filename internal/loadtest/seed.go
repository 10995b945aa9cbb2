package loadtest

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"outdial/calling"
)

// AgentsQuery is the query of the performance target: one page of 100
// agents with every nested field that goes through a dataloader.
const AgentsQuery = `{ agents(first:100){ nodes { queues { name } capacityProfiles { name } personalNumber { e164 } callingAbility { callerIds { phoneNumber { e164 } outboundProfile { name } } } } } }`

// PageSize is the page size of AgentsQuery.
const PageSize = 100

// seedActor is the audit actor of the data set.
var seedActor = calling.Actor{Name: "loadtest", Role: calling.RoleAdmin}

// areaCodes give the seed's numbers: 555-0100 to 555-0199 in each area,
// the range reserved for fiction.
var areaCodes = []string{"206", "253", "360", "425", "509", "564", "503", "541", "971", "458"}

// MaxSeedAgents is the largest data set Seed builds (it runs out of
// numbers for personal numbers beyond it).
const MaxSeedAgents = 3000

// number returns the i-th phone number of the data set.
func number(i int) string {
	return fmt.Sprintf("+1 %s 555 01%02d", areaCodes[i/100], i%100)
}

var (
	firstNames = []string{"Aiko", "Ben", "Carla", "Dev", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kemal", "Lena"}
	lastNames  = []string{"Tanaka", "Okafor", "Ruiz", "Patel", "Schmidt", "Haddad", "Nowak", "Silva", "Berg", "Moreau", "Costa"}
)

// Seed builds, through the calling service (one command per step, as an
// administrator would), an organisation of the given number of agents in
// every state of ability: agents that can call from one or two outbound
// profiles, some also from a personal number; agents blocked because they
// are not in their profile's queue, because their profile has no number
// with MAKE_CALLS, because none of their capacity profiles has an outbound
// profile, or because unified routing is off (some with a personal number
// still assigned). It expects an empty database.
func Seed(ctx context.Context, svc *calling.Service, agents int) error {
	if agents < 1 || agents > MaxSeedAgents {
		return fmt.Errorf("seed: want 1 to %d agents, got %d", MaxSeedAgents, agents)
	}
	s := seeder{ctx: ctx, svc: svc}
	s.organisation()
	s.agents(agents)
	return s.err
}

// profileSpec is one outbound profile of the data set.
type profileSpec struct {
	name, queue, capacity string
	limit                 int
	block, isDefault      bool
	callerIDName          string
	numbers               int // how many caller IDs
	receiveOnly           int // how many of them lack MAKE_CALLS
}

var profiles = []profileSpec{
	{name: "Outbound sales", queue: "Outbound sales", capacity: "Sales voice", limit: 1, block: true, isDefault: true,
		callerIDName: "CONTOSO SALES", numbers: 3},
	{name: "Collections", queue: "Collections", capacity: "Collections voice", limit: 2, callerIDName: "CONTOSO", numbers: 2},
	{name: "Renewals", queue: "Renewals", capacity: "Renewals voice", limit: 1, block: true, numbers: 3, receiveOnly: 1},
	{name: "Support callbacks", queue: "Support callbacks", capacity: "Support voice", limit: 3, numbers: 2, receiveOnly: 2},
}

// seeder runs the seed's commands, stopping at the first error.
type seeder struct {
	ctx        context.Context
	svc        *calling.Service
	err        error
	numbers    int // numbers added so far
	queues     map[string]int64
	capacities map[string]int64
}

func (s *seeder) fail(what string, err error) {
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("seed: %s: %w", what, err)
	}
}

// organisation creates the queues, capacity profiles, numbers and outbound
// profiles.
func (s *seeder) organisation() {
	s.queues, s.capacities = map[string]int64{}, map[string]int64{}
	for _, p := range profiles {
		s.queue(p.queue, calling.ChannelVoice)
		s.capacity(p.capacity, p.limit, p.block)
	}
	s.queue("Support inbound", calling.ChannelVoice)
	s.queue("Chat", calling.ChannelMessaging)
	s.queue("Email follow-up", calling.ChannelMessaging)
	s.capacity("Chat agents", 5, false)
	for _, p := range profiles {
		ids := make([]int64, p.numbers)
		for i := range ids {
			ids[i] = s.addNumber(fmt.Sprintf("%s line %d", p.name, i+1), false)
		}
		if s.err != nil {
			return
		}
		cnam := &p.callerIDName
		if p.callerIDName == "" {
			cnam = nil
		}
		_, err := s.svc.CreateOutboundProfile(s.ctx, seedActor, calling.CreateOutboundProfileInput{Name: p.name,
			QueueID: s.queues[p.queue], CapacityProfileID: s.capacities[p.capacity], PhoneNumberIDs: ids,
			IsDefault: p.isDefault, CallerIDName: cnam})
		s.fail("outbound profile "+p.name, err)
		// Caller IDs must have MAKE_CALLS when added; some lose it later.
		for _, id := range ids[p.numbers-p.receiveOnly:] {
			s.downgrade(id)
		}
	}
}

// downgrade removes MAKE_CALLS from a number's calling plan.
func (s *seeder) downgrade(id int64) {
	if s.err != nil {
		return
	}
	_, err := s.svc.DowngradeCallingPlan(s.ctx, seedActor,
		calling.ChangeCallingPlanInput{PhoneNumberID: id, Capabilities: []calling.Capability{calling.MakeCalls}})
	s.fail("downgrade", err)
}

func (s *seeder) queue(name, channel string) {
	if s.err != nil {
		return
	}
	q, err := s.svc.CreateQueue(s.ctx, seedActor, calling.CreateQueueInput{Name: name, Channel: channel})
	if s.fail("queue "+name, err); err == nil {
		s.queues[name] = q.ID
	}
}

func (s *seeder) capacity(name string, limit int, block bool) {
	if s.err != nil {
		return
	}
	c, err := s.svc.CreateCapacityProfile(s.ctx, seedActor, calling.CreateCapacityProfileInput{Name: name,
		WorkItemLimit: limit, ResetFrequency: calling.ResetImmediate, BlockAssignment: block})
	if s.fail("capacity profile "+name, err); err == nil {
		s.capacities[name] = c.ID
	}
}

// addNumber adds the next number of the data set and returns its ID.
func (s *seeder) addNumber(label string, receiveOnly bool) int64 {
	if s.err != nil {
		return 0
	}
	plan := []calling.Capability{calling.ReceiveCalls, calling.MakeCalls}
	if receiveOnly {
		plan = plan[:1]
	}
	raw := number(s.numbers)
	s.numbers++
	n, err := s.svc.AddPhoneNumber(s.ctx, seedActor, calling.AddPhoneNumberInput{Number: raw, Label: &label, CallingPlan: plan})
	if s.fail("number "+raw, err); err != nil {
		return 0
	}
	return n.ID
}

// agents creates n agents and spreads them over the profiles, queues and
// personal numbers (see Seed).
func (s *seeder) agents(n int) {
	if s.err != nil {
		return
	}
	in := make([]calling.CreateAgentInput, n)
	for i := range in {
		in[i] = calling.CreateAgentInput{
			Name:                  fmt.Sprintf("%s %s %d", firstNames[i%len(firstNames)], lastNames[i/len(firstNames)%len(lastNames)], i),
			Email:                 fmt.Sprintf("agent%04d@example.com", i),
			UnifiedRoutingEnabled: i%10 != 9,
		}
	}
	var ids []int64
	for start := 0; start < n && s.err == nil; start += calling.MaxListLen {
		rows, err := s.svc.UpsertAgents(s.ctx, seedActor, in[start:min(n, start+calling.MaxListLen)])
		s.fail("agents", err)
		for _, a := range rows {
			ids = append(ids, a.ID)
		}
	}
	if s.err != nil {
		return
	}
	inQueue, inCapacity := map[string][]int64{}, map[string][]int64{}
	for i, id := range ids {
		p := profiles[i%len(profiles)]
		switch i % 6 {
		case 4: // in the capacity profile, not in the queue: NOT_IN_PROFILE_QUEUE
			inCapacity[p.capacity] = append(inCapacity[p.capacity], id)
		case 5: // no outbound profile for its capacity profile: NO_OUTBOUND_PROFILE
			inCapacity["Chat agents"] = append(inCapacity["Chat agents"], id)
		default:
			inCapacity[p.capacity] = append(inCapacity[p.capacity], id)
			inQueue[p.queue] = append(inQueue[p.queue], id)
		}
		if i%7 == 0 { // a second profile
			inCapacity["Collections voice"] = append(inCapacity["Collections voice"], id)
			inQueue["Collections"] = append(inQueue["Collections"], id)
		}
		if i%3 == 0 {
			inQueue["Support inbound"] = append(inQueue["Support inbound"], id)
		}
		if i%4 == 1 {
			inQueue["Chat"] = append(inQueue["Chat"], id)
			inCapacity["Chat agents"] = append(inCapacity["Chat agents"], id)
		}
	}
	for _, name := range sortedKeys(inCapacity) {
		s.members(name, inCapacity[name], true)
	}
	for _, name := range sortedKeys(inQueue) {
		s.members(name, inQueue[name], false)
	}
	s.personalNumbers(ids)
}

// members adds agents to a capacity profile or a queue, at most
// MaxListLen at a time.
func (s *seeder) members(name string, agents []int64, capacity bool) {
	for start := 0; start < len(agents) && s.err == nil; start += calling.MaxListLen {
		chunk := agents[start:min(len(agents), start+calling.MaxListLen)]
		var err error
		if capacity {
			_, err = s.svc.AddAgentsToCapacityProfile(s.ctx, seedActor,
				calling.CapacityProfileMembersInput{CapacityProfileID: s.capacities[name], AgentIDs: chunk})
		} else {
			_, err = s.svc.AddAgentsToQueue(s.ctx, seedActor, calling.QueueMembersInput{QueueID: s.queues[name], AgentIDs: chunk})
		}
		s.fail("members of "+name, err)
	}
}

// personalNumbers gives every fourth agent with unified routing a personal
// number (one in three of them without MAKE_CALLS), then turns unified
// routing off for some of them.
func (s *seeder) personalNumbers(ids []int64) {
	for i, id := range ids {
		if i%4 != 0 || i%10 == 9 || s.err != nil {
			continue
		}
		n := s.addNumber(fmt.Sprintf("Direct line %d", i), i%12 == 8)
		if s.err != nil {
			return
		}
		_, err := s.svc.AssignPersonalNumber(s.ctx, seedActor, calling.AssignPersonalNumberInput{AgentID: id, PhoneNumberID: n})
		s.fail("personal number", err)
		if i%40 == 20 && s.err == nil {
			off := false
			_, err := s.svc.UpdateAgent(s.ctx, seedActor, calling.UpdateAgentInput{ID: id, UnifiedRoutingEnabled: &off})
			s.fail("unified routing off", err)
		}
	}
}

func sortedKeys(m map[string][]int64) []string { return slices.Sorted(maps.Keys(m)) }
