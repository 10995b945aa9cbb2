// Package docs holds Outdial's documentation pages, which are Markdown
// files beside this one: domain.md (what the API models, for a reader who
// has never used a contact center product) and design.md (how the code is
// built, the databases, and the performance and reliability targets).
//
// Its test keeps the repository self-contained: no file cites a document
// outside it, and every citation of a page here ("docs/domain.md,
// "Webhooks"") and every relative Markdown link names something that
// exists.
package docs
