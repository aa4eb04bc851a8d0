// The shape of an organisation or system id (the <org> and <system> of a
// psn:// identity URI): 1 to 64 characters of a-z, 0-9 and '-'.
//
// Thread-safe: a pure function.
#ifndef GATEHOUSE_COMMON_IDS_H_
#define GATEHOUSE_COMMON_IDS_H_

#include "absl/strings/string_view.h"

namespace gatehouse {

// True if `id` is a well-formed organisation or system id.
bool IsValidId(absl::string_view id);

}  // namespace gatehouse

#endif  // GATEHOUSE_COMMON_IDS_H_
