#include "gateway/redaction.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gatehouse {
namespace {

// A recursive-descent pass over one JSON value (RFC 8259) that copies it to
// `out`, leaving out object members whose path matches a field.
class Redactor {
 public:
  Redactor(absl::string_view in, const std::vector<std::string>& fields)
      : in_(in), fields_(fields) {}

  absl::StatusOr<Redacted> Run() {
    Redacted r;
    SkipSpace();
    if (!Value(&r.json, 0)) return Error();
    SkipSpace();
    if (pos_ != in_.size()) {
      error_ = "trailing data after the JSON value";
      return Error();
    }
    r.removed = removed_;
    return r;
  }

 private:
  absl::Status Error() const {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot redact: the payload is not valid JSON (", error_, " at byte ", pos_, ")"));
  }
  bool Fail(const char* why) {
    if (error_.empty()) error_ = why;
    return false;
  }
  void SkipSpace() {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Peek(char c) const { return pos_ < in_.size() && in_[pos_] == c; }

  bool Matches() const {
    const std::string& last = path_.back();
    std::string full;
    for (const std::string& f : fields_) {
      if (f.find('.') == std::string::npos) {
        if (f == last) return true;
      } else {
        if (full.empty()) full = absl::StrJoin(path_, ".");
        if (f == full) return true;
      }
    }
    return false;
  }

  // Parses a string; appends its raw text to `raw` and its decoded value
  // (escapes other than \uXXXX resolved; \u kept as written) to `decoded`.
  bool String(std::string* raw, std::string* decoded) {
    size_t start = pos_;
    if (!Peek('"')) return Fail("expected a string");
    ++pos_;
    while (pos_ < in_.size() && in_[pos_] != '"') {
      unsigned char c = static_cast<unsigned char>(in_[pos_]);
      if (c < 0x20) return Fail("control character in a string");
      if (c == '\\') {
        if (++pos_ >= in_.size()) return Fail("unterminated escape");
        char e = in_[pos_];
        switch (e) {
          case '"': case '\\': case '/': if (decoded) *decoded += e; break;
          case 'b': if (decoded) *decoded += '\b'; break;
          case 'f': if (decoded) *decoded += '\f'; break;
          case 'n': if (decoded) *decoded += '\n'; break;
          case 'r': if (decoded) *decoded += '\r'; break;
          case 't': if (decoded) *decoded += '\t'; break;
          case 'u':
            if (pos_ + 4 >= in_.size()) return Fail("short \\u escape");
            for (int i = 1; i <= 4; ++i) {
              if (!absl::ascii_isxdigit(static_cast<unsigned char>(in_[pos_ + i]))) {
                return Fail("bad \\u escape");
              }
            }
            if (decoded) absl::StrAppend(decoded, "\\u", in_.substr(pos_ + 1, 4));
            pos_ += 4;
            break;
          default: return Fail("bad escape");
        }
        ++pos_;
        continue;
      }
      if (decoded) *decoded += static_cast<char>(c);
      ++pos_;
    }
    if (!Peek('"')) return Fail("unterminated string");
    ++pos_;
    if (raw) raw->append(in_.data() + start, pos_ - start);
    return true;
  }

  bool Number(std::string* out) {
    size_t start = pos_;
    if (Peek('-')) ++pos_;
    if (Peek('0')) {
      ++pos_;
    } else {
      if (pos_ >= in_.size() || !absl::ascii_isdigit(static_cast<unsigned char>(in_[pos_]))) {
        return Fail("expected a value");
      }
      while (pos_ < in_.size() && absl::ascii_isdigit(static_cast<unsigned char>(in_[pos_]))) ++pos_;
    }
    if (Peek('.')) {
      ++pos_;
      size_t digits = pos_;
      while (pos_ < in_.size() && absl::ascii_isdigit(static_cast<unsigned char>(in_[pos_]))) ++pos_;
      if (pos_ == digits) return Fail("bad number");
    }
    if (Peek('e') || Peek('E')) {
      ++pos_;
      if (Peek('+') || Peek('-')) ++pos_;
      size_t digits = pos_;
      while (pos_ < in_.size() && absl::ascii_isdigit(static_cast<unsigned char>(in_[pos_]))) ++pos_;
      if (pos_ == digits) return Fail("bad number");
    }
    out->append(in_.data() + start, pos_ - start);
    return true;
  }

  bool Literal(absl::string_view word, std::string* out) {
    if (in_.substr(pos_, word.size()) != word) return Fail("expected a value");
    pos_ += word.size();
    out->append(word.data(), word.size());
    return true;
  }

  bool Value(std::string* out, int depth) {
    if (pos_ >= in_.size()) return Fail("unexpected end");
    switch (in_[pos_]) {
      case '{': return Object(out, depth + 1);
      case '[': return Array(out, depth + 1);
      case '"': return String(out, nullptr);
      case 't': return Literal("true", out);
      case 'f': return Literal("false", out);
      case 'n': return Literal("null", out);
      default: return Number(out);
    }
  }

  bool Object(std::string* out, int depth) {
    if (depth > kMaxJsonDepth) return Fail("nested too deeply");
    ++pos_;  // '{'
    *out += '{';
    bool first_kept = true;
    SkipSpace();
    if (Peek('}')) {
      ++pos_;
      *out += '}';
      return true;
    }
    while (true) {
      SkipSpace();
      std::string member, key;
      if (!String(&member, &key)) return false;
      SkipSpace();
      if (!Peek(':')) return Fail("expected ':'");
      ++pos_;
      member += ':';
      SkipSpace();
      path_.push_back(key);
      bool drop = Matches();
      if (!Value(&member, depth)) return false;
      path_.pop_back();
      if (drop) {
        ++removed_;
      } else {
        if (!first_kept) *out += ',';
        *out += member;
        first_kept = false;
      }
      SkipSpace();
      if (Peek(',')) {
        ++pos_;
        continue;
      }
      if (Peek('}')) {
        ++pos_;
        *out += '}';
        return true;
      }
      return Fail("expected ',' or '}'");
    }
  }

  bool Array(std::string* out, int depth) {
    if (depth > kMaxJsonDepth) return Fail("nested too deeply");
    ++pos_;  // '['
    *out += '[';
    SkipSpace();
    if (Peek(']')) {
      ++pos_;
      *out += ']';
      return true;
    }
    while (true) {
      SkipSpace();
      if (!Value(out, depth)) return false;
      SkipSpace();
      if (Peek(',')) {
        ++pos_;
        *out += ',';
        continue;
      }
      if (Peek(']')) {
        ++pos_;
        *out += ']';
        return true;
      }
      return Fail("expected ',' or ']'");
    }
  }

  absl::string_view in_;
  const std::vector<std::string>& fields_;
  size_t pos_ = 0;
  int removed_ = 0;
  std::vector<std::string> path_;
  std::string error_;
};

}  // namespace

absl::StatusOr<Redacted> RedactJson(absl::string_view json,
                                    const std::vector<std::string>& fields) {
  return Redactor(json, fields).Run();
}

}  // namespace gatehouse
