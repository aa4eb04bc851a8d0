// libFuzzer target: JSON redaction must never crash, and whatever it accepts
// it re-emits as JSON it accepts again with the same result.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gateway/redaction.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<gatehouse::Redacted> r = gatehouse::RedactJson(in, {"address", "a.b"});
  if (!r.ok()) return 0;
  absl::StatusOr<gatehouse::Redacted> again = gatehouse::RedactJson(r->json, {"address", "a.b"});
  if (!again.ok() || again->json != r->json || again->removed != 0) std::abort();
  return 0;
}
