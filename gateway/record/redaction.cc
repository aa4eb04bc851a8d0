#include "gateway/record/redaction.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <set>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/charconv.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/utf8.h"

namespace gatehouse {
namespace {

constexpr char kOverflow[] = "a number that overflows to infinity";
constexpr char kUnderflow[] = "a non-zero number that underflows to zero";

// A byte range [begin, end) of the input left out of the output.
struct Cut {
  size_t begin;
  size_t end;
};

// One member of an object as read: from the opening quote of its name to the
// end of its value.
struct MemberSpan {
  size_t name_begin;
  size_t value_end;
  bool removed;
};

// Whether the member at `path` (decoded names from the root, the member's own
// last) is named by `fields`; the rule is "Matching" in redaction.h.
bool IsRedacted(const std::vector<std::string>& path, const std::vector<std::string>& fields) {
  std::vector<absl::string_view> pieces;  // The whole path split at dots.
  for (const std::string& name : path) {
    for (absl::string_view piece : absl::StrSplit(name, '.')) pieces.push_back(piece);
  }
  for (const std::string& field : fields) {
    if (field.find('.') == std::string::npos) {
      for (absl::string_view piece : absl::StrSplit(path.back(), '.')) {
        if (piece == field) return true;
      }
    } else {
      std::vector<absl::string_view> want = absl::StrSplit(field, '.');
      if (want.size() <= pieces.size() && std::equal(want.begin(), want.end(), pieces.begin())) {
        return true;
      }
    }
  }
  return false;
}

// Adds the cuts that take an object's removed members out while leaving valid
// JSON. `open` and `close` are the offsets of its braces. A run of removed
// members goes with the comma and whitespace up to the next kept member; a run
// at the end goes from the end of the last kept value; if nothing is kept,
// everything between the braces goes.
void CutMembers(const std::vector<MemberSpan>& members, size_t open, size_t close,
                std::vector<Cut>* cuts) {
  bool any_kept = std::any_of(members.begin(), members.end(),
                              [](const MemberSpan& m) { return !m.removed; });
  if (!any_kept) {
    if (!members.empty()) cuts->push_back({open + 1, close});
    return;
  }
  for (size_t i = 0; i < members.size();) {
    if (!members[i].removed) {
      ++i;
      continue;
    }
    size_t j = i;  // [i, j) is a run of removed members.
    while (j < members.size() && members[j].removed) ++j;
    if (j < members.size()) {
      cuts->push_back({members[i].name_begin, members[j].name_begin});
    } else {  // i > 0: some member before the run is kept.
      cuts->push_back({members[i - 1].value_end, members[j - 1].value_end});
    }
    i = j;
  }
}

// The input without the byte ranges in `cuts` (which do not overlap).
std::string Splice(absl::string_view in, std::vector<Cut> cuts) {
  std::sort(cuts.begin(), cuts.end(), [](const Cut& a, const Cut& b) { return a.begin < b.begin; });
  std::string out;
  out.reserve(in.size());
  size_t at = 0;
  for (const Cut& cut : cuts) {
    out.append(in.data() + at, cut.begin - at);
    at = cut.end;
  }
  out.append(in.data() + at, in.size() - at);
  return out;
}

// A recursive-descent reader of one JSON value (RFC 8259) that notes the byte
// ranges of the members to remove. Every Read* function returns false after
// recording the first problem; `decoded`, where taken, may be null.
class Reader {
 public:
  Reader(absl::string_view in, const std::vector<std::string>& fields)
      : in_(in), fields_(fields) {}

  absl::StatusOr<Redacted> Run() {
    if (absl::StartsWith(in_, "\xEF\xBB\xBF")) {
      Fail("a byte order mark", 0);
      return Error();
    }
    SkipSpace();
    if (!ReadValue(0, false)) return Error();
    SkipSpace();
    if (pos_ != in_.size()) {
      Fail("malformed JSON: trailing data after the value");
      return Error();
    }
    Redacted r;
    r.json = Splice(in_, std::move(cuts_));
    r.removed = removed_;
    return r;
  }

 private:
  absl::Status Error() const {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot redact: ", problem_, " at byte ", problem_at_));
  }
  bool Fail(absl::string_view problem, size_t at) {
    if (problem_.empty()) {
      problem_ = std::string(problem);
      problem_at_ = at;
    }
    return false;
  }
  bool Fail(absl::string_view problem) { return Fail(problem, pos_); }

  bool Peek(char c) const { return pos_ < in_.size() && in_[pos_] == c; }
  bool PeekDigit() const {
    return pos_ < in_.size() && absl::ascii_isdigit(static_cast<unsigned char>(in_[pos_]));
  }
  void SkipSpace() {
    while (Peek(' ') || Peek('\t') || Peek('\n') || Peek('\r')) ++pos_;
  }
  static void Append(std::string* decoded, absl::string_view bytes) {
    if (decoded != nullptr) decoded->append(bytes.data(), bytes.size());
  }

  // `inside_removed`: the value is part of a member already removed, so
  // nothing in it is cut or counted again (but all of it is still checked).
  bool ReadValue(int depth, bool inside_removed) {
    if (pos_ >= in_.size()) return Fail("malformed JSON: unexpected end of input");
    char c = in_[pos_];
    if (c == '{') return ReadObject(depth + 1, inside_removed);
    if (c == '[') return ReadArray(depth + 1, inside_removed);
    if (c == '"') return ReadString(nullptr);
    if (c == 't') return ReadLiteral("true");
    if (c == 'f') return ReadLiteral("false");
    if (c == 'n') return ReadLiteral("null");
    if (c == '-' || absl::ascii_isdigit(static_cast<unsigned char>(c))) return ReadNumber();
    return Fail("malformed JSON: expected a value");
  }

  bool ReadObject(int depth, bool inside_removed) {
    if (depth > kMaxJsonDepth) return Fail(absl::StrCat("nesting deeper than ", kMaxJsonDepth));
    size_t open = pos_++;
    std::set<std::string> names;
    std::vector<MemberSpan> members;
    SkipSpace();
    while (!Peek('}')) {
      if (!members.empty()) {
        if (!Peek(',')) return Fail("malformed JSON: expected ',' or '}'");
        ++pos_;
        SkipSpace();
      }
      if (!ReadMember(depth, inside_removed, &names, &members)) return false;
      SkipSpace();
    }
    CutMembers(members, open, pos_, &cuts_);
    ++pos_;
    return true;
  }

  // Reads `"name": value`, refusing a name already in `names`.
  bool ReadMember(int depth, bool inside_removed, std::set<std::string>* names,
                  std::vector<MemberSpan>* members) {
    size_t begin = pos_;
    std::string name;
    if (!Peek('"')) return Fail("malformed JSON: expected a member name");
    if (!ReadString(&name)) return false;
    if (name.find('\0') != std::string::npos) return Fail("a member name containing U+0000", begin);
    if (!names->insert(name).second) return Fail("duplicate member name", begin);
    SkipSpace();
    if (!Peek(':')) return Fail("malformed JSON: expected ':'");
    ++pos_;
    SkipSpace();
    path_.push_back(std::move(name));
    bool removed = !inside_removed && IsRedacted(path_, fields_);
    bool ok = ReadValue(depth, inside_removed || removed);
    path_.pop_back();
    if (!ok) return false;
    if (removed) ++removed_;
    members->push_back({begin, pos_, removed});
    return true;
  }

  bool ReadArray(int depth, bool inside_removed) {
    if (depth > kMaxJsonDepth) return Fail(absl::StrCat("nesting deeper than ", kMaxJsonDepth));
    ++pos_;
    SkipSpace();
    for (bool first = true; !Peek(']'); first = false) {
      if (!first) {
        if (!Peek(',')) return Fail("malformed JSON: expected ',' or ']'");
        ++pos_;
        SkipSpace();
      }
      if (!ReadValue(depth, inside_removed)) return false;
      SkipSpace();
    }
    ++pos_;
    return true;
  }

  // Reads a string from its opening quote, appending its decoded value.
  bool ReadString(std::string* decoded) {
    ++pos_;
    while (true) {
      if (pos_ >= in_.size()) return Fail("malformed JSON: unterminated string");
      unsigned char c = static_cast<unsigned char>(in_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      bool ok = true;
      if (c == '\\') {
        ok = ReadEscape(decoded);
      } else if (c >= 0x80) {
        ok = ReadUtf8(decoded);
      } else if (c < 0x20) {
        return Fail("malformed JSON: control character in a string");
      } else {
        Append(decoded, in_.substr(pos_++, 1));
      }
      if (!ok) return false;
    }
  }

  // RFC 8259 §7: the escapes.
  bool ReadEscape(std::string* decoded) {
    size_t at = pos_;
    if (pos_ + 1 >= in_.size()) return Fail("malformed JSON: unterminated string");
    char e = in_[pos_ + 1];
    pos_ += 2;
    switch (e) {
      case '"': case '\\': case '/': Append(decoded, absl::string_view(&e, 1)); return true;
      case 'b': Append(decoded, "\b"); return true;
      case 'f': Append(decoded, "\f"); return true;
      case 'n': Append(decoded, "\n"); return true;
      case 'r': Append(decoded, "\r"); return true;
      case 't': Append(decoded, "\t"); return true;
      case 'u': return ReadUnicodeEscape(at, decoded);
      default: return Fail("an invalid escape", at);
    }
  }

  // Reads the XXXX of \uXXXX (and a following \uXXXX low surrogate if the
  // first is a high one); `at` is the offset of the backslash.
  bool ReadUnicodeEscape(size_t at, std::string* decoded) {
    uint32_t unit = 0;
    if (!HexAt(pos_, &unit)) return Fail("an invalid \\u escape (not four hex digits)", at);
    pos_ += 4;
    if (unit >= 0xDC00 && unit <= 0xDFFF) return Fail("a lone low surrogate \\u escape", at);
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      uint32_t low = 0;
      if (in_.substr(pos_, 2) != "\\u" || !HexAt(pos_ + 2, &low) || low < 0xDC00 || low > 0xDFFF) {
        return Fail("a lone high surrogate \\u escape (no low surrogate follows)", at);
      }
      pos_ += 6;
      unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    }
    if (decoded != nullptr) AppendUtf8(unit, decoded);
    return true;
  }

  // The four hex digits at `at`, if there are four.
  bool HexAt(size_t at, uint32_t* value) const {
    if (at + 4 > in_.size()) return false;
    *value = 0;
    for (char c : in_.substr(at, 4)) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
      int digit = absl::ascii_isdigit(static_cast<unsigned char>(c)) ? c - '0'
                                                                    : absl::ascii_tolower(c) - 'a' + 10;
      *value = *value * 16 + static_cast<uint32_t>(digit);
    }
    return true;
  }

  // One multi-byte UTF-8 sequence in a string (RFC 3629 §4).
  bool ReadUtf8(std::string* decoded) {
    Utf8Lead lead = LeadOf(static_cast<unsigned char>(in_[pos_]));
    if (lead.length == 0) return Fail("invalid UTF-8 (a byte no sequence starts with)");
    if (pos_ + lead.length > in_.size()) return Fail("invalid UTF-8 (a truncated sequence)");
    for (int i = 1; i < lead.length; ++i) {
      unsigned char c = static_cast<unsigned char>(in_[pos_ + i]);
      unsigned char low = i == 1 ? lead.second_low : 0x80;
      unsigned char high = i == 1 ? lead.second_high : 0xBF;
      if (c < low || c > high) {
        return Fail("invalid UTF-8 (overlong, a surrogate, above U+10FFFF or truncated)");
      }
    }
    Append(decoded, in_.substr(pos_, lead.length));
    pos_ += lead.length;
    return true;
  }

  bool ReadDigits() {
    if (!PeekDigit()) return false;
    while (PeekDigit()) ++pos_;
    return true;
  }

  // RFC 8259 §6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool ReadNumber() {
    size_t begin = pos_;
    if (Peek('-')) ++pos_;
    if (Peek('0')) {
      ++pos_;
    } else if (!ReadDigits()) {
      return Fail("malformed JSON: expected a digit");
    }
    if (Peek('.')) {
      ++pos_;
      if (!ReadDigits()) return Fail("malformed JSON: expected a digit after '.'");
    }
    if (Peek('e') || Peek('E')) {
      ++pos_;
      if (Peek('+') || Peek('-')) ++pos_;
      if (!ReadDigits()) return Fail("malformed JSON: expected a digit in the exponent");
    }
    return CheckNumberRange(begin);
  }

  // Refuses the numbers readers disagree on; see redaction.h.
  bool CheckNumberRange(size_t begin) {
    absl::string_view text = in_.substr(begin, pos_ - begin);
    absl::string_view mantissa = text.substr(0, text.find_first_of("eE"));
    bool non_zero = mantissa.find_first_of("123456789") != absl::string_view::npos;
    if (!non_zero) return true;  // Any spelling of zero is zero.
    double value = 0;
    absl::from_chars_result r = absl::from_chars(text.data(), text.data() + text.size(), value);
    if (r.ec == std::errc::result_out_of_range) {  // value is then ±0 or ±DBL_MAX.
      return Fail(std::fabs(value) < 1 ? kUnderflow : kOverflow, begin);
    }
    if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
      return Fail("an unreadable number", begin);
    }
    if (std::isinf(value)) return Fail(kOverflow, begin);
    if (value == 0) return Fail(kUnderflow, begin);
    if (std::fabs(value) < DBL_MIN) return Fail("a subnormal number (below 2^-1022)", begin);
    return true;
  }
  bool ReadLiteral(absl::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return Fail("malformed JSON: expected a value");
    pos_ += word.size();
    return true;
  }

  absl::string_view in_;
  const std::vector<std::string>& fields_;
  size_t pos_ = 0;
  std::vector<std::string> path_;  // Decoded names of the members being read.
  std::vector<Cut> cuts_;
  int removed_ = 0;
  std::string problem_;  // The first problem found, and where.
  size_t problem_at_ = 0;
};

}  // namespace

absl::StatusOr<Redacted> RedactJson(absl::string_view json,
                                    const std::vector<std::string>& fields) {
  return Reader(json, fields).Run();
}

}  // namespace gatehouse
