// Package calling is Outdial's domain: the commands behind every mutation,
// their validation rules, the read queries, and the derivation of an
// agent's calling ability. docs/domain.md explains the domain in full;
// this is how the package holds it.
//
// Commands. Each mutation is one method of Service (AddPhoneNumber,
// UpgradeCallingPlan, CreateOutboundProfile, …) that checks its input,
// then runs as one database transaction (Service.run): it changes the
// configuration, recomputes the ability of every agent it can affect,
// records the events of the abilities that changed and one audit entry,
// and commits, or changes nothing at all. A refusal is an *Error or
// Errors with a Code (the GraphQL UserErrorCode) and the path of the input
// field at fault; any other error is internal. Input limits are the
// constants of validate.go and quotas.go; text is stored and compared by
// package names.
//
// The calling ability (docs/domain.md, "The calling ability"). Derive is
// pure: from an agent's facts and the outbound profiles it returns the
// caller IDs and the blockers, in their documented order, and is
// table-tested without a database. refresh.go gathers the facts of many
// agents with set-based queries, compares each new ability with the stored
// one and, for each one that changed in a way that counts, raises its
// version and hands one agent.calling_ability.changed event to package
// webhooks in the same transaction.
//
// Reads. queries.go and batch.go list and count with keyset pagination,
// one SQL statement per page or per batch of keys, for the resolvers'
// dataloaders; redact.go says what a VIEWER reads masked.
//
// Phone numbers. phone_parse.go reads every common notation of a number
// (national ones in a region, ISO 3166-1 alpha-2) with libphonenumber and
// refuses extensions and trailing text; phone_numbers.go holds which types
// a number may be.
package calling
