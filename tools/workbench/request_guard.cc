#include "tools/workbench/request_guard.h"

#include <sys/random.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/utf8.h"

namespace gatehouse::workbench {
namespace {

// Equal without a timing that tells how much of a guess was right.
bool SameSecret(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

std::string NewToken() {
  char bytes[32];
  if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    std::fputs("gatehouse-workbench: the kernel gave no randomness for the page token\n",
               stderr);
    std::abort();
  }
  return absl::BytesToHexString(absl::string_view(bytes, sizeof bytes));
}

std::optional<Refusal> RequestGuard::CheckHost(absl::string_view host) const {
  if (https_ && !host.empty()) return std::nullopt;
  const std::string port = absl::StrCat(":", port_);
  if (host == absl::StrCat("127.0.0.1", port) || host == absl::StrCat("localhost", port)) {
    return std::nullopt;
  }
  return Refusal{403, absl::StrCat("this workbench answers only to http://127.0.0.1", port,
                                   " (Host was '", host, "')")};
}

std::optional<Refusal> RequestGuard::CheckHead(const RequestHead& h) const {
  if (auto refusal = CheckHost(h.host)) return refusal;
  // Browsers send Origin on every POST; other clients (scripts, tests) may not.
  const bool own_origin =
      https_ ? h.origin == absl::StrCat("https://", h.host)
             : absl::StartsWith(h.origin, "http://") &&
                   !CheckHost(absl::StripPrefix(h.origin, "http://")).has_value();
  if (!h.origin.empty() && !own_origin) {
    return Refusal{403, absl::StrCat("requests from ", h.origin, " are refused")};
  }
  if (!SameSecret(h.token, token_)) {
    return Refusal{403, absl::StrCat("missing or wrong ", kTokenHeader,
                                     " header: reload the workbench page")};
  }
  const absl::string_view type =
      absl::StripAsciiWhitespace(absl::string_view(h.content_type).substr(0, h.content_type.find(';')));
  if (!absl::EqualsIgnoreCase(type, "application/json")) {
    return Refusal{415, "send the request body as application/json"};
  }
  size_t length = 0;
  if (!h.transfer_encoding.empty() || !absl::SimpleAtoi(h.content_length, &length)) {
    return Refusal{411, "send the request body with a Content-Length (no chunked bodies)"};
  }
  if (length > kMaxBodyBytes) {
    return Refusal{413, absl::StrCat("the request body is ", length, " bytes; the most the "
                                     "workbench reads is ", kMaxBodyBytes, " (1 MiB)")};
  }
  return std::nullopt;
}

std::optional<Refusal> RequestGuard::CheckBody(absl::string_view body) {
  if (IsValidUtf8(body)) return std::nullopt;
  return Refusal{400, "the request body is not valid UTF-8; save the policy as UTF-8 text"};
}

}  // namespace gatehouse::workbench
