package model

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// TimeLayout is the wire form of the Time scalar: RFC 3339 in UTC with
// milliseconds, e.g. 2026-11-24T09:30:00.123Z.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// MarshalTime writes t as RFC 3339 in UTC with milliseconds.
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.UTC().Format(TimeLayout)))
	})
}

// UnmarshalTime reads an RFC 3339 timestamp.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("Time must be an RFC 3339 string")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("Time must be an RFC 3339 string: %w", err)
	}
	return t.UTC(), nil
}
