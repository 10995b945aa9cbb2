package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"outdial/calling"
	"outdial/models/dbtest"
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
	e        *testEnv
	queue    string
	callerID string // +1 425 555 0100, with MAKE_CALLS
}

func newPhoneWorld(e *testEnv) phoneWorld {
	return phoneWorld{e: e, queue: e.queueID("Support", "VOICE"), callerID: e.addNumberID("+1 425 555 0100", "MAKE_CALLS")}
}

// overflow sets the queue's overflow to transferTo, which must be accepted.
func (w phoneWorld) overflow(transferTo string, region any) overflowOf {
	w.e.t.Helper()
	var out overflowOf
	w.e.mustMutate("setQueueOverflow", setOverflowRegion, map[string]any{"q": w.queue, "to": transferTo, "num": w.callerID, "region": region}, &out)
	if out.Queue.Overflow == nil {
		w.e.t.Fatalf("setQueueOverflow(%q) left no overflow", transferTo)
	}
	return out
}

// storedOverflow reads the queue's overflow back.
func (w phoneWorld) storedOverflow() (transferTo string, ext *string) {
	w.e.t.Helper()
	var data struct {
		Node struct {
			Overflow *struct {
				TransferTo          string
				TransferToExtension *string
			}
		}
	}
	w.e.query(`query($id: ID!) { node(id: $id) { ... on Queue { overflow { transferTo transferToExtension } } } }`,
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
	e := setup(t)
	w := newPhoneWorld(e)
	notations := []string{
		"+1 206 555 0123 ext. 42", "+1 206 555 0123 x42", "+1 206 555 0123 #42", "+1 206 555 0123,,42",
		"+1 206 555 0123;ext=42", "tel:+1-206-555-0123;ext=42", "+1 206 555 0123 extension 42",
		"+1 206 555 0123 доб. 42", "+1 206 555 0123 anexo 42", "＋１ ２０６ ５５５ ０１２３ ｅｘｔ ４２", "(206) 555-0123 ext. 42",
	}
	for _, raw := range notations {
		t.Run(raw, func(t *testing.T) {
			e := e.as(t)
			ue := e.refused("INVALID_PHONE_NUMBER", "addPhoneNumber", addNumberRegion, map[string]any{"number": raw})
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
	e.mustMutate("clearQueueOverflow", clearOverflow, map[string]any{"id": w.queue}, nil)
	for _, raw := range []string{"+1 206 555 0123 / x42", "tel:+12065550123;isub=42", "Fax: +1 206 555 0123", "+1 206 555 0123 ab"} {
		for _, c := range []struct{ field, query, path string }{
			{"addPhoneNumber", addNumberRegion, "number"}, {"setQueueOverflow", setOverflowRegion, "transferTo"},
		} {
			ue := e.refused("INVALID_PHONE_NUMBER", c.field, c.query, map[string]any{"number": raw, "to": raw, "q": w.queue, "num": w.callerID})
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
	e := setup(t)
	w := newPhoneWorld(e)
	for _, own := range []string{"+1 425 555 0100", "(425) 555-0100", "tel:+14255550100", "+1 425 555 0100 ext. 7"} {
		ue := e.refused("INVALID_INPUT", "setQueueOverflow", setOverflowRegion, map[string]any{"q": w.queue, "to": own, "num": w.callerID})
		if !slices.Equal(ue.Field, []string{"input", "transferTo"}) || !strings.Contains(ue.Message, "own caller ID") {
			t.Errorf("overflow to its caller ID %q refused with %+v; want INVALID_INPUT on [input transferTo]", own, ue)
		}
	}
	for raw, kind := range map[string]string{
		"+1 900 234 5678": "premium-rate", "+44 901 234 5678": "premium-rate", "+33 891 12 34 56": "premium-rate",
		"+33 884 01 23 45": "shared-cost", "+49 180 1 2345": "shared-cost",
		"+44 70 1234 5678": "personal", "+1 500 234 5678": "personal",
	} {
		ue := e.refused("INVALID_PHONE_NUMBER", "setQueueOverflow", setOverflowRegion, map[string]any{"q": w.queue, "to": raw, "num": w.callerID})
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
	e := setup(t)
	w := newPhoneWorld(e)
	fullWidth := "＋８１－３－１２３４－５６７８" // 15 characters, 45 bytes
	var added struct{ PhoneNumber numberNode }
	e.mustMutate("addPhoneNumber", addNumberRegion, map[string]any{"number": fullWidth}, &added)
	if added.PhoneNumber.E164 != "+81312345678" || added.PhoneNumber.CountryCode != "JP" {
		t.Errorf("full-width %s added as %+v; want +81312345678 in JP", fullWidth, added.PhoneNumber)
	}
	e.refused("ALREADY_EXISTS", "addPhoneNumber", addNumberRegion, map[string]any{"number": "+81-3-1234-5678"})
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
			ue := e.refused("INVALID_PHONE_NUMBER", c.field, c.query, map[string]any{"number": raw, "to": raw, "q": w.queue, "num": w.callerID})
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
	e := setup(t)
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
		e.mustMutate("addPhoneNumber", addNumberRegion, map[string]any{"number": c.raw, "region": c.region}, &added)
		if added.PhoneNumber.E164 != c.e164 {
			t.Errorf("addPhoneNumber(%q, region %v) = %s, want %s", c.raw, c.region, added.PhoneNumber.E164, c.e164)
		}
	}
	if got := w.overflow("020 7946 0020", "GB").Queue.Overflow.TransferTo; got != "+442079460020" {
		t.Errorf("overflow to 020 7946 0020 in GB: %s", got)
	}
	ue := e.refused("INVALID_PHONE_NUMBER", "addPhoneNumber", addNumberRegion, map[string]any{"number": "020 7946 0018"})
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
			ue := e.refused("INVALID_INPUT", c.field, c.query,
				map[string]any{"number": c.number, "to": c.number, "q": w.queue, "num": w.callerID, "region": bad})
			if !slices.Equal(ue.Field, []string{"input", "region"}) || !strings.Contains(ue.Message, "ISO 3166-1 alpha-2") {
				t.Errorf("%s with region %q refused with %+v; want INVALID_INPUT on [input region]", c.field, bad, ue)
			}
		}
	}

	gb := setup(t, func(c *config) { c.DefaultRegion = "GB" })
	var added struct{ PhoneNumber numberNode }
	gb.mustMutate("addPhoneNumber", addNumberRegion, map[string]any{"number": "020 7946 0018"}, &added)
	if added.PhoneNumber.E164 != "+442079460018" || added.PhoneNumber.CountryCode != "GB" {
		t.Errorf("020 7946 0018 on a server with DEFAULT_REGION=GB: %+v", added.PhoneNumber)
	}
	ue = gb.refused("INVALID_PHONE_NUMBER", "addPhoneNumber", addNumberRegion, map[string]any{"number": "(425) 555-0199"})
	if !strings.Contains(ue.Message, "GB, this server's default region") {
		t.Errorf("(425) 555-0199 on a GB server: %q does not name the default region", ue.Message)
	}
	gb.mustMutate("addPhoneNumber", addNumberRegion, map[string]any{"number": "(425) 555-0199", "region": "US"}, nil)
}

// TestDefaultRegionConfig checks DEFAULT_REGION and -default-region: the
// default, the variable, the flag winning over it, a refused value, and
// the usage text.
func TestDefaultRegionConfig(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	for _, c := range []struct {
		args []string
		vars map[string]string
		want string
	}{
		{nil, nil, "US"},
		{nil, map[string]string{"DEFAULT_REGION": "gb"}, "GB"},
		{[]string{"-default-region", "DE"}, map[string]string{"DEFAULT_REGION": "GB"}, "DE"},
	} {
		cfg, err := parseConfig(c.args, env(c.vars), io.Discard)
		if err != nil || cfg.DefaultRegion != c.want {
			t.Errorf("parseConfig(%v, %v): DefaultRegion %q, %v; want %s", c.args, c.vars, cfg.DefaultRegion, err, c.want)
		}
	}
	_, err := parseConfig(nil, env(map[string]string{"DEFAULT_REGION": "UK"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "DEFAULT_REGION") || !strings.Contains(err.Error(), "GB") {
		t.Errorf("DEFAULT_REGION=UK: %v; want an error naming the setting and GB", err)
	}
	var usage strings.Builder
	_, _ = parseConfig([]string{"-h"}, env(nil), &usage)
	if !strings.Contains(usage.String(), "-default-region") || !strings.Contains(usage.String(), "DEFAULT_REGION") {
		t.Errorf("usage does not list -default-region (DEFAULT_REGION):\n%s", usage.String())
	}
}

// TestDefaultRegionProcess starts the server binary with DEFAULT_REGION=GB
// in its environment and adds a London number in national notation.
func TestDefaultRegionProcess(t *testing.T) {
	t.Parallel()
	bin := outdialBinary(t)
	port := strconv.Itoa(freePort(t))
	p := &serverProc{tb: t, name: "gb", url: "http://127.0.0.1:" + port, out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.CommandContext(context.Background(), bin, "-listen", "127.0.0.1:"+port, "-database", dbtest.URL(t), "-admin-token", testAdminToken)
	p.cmd.Env = append(os.Environ(), "DEFAULT_REGION=GB")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	p.mustBeHealthy()
	var added struct{ PhoneNumber numberNode }
	p.mutate("addPhoneNumber", addNumberRegion, map[string]any{"number": "020 7946 0018"}, &added)
	if added.PhoneNumber.E164 != "+442079460018" {
		t.Errorf("020 7946 0018 on a server started with DEFAULT_REGION=GB: %+v", added.PhoneNumber)
	}
}
