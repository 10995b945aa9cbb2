package calling

import (
	"context"
	"fmt"
)

// demoActor is the audit actor of the demo data.
var demoActor = Actor{Name: "demo", Role: RoleAdmin}

// LoadDemo loads a small example organisation, following the setup of
// docs/domain.md, "Setting up outbound calling", when the database holds no agent and no number yet; it
// reports whether it did. Its agents show every state of ability: one can
// call (with a personal number), the others are blocked for each reason.
func (s *Service) LoadDemo(ctx context.Context) (bool, error) {
	var n int64
	if err := s.db.WithContext(ctx).Raw("SELECT (SELECT COUNT(*) FROM agents) + (SELECT COUNT(*) FROM phone_numbers)").Scan(&n).Error; err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	d := demo{s: s, ctx: ctx}
	d.load()
	if d.err != nil {
		return false, fmt.Errorf("load demo organisation: %w", d.err)
	}
	return true, nil
}

// demo runs the demo's commands, stopping at the first error.
type demo struct {
	s   *Service
	ctx context.Context
	err error
}

func (d *demo) load() {
	sales := d.number("+1 425 555 0100", "Sales line", MakeCalls)
	collections := d.number("+1 425 555 0101", "Collections line (MAKE_CALLS removed)", MakeCalls)
	d.number("+1 800 555 0199", "Toll-free support")
	personal := d.number("+1 206 555 0123", "Aiko's direct line", MakeCalls)

	outbound := d.queue("Outbound sales", ChannelVoice)
	collQueue := d.queue("Collections", ChannelVoice)
	d.queue("Support inbound", ChannelVoice)
	d.queue("Chat", ChannelMessaging)

	voice := d.capacity("Outbound voice", 1, true)
	bulk := d.capacity("Collections voice", 2, false)

	d.profile("Outbound sales", outbound, voice, sales, true)
	d.profile("Collections", collQueue, bulk, collections, false)
	d.downgrade(collections) // Collections agents: NO_OUTBOUND_NUMBER

	aiko := d.agent("Aiko Tanaka", "aiko.tanaka@example.com", true)
	ben := d.agent("Ben Okafor", "ben.okafor@example.com", true)
	carla := d.agent("Carla Ruiz", "carla.ruiz@example.com", false)
	d.agent("Dev Patel", "dev.patel@example.com", true)
	emma := d.agent("Emma Schmidt", "emma.schmidt@example.com", true)

	d.members(voice, outbound, []int64{aiko, ben, carla}, []int64{aiko, carla})
	d.members(bulk, collQueue, []int64{emma}, []int64{emma})
	if d.err == nil {
		_, d.err = d.s.AssignPersonalNumber(d.ctx, demoActor, AssignPersonalNumberInput{AgentID: aiko, PhoneNumberID: personal})
	}
}

func (d *demo) number(raw, label string, extra ...Capability) int64 {
	if d.err != nil {
		return 0
	}
	n, err := d.s.AddPhoneNumber(d.ctx, demoActor, AddPhoneNumberInput{Number: raw, Label: &label,
		CallingPlan: append([]Capability{ReceiveCalls}, extra...)})
	d.err = err
	if err != nil {
		return 0
	}
	return n.ID
}

func (d *demo) queue(name, channel string) int64 {
	if d.err != nil {
		return 0
	}
	q, err := d.s.CreateQueue(d.ctx, demoActor, CreateQueueInput{Name: name, Channel: channel})
	d.err = err
	if err != nil {
		return 0
	}
	return q.ID
}

func (d *demo) capacity(name string, limit int, block bool) int64 {
	if d.err != nil {
		return 0
	}
	c, err := d.s.CreateCapacityProfile(d.ctx, demoActor, CreateCapacityProfileInput{Name: name, WorkItemLimit: limit,
		ResetFrequency: ResetImmediate, BlockAssignment: block})
	d.err = err
	if err != nil {
		return 0
	}
	return c.ID
}

func (d *demo) profile(name string, queue, capacity, number int64, isDefault bool) {
	if d.err != nil {
		return
	}
	cnam := "CONTOSO"
	_, d.err = d.s.CreateOutboundProfile(d.ctx, demoActor, CreateOutboundProfileInput{Name: name, QueueID: queue,
		CapacityProfileID: capacity, PhoneNumberIDs: []int64{number}, IsDefault: isDefault, CallerIDName: &cnam})
}

func (d *demo) downgrade(number int64) {
	if d.err != nil {
		return
	}
	_, d.err = d.s.DowngradeCallingPlan(d.ctx, demoActor, ChangeCallingPlanInput{PhoneNumberID: number, Capabilities: []Capability{MakeCalls}})
}

func (d *demo) agent(name, email string, unified bool) int64 {
	if d.err != nil {
		return 0
	}
	a, err := d.s.CreateAgent(d.ctx, demoActor, CreateAgentInput{Name: name, Email: email, UnifiedRoutingEnabled: unified})
	d.err = err
	if err != nil {
		return 0
	}
	return a.ID
}

func (d *demo) members(capacity, queue int64, inCapacity, inQueue []int64) {
	if d.err != nil {
		return
	}
	if _, d.err = d.s.AddAgentsToCapacityProfile(d.ctx, demoActor, CapacityProfileMembersInput{CapacityProfileID: capacity, AgentIDs: inCapacity}); d.err != nil {
		return
	}
	_, d.err = d.s.AddAgentsToQueue(d.ctx, demoActor, QueueMembersInput{QueueID: queue, AgentIDs: inQueue})
}
