#include "policy/lexer.h"

namespace gatehouse::policy {
namespace {

bool IsWordStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsWordChar(char c) {
  return IsWordStart(c) || (c >= '0' && c <= '9') || c == '-';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

int Utf8SequenceLength(absl::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  int n;
  unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // at most U+10FFFF
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (int k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

std::vector<Token> Lex(int file, absl::string_view text, std::vector<Comment>* comments) {
  std::vector<Token> out;
  out.reserve(text.size() / 4 + 16);
  int line = 1, col = 1;
  int last_token_line = 0;   // line of the last token
  int last_content_line = 0; // line of the last token or comment
  size_t i = 0;
  auto advance = [&](size_t n) {
    for (size_t k = 0; k < n && i < text.size(); ++k, ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
        ++col;  // a column is a character, not a byte
      }
    }
  };
  // The first byte of text[from, to) that is not UTF-8, or `to`.
  auto bad_utf8 = [&](size_t from, size_t to) {
    for (size_t k = from; k < to;) {
      const int n = Utf8SequenceLength(text, k);
      if (n == 0) return k;
      k += n;
    }
    return to;
  };
  auto bad_token = [&](absl::string_view why) {
    Token t;
    t.kind = Token::Kind::kBad;
    t.text = why;
    t.pos = SourcePos{file, line, col};
    t.line_start = line != last_token_line;
    last_token_line = last_content_line = line;
    out.push_back(t);
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      advance(1);
      continue;
    }
    if (c == '#') {
      size_t j = i;
      while (j < text.size() && text[j] != '\n') ++j;
      if (const size_t bad = bad_utf8(i, j); bad != j) {
        advance(bad - i);
        bad_token("bytes that are not UTF-8");
        advance(j - i);
        continue;
      }
      if (comments) {
        Comment k;
        size_t end = j;
        while (end > i && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r')) {
          --end;
        }
        k.text = std::string(text.substr(i, end - i));
        k.pos = SourcePos{file, line, col};
        k.next_token = out.size();
        k.own_line = line != last_token_line;
        k.blank_before = last_content_line > 0 && line - last_content_line > 1;
        comments->push_back(std::move(k));
      }
      last_content_line = line;
      advance(j - i);
      continue;
    }
    Token t;
    t.pos = SourcePos{file, line, col};
    t.line_start = line != last_token_line;
    t.blank_before = last_content_line > 0 && line - last_content_line > 1;
    if (IsWordStart(c)) {
      size_t j = i;
      while (j < text.size() && IsWordChar(text[j])) ++j;
      t.kind = Token::Kind::kWord;
      t.text = text.substr(i, j - i);
      advance(j - i);
    } else if (IsDigit(c)) {
      size_t j = i;
      while (j < text.size() && IsDigit(text[j])) ++j;
      t.kind = Token::Kind::kNumber;
      t.text = text.substr(i, j - i);
      advance(j - i);
    } else if (c == '"') {
      size_t j = i + 1;
      while (j < text.size() && text[j] != '"' && text[j] != '\n') ++j;
      if (const size_t bad = bad_utf8(i + 1, j); bad != j) {
        advance(bad - i);
        bad_token("bytes that are not UTF-8");
        advance(j + (j < text.size() && text[j] == '"' ? 1 : 0) - i);
        continue;
      }
      if (j == i + 1 && j < text.size() && text[j] == '"') {
        // No name is empty; the gateway would refuse the compiled policy.
        t.kind = Token::Kind::kBad;
        t.text = "empty quoted name";
        advance(j + 1 - i);
      } else if (j < text.size() && text[j] == '"') {
        t.kind = Token::Kind::kString;
        t.text = text.substr(i + 1, j - i - 1);
        advance(j + 1 - i);
      } else {
        t.kind = Token::Kind::kBad;
        t.text = "unterminated string";
        advance(j - i);
      }
    } else {
      switch (c) {
        case '(':
          t.kind = Token::Kind::kLParen;
          break;
        case ')':
          t.kind = Token::Kind::kRParen;
          break;
        case ',':
          t.kind = Token::Kind::kComma;
          break;
        case '<':
          t.kind = Token::Kind::kLess;
          break;
        default:
          t.kind = Token::Kind::kBad;
          break;
      }
      const int n = Utf8SequenceLength(text, i);
      if (n == 0) {
        t.text = "bytes that are not UTF-8";
        advance(1);
      } else {
        t.text = text.substr(i, n);
        advance(n);
      }
    }
    last_token_line = last_content_line = t.pos.line;
    out.push_back(std::move(t));
  }
  Token end;
  end.kind = Token::Kind::kEnd;
  end.pos = SourcePos{file, line, col};
  end.line_start = true;
  out.push_back(end);
  return out;
}

}  // namespace gatehouse::policy
