#include "policy/formatter.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gatehouse::policy {
namespace {

bool IsKeyword(absl::string_view w) {
  static const char* kWords[] = {
      "policy", "layer", "baseline", "local", "classifications", "caveats",
      "sectors", "record", "types", "type", "purposes", "organisation",
      "sector", "accredited", "permit", "forbid", "when", "unless", "then",
      "and", "or", "not", "is", "in", "at", "least", "most", "below", "above",
      "from", "to", "include", "any", "all", "none", "of", "sender",
      "recipient", "originator", "accreditation", "purpose", "classification",
      "encrypt", "redact", "retain", "notify", "days", "months", "years",
      "require", "system"};
  for (const char* k : kWords) {
    if (w == k) return true;
  }
  return false;
}

std::string Quote(absl::string_view name) {
  bool word = !name.empty() &&
              ((name[0] >= 'a' && name[0] <= 'z') ||
               (name[0] >= 'A' && name[0] <= 'Z') || name[0] == '_');
  for (char c : name) {
    word = word && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '-');
  }
  if (word && !IsKeyword(name)) return std::string(name);
  return absl::StrCat("\"", name, "\"");
}

std::string Names(const std::vector<Name>& names, absl::string_view sep) {
  return absl::StrJoin(names, sep, [](std::string* out, const Name& n) {
    out->append(Quote(n.text));
  });
}

std::string List(const std::vector<Name>& names) {
  return absl::StrCat("(", Names(names, ", "), ")");
}

std::string AtomText(const Atom& a) {
  std::string rhs = a.has_other ? std::string(SubjectText(a.other))
                    : a.values.empty() ? std::string("\"\"")
                                       : Quote(a.values[0].text);
  std::string s = absl::StrCat(SubjectText(a.subject), " ");
  switch (a.op) {
    case Op::kIs: return s + "is " + rhs;
    case Op::kIsNot: return s + "is not " + rhs;
    case Op::kIn: return s + "in " + List(a.values);
    case Op::kNotIn: return s + "not in " + List(a.values);
    case Op::kAtLeast: return s + "at least " + rhs;
    case Op::kAtMost: return s + "at most " + rhs;
    case Op::kBelow: return s + "below " + rhs;
    case Op::kAbove: return s + "above " + rhs;
    case Op::kFromTo:
      return absl::StrCat(s, "from ", rhs, " to ",
                          a.values.size() > 1 ? Quote(a.values[1].text) : "\"\"");
    case Op::kIncludeAll:
      if (a.values.size() == 1) return s + "include " + rhs;
      return s + "include all of " + List(a.values);
    case Op::kIncludeAny: return s + "include any of " + List(a.values);
    case Op::kIncludeNone: return s + "include none of " + List(a.values);
  }
  return s;
}

std::string ExprText(const Expr& e, bool nested) {
  switch (e.kind) {
    case Expr::Kind::kAtom: return AtomText(e.atom);
    case Expr::Kind::kNot:
      return "not " + ExprText(*e.children[0], true);
    case Expr::Kind::kAnd:
    case Expr::Kind::kOr: {
      const char* sep = e.kind == Expr::Kind::kAnd ? " and " : " or ";
      std::string s;
      for (size_t i = 0; i < e.children.size(); ++i) {
        if (i) s += sep;
        s += ExprText(*e.children[i], true);
      }
      return nested ? "(" + s + ")" : s;
    }
  }
  return "";
}

// Top-level and/or: one operand per line.
std::string Clause(absl::string_view keyword, const Expr& e) {
  std::string s = absl::StrCat("  ", keyword, " ");
  if (e.kind == Expr::Kind::kAnd || e.kind == Expr::Kind::kOr) {
    const char* sep = e.kind == Expr::Kind::kAnd ? "\n    and " : "\n    or ";
    for (size_t i = 0; i < e.children.size(); ++i) {
      if (i) s += sep;
      s += ExprText(*e.children[i], true);
    }
  } else {
    s += ExprText(e, false);
  }
  return s + "\n";
}

std::string DeclText(const DeclAst& d) {
  switch (d.kind) {
    case DeclKind::kClassifications:
      return "classifications " + Names(d.names, " < ");
    case DeclKind::kCaveats: return "caveats " + Names(d.names, ", ");
    case DeclKind::kSectors: return "sectors " + Names(d.names, ", ");
    case DeclKind::kRecordTypes: return "record types " + Names(d.names, ", ");
    case DeclKind::kPurposes: return "purposes " + Names(d.names, ", ");
  }
  return "";
}

}  // namespace

std::string FormatPolicy(const PolicyFileAst& f) {
  std::string out;
  if (!f.policy_name.text.empty()) {
    absl::StrAppend(&out, "policy ", Quote(f.policy_name.text), "\n");
  }
  absl::StrAppend(&out, "layer ", f.local_layer ? "local" : "baseline", "\n");
  if (!f.decls.empty()) out += "\n";
  for (const DeclAst& d : f.decls) absl::StrAppend(&out, DeclText(d), "\n");
  if (!f.organisations.empty()) out += "\n";
  for (const OrganisationAst& o : f.organisations) {
    absl::StrAppend(&out, "organisation ", Quote(o.id.text), " sector ",
                    Quote(o.sector.text), " accredited ",
                    Quote(o.accreditation.text), "\n");
  }
  for (const RuleAst& r : f.rules) {
    absl::StrAppend(&out, "\n", r.forbid ? "forbid " : "permit ", r.id.text,
                    "\n");
    if (!r.description.empty()) {
      absl::StrAppend(&out, "  \"", r.description, "\"\n");
    }
    if (r.when) out += Clause("when", *r.when);
    if (r.unless) out += Clause("unless", *r.unless);
    if (r.has_obligations) {
      const ObligationsAst& o = r.obligations;
      std::vector<std::string> parts;
      if (o.encrypt) parts.push_back("encrypt");
      if (!o.redact.empty()) parts.push_back("redact " + List(o.redact));
      if (o.retain_amount) {
        parts.push_back(absl::StrCat("retain ", o.retain_amount, " ",
                                     o.retain_unit.empty() ? "days" : o.retain_unit));
      }
      if (o.notify_originator) parts.push_back("notify originator");
      if (o.require_recipient_system) parts.push_back("require recipient system");
      if (!parts.empty()) {
        absl::StrAppend(&out, "  then ", absl::StrJoin(parts, "\n    and "), "\n");
      }
    }
  }
  return out;
}

}  // namespace gatehouse::policy
