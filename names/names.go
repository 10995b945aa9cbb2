package names

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Reason says why a text was refused.
type Reason int

// The reasons for a refusal.
const (
	// NotUTF8: the text holds bytes that are not UTF-8.
	NotUTF8 Reason = iota + 1
	// BidiControl: a bidirectional control character (Bidi_Control).
	BidiControl
	// Control: a control character other than white space (in Text, other
	// than tab and line breaks).
	Control
	// Invisible: an invisible character where none may be removed (Visible).
	Invisible
)

// Error is a refused text: the first character at fault and why.
type Error struct {
	Reason Reason
	// Rune is the character at fault (utf8.RuneError for NotUTF8).
	Rune rune
}

// Error describes the character at fault as the object of a sentence,
// e.g. "U+202E, a bidirectional control character (…)".
func (e *Error) Error() string {
	code := fmt.Sprintf("U+%04X", e.Rune)
	switch e.Reason {
	case NotUTF8:
		return "bytes that are not UTF-8"
	case BidiControl:
		return code + ", a bidirectional control character (it makes text display in another order than it is stored)"
	case Invisible:
		return code + ", an invisible character"
	default:
		return "the control character " + code
	}
}

// Line returns the stored form of a one-line text (a name, an email, a
// label, a filter): invisible characters removed, white space trimmed and
// each inner run of it made one space, NFC. It returns an *Error for bytes
// that are not UTF-8, a bidirectional control or another control
// character. An empty result means the text held nothing visible.
func Line(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", &Error{Reason: NotUTF8, Rune: utf8.RuneError}
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case isBidi(r):
			return "", &Error{Reason: BidiControl, Rune: r}
		case isSpace(r):
			space = b.Len() > 0
		case isControl(r):
			return "", &Error{Reason: Control, Rune: r}
		case IsInvisible(r):
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	return norm.NFC.String(b.String()), nil
}

// Text returns the stored form of a text of several lines (a
// description): invisible characters removed, line breaks (CR LF, CR, NEL,
// U+2028, U+2029, vertical tab, form feed) made "\n", white space trimmed
// at both ends, NFC. Inner white space and tabs stay. It returns an *Error
// as Line does.
func Text(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", &Error{Reason: NotUTF8, Rune: utf8.RuneError}
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case isBidi(r):
			return "", &Error{Reason: BidiControl, Rune: r}
		case isLineBreak(r):
			b.WriteByte('\n')
		case r == '\t':
			b.WriteByte('\t')
		case isControl(r):
			return "", &Error{Reason: Control, Rune: r}
		case IsInvisible(r):
		default:
			b.WriteRune(r)
		}
	}
	return norm.NFC.String(strings.TrimFunc(b.String(), isSpace)), nil
}

// Email returns the stored form of an email address: Line, lower-cased.
// The whole address is lower-cased, local part included: RFC 5321 lets a
// mail server tell "Ann" from "ann", but none that contact centers use
// does, and two agents differing only so would be the same person. Dots
// and "+tags" in the local part are kept (their meaning is the mail
// provider's); the domain is kept as written (a punycode "xn--" domain and
// its Unicode form are different strings). Checking that it is an address
// is the caller's job. It returns an *Error as Line does.
func Email(s string) (string, error) {
	e, err := Line(s)
	if err != nil {
		return "", err
	}
	return norm.NFC.String(strings.ToLower(e)), nil
}

// Visible checks that s holds no character that would not be seen: it
// returns an *Error for bytes that are not UTF-8, a control character
// (white space included), a bidirectional control or an invisible
// character. It is for texts that must be taken exactly as given (URLs).
func Visible(s string) error {
	if !utf8.ValidString(s) {
		return &Error{Reason: NotUTF8, Rune: utf8.RuneError}
	}
	for _, r := range s {
		switch {
		case isBidi(r):
			return &Error{Reason: BidiControl, Rune: r}
		case isControl(r):
			return &Error{Reason: Control, Rune: r}
		case IsInvisible(r) || isSpace(r) && r != ' ':
			return &Error{Reason: Invisible, Rune: r}
		}
	}
	return nil
}

// Key returns the form under which texts are compared: the stored form's
// cleaning (bidirectional controls are dropped here, not refused, so that
// every text has a key), then NFKC and full case folding, repeated until
// stable. Two texts are the same name when their keys are equal; a key
// holds a search text when it holds the search text's key. Keys of texts
// of several lines have their line breaks made spaces, so that a search
// matches across them. Key(Key(s)) == Key(s).
func Key(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	k := squeeze(s)
	if isASCII(k) { // NFKC leaves ASCII as it is; folding it is lower-casing
		return strings.ToLower(k)
	}
	for range 4 {
		next := squeeze(norm.NFKC.String(cases.Fold().String(norm.NFKC.String(k))))
		if next == k {
			break
		}
		k = next
	}
	return k
}

// isASCII reports whether s is all ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// squeeze drops invisible characters and bidirectional controls, trims
// white space and makes each inner run of it one space.
func squeeze(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case isSpace(r):
			space = b.Len() > 0
		case IsInvisible(r) || isBidi(r):
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Len returns the length of a text in characters (runes), the unit of
// every length limit.
func Len(s string) int { return utf8.RuneCountInString(s) }

// IsInvisible reports whether r is a Default_Ignorable_Code_Point of
// Unicode (DerivedCoreProperties.txt): Other_Default_Ignorable_Code_Point,
// format characters (Cf) and variation selectors, but not white space,
// the interlinear annotation characters U+FFF9..U+FFFB, the Egyptian
// hieroglyph format controls, nor the prepended concatenation marks, which
// are visible.
func IsInvisible(r rune) bool {
	switch {
	case r < 0xad:
		return false
	case isSpace(r), r >= 0xfff9 && r <= 0xfffb, r >= 0x13430 && r <= 0x1343f,
		unicode.Is(unicode.Prepended_Concatenation_Mark, r):
		return false
	}
	return unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Cf, unicode.Variation_Selector)
}

// isSpace reports whether r is Unicode White_Space.
func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || r >= '\t' && r <= '\r'
	}
	return unicode.Is(unicode.White_Space, r)
}

// isBidi reports whether r is a bidirectional control (Bidi_Control).
func isBidi(r rune) bool { return r >= 0x61c && unicode.Is(unicode.Bidi_Control, r) }

// isControl reports whether r is a control character (category Cc:
// U+0000..U+001F and U+007F..U+009F).
func isControl(r rune) bool { return r < 0x20 || r >= 0x7f && r <= 0x9f }

// isLineBreak reports whether r ends a line (a CR LF pair is made one LF
// before).
func isLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}
