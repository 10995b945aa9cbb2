package resolvers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"outdial/calling"
	"outdial/models"
)

// DefaultRequestTimeout is the deadline of a request when Config leaves
// it unset: every statement of the request runs within it, lock waits and
// retries included. It is half the HTTP server's write timeout (60 s), so
// that the answer is always written.
const DefaultRequestTimeout = 30 * time.Second

// RetryAfter is what a 503 answer asks the client to wait, in seconds.
const RetryAfter = 5

// fault is what a client is told of a request the database did not
// serve: a code, a message, and how the server logs it.
type fault struct {
	code    string
	message string
	level   slog.Level
	kind    string // for the log: models.Fault's name, or "outcome unknown"
}

// faultOf classifies err, met while serving ctx, as a fault; ok is false
// when err is none (a bug, a refusal). A deadline or cancellation of ctx
// wins over what the database said, because that is why it failed.
func faultOf(ctx context.Context, err error, deadline time.Duration) (fault, bool) {
	if _, ok := errors.AsType[*calling.OutcomeUnknownError](err); ok {
		return fault{CodeOutcomeUnknown, "The change may or may not have been made: the database did not answer its commit. " +
			"Read what it would have changed (or the audit log) before trying again.", slog.LevelError, "outcome unknown"}, true
	}
	f := models.FaultOf(err)
	switch ctx.Err() {
	case context.Canceled:
		f = models.Canceled
	case context.DeadlineExceeded:
		f = models.Deadline
	}
	unavailable := func(msg string) (fault, bool) {
		return fault{CodeServiceUnavailable, msg + " Nothing was changed; try again later.", slog.LevelWarn, f.String()}, true
	}
	switch f {
	case models.Canceled:
		return fault{CodeRequestCanceled, "The request was canceled before it finished; nothing was changed.", slog.LevelInfo, f.String()}, true
	case models.Deadline:
		return unavailable(fmt.Sprintf("The request did not finish within its deadline of %s: the database is slow or locked.", deadline))
	case models.Unreachable:
		return unavailable("The database is unavailable.")
	case models.LockTimeout:
		return unavailable("The database is busy: what the request needed stayed locked for too long.")
	case models.DiskFull:
		return unavailable("The database has no space left to write.")
	case models.StorageFailed:
		return unavailable("The database cannot write.")
	}
	return fault{}, false
}

// presentFault turns err into a GraphQL error when it is a fault, logged
// with a reference; nil otherwise.
func presentFault(ctx context.Context, log *slog.Logger, deadline time.Duration, err error) *gqlerror.Error {
	f, ok := faultOf(ctx, err, deadline)
	if !ok {
		return nil
	}
	ref := newRef()
	path := ""
	if fc := graphql.GetFieldContext(ctx); fc != nil {
		path = fc.Path().String()
	}
	log.Log(ctx, f.level, "request not served: "+f.kind, "ref", ref, "path", path, "err", err)
	e := graphql.DefaultErrorPresenter(ctx, err)
	e.Message = f.message
	e.Extensions = map[string]any{"code": f.code, "reference": ref}
	return e
}

// writeFault answers a request that failed with f before any operation
// ran: 503 with Retry-After (an unknown outcome cannot happen there).
func writeFault(w http.ResponseWriter, f fault) {
	w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
	writeError(w, http.StatusServiceUnavailable, f.message, f.code)
}

// withDeadline gives every request but a WebSocket (a subscription lives
// longer than a request) the deadline d.
func withDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWebSocket(r) {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
