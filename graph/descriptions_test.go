package graph_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"outdial/graph"
)

// TestEveryElementIsDescribed holds the schema to being the API's
// documentation: every type, field, argument, input field and enum value
// that Outdial serves (all of graph/*.graphqls, as parsed into the
// executable schema) carries a description. GraphQL's built-in scalars and
// introspection types are GraphQL's own and are left out. The failure lists
// every element without one, by its schema coordinate (Type.field(arg:)).
func TestEveryElementIsDescribed(t *testing.T) {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	missing := undescribed(schema)
	if len(missing) > 0 {
		t.Errorf("%d schema elements have no description; say what each means, its units and limits, and the errors it can produce:\n  %s",
			len(missing), strings.Join(missing, "\n  "))
	}
}

// undescribed returns the schema coordinates of the elements of schema
// (not built in) that have no description.
func undescribed(schema *ast.Schema) []string {
	var missing []string
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	for name, def := range schema.Types {
		if def.BuiltIn {
			continue
		}
		if blank(def.Description) {
			missing = append(missing, name)
		}
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue // __typename, __schema, __type: introspection
			}
			coord := name + "." + f.Name
			if blank(f.Description) {
				missing = append(missing, coord)
			}
			for _, a := range f.Arguments {
				if blank(a.Description) {
					missing = append(missing, coord+"("+a.Name+":)")
				}
			}
		}
		for _, v := range def.EnumValues {
			if blank(v.Description) {
				missing = append(missing, name+"."+v.Name)
			}
		}
	}
	for name, d := range schema.Directives {
		if d.Position != nil && d.Position.Src != nil && d.Position.Src.BuiltIn {
			continue
		}
		if blank(d.Description) {
			missing = append(missing, "@"+name)
		}
		for _, a := range d.Arguments {
			if blank(a.Description) {
				missing = append(missing, "@"+name+"("+a.Name+":)")
			}
		}
	}
	sort.Strings(missing)
	return missing
}
