// The syntax tree of one policy source file, as the parser builds it and the
// formatter prints it. Names are unresolved strings with their positions;
// the compiler (compiler.h) resolves them. Plain values; thread-compatible.
// The grammar is in docs/policy-language.md.
#ifndef GATEHOUSE_POLICY_AST_H_
#define GATEHOUSE_POLICY_AST_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "policy/diagnostic.h"

namespace gatehouse::policy {

// Comments that belong to one line of canonical output (a declaration, a
// rule's first line, its description, one condition, one obligation):
// comment lines before it ("" stands for an empty line between them), and
// comments at the end of its lines in the source.
struct Comments {
  std::vector<std::string> leading;
  std::vector<std::string> trailing;
  bool empty() const { return leading.empty() && trailing.empty(); }
};

// Token indices [first, last] of a part of the source (for comments).
struct TokenRange {
  size_t first = 0, last = 0;
  bool set = false;
};

// A name as written (identifier or quoted string) and where.
struct Name {
  std::string text;
  SourcePos pos;
};

// What a condition talks about.
enum class Subject {
  kSender,                   // sender organisation
  kRecipient,                // recipient organisation
  kOriginator,               // originating organisation
  kSenderSector,
  kRecipientSector,
  kSenderAccreditation,
  kRecipientAccreditation,
  kRecordType,
  kPurpose,
  kClassification,
  kCaveats,
  kRequesterRole,   // the end user's role or rank (labels.end_user_role)
  kLegalBasis,      // labels.legal_basis
};

// How a subject is written in policy text, e.g. "recipient sector".
inline absl::string_view SubjectText(Subject s) {
  switch (s) {
    case Subject::kSender: return "sender";
    case Subject::kRecipient: return "recipient";
    case Subject::kOriginator: return "originator";
    case Subject::kSenderSector: return "sender sector";
    case Subject::kRecipientSector: return "recipient sector";
    case Subject::kSenderAccreditation: return "sender accreditation";
    case Subject::kRecipientAccreditation: return "recipient accreditation";
    case Subject::kRecordType: return "record type";
    case Subject::kPurpose: return "purpose";
    case Subject::kClassification: return "classification";
    case Subject::kCaveats: return "caveats";
    case Subject::kRequesterRole: return "requester role";
    case Subject::kLegalBasis: return "legal basis";
  }
  return "?";
}

enum class Op {
  kIs,
  kIsNot,
  kIn,
  kNotIn,
  kAtLeast,
  kAtMost,
  kBelow,
  kAbove,
  kFromTo,        // values = {low, high}
  kIncludeAll,    // caveats include X / include all of (...)
  kIncludeAny,    // caveats include any of (...)
  kIncludeNone,   // caveats include none of (...)
};

// One comparison, e.g. "recipient sector is not sender sector".
struct Atom {
  Subject subject = Subject::kSender;
  Op op = Op::kIs;
  std::vector<Name> values;  // literal values; empty when `other` is set
  bool has_other = false;    // right-hand side is another subject
  Subject other = Subject::kSender;
  SourcePos pos;             // of the subject
  SourcePos other_pos;
};

struct Expr {
  enum class Kind { kAtom, kAnd, kOr, kNot };
  Kind kind = Kind::kAtom;
  Atom atom;                                  // kAtom
  std::vector<std::unique_ptr<Expr>> children;  // kAnd/kOr (>=2), kNot (1)
  bool parenthesised = false;
  SourcePos pos;
  TokenRange tokens;
  Comments comments;  // kept for a condition printed on a line of its own
};

struct ObligationsAst {
  bool encrypt = false;
  std::vector<Name> redact;
  int retain_amount = 0;        // as written
  std::string retain_unit;      // "days", "months" or "years"
  bool notify_originator = false;
  bool require_recipient_system = false;  // "require recipient system"
  SourcePos pos;
  // Per obligation, in canonical order: encrypt, redact, retain, notify,
  // require.
  enum Item { kEncrypt, kRedact, kRetain, kNotify, kRequire, kNumItems };
  std::array<TokenRange, kNumItems> tokens;
  std::array<Comments, kNumItems> comments;
};

struct RuleAst {
  bool forbid = false;
  // "defensive forbid": meant never to decide a request (it backs up the
  // built-in no-write-down); a warning says so if it can.
  bool defensive = false;
  Name id;
  std::string description;
  TokenRange header_tokens, description_tokens;
  Comments comments;              // of the rule's first line (and before it)
  Comments description_comments;
  std::unique_ptr<Expr> when;    // null: always
  std::unique_ptr<Expr> unless;  // null: no exception
  bool has_obligations = false;
  ObligationsAst obligations;
  SourcePos pos;
};

struct OrganisationAst {
  Name id;
  Name sector;
  Name accreditation;
  TokenRange tokens;
  Comments comments;
};

enum class DeclKind { kClassifications, kCaveats, kSectors, kRecordTypes,
                      kPurposes, kRoles, kLegalBases };

struct DeclAst {
  DeclKind kind = DeclKind::kCaveats;
  bool ordered = false;  // roles declared with '<' (ranks, lowest first)
  std::vector<Name> names;
  SourcePos pos;
  TokenRange tokens;
  Comments comments;
};

// One parsed file. Declarations and rules keep their order for fmt.
struct PolicyFileAst {
  int file = 0;
  Name policy_name;
  bool local_layer = false;  // "layer local" (narrows the baseline)
  TokenRange policy_tokens, layer_tokens;
  Comments policy_comments, layer_comments;
  std::vector<std::string> header;   // comments before the first item
  std::vector<std::string> trailer;  // comments after the last one
  std::vector<DeclAst> decls;
  std::vector<OrganisationAst> organisations;
  std::vector<RuleAst> rules;
};

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_AST_H_
