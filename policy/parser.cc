#include "policy/parser.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "policy/lexer.h"
#include "policy/suggest.h"

namespace gatehouse::policy {
namespace {

constexpr int kMaxDepth = 64;

// The words that start a top-level item (declaration or rule).
const std::vector<std::string>& TopKeywords() {
  static const std::vector<std::string> k = {
      "policy", "layer", "classifications", "caveats", "sectors", "purposes",
      "organisation", "permit", "forbid", "defensive", "record", "roles", "legal"};
  return k;
}

class Parser {
 public:
  Parser(int file, absl::string_view text, std::vector<Diagnostic>* diags)
      : toks_(Lex(file, text, &comments_)), diags_(diags) {
    ast_.file = file;
  }

  PolicyFileAst Run() {
    while (Peek().kind != Token::Kind::kEnd) {
      const size_t before = errors_, at = pos_;
      TopLevel();
      if (errors_ != before) Recover(/*force_advance=*/pos_ == at);
    }
    AttachComments();
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
  // Reports a syntax error at `at` (once per item: later errors in the
  // same item are usually consequences). If `at` is a word close to one of
  // `meant`, suggests it.
  void Error(const Token& at, std::string message,
             const std::vector<std::string>& meant = {}) {
    if (failed_) return;
    failed_ = true;
    ++errors_;
    std::string got = at.kind == Token::Kind::kEnd
                          ? "end of file"
                          : absl::StrCat("'", at.text, "'");
    Diagnostic d = MakeDiagnostic(Severity::kError, "syntax", at.pos,
                 absl::StrCat(message, ", found ", got));
    if (at.kind == Token::Kind::kBad && at.text.size() > 1) {
      // The text itself is wrong, whatever was expected here.
      d.message = at.text == "bytes that are not UTF-8"
                      ? "this text is not UTF-8; save the policy file as UTF-8"
                      : std::string(at.text);
    }
    if (at.kind == Token::Kind::kWord && !meant.empty()) {
      const std::string near = ClosestName(at.text, meant);
      if (!near.empty()) {
        absl::StrAppend(&d.message, "; did you mean '", near, "'?");
        d.suggestion = near;
      }
    }
    diags_->push_back(std::move(d));
  }
  bool Expect(absl::string_view word) {
    if (failed_) return false;
    if (!IsWord(word)) {
      Error(Peek(), absl::StrCat("expected '", word, "'"), {std::string(word)});
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

  // A keyword that starts a declaration or a rule ("caveats include" and
  // "record type" are conditions, not declarations).
  bool AtTopKeyword() const {
    if (IsWord("record")) return IsWord("types", 1);
    if (IsWord("legal")) return IsWord("bases", 1);
    if (IsWord("caveats")) return !IsWord("include", 1);
    for (const std::string& k : TopKeywords()) {
      if (IsWord(k)) return true;
    }
    return false;
  }

  // Where the parser resumes after a syntax error: the next item, that is
  // a top-level keyword first on its line, or any word at column 1 but one
  // that continues a rule (rules continue on indented lines; a misspelt
  // keyword at column 1 starts an item, and TopLevel says so). So an error
  // costs at most the item it is in, never its neighbours.
  bool AtItemStart() const {
    const Token& t = Peek();
    if (t.kind == Token::Kind::kEnd) return true;
    if (!t.line_start || t.kind != Token::Kind::kWord) return false;
    if (AtTopKeyword()) return true;
    // Words that continue a rule: its keywords and the subjects of its
    // conditions ("caveats include", "record type").
    static const char* kInside[] = {"when", "unless", "then", "and", "or", "not",
                                    "sender", "recipient", "originator", "purpose",
                                    "classification", "caveats", "record", "requester",
                                    "legal"};
    for (const char* k : kInside) {
      if (t.text == k) return false;
    }
    return t.pos.column == 1;
  }

  void Recover(bool force_advance) {
    failed_ = false;
    if (Peek().kind != Token::Kind::kEnd && (force_advance || !AtItemStart())) {
      Next();
    }
    while (!AtItemStart()) Next();
  }

  // The tokens from `first` to the last one read (or to `last`).
  TokenRange Range(size_t first, size_t last = SIZE_MAX) const {
    TokenRange r;
    r.first = first;
    r.last = last != SIZE_MAX ? last : (pos_ > first ? pos_ - 1 : first);
    r.set = true;
    return r;
  }
  static void Widen(TokenRange* r, const TokenRange& with) {
    if (!with.set) return;
    if (!r->set) {
      *r = with;
      return;
    }
    r->first = std::min(r->first, with.first);
    r->last = std::max(r->last, with.last);
  }

  // Gives each comment to the line of canonical output it belongs to (see
  // Comments in ast.h): an end-of-line comment to the part whose token it
  // follows; a comment on its own line to the part that comes next (or to
  // the file's header or trailer).
  void AttachComments() {
    struct Unit {
      TokenRange tokens;
      Comments* comments;
    };
    std::vector<Unit> units;
    auto add = [&](const TokenRange& t, Comments* c) {
      if (t.set) units.push_back(Unit{t, c});
    };
    auto add_clause = [&](Expr* e) {
      if (!e) return;
      if (e->kind == Expr::Kind::kAnd || e->kind == Expr::Kind::kOr) {
        for (auto& child : e->children) add(child->tokens, &child->comments);
      } else {
        add(e->tokens, &e->comments);
      }
    };
    add(ast_.policy_tokens, &ast_.policy_comments);
    add(ast_.layer_tokens, &ast_.layer_comments);
    for (DeclAst& d : ast_.decls) add(d.tokens, &d.comments);
    for (OrganisationAst& o : ast_.organisations) add(o.tokens, &o.comments);
    for (RuleAst& r : ast_.rules) {
      add(r.header_tokens, &r.comments);
      add(r.description_tokens, &r.description_comments);
      add_clause(r.when.get());
      add_clause(r.unless.get());
      for (int i = 0; i < ObligationsAst::kNumItems; ++i) {
        add(r.obligations.tokens[i], &r.obligations.comments[i]);
      }
    }
    std::sort(units.begin(), units.end(), [](const Unit& a, const Unit& b) {
      return a.tokens.first < b.tokens.first;
    });
    auto push = [](std::vector<std::string>* v, const Comment& k) {
      if (k.blank_before && !v->empty() && !v->back().empty()) v->push_back("");
      v->push_back(k.text);
    };
    for (const Comment& k : comments_) {
      if (!k.own_line && k.next_token > 0) {
        const size_t t = k.next_token - 1;
        auto it = std::upper_bound(units.begin(), units.end(), t, [](size_t x, const Unit& u) {
          return x < u.tokens.first;
        });
        if (it != units.begin() && t <= std::prev(it)->tokens.last) {
          std::prev(it)->comments->trailing.push_back(k.text);
          continue;
        }
      }
      auto next = std::lower_bound(units.begin(), units.end(), k.next_token,
                                   [](const Unit& u, size_t x) { return u.tokens.first < x; });
      if (next == units.end()) {
        push(&ast_.trailer, k);
      } else if (next == units.begin()) {
        push(&ast_.header, k);
      } else {
        push(&next->comments->leading, k);
      }
    }
    // An empty line between a unit's comments and the unit is kept.
    for (size_t i = 0; i < units.size(); ++i) {
      std::vector<std::string>* v = i == 0 ? &ast_.header : &units[i].comments->leading;
      if (!v->empty() && !v->back().empty() && toks_[units[i].tokens.first].blank_before) {
        v->push_back("");
      }
    }
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
    if (t.text.size() > kMaxNameLength) {
      failed_ = true;
      ++errors_;
      diags_->push_back(MakeDiagnostic(
          Severity::kError, "limit", t.pos,
          absl::StrCat("a name is at most ", kMaxNameLength, " characters; this one has ",
                       t.text.size())));
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
    const size_t first = pos_;
    if (IsWord("policy")) {
      Next();
      ast_.policy_name = ParseName("a policy name");
      ast_.policy_tokens = Range(first);
    } else if (IsWord("layer")) {
      Next();
      if (IsWord("baseline")) {
        Next();
        ast_.local_layer = false;
      } else if (IsWord("local")) {
        Next();
        ast_.local_layer = true;
      } else {
        Error(Peek(), "expected 'baseline' or 'local'", {"baseline", "local"});
      }
      ast_.layer_tokens = Range(first);
    } else if (IsWord("classifications")) {
      DeclAst d;
      d.kind = DeclKind::kClassifications;
      d.pos = t.pos;
      Next();
      d.names.push_back(ParseName("a classification level"));
      while (!failed_ && Peek().kind == Token::Kind::kLess) {
        Next();
        d.names.push_back(ParseName("a classification level"));
      }
      d.tokens = Range(first);
      ast_.decls.push_back(std::move(d));
    } else if (IsWord("caveats") || IsWord("sectors") || IsWord("purposes") ||
               (IsWord("record") && IsWord("types", 1))) {
      DeclAst d;
      d.kind = DeclKind::kCaveats;
      d.pos = t.pos;
      if (IsWord("sectors")) d.kind = DeclKind::kSectors;
      if (IsWord("purposes")) d.kind = DeclKind::kPurposes;
      if (IsWord("record")) {
        d.kind = DeclKind::kRecordTypes;
        Next();
      }
      Next();
      d.names = ParseCommaNames("a name");
      d.tokens = Range(first);
      ast_.decls.push_back(std::move(d));
    } else if (IsWord("roles") || (IsWord("legal") && IsWord("bases", 1))) {
      DeclAst d;
      d.pos = t.pos;
      d.kind = IsWord("roles") ? DeclKind::kRoles : DeclKind::kLegalBases;
      if (d.kind == DeclKind::kLegalBases) Next();
      Next();
      d.names.push_back(ParseName(d.kind == DeclKind::kRoles ? "a role" : "a legal basis"));
      bool commas = false, less = false;
      while (!failed_ && (Peek().kind == Token::Kind::kComma ||
                          (d.kind == DeclKind::kRoles && Peek().kind == Token::Kind::kLess))) {
        (Peek().kind == Token::Kind::kComma ? commas : less) = true;
        if (commas && less) {
          Error(Peek(), "roles are either ranks ('a < b < c', lowest first) or a list "
                        "('a, b, c'), not both");
          break;
        }
        Next();
        d.names.push_back(ParseName(d.kind == DeclKind::kRoles ? "a role" : "a legal basis"));
      }
      d.ordered = less;
      d.tokens = Range(first);
      ast_.decls.push_back(std::move(d));
    } else if (IsWord("organisation")) {
      Next();
      OrganisationAst o;
      o.id = ParseName("an organisation id");
      Expect("sector");
      o.sector = ParseName("a sector");
      Expect("accredited");
      o.accreditation = ParseName("a classification level");
      o.tokens = Range(first);
      if (!failed_) ast_.organisations.push_back(std::move(o));
    } else if (IsWord("permit") || IsWord("forbid")) {
      ParseRule(IsWord("forbid"));
    } else if (IsWord("defensive")) {
      if (!IsWord("forbid", 1)) {
        Error(Peek(1), "expected 'forbid' ('defensive' marks a forbid meant never to decide)",
              {"forbid"});
        return;
      }
      const size_t before = ast_.rules.size();
      const size_t first = pos_;
      Next();
      ParseRule(/*forbid=*/true);
      if (ast_.rules.size() > before) {
        ast_.rules.back().defensive = true;
        ast_.rules.back().header_tokens.first = first;
      }
    } else if (t.kind == Token::Kind::kWord && t.line_start &&
               Peek(1).kind == Token::Kind::kWord && !Peek(1).line_start &&
               (ClosestName(t.text, {"permit", "forbid"}) != "")) {
      // A misspelt "permit" or "forbid": say so, then read the rule anyway
      // so that its own mistakes are reported too (and it is analysed).
      const std::string meant = ClosestName(t.text, {"permit", "forbid"});
      Error(t, "expected a declaration or a rule", {meant});
      failed_ = false;
      ParseRule(meant == "forbid");
    } else {
      Error(t, "expected a declaration or a rule", TopKeywords());
    }
  }

  void ParseRule(bool forbid) {
    RuleAst r;
    r.pos = Peek().pos;
    r.forbid = forbid;
    const size_t first = pos_;
    Next();
    if (Peek().kind != Token::Kind::kWord) {
      Error(Peek(), "expected a rule id");
      return;
    }
    r.id = ParseName("a rule id");
    r.header_tokens = Range(first);
    if (Peek().kind == Token::Kind::kString) {
      if (Peek().text.size() > kMaxDescriptionLength) {
        failed_ = true;
        ++errors_;
        diags_->push_back(MakeDiagnostic(
            Severity::kError, "limit", Peek().pos,
            absl::StrCat("a description is at most ", kMaxDescriptionLength,
                         " characters; this one has ", Peek().text.size())));
        return;
      }
      r.description_tokens = Range(pos_, pos_);
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
    // The rule ends at the next item. A word at column 1 starts one even if
    // it is misspelt (TopLevel reports it): the rule before it is whole.
    if (!AtTopKeyword() && Peek().kind != Token::Kind::kEnd &&
        !(Peek().line_start && Peek().pos.column == 1)) {
      Subject s;
      SourcePos p;
      const size_t at = pos_;
      const bool condition_follows = TrySubject(&s, &p);
      pos_ = at;
      if (condition_follows) {
        Error(Peek(), "expected 'and' or 'or' before this condition");
      } else {
        Error(Peek(), "expected 'and', 'or', 'unless', 'then' or the next rule",
              {"and", "or", "unless", "then", "when"});
      }
      return;
    }
    ast_.rules.push_back(std::move(r));
  }

  void ParseObligations(ObligationsAst* o) {
    do {
      const size_t first = pos_;
      const ObligationsAst::Item item =
          IsWord("encrypt")  ? ObligationsAst::kEncrypt
          : IsWord("redact") ? ObligationsAst::kRedact
          : IsWord("retain") ? ObligationsAst::kRetain
          : IsWord("notify") ? ObligationsAst::kNotify
                             : ObligationsAst::kRequire;
      ParseObligation(o);
      if (!failed_) Widen(&o->tokens[item], Range(first));
    } while (!failed_ && (IsWord("and") || Peek().kind == Token::Kind::kComma) &&
             (Next(), true));
  }

  void ParseObligation(ObligationsAst* o) {
    {
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
          Error(Peek(), "expected 'days', 'months' or 'years'", {"days", "months", "years"});
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
                      "notify originator, require recipient system)",
              {"encrypt", "redact", "retain", "notify", "require"});
      }
    }
  }

  std::unique_ptr<Expr> Combine(Expr::Kind kind, std::unique_ptr<Expr> first,
                                std::vector<std::unique_ptr<Expr>> rest) {
    if (rest.empty()) return first;
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = first->pos;
    e->tokens = first->tokens;
    Widen(&e->tokens, rest.back()->tokens);
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
    const size_t first = pos_;
    auto e = ParseUnaryInner(depth);
    e->tokens = Range(first);
    return e;
  }

  std::unique_ptr<Expr> ParseUnaryInner(int depth) {
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
    if (IsWord("requester") && IsWord("role", 1)) {
      Next();
      Next();
      *s = Subject::kRequesterRole;
      return true;
    }
    if (IsWord("legal") && IsWord("basis", 1)) {
      Next();
      Next();
      *s = Subject::kLegalBasis;
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
      Error(Peek(), "expected a condition such as 'sender sector is health'",
            {"sender", "recipient", "originator", "record", "purpose", "classification",
             "caveats", "requester", "legal", "not"});
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
                    "'below', 'above' or 'from'",
            {"is", "in", "not", "at", "below", "above", "from"});
    }
  }

  std::vector<Comment> comments_;
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
