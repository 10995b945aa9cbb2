package main

import (
	"outdial/internal/testenv"
	"slices"
	"strings"
	"testing"
)

// ability is an agent's callingAbility as the API shows it.
type ability struct{ testenv.Ability }

func (a ability) callers() []string      { return a.Callers() }
func (a ability) blockerCodes() []string { return a.BlockerCodes() }

const abilityQuery = testenv.AbilityQuery

func (e *testEnv) ability(agentID string) ability {
	e.t.Helper()
	return ability{e.Ability(agentID)}
}

func (e *testEnv) expectVersion(step, agentID string, want int) ability {
	e.t.Helper()
	return ability{e.ExpectVersion(step, agentID, want)}
}

// GraphQL documents of the tests (testenv).
const (
	addNumber            = testenv.AddNumber
	upgrade              = testenv.Upgrade
	downgrade            = testenv.Downgrade
	createQueue          = testenv.CreateQueue
	createCapacity       = testenv.CreateCapacity
	createProfile        = testenv.CreateProfile
	createAgent          = testenv.CreateAgent
	addToCapacity        = testenv.AddToCapacity
	addToQueue           = testenv.AddToQueue
	assignPersonal       = testenv.AssignPersonal
	updateProfileNumbers = testenv.UpdateProfileNumbers
	createQueueFull      = testenv.CreateQueueFull
	updateQueueName      = testenv.UpdateQueueName
	deleteQueueM         = testenv.DeleteQueue
	setOverflow          = testenv.SetOverflow
	clearOverflow        = testenv.ClearOverflow
	removeFromQueue      = testenv.RemoveFromQueue
	updateCapacity       = testenv.UpdateCapacity
	deleteCapacity       = testenv.DeleteCapacity
	removeFromCapacity   = testenv.RemoveFromCapacity
	updateProfile        = testenv.UpdateProfile
	deleteProfile        = testenv.DeleteProfile
	releaseNumber        = testenv.ReleaseNumber
	upsertAgentsM        = testenv.UpsertAgents
	updateAgentM         = testenv.UpdateAgent
	unassignPersonal     = testenv.UnassignPersonal
	createTokenM         = testenv.CreateToken
	revokeTokenM         = testenv.RevokeToken
)

type idOnly = testenv.IDOnly

func (e *testEnv) addNumberID(number string, plan ...string) string {
	e.t.Helper()
	return e.AddNumberID(number, plan...)
}

func (e *testEnv) createAgentID(name, email string, unified bool) string {
	e.t.Helper()
	return e.CreateAgentID(name, email, unified)
}

// TestSetupWalkthrough follows the setup of docs/domain.md, "Setting up
// outbound calling", through the API,
// checking every refusal and every ability version on the way.
func TestSetupWalkthrough(t *testing.T) {
	e := setup(t)

	// 1. A number is added with RECEIVE_CALLS only.
	var added struct {
		PhoneNumber struct {
			ID, E164, Type, CountryCode string
			CallingPlan                 []string
			CanMakeCalls                bool
		}
	}
	e.mustMutate("addPhoneNumber", addNumber, map[string]any{"n": "(425) 555-0100"}, &added)
	n1 := added.PhoneNumber
	if n1.E164 != "+14255550100" || n1.Type != "GEOGRAPHIC" || n1.CountryCode != "US" ||
		!slices.Equal(n1.CallingPlan, []string{"RECEIVE_CALLS"}) || n1.CanMakeCalls {
		t.Fatalf("added number = %+v", n1)
	}

	var q struct{ Queue idOnly }
	e.mustMutate("createQueue", createQueue, map[string]any{"name": "Outbound sales", "channel": "VOICE"}, &q)
	var chat struct{ Queue idOnly }
	e.mustMutate("createQueue", createQueue, map[string]any{"name": "Chat", "channel": "MESSAGING"}, &chat)
	var cp struct{ CapacityProfile idOnly }
	e.mustMutate("createCapacityProfile", createCapacity,
		map[string]any{"name": "Outbound voice", "limit": 1, "reset": "IMMEDIATE", "block": true}, &cp)

	profileVars := func(queue string) map[string]any {
		return map[string]any{"name": "Outbound sales", "q": queue, "cp": cp.CapacityProfile.ID,
			"nums": []string{n1.ID}, "def": true, "cnam": "CONTOSO SALES"}
	}

	// 2. An outbound profile with that number is refused.
	ue := e.refused("NUMBER_NOT_OUTBOUND_ENABLED", "createOutboundProfile", createProfile, profileVars(q.Queue.ID))
	if !slices.Equal(ue.Field, []string{"input", "phoneNumberIds", "0"}) || !strings.Contains(ue.Message, "+14255550100") {
		t.Errorf("refusal = %+v; want it to point at phoneNumberIds[0] and name the number", ue)
	}

	// 3. The plan is upgraded.
	var up struct {
		PhoneNumber struct{ CallingPlan []string }
	}
	e.mustMutate("upgradeCallingPlan", upgrade, map[string]any{"id": n1.ID, "caps": []string{"MAKE_CALLS"}}, &up)
	if !slices.Equal(up.PhoneNumber.CallingPlan, []string{"RECEIVE_CALLS", "MAKE_CALLS"}) {
		t.Fatalf("plan after upgrade = %v", up.PhoneNumber.CallingPlan)
	}

	// 4. A MESSAGING queue is refused.
	e.refused("QUEUE_NOT_VOICE", "createOutboundProfile", createProfile, profileVars(chat.Queue.ID))

	// 5. The voice queue, capacity profile and profile are created.
	var prof struct {
		OutboundProfile struct {
			ID, Name     string
			IsDefault    bool
			CallerIDName string `json:"callerIdName"`
		}
	}
	e.mustMutate("createOutboundProfile", createProfile, profileVars(q.Queue.ID), &prof)
	if !prof.OutboundProfile.IsDefault || prof.OutboundProfile.CallerIDName != "CONTOSO SALES" {
		t.Fatalf("profile = %+v", prof.OutboundProfile)
	}

	// 6. A new agent: version 1, no outbound profile.
	aiko := e.createAgentID("Aiko Tanaka", "Aiko.Tanaka@Example.com", true)
	ab := e.expectVersion("new agent", aiko, 1)
	if !slices.Equal(ab.blockerCodes(), []string{"NO_OUTBOUND_PROFILE"}) {
		t.Fatalf("new agent blockers = %v", ab.blockerCodes())
	}

	// 7. In the capacity profile, not in the queue: NOT_IN_PROFILE_QUEUE naming the profile.
	e.mustMutate("addAgentsToCapacityProfile", addToCapacity, map[string]any{"cp": cp.CapacityProfile.ID, "agents": []string{aiko}}, nil)
	ab = e.expectVersion("added to capacity profile", aiko, 2)
	if len(ab.Blockers) != 1 || ab.Blockers[0].Code != "NOT_IN_PROFILE_QUEUE" || ab.Blockers[0].OutboundProfile == nil ||
		ab.Blockers[0].OutboundProfile.Name != "Outbound sales" || !strings.Contains(ab.Blockers[0].Message, "Outbound sales") {
		t.Fatalf("blockers after capacity profile = %+v", ab.Blockers)
	}
	e.mustMutate("addAgentsToCapacityProfile", addToCapacity, map[string]any{"cp": cp.CapacityProfile.ID, "agents": []string{aiko}}, nil)
	e.expectVersion("added to capacity profile again (no-op)", aiko, 2)

	// 8. Added to the queue, the agent can call with the right caller ID and settings.
	e.mustMutate("addAgentsToQueue", addToQueue, map[string]any{"q": q.Queue.ID, "agents": []string{aiko}}, nil)
	ab = e.expectVersion("added to queue", aiko, 3)
	if !ab.CanMakeCalls || len(ab.Blockers) != 0 || !slices.Equal(ab.callers(), []string{"+14255550100/OUTBOUND_PROFILE/Outbound sales"}) {
		t.Fatalf("ability after queue = %+v", ab)
	}
	c := ab.CallerIds[0]
	if c.WorkItemLimit != 1 || c.ResetFrequency != "IMMEDIATE" || !c.BlockAssignment || c.CallerIDName == nil || *c.CallerIDName != "CONTOSO SALES" {
		t.Fatalf("caller ID settings = %+v", c)
	}

	// 9. Personal numbers: refused for toll-free, without unified routing, and when already held.
	tollFree := e.addNumberID("+1 800 555 0199")
	personal := e.addNumberID("+1 206 555 0123")
	ben := e.createAgentID("Ben Okafor", "ben@example.com", false)
	cara := e.createAgentID("Cara Ruiz", "cara@example.com", true)
	e.refused("TOLL_FREE_NOT_ALLOWED", "assignPersonalNumber", assignPersonal, map[string]any{"agent": aiko, "number": tollFree})
	e.refused("UNIFIED_ROUTING_REQUIRED", "assignPersonalNumber", assignPersonal, map[string]any{"agent": ben, "number": personal})
	e.refused("NUMBER_ALREADY_ASSIGNED", "assignPersonalNumber", assignPersonal, map[string]any{"agent": cara, "number": n1.ID})
	e.mustMutate("assignPersonalNumber", assignPersonal, map[string]any{"agent": aiko, "number": personal}, nil)
	e.expectVersion("personal number without MAKE_CALLS (no new caller ID)", aiko, 3)
	e.refused("NUMBER_ALREADY_ASSIGNED", "assignPersonalNumber", assignPersonal, map[string]any{"agent": cara, "number": personal})
	e.refused("NUMBER_ALREADY_ASSIGNED", "updateOutboundProfile", updateProfileNumbers,
		map[string]any{"id": prof.OutboundProfile.ID, "nums": []string{n1.ID, personal}})

	// 10. The default profile governs the personal number once it can make calls.
	e.mustMutate("upgradeCallingPlan", upgrade, map[string]any{"id": personal, "caps": []string{"MAKE_CALLS"}}, nil)
	ab = e.expectVersion("personal number upgraded", aiko, 4)
	want := []string{"+12065550123/PERSONAL_NUMBER/Outbound sales", "+14255550100/OUTBOUND_PROFILE/Outbound sales"}
	if !slices.Equal(ab.callers(), want) {
		t.Fatalf("caller IDs = %v, want %v", ab.callers(), want)
	}
	pc := ab.CallerIds[0]
	if pc.WorkItemLimit != 1 || pc.ResetFrequency != "IMMEDIATE" || !pc.BlockAssignment || pc.CallerIDName == nil || *pc.CallerIDName != "CONTOSO SALES" {
		t.Fatalf("personal caller ID does not carry the default profile's settings: %+v", pc)
	}

	// 11. A downgrade removes exactly the caller IDs it should.
	n2 := e.addNumberID("+1 425 555 0102", "RECEIVE_CALLS", "MAKE_CALLS")
	e.mustMutate("updateOutboundProfile", updateProfileNumbers, map[string]any{"id": prof.OutboundProfile.ID, "nums": []string{n1.ID, n2}}, nil)
	e.expectVersion("second profile number", aiko, 5)
	benBefore := e.ability(ben).Version
	e.mustMutate("downgradeCallingPlan", downgrade, map[string]any{"id": n1.ID, "caps": []string{"MAKE_CALLS"}}, nil)
	ab = e.expectVersion("downgrade", aiko, 6)
	want = []string{"+12065550123/PERSONAL_NUMBER/Outbound sales", "+14255550102/OUTBOUND_PROFILE/Outbound sales"}
	if !slices.Equal(ab.callers(), want) {
		t.Fatalf("caller IDs after downgrade = %v, want %v", ab.callers(), want)
	}
	e.mustMutate("downgradeCallingPlan", downgrade, map[string]any{"id": n1.ID, "caps": []string{"MAKE_CALLS"}}, nil)
	e.expectVersion("second downgrade (no-op)", aiko, 6)
	if v := e.ability(ben).Version; v != benBefore {
		t.Errorf("an agent the downgrade does not concern went from version %d to %d", benBefore, v)
	}
	e.mustMutate("downgradeCallingPlan", downgrade, map[string]any{"id": personal, "caps": []string{"MAKE_CALLS"}}, nil)
	ab = e.expectVersion("personal number downgraded", aiko, 7)
	if !slices.Equal(ab.callers(), []string{"+14255550102/OUTBOUND_PROFILE/Outbound sales"}) {
		t.Fatalf("caller IDs after personal downgrade = %v", ab.callers())
	}
}
