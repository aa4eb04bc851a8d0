// Redaction of named fields from JSON payloads (FHIR resources included), the
// obligation a policy can attach to a permit before a record leaves.
//
// Example:
//   ASSIGN_OR_RETURN(Redacted r, RedactJson(payload, {"address", "telecom"}));
//   // r.json has no member named "address" or "telecom" at any depth, however
//   // the sender spelt the names ("addr\u0065ss" is "address").
//
// Thread-safe: a pure function of its arguments.
//
// Matching. Member names are compared after they are fully decoded, the way
// the receiver's JSON reader will see them: every escape resolved, \uXXXX
// (surrogate pairs included) turned into UTF-8. Field names are compared
// byte for byte with the decoded names (case-sensitive, no normalisation).
//  - A field without a dot ("address") removes every member so named, at any
//    depth, arrays included.
//  - A dotted field ("subject.reference") removes the member at that path
//    from the root; arrays are transparent ({"subject":[{"reference":..}]}).
//  - A decoded name that itself contains '.' is read both ways, and the
//    member goes if either reading matches (fail closed: some readers, e.g.
//    document stores, treat {"subject.reference":..} as a path). So a name is
//    also split at its dots: "address" removes {"x.address":..} and
//    {"address.line":..}; "subject.reference" removes {"subject.reference":..},
//    {"subject":{"reference.id":..}} and {"subject.reference.id":..}.
//    Precisely: the path of a member is the list of its own and its
//    ancestors' names, each split at '.'; an undotted field matches when it
//    is one of the pieces of the member's own name, a dotted field when its
//    own pieces are a prefix of the path's.
//
// Output. Kept bytes are never rewritten: Redacted::json is the input with
// the byte ranges of removed members cut out, each with one adjoining comma
// and the whitespace before the next member (an object left with no members
// becomes "{}"). A payload with nothing to remove comes back byte for byte, so
// a signature over it still verifies. Redacted::removed counts the members
// cut out (a member inside one already removed is not counted again).
//
// Failure. The gateway must read the payload exactly as any receiver would,
// or it cannot promise the fields are gone; so it refuses, and the record must
// not go. Each refusal is PermissionDenied, its message naming the problem and
// the 0-based byte offset where it was found (for {"a": 1, "a": 2}, "cannot
// redact: duplicate member name at byte 9"; payload bytes are never quoted
// back), and nothing else is returned. Refused:
//  - anything that is not exactly one JSON value (RFC 8259): malformed
//    syntax, trailing data after the value, a byte order mark, comments;
//  - nesting of objects and arrays deeper than kMaxJsonDepth;
//  - invalid UTF-8 anywhere (RFC 3629 §4: overlong forms, encoded surrogates,
//    code points above U+10FFFF, truncated or stray continuation bytes);
//  - invalid escapes, and \u escapes that are lone surrogates (a high one not
//    followed by a \u low one, or a low one alone) (RFC 8259 §7, §8.2);
//  - two members of one object whose decoded names are equal (RFC 8259 §4:
//    readers then disagree on which one counts), e.g. {"a":1,"\u0061":2};
//  - a member name containing U+0000 (readers built on C strings cut the
//    name short there and would see a different name);
//  - a number whose value, rounded to the nearest IEEE 754 double, is
//    infinite (1e400), zero although the numeral has a non-zero digit
//    (1e-400), or subnormal, below 2^-1022 in magnitude (1e-310): readers
//    disagree on these (strict ones, and those using strtod's ERANGE, refuse
//    them; lenient ones read infinity, zero or a value that lost precision).
//    Long numerals within that range (12345678901234567890.000100) are
//    accepted and copied digit for digit: every reader gets the same nearest
//    double or better, and FHIR decimals carry their precision in the digits.
#ifndef GATEHOUSE_GATEWAY_RECORD_REDACTION_H_
#define GATEHOUSE_GATEWAY_RECORD_REDACTION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse {

// The deepest nesting of objects and arrays RedactJson reads; "[[1]]" is 2.
inline constexpr int kMaxJsonDepth = 64;

struct Redacted {
  std::string json;  // The input with the removed members cut out.
  int removed = 0;   // How many members were cut out.
};

// Removes the members `fields` name from `json`, as described above. On
// success returns the redacted document; on any failure listed above returns
// PermissionDenied and no document.
absl::StatusOr<Redacted> RedactJson(absl::string_view json,
                                    const std::vector<std::string>& fields);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_RECORD_REDACTION_H_
