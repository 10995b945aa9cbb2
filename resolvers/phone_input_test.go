package resolvers_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"outdial/calling"
	"outdial/internal/server"
	"outdial/internal/testenv"
)

const (
	addNumberRegion = `mutation($number: String!, $region: String) {
		addPhoneNumber(input: {number: $number, region: $region}) {
			phoneNumber { id e164 countryCode type } userErrors { field message code } } }`
	setOverflowRegion = `mutation($q: ID!, $to: String!, $num: ID!, $region: String) {
		setQueueOverflow(input: {queueId: $q, transferTo: $to, callerIdNumberId: $num, region: $region}) {
			queue { id overflow { transferTo transferToExtension callerId { e164 } } } userErrors { field message code } } }`
)

// numberNode is a PhoneNumber as these tests read it.
type numberNode struct {
	ID, E164, CountryCode, Type string
}

// overflowOf is a setQueueOverflow payload.
type overflowOf struct {
	Queue struct {
		Overflow *struct {
			TransferTo          string
			TransferToExtension *string
			CallerID            struct{ E164 string } `json:"callerId"`
		}
	}
}

// phoneWorld is a voice queue and an outbound caller ID for overflows.
type phoneWorld struct {
	e        *testenv.Env
	queue    string
	callerID string // +1 425 555 0100, with MAKE_CALLS
}

func newPhoneWorld(e *testenv.Env) phoneWorld {
	return phoneWorld{e: e, queue: e.QueueID("Support", "VOICE"), callerID: e.AddNumberID("+1 425 555 0100", "MAKE_CALLS")}
}

// overflow sets the queue's overflow to transferTo, which must be accepted.
func (w phoneWorld) overflow(transferTo string, region any) overflowOf {
	w.e.T.Helper()
	var out overflowOf
	w.e.MustMutate("setQueueOverflow", setOverflowRegion, map[string]any{"q": w.queue, "to": transferTo, "num": w.callerID, "region": region}, &out)
	if out.Queue.Overflow == nil {
		w.e.T.Fatalf("setQueueOverflow(%q) left no overflow", transferTo)
	}
	return out
}

// storedOverflow reads the queue's overflow back.
func (w phoneWorld) storedOverflow() (transferTo string, ext *string) {
	w.e.T.Helper()
	var data struct {
		Node struct {
			Overflow *struct {
				TransferTo          string
				TransferToExtension *string
			}
		}
	}
	w.e.Query(`query($id: ID!) { node(id: $id) { ... on Queue { overflow { transferTo transferToExtension } } } }`,
		map[string]any{"id": w.queue}, &data)
	if data.Node.Overflow == nil {
		return "", nil
	}
	return data.Node.Overflow.TransferTo, data.Node.Overflow.TransferToExtension
}

// TestPhoneNumberExtensions checks every notation libphonenumber reads as
// an extension: addPhoneNumber refuses it (a number added is a line of its
// own), setQueueOverflow keeps it as transferToExtension, stored; and text
// the library would ignore is refused by both.
func TestPhoneNumberExtensions(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	w := newPhoneWorld(e)
	notations := []string{
		"+1 206 555 0123 ext. 42", "+1 206 555 0123 x42", "+1 206 555 0123 #42", "+1 206 555 0123,,42",
		"+1 206 555 0123;ext=42", "tel:+1-206-555-0123;ext=42", "+1 206 555 0123 extension 42",
		"+1 206 555 0123 доб. 42", "+1 206 555 0123 anexo 42", "＋１ ２０６ ５５５ ０１２３ ｅｘｔ ４２", "(206) 555-0123 ext. 42",
	}
	for _, raw := range notations {
		t.Run(raw, func(t *testing.T) {
			e := e.As(t)
			ue := e.Refused("INVALID_PHONE_NUMBER", "addPhoneNumber", addNumberRegion, map[string]any{"number": raw})
			if !slices.Equal(ue.Field, []string{"input", "number"}) || !strings.Contains(ue.Message, "extension (42)") {
				t.Errorf("addPhoneNumber(%q) refused with %+v; want the extension 42 named on [input number]", raw, ue)
			}
			w := w
			w.e = e
			out := w.overflow(raw, nil)
			if o := out.Queue.Overflow; o.TransferTo != "+12065550123" || o.TransferToExtension == nil || *o.TransferToExtension != "42" {
				t.Errorf("setQueueOverflow(%q) gave %+v; want +12065550123 extension 42", raw, o)
			}
			if to, ext := w.storedOverflow(); to != "+12065550123" || ext == nil || *ext != "42" {
				t.Errorf("after setQueueOverflow(%q) the queue holds %s ext %v", raw, to, ext)
			}
		})
	}
	// A target without an extension clears the previous one; clearing the
	// overflow clears both.
	w.overflow("+1 206 555 0123", nil)
	if to, ext := w.storedOverflow(); to != "+12065550123" || ext != nil {
		t.Errorf("a target without extension left %s ext %v", to, ext)
	}
	e.MustMutate("clearQueueOverflow", testenv.ClearOverflow, map[string]any{"id": w.queue}, nil)
	for _, raw := range []string{"+1 206 555 0123 / x42", "tel:+12065550123;isub=42", "Fax: +1 206 555 0123", "+1 206 555 0123 ab"} {
		for _, c := range []struct{ field, query, path string }{
			{"addPhoneNumber", addNumberRegion, "number"}, {"setQueueOverflow", setOverflowRegion, "transferTo"},
		} {
			ue := e.Refused("INVALID_PHONE_NUMBER", c.field, c.query, map[string]any{"number": raw, "to": raw, "q": w.queue, "num": w.callerID})
			if !slices.Equal(ue.Field, []string{"input", c.path}) || !strings.Contains(ue.Message, "would be ignored") {
				t.Errorf("%s(%q) refused with %+v; want what would be ignored named on [input %s]", c.field, raw, ue, c.path)
			}
		}
	}
}

// TestOverflowTargetRules checks the transfer targets an overflow refuses:
// its own caller ID (in any notation, with or without an extension) and
// numbers charged above ordinary rates; and some it accepts.
func TestOverflowTargetRules(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	w := newPhoneWorld(e)
	for _, own := range []string{"+1 425 555 0100", "(425) 555-0100", "tel:+14255550100", "+1 425 555 0100 ext. 7"} {
		ue := e.Refused("INVALID_INPUT", "setQueueOverflow", setOverflowRegion, map[string]any{"q": w.queue, "to": own, "num": w.callerID})
		if !slices.Equal(ue.Field, []string{"input", "transferTo"}) || !strings.Contains(ue.Message, "own caller ID") {
			t.Errorf("overflow to its caller ID %q refused with %+v; want INVALID_INPUT on [input transferTo]", own, ue)
		}
	}
	for raw, kind := range map[string]string{
		"+1 900 234 5678": "premium-rate", "+44 901 234 5678": "premium-rate", "+33 891 12 34 56": "premium-rate",
		"+33 884 01 23 45": "shared-cost", "+49 180 1 2345": "shared-cost",
		"+44 70 1234 5678": "personal", "+1 500 234 5678": "personal",
	} {
		ue := e.Refused("INVALID_PHONE_NUMBER", "setQueueOverflow", setOverflowRegion, map[string]any{"q": w.queue, "to": raw, "num": w.callerID})
		if !strings.Contains(ue.Message, kind) || !slices.Equal(ue.Field, []string{"input", "transferTo"}) {
			t.Errorf("overflow to %s refused with %+v; want its type (%s) named on [input transferTo]", raw, ue, kind)
		}
	}
	for raw, want := range map[string]string{
		"+44 7911 123456": "+447911123456", "+1 800 555 0199": "+18005550199", "+49 30 123456": "+4930123456", "+1 206 555 0199": "+12065550199",
	} {
		if got := w.overflow(raw, nil).Queue.Overflow.TransferTo; got != want {
			t.Errorf("overflow to %s: transferTo %s, want %s", raw, got, want)
		}
	}
}

// TestPhoneNumberLength checks that the length limit of a number counts
// characters after NFKC normalisation, names the limit, and applies to
// both mutations.
func TestPhoneNumberLength(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	w := newPhoneWorld(e)
	fullWidth := "＋８１－３－１２３４－５６７８" // 15 characters, 45 bytes
	var added struct{ PhoneNumber numberNode }
	e.MustMutate("addPhoneNumber", addNumberRegion, map[string]any{"number": fullWidth}, &added)
	if added.PhoneNumber.E164 != "+81312345678" || added.PhoneNumber.CountryCode != "JP" {
		t.Errorf("full-width %s added as %+v; want +81312345678 in JP", fullWidth, added.PhoneNumber)
	}
	e.Refused("ALREADY_EXISTS", "addPhoneNumber", addNumberRegion, map[string]any{"number": "+81-3-1234-5678"})
	at := func(n int) string { // +1 206 555 0188 spread over n characters
		return "+1" + strings.Repeat(" ", n-len("+12065550188")) + "2065550188"
	}
	for _, raw := range []string{at(calling.MaxPhoneNumberLen), strings.Replace(at(calling.MaxPhoneNumberLen), " ", "\u3000", -1)} {
		if got := w.overflow(raw, nil).Queue.Overflow.TransferTo; got != "+12065550188" {
			t.Errorf("a target of %d characters (%d bytes) gave %s", len([]rune(raw)), len(raw), got)
		}
	}
	long := at(calling.MaxPhoneNumberLen + 1)
	for _, c := range []struct{ field, query string }{{"addPhoneNumber", addNumberRegion}, {"setQueueOverflow", setOverflowRegion}} {
		for _, raw := range []string{long, strings.Repeat("１", 200)} {
			ue := e.Refused("INVALID_PHONE_NUMBER", c.field, c.query, map[string]any{"number": raw, "to": raw, "q": w.queue, "num": w.callerID})
			if !strings.Contains(ue.Message, "at most 64 characters") || !strings.Contains(ue.Message, strconv.Itoa(len([]rune(raw)))) {
				t.Errorf("%s of %d characters: %q does not name the limit and the length", c.field, len([]rune(raw)), ue.Message)
			}
		}
	}
}

// TestNationalNumbers checks the region of numbers written without a
// country code: given in the input, or the server's DEFAULT_REGION.
func TestNationalNumbers(t *testing.T) {
	t.Parallel()
	e := testenv.Setup(t)
	w := newPhoneWorld(e)
	for _, c := range []struct {
		raw    string
		region any
		e164   string
	}{
		{"(425) 555-0199", "US", "+14255550199"},
		{"020 7946 0018", "GB", "+442079460018"},
		{"030 123456", "de", "+4930123456"},
		{"(425) 555-0198", nil, "+14255550198"},
		{"(425) 555-0197", "", "+14255550197"},
		{"+44 20 7946 0019", "US", "+442079460019"},
	} {
		var added struct{ PhoneNumber numberNode }
		e.MustMutate("addPhoneNumber", addNumberRegion, map[string]any{"number": c.raw, "region": c.region}, &added)
		if added.PhoneNumber.E164 != c.e164 {
			t.Errorf("addPhoneNumber(%q, region %v) = %s, want %s", c.raw, c.region, added.PhoneNumber.E164, c.e164)
		}
	}
	if got := w.overflow("020 7946 0020", "GB").Queue.Overflow.TransferTo; got != "+442079460020" {
		t.Errorf("overflow to 020 7946 0020 in GB: %s", got)
	}
	ue := e.Refused("INVALID_PHONE_NUMBER", "addPhoneNumber", addNumberRegion, map[string]any{"number": "020 7946 0018"})
	for _, want := range []string{"no country code", "US", "DEFAULT_REGION", "region"} {
		if !strings.Contains(ue.Message, want) {
			t.Errorf("020 7946 0018 without a region: %q does not say %q", ue.Message, want)
		}
	}
	// An unknown region is refused, also beside a number with its country
	// code, where a valid region would be ignored (the schema says so).
	for _, bad := range []string{"UK", "USA", "ZZ", "44"} {
		for _, c := range []struct{ field, query, number string }{
			{"addPhoneNumber", addNumberRegion, "020 7946 0018"}, {"setQueueOverflow", setOverflowRegion, "020 7946 0018"},
			{"addPhoneNumber", addNumberRegion, "+44 20 7946 0017"}, {"setQueueOverflow", setOverflowRegion, "+44 20 7946 0017"},
		} {
			ue := e.Refused("INVALID_INPUT", c.field, c.query,
				map[string]any{"number": c.number, "to": c.number, "q": w.queue, "num": w.callerID, "region": bad})
			if !slices.Equal(ue.Field, []string{"input", "region"}) || !strings.Contains(ue.Message, "ISO 3166-1 alpha-2") {
				t.Errorf("%s with region %q refused with %+v; want INVALID_INPUT on [input region]", c.field, bad, ue)
			}
		}
	}

	gb := testenv.Setup(t, func(c *server.Config) { c.DefaultRegion = "GB" })
	var added struct{ PhoneNumber numberNode }
	gb.MustMutate("addPhoneNumber", addNumberRegion, map[string]any{"number": "020 7946 0018"}, &added)
	if added.PhoneNumber.E164 != "+442079460018" || added.PhoneNumber.CountryCode != "GB" {
		t.Errorf("020 7946 0018 on a server with DEFAULT_REGION=GB: %+v", added.PhoneNumber)
	}
	ue = gb.Refused("INVALID_PHONE_NUMBER", "addPhoneNumber", addNumberRegion, map[string]any{"number": "(425) 555-0199"})
	if !strings.Contains(ue.Message, "GB, this server's default region") {
		t.Errorf("(425) 555-0199 on a GB server: %q does not name the default region", ue.Message)
	}
	gb.MustMutate("addPhoneNumber", addNumberRegion, map[string]any{"number": "(425) 555-0199", "region": "US"}, nil)
}
