package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEConfigurationTable keeps the README's "Configuration" table
// true: one row per flag of the server, naming the flag, its environment
// variable and its default exactly as `go run . -h` prints them ("none"
// or "off" where it prints no default), and no row for a flag that does
// not exist.
func TestREADMEConfigurationTable(t *testing.T) {
	var usage bytes.Buffer
	if _, err := parseConfig([]string{"-h"}, func(string) string { return "" }, &usage); err == nil {
		t.Fatal("parseConfig(-h) did not stop at the help")
	}
	type setting struct{ env, def string }
	flags := map[string]setting{}
	envOf := regexp.MustCompile(`\(([A-Z][A-Z0-9_]+)\)`)
	defOf := regexp.MustCompile(`\(default "?(.*?)"?\)$`)
	name := ""
	for _, line := range strings.Split(usage.String(), "\n") {
		if f, ok := strings.CutPrefix(line, "  -"); ok {
			name = strings.Fields(f)[0]
			flags[name] = setting{}
			continue
		}
		if name == "" || strings.TrimSpace(line) == "" {
			continue
		}
		s := flags[name]
		if m := envOf.FindAllStringSubmatch(line, -1); m != nil {
			s.env = m[len(m)-1][1]
		}
		if m := defOf.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			s.def = m[1]
		}
		flags[name] = s
	}
	if len(flags) < 5 {
		t.Fatalf("read %d flags from the usage text:\n%s", len(flags), usage.String())
	}

	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Configuration\n")
	if !ok {
		t.Fatal(`README.md has no "## Configuration" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	flagCell := regexp.MustCompile(`^-[a-z]`)
	code := func(s string) string { return strings.Trim(strings.TrimSpace(s), "`") }
	rows := map[string]setting{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !flagCell.MatchString(code(cells[2])) {
			continue
		}
		rows[strings.TrimPrefix(code(cells[2]), "-")] = setting{env: code(cells[1]), def: code(cells[3])}
	}
	for f, want := range flags {
		got, ok := rows[f]
		if !ok {
			t.Errorf("README's Configuration table has no row for -%s (%s, default %q)", f, want.env, want.def)
			continue
		}
		if got.env != want.env {
			t.Errorf("README: -%s's variable is %q; the server reads %q", f, got.env, want.env)
		}
		def := want.def
		if def == "" && (got.def == "none" || got.def == "off") {
			def = got.def
		}
		if got.def != def {
			t.Errorf("README: -%s's default is %q; the server's is %q", f, got.def, want.def)
		}
	}
	for f := range rows {
		if _, ok := flags[f]; !ok {
			t.Errorf("README's Configuration table has a row for -%s, which the server does not have", f)
		}
	}
}

// TestREADMETryIt runs the README's examples from "Try it" to "The
// dashboard", in the order a newcomer runs them, on a new demo database:
// every curl command's body is posted as it is written (with the admin
// token where it sends one), and its answer must be, byte for byte, the
// output block under it. The dry run of "What if, and why" must report
// the counts its prose states, on the database the examples before it
// left.
func TestREADMETryIt(t *testing.T) {
	env := setup(t, func(c *config) { c.Demo = true })
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Try it\n")
	if !ok {
		t.Fatal(`README.md has no "## Try it" section`)
	}
	section, _, ok = strings.Cut(section, "\n## The dashboard\n")
	if !ok {
		t.Fatal(`README.md has no "## The dashboard" section after "## Try it"`)
	}

	block := regexp.MustCompile("(?s)```(\\w*)\n(.*?)```")
	body := regexp.MustCompile(`(?s)-d '(.*?)'`)
	blocks := block.FindAllStringSubmatch(section, -1)
	ran := 0
	for i, b := range blocks {
		lang, text := b[1], b[2]
		if lang != "sh" || !strings.HasPrefix(text, "curl ") || !strings.Contains(text, "localhost:8080/graphql") {
			continue
		}
		if i+1 >= len(blocks) || (blocks[i+1][1] != "json" && blocks[i+1][1] != "text") {
			t.Errorf("README: no output shown under\n%s", text)
			continue
		}
		m := body.FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("README: no -d '…' body in\n%s", text)
		}
		req, err := http.NewRequest(http.MethodPost, env.srv.URL+"/graphql", strings.NewReader(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if strings.Contains(text, `Authorization: Bearer $TOKEN`) {
			req.Header.Set("Authorization", "Bearer "+env.admin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		out := string(got)
		if strings.Contains(text, `-w 'HTTP %{http_code}\n'`) {
			out += fmt.Sprintf("HTTP %d\n", resp.StatusCode)
		}
		if want := blocks[i+1][2]; strings.TrimSpace(out) != strings.TrimSpace(want) {
			t.Errorf("README example\n%s\nanswers\n%s\nthe README shows\n%s", text, out, want)
		}
		ran++
	}
	if ran < 5 {
		t.Fatalf("ran %d README examples; expected the Try it section's (at least 5)", ran)
	}

	// "What if, and why": the dry run and the counts its prose states.
	_, whatIf, _ := strings.Cut(section, "\n## What if, and why\n")
	preview := regexp.MustCompile("(?s)```graphql\n(mutation \\{\n  downgradeCallingPlan.*?)```").FindStringSubmatch(whatIf)
	stated := regexp.MustCompile("answers `agentsChanged: (\\d+), agentsLosingCalling: (\\d+)`").FindStringSubmatch(whatIf)
	if preview == nil || stated == nil {
		t.Fatal(`README's "What if, and why" lost its downgradeCallingPlan preview or the counts it states`)
	}
	var data struct {
		DowngradeCallingPlan struct {
			Impact struct {
				DryRun              bool
				AgentsChanged       int
				AgentsLosingCalling int
			}
		}
	}
	env.query(preview[1], nil, &data)
	imp := data.DowngradeCallingPlan.Impact
	if got := fmt.Sprintf("dryRun %v, agentsChanged %d, agentsLosingCalling %d", imp.DryRun, imp.AgentsChanged, imp.AgentsLosingCalling); got != fmt.Sprintf("dryRun true, agentsChanged %s, agentsLosingCalling %s", stated[1], stated[2]) {
		t.Errorf("README's preview answers %s; its prose states agentsChanged: %s, agentsLosingCalling: %s", got, stated[1], stated[2])
	}
}
