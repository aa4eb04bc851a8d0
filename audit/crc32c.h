// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), the
// checksum that frames every audit segment record. Debian's Abseil 20220623
// has no public absl::crc32c target, so this is our own: SSE4.2's crc32
// instruction when the CPU has it, a slicing-by-8 table otherwise. Both give
// identical results (tested against the RFC 3720 B.4 check values).
//
// Thread-safe: pure functions over immutable tables.
//
// Example:
//   uint32_t crc = crc32c::Value(data, n);        // 0xE3069283 for "123456789"
//   uint32_t stored = crc32c::Mask(crc);          // what goes on disk
#ifndef GATEHOUSE_AUDIT_CRC32C_H_
#define GATEHOUSE_AUDIT_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace gatehouse::audit::crc32c {

// Returns crc32c(concat(A, data[0,n))) where init_crc is crc32c(A).
uint32_t Extend(uint32_t init_crc, const void* data, size_t n);

// Returns crc32c(data[0,n)).
inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }

// A CRC of data that itself contains CRCs is weak (LevelDB's crc32c.h), so the
// stored form is rotated and offset. Unmask(Mask(x)) == x.
inline uint32_t Mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

// For tests: the portable table implementation, whatever the CPU.
uint32_t ExtendPortable(uint32_t init_crc, const void* data, size_t n);

}  // namespace gatehouse::audit::crc32c

#endif  // GATEHOUSE_AUDIT_CRC32C_H_
