package main

import (
	"io"
	"strings"
	"testing"

	"outdial/models/dbtest"
)

// The default region as the command sets it: its flag and variable, and
// a server process started with it. The rules for phone numbers written
// without a country code are tested through the API in package resolvers
// (phone_input_test.go).

// addNumberRegion adds a number, in a region when given.
const addNumberRegion = `mutation($number: String!, $region: String) {
	addPhoneNumber(input: {number: $number, region: $region}) { phoneNumber { e164 } userErrors { field message code } } }`

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

// TestDefaultRegionProcess starts the server as a process with
// DEFAULT_REGION=GB in its environment and adds a London number in
// national notation.
func TestDefaultRegionProcess(t *testing.T) {
	t.Parallel()
	p := launchProcess(t, "gb",
		[]string{"-listen", "127.0.0.1:0", "-database", dbtest.URL(t), "-admin-token", testAdminToken},
		[]string{"DEFAULT_REGION=GB"})
	p.mustBeHealthy()
	var added struct{ PhoneNumber struct{ E164 string } }
	p.mutate("addPhoneNumber", addNumberRegion, map[string]any{"number": "020 7946 0018"}, &added)
	if added.PhoneNumber.E164 != "+442079460018" {
		t.Errorf("020 7946 0018 on a server started with DEFAULT_REGION=GB: %+v", added.PhoneNumber)
	}
}
