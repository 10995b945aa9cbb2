package resolvers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"outdial/graph/model"
)

// intVariables checks, before gqlgen coerces the variables of a request,
// every variable value that lands in an Int (a variable of type Int, or a
// field of an input object or element of a list held by a variable) with
// model.CoerceInt, and refuses the request with a top-level
// BAD_USER_INPUT error that names the variable, the path inside it and
// the value. gqlparser's own coercion would let numeric strings through
// and describe 1.5 as "cannot use value 0 as Int".
type intVariables struct {
	schema *ast.Schema
	// validated is gqlgen's query cache: a document found there was parsed
	// and validated already and need not be parsed again.
	validated graphql.Cache[*ast.QueryDocument]
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = intVariables{}

func (intVariables) ExtensionName() string                   { return "IntVariables" }
func (intVariables) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters refuses a request whose variables give an Int
// a value that is not one. A document that does not parse, or names no
// such operation, is left to gqlgen, which reports it.
func (iv intVariables) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if len(p.Variables) == 0 {
		return nil
	}
	doc, ok := iv.validated.Get(ctx, p.Query)
	if !ok {
		var err error
		if doc, err = parser.ParseQueryWithTokenLimit(&ast.Source{Input: p.Query}, ParserTokenLimit); err != nil {
			return nil
		}
	}
	op := doc.Operations.ForName(p.OperationName)
	if op == nil {
		return nil
	}
	for _, def := range op.VariableDefinitions {
		value, given := p.Variables[def.Variable]
		if !given {
			continue
		}
		if err := iv.check(def.Type, value, []string{"$" + def.Variable}); err != nil {
			return err
		}
	}
	return nil
}

// check walks value along typ and returns the first Int it holds that is
// not one; at is the path walked so far, for the message.
func (iv intVariables) check(typ *ast.Type, value any, at []string) *gqlerror.Error {
	if value == nil {
		if typ.NonNull && typ.NamedType == "Int" {
			return intVariableError(at, &model.IntError{Value: "null", Reason: "null where the type is Int!"})
		}
		return nil
	}
	if typ.Elem != nil {
		list, ok := value.([]any)
		if !ok { // a single value stands for a list of one
			return iv.check(typ.Elem, value, at)
		}
		for i, v := range list {
			if err := iv.check(typ.Elem, v, append(at, fmt.Sprintf("[%d]", i))); err != nil {
				return err
			}
		}
		return nil
	}
	if typ.NamedType == "Int" {
		if _, err := model.CoerceInt(value); err != nil {
			return intVariableError(at, err)
		}
		return nil
	}
	def := iv.schema.Types[typ.NamedType]
	fields, ok := value.(map[string]any)
	if def == nil || def.Kind != ast.InputObject || !ok {
		return nil // not an input object, or not given as one: gqlgen reports it
	}
	for _, f := range def.Fields {
		if v, given := fields[f.Name]; given {
			if err := iv.check(f.Type, v, append(at, f.Name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// intVariableError is the top-level error for an Int variable value:
// "Variable $input.workItemLimit: "3" is not an Int (…)".
func intVariableError(at []string, err *model.IntError) *gqlerror.Error {
	where := strings.ReplaceAll(strings.Join(at, "."), ".[", "[")
	return &gqlerror.Error{Message: "Variable " + where + ": " + err.Error(),
		Extensions: map[string]any{"code": CodeBadUserInput}}
}

// intLiteralError turns gqlparser's refusal of an Int literal ("Int cannot
// represent non-integer value: 1.5") into the message and code of every
// other Int refusal, or returns nil when gq is another error.
func intLiteralError(gq *gqlerror.Error) *gqlerror.Error {
	const prefix = "Int cannot represent "
	if gq.Rule != "ValuesOfCorrectType" || !strings.HasPrefix(gq.Message, prefix) {
		return nil
	}
	i := strings.Index(gq.Message, ": ")
	if i < 0 {
		return nil
	}
	out := *gq
	out.Message = model.LiteralIntError(gq.Message[i+2:]).Error()
	out.Extensions = map[string]any{"code": CodeBadUserInput}
	return &out
}

// intInputError is the top-level error of an Int literal of the document
// that model.UnmarshalInt refused (one beyond 32 bits), or nil.
func intInputError(ctx context.Context, err error) *gqlerror.Error {
	var ie *model.IntError
	if !errors.As(err, &ie) {
		return nil
	}
	e := graphql.DefaultErrorPresenter(ctx, err)
	e.Message = ie.Error()
	e.Extensions = map[string]any{"code": CodeBadUserInput}
	return e
}
