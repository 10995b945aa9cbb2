package main

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// Acceptance tests of the name rule (package names) through the API, on
// the database of the run (SQLite, or MySQL with TEST_MYSQL_URL): names
// that are the same to a person are the same (issue 7, class 6; issue 13,
// names that look alike), texts that could hide what they say are refused,
// and every length limit on text counts characters (class 5).

const (
	createTokenName = `mutation($name: String!) { createApiToken(input: {name: $name, role: VIEWER}) {
		apiToken { id name } userErrors { field message code } } }`
	addNumberLabel = `mutation($n: String!, $label: String) { addPhoneNumber(input: {number: $n, label: $label}) {
		phoneNumber { id label } userErrors { field message code } } }`
	updateLabel = `mutation($id: ID!, $label: String) { updatePhoneNumber(input: {id: $id, label: $label}) {
		phoneNumber { id label } userErrors { field message code } } }`
	updateQueueDesc = `mutation($id: ID!, $desc: String) { updateQueue(input: {id: $id, description: $desc}) {
		queue { id description } userErrors { field message code } } }`
)

// unchanged runs fn, whose requests must all be refused, and checks that
// the database is exactly as before them (one check for many refusals).
func (e *testEnv) unchanged(fn func()) {
	e.t.Helper()
	before := snapshot(e.t, e.app.db)
	fn()
	if after := snapshot(e.t, e.app.db); !reflect.DeepEqual(before, after) {
		e.t.Fatalf("refused requests changed the database:\n%s", diffSnapshots(before, after))
	}
}

// refusedWith runs a mutation that must be refused with code and returns
// the refusal; run it inside unchanged.
func (e *testEnv) refusedWith(code, field, query string, vars map[string]any) userError {
	e.t.Helper()
	errs := e.mutate(field, query, vars, nil)
	if len(errs) == 0 || errs[0].Code != code {
		e.t.Fatalf("%s(%+v) answered %+v; want a refusal %s", field, vars, errs, code)
	}
	return errs[0]
}

// badInput sends a query that must fail with a BAD_USER_INPUT error and
// returns its message; run it inside unchanged.
func (e *testEnv) badInput(query string, vars map[string]any) string {
	e.t.Helper()
	r := e.do(e.admin, query, vars)
	if r.code() != "BAD_USER_INPUT" {
		e.t.Fatalf("%s with %+v answered %d %s %+v; want BAD_USER_INPUT", query, vars, r.Status, r.Data, r.Errors)
	}
	return r.Errors[0].Message
}

// sameToAPerson are names, each with spellings a person reads as the same
// name: every spelling after the first must be refused as ALREADY_EXISTS.
var sameToAPerson = [][]string{
	{"Σ", "ς", "σ"},
	{"ΟΔΟΣ", "οδος", "Οδοσ"},
	{"Café", "Cafe\u0301", "CAFÉ", "cafe\u0301"},
	{"Sales", "sales", "SALES", " Sales ", "Sales\u00a0", "\u3000Sales", "Sales\u200b", "\ufeffSales",
		"Sa\u00adles", "S\u200dales\u200c", "Sales\u2060", "ＳＡＬＥＳ", "ｓａｌｅｓ", "Sales\r\n"},
	{"Outbound team", "Outbound  team", "Outbound\tteam", "Outbound\u2003team", "outbound \u200b team"},
	{"Straße", "STRASSE", "strasse"},
	{"ﬁle room", "FILE ROOM"},
	{"Ǆemal", "ǆemal", "DŽemal"},
}

// differentToAPerson are names that must stay distinct from the first
// spelling of each group above.
var differentToAPerson = []string{"Sales 2", "Salesteam", "Cafe", "Ο", "ı", "Straße 2"}

// nameCreator makes an object of one kind with a name and returns its
// payload field, mutation and variables.
type nameCreator struct {
	kind  string
	field string
	query string
	vars  func(name string) map[string]any
}

// nameCreators are every kind of object whose name is unique.
func (e *testEnv) nameCreators() []nameCreator {
	e.t.Helper()
	number := e.addNumberID("+14255550100", "RECEIVE_CALLS", "MAKE_CALLS")
	queue := e.queueID("Profile queue", "VOICE")
	capacity := e.capacityID("Profile capacity")
	return []nameCreator{
		{"queue", "createQueue", createQueue, func(n string) map[string]any { return map[string]any{"name": n, "channel": "VOICE"} }},
		{"capacity profile", "createCapacityProfile", createCapacity, func(n string) map[string]any { return map[string]any{"name": n} }},
		{"outbound profile", "createOutboundProfile", createProfile, func(n string) map[string]any {
			return map[string]any{"name": n, "q": queue, "cp": capacity, "nums": []string{number}}
		}},
		{"API token", "createApiToken", createTokenName, func(n string) map[string]any { return map[string]any{"name": n} }},
	}
}

// TestNamesSameToAPersonAreTheSame: for queues, capacity profiles,
// outbound profiles and API tokens, every spelling of a name that a person
// reads as the same is refused once one exists, distinct names are not, and
// the stored name is the normal form.
func TestNamesSameToAPersonAreTheSame(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, c := range e.nameCreators() {
		t.Run(c.kind, func(t *testing.T) {
			e := e.as(t)
			for _, group := range sameToAPerson {
				name := strings.Join([]string{group[0], c.kind}, " ") // unique across kinds and groups
				e.mustMutate(c.field, c.query, c.vars(name), nil)
				e.unchanged(func() {
					for _, other := range group[1:] {
						same := strings.Join([]string{other, c.kind}, " ")
						ue := e.refusedWith("ALREADY_EXISTS", c.field, c.query, c.vars(same))
						if !strings.Contains(ue.Message, name) {
							t.Errorf("%q refused with %q; want the message to name the existing %q", same, ue.Message, name)
						}
					}
				})
			}
			for _, name := range differentToAPerson {
				e.mustMutate(c.field, c.query, c.vars(name+" "+c.kind), nil)
			}
		})
	}
}

// TestNamesStoredInNormalForm: what is stored and shown is the normal form:
// trimmed, inner white space one space, invisible characters gone, NFC.
func TestNamesStoredInNormalForm(t *testing.T) {
	t.Parallel()
	e := setup(t)
	cases := []struct{ in, want string }{
		{"  Sales\u200b \t team\u00a0", "Sales team"},
		{"Cafe\u0301 crème", "Café crème"},
		{"\ufeffInbound\u3000desk\u2060", "Inbound desk"},
		{"Sup\u00adport\r\nline", "Support line"},
	}
	for _, c := range cases {
		var p struct{ Queue struct{ ID, Name string } }
		e.mustMutate("createQueue", createQueue, map[string]any{"name": c.in, "channel": "VOICE"}, &p)
		if p.Queue.Name != c.want {
			t.Errorf("createQueue(%+q) stored %+q; want %+q", c.in, p.Queue.Name, c.want)
		}
		var a struct{ Agent struct{ Name, Email string } }
		e.mustMutate("createAgent", createAgent, map[string]any{"name": c.in, "email": strings.ReplaceAll(c.want, " ", ".") + "@Example.COM\u200b "}, &a)
		if wantEmail := strings.ToLower(strings.ReplaceAll(c.want, " ", ".")) + "@example.com"; a.Agent.Name != c.want || a.Agent.Email != wantEmail {
			t.Errorf("createAgent stored name %+q, email %+q; want %+q, %+q", a.Agent.Name, a.Agent.Email, c.want, wantEmail)
		}
	}
	var desc struct{ Queue struct{ Description string } }
	e.mustMutate("createQueue", createQueueFull, map[string]any{"name": "Described", "channel": "VOICE",
		"desc": "\u200b First line \r\nSecond\tline\u2028third\n\n"}, &desc)
	if want := "First line \nSecond\tline\nthird"; desc.Queue.Description != want {
		t.Errorf("description stored as %+q; want %+q", desc.Queue.Description, want)
	}
	var num struct{ PhoneNumber struct{ ID, Label string } }
	e.mustMutate("addPhoneNumber", addNumberLabel, map[string]any{"n": "+14255550101", "label": " Re\u0301ception\u200b  desk "}, &num)
	if num.PhoneNumber.Label != "Réception desk" {
		t.Errorf("label stored as %+q; want %+q", num.PhoneNumber.Label, "Réception desk")
	}
	// A changed or cleared label is searched as it now is.
	search := func(s string) int {
		var data struct{ PhoneNumbers struct{ TotalCount int } }
		e.query(`query($s: String) { phoneNumbers(filter: {search: $s}) { totalCount } }`, map[string]any{"s": s}, &data)
		return data.PhoneNumbers.TotalCount
	}
	if n := search("RÉCEPTION"); n != 1 {
		t.Errorf("search RÉCEPTION found %d numbers; want 1", n)
	}
	e.mustMutate("updatePhoneNumber", updateLabel, map[string]any{"id": num.PhoneNumber.ID, "label": "ΓΡΑΦΕΙΟ"}, nil)
	if a, b := search("réception"), search("γραφειο"); a != 0 || b != 1 {
		t.Errorf("after relabelling, the old label finds %d numbers, the new one %d; want 0 and 1", a, b)
	}
	e.mustMutate("updatePhoneNumber", updateLabel, map[string]any{"id": num.PhoneNumber.ID, "label": nil}, nil)
	if n := search("γραφειο"); n != 0 {
		t.Errorf("after clearing the label, it still finds %d numbers", n)
	}
}

// TestRenameFollowsTheRule: a rename to another object's name, in another
// spelling, is refused; a rename of an object to another spelling of its
// own name is allowed.
func TestRenameFollowsTheRule(t *testing.T) {
	t.Parallel()
	e := setup(t)
	q := e.queueID("Σ sales", "VOICE")
	other := e.queueID("Other", "VOICE")
	e.refused("ALREADY_EXISTS", "updateQueue", updateQueueName, map[string]any{"id": other, "name": "ς SALES\u200b"})
	var p struct{ Queue struct{ Name string } }
	e.mustMutate("updateQueue", updateQueueName, map[string]any{"id": q, "name": "ς Sales"}, &p)
	if p.Queue.Name != "ς Sales" {
		t.Errorf("renamed to %q; want %q", p.Queue.Name, "ς Sales")
	}
	cp := e.capacityID("Straße")
	cp2 := e.capacityID("Road")
	e.refused("ALREADY_EXISTS", "updateCapacityProfile", updateCapacity, map[string]any{"id": cp2, "name": "STRASSE"})
	e.mustMutate("updateCapacityProfile", updateCapacity, map[string]any{"id": cp, "name": "STRASSE"}, nil)
}

// TestEmailsSameToAPersonAreTheSame: an agent's email is unique under the
// rule, found by agent(email:) in any spelling, and matched so by
// upsertAgents.
func TestEmailsSameToAPersonAreTheSame(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ann := e.createAgentID("Ann Lee", "Ann.Lee@Example.com", true)
	same := []string{"ann.lee@example.com", "ANN.LEE@EXAMPLE.COM", " ann.lee@example.com ", "ann.lee@example.com\u200b",
		"\ufeffann.lee@example.com", "ａｎｎ.lee@example.com", "ann.lee@ｅｘａｍｐｌｅ.com", "ann.lee@example.com\u00a0"}
	for _, email := range same {
		e.unchanged(func() {
			e.refusedWith("ALREADY_EXISTS", "createAgent", createAgent, map[string]any{"name": "Another Ann", "email": email})
		})
		var data struct{ Agent *idOnly }
		e.query(`query($e: String!) { agent(email: $e) { id } }`, map[string]any{"e": email}, &data)
		if data.Agent == nil || data.Agent.ID != ann {
			t.Errorf("agent(email: %+q) = %+v; want %s", email, data.Agent, ann)
		}
	}
	// upsertAgents matches by the key: it renames Ann, it does not add her twice.
	var up struct {
		Agents []struct{ ID, Name, Email string }
	}
	e.mustMutate("upsertAgents", upsertAgentsM, map[string]any{"agents": []map[string]any{
		{"name": "Ann  Lee-Smith", "email": "ANN.LEE@example.COM\u200b"}, {"name": "Bo", "email": "bo@example.com"}}}, &up)
	if len(up.Agents) != 2 || up.Agents[0].ID != ann || up.Agents[0].Name != "Ann Lee-Smith" || up.Agents[0].Email != "ann.lee@example.com" {
		t.Errorf("upsertAgents returned %+v; want Ann (%s) renamed, with her email as stored", up.Agents, ann)
	}
	ue := e.refused("INVALID_INPUT", "upsertAgents", upsertAgentsM, map[string]any{"agents": []map[string]any{
		{"name": "Cy", "email": "cy@example.com"}, {"name": "Cy again", "email": "CY@example.com\u200b"}}})
	if strings.Join(ue.Field, ".") != "input.agents.1.email" {
		t.Errorf("duplicate email refused on %v; want input.agents.1.email", ue.Field)
	}
	// Different addresses stay different.
	for _, email := range []string{"ann.lee@example.org", "ann.lee2@example.com", "annlee@example.com"} {
		e.createAgentID("Not Ann", email, true)
	}
}

// TestTokenNamesLookAlike (issue 13): API token names follow the name
// rule: "Bootstrap" beside "bootstrap" is refused, and so are names with a
// bidirectional override.
func TestTokenNamesLookAlike(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, name := range []string{"Bootstrap", "BOOTSTRAP", " bootstrap", "bootstrap\u200d", "ｂｏｏｔｓｔｒａｐ", "boot\u00adstrap"} {
		ue := e.refused("ALREADY_EXISTS", "createApiToken", createTokenName, map[string]any{"name": name})
		if !strings.Contains(ue.Message, `"bootstrap"`) {
			t.Errorf("token %+q refused with %q; want it to name \"bootstrap\"", name, ue.Message)
		}
	}
	for _, name := range []string{"ops\u202eadmin", "\u2066ops\u2069", "ops\u200fadmin", "ops\x00", "ops\x1b[1m"} {
		e.refused("INVALID_INPUT", "createApiToken", createTokenName, map[string]any{"name": name})
	}
	var p struct {
		APIToken struct{ Name string } `json:"apiToken"`
	}
	e.mustMutate("createApiToken", createTokenName, map[string]any{"name": "  Ops\u200b  dashboard "}, &p)
	if p.APIToken.Name != "Ops dashboard" {
		t.Errorf("token name stored as %+q; want %+q", p.APIToken.Name, "Ops dashboard")
	}
	e.refused("ALREADY_EXISTS", "createApiToken", createTokenName, map[string]any{"name": "ops DASHBOARD"})
}

// hidingChars are characters that make text display other than it is
// stored (bidirectional controls) or that are controls.
var hidingChars = []struct{ name, char, code string }{
	{"right-to-left override", "\u202e", "U+202E"},
	{"left-to-right override", "\u202d", "U+202D"},
	{"right-to-left isolate", "\u2067", "U+2067"},
	{"pop directional isolate", "\u2069", "U+2069"},
	{"right-to-left mark", "\u200f", "U+200F"},
	{"Arabic letter mark", "\u061c", "U+061C"},
	{"NUL", "\x00", "U+0000"},
	{"escape", "\x1b", "U+001B"},
	{"bell", "\a", "U+0007"},
	{"C1 control", "\u009b", "U+009B"},
}

// TestTextsThatHideAreRefused: every text input refuses bidirectional
// controls and control characters, naming the character, and changes
// nothing; text filters refuse them as BAD_USER_INPUT.
func TestTextsThatHideAreRefused(t *testing.T) {
	t.Parallel()
	e := setup(t, allowLoopback)
	number := e.addNumberID("+14255550100", "RECEIVE_CALLS", "MAKE_CALLS")
	queue := e.queueID("Queue", "VOICE")
	capacity := e.capacityID("Capacity")
	agent := e.createAgentID("Agent", "agent@example.com", true)
	inputs := []struct {
		name, field, query string
		vars               func(s string) map[string]any
	}{
		{"queue name", "createQueue", createQueue, func(s string) map[string]any { return map[string]any{"name": "Q" + s + "x", "channel": "VOICE"} }},
		{"queue description", "updateQueue", updateQueueDesc, func(s string) map[string]any { return map[string]any{"id": queue, "desc": "line" + s + "x"} }},
		{"capacity profile name", "createCapacityProfile", createCapacity, func(s string) map[string]any { return map[string]any{"name": "C" + s + "x"} }},
		{"outbound profile name", "createOutboundProfile", createProfile, func(s string) map[string]any {
			return map[string]any{"name": "P" + s + "x", "q": queue, "cp": capacity, "nums": []string{number}}
		}},
		{"caller ID name", "createOutboundProfile", createProfile, func(s string) map[string]any {
			return map[string]any{"name": "P", "q": queue, "cp": capacity, "nums": []string{number}, "cnam": "SALES" + s}
		}},
		{"agent name", "createAgent", createAgent, func(s string) map[string]any { return map[string]any{"name": "A" + s + "x", "email": "a@example.com"} }},
		{"agent rename", "updateAgent", updateAgentM, func(s string) map[string]any { return map[string]any{"id": agent, "name": "A" + s + "x"} }},
		{"agent email", "createAgent", createAgent, func(s string) map[string]any { return map[string]any{"name": "A", "email": "a" + s + "@example.com"} }},
		{"upserted agent name", "upsertAgents", upsertAgentsM, func(s string) map[string]any {
			return map[string]any{"agents": []map[string]any{{"name": "U" + s, "email": "u@example.com"}}}
		}},
		{"token name", "createApiToken", createTokenName, func(s string) map[string]any { return map[string]any{"name": "T" + s + "x"} }},
		{"phone number label", "updatePhoneNumber", updateLabel, func(s string) map[string]any { return map[string]any{"id": number, "label": "L" + s + "x"} }},
		{"webhook description", "createWebhookEndpoint", createEndpointFull, func(s string) map[string]any {
			return map[string]any{"url": "https://example.com/hook", "desc": "D" + s + "x"}
		}},
	}
	e.unchanged(func() {
		for _, in := range inputs {
			for _, h := range hidingChars {
				ue := e.refusedWith("INVALID_INPUT", in.field, in.query, in.vars(h.char))
				if !strings.Contains(ue.Message, h.code) {
					t.Errorf("%s with a %s: refused with %q; want the message to name %s", in.name, h.name, ue.Message, h.code)
				}
			}
		}
		for _, h := range append(hidingChars, struct{ name, char, code string }{"zero-width space", "\u200b", "U+200B"}) {
			ue := e.refusedWith("INVALID_URL", "createWebhookEndpoint", createEndpointFull, map[string]any{"url": "https://exa" + h.char + "mple.com/hook"})
			if !strings.Contains(ue.Message, h.code) {
				t.Errorf("webhook URL with a %s: refused with %q; want the message to name %s", h.name, ue.Message, h.code)
			}
		}
		for _, h := range hidingChars[:3] {
			for _, q := range []string{
				`query($s: String) { queues(filter: {search: $s}) { totalCount } }`,
				`query($s: String) { agents(filter: {search: $s}) { totalCount } }`,
				`query($s: String) { phoneNumbers(filter: {search: $s}) { totalCount } }`,
				`query($s: String) { auditLog(filter: {action: $s}) { totalCount } }`,
				`query($s: String) { agent(email: $s) { id } }`,
			} {
				if msg := e.badInput(q, map[string]any{"s": "x" + h.char}); !strings.Contains(msg, h.code) {
					t.Errorf("%s with a %s: %q; want the message to name %s", q, h.name, msg, h.code)
				}
			}
		}
	})
}

// TestLengthsCountCharacters (issue 7, class 5): every length limit on
// text counts characters of the normal form, not bytes, and its refusal
// says the limit and the length.
func TestLengthsCountCharacters(t *testing.T) {
	t.Parallel()
	e := setup(t)
	number := e.addNumberID("+14255550100", "RECEIVE_CALLS", "MAKE_CALLS")
	queue := e.queueID("Queue", "VOICE")
	capacity := e.capacityID("Capacity")
	rep := strings.Repeat
	// Each limit: max characters of filler (one character of several
	// bytes, or an NFD pair that is one character once composed) are
	// taken, one more is refused; the input has extra characters beside
	// the filler, which count too.
	type limit struct {
		name, field, query string
		vars               func(s string) map[string]any
		max, extra         int
		unit, code         string
	}
	limits := []limit{
		{"queue name", "createQueue", createQueue, func(s string) map[string]any { return map[string]any{"name": s, "channel": "VOICE"} }, 200, 0, "語", "INVALID_INPUT"},
		{"queue name in NFD", "createQueue", createQueue, func(s string) map[string]any { return map[string]any{"name": "x" + s, "channel": "VOICE"} }, 199, 1, "e\u0301", "INVALID_INPUT"},
		{"queue description", "updateQueue", updateQueueDesc, func(s string) map[string]any { return map[string]any{"id": queue, "desc": s} }, 1000, 0, "é", "INVALID_INPUT"},
		{"capacity profile name", "createCapacityProfile", createCapacity, func(s string) map[string]any { return map[string]any{"name": s} }, 200, 0, "😀", "INVALID_INPUT"},
		{"outbound profile name", "createOutboundProfile", createProfile, func(s string) map[string]any {
			return map[string]any{"name": s, "q": queue, "cp": capacity, "nums": []string{number}}
		}, 200, 0, "ü", "INVALID_INPUT"},
		{"agent name", "createAgent", createAgent, func(s string) map[string]any { return map[string]any{"name": s, "email": "long.name@example.com"} }, 200, 0, "Ω", "INVALID_INPUT"},
		{"agent email", "createAgent", createAgent, func(s string) map[string]any { return map[string]any{"name": "Ü", "email": s + "@example.com"} }, 242, 12, "ü", "INVALID_INPUT"},
		{"token name", "createApiToken", createTokenName, func(s string) map[string]any { return map[string]any{"name": s} }, 200, 0, "ß", "INVALID_INPUT"},
		{"phone number label", "updatePhoneNumber", updateLabel, func(s string) map[string]any { return map[string]any{"id": number, "label": s} }, 200, 0, "号", "INVALID_INPUT"},
		{"webhook description", "createWebhookEndpoint", createEndpointFull, func(s string) map[string]any {
			return map[string]any{"url": "https://example.com/hook", "desc": s}
		}, 1000, 0, "説", "INVALID_INPUT"},
		{"webhook URL", "createWebhookEndpoint", createEndpointFull, func(s string) map[string]any {
			return map[string]any{"url": "https://example.com/" + s}
		}, 2028, 20, "é", "INVALID_URL"},
		{"caller ID name", "createOutboundProfile", createProfile, func(s string) map[string]any {
			return map[string]any{"name": "CNAM", "q": queue, "cp": capacity, "nums": []string{number}, "cnam": s}
		}, 15, 0, "S", "INVALID_INPUT"},
	}
	for _, l := range limits {
		full := rep(l.unit, l.max)
		e.mustMutate(l.field, l.query, l.vars(full), nil)
		ue := e.refused(l.code, l.field, l.query, l.vars(full+l.unit))
		limit, length := strconv.Itoa(l.max+l.extra), strconv.Itoa(l.max+l.extra+1)
		if !strings.Contains(ue.Message, limit) || !strings.Contains(ue.Message, length) {
			t.Errorf("%s of %s characters refused with %q; want the message to say %s and %s", l.name, length, ue.Message, limit, length)
		}
	}
	// A caller ID name of 5 full-width letters is short enough but not
	// ASCII: the refusal says so, not that it is too long.
	ue := e.refused("INVALID_INPUT", "createOutboundProfile", createProfile,
		map[string]any{"name": "CNAM", "q": queue, "cp": capacity, "nums": []string{number}, "cnam": "ＳＡＬＥＳ"})
	if !strings.Contains(ue.Message, "ASCII") {
		t.Errorf("full-width caller ID name refused with %q; want it to say ASCII", ue.Message)
	}
	// A name whose comparison key outgrows what an index holds (each
	// U+FDFA is 18 characters once expanded) is refused, naming that limit.
	ue = e.refused("INVALID_INPUT", "createQueue", createQueue, map[string]any{"name": rep("\ufdfa", 43), "channel": "VOICE"})
	if !strings.Contains(ue.Message, "768") {
		t.Errorf("name with an over-long key refused with %q; want it to say 768", ue.Message)
	}
	// Filters: a search of 1000 characters is taken, 1001 is BAD_USER_INPUT.
	q := `query($s: String) { queues(filter: {search: $s}) { totalCount } }`
	e.query(q, map[string]any{"s": rep("語", 1000)}, nil)
	r := e.rejected(e.admin, "BAD_USER_INPUT", 0, q, map[string]any{"s": rep("語", 1001)})
	if msg := r.Errors[0].Message; !strings.Contains(msg, "1000") || !strings.Contains(msg, "1001") {
		t.Errorf("search of 1001 characters refused with %q; want it to say 1000 and 1001", msg)
	}
	r = e.rejected(e.admin, "BAD_USER_INPUT", 0, `query($s: String) { agent(email: $s) { id } }`, map[string]any{"s": rep("ü", 250) + "@example.com"})
	if msg := r.Errors[0].Message; !strings.Contains(msg, "254") {
		t.Errorf("agent(email:) of 262 characters refused with %q; want it to say 254", msg)
	}
}
