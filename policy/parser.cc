#include "policy/parser.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "policy/lexer.h"

namespace gatehouse::policy {
namespace {

constexpr int kMaxDepth = 64;

struct SyntaxError {};

class Parser {
 public:
  Parser(int file, absl::string_view text, std::vector<Diagnostic>* diags)
      : toks_(Lex(file, text)), diags_(diags) {
    ast_.file = file;
  }

  PolicyFileAst Run() {
    while (Peek().kind != Token::Kind::kEnd) {
      const size_t before = errors_, at = pos_;
      TopLevel();
      if (errors_ != before) Recover(/*force_advance=*/pos_ == at);
    }
    return std::move(ast_);
  }

 private:
  const Token& Peek(int ahead = 0) const {
    size_t i = pos_ + ahead;
    return i < toks_.size() ? toks_[i] : toks_.back();
  }
  bool IsWord(absl::string_view w, int ahead = 0) const {
    const Token& t = Peek(ahead);
    return t.kind == Token::Kind::kWord && t.text == w;
  }
  const Token& Next() {
    const Token& t = Peek();
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  bool failed() const { return failed_; }
  void Error(const Token& at, std::string message) {
    if (failed_) return;
    failed_ = true;
    ++errors_;
    std::string got = at.kind == Token::Kind::kEnd
                          ? "end of file"
                          : absl::StrCat("'", at.text, "'");
    diags_->push_back(Diagnostic{Severity::kError, "syntax", at.pos,
                                 absl::StrCat(message, ", found ", got)});
  }
  bool Expect(absl::string_view word) {
    if (failed_) return false;
    if (!IsWord(word)) {
      Error(Peek(), absl::StrCat("expected '", word, "'"));
      return false;
    }
    Next();
    return true;
  }
  bool ExpectKind(Token::Kind kind, absl::string_view what) {
    if (failed_) return false;
    if (Peek().kind != kind) {
      Error(Peek(), absl::StrCat("expected ", what));
      return false;
    }
    Next();
    return true;
  }

  bool AtTopKeyword() const {
    static const char* kTop[] = {"policy", "layer", "classifications",
                                 "caveats", "sectors", "purposes",
                                 "organisation", "permit", "forbid"};
    for (const char* k : kTop) {
      if (IsWord(k)) return true;
    }
    return IsWord("record") && IsWord("types", 1);
  }

  void Recover(bool force_advance) {
    failed_ = false;
    if (Peek().kind != Token::Kind::kEnd && (force_advance || !AtTopKeyword())) {
      Next();
    }
    while (Peek().kind != Token::Kind::kEnd && !AtTopKeyword()) Next();
  }

  Name ParseName(absl::string_view what) {
    Name n;
    const Token& t = Peek();
    if (failed_) return n;
    const bool reserved = t.kind == Token::Kind::kWord &&
                          (t.text == "permit" || t.text == "forbid" ||
                           t.text == "when" || t.text == "unless" ||
                           t.text == "then");
    if ((t.kind != Token::Kind::kWord && t.kind != Token::Kind::kString) ||
        reserved) {
      Error(t, absl::StrCat("expected ", what));
      return n;
    }
    n.text = std::string(t.text);
    n.pos = t.pos;
    Next();
    return n;
  }

  std::vector<Name> ParseCommaNames(absl::string_view what) {
    std::vector<Name> names;
    names.push_back(ParseName(what));
    while (!failed_ && Peek().kind == Token::Kind::kComma) {
      Next();
      names.push_back(ParseName(what));
    }
    return names;
  }

  std::vector<Name> ParseList(absl::string_view what) {
    std::vector<Name> names;
    if (Peek().kind != Token::Kind::kLParen) {
      names.push_back(ParseName(what));
      return names;
    }
    Next();
    names = ParseCommaNames(what);
    ExpectKind(Token::Kind::kRParen, "')' closing the list");
    return names;
  }

  void TopLevel() {
    const Token& t = Peek();
    if (IsWord("policy")) {
      Next();
      ast_.policy_name = ParseName("a policy name");
    } else if (IsWord("layer")) {
      Next();
      if (IsWord("baseline")) {
        Next();
        ast_.local_layer = false;
      } else if (IsWord("local")) {
        Next();
        ast_.local_layer = true;
      } else {
        Error(Peek(), "expected 'baseline' or 'local'");
      }
    } else if (IsWord("classifications")) {
      DeclAst d{DeclKind::kClassifications, {}, t.pos};
      Next();
      d.names.push_back(ParseName("a classification level"));
      while (!failed_ && Peek().kind == Token::Kind::kLess) {
        Next();
        d.names.push_back(ParseName("a classification level"));
      }
      ast_.decls.push_back(std::move(d));
    } else if (IsWord("caveats") || IsWord("sectors") || IsWord("purposes") ||
               (IsWord("record") && IsWord("types", 1))) {
      DeclAst d{DeclKind::kCaveats, {}, t.pos};
      if (IsWord("sectors")) d.kind = DeclKind::kSectors;
      if (IsWord("purposes")) d.kind = DeclKind::kPurposes;
      if (IsWord("record")) {
        d.kind = DeclKind::kRecordTypes;
        Next();
      }
      Next();
      d.names = ParseCommaNames("a name");
      ast_.decls.push_back(std::move(d));
    } else if (IsWord("organisation")) {
      Next();
      OrganisationAst o;
      o.id = ParseName("an organisation id");
      Expect("sector");
      o.sector = ParseName("a sector");
      Expect("accredited");
      o.accreditation = ParseName("a classification level");
      if (!failed_) ast_.organisations.push_back(std::move(o));
    } else if (IsWord("permit") || IsWord("forbid")) {
      ParseRule();
    } else {
      Error(t, "expected a declaration or a rule");
    }
  }

  void ParseRule() {
    RuleAst r;
    r.pos = Peek().pos;
    r.forbid = IsWord("forbid");
    Next();
    if (Peek().kind != Token::Kind::kWord) {
      Error(Peek(), "expected a rule id");
      return;
    }
    r.id = ParseName("a rule id");
    if (Peek().kind == Token::Kind::kString) {
      r.description = std::string(Next().text);
    }
    if (IsWord("when")) {
      Next();
      r.when = ParseOr(0);
    }
    if (!failed_ && IsWord("unless")) {
      Next();
      r.unless = ParseOr(0);
    }
    if (!failed_ && IsWord("then")) {
      r.obligations.pos = Peek().pos;
      Next();
      r.has_obligations = true;
      ParseObligations(&r.obligations);
    }
    if (failed_) return;
    if (!AtTopKeyword() && Peek().kind != Token::Kind::kEnd) {
      Error(Peek(), "expected 'when', 'unless', 'then' or the next rule");
      return;
    }
    ast_.rules.push_back(std::move(r));
  }

  void ParseObligations(ObligationsAst* o) {
    do {
      if (IsWord("encrypt")) {
        Next();
        o->encrypt = true;
      } else if (IsWord("redact")) {
        Next();
        for (Name& n : ParseList("a field name")) o->redact.push_back(n);
      } else if (IsWord("retain")) {
        Next();
        if (Peek().kind != Token::Kind::kNumber || Peek().text.size() > 6) {
          Error(Peek(), "expected a number of days, months or years");
          return;
        }
        o->retain_amount = std::stoi(std::string(Next().text));
        if (IsWord("days") || IsWord("months") || IsWord("years")) {
          o->retain_unit = std::string(Next().text);
        } else {
          Error(Peek(), "expected 'days', 'months' or 'years'");
        }
      } else if (IsWord("notify")) {
        Next();
        Expect("originator");
        o->notify_originator = true;
      } else if (IsWord("require")) {
        Next();
        Expect("recipient");
        Expect("system");
        o->require_recipient_system = true;
      } else {
        Error(Peek(), "expected an obligation (encrypt, redact, retain, "
                      "notify originator, require recipient system)");
      }
    } while (!failed_ && (IsWord("and") || Peek().kind == Token::Kind::kComma) &&
             (Next(), true));
  }

  std::unique_ptr<Expr> Combine(Expr::Kind kind, std::unique_ptr<Expr> first,
                                std::vector<std::unique_ptr<Expr>> rest) {
    if (rest.empty()) return first;
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = first->pos;
    e->children.push_back(std::move(first));
    for (auto& r : rest) e->children.push_back(std::move(r));
    return e;
  }

  std::unique_ptr<Expr> ParseOr(int depth) {
    auto first = ParseAnd(depth);
    std::vector<std::unique_ptr<Expr>> rest;
    while (!failed_ && IsWord("or")) {
      Next();
      rest.push_back(ParseAnd(depth));
    }
    return Combine(Expr::Kind::kOr, std::move(first), std::move(rest));
  }

  std::unique_ptr<Expr> ParseAnd(int depth) {
    auto first = ParseUnary(depth);
    std::vector<std::unique_ptr<Expr>> rest;
    while (!failed_ && IsWord("and")) {
      Next();
      rest.push_back(ParseUnary(depth));
    }
    return Combine(Expr::Kind::kAnd, std::move(first), std::move(rest));
  }

  std::unique_ptr<Expr> ParseUnary(int depth) {
    auto e = std::make_unique<Expr>();
    e->pos = Peek().pos;
    if (failed_) return e;
    if (depth > kMaxDepth) {
      Error(Peek(), "condition nested too deeply");
      return e;
    }
    if (IsWord("not")) {
      Next();
      e->kind = Expr::Kind::kNot;
      e->children.push_back(ParseUnary(depth + 1));
      return e;
    }
    if (Peek().kind == Token::Kind::kLParen) {
      Next();
      auto inner = ParseOr(depth + 1);
      ExpectKind(Token::Kind::kRParen, "')'");
      inner->parenthesised = true;
      return inner;
    }
    e->kind = Expr::Kind::kAtom;
    ParseAtom(&e->atom);
    return e;
  }

  // Parses a subject at the cursor; returns false (without error) if none.
  bool TrySubject(Subject* s, SourcePos* pos) {
    *pos = Peek().pos;
    auto qualified = [&](Subject org, Subject sector, Subject acc) {
      Next();
      if (IsWord("sector")) {
        Next();
        *s = sector;
      } else if (IsWord("accreditation")) {
        Next();
        *s = acc;
      } else {
        *s = org;
      }
      return true;
    };
    if (IsWord("sender")) {
      return qualified(Subject::kSender, Subject::kSenderSector,
                       Subject::kSenderAccreditation);
    }
    if (IsWord("recipient")) {
      return qualified(Subject::kRecipient, Subject::kRecipientSector,
                       Subject::kRecipientAccreditation);
    }
    if (IsWord("originator")) {
      Next();
      *s = Subject::kOriginator;
      return true;
    }
    if (IsWord("record") && IsWord("type", 1)) {
      Next();
      Next();
      *s = Subject::kRecordType;
      return true;
    }
    if (IsWord("purpose")) {
      Next();
      *s = Subject::kPurpose;
      return true;
    }
    if (IsWord("classification")) {
      Next();
      *s = Subject::kClassification;
      return true;
    }
    if (IsWord("caveats")) {
      Next();
      *s = Subject::kCaveats;
      return true;
    }
    return false;
  }

  // A single value, or another subject (relational comparison).
  void ParseValueOrSubject(Atom* a) {
    if (TrySubject(&a->other, &a->other_pos)) {
      a->has_other = true;
      return;
    }
    a->values.push_back(ParseName("a value"));
  }

  void ParseAtom(Atom* a) {
    if (!TrySubject(&a->subject, &a->pos)) {
      Error(Peek(), "expected a condition such as 'sender sector is health'");
      return;
    }
    if (a->subject == Subject::kCaveats) {
      if (!Expect("include")) return;
      if ((IsWord("any") || IsWord("all") || IsWord("none")) &&
          IsWord("of", 1)) {
        a->op = IsWord("any")   ? Op::kIncludeAny
                : IsWord("all") ? Op::kIncludeAll
                                : Op::kIncludeNone;
        Next();
        Next();
      } else {
        a->op = Op::kIncludeAll;
      }
      a->values = ParseList("a caveat");
      return;
    }
    if (IsWord("is")) {
      Next();
      a->op = Op::kIs;
      if (IsWord("not")) {
        Next();
        a->op = Op::kIsNot;
      }
      if (IsWord("in")) {
        Next();
        a->op = a->op == Op::kIs ? Op::kIn : Op::kNotIn;
        a->values = ParseList("a value");
        return;
      }
      ParseValueOrSubject(a);
    } else if (IsWord("in")) {
      Next();
      a->op = Op::kIn;
      a->values = ParseList("a value");
    } else if (IsWord("not") && IsWord("in", 1)) {
      Next();
      Next();
      a->op = Op::kNotIn;
      a->values = ParseList("a value");
    } else if (IsWord("at") && (IsWord("least", 1) || IsWord("most", 1))) {
      Next();
      a->op = Next().text == "least" ? Op::kAtLeast : Op::kAtMost;
      ParseValueOrSubject(a);
    } else if (IsWord("below") || IsWord("above")) {
      a->op = Next().text == "below" ? Op::kBelow : Op::kAbove;
      ParseValueOrSubject(a);
    } else if (IsWord("from")) {
      Next();
      a->op = Op::kFromTo;
      a->values.push_back(ParseName("a classification level"));
      Expect("to");
      a->values.push_back(ParseName("a classification level"));
    } else {
      Error(Peek(), "expected 'is', 'in', 'not in', 'at least', 'at most', "
                    "'below', 'above' or 'from'");
    }
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
  bool failed_ = false;
  size_t errors_ = 0;
  std::vector<Diagnostic>* diags_;
  PolicyFileAst ast_;
};

}  // namespace

PolicyFileAst ParsePolicy(int file, absl::string_view text,
                          std::vector<Diagnostic>* diagnostics) {
  return Parser(file, text, diagnostics).Run();
}

}  // namespace gatehouse::policy
