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
      "recipient", "originator", "accreditation", "purpose", "classification", "defensive",
      "encrypt", "redact", "retain", "notify", "days", "months", "years",
      "require", "system", "requester", "role", "roles", "legal", "basis", "bases"};
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

// The comment lines before a line of output, at `indent`; end-of-line
// comments go after the line when there is one, before it (in order) when
// there are more (the line's parts were on several lines in the source).
void AppendWithComments(std::string* out, absl::string_view indent, const std::string& line,
                        const Comments* c) {
  if (c) {
    for (const std::string& l : c->leading) {
      absl::StrAppend(out, l.empty() ? "" : indent, l, "\n");
    }
    if (c->trailing.size() > 1) {
      for (const std::string& l : c->trailing) absl::StrAppend(out, indent, l, "\n");
    }
  }
  absl::StrAppend(out, indent, line);
  if (c && c->trailing.size() == 1) absl::StrAppend(out, "  ", c->trailing[0]);
  out->push_back('\n');
}

// Top-level and/or: one operand per line.
void AppendClause(std::string* out, absl::string_view keyword, const Expr& e, bool comments) {
  if (e.kind == Expr::Kind::kAnd || e.kind == Expr::Kind::kOr) {
    const char* sep = e.kind == Expr::Kind::kAnd ? "and " : "or ";
    for (size_t i = 0; i < e.children.size(); ++i) {
      const Expr& child = *e.children[i];
      AppendWithComments(out, i ? "    " : "  ",
                         absl::StrCat(i ? sep : absl::StrCat(keyword, " "), ExprText(child, true)),
                         comments ? &child.comments : nullptr);
    }
  } else {
    AppendWithComments(out, "  ", absl::StrCat(keyword, " ", ExprText(e, false)),
                       comments ? &e.comments : nullptr);
  }
}

std::string DeclText(const DeclAst& d) {
  switch (d.kind) {
    case DeclKind::kClassifications:
      return "classifications " + Names(d.names, " < ");
    case DeclKind::kCaveats: return "caveats " + Names(d.names, ", ");
    case DeclKind::kSectors: return "sectors " + Names(d.names, ", ");
    case DeclKind::kRecordTypes: return "record types " + Names(d.names, ", ");
    case DeclKind::kPurposes: return "purposes " + Names(d.names, ", ");
    case DeclKind::kRoles: return "roles " + Names(d.names, d.ordered ? " < " : ", ");
    case DeclKind::kLegalBases: return "legal bases " + Names(d.names, ", ");
  }
  return "";
}

}  // namespace

std::string QuoteName(absl::string_view name) { return Quote(name); }

std::string FormatCondition(const Expr& e) { return ExprText(e, false); }

std::string FormatRule(const RuleAst& r, bool comments) {
  std::string out;
  AppendWithComments(&out, "",
                     absl::StrCat(r.defensive ? "defensive " : "", r.forbid ? "forbid " : "permit ",
                                  r.id.text),
                     comments ? &r.comments : nullptr);
  if (!r.description.empty()) {
    AppendWithComments(&out, "  ", absl::StrCat("\"", r.description, "\""),
                       comments ? &r.description_comments : nullptr);
  }
  if (r.when) AppendClause(&out, "when", *r.when, comments);
  if (r.unless) AppendClause(&out, "unless", *r.unless, comments);
  if (!r.has_obligations) return out;
  const ObligationsAst& o = r.obligations;
  std::vector<std::pair<std::string, ObligationsAst::Item>> parts;
  if (o.encrypt) parts.push_back({"encrypt", ObligationsAst::kEncrypt});
  if (!o.redact.empty()) parts.push_back({"redact " + List(o.redact), ObligationsAst::kRedact});
  if (o.retain_amount) {
    parts.push_back({absl::StrCat("retain ", o.retain_amount, " ",
                                  o.retain_unit.empty() ? "days" : o.retain_unit),
                     ObligationsAst::kRetain});
  }
  if (o.notify_originator) parts.push_back({"notify originator", ObligationsAst::kNotify});
  if (o.require_recipient_system) {
    parts.push_back({"require recipient system", ObligationsAst::kRequire});
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    AppendWithComments(&out, i ? "    " : "  ",
                       absl::StrCat(i ? "and " : "then ", parts[i].first),
                       comments ? &o.comments[parts[i].second] : nullptr);
  }
  return out;
}

std::string FormatPolicy(const PolicyFileAst& f) {
  std::string out;
  for (const std::string& l : f.header) absl::StrAppend(&out, l, "\n");
  if (!f.policy_name.text.empty()) {
    AppendWithComments(&out, "", absl::StrCat("policy ", Quote(f.policy_name.text)),
                       &f.policy_comments);
  }
  AppendWithComments(&out, "", absl::StrCat("layer ", f.local_layer ? "local" : "baseline"),
                     &f.layer_comments);
  if (!f.decls.empty()) out += "\n";
  for (const DeclAst& d : f.decls) AppendWithComments(&out, "", DeclText(d), &d.comments);
  if (!f.organisations.empty()) out += "\n";
  for (const OrganisationAst& o : f.organisations) {
    AppendWithComments(&out, "",
                       absl::StrCat("organisation ", Quote(o.id.text), " sector ",
                                    Quote(o.sector.text), " accredited ",
                                    Quote(o.accreditation.text)),
                       &o.comments);
  }
  for (const RuleAst& r : f.rules) absl::StrAppend(&out, "\n", FormatRule(r));
  if (!f.trailer.empty()) out += "\n";
  for (const std::string& l : f.trailer) absl::StrAppend(&out, l, "\n");
  return out;
}

}  // namespace gatehouse::policy
