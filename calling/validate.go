package calling

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"outdial/names"
)

// Opt is an optional input field of an update: Set says whether the client
// gave it at all (a null counts as given).
type Opt[T any] struct {
	Set   bool
	Value T
}

// Some returns an Opt that is set to v.
func Some[T any](v T) Opt[T] { return Opt[T]{Set: true, Value: v} }

// Input limits. Lengths of text are counted in characters (runes) of its
// stored form (package names).
const (
	MaxNameLen         = 200
	MaxLabelLen        = 200
	MaxDescriptionLen  = 1000
	MaxEmailLen        = 254
	MaxCallerIDNameLen = 15
	MaxListLen         = 1000
	MinWorkItemLimit   = 1
	MaxWorkItemLimit   = 100
	// MaxSearchLen bounds a text filter (search, action, targetId): the
	// longest stored text (a description).
	MaxSearchLen = MaxDescriptionLen
	// MaxKeyLen bounds the comparison key of a name or email (names.Key),
	// which can be longer than the text itself: "ﬃ" is "ffi", "ß" is "ss".
	// 768 characters fill the 3072 bytes a MySQL unique index holds.
	MaxKeyLen = 768
)

// cleanName returns the stored form of a name (names.Line) and refuses it
// unless it has 1 to MaxNameLen characters, no control or bidirectional
// control character, and a key of at most MaxKeyLen characters.
func cleanName(c *checker, name string, path ...string) string {
	n, ok := cleanLine(c, name, "name", MaxNameLen, path...)
	if ok && n == "" {
		c.add(refuse(CodeInvalidInput, "A name is required (white space and invisible characters do not count).", path...))
	}
	return n
}

// cleanLine returns the stored form of a one-line text and reports whether
// it passed the rule and the limit of max characters; a refusal names what
// the text is ("name", "label", …) and, for length, the limit.
func cleanLine(c *checker, s, what string, max int, path ...string) (string, bool) {
	t, err := names.Line(s)
	if err != nil {
		c.add(refuse(CodeInvalidInput, fmt.Sprintf("%s cannot contain %s.", article(what), err), path...))
		return "", false
	}
	return t, checkLen(c, t, what, max, path...)
}

// checkLen refuses a stored text of more than max characters, or whose key
// has more than MaxKeyLen.
func checkLen(c *checker, t, what string, max int, path ...string) bool {
	if n := names.Len(t); n > max {
		c.add(refuse(CodeInvalidInput, fmt.Sprintf("%s has at most %d characters; this one has %d.", article(what), max, n), path...))
		return false
	}
	if n := names.Len(names.Key(t)); n > MaxKeyLen {
		c.add(refuse(CodeInvalidInput, fmt.Sprintf("%s has at most %d characters once written out for comparison (ligatures, width and case forms expanded); this one has %d.",
			article(what), MaxKeyLen, n), path...))
		return false
	}
	return true
}

// article returns "A what" or "An what".
func article(what string) string {
	if strings.ContainsRune("aeio", rune(what[0])) {
		return "An " + what
	}
	return "A " + what
}

// nameKey is the form of a name under which names are unique and found:
// names.Key.
func nameKey(name string) string { return names.Key(name) }

// keyOf is the key of an optional text, nil for nil.
func keyOf(s *string) *string {
	if s == nil {
		return nil
	}
	k := names.Key(*s)
	return &k
}

// cleanText returns the stored form of an optional one-line text (a label)
// and checks its length; an empty text becomes nil.
func cleanText(c *checker, s *string, max int, what string, path ...string) *string {
	if s == nil {
		return nil
	}
	t, _ := cleanLine(c, *s, what, max, path...)
	if t == "" {
		return nil
	}
	return &t
}

// cleanDescription returns the stored form of an optional description,
// which may have several lines (names.Text), and checks its length; an
// empty description becomes nil.
func cleanDescription(c *checker, s *string, path ...string) *string {
	if s == nil {
		return nil
	}
	t, err := names.Text(*s)
	if err != nil {
		c.add(refuse(CodeInvalidInput, fmt.Sprintf("A description cannot contain %s.", err), path...))
		return nil
	}
	if n := names.Len(t); n > MaxDescriptionLen {
		c.add(refuse(CodeInvalidInput, fmt.Sprintf("A description has at most %d characters; this one has %d.", MaxDescriptionLen, n), path...))
	}
	if t == "" {
		return nil
	}
	return &t
}

// cleanEmail checks an email address and returns its stored form
// (names.Email: lower-cased).
func cleanEmail(c *checker, email string, path ...string) string {
	e, err := names.Email(email)
	if err != nil {
		c.add(refuse(CodeInvalidInput, fmt.Sprintf("An email address cannot contain %s.", err), path...))
		return ""
	}
	if e == "" {
		c.add(refuse(CodeInvalidInput, "An email address is required.", path...))
		return ""
	}
	if !checkLen(c, e, "email address", MaxEmailLen, path...) {
		return e
	}
	if addr, err := mail.ParseAddress(e); err != nil || addr.Address != e || addr.Name != "" {
		c.add(refuse(CodeInvalidInput, fmt.Sprintf("%q is not an email address like name@example.com.", e), path...))
	}
	return e
}

// cleanCallerIDName checks a CNAM caller name: at most 15 printable ASCII
// characters (what carriers show); empty becomes nil.
func cleanCallerIDName(c *checker, s *string, path ...string) *string {
	if s == nil {
		return nil
	}
	t, ok := cleanLine(c, *s, "caller ID name", MaxCallerIDNameLen, path...)
	if !ok || t == "" {
		return nil
	}
	if i := strings.IndexFunc(t, func(r rune) bool { return r < 0x20 || r > 0x7e }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(t[i:])
		c.add(refuse(CodeInvalidInput, fmt.Sprintf("A caller ID name uses printable ASCII characters only (what carriers show); %q (U+%04X) is not one.", r, r), path...))
	}
	return &t
}
