package resolvers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"outdial/calling"
)

// Top-level error codes (extensions.code).
const (
	CodeBadUserInput    = "BAD_USER_INPUT"
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeInternal        = "INTERNAL_SERVER_ERROR"
	// CodeSubscriptionEnded: the server ended a subscription (shutdown,
	// a client that stopped reading); subscribe again.
	CodeSubscriptionEnded = "SUBSCRIPTION_ENDED"
	// CodeServiceUnavailable: the database did not do what was asked (it
	// is unreachable, locked, or out of space, or the request's deadline
	// passed first); nothing was changed, try again later. HTTP 503 with
	// Retry-After when no operation ran.
	CodeServiceUnavailable = "SERVICE_UNAVAILABLE"
	// CodeOutcomeUnknown: a mutation's commit was sent to the database and
	// no answer came; the change may or may not have been made.
	CodeOutcomeUnknown = "OUTCOME_UNKNOWN"
	// CodeRequestCanceled: the client went away before the answer.
	CodeRequestCanceled = "REQUEST_CANCELED"
	// CodeQuotaExceeded: more of something than may exist at once (the
	// subscriptions of a connection); the request itself is well formed.
	// Mutations say the same with the userError code QUOTA_EXCEEDED.
	CodeQuotaExceeded = "QUOTA_EXCEEDED"
	// CodeNotFound: what was read went away while it was being read (a
	// webhook delivery pruned as older than the retention).
	CodeNotFound = "NOT_FOUND"
)

// apiError is a top-level GraphQL error with a code that clients may act on.
type apiError struct {
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func badInput(format string, args ...any) error {
	return &apiError{code: CodeBadUserInput, message: fmt.Sprintf(format, args...)}
}

// argumentError turns the domain's refusal of a query's arguments (a text
// filter it cannot take) into BAD_USER_INPUT; other errors pass as they are.
func argumentError(err error) error {
	refusals, ok := calling.Refusals(err)
	if !ok {
		return err
	}
	msgs := make([]string, len(refusals))
	for i, r := range refusals {
		msgs[i] = r.Message
	}
	return badInput("%s", strings.Join(msgs, " "))
}

func overQuota(format string, args ...any) error {
	return &apiError{code: CodeQuotaExceeded, message: fmt.Sprintf(format, args...)}
}

func forbidden(message string) error { return &apiError{code: CodeForbidden, message: message} }

var errUnauthenticated = &apiError{code: CodeUnauthenticated,
	message: "Send a valid API token: Authorization: Bearer <token>."}

// errTokenRevokedMeanwhile answers a mutation whose token was revoked while
// the request ran: it changed nothing.
var errTokenRevokedMeanwhile = &apiError{code: CodeUnauthenticated,
	message: "The API token was revoked while this request ran; nothing was changed. Send a valid API token."}

// internalError is an error whose details stay in the log; the client only
// gets its reference.
type internalError struct{ ref string }

func (e *internalError) Error() string {
	return "Internal server error (reference " + e.ref + "); the details are in the server log."
}

func newRef() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// errorPresenter turns resolver errors into GraphQL errors: coded errors
// keep their message, a value that is not an Int (literal or variable) is
// BAD_USER_INPUT, gqlgen's own (parse, validation, limits) pass through,
// faults of the database or of the request's deadline (see faultOf) get
// their code, and anything else is logged with a reference and shown as an
// internal error.
func errorPresenter(log *slog.Logger, deadline time.Duration) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		var api *apiError
		if errors.Is(err, calling.ErrUnauthenticated) {
			api = errTokenRevokedMeanwhile
		}
		if api != nil || errors.As(err, &api) {
			e := graphql.DefaultErrorPresenter(ctx, err)
			e.Message = api.message
			e.Extensions = map[string]any{"code": api.code}
			return e
		}
		if e := intInputError(ctx, err); e != nil {
			return e
		}
		if e := presentFault(ctx, log, deadline, err); e != nil {
			return e
		}
		var internal *internalError
		if !errors.As(err, &internal) {
			var gq *gqlerror.Error
			if errors.As(err, &gq) && gq.Unwrap() == nil {
				if e := intLiteralError(gq); e != nil {
					return e
				}
				return gq
			}
			internal = &internalError{ref: newRef()}
			path := ""
			if fc := graphql.GetFieldContext(ctx); fc != nil {
				path = fc.Path().String()
			}
			log.Error("request failed", "ref", internal.ref, "path", path, "err", err)
		}
		e := graphql.DefaultErrorPresenter(ctx, internal)
		e.Message = internal.Error()
		e.Extensions = map[string]any{"code": CodeInternal, "reference": internal.ref}
		return e
	}
}

// recoverFunc turns a panic in a resolver into an internal error, logged
// with its stack, instead of a crash.
func recoverFunc(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		ref := newRef()
		path := ""
		if fc := graphql.GetFieldContext(ctx); fc != nil {
			path = fc.Path().String()
		}
		log.Error("panic in resolver", "ref", ref, "path", path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return &internalError{ref: ref}
	}
}
