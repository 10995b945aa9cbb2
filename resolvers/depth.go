package resolvers

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

const errDepthLimit = "DEPTH_LIMIT_EXCEEDED"

// depthLimit refuses, before anything runs, an operation whose selections
// nest deeper than max.
type depthLimit struct{ max int }

var _ graphql.OperationContextMutator = depthLimit{}

func (d depthLimit) ExtensionName() string { return "DepthLimit" }

func (d depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (d depthLimit) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	op := opCtx.Doc.Operations.ForName(opCtx.OperationName)
	if op == nil {
		return nil
	}
	if depth := selectionDepth(op.SelectionSet, d.max+1); depth > d.max {
		err := gqlerror.Errorf("operation nests %d or more levels deep, which exceeds the limit of %d", depth, d.max)
		errcode.Set(err, errDepthLimit)
		return err
	}
	return nil
}

// selectionDepth returns the depth of set (fields inside fragments count
// where they are spread), stopping once it reaches limit.
func selectionDepth(set ast.SelectionSet, limit int) int {
	if limit <= 0 {
		return 0
	}
	max := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if len(s.SelectionSet) == 0 {
				d = 1
			} else {
				d = 1 + selectionDepth(s.SelectionSet, limit-1)
			}
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, limit)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				d = selectionDepth(s.Definition.SelectionSet, limit)
			}
		}
		if d > max {
			max = d
		}
		if max >= limit {
			return max
		}
	}
	return max
}
