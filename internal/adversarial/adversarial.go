// Package adversarial makes query documents that cost GraphQL validation
// the most for their size, for tests and benchmarks: each shape at the
// largest size the limits of package resolvers let through to validation
// ("…/allowed") and at the largest size that still parses within
// resolvers.ParserTokenLimit ("…/refused", which the document limit must
// refuse before validation). The sizes are found by bisection, so they
// follow the limits when these change.
package adversarial

import (
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"outdial/resolvers"
)

// Document is one document of a shape.
type Document struct {
	Name string
	Text string
	// Refused: the document limit refuses it.
	Refused bool
}

// shape makes the document of size n of one adversarial shape; a larger n
// makes a larger document.
type shape struct {
	name string
	gen  func(n int) string
}

// repeat joins n copies of f(i).
func repeat(n int, sep string, f func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = f(i)
	}
	return strings.Join(parts, sep)
}

// sameName is how often a response name repeats in the shapes that
// repeat several.
const sameName = 10

func adversarialShapes() []shape {
	typename := func(int) string { return "__typename" }
	alias := func(i int) string { return fmt.Sprintf("a%d: __typename", i) }
	deepBody := func(levels int) string {
		return strings.Repeat("viewer { agent { queues { agents(first: 1) { nodes { ", levels) +
			"__typename" + strings.Repeat(" } } } } }", levels)
	}
	return []shape{
		// One response name repeated ({ __typename __typename … }); a new
		// operation name each time keeps it out of the query cache.
		{"same-name", func(n int) string { return "query Q1 { " + repeat(n, " ", typename) + " }" }},
		// Many response names, each repeated sameName times.
		{"same-name-groups", func(n int) string {
			return "query Q2 { " + repeat(n, " ", func(i int) string {
				return repeat(sameName, " ", func(int) string { return alias(i) })
			}) + " }"
		}},
		// One response name with differing arguments: every pair is a
		// conflict with a message of its own.
		{"differing-args", func(n int) string {
			return "query Q3 { " + repeat(n, " ", func(i int) string {
				return fmt.Sprintf("q%d: queues(first: %d) { totalCount }", i/sameName, i+1)
			}) + " }"
		}},
		{"differing-args-one-name", func(n int) string {
			return "query Q4 { " + repeat(n, " ", func(i int) string { return fmt.Sprintf("q: queues(first: %d) { totalCount }", i+1) }) + " }"
		}},
		// Aliases: every field its own response name.
		{"aliases", func(n int) string { return "query Q5 { " + repeat(n, " ", alias) + " }" }},
		// Fragment spreads side by side: validation compares every pair.
		{"spreads", func(n int) string {
			return "query Q6 { " + repeat(n, " ", func(i int) string { return fmt.Sprintf("...F%d", i) }) + " } " +
				repeat(n, " ", func(i int) string { return fmt.Sprintf("fragment F%d on Query { %s }", i, alias(i)) })
		}},
		// Fragments that spread the next one twice: 2^n fields from a
		// short document.
		{"nested-fragments", func(n int) string {
			return "query Q7 { ...N0 } " + repeat(n, " ", func(i int) string {
				return fmt.Sprintf("fragment N%d on Query { %s ...N%d ...N%d }", i, alias(i), i+1, i+1)
			}) + fmt.Sprintf(" fragment N%d on Query { __typename }", n)
		}},
		// n fragments that each spread the same n leaf fragments.
		{"fragment-tree", func(n int) string {
			var b strings.Builder
			b.WriteString("query Q8 { " + repeat(n, " ", func(i int) string { return fmt.Sprintf("...T%d", i) }) + " }")
			for i := range n {
				fmt.Fprintf(&b, " fragment T%d on Query { t%d: __typename %s }", i, i,
					repeat(n, " ", func(j int) string { return fmt.Sprintf("...L%d", j) }))
			}
			for j := range n {
				fmt.Fprintf(&b, " fragment L%d on Query { l%d: __typename }", j, j)
			}
			return b.String()
		}},
		// Directives on one field, and on every field.
		{"directives-one-field", func(n int) string {
			return "query Q9 { __typename " + repeat(n, " ", func(int) string { return "@include(if: true)" }) + " }"
		}},
		{"directives-every-field", func(n int) string {
			return "query Q10 { " + repeat(n, " ", func(i int) string {
				return alias(i) + " " + repeat(resolvers.MaxDirectives, " ", func(int) string { return "@include(if: true)" })
			}) + " }"
		}},
		// Deep nesting (five levels a step), and a deep selection
		// repeated: validation compares the copies level by level.
		{"deep", func(n int) string { return "query Q11 { " + deepBody(n) + " }" }},
		{"deep-repeated", func(n int) string {
			return "query Q12 { " + repeat(n, " ", func(int) string { return deepBody(resolvers.DefaultDepthLimit/5 - 1) }) + " }"
		}},
		// Operations: all are validated, one runs; each spreads one large
		// fragment.
		{"operations-sharing-a-fragment", func(n int) string {
			return repeat(n, " ", func(i int) string { return fmt.Sprintf("query O%d { ...Big }", i) }) +
				" fragment Big on Query { " + repeat(resolvers.MaxExpandedFields/resolvers.MaxOperations-2, " ", alias) + " }"
		}},
		{"operations", func(n int) string {
			return repeat(n, " ", func(i int) string { return fmt.Sprintf("query O%d { __typename }", i) })
		}},
		// Variables, and arguments the field does not have.
		{"variables", func(n int) string {
			return "query Q13(" + repeat(n, " ", func(i int) string { return fmt.Sprintf("$v%d: Int", i) }) + ") { " +
				repeat(n, " ", func(i int) string { return fmt.Sprintf("a%d: queues(first: $v%d) { totalCount }", i, i) }) + " }"
		}},
		{"unknown-arguments", func(n int) string {
			return "query Q14 { queues(" + repeat(n, ", ", func(i int) string { return fmt.Sprintf("a%d: %d", i, i) }) + ") { totalCount } }"
		}},
		// Large literals: a list of IDs, an input object of many fields.
		{"list-literal", func(n int) string {
			return "query Q15 { nodes(ids: [" + repeat(n, ", ", func(i int) string { return fmt.Sprintf("%q", fmt.Sprint(i)) }) + "]) { id } }"
		}},
		{"object-literal", func(n int) string {
			return "query Q16 { queues(filter: {" + repeat(n, ", ", func(i int) string { return fmt.Sprintf("f%d: 1", i) }) + "}) { totalCount } }"
		}},
	}
}

// parses reports whether doc parses within the token limit.
func parses(doc string) bool {
	_, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: doc}, resolvers.ParserTokenLimit)
	return err == nil && len(doc) <= resolvers.MaxBodyBytes
}

// passes reports whether doc parses and passes the document limit.
func passes(doc string) bool {
	parsed, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: doc}, resolvers.ParserTokenLimit)
	return err == nil && len(doc) <= resolvers.MaxBodyBytes && resolvers.CheckDocument(parsed, resolvers.DefaultDepthLimit) == nil
}

// largest is the largest n for which ok(gen(n)) holds, or 0; ok must hold
// up to some n and not beyond, and not for documents that do not parse.
func largest(gen func(int) string, ok func(string) bool) int {
	hi := 1
	for parses(gen(hi)) {
		hi *= 2
	}
	lo := 0
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if ok(gen(mid)) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// Documents returns every shape at its largest allowed size and,
// when a larger one parses, at the largest size that parses.
func Documents() []Document {
	var out []Document
	for _, s := range adversarialShapes() {
		allowed := largest(s.gen, passes)
		parsing := largest(s.gen, parses)
		if allowed > 0 {
			out = append(out, Document{Name: fmt.Sprintf("%s/allowed-%d", s.name, allowed), Text: s.gen(allowed)})
		}
		if parsing > allowed {
			out = append(out, Document{Name: fmt.Sprintf("%s/refused-%d", s.name, parsing), Text: s.gen(parsing), Refused: true})
		}
	}
	return out
}
