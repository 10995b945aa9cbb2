package resolvers_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"outdial/internal/server"
	"outdial/internal/testenv"
	"outdial/models/dbtest"
)

// Issue 7, class 7: every string filter and lookup gives the same answer
// on both databases. One table of lookups (white space at the ends, case,
// NFD, full width, LIKE's metacharacters, the empty string, too long) runs
// against a server on SQLite and, when TEST_MYSQL_URL is set, one on
// MySQL, holding the same data; each answer must be the expected one, so
// both databases answer alike.

// lookupCase is one lookup: its kind (the query it runs), the value given,
// and the answer: the sorted names or e164s found, a count, "null", or the
// code of a top-level error.
type lookupCase struct {
	name, kind, value, want string
}

func lookupCases(ids map[string]string) []lookupCase {
	long := strings.Repeat("x", 1001)
	allQueues := "Back\\office|Café|Sales 50%_off|Wow!|ΟΔΟΣ"
	return []lookupCase{
		{"Greek, other case and final sigma", "queues", "οδος", "ΟΔΟΣ"},
		{"trailing space", "queues", "ΟΔΟΣ ", "ΟΔΟΣ"},
		{"leading no-break and ideographic space", "queues", "\u00a0\u3000οδοσ", "ΟΔΟΣ"},
		{"full width", "queues", "ｓａｌｅｓ", "Sales 50%_off"},
		{"NFD", "queues", "cafe\u0301", "Café"},
		{"upper case beyond ASCII", "queues", "CAFÉ", "Café"},
		{"accent is not case", "queues", "cafe", ""},
		{"inner run of spaces", "queues", "sales  \t50", "Sales 50%_off"},
		{"zero-width space inside", "queues", "sa\u200bles", "Sales 50%_off"},
		{"percent is literal", "queues", "%", "Sales 50%_off"},
		{"underscore is literal", "queues", "_", "Sales 50%_off"},
		{"both", "queues", "50%_", "Sales 50%_off"},
		{"backslash is literal", "queues", "\\", "Back\\office"},
		{"the escape character is literal", "queues", "!", "Wow!"},
		{"escape then percent", "queues", "!%", ""},
		{"in the description", "queues", "ROAD", "ΟΔΟΣ"},
		{"across a line break of the description", "queues", "main road", "ΟΔΟΣ"},
		{"empty", "queues", "", allQueues},
		{"only white space", "queues", "  \t", allQueues},
		{"only invisible", "queues", "\u200b\ufeff", allQueues},
		{"too long", "queues", long, "BAD_USER_INPUT"},
		{"bidi control", "queues", "x\u202e", "BAD_USER_INPUT"},

		{"name, other case", "agents", "ÉMILE", "Émile Zola"},
		{"email, other case", "agents", "ANN@EXAMPLE", "Ann Lee"},
		{"percent in a name", "agents", "100%", "Bo 100%"},
		{"underscore in an email", "agents", "o_1@", "Bo 100%"},
		{"agents, empty", "agents", "", "Ann Lee|Bo 100%|Émile Zola"},
		// Searches of three characters or more go through the text index
		// (migration 00018): its answers are those of the LIKE alone.
		{"index: part of a name", "agents", "zol", "Émile Zola"},
		{"index: across a space", "agents", "ile z", "Émile Zola"},
		{"index: starts inside a two-byte letter", "agents", "ÉMI", "Émile Zola"},
		{"index: NFD, slices inside letters", "agents", "e\u0301mile@exa", "Émile Zola"},
		{"index: every email", "agents", "example", "Ann Lee|Bo 100%|Émile Zola"},
		{"index: a whole email", "agents", "bo_1@example.com", "Bo 100%"},
		{"index: percent and underscore", "agents", "0%", "Bo 100%"},
		{"index: trigrams all present, not in a row", "agents", "annlee", ""},
		{"index: a double quote", "agents", `ann"`, ""},
		{"index: FTS5 syntax is text", "agents", "ann OR zola", ""},
		{"index: a star", "agents", "ann*", ""},
		{"agents, too long", "agents", long, "BAD_USER_INPUT"},

		{"label, other case", "phoneNumbers", "RÉCEPTION", "+14255550100"},
		{"label, NFD", "phoneNumbers", "re\u0301ception", "+14255550100"},
		{"label, LIKE metacharacters", "phoneNumbers", "%_", "+14255550101"},
		{"e164", "phoneNumbers", "+1206", "+12065550100"},
		{"full-width digits", "phoneNumbers", "４２５", "+14255550100|+14255550101"},
		{"numbers, empty", "phoneNumbers", "", "+12065550100|+14255550100|+14255550101"},

		{"email as stored", "agent", "ann@example.com", "Ann Lee"},
		{"email, trailing spaces", "agent", "ann@example.com   ", "Ann Lee"},
		{"email, other case", "agent", "Ann@EXAMPLE.com", "Ann Lee"},
		{"email, zero-width space", "agent", "ann@example\u200b.com", "Ann Lee"},
		{"email, full width", "agent", "ａｎｎ@example.com", "Ann Lee"},
		{"email, NFD", "agent", "e\u0301mile@example.fr", "Émile Zola"},
		{"email, a prefix", "agent", "ann@example.co", "null"},
		{"email, percent", "agent", "%@example.com", "null"},
		{"email, underscore", "agent", "_nn@example.com", "null"},
		{"email, empty", "agent", "", "null"},
		{"email, too long", "agent", strings.Repeat("a", 250) + "@example.com", "BAD_USER_INPUT"},

		{"action as stored", "action", "createQueue", "5"},
		{"action, trailing space", "action", "createQueue ", "5"},
		{"action, no-break space and zero-width space", "action", "\u00a0createQueue\u200b", "5"},
		{"action, other case", "action", "createqueue", "0"},
		{"action, percent", "action", "createQueue%", "0"},
		{"action, underscore", "action", "create_ueue", "0"},
		{"action, backslash", "action", "createQueue\\", "0"},
		{"action, empty", "action", "", "0"},
		{"action, too long", "action", long, "BAD_USER_INPUT"},
		{"target, as given", "targetId", ids["ΟΔΟΣ"], "1"},
		{"target, trailing space", "targetId", ids["ΟΔΟΣ"] + " ", "1"},
		{"target, other case", "targetId", strings.ToLower(ids["ΟΔΟΣ"]), "0"},
		{"target, empty", "targetId", "", "0"},
	}
}

// lookupQueries are the queries of each kind of lookup, with $v the value.
var lookupQueries = map[string]string{
	"queues":       `query($v: String) { result: queues(first: 100, filter: {search: $v}) { nodes { name } } }`,
	"agents":       `query($v: String) { result: agents(first: 100, filter: {search: $v}) { nodes { name } } }`,
	"phoneNumbers": `query($v: String) { result: phoneNumbers(first: 100, filter: {search: $v}) { nodes { name: e164 } } }`,
	"agent":        `query($v: String) { result: agent(email: $v) { name } }`,
	"action":       `query($v: String) { result: auditLog(filter: {action: $v}) { totalCount } }`,
	"targetId":     `query($v: ID) { result: auditLog(filter: {targetId: $v}) { totalCount } }`,
}

// lookupData creates the data of the lookups through the API and returns
// the IDs of the queues by name.
func lookupData(e *testenv.Env) map[string]string {
	e.T.Helper()
	ids := map[string]string{}
	for _, q := range []struct{ name, desc string }{
		{"ΟΔΟΣ", "Main\nroad"}, {"Sales 50%_off", ""}, {"Café", ""}, {"Back\\office", ""}, {"Wow!", ""},
	} {
		vars := map[string]any{"name": q.name, "channel": "VOICE"}
		if q.desc != "" {
			vars["desc"] = q.desc
		}
		var p struct{ Queue testenv.IDOnly }
		e.MustMutate("createQueue", testenv.CreateQueueFull, vars, &p)
		ids[q.name] = p.Queue.ID
	}
	e.CreateAgentID("Ann Lee", "ann@example.com", true)
	e.CreateAgentID("Émile Zola", "Émile@example.fr", true)
	e.CreateAgentID("Bo 100%", "bo_1@example.com", true)
	e.MustMutate("addPhoneNumber", testenv.AddNumberLabel, map[string]any{"n": "+14255550100", "label": "Re\u0301ception"}, nil)
	e.MustMutate("addPhoneNumber", testenv.AddNumberLabel, map[string]any{"n": "+14255550101", "label": "50%_spare"}, nil)
	e.MustMutate("addPhoneNumber", testenv.AddNumberLabel, map[string]any{"n": "+12065550100"}, nil)
	return ids
}

// lookup runs one lookup and returns its answer in the form of lookupCase.want.
func lookup(e *testenv.Env, c lookupCase) string {
	e.T.Helper()
	r := e.Do(e.Admin, lookupQueries[c.kind], map[string]any{"v": c.value})
	if len(r.Errors) > 0 {
		return r.Code()
	}
	var data struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(r.Data, &data); err != nil {
		e.T.Fatalf("%s: decode %s: %v", c.name, r.Data, err)
	}
	if string(data.Result) == "null" {
		return "null"
	}
	var res struct {
		Name       string
		Nodes      []struct{ Name string }
		TotalCount *int
	}
	if err := json.Unmarshal(data.Result, &res); err != nil {
		e.T.Fatalf("%s: decode %s: %v", c.name, data.Result, err)
	}
	switch {
	case res.TotalCount != nil:
		return strconv.Itoa(*res.TotalCount)
	case res.Nodes != nil:
		var found []string
		for _, n := range res.Nodes {
			found = append(found, n.Name)
		}
		slices.Sort(found)
		return strings.Join(found, "|")
	default:
		return res.Name
	}
}

func TestLookupsSameOnBothDatabases(t *testing.T) {
	t.Parallel()
	databases := map[string]string{"SQLite": "sqlite:" + filepath.Join(t.TempDir(), "outdial.db")}
	if dbtest.MySQLURL() != "" {
		databases["MySQL"] = dbtest.URL(t)
	}
	answers := map[string]map[string]string{}
	for name, url := range databases {
		e := testenv.Setup(t, func(c *server.Config) { c.DatabaseURL = url })
		ids := lookupData(e)
		answers[name] = map[string]string{}
		for _, c := range lookupCases(ids) {
			got := lookup(e, c)
			answers[name][c.name] = got
			if got != c.want {
				t.Errorf("%s: %s %s(%+q) = %q; want %q", name, c.name, c.kind, c.value, got, c.want)
			}
		}
	}
	if len(answers) == 2 {
		for k, v := range answers["SQLite"] {
			if answers["MySQL"][k] != v {
				t.Errorf("%s: SQLite answers %q, MySQL %q", k, v, answers["MySQL"][k])
			}
		}
	}
	t.Logf("%d lookups compared on %d databases", len(lookupCases(map[string]string{})), len(answers))
}

// TestAgentSearchFollowsChanges: the text index of the agent search
// follows renames, a changed email (by upsert) and new agents, on the
// database of the run.
func TestAgentSearchFollowsChanges(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	id := e.CreateAgentID("Margaret Hamilton", "margaret@example.com", true)
	search := func(v string) string {
		return lookup(e, lookupCase{name: v, kind: "agents", value: v})
	}
	if got := search("hamil"); got != "Margaret Hamilton" {
		t.Fatalf("before the rename: %q", got)
	}
	e.MustMutate("updateAgent", testenv.UpdateAgent, map[string]any{"id": id, "name": "Margaret Heafield"}, nil)
	if got := search("hamil"); got != "" {
		t.Errorf("the old name is still found: %q", got)
	}
	if got := search("heafi"); got != "Margaret Heafield" {
		t.Errorf("the new name is not found: %q", got)
	}
	// A key longer than 1,000 bytes (each ㍻ is 平成 in the key, six
	// bytes): its slices are all indexed.
	e.CreateAgentID(strings.Repeat("㍻", 200), "era@example.com", true)
	if got := search("成平成平"); got != strings.Repeat("㍻", 200) {
		t.Errorf("a long name is not found: %q", got)
	}
	e.MustMutate("upsertAgents", testenv.UpsertAgents, map[string]any{"agents": []map[string]any{
		{"name": "Grace Hopper", "email": "MARGARET@example.com", "unifiedRoutingEnabled": true},
		{"name": "Ada Lovelace", "email": "ada@example.com", "unifiedRoutingEnabled": true},
	}}, nil)
	for v, want := range map[string]string{"heafi": "", "hopper": "Grace Hopper", "lovel": "Ada Lovelace", "ada@ex": "Ada Lovelace",
		"margaret@": "Grace Hopper"} {
		if got := search(v); got != want {
			t.Errorf("after the upsert, %q finds %q; want %q", v, got, want)
		}
	}
}
