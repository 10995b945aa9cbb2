package resolvers

import (
	"context"
	"math"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"outdial/calling"
)

// sizeArguments checks, before the complexity limit, the arguments that
// size a list: first (checkFirst) and nodes' ids (at most
// calling.MaxListLen). The complexity of a field grows with them, so
// without this a too-large first would be answered BAD_USER_INPUT or
// COMPLEXITY_LIMIT_EXCEEDED depending on its selection; this way one rule
// gives one code, BAD_USER_INPUT, before anything runs. The resolvers
// apply the same rules (pageArgs, Nodes).
type sizeArguments struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = sizeArguments{}

func (sizeArguments) ExtensionName() string                   { return "SizeArguments" }
func (sizeArguments) Validate(graphql.ExecutableSchema) error { return nil }

func (sizeArguments) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil {
		return nil
	}
	return checkSizes(opCtx.Operation.SelectionSet, opCtx.Variables, map[string]bool{})
}

// checkSizes walks set (fragments spread, each once) for a size argument
// out of its bounds.
func checkSizes(set ast.SelectionSet, vars map[string]any, seen map[string]bool) *gqlerror.Error {
	for _, sel := range set {
		switch x := sel.(type) {
		case *ast.Field:
			if err := checkFieldSizes(x, vars); err != nil {
				return err
			}
			if err := checkSizes(x.SelectionSet, vars, seen); err != nil {
				return err
			}
		case *ast.InlineFragment:
			if err := checkSizes(x.SelectionSet, vars, seen); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			if x.Definition != nil && !seen[x.Name] {
				seen[x.Name] = true
				if err := checkSizes(x.Definition.SelectionSet, vars, seen); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func checkFieldSizes(f *ast.Field, vars map[string]any) *gqlerror.Error {
	var err error
	if a := f.Arguments.ForName("first"); a != nil {
		if v, _ := a.Value.Value(vars); v != nil {
			if n, ok := asInt(v); ok {
				err = checkFirst(n)
			}
		}
	}
	if a := f.Arguments.ForName("ids"); a != nil && f.Name == "nodes" {
		if v, _ := a.Value.Value(vars); v != nil {
			if l, ok := v.([]any); ok && len(l) > calling.MaxListLen {
				err = badInput("ids has %d IDs; at most %d are allowed.", len(l), calling.MaxListLen)
			}
		}
	}
	if err == nil {
		return nil
	}
	ae := err.(*apiError)
	return &gqlerror.Error{Message: ae.message, Extensions: map[string]any{"code": ae.code}}
}

// asInt reads an Int argument's value as gqlparser gives it (a literal is
// int64; a variable may be int, int64 or a JSON number). A value that is
// not a 32-bit integer is not read: the Int rule refuses it, naming Int's
// bounds.
func asInt(v any) (int, bool) {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case interface{ Int64() (int64, error) }:
		i, err := x.Int64()
		if err != nil {
			return 0, false
		}
		n = i
	default:
		return 0, false
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, false
	}
	return int(n), true
}
