// SHA-256 as the record path names bytes by it: an envelope in a receipt
// and in the outbox, a payload in the audit log, a bundle file in the
// audit log. (The envelope's own digests are BLAKE2b: digest.h.)
//
// Example:
//   receipt.set_envelope_sha256(Sha256(envelope_bytes));
//
// Thread-safe: pure functions.
#ifndef GATEHOUSE_ENVELOPE_SHA256_H_
#define GATEHOUSE_ENVELOPE_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace gatehouse {

// The raw 32-byte digest of `bytes`.
std::string Sha256(absl::string_view bytes);
// The same, as lower-case hex.
std::string HexSha256(absl::string_view bytes);

}  // namespace gatehouse

#endif  // GATEHOUSE_ENVELOPE_SHA256_H_
