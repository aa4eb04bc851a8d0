// On-disk layout of audit segment files (and of the checkpoint and
// cosignature files, which use the same framing). The grammar, with the
// recovery rules, is in docs/audit-log.md; this header only names the sizes.
//
//   file    := header record*
//   header  := magic[8] version:u32le zero:u32le first_index:u64le
//              header_crc:u32le zero:u32le                      (32 bytes)
//   record  := crc:u32le length:u32le payload[length]
//
// header_crc and crc are crc32c::Mask(CRC-32C) of, respectively, the first 24
// header bytes and (the 4 length bytes || payload). A record's length is 1 to
// kMaxRecordSize; an all-zero record header marks the end of written data.
#ifndef GATEHOUSE_AUDIT_LOG_FORMAT_H_
#define GATEHOUSE_AUDIT_LOG_FORMAT_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace gatehouse::audit {

constexpr size_t kSegmentHeaderSize = 32;
constexpr size_t kRecordHeaderSize = 8;
constexpr uint32_t kMaxRecordSize = 1 << 20;  // 1 MiB: no audit entry is near it
constexpr uint32_t kFormatVersion = 1;

// File magics: entries, signed checkpoints, cosignatures.
constexpr absl::string_view kSegmentMagic = "GHAUDSEG";
constexpr absl::string_view kCheckpointMagic = "GHAUDCKP";
constexpr absl::string_view kCosignatureMagic = "GHAUDCOS";

inline void EncodeFixed32(char* dst, uint32_t v) {
  for (int i = 0; i < 4; ++i) dst[i] = static_cast<char>(v >> (8 * i));
}
inline void EncodeFixed64(char* dst, uint64_t v) {
  for (int i = 0; i < 8; ++i) dst[i] = static_cast<char>(v >> (8 * i));
}
inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace gatehouse::audit

#endif  // GATEHOUSE_AUDIT_LOG_FORMAT_H_
