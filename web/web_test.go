package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strings"
	"testing"
)

// get requests path from srv with optional headers (name, value pairs),
// without following redirects, and returns the answer and its body.
func get(t *testing.T, srv *httptest.Server, p string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+p, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

var (
	htmlRef   = regexp.MustCompile(`(?:src|href)="([^"]+)"`)
	importRef = regexp.MustCompile(`(?m)(?:^import\b[^'"]*|\bfrom\s+|\bimport\()\s*'([^']+)'`)
)

// TestPagesLoadOnlyTheirOwnFiles: each page, and every script, style and
// module import it loads (followed transitively), is served by this
// handler with its content type; nothing comes from another host, so the
// pages work offline.
func TestPagesLoadOnlyTheirOwnFiles(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	pages := map[string]string{"/": "graphiql.min.js", "/dashboard": "dashboard.js"}
	for page, marker := range pages {
		res, body := get(t, srv, page)
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(body, "<title>Outdial") {
			t.Fatalf("GET %s: %d %s", page, res.StatusCode, res.Header.Get("Content-Type"))
		}
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: Content-Security-Policy %q", page, csp)
		}
		seen := map[string]bool{}
		var follow func(from, ref string)
		follow = func(from, ref string) {
			u, err := url.Parse(ref)
			if err != nil || u.Host != "" || u.Scheme != "" {
				t.Errorf("%s loads %q: not a path of this server", from, ref)
				return
			}
			p := path.Join(path.Dir(from), u.Path)
			if strings.HasPrefix(u.Path, "/") {
				p = u.Path
			}
			if seen[p] || u.Path == "" { // visited, or a fragment of the page
				return
			}
			seen[p] = true
			res, body := get(t, srv, p)
			want := map[string]string{"": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
				".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}[path.Ext(p)]
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != want {
				t.Errorf("%s loads %s: %d %q, want 200 %q", from, p, res.StatusCode, res.Header.Get("Content-Type"), want)
				return
			}
			if path.Ext(p) == ".js" && !strings.HasSuffix(p, ".min.js") {
				for _, m := range importRef.FindAllStringSubmatch(body, -1) {
					follow(p, m[1])
				}
			}
		}
		refs := htmlRef.FindAllStringSubmatch(body, -1)
		for _, m := range refs {
			follow(page, m[1])
		}
		if !strings.Contains(body, marker) || len(refs) < 2 {
			t.Errorf("GET %s: %d references, marker %q", page, len(refs), marker)
		}
		if page == "/dashboard" && !seen["/static/signin.js"] {
			t.Errorf("the dashboard does not load /static/signin.js (seen: %v)", seen)
		}
	}
}

// TestStaticFilesRevalidate: files carry an ETag of their content; a
// browser that has the file gets 304, one with another version gets it.
func TestStaticFilesRevalidate(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for _, p := range []string{"/static/dashboard/dashboard.js", "/static/playground/graphiql.min.css", "/dashboard", "/"} {
		res, body := get(t, srv, p)
		etag := res.Header.Get("ETag")
		if res.StatusCode != http.StatusOK || !regexp.MustCompile(`^"[A-Za-z0-9_-]{22}"$`).MatchString(etag) ||
			res.Header.Get("Cache-Control") != "no-cache" || res.Header.Get("X-Content-Type-Options") != "nosniff" || body == "" {
			t.Errorf("GET %s: %d ETag %q Cache-Control %q", p, res.StatusCode, etag, res.Header.Get("Cache-Control"))
			continue
		}
		if res, body := get(t, srv, p, "If-None-Match", etag); res.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("GET %s with its ETag: %d, want 304 and no body", p, res.StatusCode)
		}
		if res, _ := get(t, srv, p, "If-None-Match", `"an-older-version"`); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s with another ETag: %d, want 200", p, res.StatusCode)
		}
	}
	a, _ := get(t, srv, "/static/dashboard/dashboard.js")
	b, _ := get(t, srv, "/static/dashboard/api.js")
	if a.Header.Get("ETag") == b.Header.Get("ETag") {
		t.Error("two files share an ETag")
	}
}

// TestOnlyFilesAreServed: no listing, no file outside static/, no page
// under a path that does not exist.
func TestOnlyFilesAreServed(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for _, p := range []string{"/static/", "/static/dashboard/", "/static/dashboard", "/static/nope.js",
		"/dashboard/agents", "/dashboard.js", "/index.html", "/static/playground/index.html"} {
		if res, _ := get(t, srv, p); res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusMovedPermanently {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
	for _, p := range []string{"/static/../web.go", "/static/%2e%2e/web.go", "/static/..%2fweb.go", "/static/dashboard/../../web.go"} {
		res, err := http.Get(srv.URL + p) // following the router's redirect to the cleaned path
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != http.StatusNotFound || strings.Contains(string(body), "package web") {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
	res, _ := get(t, srv, "/dashboard/")
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/dashboard" {
		t.Errorf("GET /dashboard/: %d to %q, want 301 to /dashboard", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestVendoredLibrariesCarryTheirLicences: every minified library has a
// licence in its directory.
func TestVendoredLibrariesCarryTheirLicences(t *testing.T) {
	libs := 0
	err := fs.WalkDir(embedded, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(p, ".min.js") {
			return err
		}
		libs++
		licences, err := fs.Glob(embedded, path.Join(path.Dir(p), "LICENSE.*"))
		if err != nil || len(licences) == 0 {
			t.Errorf("%s: no LICENSE.* beside it", p)
		}
		return err
	})
	if err != nil || libs < 4 { // GraphiQL, React, React DOM, graphql-ws
		t.Errorf("%d minified libraries: %v", libs, err)
	}
}
