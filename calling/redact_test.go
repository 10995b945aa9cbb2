package calling_test

import (
	"slices"
	"strings"
	"testing"

	"outdial/calling"
)

func TestMaskURL(t *testing.T) {
	for i, c := range []struct{ in, want string }{
		{"https://hooks.example.com/in", "https://hooks.example.com/in"},
		{"https://hooks.example.com/in?password=s3cret", "https://hooks.example.com/in?password=REDACTED"},
		{"https://h.example/in?token=abc&team=7&flag", "https://h.example/in?token=REDACTED&team=REDACTED&REDACTED"},
		{"https://h.example/in?a=1&&b=", "https://h.example/in?a=REDACTED&&b=REDACTED"},
		{"https://user:pass@h.example:8443/p%20q?k=v#frag", "https://REDACTED@h.example:8443/p%20q?k=REDACTED#REDACTED"},
		{"https://token@h.example/", "https://REDACTED@h.example/"},
		{"http://127.0.0.1:9090/webhook?", "http://127.0.0.1:9090/webhook?"},
		{"https://h.example/in?sig=a%2Bb%3D%3D", "https://h.example/in?sig=REDACTED"},
		{"https://h.example/in#only-fragment", "https://h.example/in#REDACTED"},
		{"https://[::1]:80/x?y=z", "https://[::1]:80/x?y=REDACTED"},
		// Path parameters (RFC 3986 section 3.3) are masked like a query.
		{"https://h.example/in;jsessionid=SECRET", "https://h.example/in;jsessionid=REDACTED"},
		{"https://h.example/a;token=t1/b;v=2;flag?k=v", "https://h.example/a;token=REDACTED/b;v=REDACTED;REDACTED?k=REDACTED"},
		{"https://h.example/in;;key=s3cret;", "https://h.example/in;;key=REDACTED;"},
		{"https://h.example/in%3Bkey=kept-escaped", "https://h.example/in%3Bkey=kept-escaped"},
		{"https://h.example/;sid=x", "https://h.example/;sid=REDACTED"},
		// Not a URL that parses: everything after ?, # or the userinfo goes.
		{"https://u:p@h.example/%zz?password=s", "https://REDACTED@h.example/%zz?REDACTED"},
		{"not a url?password=s", "not a url?REDACTED"},
	} {
		if got := calling.MaskURL(c.in); got != c.want {
			t.Errorf("#%d: MaskURL(%q) = %q, want %q", i, c.in, got, c.want)
		}
	}
}

func TestMaskText(t *testing.T) {
	const about = "https://h.example/in?password=hunter22&team=sales%20east"
	for i, c := range []struct{ text, about, want string }{
		{`Post "https://h.example/in?password=hunter22": dial tcp: connection refused`, "",
			`Post "https://h.example/in?password=REDACTED": dial tcp: connection refused`},
		{"no route for POST /in?password=hunter22&team=sales+east", about,
			"no route for POST /in?password=REDACTED&team=REDACTED"},
		{"team sales east, password hunter22, pw hunter2", about, "team REDACTED, password REDACTED, pw hunter2"},
		{"see http://a.example/x?k=v and https://b.example/?q=1.", "",
			"see http://a.example/x?k=REDACTED and https://b.example/?q=REDACTED"},
		{"status 500 on", "https://h.example/in?on=1", "status 500 on"}, // short values are no secret
		{"", about, ""},
	} {
		if got := calling.MaskText(c.text, c.about); got != c.want {
			t.Errorf("#%d: MaskText(%q) = %q, want %q", i, c.text, got, c.want)
		}
	}
}

func TestURLSecrets(t *testing.T) {
	got := calling.URLSecrets("https://u:p4ss@h.example/in?password=hunter22&x=1&team=sales%20east#fragment")
	want := []string{"sales%20east", "sales east", "sales+east", "hunter22", "fragment", "u:p4ss"}
	if !slices.Equal(got, want) {
		t.Fatalf("URLSecrets = %q, want %q", got, want)
	}
	got = calling.URLSecrets("https://h.example/a;jsessionid=SESSION1/b;tok=to%2Bken;v=2?k=querysecret")
	want = []string{"querysecret", "SESSION1", "to%2Bken", "to+ken"}
	if !slices.Equal(got, want) {
		t.Fatalf("URLSecrets of path parameters = %q, want %q", got, want)
	}
}

func TestMaskAuditDetails(t *testing.T) {
	for i, c := range []struct{ in, want string }{
		{`{"agents":[],"enabled":true,"eventTypes":[],"url":"https://h.example/in?password=s3cret\u0026team=7"}`,
			`{"agents":[],"enabled":true,"eventTypes":[],"url":"https://h.example/in?password=REDACTED\u0026team=REDACTED"}`},
		{`{"url":"https://h.example/in"}`, `{"url":"https://h.example/in"}`},
		{`{"name":"reporting","role":"VIEWER"}`, `{"name":"reporting","role":"VIEWER"}`},
		{`{"n":12345678901234567890,"nested":{"list":["x","see https://h.example/?k=v"]}}`,
			`{"n":12345678901234567890,"nested":{"list":["x","see https://h.example/?k=REDACTED"]}}`},
	} {
		got := calling.MaskAuditDetails(c.in)
		if got != c.want {
			t.Errorf("#%d: MaskAuditDetails(%s) = %s, want %s", i, c.in, got, c.want)
		}
		if strings.Contains(got, "s3cret") {
			t.Errorf("#%d: secret left in %s", i, got)
		}
	}
}

func TestSeesLastUsed(t *testing.T) {
	admin := calling.Actor{TokenID: 1, Role: calling.RoleAdmin}
	viewer := calling.Actor{TokenID: 2, Role: calling.RoleViewer}
	for i, c := range []struct {
		actor calling.Actor
		token int64
		want  bool
	}{
		{admin, 1, true}, {admin, 2, true}, {admin, 3, true},
		{viewer, 2, true}, {viewer, 1, false}, {viewer, 3, false},
		{calling.Actor{Role: calling.RoleViewer}, 0, false},
	} {
		if got := calling.SeesLastUsed(c.actor, c.token); got != c.want {
			t.Errorf("#%d: SeesLastUsed(%+v, %d) = %v, want %v", i, c.actor, c.token, got, c.want)
		}
	}
}

// TestAuditDetailsFor: who reads what of an audit entry's details.
func TestAuditDetailsFor(t *testing.T) {
	const details = `{"agents":["QWdlbnQ6MQ","QWdlbnQ6Mg"],"url":"https://h.example/in?password=s3cret"}`
	agent := int64(1)
	for _, c := range []struct {
		actor calling.Actor
		want  string
	}{
		{calling.Actor{Role: calling.RoleAdmin}, details},
		{calling.Actor{Role: calling.RoleViewer}, `{"agents":["QWdlbnQ6MQ","QWdlbnQ6Mg"],"url":"https://h.example/in?password=REDACTED"}`},
		{calling.Actor{Role: calling.RoleAgent, AgentID: &agent}, `{}`},
		{calling.Actor{}, `{}`}, // no role: nothing
	} {
		if got := calling.AuditDetailsFor(c.actor, details); got != c.want {
			t.Errorf("AuditDetailsFor(%s) = %s, want %s", c.actor.Role, got, c.want)
		}
	}
}
