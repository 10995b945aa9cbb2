package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"outdial/models/dbtest"
)

// startRun runs the whole program (run, as main does) on dbURL with the
// environment env, and returns its standard output once it prints the
// dashboard's address, and a func that stops it.
func startRun(t *testing.T, dbURL string, env map[string]string) (*lockedBuffer, func()) {
	t.Helper()
	out := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	args := []string{"-listen", "127.0.0.1:0", "-database", dbURL}
	go func() { done <- run(ctx, args, func(k string) string { return env[k] }, out, io.Discard) }()
	waitUntil(t, "the dashboard's address in the output", waitTimeout, func() bool {
		select {
		case err := <-done:
			done <- err
			return true
		default:
			return strings.Contains(out.String(), "/dashboard")
		}
	})
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	t.Cleanup(stop)
	return out, stop
}

var signInLink = regexp.MustCompile(`(?m)^Open the (dashboard|playground), signed in: (\S+)$`)

// TestSignInLinks: a generated admin token is printed with links that
// sign the dashboard and the playground in (the token in the fragment);
// a token that was not generated at this start never is.
func TestSignInLinks(t *testing.T) {
	dbURL := dbtest.URL(t)
	out, stop := startRun(t, dbURL, nil)
	text := out.String()
	token := regexp.MustCompile(`Admin token \(shown once, keep it\): (odt_\S+)`).FindStringSubmatch(text)
	if token == nil {
		t.Fatalf("no generated admin token in:\n%s", text)
	}
	links := map[string]*url.URL{}
	for _, m := range signInLink.FindAllStringSubmatch(text, -1) {
		u, err := url.Parse(m[2])
		if err != nil {
			t.Fatalf("link %q: %v", m[2], err)
		}
		links[m[1]] = u
	}
	for page, path := range map[string]string{"dashboard": "/dashboard", "playground": "/"} {
		u := links[page]
		if u == nil {
			t.Fatalf("no %s link in:\n%s", page, text)
		}
		if u.Path != path || u.Fragment != "token="+token[1] || u.RawQuery != "" {
			t.Errorf("%s link %s: want path %s, the token in the fragment only", page, u, path)
		}
		res, err := http.Get(u.String()) // the client drops the fragment, as a browser does
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %d %s", u.Path, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
	base := links["dashboard"].Scheme + "://" + links["dashboard"].Host
	if role := viewerRole(t, base, token[1]); role != "ADMIN" {
		t.Errorf("the link's token: role %q, want ADMIN", role)
	}
	stop()

	t.Run("SecondStart", func(t *testing.T) {
		out, _ := startRun(t, dbURL, nil)
		assertNoTokenPrinted(t, out.String(), token[1])
	})
	t.Run("ADMIN_TOKEN", func(t *testing.T) {
		const fixed = "odt_fixed-admin-token-of-the-operator"
		out, _ := startRun(t, dbtest.URL(t), map[string]string{"ADMIN_TOKEN": fixed})
		assertNoTokenPrinted(t, out.String(), fixed)
	})
}

// assertNoTokenPrinted checks that output says how to sign in without
// printing a token.
func assertNoTokenPrinted(t *testing.T, output, token string) {
	t.Helper()
	if strings.Contains(output, token) || strings.Contains(output, "#token=odt_") || signInLink.MatchString(output) {
		t.Errorf("a token that was not generated now is printed:\n%s", output)
	}
	if !regexp.MustCompile(`(?m)^Dashboard at http://127\.0\.0\.1:\d+/dashboard : sign in with an API token`).MatchString(output) {
		t.Errorf("no dashboard address and sign-in hint in:\n%s", output)
	}
}

// viewerRole returns the role of token on the server at base.
func viewerRole(t *testing.T, base, token string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(`{"query":"{ viewer { role } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Data struct{ Viewer struct{ Role string } }
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("viewer: HTTP %d, %v", res.StatusCode, err)
	}
	return body.Data.Viewer.Role
}
