package names

import (
	"errors"
	"strings"
	"testing"
	"unicode"
)

func TestLine(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"plain", "Outbound sales", "Outbound sales"},
		{"ASCII spaces trimmed", "  Sales  ", "Sales"},
		{"inner run of spaces", "Sales \t  team", "Sales team"},
		{"no-break and ideographic spaces", "\u00a0Sales\u3000\u2003team\u202f", "Sales team"},
		{"line breaks are white space", "Sales\r\nteam\u2028", "Sales team"},
		{"zero-width space", "Sa\u200bles", "Sales"},
		{"zero-width joiner and non-joiner", "\u200dSales\u200c", "Sales"},
		{"byte order mark", "\ufeffSales", "Sales"},
		{"soft hyphen", "Sa\u00adles", "Sales"},
		{"word joiner", "Sales\u2060", "Sales"},
		{"variation selector", "Sales\ufe0f", "Sales"},
		{"Hangul filler", "\u3164Sales", "Sales"},
		{"Mongolian vowel separator", "Sa\u180eles", "Sales"},
		{"tag characters", "Sales\U000e0041", "Sales"},
		{"invisible between spaces", "Sales \u200b team", "Sales team"},
		{"only invisible", "\u200b\u200d\ufeff", ""},
		{"only white space", " \t\u3000", ""},
		{"NFD becomes NFC", "Rene\u0301", "René"},
		{"invisible between letter and accent", "e\u200b\u0301", "é"},
		{"Greek kept as written", "ΟΔΟΣ", "ΟΔΟΣ"},
		{"full width kept as written", "ＳＡＬＥＳ", "ＳＡＬＥＳ"},
		{"Arabic number sign stays (visible)", "\u0600١", "\u0600١"},
		{"interlinear annotation stays (visible)", "a\ufff9b", "a\ufff9b"},
	}
	for _, c := range cases {
		got, err := Line(c.in)
		if err != nil || got != c.want {
			t.Errorf("%s: Line(%+q) = %+q, %v; want %+q", c.name, c.in, got, err, c.want)
		}
	}
}

func TestLineRefuses(t *testing.T) {
	cases := []struct {
		name, in string
		reason   Reason
		r        rune
	}{
		{"right-to-left override", "Sales\u202e", BidiControl, 0x202e},
		{"left-to-right embedding", "\u202aSales", BidiControl, 0x202a},
		{"pop directional formatting", "Sa\u202cles", BidiControl, 0x202c},
		{"right-to-left isolate", "\u2067Sales", BidiControl, 0x2067},
		{"first strong isolate", "\u2068x", BidiControl, 0x2068},
		{"right-to-left mark", "Sales\u200f", BidiControl, 0x200f},
		{"Arabic letter mark", "\u061cSales", BidiControl, 0x061c},
		{"NUL", "Sa\x00les", Control, 0},
		{"bell", "Sales\a", Control, 7},
		{"escape", "\x1b[31mSales", Control, 0x1b},
		{"delete", "Sales\x7f", Control, 0x7f},
		{"C1 control", "Sales\u0090", Control, 0x90},
		{"not UTF-8", "Sales\xff", NotUTF8, unicode.ReplacementChar},
	}
	for _, c := range cases {
		got, err := Line(c.in)
		var e *Error
		if !errors.As(err, &e) || e.Reason != c.reason || e.Rune != c.r {
			t.Errorf("%s: Line(%+q) = %+q, %v; want a refusal (%d, %U)", c.name, c.in, got, err, c.reason, c.r)
		}
	}
}

func TestErrorNamesTheCharacter(t *testing.T) {
	_, err := Line("x\u202e")
	if err == nil || !strings.Contains(err.Error(), "U+202E") || !strings.Contains(err.Error(), "bidirectional") {
		t.Fatalf("error %v; want it to name U+202E as a bidirectional control", err)
	}
	_, err = Line("x\a")
	if err == nil || !strings.Contains(err.Error(), "U+0007") {
		t.Fatalf("error %v; want it to name U+0007", err)
	}
}

func TestText(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"lines kept", "First line\nsecond line", "First line\nsecond line"},
		{"CR LF and CR made LF", "a\r\nb\rc", "a\nb\nc"},
		{"Unicode line and paragraph separators", "a\u2028b\u2029c\u0085d", "a\nb\nc\nd"},
		{"tabs and inner spaces kept", "a\t b  c", "a\t b  c"},
		{"trimmed", "\n\t  Notes \u3000\n", "Notes"},
		{"invisible removed", "No\u200btes\ufeff", "Notes"},
		{"NFC", "Cafe\u0301", "Café"},
	}
	for _, c := range cases {
		got, err := Text(c.in)
		if err != nil || got != c.want {
			t.Errorf("%s: Text(%+q) = %+q, %v; want %+q", c.name, c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"a\u202eb", "a\x00b", "a\x1bb", "\xc3"} {
		if got, err := Text(bad); err == nil {
			t.Errorf("Text(%+q) = %+q; want a refusal", bad, got)
		}
	}
}

func TestEmail(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Ann.Lee@Example.COM", "ann.lee@example.com"},
		{"  ann@example.com\u200b ", "ann@example.com"},
		{"ÉMILE@exemple.fr", "émile@exemple.fr"},
		{"E\u0301mile@exemple.fr", "émile@exemple.fr"},
		{"ann+sales@example.com", "ann+sales@example.com"},
	}
	for _, c := range cases {
		if got, err := Email(c.in); err != nil || got != c.want {
			t.Errorf("Email(%+q) = %+q, %v; want %+q", c.in, got, err, c.want)
		}
	}
	if _, err := Email("ann@example.com\u202e"); err == nil {
		t.Errorf("Email accepted a right-to-left override")
	}
}

// TestKeySame: texts that are the same to a person have one key.
func TestKeySame(t *testing.T) {
	groups := [][]string{
		{"Σ", "σ", "ς"},
		{"ΟΔΟΣ", "οδος", "οδοσ", "Οδος"},
		{"Sales", "sales", "SALES", " sales ", "sa\u200bles", "ＳＡＬＥＳ", "ｓａｌｅｓ", "\ufeffSales\u00ad"},
		{"Sales team", "sales  team", "Sales\u00a0team", "sales\u3000\tteam", "Sales\nteam"},
		{"René", "Rene\u0301", "RENÉ", "RENE\u0301"},
		{"Straße", "STRASSE", "strasse", "Strasse"},
		{"file", "ﬁle", "FILE"},
		{"Kelvin", "\u212aelvin"},
		{"ǅemal", "Ǆemal", "ǆemal", "DŽemal"},
		{"bootstrap", "Bootstrap", "BOOTSTRAP", "bootstrap\u200d"},
		{"ann@example.com", "Ann@Example.com", "ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ"},
		{"x\u202ey", "xy"},
		{"50%", "５０％"},
	}
	for _, g := range groups {
		want := Key(g[0])
		for _, s := range g[1:] {
			if got := Key(s); got != want {
				t.Errorf("Key(%+q) = %+q; want %+q, the key of %+q", s, got, want, g[0])
			}
		}
	}
}

// TestKeyDifferent: texts that differ to a person have different keys.
func TestKeyDifferent(t *testing.T) {
	pairs := [][2]string{
		{"Sales", "Sales 2"},
		{"Sales team", "Salesteam"},
		{"René", "Rene"},
		{"ı", "i"},
		{"a_b", "a%b"},
		{"ann@example.com", "ann@example.org"},
	}
	for _, p := range pairs {
		if Key(p[0]) == Key(p[1]) {
			t.Errorf("Key(%+q) == Key(%+q) = %+q; want them different", p[0], p[1], Key(p[0]))
		}
	}
}

func TestVisible(t *testing.T) {
	if err := Visible("https://example.com/hook?a=b c"); err != nil {
		t.Errorf("Visible refused a plain URL: %v", err)
	}
	for _, s := range []string{"https://exa\u200bmple.com", "https://example.com/\u202e", "https://example.com\t", "https://example.com/\u00a0", "\xff"} {
		if err := Visible(s); err == nil {
			t.Errorf("Visible(%+q) accepted it", s)
		}
	}
}

func TestLen(t *testing.T) {
	for s, want := range map[string]int{"": 0, "abc": 3, "ＳＡＬＥＳ": 5, "Ωμέγα": 5, "😀": 1} {
		if got := Len(s); got != want {
			t.Errorf("Len(%q) = %d; want %d", s, got, want)
		}
	}
}

// FuzzName checks the name rule on any input: no panic; the stored form
// is stable (normalising twice is normalising once); it holds no invisible
// character, bidirectional control or other control, no white space but
// single inner spaces; its key is the key of the input; and the key is
// stable too.
func FuzzName(f *testing.F) {
	for _, s := range []string{"Outbound sales", " Σ ", "ς", "ΟΔΟΣ", "Rene\u0301", "sa\u200bles", "\ufeffBootstrap",
		"x\u202ey", "ＳＡＬＥＳ", "ﬁ", "a\u00a0\u3000b", "\x00", "\xff", "e\u200b\u0301", "\uffa0e\u0301", "ᾳ", "\u0345",
		"İstanbul", "¨x", "㍻", "ﷺ", "a\r\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key := Key(s)
		if Key(key) != key {
			t.Fatalf("Key(Key(%+q)) = %+q; want %+q", s, Key(key), key)
		}
		line, err := Line(s)
		if err == nil {
			checkStored(t, "Line", s, line, false)
			if again, err := Line(line); err != nil || again != line {
				t.Fatalf("Line(Line(%+q)) = %+q, %v; want %+q", s, again, err, line)
			}
			if Key(line) != key {
				t.Fatalf("Key(Line(%+q)) = %+q; want Key(%+q) = %+q", s, Key(line), s, key)
			}
		}
		text, err := Text(s)
		if err == nil {
			checkStored(t, "Text", s, text, true)
			if again, err := Text(text); err != nil || again != text {
				t.Fatalf("Text(Text(%+q)) = %+q, %v; want %+q", s, again, err, text)
			}
			if Key(text) != key {
				t.Fatalf("Key(Text(%+q)) = %+q; want Key(%+q) = %+q", s, Key(text), s, key)
			}
		}
	})
}

// checkStored fails t when a stored form holds a character it must not.
func checkStored(t *testing.T, rule, in, out string, multiline bool) {
	t.Helper()
	if strings.TrimFunc(out, unicode.IsSpace) != out {
		t.Fatalf("%s(%+q) = %+q: white space at an end", rule, in, out)
	}
	if !multiline && strings.Contains(out, "  ") {
		t.Fatalf("%s(%+q) = %+q: a run of spaces", rule, in, out)
	}
	for _, r := range out {
		bad := IsInvisible(r) || unicode.Is(unicode.Bidi_Control, r) ||
			unicode.Is(unicode.Cc, r) && !(multiline && (r == '\n' || r == '\t')) ||
			!multiline && unicode.IsSpace(r) && r != ' '
		if bad {
			t.Fatalf("%s(%+q) = %+q holds %U", rule, in, out, r)
		}
	}
}

// BenchmarkAgentEntry is the rule's cost for one upserted agent: the
// stored forms of a name and an email and their keys.
func BenchmarkAgentEntry(b *testing.B) {
	for b.Loop() {
		n, _ := Line("  Aiko Tanaka ")
		e, _ := Email("Aiko.Tanaka@Example.com")
		_, _ = Key(n), Key(e)
	}
}

// TestCharacterClasses checks the shortcuts of the character classes
// against Unicode's tables, for every code point.
func TestCharacterClasses(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if isSpace(r) != unicode.Is(unicode.White_Space, r) || isBidi(r) != unicode.Is(unicode.Bidi_Control, r) ||
			isControl(r) != unicode.Is(unicode.Cc, r) {
			t.Fatalf("%U: isSpace %v, isBidi %v, isControl %v disagree with Unicode", r, isSpace(r), isBidi(r), isControl(r))
		}
	}
}
