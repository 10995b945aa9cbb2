package model

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
)

// The bounds of GraphQL's Int, a signed 32-bit integer (GraphQL
// specification, section "Int").
const (
	MinInt = math.MinInt32
	MaxInt = math.MaxInt32
)

// IntError says why an input value is not a GraphQL Int. The GraphQL edge
// reports it as a top-level BAD_USER_INPUT error.
type IntError struct {
	// Value is the value as the client wrote it, e.g. 1.5 or "3".
	Value string
	// Reason says what is wrong with it, e.g. "a string".
	Reason string
}

func (e *IntError) Error() string {
	return fmt.Sprintf("%s is not an Int (it is %s): GraphQL's Int is a whole number from %d to %d, written without quotes, fraction or exponent.",
		e.Value, e.Reason, MinInt, MaxInt)
}

// MarshalInt writes i as a GraphQL Int.
func MarshalInt(i int) graphql.Marshaler { return graphql.MarshalInt(i) }

// UnmarshalInt reads an Int input, from a literal of the document or from
// a variable's JSON value: see CoerceInt. Its errors are *IntError.
func UnmarshalInt(v any) (int, error) {
	n, err := CoerceInt(v)
	if err != nil {
		return 0, err
	}
	return n, nil
}

// CoerceInt applies GraphQL's input coercion of Int to v, the value of a
// literal (int64) or of a JSON variable (json.Number, or float64 where a
// transport decodes numbers without UseNumber): it accepts only a whole
// number from MinInt to MaxInt. A JSON number with a fraction or an
// exponent (1.5, 1e3, 2.0), a numeric string ("3"), a boolean, null, a
// list or an object is refused, as is any number outside the bounds.
func CoerceInt(v any) (int, *IntError) {
	switch v := v.(type) {
	case int:
		return inIntRange(int64(v), strconv.Itoa(v))
	case int32:
		return int(v), nil
	case int64:
		return inIntRange(v, strconv.FormatInt(v, 10))
	case json.Number:
		return coerceJSONNumber(string(v))
	case float64:
		return coerceFloat(v)
	case string:
		return 0, &IntError{Value: quoteShort(v), Reason: "a string"}
	case bool:
		return 0, &IntError{Value: strconv.FormatBool(v), Reason: "a boolean"}
	case nil:
		return 0, &IntError{Value: "null", Reason: "null where a value is required"}
	case []any:
		return 0, &IntError{Value: "a list", Reason: "a list"}
	case map[string]any:
		return 0, &IntError{Value: "an object", Reason: "an object"}
	default:
		return 0, &IntError{Value: fmt.Sprintf("a %T", v), Reason: "not a number"}
	}
}

// coerceJSONNumber accepts a JSON number written as an integer.
func coerceJSONNumber(s string) (int, *IntError) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return inIntRange(n, s)
	}
	if strings.ContainsAny(s, ".eE") {
		return 0, &IntError{Value: shorten(s), Reason: "a number with a fraction or an exponent"}
	}
	return 0, &IntError{Value: shorten(s), Reason: "out of range"}
}

// coerceFloat accepts a float64 that holds a whole number in range; such a
// value comes from a JSON decoder that does not keep numbers as written.
func coerceFloat(f float64) (int, *IntError) {
	text := strconv.FormatFloat(f, 'g', -1, 64)
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f):
		return 0, &IntError{Value: text, Reason: "not a whole number"}
	case f < MinInt || f > MaxInt:
		return 0, &IntError{Value: text, Reason: "out of range"}
	}
	return int(f), nil
}

func inIntRange(n int64, text string) (int, *IntError) {
	if n < MinInt || n > MaxInt {
		return 0, &IntError{Value: shorten(text), Reason: "out of range"}
	}
	return int(n), nil
}

// LiteralIntError explains why the literal raw (as written in a document:
// 1.5, "3", true, 99999999999) is not an Int.
func LiteralIntError(raw string) *IntError {
	switch {
	case strings.HasPrefix(raw, `"`):
		return &IntError{Value: shorten(raw), Reason: "a string"}
	case raw == "true" || raw == "false":
		return &IntError{Value: raw, Reason: "a boolean"}
	case raw == "null":
		return &IntError{Value: raw, Reason: "null where a value is required"}
	case strings.ContainsAny(raw, ".eE"):
		return &IntError{Value: shorten(raw), Reason: "a number with a fraction or an exponent"}
	case strings.Trim(raw, "-0123456789") == "" && raw != "":
		return &IntError{Value: shorten(raw), Reason: "out of range"}
	}
	return &IntError{Value: shorten(raw), Reason: "not a number"}
}

// maxShown bounds how much of a refused value an error message repeats.
const maxShown = 40

func quoteShort(s string) string {
	if utf8.RuneCountInString(s) > maxShown {
		return strconv.Quote(string([]rune(s)[:maxShown])) + "…"
	}
	return strconv.Quote(s)
}

func shorten(s string) string {
	if utf8.RuneCountInString(s) > maxShown {
		return string([]rune(s)[:maxShown]) + "…"
	}
	return s
}
