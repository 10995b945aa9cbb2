package calling

import (
	"errors"
	"fmt"
	"strings"
)

// Code is a business-rule refusal code; the values are those of the
// GraphQL enum UserErrorCode.
type Code string

// The refusal codes.
const (
	CodeInvalidInput             Code = "INVALID_INPUT"
	CodeNotFound                 Code = "NOT_FOUND"
	CodeAlreadyExists            Code = "ALREADY_EXISTS"
	CodeInvalidPhoneNumber       Code = "INVALID_PHONE_NUMBER"
	CodeTollFreeNotAllowed       Code = "TOLL_FREE_NOT_ALLOWED"
	CodeUnifiedRoutingRequired   Code = "UNIFIED_ROUTING_REQUIRED"
	CodeNumberAlreadyAssigned    Code = "NUMBER_ALREADY_ASSIGNED"
	CodeNumberNotOutboundEnabled Code = "NUMBER_NOT_OUTBOUND_ENABLED"
	CodeQueueNotVoice            Code = "QUEUE_NOT_VOICE"
	CodeInUse                    Code = "IN_USE"
	CodeInvalidURL               Code = "INVALID_URL"
	CodeURLNotAllowed            Code = "URL_NOT_ALLOWED"
	CodeOutOfScope               Code = "OUT_OF_SCOPE"
	// CodeLastAdmin refuses a change that would leave no active ADMIN
	// token, so that nobody could change the configuration or make tokens.
	CodeLastAdmin Code = "LAST_ADMIN"
	// CodeQuotaExceeded refuses to create an object beyond a limit on how
	// many may exist; no input field is at fault.
	CodeQuotaExceeded Code = "QUOTA_EXCEEDED"
)

// Error is a business-rule refusal: the command changed nothing. Field is
// the path of the input field at fault, e.g. ["input", "phoneNumberId"].
type Error struct {
	Code    Code
	Field   []string
	Message string
}

func (e *Error) Error() string {
	if len(e.Field) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s: %s", e.Code, strings.Join(e.Field, "."), e.Message)
}

// Errors is several refusals of one command (e.g. one per invalid input
// field). It is never empty.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// refuse builds an *Error for the input field named by path (relative to
// "input").
func refuse(code Code, message string, path ...string) *Error {
	field := append([]string{"input"}, path...)
	return &Error{Code: code, Field: field, Message: message}
}

// overQuota builds the refusal of an object beyond a quota. It names no
// input field: the input is fine, there are just too many already.
func overQuota(message string) *Error {
	return &Error{Code: CodeQuotaExceeded, Message: message}
}

// Refusals returns the refusals err carries and true, or nil and false when
// err is not a refusal (then it is an internal error).
func Refusals(err error) ([]*Error, bool) {
	var many Errors
	if errors.As(err, &many) {
		return many, true
	}
	var one *Error
	if errors.As(err, &one) {
		return []*Error{one}, true
	}
	return nil, false
}

// ErrUnauthenticated is returned by Authenticate for a missing, unknown or
// revoked token, and by a command whose token was revoked (or re-keyed)
// after it authenticated the request: then the command changed nothing.
var ErrUnauthenticated = errors.New("missing, unknown or revoked bearer token")

// checker collects input refusals so that a command reports every invalid
// field at once.
type checker struct{ errs Errors }

func (c *checker) add(e *Error) { c.errs = append(c.errs, e) }

func (c *checker) check(ok bool, code Code, message string, path ...string) {
	if !ok {
		c.add(refuse(code, message, path...))
	}
}

func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}
