package loadtest

import (
	"context"
	"fmt"
	"strings"

	"outdial/calling"
)

// Org is the organisation of the scale benchmark (BENCHMARKS.md), built by
// SeedOrg: every agent can call, so that a change of a capacity profile
// changes the ability of each of its members.
//
//   - Queue and capacity profile 0 ("Everyone") hold every agent; their
//     outbound profile is the default one.
//   - Queue and capacity profile 1 ("Tenth") hold the first tenth of the
//     agents, 2 ("Fiftieth") the next fiftieth.
//   - The others ("Team k") share the agents round robin; one agent in six
//     is in the team's capacity profile but not in its queue.
//   - Every outbound profile has two caller IDs with MAKE_CALLS; every
//     fourth agent has a personal number (two in three of them with
//     MAKE_CALLS), a caller ID of the default profile.
type Org struct {
	Agents             int
	AgentIDs           []int64
	QueueIDs           []int64 // by profile
	CapacityProfileIDs []int64 // by profile
	ProfileIDs         []int64
	// Tenth and Fiftieth are the members of capacity profiles 1 and 2.
	Tenth, Fiftieth int
}

// OrgAgentEmail returns the email of agent i of the organisation.
func OrgAgentEmail(i int) string { return fmt.Sprintf("agent%d@example.com", i) }

// MatchingAgents counts the agents of an organisation of n agents whose
// email contains s (every name of it is "First Last i" with no digit
// run but i, so a digit search finds emails only).
func MatchingAgents(n int, s string) int {
	c := 0
	for i := range n {
		if strings.Contains(OrgAgentEmail(i), s) {
			c++
		}
	}
	return c
}

// personalNumber returns the personal number of the k-th agent that has
// one: +1 206 2XX XXXX, exchanges 234 to 289.
func personalNumber(k int) string {
	return fmt.Sprintf("+1 206 %03d %04d", 234+k/10000, k%10000)
}

// MinOrgProfiles is the fewest outbound profiles SeedOrg makes.
const MinOrgProfiles = 4

// MaxOrgAgents is the most agents SeedOrg makes (it runs out of personal
// numbers beyond).
const MaxOrgAgents = 2_000_000

// SeedOrg builds the organisation of agents agents and profiles outbound
// profiles on an empty database: the queues, capacity profiles, numbers and
// profiles one command each, the agents with their memberships and
// personal numbers through the bulk path (calling.ImportAgents, up to
// calling.MaxImportAgents a transaction). progress, when not nil, is told
// how many agents are stored.
func SeedOrg(ctx context.Context, svc *calling.Service, agents, profiles int, progress func(done int)) (*Org, error) {
	if agents < 50 || agents > MaxOrgAgents {
		return nil, fmt.Errorf("seed: want 50 to %d agents, got %d", MaxOrgAgents, agents)
	}
	if profiles < MinOrgProfiles || profiles > 400 {
		return nil, fmt.Errorf("seed: want %d to 400 outbound profiles, got %d", MinOrgProfiles, profiles)
	}
	o := &Org{Agents: agents, Tenth: agents / 10, Fiftieth: agents / 50}
	s := seeder{ctx: ctx, svc: svc, queues: map[string]int64{}, capacities: map[string]int64{}}
	for p := range profiles {
		name := fmt.Sprintf("Team %d", p)
		switch p {
		case 0:
			name = "Everyone"
		case 1:
			name = "Tenth"
		case 2:
			name = "Fiftieth"
		}
		s.queue(name, calling.ChannelVoice)
		s.capacity(name, 1, false)
		ids := []int64{s.addNumber(name+" line 1", false), s.addNumber(name+" line 2", false)}
		if s.err != nil {
			return nil, s.err
		}
		pr, err := svc.CreateOutboundProfile(ctx, seedActor, calling.CreateOutboundProfileInput{Name: name,
			QueueID: s.queues[name], CapacityProfileID: s.capacities[name], PhoneNumberIDs: ids, IsDefault: p == 0})
		if err != nil {
			return nil, fmt.Errorf("seed: outbound profile %s: %w", name, err)
		}
		o.QueueIDs = append(o.QueueIDs, s.queues[name])
		o.CapacityProfileIDs = append(o.CapacityProfileIDs, s.capacities[name])
		o.ProfileIDs = append(o.ProfileIDs, pr.ID)
	}
	teams := profiles - 3
	personal := 0
	batch := make([]calling.ImportAgent, 0, calling.MaxImportAgents)
	flush := func() error {
		ids, err := svc.ImportAgents(ctx, seedActor, batch)
		if err != nil {
			return fmt.Errorf("seed: agents %d to %d: %w", len(o.AgentIDs), len(o.AgentIDs)+len(batch)-1, err)
		}
		o.AgentIDs = append(o.AgentIDs, ids...)
		batch = batch[:0]
		if progress != nil {
			progress(len(o.AgentIDs))
		}
		return nil
	}
	for i := range agents {
		team := 3 + i%teams
		a := calling.ImportAgent{
			CreateAgentInput: calling.CreateAgentInput{Name: fmt.Sprintf("%s %s %d", firstNames[i%len(firstNames)],
				lastNames[i/len(firstNames)%len(lastNames)], i), Email: OrgAgentEmail(i), UnifiedRoutingEnabled: true},
			QueueIDs:           []int64{o.QueueIDs[0]},
			CapacityProfileIDs: []int64{o.CapacityProfileIDs[0], o.CapacityProfileIDs[team]},
		}
		if i%6 != 4 {
			a.QueueIDs = append(a.QueueIDs, o.QueueIDs[team])
		}
		switch {
		case i < o.Tenth:
			a.QueueIDs = append(a.QueueIDs, o.QueueIDs[1])
			a.CapacityProfileIDs = append(a.CapacityProfileIDs, o.CapacityProfileIDs[1])
		case i < o.Tenth+o.Fiftieth:
			a.QueueIDs = append(a.QueueIDs, o.QueueIDs[2])
			a.CapacityProfileIDs = append(a.CapacityProfileIDs, o.CapacityProfileIDs[2])
		}
		if i%4 == 0 {
			a.PersonalNumber = personalNumber(personal)
			a.PersonalPlan = []calling.Capability{calling.ReceiveCalls}
			if personal%3 != 2 {
				a.PersonalPlan = append(a.PersonalPlan, calling.MakeCalls)
			}
			personal++
		}
		batch = append(batch, a)
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return o, nil
}
