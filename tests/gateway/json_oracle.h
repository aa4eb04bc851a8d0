// A reference JSON reader and redaction rule, the oracle that
// redaction_test.cc and redaction_fuzz.cc hold RedactJson to. Test code only.
//
// It shares no code with gateway/redaction.cc and is written to be checked
// by eye rather than to be fast: it reads the whole document into a tree,
// decodes strings to code points first and encodes them to UTF-8 after,
// validates UTF-8 by decoding and range-checking code points, and reads
// numbers with strtod (the C locale; tests never call setlocale).
//
// It accepts exactly what RedactJson's header promises to accept: one RFC
// 8259 value with surrounding whitespace, nesting at most kMaxJsonDepth,
// valid UTF-8, no lone surrogate escapes, no duplicate or NUL-containing
// member names, and only numbers that are finite, normal doubles (or zero
// spelt with zero digits).
//
// Example:
//   json_oracle::Parsed p = json_oracle::Parse(R"({"a":[1,"\u00e9"]})");
//   // p.ok; p.value.members[0].first == "a"
//
// Thread-safe: pure functions.
#ifndef GATEHOUSE_TESTS_GATEWAY_JSON_ORACLE_H_
#define GATEHOUSE_TESTS_GATEWAY_JSON_ORACLE_H_

#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "gateway/record/redaction.h"

namespace gatehouse::json_oracle {

struct Value {
  enum Kind { kNull, kTrue, kFalse, kNumber, kString, kArray, kObject };
  Kind kind = kNull;
  std::string text;                                     // Numeral as written, or decoded string.
  std::vector<Value> items;                             // kArray.
  std::vector<std::pair<std::string, Value>> members;  // kObject, in order.

  bool operator==(const Value& o) const {
    return kind == o.kind && text == o.text && items == o.items && members == o.members;
  }
};

struct Parsed {
  bool ok = false;
  std::string why;  // When !ok.
  Value value;
};

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  Parsed Run() {
    Parsed p;
    Space();
    p.ok = ParseValue(&p.value, 0);
    Space();
    if (p.ok && i_ != s_.size()) p.ok = Bad("trailing data");
    p.why = why_;
    return p;
  }

 private:
  bool Bad(const char* why) {
    if (why_.empty()) why_ = why;
    return false;
  }
  bool At(char c) const { return i_ < s_.size() && s_[i_] == c; }
  void Space() {
    while (i_ < s_.size() && std::string(" \t\n\r").find(s_[i_]) != std::string::npos) ++i_;
  }

  bool ParseValue(Value* v, int depth) {
    if (i_ >= s_.size()) return Bad("end of input");
    if (s_.compare(i_, 4, "null") == 0) return Word(v, Value::kNull, 4);
    if (s_.compare(i_, 4, "true") == 0) return Word(v, Value::kTrue, 4);
    if (s_.compare(i_, 5, "false") == 0) return Word(v, Value::kFalse, 5);
    if (At('"')) {
      v->kind = Value::kString;
      return ParseString(&v->text);
    }
    if (At('[') || At('{')) {
      if (depth + 1 > kMaxJsonDepth) return Bad("too deep");
      return At('[') ? ParseArray(v, depth + 1) : ParseObject(v, depth + 1);
    }
    return ParseNumber(v);
  }

  bool Word(Value* v, Value::Kind kind, size_t length) {
    v->kind = kind;
    i_ += length;
    return true;
  }

  bool ParseArray(Value* v, int depth) {
    v->kind = Value::kArray;
    ++i_;
    Space();
    if (At(']')) return ++i_, true;
    while (true) {
      v->items.emplace_back();
      Space();
      if (!ParseValue(&v->items.back(), depth)) return false;
      Space();
      if (At(']')) return ++i_, true;
      if (!At(',')) return Bad("expected , or ]");
      ++i_;
    }
  }

  bool ParseObject(Value* v, int depth) {
    v->kind = Value::kObject;
    ++i_;
    Space();
    if (At('}')) return ++i_, true;
    while (true) {
      Space();
      std::string name;
      if (!At('"') || !ParseString(&name)) return Bad("expected a name");
      if (name.find('\0') != std::string::npos) return Bad("NUL in a name");
      for (const auto& m : v->members) {
        if (m.first == name) return Bad("duplicate name");
      }
      Space();
      if (!At(':')) return Bad("expected :");
      ++i_;
      Space();
      v->members.emplace_back(name, Value());
      if (!ParseValue(&v->members.back().second, depth)) return false;
      Space();
      if (At('}')) return ++i_, true;
      if (!At(',')) return Bad("expected , or }");
      ++i_;
    }
  }

  // Decodes to code points, checks them, then encodes them as UTF-8.
  bool ParseString(std::string* out) {
    ++i_;
    std::vector<long> cps;
    while (true) {
      if (i_ >= s_.size()) return Bad("unterminated string");
      unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') break;
      if (c < 0x20) return Bad("control character");
      long cp = 0;
      if (c == '\\') {
        if (!ParseEscape(&cp)) return false;
      } else if (!DecodeUtf8(&cp)) {
        return false;
      }
      cps.push_back(cp);
    }
    ++i_;
    for (size_t k = 0; k < cps.size(); ++k) {
      long cp = cps[k];
      bool high = cp >= 0xD800 && cp <= 0xDBFF;
      bool low_next = k + 1 < cps.size() && cps[k + 1] >= 0xDC00 && cps[k + 1] <= 0xDFFF;
      if (high && low_next) {
        cp = 0x10000 + (cp - 0xD800) * 0x400 + (cps[++k] - 0xDC00);
      } else if (cp >= 0xD800 && cp <= 0xDFFF) {
        return Bad("lone surrogate");
      }
      Encode(cp, out);
    }
    return true;
  }

  // One escape; a surrogate escape is returned as its code unit (0xD800..).
  bool ParseEscape(long* cp) {
    if (i_ + 1 >= s_.size()) return Bad("unterminated escape");
    char e = s_[i_ + 1];
    i_ += 2;
    const std::string simple = "\"\\/bfnrt";
    const std::string means = "\"\\/\b\f\n\r\t";
    if (simple.find(e) != std::string::npos) {
      *cp = static_cast<unsigned char>(means[simple.find(e)]);
      return true;
    }
    if (e != 'u' || i_ + 4 > s_.size()) return Bad("bad escape");
    const std::string hex = "0123456789abcdef0123456789ABCDEF";
    *cp = 0;
    for (int k = 0; k < 4; ++k, ++i_) {
      size_t d = hex.find(s_[i_]);
      if (d == std::string::npos) return Bad("bad hex");
      *cp = *cp * 16 + static_cast<long>(d % 16);
    }
    return true;
  }

  // A raw character: a byte below 0x80 or a shortest-form UTF-8 sequence of
  // a scalar value (not a surrogate, at most U+10FFFF).
  bool DecodeUtf8(long* cp) {
    unsigned char c = static_cast<unsigned char>(s_[i_]);
    int extra = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (extra < 0) return Bad("bad UTF-8 lead");
    *cp = extra == 0 ? c : extra == 1 ? (c & 0x1F) : extra == 2 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k <= extra; ++k) {
      if (i_ + k >= s_.size()) return Bad("truncated UTF-8");
      unsigned char d = static_cast<unsigned char>(s_[i_ + k]);
      if ((d >> 6) != 2) return Bad("bad UTF-8 continuation");
      *cp = *cp * 64 + (d & 0x3F);
    }
    const long shortest[] = {0, 0x80, 0x800, 0x10000};
    if (*cp < shortest[extra]) return Bad("overlong UTF-8");
    if (*cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return Bad("UTF-8 of a non-scalar");
    i_ += extra + 1;
    return true;
  }

  static void Encode(long cp, std::string* out) {
    int extra = cp < 0x80 ? 0 : cp < 0x800 ? 1 : cp < 0x10000 ? 2 : 3;
    const int lead_bits[] = {0x00, 0xC0, 0xE0, 0xF0};
    out->push_back(static_cast<char>(lead_bits[extra] | (cp >> (6 * extra))));
    for (int k = extra - 1; k >= 0; --k) {
      out->push_back(static_cast<char>(0x80 | ((cp >> (6 * k)) & 0x3F)));
    }
  }

  // The longest run of number characters, checked against RFC 8259 §6 one
  // part at a time, then read with strtod.
  bool ParseNumber(Value* v) {
    size_t end = s_.find_first_not_of("+-0123456789.eE", i_);
    std::string n = s_.substr(i_, end == std::string::npos ? std::string::npos : end - i_);
    if (n.empty()) return Bad("expected a value");
    size_t k = n[0] == '-' ? 1 : 0;
    auto digits = [&](size_t from) { return n.find_first_not_of("0123456789", from); };
    size_t int_end = std::min(digits(k), n.size());
    if (int_end == k || (n[k] == '0' && int_end > k + 1)) return Bad("bad integer part");
    size_t frac_end = int_end;
    if (frac_end < n.size() && n[frac_end] == '.') {
      frac_end = std::min(digits(int_end + 1), n.size());
      if (frac_end == int_end + 1) return Bad("bad fraction");
    }
    if (frac_end < n.size()) {
      if (n[frac_end] != 'e' && n[frac_end] != 'E') return Bad("bad number");
      size_t exp = frac_end + 1;
      if (exp < n.size() && (n[exp] == '+' || n[exp] == '-')) ++exp;
      if (exp == n.size() || digits(exp) != std::string::npos) return Bad("bad exponent");
    }
    double d = std::strtod(n.c_str(), nullptr);
    bool nonzero_digit = n.substr(0, frac_end).find_first_of("123456789") != std::string::npos;
    if (std::isinf(d)) return Bad("overflow");
    if (nonzero_digit && (d == 0 || std::fabs(d) < DBL_MIN)) return Bad("underflow");
    v->kind = Value::kNumber;
    v->text = n;
    i_ += n.size();
    return true;
  }

  const std::string& s_;
  size_t i_ = 0;
  std::string why_;
};

inline Parsed Parse(const std::string& text) { return Parser(text).Run(); }

// The rule of redaction.h, restated on joined paths: an undotted field
// matches when it is a dot-separated piece of the member's own name; a dotted
// one when it is the member's dot-joined path or a dot-prefix of it.
inline bool Matches(const std::vector<std::string>& path, const std::vector<std::string>& fields) {
  std::string joined;
  for (size_t k = 0; k < path.size(); ++k) joined += (k == 0 ? "" : ".") + path[k];
  for (const std::string& f : fields) {
    if (f.find('.') == std::string::npos) {
      if (("." + path.back() + ".").find("." + f + ".") != std::string::npos) return true;
    } else if (joined == f || joined.compare(0, f.size() + 1, f + ".") == 0) {
      return true;
    }
  }
  return false;
}

// `v` without the members `fields` match; counts them in *removed.
inline Value Without(const Value& v, const std::vector<std::string>& fields, int* removed,
                     std::vector<std::string>* path) {
  Value out;
  out.kind = v.kind;
  out.text = v.text;
  for (const Value& item : v.items) out.items.push_back(Without(item, fields, removed, path));
  for (const auto& m : v.members) {
    path->push_back(m.first);
    if (Matches(*path, fields)) {
      ++*removed;
    } else {
      out.members.emplace_back(m.first, Without(m.second, fields, removed, path));
    }
    path->pop_back();
  }
  return out;
}

inline Value Without(const Value& v, const std::vector<std::string>& fields, int* removed) {
  std::vector<std::string> path;
  return Without(v, fields, removed, &path);
}

}  // namespace gatehouse::json_oracle

#endif  // GATEHOUSE_TESTS_GATEWAY_JSON_ORACLE_H_
