// Package names is the one rule by which Outdial stores and compares the
// text people type: names of queues, profiles, agents and API tokens,
// emails, labels, descriptions, and the filters that look them up.
//
// Two strings that are the same to a person are the same to Outdial:
//
//   - Line and Text give the stored form. Invisible characters (Unicode's
//     Default_Ignorable_Code_Point: zero-width space, joiner and
//     non-joiner, byte order mark, soft hyphen, variation selectors, …) are
//     removed; white space (every Unicode White_Space character) is trimmed
//     at both ends, and inside a Line every run of it becomes one space; the
//     result is in Unicode normalization form NFC, so that a precomposed "é"
//     and "e" followed by a combining accent are stored alike. Bidirectional
//     controls (U+202E RIGHT-TO-LEFT OVERRIDE and the others of Unicode's
//     Bidi_Control) are refused, since they make text display in another
//     order than it is stored, and so are other control characters and
//     bytes that are not UTF-8.
//   - Key gives the form under which texts are compared (uniqueness,
//     lookups, search): the same cleaning, then NFKC and full Unicode case
//     folding (Unicode's NFKC_Casefold, as UAX #31 recommends for caseless
//     matching of identifiers). "Σ", "σ" and "ς" have one key; so do "ＳＡＬＥＳ"
//     (full-width) and "sales", "ﬁle" and "file", "Straße" and "STRASSE".
//
// Lengths are counted in characters (runes) of the stored form: Len.
package names
