package web

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var embedded embed.FS

// Content security policies. The dashboard runs only its own scripts and
// styles and talks only to its own origin; GraphiQL's editor (CodeMirror)
// sets styles inline. Neither page may be framed, so that no other site
// can overlay it (clickjacking).
const (
	dashboardPolicy  = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	playgroundPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; font-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

// Handler returns the handler of the browser pages: GET / (the playground),
// GET /dashboard (the dashboard; /dashboard/ redirects there) and
// GET /static/… (their scripts, styles and libraries). Every file is served
// with a strong ETag of its content and Cache-Control: no-cache, so a
// browser revalidates it (304) and never runs a stale script after an
// upgrade.
func Handler() http.Handler {
	static, err := fs.Sub(embedded, "static")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	files := newFileServer(static)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		files.page(w, r, "playground/index.html", playgroundPolicy)
	})
	mux.HandleFunc("GET /dashboard", func(w http.ResponseWriter, r *http.Request) {
		files.page(w, r, "dashboard/index.html", dashboardPolicy)
	})
	mux.HandleFunc("GET /dashboard/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dashboard", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		files.serve(w, r, strings.TrimPrefix(r.URL.Path, "/static/"))
	})
	return mux
}

// Paths returns the route patterns Handler answers, for the server's mux.
func Paths() []string {
	return []string{"GET /{$}", "GET /dashboard", "GET /dashboard/{$}", "GET /static/"}
}

// fileServer serves embedded files with ETags computed once, at start.
type fileServer struct {
	fsys  fs.FS
	etags map[string]string
}

// newFileServer hashes every file of fsys.
func newFileServer(fsys fs.FS) *fileServer {
	s := &fileServer{fsys: fsys, etags: map[string]string{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		s.etags[name] = `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
		return nil
	})
	if err != nil {
		panic(err) // embedded files are always readable
	}
	return s
}

// page serves an HTML page with its content security policy.
func (s *fileServer) page(w http.ResponseWriter, r *http.Request, name, policy string) {
	w.Header().Set("Content-Security-Policy", policy)
	w.Header().Set("Referrer-Policy", "no-referrer")
	s.serve(w, r, name)
}

// serve answers a file of the embedded tree, 404 for anything else
// (directories included: no listings).
func (s *fileServer) serve(w http.ResponseWriter, r *http.Request, name string) {
	name = path.Clean(name)
	etag, ok := s.etags[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if strings.HasSuffix(name, ".js") || strings.HasSuffix(name, ".mjs") {
		h.Set("Content-Type", "text/javascript; charset=utf-8")
	}
	http.ServeFileFS(w, r, s.fsys, name)
}
