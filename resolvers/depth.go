package resolvers

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

const (
	errDepthLimit = "DEPTH_LIMIT_EXCEEDED"
	errSizeLimit  = "SIZE_LIMIT_EXCEEDED"
)

// Limits on the shape of a query document, checked before gqlparser
// validates it. Validation does work that grows faster than the document:
// gqlparser's OverlappingFieldsCanBeMerged compares every pair of fields
// that share a response name in one selection set (its fragments
// included) and every pair of fragments spread into one, and most rules
// walk each fragment again for every operation that spreads it. A 1 MiB
// body of 15,000 tokens could keep a core busy for tens of seconds
// ({ __typename __typename … } 15,000 times). Within these limits the
// worst document validates in a few milliseconds (BenchmarkAdversarialDocuments).
const (
	// MaxExpandedFields bounds the selections of a document (fields,
	// fragment spreads and inline fragments, and the arguments, directives
	// and values, list elements and object fields each, on them) once every fragment spread is replaced by its
	// fragment, summed over every operation of the document and every
	// fragment no operation spreads. Fragments can spread each other twice
	// over at each level, so a short document can stand for billions.
	MaxExpandedFields = 5000
	// MaxSameNamePairs bounds the pairs of fields that answer under one
	// response name in one selection set, its fragments spread, summed over
	// the document: validation compares each such pair (n fields of one
	// name are n(n-1)/2 pairs; 100 copies of id are 4,950).
	MaxSameNamePairs = 5000
	// MaxFragmentSpreads bounds the fragment spreads in one selection set,
	// those inside the fragments it spreads included (validation compares
	// them pairwise).
	MaxFragmentSpreads = 50
	// MaxDirectives bounds the directives on one operation, fragment,
	// field or spread.
	MaxDirectives = 10
	// MaxOperations bounds the operations of one document: only one runs,
	// but all are validated.
	MaxOperations = 20
	// MaxArguments bounds the arguments of one field or directive, and
	// MaxVariables the variables of one operation.
	MaxArguments = 20
	MaxVariables = 100
	// MaxObjectFields bounds the fields of one input object literal.
	MaxObjectFields = 100
	// MaxIntrospectionFields bounds the __schema and __type fields of one
	// operation (by response name: copies under one name run once).
	// Each answers up to the whole schema (the playground's introspection
	// query, one __schema, is about 100 KB), so aliased copies made a short
	// document cost seconds and megabytes: 400 copies of a 60-byte
	// selection took 3.2 MB and 18 s on a loaded machine. Introspection
	// clients (GraphiQL, code generators) send one.
	MaxIntrospectionFields = 5
)

// documentLimit refuses, before gqlparser validates a document (and so
// before the complexity check), a document that breaks one of the limits
// above or nests deeper than maxDepth: a top-level error with code
// DEPTH_LIMIT_EXCEEDED or SIZE_LIMIT_EXCEEDED that names the limit. Its
// own cost is one pass over the document with fragments expanded, which
// stops at MaxExpandedFields.
type documentLimit struct {
	maxDepth int
	// validated is gqlgen's query cache: a document found there passed
	// this check already.
	validated graphql.Cache[*ast.QueryDocument]
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = documentLimit{}

func (documentLimit) ExtensionName() string                   { return "DocumentLimit" }
func (documentLimit) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters runs before gqlgen parses and validates the
// document. A document that does not parse is left to gqlgen, which
// reports it.
func (l documentLimit) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if _, ok := l.validated.Get(ctx, p.Query); ok {
		return nil
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: p.Query}, ParserTokenLimit)
	if err != nil {
		return nil
	}
	return CheckDocument(doc, l.maxDepth)
}

// CheckDocument returns the error of the first limit doc breaks, or nil.
// maxDepth bounds how deep fields nest (fragments spread).
func CheckDocument(doc *ast.QueryDocument, maxDepth int) *gqlerror.Error {
	if len(doc.Operations) > MaxOperations {
		return limitError(errSizeLimit, "the document holds %d operations, more than the limit of %d", len(doc.Operations), MaxOperations)
	}
	w := &budgetWalk{maxDepth: maxDepth, fragments: map[string]*ast.FragmentDefinition{}, reached: map[string]bool{}}
	for _, f := range doc.Fragments {
		if _, dup := w.fragments[f.Name]; !dup { // the validator reports duplicates
			w.fragments[f.Name] = f
		}
	}
	for _, op := range doc.Operations {
		w.reset()
		if err := w.directives(op.Directives, "operation "+op.Name); err != nil {
			return err
		}
		if len(op.VariableDefinitions) > MaxVariables {
			return limitError(errSizeLimit, "operation %s declares %d variables, more than the limit of %d", op.Name, len(op.VariableDefinitions), MaxVariables)
		}
		for _, v := range op.VariableDefinitions {
			if err := w.count(1); err != nil {
				return err
			}
			if err := w.value(v.DefaultValue); err != nil {
				return err
			}
			if err := w.directives(v.Directives, "variable $"+v.Variable); err != nil {
				return err
			}
		}
		if err := w.set(op.SelectionSet, w.newSet(), 0, map[string]bool{}); err != nil {
			return err
		}
	}
	// Validation walks every fragment definition too; those no operation
	// spreads were not counted yet.
	for _, f := range doc.Fragments {
		if w.reached[f.Name] {
			continue
		}
		w.reset()
		if err := w.directives(f.Directives, "fragment "+f.Name); err != nil {
			return err
		}
		if err := w.set(f.SelectionSet, w.newSet(), 0, map[string]bool{f.Name: true}); err != nil {
			return err
		}
	}
	return nil
}

// mergedKey names a response name in a merged selection set: set is the
// number the walk gave the set. A set holds the selections of its
// fragments, inline or spread, and the sub-selections of all the fields
// of one response name form one set, as validation compares them.
type mergedKey struct {
	set  int
	name string
}

// budgetWalk expands a document's operations, counting as it goes.
type budgetWalk struct {
	maxDepth  int
	fragments map[string]*ast.FragmentDefinition
	units     int               // selections, arguments and directives seen
	reached   map[string]bool   // fragments some operation spreads
	merged    map[mergedKey]int // fields per response name per merged set
	pairs     int               // pairs of fields sharing a name in a set, so far
	children  map[mergedKey]int // the merged set under each response name
	spreads   map[int]int       // fragment spreads per merged set
	sets      int               // merged sets numbered so far
	// introspection holds the response names of the operation's
	// __schema and __type fields.
	introspection map[string]bool
}

// reset starts the merged sets of another operation or fragment.
func (w *budgetWalk) reset() {
	w.merged, w.children, w.spreads = map[mergedKey]int{}, map[mergedKey]int{}, map[int]int{}
	w.introspection = map[string]bool{}
}

func (w *budgetWalk) newSet() int {
	w.sets++
	return w.sets
}

// count adds n units and fails once the total passes MaxExpandedFields.
func (w *budgetWalk) count(n int) *gqlerror.Error {
	w.units += n
	if w.units > MaxExpandedFields {
		return limitError(errSizeLimit, "the document expands to more than %d selections (fields, fragment spreads, arguments, directives, list elements and object fields) once its fragments are spread, which exceeds the limit", MaxExpandedFields)
	}
	return nil
}

func (w *budgetWalk) directives(ds ast.DirectiveList, where string) *gqlerror.Error {
	if len(ds) > MaxDirectives {
		return limitError(errSizeLimit, "%s carries %d directives, more than the limit of %d", where, len(ds), MaxDirectives)
	}
	for _, d := range ds {
		if err := w.count(1); err != nil {
			return err
		}
		if err := w.arguments(d.Arguments, "directive @"+d.Name); err != nil {
			return err
		}
	}
	return nil
}

func (w *budgetWalk) arguments(args ast.ArgumentList, where string) *gqlerror.Error {
	if len(args) > MaxArguments {
		return limitError(errSizeLimit, "%s has %d arguments, more than the limit of %d", where, len(args), MaxArguments)
	}
	for _, a := range args {
		if err := w.count(1); err != nil {
			return err
		}
		if err := w.value(a.Value); err != nil {
			return err
		}
	}
	return nil
}

// value counts the elements of a list and the fields of an object, nested
// ones included.
func (w *budgetWalk) value(v *ast.Value) *gqlerror.Error {
	if v == nil || len(v.Children) == 0 {
		return nil
	}
	if v.Kind == ast.ObjectValue && len(v.Children) > MaxObjectFields {
		return limitError(errSizeLimit, "an input object literal has %d fields, more than the limit of %d", len(v.Children), MaxObjectFields)
	}
	for _, c := range v.Children {
		if err := w.count(1); err != nil {
			return err
		}
		if err := w.value(c.Value); err != nil {
			return err
		}
	}
	return nil
}

// set walks the selections of merged set id, at field depth depth;
// within holds the fragments being expanded (a cycle is the validator's
// to report: the walk does not follow it).
func (w *budgetWalk) set(sels ast.SelectionSet, id, depth int, within map[string]bool) *gqlerror.Error {
	for _, sel := range sels {
		if err := w.count(1); err != nil {
			return err
		}
		switch x := sel.(type) {
		case *ast.Field:
			name := x.Alias
			if name == "" {
				name = x.Name
			}
			if err := w.directives(x.Directives, "field "+name); err != nil {
				return err
			}
			if err := w.arguments(x.Arguments, "field "+name); err != nil {
				return err
			}
			if depth == 0 && (x.Name == "__schema" || x.Name == "__type") {
				w.introspection[name] = true
				if len(w.introspection) > MaxIntrospectionFields {
					return limitError(errSizeLimit, "the operation asks for more than %d introspection fields (__schema, __type), which exceeds the limit: ask once and read the answer", MaxIntrospectionFields)
				}
			}
			k := mergedKey{id, name}
			w.pairs += w.merged[k] // this field pairs with each of the others
			w.merged[k]++
			if w.pairs > MaxSameNamePairs {
				return limitError(errSizeLimit, "the document has more than %d pairs of fields that answer under one name in one selection set (%d fields answer as %q in one), which exceeds the limit", MaxSameNamePairs, w.merged[k], name)
			}
			if len(x.SelectionSet) == 0 {
				continue
			}
			if depth+1 >= w.maxDepth {
				return limitError(errDepthLimit, "the document nests more than %d levels deep, which exceeds the limit of %d", w.maxDepth, w.maxDepth)
			}
			// Fields of one response name merge: their sub-selections are
			// compared as one set.
			sub, ok := w.children[k]
			if !ok {
				sub = w.newSet()
				w.children[k] = sub
			}
			if err := w.set(x.SelectionSet, sub, depth+1, within); err != nil {
				return err
			}
		case *ast.InlineFragment:
			if err := w.directives(x.Directives, "an inline fragment"); err != nil {
				return err
			}
			if err := w.set(x.SelectionSet, id, depth, within); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			if err := w.directives(x.Directives, "spread ..."+x.Name); err != nil {
				return err
			}
			w.spreads[id]++
			if w.spreads[id] > MaxFragmentSpreads {
				return limitError(errSizeLimit, "one selection set spreads more than %d fragments (those its fragments spread included), which exceeds the limit", MaxFragmentSpreads)
			}
			def := w.fragments[x.Name]
			if def == nil || within[x.Name] {
				continue
			}
			w.reached[x.Name] = true
			within[x.Name] = true
			err := w.set(def.SelectionSet, id, depth, within)
			delete(within, x.Name)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func limitError(code, format string, args ...any) *gqlerror.Error {
	err := &gqlerror.Error{Message: fmt.Sprintf(format, args...)}
	errcode.Set(err, code)
	return err
}
