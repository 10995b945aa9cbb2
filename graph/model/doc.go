// Package model holds the Go types of the GraphQL schema. The node types of
// nodes.go are bound in gqlgen.yml: they carry an object's own fields and
// the database keys of its relations, which resolvers load through
// dataloaders. Everything else is generated into models_gen.go.
package model
