// Splits policy text into tokens: words (names and keywords), quoted
// strings, numbers and the punctuation ( ) , < . A '#' starts a comment
// that runs to the end of the line; comments are returned apart, so that
// the formatter can keep them. Stateless; thread-safe.
#ifndef GATEHOUSE_POLICY_LEXER_H_
#define GATEHOUSE_POLICY_LEXER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "policy/diagnostic.h"

namespace gatehouse::policy {

struct Token {
  enum class Kind { kWord, kString, kNumber, kLParen, kRParen, kComma, kLess,
                    kEnd, kBad };
  Kind kind = Kind::kEnd;
  // A view into the lexed text (for kString, without the quotes; for kBad,
  // a short description of what is wrong).
  absl::string_view text;
  SourcePos pos;
  bool line_start = false;    // the first token on its line
  bool blank_before = false;  // an empty line separates it from what precedes
};

struct Comment {
  std::string text;           // from '#' to the end of the line, trailing spaces removed
  SourcePos pos;
  size_t next_token = 0;      // index of the first token after it
  bool own_line = false;      // nothing but spaces before it on its line
  bool blank_before = false;  // an empty line separates it from what precedes
};

// Returns the tokens of `text`, always ending with one kEnd token, and
// appends its comments to *comments if not null. The tokens view `text`,
// which must outlive them. A character that starts no token becomes a kBad
// token (the parser reports it); so do an unterminated string (which runs
// to the end of its line), an empty quoted name, and bytes that are not
// UTF-8 (RFC 3629) anywhere in the text, comments included: a compiled
// policy carries its source, and protobuf strings must be UTF-8.
std::vector<Token> Lex(int file, absl::string_view text,
                       std::vector<Comment>* comments = nullptr);

// The length of the UTF-8 sequence starting at text[i] (1 to 4), or 0 if
// it is not valid UTF-8 (RFC 3629: no overlong forms, no surrogates, at
// most U+10FFFF).
int Utf8SequenceLength(absl::string_view text, size_t i);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_LEXER_H_
