package resolvers

import (
	"encoding/json"
	"testing"

	"outdial/calling"
)

// TestFirstPage: the prefetch of a page of agents reads the page size of
// callingAbilityHistory from its arguments as gqlparser hands them over,
// and leaves to the field's resolver what it cannot prefetch (a page after
// a cursor) or must refuse (a size out of range).
func TestFirstPage(t *testing.T) {
	for _, c := range []struct {
		name string
		args map[string]any
		want calling.Page
		ok   bool
	}{
		{"literal", map[string]any{"first": int64(3)}, calling.Page{First: 3}, true},
		{"JSON number", map[string]any{"first": json.Number("7")}, calling.Page{First: 7}, true},
		{"float", map[string]any{"first": float64(5)}, calling.Page{First: 5}, true},
		{"null", map[string]any{"first": nil}, calling.Page{First: calling.DefaultPageSize}, true},
		{"absent", map[string]any{}, calling.Page{First: calling.DefaultPageSize}, true},
		{"zero", map[string]any{"first": int64(0)}, calling.Page{First: 0}, true},
		{"empty after", map[string]any{"first": int64(2), "after": ""}, calling.Page{First: 2}, true},
		{"after a cursor", map[string]any{"first": int64(2), "after": "Y3Vyc29yOng6MQ"}, calling.Page{}, false},
		{"too large", map[string]any{"first": int64(calling.MaxPageSize + 1)}, calling.Page{}, false},
		{"negative", map[string]any{"first": int64(-1)}, calling.Page{}, false},
		{"fractional", map[string]any{"first": 2.5}, calling.Page{}, false},
		{"string", map[string]any{"first": "3"}, calling.Page{}, false},
	} {
		got, ok := firstPage(c.args)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("%s: firstPage(%v) = %+v, %v; want %+v, %v", c.name, c.args, got, ok, c.want, c.ok)
		}
	}
}
