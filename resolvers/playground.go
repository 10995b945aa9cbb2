package resolvers

import (
	"embed"
	"io/fs"
	"net/http"
)

// The playground is GraphiQL 3.9 with React 18 and graphql-ws 5, embedded
// in the binary (see resolvers/playground/LICENSE.*) so that it works on a
// machine without internet access.
//
//go:embed playground
var playgroundFiles embed.FS

// Playground returns the handler of the GraphQL playground: GET / serves
// the page, GET /playground/… its scripts and styles.
func Playground() http.Handler {
	files, err := fs.Sub(playgroundFiles, "playground")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	static := http.StripPrefix("/playground/", http.FileServerFS(files))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, files, "index.html")
	})
	mux.Handle("GET /playground/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		static.ServeHTTP(w, r)
	}))
	return mux
}
