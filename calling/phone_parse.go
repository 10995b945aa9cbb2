package calling

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"

	"outdial/names"
)

// Phone numbers are read with libphonenumber (github.com/nyaruka/phonenumbers),
// which accepts almost any notation and, on the way, drops what it does not
// need: an extension ("ext. 123", "x123", "#123", ",,123", ";ext=123", "доб.
// 123", "anexo 123"…), a tel: URI's ISDN subaddress, text before the number
// ("Tel: ") or a second number after it ("/ x12"). readNumber refuses every
// such loss, except the extension, which it returns for the command to keep
// or refuse.

// MaxPhoneNumberLen bounds a phone number as given, in characters (Unicode
// code points) after NFKC normalisation: full-width "＋８１－３…" counts
// as many characters as "+81-3…".
const MaxPhoneNumberLen = 64

// DefaultRegion is the region a number without a country code belongs to
// when neither the input nor the server (DEFAULT_REGION) names one.
const DefaultRegion = "US"

// ParsedNumber is a phone number in E.164 with its region, type and
// extension.
type ParsedNumber struct {
	// E164 is the number without its extension, e.g. +14255550100.
	E164 string
	// CountryCode is the number's ISO 3166-1 alpha-2 region, e.g. US.
	CountryCode string
	// Type is GEOGRAPHIC or TOLL_FREE for a number that can be added;
	// for a transfer target, libphonenumber's type name (e.g. mobile).
	Type string
	// Extension holds the digits dialled once the call connects, "" when
	// the number has none.
	Extension string
}

// Region returns the ISO 3166-1 alpha-2 code s names (case, width,
// invisible characters and surrounding space do not matter, as in the
// number: "ｇｂ" is GB), or an error that says what a region code is, when
// libphonenumber knows no region of that code.
func Region(s string) (string, error) {
	line, _ := names.Line(s) // text Line refuses is no code: "" is refused below
	code := strings.ToUpper(norm.NFKC.String(line))
	if len(code) == 2 && phonenumbers.GetSupportedRegions()[code] {
		return code, nil
	}
	hint := ""
	if code == "UK" {
		hint = " (the United Kingdom is GB)"
	}
	return "", fmt.Errorf("%s is not a region: give an ISO 3166-1 alpha-2 country code such as US, GB or DE%s", quoteInput(s), hint)
}

// region is the region numbers without a country code are read in, and
// whether the client named it (else it is the server's default).
type region struct {
	code  string
	given bool
}

// pickRegion returns the region of an input's optional region field, or
// def when it is absent or empty. An unknown code is refused with
// INVALID_INPUT on path, and ok is false: a number read in another region
// than the one meant would only add a misleading refusal.
func pickRegion(c *checker, in *string, def string, path ...string) (reg region, ok bool) {
	if in == nil || strings.TrimSpace(*in) == "" {
		return region{code: def}, true
	}
	code, err := Region(*in)
	if err != nil {
		c.add(refuse(CodeInvalidInput, err.Error()+".", path...))
		return region{}, false
	}
	return region{code: code, given: true}, true
}

// readNumber parses raw, any common notation of a valid phone number
// (national ones in reg), refusing with INVALID_PHONE_NUMBER an empty
// or overlong input, one that is not a valid number, and one of which
// libphonenumber would ignore a part. The returned number keeps its
// extension, if any.
func readNumber(raw string, reg region, path ...string) (*phonenumbers.PhoneNumber, *Error) {
	s := strings.TrimSpace(asciiDigits(norm.NFKC.String(raw)))
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return nil, refuse(CodeInvalidPhoneNumber, "Give a phone number, e.g. +14255550100.", path...)
	case n > MaxPhoneNumberLen:
		return nil, refuse(CodeInvalidPhoneNumber,
			fmt.Sprintf("A phone number has at most %d characters; this one has %d.", MaxPhoneNumberLen, n), path...)
	}
	num, err := phonenumbers.ParseAndKeepRawInput(s, reg.code)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return nil, refuse(CodeInvalidPhoneNumber, invalidNumberMessage(raw, num, err, reg), path...)
	}
	if extra := unreadPart(s, num.GetExtension()); extra != "" {
		return nil, refuse(CodeInvalidPhoneNumber, fmt.Sprintf(
			"%s holds more than a phone number (%s would be ignored): give the number alone, with an extension where one is allowed, e.g. +14255550100 or +14255550100 ext. 123.",
			quoteInput(raw), quoteInput(extra)), path...)
	}
	return num, nil
}

// invalidNumberMessage explains why raw is not a valid number; for a
// number without a country code, it says in which region it was read and
// how to name another.
func invalidNumberMessage(raw string, num *phonenumbers.PhoneNumber, err error, reg region) string {
	national := err == nil && num.GetCountryCodeSource() == phonenumbers.PhoneNumber_FROM_DEFAULT_COUNTRY
	if err == phonenumbers.ErrInvalidCountryCode && !strings.ContainsAny(raw, "+＋") {
		national = true
	}
	if !national {
		return fmt.Sprintf("%s is not a valid phone number; write it in E.164, e.g. +14255550100.", quoteInput(raw))
	}
	where := fmt.Sprintf("%s, the region given", reg.code)
	if !reg.given {
		where = fmt.Sprintf("%s, this server's default region (DEFAULT_REGION)", reg.code)
	}
	return fmt.Sprintf("%s has no country code and is not a valid number in %s. A number without a country code needs its country: "+
		"give region (ISO 3166-1 alpha-2, e.g. \"GB\"), or write the number with + and its country code, e.g. +44 20 7946 0018.",
		quoteInput(raw), where)
}

// unreadPart returns the part of s (trimmed, NFKC) that libphonenumber does
// not read, following its own steps: the number starts at the first digit
// or plus sign, trailing punctuation goes, "/ x…" or "\ x…" starts a second
// number, a tel: URI's ISDN subaddress and phone-context are dropped, an
// extension is split off the end, and fewer than three letters are
// dropped (three or more are a vanity number: 1-800-FLOWERS). It returns ""
// when nothing but punctuation is left unread; ext is the extension the
// library read, which must be the one that ends the number.
func unreadPart(s, ext string) string {
	body := s
	if len(body) >= 4 && strings.EqualFold(body[:4], phonenumbers.RFC3966_PREFIX) {
		body = body[4:]
	}
	lower := strings.ToLower(body)
	for _, param := range []string{phonenumbers.RFC3966_ISDN_SUBADDRESS, phonenumbers.RFC3966_PHONE_CONTEXT} {
		if i := strings.Index(lower, param); i >= 0 {
			return body[i:]
		}
	}
	start := phonenumbers.VALID_START_CHAR_PATTERN.FindStringIndex(body)
	if start == nil {
		return body
	}
	if lead := body[:start[0]]; strings.ContainsFunc(lead, isLetterOrDigit) {
		return strings.TrimSpace(lead)
	}
	number := body[start[0]:]
	if end := phonenumbers.UNWANTED_END_CHAR_PATTERN.FindStringIndex(number); end != nil {
		number = number[:end[0]]
	}
	if second := phonenumbers.SECOND_NUMBER_START_PATTERN.FindStringIndex(number); second != nil {
		return strings.TrimSpace(number[second[0]:])
	}
	main, seen := splitExtension(number)
	if seen != ext {
		return strings.TrimSpace(number[len(main):])
	}
	if !phonenumbers.VALID_ALPHA_PHONE_PATTERN.MatchString(main) && strings.ContainsFunc(main, isLetterButX) {
		return strings.Map(keepLetters, main)
	}
	return ""
}

// splitExtension splits an extension off the end of number as
// libphonenumber does, returning the rest and the extension's digits.
func splitExtension(number string) (main, ext string) {
	loc := phonenumbers.EXTN_PATTERN.FindStringSubmatchIndex(number)
	if loc == nil {
		return number, ""
	}
	for i := 2; i+1 < len(loc); i += 2 {
		if loc[i] >= 0 {
			return number[:loc[0]], number[loc[i]:loc[i+1]]
		}
	}
	return number, ""
}

// asciiDigits writes every Unicode decimal digit (category Nd: Devanagari
// "१२", Thai "๑๒", Bengali "১২"…) as its ASCII digit. libphonenumber maps
// only Arabic-Indic digits and keeps the others as given, so without this
// "+१ ४२५…" is no number while "+١ ٤٢٥…" is, and "ext १२" is kept as an
// extension no keypad can dial. NFKC has already mapped full-width and
// mathematical digits.
func asciiDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf || !unicode.Is(unicode.Nd, r) {
			return r
		}
		// Unicode encodes every decimal digit in runs of ten from zero,
		// so the table's ranges start at a zero and span whole runs.
		for _, rg := range unicode.Nd.R16 {
			if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
				return '0' + (r-rune(rg.Lo))%10
			}
		}
		for _, rg := range unicode.Nd.R32 {
			if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
				return '0' + (r-rune(rg.Lo))%10
			}
		}
		return r
	}, s)
}

func isLetterOrDigit(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// isLetterButX reports an ASCII letter other than x, which the library
// takes for punctuation.
func isLetterButX(r rune) bool {
	return (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') && r != 'x' && r != 'X'
}

func keepLetters(r rune) rune {
	if isLetterButX(r) {
		return r
	}
	return -1
}

// quoteInput quotes a client's text for a message, cut to
// MaxPhoneNumberLen characters.
func quoteInput(s string) string {
	if utf8.RuneCountInString(s) > MaxPhoneNumberLen {
		return fmt.Sprintf("%q…", string([]rune(s)[:MaxPhoneNumberLen]))
	}
	return fmt.Sprintf("%q", s)
}
