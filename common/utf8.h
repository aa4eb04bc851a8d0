// UTF-8 as Unicode 15 defines it well formed (section 3.9, Table 3-7): no
// overlong forms, no surrogates, nothing above U+10FFFF.
//
// Thread-safe: pure functions.
#ifndef GATEHOUSE_COMMON_UTF8_H_
#define GATEHOUSE_COMMON_UTF8_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace gatehouse {

// The length of the well-formed UTF-8 sequence that starts with `lead`, and
// the range its second byte must be in; length 0 if no well-formed sequence
// starts so.
struct Utf8Lead {
  int length;
  unsigned char second_low;
  unsigned char second_high;
};
Utf8Lead LeadOf(unsigned char lead);

// Appends code point `cp` (at most U+10FFFF, not a surrogate) as UTF-8.
void AppendUtf8(uint32_t cp, std::string* out);

// True if `s` is well-formed UTF-8 throughout.
bool IsValidUtf8(absl::string_view s);

}  // namespace gatehouse

#endif  // GATEHOUSE_COMMON_UTF8_H_
