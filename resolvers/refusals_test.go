package resolvers_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"outdial/calling"
	"outdial/internal/testenv"
)

// refusalWorld is a configuration in which every business rule of the
// core mutations can be broken: a default outbound profile with one caller
// ID, a personal number, a number without MAKE_CALLS, a toll-free number,
// a queue overflow caller ID, a MESSAGING queue and an agent without
// unified routing.
type refusalWorld struct {
	voice, chat, spareQueue, goneQueue      string
	capacity, spareCapacity                 string
	profile                                 string
	callerID, personal, receiveOnly         string
	tollFree, overflowNumber, spareOutbound string
	aiko, ben, cara                         string
	// bootstrap is the only ADMIN token; cara has MaxAgentTokens AGENT
	// tokens.
	bootstrap string
}

func newRefusalWorld(e *testenv.Env) refusalWorld {
	e.T.Helper()
	var w refusalWorld
	w.callerID = e.AddNumberID("+1 425 555 0100", "RECEIVE_CALLS", "MAKE_CALLS")
	w.personal = e.AddNumberID("+1 206 555 0123")
	w.receiveOnly = e.AddNumberID("+1 425 555 0101")
	w.tollFree = e.AddNumberID("+1 800 555 0199")
	w.overflowNumber = e.AddNumberID("+1 425 555 0103", "MAKE_CALLS")
	w.spareOutbound = e.AddNumberID("+1 425 555 0104", "MAKE_CALLS")
	w.voice = e.QueueID("Outbound sales", "VOICE")
	w.chat = e.QueueID("Chat", "MESSAGING")
	w.spareQueue = e.QueueID("Spare voice", "VOICE")
	w.goneQueue = e.StaleQueueID()
	w.capacity = e.CapacityID("Outbound voice")
	w.spareCapacity = e.CapacityID("Spare capacity")
	w.profile = e.ProfileID("Outbound sales", w.voice, w.capacity, []string{w.callerID}, true)
	e.MustMutate("setQueueOverflow", testenv.SetOverflow, map[string]any{"q": w.voice, "to": "+1 425 555 0199", "num": w.overflowNumber}, nil)
	w.aiko = e.CreateAgentID("Aiko Tanaka", "aiko@example.com", true)
	w.ben = e.CreateAgentID("Ben Okafor", "ben@example.com", false)
	w.cara = e.CreateAgentID("Cara Ruiz", "cara@example.com", true)
	e.Join(w.voice, w.capacity, w.aiko, w.cara)
	e.Assign(w.aiko, w.personal)
	w.bootstrap = e.Tokens(e.Admin)["bootstrap"].ID
	for i := range calling.MaxAgentTokens {
		e.Token(fmt.Sprintf("cara's device %d", i), "AGENT", w.cara)
	}
	return w
}

// refusal is one mutation that a business rule refuses.
type refusal struct {
	name    string
	code    string
	field   string // the payload's field in data
	query   string
	vars    map[string]any
	path    []string // the userError's field, when not nil
	message string   // a substring of the message, when not ""
}

// coreRefusals lists, for every UserErrorCode of the core mutations, the
// mutations that must be refused with it.
func coreRefusals(w refusalWorld, unknownAgent string) []refusal {
	return []refusal{
		{name: "blank queue name", code: "INVALID_INPUT", field: "createQueue", query: testenv.CreateQueue,
			vars: map[string]any{"name": "   ", "channel": "VOICE"}, path: []string{"input", "name"}},
		{name: "workItemLimit 0", code: "INVALID_INPUT", field: "createCapacityProfile", query: testenv.CreateCapacity,
			vars: map[string]any{"name": "Zero", "limit": 0}, path: []string{"input", "workItemLimit"}},
		{name: "workItemLimit 101", code: "INVALID_INPUT", field: "createCapacityProfile", query: testenv.CreateCapacity,
			vars: map[string]any{"name": "Too many", "limit": 101}, path: []string{"input", "workItemLimit"}},
		{name: "workItemLimit 101 on update", code: "INVALID_INPUT", field: "updateCapacityProfile", query: testenv.UpdateCapacity,
			vars: map[string]any{"id": w.capacity, "limit": 101}, path: []string{"input", "workItemLimit"}},
		{name: "callerIdName of 16 characters", code: "INVALID_INPUT", field: "createOutboundProfile", query: testenv.CreateProfile,
			vars: map[string]any{"name": "Long CNAM", "q": w.voice, "cp": w.capacity, "nums": []string{w.spareOutbound},
				"cnam": "ABCDEFGHIJKLMNOP"}, path: []string{"input", "callerIdName"}},
		{name: "callerIdName of 16 characters on update", code: "INVALID_INPUT", field: "updateOutboundProfile", query: testenv.UpdateProfile,
			vars: map[string]any{"id": w.profile, "cnam": "CONTOSO SALES 16"}, path: []string{"input", "callerIdName"}},
		{name: "bad email", code: "INVALID_INPUT", field: "createAgent", query: testenv.CreateAgent,
			vars: map[string]any{"name": "Dan", "email": "dan at example"}, path: []string{"input", "email"}},
		{name: "profile without numbers", code: "INVALID_INPUT", field: "createOutboundProfile", query: testenv.CreateProfile,
			vars: map[string]any{"name": "Empty", "q": w.voice, "cp": w.capacity, "nums": []string{}}, path: []string{"input", "phoneNumberIds"}},

		{name: "deleted queue", code: "NOT_FOUND", field: "addAgentsToQueue", query: testenv.AddToQueue,
			vars: map[string]any{"q": w.goneQueue, "agents": []string{w.aiko}}, path: []string{"input", "queueId"}},
		{name: "unknown agent in a list", code: "NOT_FOUND", field: "addAgentsToCapacityProfile", query: testenv.AddToCapacity,
			vars: map[string]any{"cp": w.capacity, "agents": []string{w.ben, unknownAgent}}, path: []string{"input", "agentIds", "1"}},
		{name: "deleted queue in a profile", code: "NOT_FOUND", field: "createOutboundProfile", query: testenv.CreateProfile,
			vars: map[string]any{"name": "Ghost", "q": w.goneQueue, "cp": w.capacity, "nums": []string{w.spareOutbound}}, path: []string{"input", "queueId"}},

		{name: "queue name in another case", code: "ALREADY_EXISTS", field: "createQueue", query: testenv.CreateQueue,
			vars: map[string]any{"name": "OUTBOUND Sales", "channel": "VOICE"}, path: []string{"input", "name"}},
		{name: "capacity profile name in another case", code: "ALREADY_EXISTS", field: "createCapacityProfile", query: testenv.CreateCapacity,
			vars: map[string]any{"name": "outbound VOICE"}, path: []string{"input", "name"}},
		{name: "outbound profile name in another case", code: "ALREADY_EXISTS", field: "createOutboundProfile", query: testenv.CreateProfile,
			vars: map[string]any{"name": "outbound sales", "q": w.voice, "cp": w.capacity, "nums": []string{w.spareOutbound}}, path: []string{"input", "name"}},
		{name: "email in another case", code: "ALREADY_EXISTS", field: "createAgent", query: testenv.CreateAgent,
			vars: map[string]any{"name": "Aiko again", "email": "AIKO@Example.com"}, path: []string{"input", "email"}},
		{name: "number in another notation", code: "ALREADY_EXISTS", field: "addPhoneNumber", query: testenv.AddNumber,
			vars: map[string]any{"n": "(425) 555-0100"}, path: []string{"input", "number"}},

		{name: "not a number", code: "INVALID_PHONE_NUMBER", field: "addPhoneNumber", query: testenv.AddNumber,
			vars: map[string]any{"n": "12345"}, path: []string{"input", "number"}},
		{name: "mobile number", code: "INVALID_PHONE_NUMBER", field: "addPhoneNumber", query: testenv.AddNumber,
			vars: map[string]any{"n": "+44 7400 123456"}, path: []string{"input", "number"}, message: "mobile"},
		{name: "bad overflow target", code: "INVALID_PHONE_NUMBER", field: "setQueueOverflow", query: testenv.SetOverflow,
			vars: map[string]any{"q": w.spareQueue, "to": "not a number", "num": w.overflowNumber}, path: []string{"input", "transferTo"}},

		{name: "toll-free personal number", code: "TOLL_FREE_NOT_ALLOWED", field: "assignPersonalNumber", query: testenv.AssignPersonal,
			vars: map[string]any{"agent": w.cara, "number": w.tollFree}, path: []string{"input", "phoneNumberId"}},

		{name: "personal number without unified routing", code: "UNIFIED_ROUTING_REQUIRED", field: "assignPersonalNumber", query: testenv.AssignPersonal,
			vars: map[string]any{"agent": w.ben, "number": w.receiveOnly}, path: []string{"input", "agentId"}},

		{name: "caller ID as personal number", code: "NUMBER_ALREADY_ASSIGNED", field: "assignPersonalNumber", query: testenv.AssignPersonal,
			vars: map[string]any{"agent": w.cara, "number": w.callerID}, path: []string{"input", "phoneNumberId"}},
		{name: "personal number as caller ID", code: "NUMBER_ALREADY_ASSIGNED", field: "createOutboundProfile", query: testenv.CreateProfile,
			vars: map[string]any{"name": "Personal", "q": w.voice, "cp": w.capacity, "nums": []string{w.spareOutbound, w.personal}},
			path: []string{"input", "phoneNumberIds", "1"}, message: "+12065550123"},
		{name: "personal number added to a profile", code: "NUMBER_ALREADY_ASSIGNED", field: "updateOutboundProfile", query: testenv.UpdateProfile,
			vars: map[string]any{"id": w.profile, "nums": []string{w.callerID, w.personal}}, path: []string{"input", "phoneNumberIds", "1"}},
		{name: "another agent's personal number", code: "NUMBER_ALREADY_ASSIGNED", field: "assignPersonalNumber", query: testenv.AssignPersonal,
			vars: map[string]any{"agent": w.cara, "number": w.personal}, path: []string{"input", "phoneNumberId"}},

		{name: "profile number without MAKE_CALLS", code: "NUMBER_NOT_OUTBOUND_ENABLED", field: "createOutboundProfile", query: testenv.CreateProfile,
			vars: map[string]any{"name": "Inbound only", "q": w.voice, "cp": w.capacity, "nums": []string{w.receiveOnly}},
			path: []string{"input", "phoneNumberIds", "0"}, message: "+14255550101"},
		{name: "overflow caller ID without MAKE_CALLS", code: "NUMBER_NOT_OUTBOUND_ENABLED", field: "setQueueOverflow", query: testenv.SetOverflow,
			vars: map[string]any{"q": w.spareQueue, "to": "+1 425 555 0198", "num": w.receiveOnly}, path: []string{"input", "callerIdNumberId"}},

		{name: "MESSAGING queue in a profile", code: "QUEUE_NOT_VOICE", field: "createOutboundProfile", query: testenv.CreateProfile,
			vars: map[string]any{"name": "Chat out", "q": w.chat, "cp": w.capacity, "nums": []string{w.spareOutbound}}, path: []string{"input", "queueId"}},
		{name: "profile moved to a MESSAGING queue", code: "QUEUE_NOT_VOICE", field: "updateOutboundProfile", query: testenv.UpdateProfile,
			vars: map[string]any{"id": w.profile, "q": w.chat}, path: []string{"input", "queueId"}},
		{name: "overflow on a MESSAGING queue", code: "QUEUE_NOT_VOICE", field: "setQueueOverflow", query: testenv.SetOverflow,
			vars: map[string]any{"q": w.chat, "to": "+1 425 555 0198", "num": w.overflowNumber}, path: []string{"input", "queueId"}},

		{name: "release a personal number", code: "IN_USE", field: "releasePhoneNumber", query: testenv.ReleaseNumber,
			vars: map[string]any{"id": w.personal}, path: []string{"input", "id"}, message: "personal"},
		{name: "release a profile caller ID", code: "IN_USE", field: "releasePhoneNumber", query: testenv.ReleaseNumber,
			vars: map[string]any{"id": w.callerID}, path: []string{"input", "id"}, message: "outbound profile"},
		{name: "release an overflow caller ID", code: "IN_USE", field: "releasePhoneNumber", query: testenv.ReleaseNumber,
			vars: map[string]any{"id": w.overflowNumber}, path: []string{"input", "id"}, message: "overflow"},
		{name: "delete a queue a profile uses", code: "IN_USE", field: "deleteQueue", query: testenv.DeleteQueue,
			vars: map[string]any{"id": w.voice}, path: []string{"input", "id"}},
		{name: "delete a capacity profile a profile uses", code: "IN_USE", field: "deleteCapacityProfile", query: testenv.DeleteCapacity,
			vars: map[string]any{"id": w.capacity}, path: []string{"input", "id"}},
		{name: "revoke the last ADMIN token", code: "LAST_ADMIN", field: "revokeApiToken", query: testenv.RevokeToken,
			vars: map[string]any{"id": w.bootstrap}, path: []string{"input", "id"}, message: "last active ADMIN token"},

		{name: "an agent's AGENT tokens beyond the quota", code: "QUOTA_EXCEEDED", field: "createApiToken", query: testenv.CreateToken,
			vars: map[string]any{"name": "cara's one too many", "role": "AGENT", "agent": w.cara}, message: "the most allowed (10)"},

		{name: "downgrade an overflow caller ID", code: "IN_USE", field: "downgradeCallingPlan", query: testenv.Downgrade,
			vars: map[string]any{"id": w.overflowNumber, "caps": []string{"MAKE_CALLS"}}, path: []string{"input", "phoneNumberId"}},
	}
}

// webhookCodes are the UserErrorCodes of the webhook mutations, tested with
// them.
var webhookCodes = []string{"INVALID_URL", "URL_NOT_ALLOWED", "OUT_OF_SCOPE"}

// TestRefusalCodes provokes every UserErrorCode of the core mutations and
// checks each refusal: its code, the input field it names, its message,
// and that the database is exactly unchanged (no row, no audit entry, no
// event). It ends by checking that the codes seen cover the schema's enum.
func TestRefusalCodes(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	w := newRefusalWorld(e)
	unknownAgent := calling.GlobalID(calling.KindAgent, 999999) // well-formed, but no agent has it

	seen := map[string]bool{}
	for _, c := range coreRefusals(w, unknownAgent) {
		t.Run(c.code+"/"+c.name, func(t *testing.T) {
			ue := e.As(t).Refused(c.code, c.field, c.query, c.vars)
			if c.code == "QUOTA_EXCEEDED" && ue.Field != nil {
				t.Errorf("field = %v, want null: a quota is no input's fault", ue.Field)
			}
			if c.path != nil && !slices.Equal(ue.Field, c.path) {
				t.Errorf("field = %v, want %v (%s)", ue.Field, c.path, ue.Message)
			}
			if !strings.Contains(ue.Message, c.message) || strings.TrimSpace(ue.Message) == "" {
				t.Errorf("message %q should mention %q", ue.Message, c.message)
			}
			seen[c.code] = true
		})
	}

	var enum struct {
		Type struct{ EnumValues []struct{ Name string } } `json:"__type"`
	}
	e.Query(`{ __type(name: "UserErrorCode") { enumValues { name } } }`, nil, &enum)
	var missing []string
	for _, v := range enum.Type.EnumValues {
		if !seen[v.Name] && !slices.Contains(webhookCodes, v.Name) {
			missing = append(missing, v.Name)
		}
	}
	if len(enum.Type.EnumValues) == 0 || len(missing) > 0 {
		t.Fatalf("UserErrorCodes no test provoked: %v (enum: %v)", missing, enum.Type.EnumValues)
	}
}
