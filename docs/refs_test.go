package docs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// repoFiles returns the root of the repository and the paths (relative to
// it) of every file git tracks or would track (untracked, not ignored).
// Outside a git work tree (an unpacked archive) it walks the directory
// instead, leaving out what .gitignore leaves out.
func repoFiles(t *testing.T) (string, []string) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Logf("git ls-files in %s: %v; reading the directory instead", root, err)
		out = walk(t, root)
	}
	var files []string
	for _, f := range strings.Split(string(out), "\x00") {
		if f == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			continue // deleted in the work tree
		}
		files = append(files, f)
	}
	if len(files) < 50 {
		t.Fatalf("git ls-files listed %d files; expected the whole repository", len(files))
	}
	return root, files
}

// walk lists the files under root as git ls-files -z would, without git:
// no .git, node_modules, browser-test screenshots, SQLite files or other
// build output.
func walk(t *testing.T, root string) []byte {
	t.Helper()
	var out []byte
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		name := d.Name()
		if d.IsDir() {
			if name == ".git" || name == "node_modules" || name == "screenshots" || rel == "tmp" {
				return filepath.SkipDir
			}
			return nil
		}
		for _, ext := range []string{".db", ".db-wal", ".db-shm", ".db-journal", ".test", ".out"} {
			if strings.HasSuffix(name, ext) {
				return nil
			}
		}
		if rel == "outdial" {
			return nil
		}
		out = append(out, filepath.ToSlash(rel)...)
		out = append(out, 0)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// text returns the file's content, or false for a binary or vendored file
// that is not ours to word.
func text(t *testing.T, root, f string) (string, bool) {
	if strings.HasPrefix(f, "web/static/vendor/") || strings.HasPrefix(f, "web/static/playground/") {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(root, f))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return "", false
	}
	return string(b), true
}

// outside matches the documents of the team's shared folder, which a
// reader of the repository does not have. Spelled in parts so that this
// file does not match itself.
var outside = regexp.MustCompile(`\b(` + "RULES" + `\.md|` + "DESIGN" + `\.md|` + "STYLE" + `\.md)\b|\.\./` + "shared" + `\b|\bshared/` + "contract" + `\b`)

// TestNoReferenceOutsideTheRepository fails on any file that cites a
// document outside the repository. .ci/run may name the shared folder: it runs
// the optional contract check found there.
func TestNoReferenceOutsideTheRepository(t *testing.T) {
	root, files := repoFiles(t)
	var found []string
	for _, f := range files {
		s, ok := text(t, root, f)
		if !ok {
			continue
		}
		for i, line := range strings.Split(s, "\n") {
			m := outside.FindString(line)
			if m == "" || (f == ".ci/run" && !strings.Contains(m, ".md")) {
				continue
			}
			found = append(found, fmt.Sprintf("%s:%d: %s", f, i+1, strings.TrimSpace(line)))
		}
	}
	if len(found) > 0 {
		t.Errorf("%d references to documents outside the repository; write what the reader needs here (a doc comment, a package's doc.go, docs/*.md) and cite that:\n  %s",
			len(found), strings.Join(found, "\n  "))
	}
}

var (
	// commentBreak joins a comment continued on the next line, so that a
	// citation broken over two comment lines reads as one.
	commentBreak = regexp.MustCompile(`\n[ \t]*(//|--|#)[ \t]*`)
	// citation matches docs/<page>.md, then the quoted section names that
	// follow it: docs/domain.md, "Webhooks"; docs/domain.md ("A", "B").
	citation = regexp.MustCompile(`docs/([a-z0-9_-]+\.md)((?:[,(]?\s*(?:and\s+)?"[^"\n]{1,80}")*)`)
	quoted   = regexp.MustCompile(`"([^"\n]{1,80})"`)
	// mdLink matches the target of a Markdown link.
	mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
)

// headings returns the section titles of a Markdown file.
func headings(s string) map[string]bool {
	h := map[string]bool{}
	for _, line := range strings.Split(s, "\n") {
		if t := strings.TrimLeft(line, "#"); t != line && strings.HasPrefix(t, " ") {
			h[strings.TrimSpace(t)] = true
		}
	}
	return h
}

// anchors returns the link targets of a Markdown page's headings as
// GitHub makes them: lower case, punctuation but - and _ dropped, each
// space a hyphen ("MySQL / MariaDB" is mysql--mariadb).
func anchors(page string) map[string]bool {
	a := map[string]bool{}
	for h := range headings(page) {
		var b strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a[b.String()] = true
	}
	return a
}

// TestCitationsOfDocsExist fails on a citation of a docs page or section
// that does not exist, and on a relative Markdown link to a missing file.
func TestCitationsOfDocsExist(t *testing.T) {
	root, files := repoFiles(t)
	pages := map[string]map[string]bool{}
	for _, f := range files {
		if filepath.Dir(f) == "docs" && strings.HasSuffix(f, ".md") {
			s, _ := text(t, root, f)
			pages[filepath.Base(f)] = headings(s)
		}
	}
	var bad []string
	cited := 0
	for _, f := range files {
		s, ok := text(t, root, f)
		if !ok {
			continue
		}
		joined := commentBreak.ReplaceAllString(s, " ")
		for _, m := range citation.FindAllStringSubmatch(joined, -1) {
			cited++
			page, ok := pages[m[1]]
			if !ok {
				bad = append(bad, fmt.Sprintf("%s cites docs/%s, which does not exist", f, m[1]))
				continue
			}
			for _, q := range quoted.FindAllStringSubmatch(m[2], -1) {
				if !page[q[1]] {
					bad = append(bad, fmt.Sprintf("%s cites section %q of docs/%s, which has no such heading", f, q[1], m[1]))
				}
			}
		}
		if strings.HasSuffix(f, ".md") {
			for _, m := range mdLink.FindAllStringSubmatch(s, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				file, anchor, _ := strings.Cut(target, "#")
				page := s
				if file != "" {
					b, err := os.ReadFile(filepath.Join(root, filepath.Dir(f), file))
					if err != nil {
						bad = append(bad, fmt.Sprintf("%s links to %s, which does not exist", f, m[1]))
						continue
					}
					page = string(b)
				}
				name := f
				if file != "" {
					name = file
				}
				if anchor != "" && strings.HasSuffix(name, ".md") && !anchors(page)[anchor] {
					bad = append(bad, fmt.Sprintf("%s links to %s, a section that does not exist", f, m[1]))
				}
			}
		}
	}
	if cited == 0 {
		t.Fatal("found no citation of docs/*.md at all: the pattern no longer matches how the code cites them")
	}
	if len(bad) > 0 {
		t.Errorf("%d broken references to the documentation:\n  %s", len(bad), strings.Join(bad, "\n  "))
	}
}

// mdName matches a name of a Markdown file, with or without a path.
var mdName = regexp.MustCompile(`[A-Za-z0-9_./-]*[A-Za-z0-9_-]+\.md\b`)

// TestMarkdownFilesNamedExist fails on a mention of a Markdown file (in
// code, comments, scripts or pages) that is not in the repository: a
// reader must be able to open what the text sends them to. A name is
// looked for beside the file that mentions it, at the root, and in docs/;
// a name on or after a line with an address (://, github.com/) is another
// site's file and is left alone.
func TestMarkdownFilesNamedExist(t *testing.T) {
	root, files := repoFiles(t)
	have := map[string]bool{}
	for _, f := range files {
		have[f] = true
	}
	var bad []string
	for _, f := range files {
		s, ok := text(t, root, f)
		if !ok {
			continue
		}
		lines := strings.Split(s, "\n")
		for i, line := range lines {
			near := line
			if i > 0 {
				near = lines[i-1] + " " + line
			}
			if strings.Contains(near, "://") || strings.Contains(near, "github.com/") {
				continue // beside an address elsewhere: that site's file, e.g. graphql-ws's PROTOCOL.md
			}
			for _, m := range mdName.FindAllString(line, -1) {
				if strings.HasPrefix(m, "/") || strings.Contains(m, "//") {
					continue // part of a URL
				}
				name := strings.TrimPrefix(m, "./")
				found := false
				for _, dir := range []string{filepath.Dir(f), ".", "docs"} {
					if have[filepath.ToSlash(filepath.Clean(filepath.Join(dir, name)))] {
						found = true
					}
				}
				if !found {
					bad = append(bad, fmt.Sprintf("%s:%d names %s, which is not in the repository", f, i+1, m))
				}
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d mentions of Markdown files the repository does not have; add the file or point to one that exists:\n  %s",
			len(bad), strings.Join(bad, "\n  "))
	}
}
