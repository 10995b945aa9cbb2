package resolvers

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

const (
	errDepthLimit = "DEPTH_LIMIT_EXCEEDED"
	errSizeLimit  = "SIZE_LIMIT_EXCEEDED"
)

// MaxExpandedFields bounds the fields of an operation once every fragment
// spread is replaced by its fragment. Fragments can spread each other
// twice over at each level, so a short document can stand for billions of
// fields; the complexity check walks them all, so this check, which costs
// one pass over the document, runs first.
const MaxExpandedFields = 5000

// shapeLimit refuses, before anything runs (the complexity check
// included), an operation whose selections nest deeper than maxDepth or
// that expands to more than MaxExpandedFields fields.
type shapeLimit struct{ maxDepth int }

var _ interface {
	graphql.OperationContextMutator
	graphql.HandlerExtension
} = shapeLimit{}

func (shapeLimit) ExtensionName() string { return "ShapeLimit" }

func (shapeLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (l shapeLimit) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	op := opCtx.Doc.Operations.ForName(opCtx.OperationName)
	if op == nil {
		return nil
	}
	s := measure(op.SelectionSet, map[string]shape{})
	switch {
	case s.depth > l.maxDepth:
		err := gqlerror.Errorf("operation nests %d levels deep, which exceeds the limit of %d", s.depth, l.maxDepth)
		errcode.Set(err, errDepthLimit)
		return err
	case s.fields > MaxExpandedFields:
		err := gqlerror.Errorf("operation expands to more than %d fields once its fragments are spread", MaxExpandedFields)
		errcode.Set(err, errSizeLimit)
		return err
	}
	return nil
}

// shape is the depth and the number of fields of a selection set with its
// fragments spread.
type shape struct {
	depth  int
	fields int
}

// measure returns the shape of set; fragments are measured once each
// (memo), so the cost is linear in the document. Counts saturate at
// MaxExpandedFields+1.
func measure(set ast.SelectionSet, memo map[string]shape) shape {
	var out shape
	for _, sel := range set {
		var s shape
		switch x := sel.(type) {
		case *ast.Field:
			sub := measure(x.SelectionSet, memo)
			s = shape{depth: 1 + sub.depth, fields: 1 + sub.fields}
		case *ast.InlineFragment:
			s = measure(x.SelectionSet, memo)
		case *ast.FragmentSpread:
			if x.Definition == nil {
				continue
			}
			m, ok := memo[x.Name]
			if !ok {
				memo[x.Name] = shape{} // the validator refuses cycles; this ends one anyway
				m = measure(x.Definition.SelectionSet, memo)
				memo[x.Name] = m
			}
			s = m
		}
		out.depth = max(out.depth, s.depth)
		out.fields = min(out.fields+s.fields, MaxExpandedFields+1)
	}
	return out
}
