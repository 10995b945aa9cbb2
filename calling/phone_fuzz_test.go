package calling

import (
	"strings"
	"testing"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"
)

// FuzzParseNumber feeds the phone-number reader any text and region (the
// seed corpus is in testdata/fuzz/FuzzParseNumber; run it longer with
// go test ./calling -run '^$' -fuzz FuzzParseNumber -fuzztime 10m) and
// checks, besides not panicking, that:
//
//   - a refusal is INVALID_PHONE_NUMBER with a message;
//   - an accepted number round-trips: its E.164 (with its extension, for a
//     transfer target) reads again as itself, in any region;
//   - no extension is lost: when libphonenumber reads one, addPhoneNumber
//     refuses the input and a transfer target keeps exactly it;
//   - what addPhoneNumber accepts, a transfer target accepts as the same
//     number (geographic and toll-free numbers are not costly);
//   - no digit is dropped: in an input without letters, the digits end
//     with the national number and its extension.
func FuzzParseNumber(f *testing.F) {
	for _, raw := range extensionNotations {
		f.Add(raw, "US")
	}
	f.Add("(425) 555-0199", "US")
	f.Add("020 7946 0018", "GB")
	f.Add("＋８１－３－１２３４－５６７８", "")
	f.Fuzz(func(t *testing.T, raw, regionCode string) {
		var c checker
		reg, ok := pickRegion(&c, &regionCode, DefaultRegion, "region")
		if !ok {
			return
		}
		own, ownRefusal := ownNumber(raw, reg, "number")
		target, targetRefusal := transferTarget(raw, reg, "transferTo")
		for _, r := range []*Error{ownRefusal, targetRefusal} {
			if r != nil && (r.Code != CodeInvalidPhoneNumber || r.Message == "") {
				t.Fatalf("%q: refusal %v, want INVALID_PHONE_NUMBER with a message", raw, r)
			}
		}
		if ownRefusal == nil {
			checkOwnRoundTrip(t, raw, own)
			if targetRefusal != nil || target.E164 != own.E164 || target.Extension != "" {
				t.Fatalf("%q: added as %+v but as a transfer target %+v, %v", raw, own, target, targetRefusal)
			}
		}
		if targetRefusal == nil {
			checkTargetRoundTrip(t, raw, target)
		}
		checkExtensionKept(t, raw, reg, ownRefusal, target, targetRefusal)
		if targetRefusal == nil {
			checkDigitsKept(t, raw, target)
		}
	})
}

func checkOwnRoundTrip(t *testing.T, raw string, p ParsedNumber) {
	t.Helper()
	for _, code := range []string{"US", "GB", "JP"} {
		again, refusal := ownNumber(p.E164, region{code: code}, "number")
		if refusal != nil || again != p {
			t.Fatalf("%q read as %+v, whose E.164 reads (in %s) as %+v, %v", raw, p, code, again, refusal)
		}
	}
}

func checkTargetRoundTrip(t *testing.T, raw string, p ParsedNumber) {
	t.Helper()
	written := p.E164
	if p.Extension != "" {
		written += ";ext=" + p.Extension
	}
	again, refusal := transferTarget(written, region{code: "GB"}, "transferTo")
	if refusal != nil || again != p {
		t.Fatalf("%q read as %+v, whose %q reads as %+v, %v", raw, p, written, again, refusal)
	}
}

// checkExtensionKept compares with the extension libphonenumber itself
// reads in raw.
func checkExtensionKept(t *testing.T, raw string, reg region, ownRefusal *Error, target ParsedNumber, targetRefusal *Error) {
	t.Helper()
	num, err := phonenumbers.Parse(strings.TrimSpace(norm.NFKC.String(raw)), reg.code)
	if err != nil || num.GetExtension() == "" {
		return
	}
	if ownRefusal == nil {
		t.Fatalf("%q: libphonenumber reads extension %s, yet the number was accepted for addPhoneNumber", raw, num.GetExtension())
	}
	if targetRefusal == nil && target.Extension != num.GetExtension() {
		t.Fatalf("%q: libphonenumber reads extension %s, the transfer target keeps %q", raw, num.GetExtension(), target.Extension)
	}
}

// checkDigitsKept checks, for an input without letters, that its digits
// end with the national significant number and the extension.
func checkDigitsKept(t *testing.T, raw string, p ParsedNumber) {
	t.Helper()
	s := norm.NFKC.String(raw)
	if strings.ContainsFunc(s, unicode.IsLetter) {
		return
	}
	digits := phonenumbers.NormalizeDigitsOnly(s)
	num, err := phonenumbers.Parse(p.E164, "")
	if err != nil {
		t.Fatalf("%q: its E.164 %s does not parse: %v", raw, p.E164, err)
	}
	if want := phonenumbers.GetNationalSignificantNumber(num) + p.Extension; !strings.HasSuffix(digits, want) {
		t.Fatalf("%q read as %+v: its digits %s do not end with %s", raw, p, digits, want)
	}
}
