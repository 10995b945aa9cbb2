package calling

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Opt is an optional input field of an update: Set says whether the client
// gave it at all (a null counts as given).
type Opt[T any] struct {
	Set   bool
	Value T
}

// Some returns an Opt that is set to v.
func Some[T any](v T) Opt[T] { return Opt[T]{Set: true, Value: v} }

// Input limits.
const (
	MaxNameLen         = 200
	MaxLabelLen        = 200
	MaxDescriptionLen  = 1000
	MaxEmailLen        = 254
	MaxCallerIDNameLen = 15
	MaxListLen         = 1000
	MinWorkItemLimit   = 1
	MaxWorkItemLimit   = 100
)

// cleanName trims a name and checks it: 1 to MaxNameLen characters, no
// control characters.
func cleanName(c *checker, name string, path ...string) string {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		c.add(refuse(CodeInvalidInput, "A name is required.", path...))
	case n > MaxNameLen:
		c.add(refuse(CodeInvalidInput, fmt.Sprintf("A name has at most %d characters.", MaxNameLen), path...))
	case hasControl(name):
		c.add(refuse(CodeInvalidInput, "A name cannot contain control characters.", path...))
	}
	return name
}

// nameKey is the case-insensitive form of a name under which names are
// unique.
func nameKey(name string) string { return strings.ToLower(name) }

// cleanText trims an optional free text (label, description) and checks
// its length; an empty text becomes nil.
func cleanText(c *checker, s *string, max int, what string, path ...string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	if t == "" {
		return nil
	}
	if utf8.RuneCountInString(t) > max {
		c.add(refuse(CodeInvalidInput, fmt.Sprintf("A %s has at most %d characters.", what, max), path...))
	}
	if strings.ContainsFunc(t, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) {
		c.add(refuse(CodeInvalidInput, fmt.Sprintf("A %s cannot contain control characters.", what), path...))
	}
	return &t
}

// cleanEmail checks an email address and returns it lower-cased.
func cleanEmail(c *checker, email string, path ...string) string {
	e := strings.ToLower(strings.TrimSpace(email))
	addr, err := mail.ParseAddress(e)
	switch {
	case e == "":
		c.add(refuse(CodeInvalidInput, "An email address is required.", path...))
	case len(e) > MaxEmailLen:
		c.add(refuse(CodeInvalidInput, fmt.Sprintf("An email address has at most %d characters.", MaxEmailLen), path...))
	case err != nil || addr.Address != e || addr.Name != "":
		c.add(refuse(CodeInvalidInput, fmt.Sprintf("%q is not an email address like name@example.com.", email), path...))
	}
	return e
}

// cleanCallerIDName checks a CNAM caller name: at most 15 printable ASCII
// characters; empty becomes nil.
func cleanCallerIDName(c *checker, s *string, path ...string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	if t == "" {
		return nil
	}
	if len(t) > MaxCallerIDNameLen || utf8.RuneCountInString(t) != len(t) {
		c.add(refuse(CodeInvalidInput, fmt.Sprintf("A caller ID name has at most %d characters.", MaxCallerIDNameLen), path...))
	}
	if strings.ContainsFunc(t, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
		c.add(refuse(CodeInvalidInput, "A caller ID name uses printable ASCII characters only (what carriers show).", path...))
	}
	return &t
}

func hasControl(s string) bool { return strings.ContainsFunc(s, unicode.IsControl) }
