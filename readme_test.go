package main

import (
	"bytes"
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
