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

std::vector<Token> Lex(int file, absl::string_view text) {
  std::vector<Token> out;
  out.reserve(text.size() / 4 + 16);
  int line = 1, col = 1;
  size_t i = 0;
  auto advance = [&](size_t n) {
    for (size_t k = 0; k < n && i < text.size(); ++k, ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      advance(1);
      continue;
    }
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') advance(1);
      continue;
    }
    Token t;
    t.pos = SourcePos{file, line, col};
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
      t.text = text.substr(i, 1);
      advance(1);
    }
    out.push_back(std::move(t));
  }
  Token end;
  end.kind = Token::Kind::kEnd;
  end.pos = SourcePos{file, line, col};
  out.push_back(end);
  return out;
}

}  // namespace gatehouse::policy
