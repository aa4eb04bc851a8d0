// Splits policy text into tokens: words (names and keywords), quoted
// strings, numbers and the punctuation ( ) , < . A '#' starts a comment
// that runs to the end of the line. Stateless; thread-safe.
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
  // the offending character or a short description).
  absl::string_view text;
  SourcePos pos;
};

// Returns the tokens of `text`, always ending with one kEnd token. The
// tokens view `text`, which must outlive them. A
// character that starts no token becomes a kBad token (the parser reports
// it); an unterminated string runs to the end of its line and is kBad.
std::vector<Token> Lex(int file, absl::string_view text);

}  // namespace gatehouse::policy

#endif  // GATEHOUSE_POLICY_LEXER_H_
