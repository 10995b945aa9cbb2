package calling_test

import (
	"strconv"
	"strings"
	"testing"

	"outdial/calling"
)

// Tests of the name rule (package names) through the service, on the
// database of the run (SQLite, or MySQL with TEST_MYSQL_URL): names that
// are the same to a person are the same (issue 7, class 6; issue 13, names
// that look alike), texts that could hide what they say are refused, and
// every length limit on text counts characters (class 5).

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

// createQueue creates a voice queue named name.
func (w *world) createQueue(name string) error {
	return ignore(w.svc.CreateQueue(w.ctx, admin, calling.CreateQueueInput{Name: name, Channel: calling.ChannelVoice}))
}

// createCapacity creates a capacity profile named name.
func (w *world) createCapacity(name string) error {
	return ignore(w.svc.CreateCapacityProfile(w.ctx, admin, calling.CreateCapacityProfileInput{Name: name, WorkItemLimit: 1,
		ResetFrequency: calling.ResetImmediate}))
}

// createToken creates a VIEWER token named name.
func (w *world) createToken(name string) error {
	_, _, err := w.svc.CreateAPIToken(w.ctx, admin, calling.CreateAPITokenInput{Name: name, Role: calling.RoleViewer})
	return err
}

// createAgent creates an agent.
func (w *world) createAgent(name, email string) error {
	return ignore(w.svc.CreateAgent(w.ctx, admin, calling.CreateAgentInput{Name: name, Email: email, UnifiedRoutingEnabled: true}))
}

// createEndpoint creates a webhook endpoint for every event and agent.
func (w *world) createEndpoint(url string, description *string) error {
	_, _, err := w.svc.CreateWebhookEndpoint(w.ctx, admin, calling.CreateWebhookEndpointInput{URL: url, Description: description})
	return err
}

// nameCreator makes an object of one kind with a name.
type nameCreator struct {
	kind   string
	create func(name string) error
}

// nameCreators are every kind of object whose name is unique.
func (w *world) nameCreators() []nameCreator {
	w.t.Helper()
	number := w.number("+14255550100", calling.ReceiveCalls, calling.MakeCalls)
	queue := w.queue("Profile queue")
	capacity := w.capacity("Profile capacity")
	return []nameCreator{
		{"queue", w.createQueue},
		{"capacity profile", w.createCapacity},
		{"outbound profile", func(n string) error {
			return ignore(w.svc.CreateOutboundProfile(w.ctx, admin, calling.CreateOutboundProfileInput{Name: n, QueueID: queue,
				CapacityProfileID: capacity, PhoneNumberIDs: []int64{number}}))
		}},
		{"API token", w.createToken},
	}
}

// TestNamesSameToAPersonAreTheSame: for queues, capacity profiles,
// outbound profiles and API tokens, every spelling of a name that a person
// reads as the same is refused once one exists, distinct names are not, and
// the stored name is the normal form.
func TestNamesSameToAPersonAreTheSame(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, c := range w.nameCreators() {
		t.Run(c.kind, func(t *testing.T) {
			w := w.as(t)
			for _, group := range sameToAPerson {
				name := strings.Join([]string{group[0], c.kind}, " ") // unique across kinds and groups
				w.must(c.create(name))
				w.unchanged(func() {
					for _, other := range group[1:] {
						same := strings.Join([]string{other, c.kind}, " ")
						ue := w.refusedWith(calling.CodeAlreadyExists, "create "+same, func() error { return c.create(same) })
						if !strings.Contains(ue.Message, name) {
							t.Errorf("%q refused with %q; want the message to name the existing %q", same, ue.Message, name)
						}
					}
				})
			}
			for _, name := range differentToAPerson {
				w.must(c.create(name + " " + c.kind))
			}
		})
	}
}

// TestNamesStoredInNormalForm: what is stored and shown is the normal form:
// trimmed, inner white space one space, invisible characters gone, NFC.
func TestNamesStoredInNormalForm(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cases := []struct{ in, want string }{
		{"  Sales\u200b \t team\u00a0", "Sales team"},
		{"Cafe\u0301 crème", "Café crème"},
		{"\ufeffInbound\u3000desk\u2060", "Inbound desk"},
		{"Sup\u00adport\r\nline", "Support line"},
	}
	for _, c := range cases {
		q := res(w.svc.CreateQueue(w.ctx, admin, calling.CreateQueueInput{Name: c.in, Channel: calling.ChannelVoice})).must(w)
		if q.Name != c.want {
			t.Errorf("CreateQueue(%+q) stored %+q; want %+q", c.in, q.Name, c.want)
		}
		a := res(w.svc.CreateAgent(w.ctx, admin, calling.CreateAgentInput{Name: c.in,
			Email: strings.ReplaceAll(c.want, " ", ".") + "@Example.COM\u200b ", UnifiedRoutingEnabled: true})).must(w)
		if wantEmail := strings.ToLower(strings.ReplaceAll(c.want, " ", ".")) + "@example.com"; a.Name != c.want || a.Email != wantEmail {
			t.Errorf("CreateAgent stored name %+q, email %+q; want %+q, %+q", a.Name, a.Email, c.want, wantEmail)
		}
	}
	q := res(w.svc.CreateQueue(w.ctx, admin, calling.CreateQueueInput{Name: "Described", Channel: calling.ChannelVoice,
		Description: ptr("\u200b First line \r\nSecond\tline\u2028third\n\n")})).must(w)
	if want := "First line \nSecond\tline\nthird"; q.Description == nil || *q.Description != want {
		t.Errorf("description stored as %+v; want %+q", q.Description, want)
	}
	num := res(w.svc.AddPhoneNumber(w.ctx, admin, calling.AddPhoneNumberInput{Number: "+14255550101", Label: ptr(" Re\u0301ception\u200b  desk ")})).must(w)
	if num.Label == nil || *num.Label != "Réception desk" {
		t.Errorf("label stored as %+v; want %+q", num.Label, "Réception desk")
	}
	// A changed or cleared label is searched as it now is.
	search := func(s string) int {
		return res(w.svc.PhoneNumbers(w.ctx, calling.PhoneNumberFilter{Search: &s}).Count()).must(w)
	}
	relabel := func(label *string) {
		res(w.svc.UpdatePhoneNumber(w.ctx, admin, calling.UpdatePhoneNumberInput{ID: num.ID, Label: calling.Some(label)})).must(w)
	}
	if n := search("RÉCEPTION"); n != 1 {
		t.Errorf("search RÉCEPTION found %d numbers; want 1", n)
	}
	relabel(ptr("ΓΡΑΦΕΙΟ"))
	if a, b := search("réception"), search("γραφειο"); a != 0 || b != 1 {
		t.Errorf("after relabelling, the old label finds %d numbers, the new one %d; want 0 and 1", a, b)
	}
	relabel(nil)
	if n := search("γραφειο"); n != 0 {
		t.Errorf("after clearing the label, it still finds %d numbers", n)
	}
}

// TestRenameFollowsTheRule: a rename to another object's name, in another
// spelling, is refused; a rename of an object to another spelling of its
// own name is allowed.
func TestRenameFollowsTheRule(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	q := w.queue("Σ sales")
	other := w.queue("Other")
	renameQueue := func(id int64, name string) func() error {
		return func() error {
			return ignore(w.svc.UpdateQueue(w.ctx, admin, calling.UpdateQueueInput{ID: id, Name: calling.Some(&name)}))
		}
	}
	w.refused(calling.CodeAlreadyExists, "rename the other queue", renameQueue(other, "ς SALES\u200b"))
	w.must(renameQueue(q, "ς Sales")())
	if got := res(w.svc.QueuesByID(w.ctx, []int64{q})).must(w)[0].Name; got != "ς Sales" {
		t.Errorf("renamed to %q; want %q", got, "ς Sales")
	}
	cp := w.capacity("Straße")
	cp2 := w.capacity("Road")
	renameCapacity := func(id int64, name string) func() error {
		return func() error {
			return ignore(w.svc.UpdateCapacityProfile(w.ctx, admin, calling.UpdateCapacityProfileInput{ID: id, Name: &name}))
		}
	}
	w.refused(calling.CodeAlreadyExists, "rename the other capacity profile", renameCapacity(cp2, "STRASSE"))
	w.must(renameCapacity(cp, "STRASSE")())
}

// TestEmailsSameToAPersonAreTheSame: an agent's email is unique under the
// rule, found by AgentByEmail in any spelling, and matched so by
// UpsertAgents.
func TestEmailsSameToAPersonAreTheSame(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ann := w.agent("Ann Lee", "Ann.Lee@Example.com", true)
	same := []string{"ann.lee@example.com", "ANN.LEE@EXAMPLE.COM", " ann.lee@example.com ", "ann.lee@example.com\u200b",
		"\ufeffann.lee@example.com", "ａｎｎ.lee@example.com", "ann.lee@ｅｘａｍｐｌｅ.com", "ann.lee@example.com\u00a0"}
	for _, email := range same {
		w.refused(calling.CodeAlreadyExists, "createAgent "+email, func() error { return w.createAgent("Another Ann", email) })
		if found := res(w.svc.AgentByEmail(w.ctx, email)).must(w); found == nil || found.ID != ann {
			t.Errorf("AgentByEmail(%+q) = %+v; want %d", email, found, ann)
		}
	}
	// UpsertAgents matches by the key: it renames Ann, it does not add her twice.
	up := res(w.svc.UpsertAgents(w.ctx, admin, []calling.CreateAgentInput{
		{Name: "Ann  Lee-Smith", Email: "ANN.LEE@example.COM\u200b", UnifiedRoutingEnabled: true}, {Name: "Bo", Email: "bo@example.com", UnifiedRoutingEnabled: true}})).must(w)
	if len(up) != 2 || up[0].ID != ann || up[0].Name != "Ann Lee-Smith" || up[0].Email != "ann.lee@example.com" {
		t.Errorf("UpsertAgents returned %+v; want Ann (%d) renamed, with her email as stored", up, ann)
	}
	ue := w.refused(calling.CodeInvalidInput, "upsertAgents with a duplicate", func() error {
		return ignore(w.svc.UpsertAgents(w.ctx, admin, []calling.CreateAgentInput{
			{Name: "Cy", Email: "cy@example.com", UnifiedRoutingEnabled: true}, {Name: "Cy again", Email: "CY@example.com\u200b", UnifiedRoutingEnabled: true}}))
	})
	if strings.Join(ue.Field, ".") != "input.agents.1.email" {
		t.Errorf("duplicate email refused on %v; want input.agents.1.email", ue.Field)
	}
	// Different addresses stay different.
	for _, email := range []string{"ann.lee@example.org", "ann.lee2@example.com", "annlee@example.com"} {
		w.agent("Not Ann", email, true)
	}
}

// TestTokenNamesLookAlike (issue 13): API token names follow the name
// rule: "Bootstrap" beside "bootstrap" is refused, and so are names with a
// bidirectional override.
func TestTokenNamesLookAlike(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	res(w.svc.EnsureBootstrapToken(w.ctx, "odt_test-admin-token")).must(w)
	for _, name := range []string{"Bootstrap", "BOOTSTRAP", " bootstrap", "bootstrap\u200d", "ｂｏｏｔｓｔｒａｐ", "boot\u00adstrap"} {
		ue := w.refused(calling.CodeAlreadyExists, "createApiToken "+name, func() error { return w.createToken(name) })
		if !strings.Contains(ue.Message, `"bootstrap"`) {
			t.Errorf("token %+q refused with %q; want it to name \"bootstrap\"", name, ue.Message)
		}
	}
	for _, name := range []string{"ops\u202eadmin", "\u2066ops\u2069", "ops\u200fadmin", "ops\x00", "ops\x1b[1m"} {
		w.refused(calling.CodeInvalidInput, "createApiToken "+name, func() error { return w.createToken(name) })
	}
	tok, _, err := w.svc.CreateAPIToken(w.ctx, admin, calling.CreateAPITokenInput{Name: "  Ops\u200b  dashboard ", Role: calling.RoleViewer})
	w.must(err)
	if tok.Name != "Ops dashboard" {
		t.Errorf("token name stored as %+q; want %+q", tok.Name, "Ops dashboard")
	}
	w.refused(calling.CodeAlreadyExists, "createApiToken ops DASHBOARD", func() error { return w.createToken("ops DASHBOARD") })
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
// nothing. (The filters' refusals, BAD_USER_INPUT, are tested through the
// API in package main.)
func TestTextsThatHideAreRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	number := w.number("+14255550100", calling.ReceiveCalls, calling.MakeCalls)
	queue := w.queue("Queue")
	capacity := w.capacity("Capacity")
	agent := w.agent("Agent", "agent@example.com", true)
	profile := func(name string, cnam *string) error {
		return ignore(w.svc.CreateOutboundProfile(w.ctx, admin, calling.CreateOutboundProfileInput{Name: name, QueueID: queue,
			CapacityProfileID: capacity, PhoneNumberIDs: []int64{number}, CallerIDName: cnam}))
	}
	inputs := []struct {
		name   string
		create func(s string) error
	}{
		{"queue name", func(s string) error { return w.createQueue("Q" + s + "x") }},
		{"queue description", func(s string) error {
			return ignore(w.svc.UpdateQueue(w.ctx, admin, calling.UpdateQueueInput{ID: queue, Description: calling.Some(ptr("line" + s + "x"))}))
		}},
		{"capacity profile name", func(s string) error { return w.createCapacity("C" + s + "x") }},
		{"outbound profile name", func(s string) error { return profile("P"+s+"x", nil) }},
		{"caller ID name", func(s string) error { return profile("P", ptr("SALES"+s)) }},
		{"agent name", func(s string) error { return w.createAgent("A"+s+"x", "a@example.com") }},
		{"agent rename", func(s string) error {
			return ignore(w.svc.UpdateAgent(w.ctx, admin, calling.UpdateAgentInput{ID: agent, Name: ptr("A" + s + "x")}))
		}},
		{"agent email", func(s string) error { return w.createAgent("A", "a"+s+"@example.com") }},
		{"upserted agent name", func(s string) error {
			return ignore(w.svc.UpsertAgents(w.ctx, admin, []calling.CreateAgentInput{{Name: "U" + s, Email: "u@example.com", UnifiedRoutingEnabled: true}}))
		}},
		{"token name", func(s string) error { return w.createToken("T" + s + "x") }},
		{"phone number label", func(s string) error {
			return ignore(w.svc.UpdatePhoneNumber(w.ctx, admin, calling.UpdatePhoneNumberInput{ID: number, Label: calling.Some(ptr("L" + s + "x"))}))
		}},
		{"webhook description", func(s string) error { return w.createEndpoint("https://example.com/hook", ptr("D"+s+"x")) }},
	}
	w.unchanged(func() {
		for _, in := range inputs {
			for _, h := range hidingChars {
				ue := w.refusedWith(calling.CodeInvalidInput, in.name+" with a "+h.name, func() error { return in.create(h.char) })
				if !strings.Contains(ue.Message, h.code) {
					t.Errorf("%s with a %s: refused with %q; want the message to name %s", in.name, h.name, ue.Message, h.code)
				}
			}
		}
		for _, h := range append(hidingChars, struct{ name, char, code string }{"zero-width space", "\u200b", "U+200B"}) {
			ue := w.refusedWith(calling.CodeInvalidURL, "webhook URL with a "+h.name, func() error {
				return w.createEndpoint("https://exa"+h.char+"mple.com/hook", nil)
			})
			if !strings.Contains(ue.Message, h.code) {
				t.Errorf("webhook URL with a %s: refused with %q; want the message to name %s", h.name, ue.Message, h.code)
			}
		}
	})
}

// TestLengthsCountCharacters (issue 7, class 5): every length limit on
// text counts characters of the normal form, not bytes, and its refusal
// says the limit and the length. (The filters' limits are tested through
// the API in package main.)
func TestLengthsCountCharacters(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	number := w.number("+14255550100", calling.ReceiveCalls, calling.MakeCalls)
	queue := w.queue("Queue")
	capacity := w.capacity("Capacity")
	rep := strings.Repeat
	profile := func(name string, cnam *string) error {
		return ignore(w.svc.CreateOutboundProfile(w.ctx, admin, calling.CreateOutboundProfileInput{Name: name, QueueID: queue,
			CapacityProfileID: capacity, PhoneNumberIDs: []int64{number}, CallerIDName: cnam}))
	}
	// Each limit: max characters of filler (one character of several
	// bytes, or an NFD pair that is one character once composed) are
	// taken, one more is refused; the input has extra characters beside
	// the filler, which count too.
	limits := []struct {
		name       string
		create     func(s string) error
		max, extra int
		unit       string
		code       calling.Code
	}{
		{"queue name", w.createQueue, 200, 0, "語", calling.CodeInvalidInput},
		{"queue name in NFD", func(s string) error { return w.createQueue("x" + s) }, 199, 1, "e\u0301", calling.CodeInvalidInput},
		{"queue description", func(s string) error {
			return ignore(w.svc.UpdateQueue(w.ctx, admin, calling.UpdateQueueInput{ID: queue, Description: calling.Some(&s)}))
		}, 1000, 0, "é", calling.CodeInvalidInput},
		{"capacity profile name", w.createCapacity, 200, 0, "😀", calling.CodeInvalidInput},
		{"outbound profile name", func(s string) error { return profile(s, nil) }, 200, 0, "ü", calling.CodeInvalidInput},
		{"agent name", func(s string) error { return w.createAgent(s, "long.name@example.com") }, 200, 0, "Ω", calling.CodeInvalidInput},
		{"agent email", func(s string) error { return w.createAgent("Ü", s+"@example.com") }, 242, 12, "ü", calling.CodeInvalidInput},
		{"token name", w.createToken, 200, 0, "ß", calling.CodeInvalidInput},
		{"phone number label", func(s string) error {
			return ignore(w.svc.UpdatePhoneNumber(w.ctx, admin, calling.UpdatePhoneNumberInput{ID: number, Label: calling.Some(&s)}))
		}, 200, 0, "号", calling.CodeInvalidInput},
		{"webhook description", func(s string) error { return w.createEndpoint("https://example.com/hook", &s) }, 1000, 0, "説", calling.CodeInvalidInput},
		{"webhook URL", func(s string) error { return w.createEndpoint("https://example.com/"+s, nil) }, 2028, 20, "é", calling.CodeInvalidURL},
		{"caller ID name", func(s string) error { return profile("CNAM", &s) }, 15, 0, "S", calling.CodeInvalidInput},
	}
	for _, l := range limits {
		full := rep(l.unit, l.max)
		w.must(l.create(full))
		ue := w.refused(l.code, l.name, func() error { return l.create(full + l.unit) })
		limit, length := strconv.Itoa(l.max+l.extra), strconv.Itoa(l.max+l.extra+1)
		if !strings.Contains(ue.Message, limit) || !strings.Contains(ue.Message, length) {
			t.Errorf("%s of %s characters refused with %q; want the message to say %s and %s", l.name, length, ue.Message, limit, length)
		}
	}
	// A caller ID name of 5 full-width letters is short enough but not
	// ASCII: the refusal says so, not that it is too long.
	ue := w.refused(calling.CodeInvalidInput, "full-width caller ID name", func() error { return profile("CNAM", ptr("ＳＡＬＥＳ")) })
	if !strings.Contains(ue.Message, "ASCII") {
		t.Errorf("full-width caller ID name refused with %q; want it to say ASCII", ue.Message)
	}
	// A name whose comparison key outgrows what an index holds (each
	// U+FDFA is 18 characters once expanded) is refused, naming that limit.
	ue = w.refused(calling.CodeInvalidInput, "over-long key", func() error { return w.createQueue(rep("\ufdfa", 43)) })
	if !strings.Contains(ue.Message, "768") {
		t.Errorf("name with an over-long key refused with %q; want it to say 768", ue.Message)
	}
}
