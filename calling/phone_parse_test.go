package calling

import (
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

var us = region{code: "US"}

// TestOwnNumber checks what addPhoneNumber accepts: common notations of
// geographic and toll-free numbers, national ones in their region.
func TestOwnNumber(t *testing.T) {
	for i, c := range []struct {
		raw      string
		reg      region
		e164, tp string
	}{
		{"+1 425-555-0100", us, "+14255550100", TypeGeographic},
		{"(425) 555-0199", us, "+14255550199", TypeGeographic},
		{"(425) 555-0199", region{"US", true}, "+14255550199", TypeGeographic},
		{"020 7946 0018", region{"GB", true}, "+442079460018", TypeGeographic},
		{"020 7946 0018", region{code: "GB"}, "+442079460018", TypeGeographic},
		{"+44 (0)20 7946 0018", us, "+442079460018", TypeGeographic},
		{"011 44 20 7946 0018", us, "+442079460018", TypeGeographic},
		{"＋８１－３－１２３４－５６７８", us, "+81312345678", TypeGeographic},
		{"+81-3-1234-5678", us, "+81312345678", TypeGeographic},
		{"tel:+1-425-555-0100", us, "+14255550100", TypeGeographic},
		{"TEL:+14255550100", us, "+14255550100", TypeGeographic},
		{"Tel: +1 425 555 0100", us, "+14255550100", TypeGeographic},
		{"1-800-FLOWERS", us, "+18003569377", TypeTollFree},
		{"+1 800 555 0199", us, "+18005550199", TypeTollFree},
		{"  +1.425.555.0100  ", us, "+14255550100", TypeGeographic},
		{"+1 (425) 555-0100.", us, "+14255550100", TypeGeographic},
	} {
		p, refusal := ownNumber(c.raw, c.reg, "number")
		if refusal != nil || p.E164 != c.e164 || p.Type != c.tp || p.Extension != "" {
			t.Errorf("#%d: ownNumber(%q, %s) = %+v, %v; want %s %s", i, c.raw, c.reg.code, p, refusal, c.e164, c.tp)
		}
	}
}

// extensionNotations are notations of +1 206 555 0100 with extension 42
// that libphonenumber reads, in English and in the other languages it
// knows.
var extensionNotations = []string{
	"+1 206 555 0100 ext. 42",
	"+1 206 555 0100 ext 42",
	"+1 206 555 0100 extn 42",
	"+1 206 555 0100 extension 42",
	"+1 206 555 0100 extension: 42",
	"+1 206 555 0100 extensión 42",
	"+1 206 555 0100 EXT. 42",
	"+1 206 555 0100 x42",
	"+1 206 555 0100 X 42",
	"+1 206 555 0100 #42",
	"+1 206 555 0100 ~42",
	"+1 206 555 0100 int 42",
	"+1 206 555 0100,,42",
	"+1 206 555 0100;42",
	"+1 206 555 0100;ext=42",
	"tel:+1-206-555-0100;ext=42",
	"+1 206 555 0100 доб. 42",
	"+1 206 555 0100 anexo 42",
	"+1 206 555 0100 ｅｘｔ 42",
	"＋１ ２０６ ５５５ ０１００ ｘ４２",
	"(206) 555-0100 ext. 42",
	"+1 206 555 0100 - 42#",
}

// TestOwnNumberRefusesExtensions checks that every extension notation is
// refused by addPhoneNumber with a message that names the extension.
func TestOwnNumberRefusesExtensions(t *testing.T) {
	for _, raw := range extensionNotations {
		_, refusal := ownNumber(raw, us, "number")
		if refusal == nil || refusal.Code != CodeInvalidPhoneNumber || !strings.Contains(refusal.Message, "extension (42)") {
			t.Errorf("ownNumber(%q) = %v; want INVALID_PHONE_NUMBER naming the extension 42", raw, refusal)
		}
	}
}

// TestTransferTargetKeepsExtensions checks that an overflow target keeps
// the extension of every notation.
func TestTransferTargetKeepsExtensions(t *testing.T) {
	for _, raw := range extensionNotations {
		p, refusal := transferTarget(raw, us, "transferTo")
		if refusal != nil || p.E164 != "+12065550100" || p.Extension != "42" {
			t.Errorf("transferTarget(%q) = %+v, %v; want +12065550100 extension 42", raw, p, refusal)
		}
	}
}

// TestNumberWithUnreadParts checks that input libphonenumber would partly
// ignore is refused, naming what would be ignored.
func TestNumberWithUnreadParts(t *testing.T) {
	for i, c := range []struct{ raw, unread string }{
		{"+1 206 555 0100 / x12", "/ x12"},
		{`+1 206 555 0100 \ x12`, `\ x12`},
		{"+1 206 555 0100/x 1234567890123", "/x 1234567890123"},
		{"tel:+12065550100;isub=1234", ";isub=1234"},
		{"tel:5550100;phone-context=+1-206", ";phone-context=+1-206"},
		{"Fax: +1 206 555 0100", "Fax:"},
		{"Phone +1 206 555 0100", "Phone"},
		{"Call 206 555 0100", "Call"},
		{"+1 206 555 0100 ab", "ab"},
		{"+1 206 555 0100 Z", "Z"},
	} {
		for _, read := range []func(string, region, ...string) (ParsedNumber, *Error){ownNumber, transferTarget} {
			p, refusal := read(c.raw, us, "number")
			if refusal == nil || refusal.Code != CodeInvalidPhoneNumber || !strings.Contains(refusal.Message, strconv.Quote(c.unread)) {
				t.Errorf("#%d: %q gave %+v, %v; want INVALID_PHONE_NUMBER naming %q", i, c.raw, p, refusal, c.unread)
			}
		}
	}
}

// TestNumberLength checks that the length limit counts characters after
// NFKC normalisation and that its message names the limit.
func TestNumberLength(t *testing.T) {
	fullWidth := "＋８１－３－１２３４－５６７８" // 15 characters, 45 bytes
	padded := "+81" + strings.Repeat(" ", MaxPhoneNumberLen-len("+81312345678")) + "312345678"
	for _, raw := range []string{fullWidth, padded, strings.Replace(padded, " ", "\u3000", -1)} {
		if p, refusal := ownNumber(raw, us, "number"); refusal != nil || p.E164 != "+81312345678" {
			t.Errorf("ownNumber(%q) (%d characters) = %+v, %v; want +81312345678", raw, len([]rune(raw)), p, refusal)
		}
	}
	for _, raw := range []string{padded + "0", "+81" + strings.Repeat("－", MaxPhoneNumberLen) + "312345678", strings.Repeat("1", 1000)} {
		_, refusal := ownNumber(raw, us, "number")
		if refusal == nil || !strings.Contains(refusal.Message, "at most 64 characters") {
			t.Errorf("ownNumber of %d characters = %v; want a refusal naming the limit of 64", len([]rune(raw)), refusal)
		}
	}
}

// TestNationalNumberNeedsRegion checks the message for a number without a
// country code that is not valid in the region it was read in.
func TestNationalNumberNeedsRegion(t *testing.T) {
	for _, c := range []struct {
		raw   string
		reg   region
		wants []string
	}{
		{"020 7946 0018", us, []string{"no country code", "US", "DEFAULT_REGION", "region"}},
		{"020 7946 0018", region{"US", true}, []string{"no country code", "US, the region given", "region"}},
		{"(425) 555-0199", region{"GB", true}, []string{"no country code", "GB, the region given"}},
	} {
		_, refusal := ownNumber(c.raw, c.reg, "number")
		if refusal == nil {
			t.Fatalf("ownNumber(%q, %s) accepted", c.raw, c.reg.code)
		}
		for _, w := range c.wants {
			if !strings.Contains(refusal.Message, w) {
				t.Errorf("ownNumber(%q, %s): %q does not say %q", c.raw, c.reg.code, refusal.Message, w)
			}
		}
	}
}

// TestRegion checks region codes: ISO 3166-1 alpha-2 codes the phone
// library knows, in any case; anything else is refused with a message.
func TestRegion(t *testing.T) {
	for in, want := range map[string]string{"US": "US", "gb": "GB", " De ": "DE", "jp": "JP",
		"ＧＢ": "GB", "ｊｐ": "JP", "\u3000ＤＥ\u3000": "DE", "G\u200bB": "GB", "\ufeffUS": "US"} {
		if got, err := Region(in); err != nil || got != want {
			t.Errorf("Region(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"UK", "USA", "ZZ", "001", "1", "", "U", "Ü S", "Ｕ", "ＧＢＲ", "G\u202eB", "\u200b"} {
		if got, err := Region(in); err == nil || !strings.Contains(err.Error(), "ISO 3166-1 alpha-2") {
			t.Errorf("Region(%q) = %q, %v; want an error that says what a region code is", in, got, err)
		}
	}
	if _, err := Region("UK"); err == nil || !strings.Contains(err.Error(), "GB") {
		t.Errorf("Region(UK) = %v; want a hint that the United Kingdom is GB", err)
	}
}

// TestTransferTargetTypes checks which number types an overflow transfers
// to: any but premium-rate, shared-cost and personal numbers.
func TestTransferTargetTypes(t *testing.T) {
	accepted := map[string]phonenumbers.PhoneNumberType{"GB": phonenumbers.MOBILE, "US": phonenumbers.TOLL_FREE,
		"DE": phonenumbers.FIXED_LINE, "FR": phonenumbers.VOIP, "JP": phonenumbers.PAGER}
	for regionCode, tp := range accepted {
		raw := exampleNumber(t, regionCode, tp)
		if p, refusal := transferTarget(raw, us, "transferTo"); refusal != nil {
			t.Errorf("transferTarget(%s, %s number) = %+v, %v; want it accepted", raw, numberTypeName(tp), p, refusal)
		}
	}
	for _, c := range []struct {
		region string
		tp     phonenumbers.PhoneNumberType
	}{
		{"US", phonenumbers.PREMIUM_RATE}, {"GB", phonenumbers.PREMIUM_RATE},
		{"GB", phonenumbers.PERSONAL_NUMBER}, {"FR", phonenumbers.SHARED_COST}, {"DE", phonenumbers.SHARED_COST},
		{"DE", phonenumbers.PERSONAL_NUMBER}, {"US", phonenumbers.PERSONAL_NUMBER},
	} {
		raw := exampleNumber(t, c.region, c.tp)
		_, refusal := transferTarget(raw, us, "transferTo")
		if refusal == nil || refusal.Code != CodeInvalidPhoneNumber || !strings.Contains(refusal.Message, numberTypeName(c.tp)) {
			t.Errorf("transferTarget(%s, %s number) = %v; want INVALID_PHONE_NUMBER naming its type", raw, numberTypeName(c.tp), refusal)
		}
	}
}

// exampleNumber returns libphonenumber's example number of a type in a
// region, in international notation.
func exampleNumber(t *testing.T, regionCode string, tp phonenumbers.PhoneNumberType) string {
	t.Helper()
	n := phonenumbers.GetExampleNumberForType(regionCode, tp)
	if n == nil {
		t.Fatalf("no example %s number in %s", numberTypeName(tp), regionCode)
	}
	return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
}

// TestDigitsOfEveryScript checks that decimal digits of any script are
// read as the ASCII digits they stand for, in the number and in its
// extension: libphonenumber itself maps only Arabic-Indic digits, so
// Devanagari ones made no number and an extension in Thai digits was kept
// as given, which no keypad dials.
func TestDigitsOfEveryScript(t *testing.T) {
	targets := map[string]string{ // transfer target → extension wanted
		"+1 206 555 0100 ext १२": "12", // Devanagari
		"+1 206 555 0100 ext ๑๒": "12", // Thai
		"+1 206 555 0100 ext ১২": "12", // Bengali
		"+1 206 555 0100 ext ٤٢": "42", // Arabic-Indic
		"+1 206 555 0100 x ۴۲":   "42", // Extended Arabic-Indic
		"+1 206 555 0100 ext ᠑᠒": "12", // Mongolian
		"+1 206 555 0100 #߁߂":    "12", // NKo
		"+1 206 555 0100 ext 𝟏𝟐": "12", // mathematical bold (NFKC)
		"+१ २०६ ५५५ ०१०० ext १२": "12",
		"+๑ ๒๐๖ ๕๕๕ ๐๑๐๐":        "",
		"+1 ২০৬ ৫৫৫ ০১০০;ext=৭":  "7",
	}
	for raw, ext := range targets {
		p, refusal := transferTarget(raw, us, "transferTo")
		if refusal != nil || p.E164 != "+12065550100" || p.Extension != ext {
			t.Errorf("transferTarget(%q) = %+v, %v; want +12065550100 extension %q", raw, p, refusal, ext)
		}
	}
	for _, raw := range []string{"+१ ४२५ ५५५ ०१००", "+๑ ๔๒๕ ๕๕๕ ๐๑๐๐", "(४२५) ५५५-०१००"} {
		p, refusal := ownNumber(raw, us, "number")
		if refusal != nil || p.E164 != "+14255550100" {
			t.Errorf("ownNumber(%q) = %+v, %v; want +14255550100", raw, p, refusal)
		}
	}
	p, refusal := ownNumber("+1 425 555 0100 ext ๑๒", us, "number")
	if refusal == nil || !strings.Contains(refusal.Message, "(12)") {
		t.Errorf("ownNumber with a Thai extension = %+v, %v; want a refusal naming extension 12", p, refusal)
	}
}
