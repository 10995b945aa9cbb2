// Package graph is the GraphQL schema of Outdial's API and what gqlgen
// generates from it.
//
// The *.graphqls files are the schema and its documentation: every type,
// field, argument, input field and enum value has a description saying
// what it means, its units and limits, and the errors it can produce
// (descriptions_test.go fails on one without). The playground's Docs pane
// shows them. Change a .graphqls file or gqlgen.yml, then run
// go generate ./... and commit the result: generated.go (the executable
// schema) and model/models_gen.go are never edited by hand. Resolvers are
// hand-written in package resolvers; docs/domain.md explains the domain.
package graph
