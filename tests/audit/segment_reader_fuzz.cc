// Fuzz target: the audit segment reader (and header parser) on arbitrary
// bytes. It must never crash, read out of bounds or loop, and every payload
// it returns must lie inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "audit/log_format.h"
#include "audit/segment_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gatehouse::audit;
  absl::string_view file(reinterpret_cast<const char*>(data), size);
  (void)ParseSegmentHeader(file, kSegmentMagic);
  SegmentReader reader(file);
  absl::string_view payload;
  uint64_t total = 0;
  while (reader.Next(&payload)) {
    if (payload.data() < file.data() || payload.data() + payload.size() > file.data() + file.size()) {
      abort();
    }
    total += payload.size();
  }
  if (reader.good_end() > size && size >= kSegmentHeaderSize) abort();
  if (total > size) abort();
  return 0;
}
