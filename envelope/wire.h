// Byte-level helpers shared by the envelope codecs: big-endian integers for
// the canonical header and signed messages, and a strict reader and writer
// for the protobuf wire format (docs/envelope.md, "Envelope encoding").
//
// Internal to envelope/. Stateless functions; a reader is used by one
// thread at a time.
#ifndef GATEHOUSE_ENVELOPE_WIRE_H_
#define GATEHOUSE_ENVELOPE_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace gatehouse::envelope::internal {

void PutU8(std::string* out, uint8_t v);
void PutU16(std::string* out, uint16_t v);  // big-endian
void PutU32(std::string* out, uint32_t v);  // big-endian
void PutU64(std::string* out, uint64_t v);  // big-endian

// Reads big-endian integers and fixed-length slices from a byte string. Each
// call returns false, consuming nothing, if too few bytes remain.
class ByteReader {
 public:
  explicit ByteReader(absl::string_view in) : rest_(in) {}
  bool U8(uint8_t* v);
  bool U16(uint16_t* v);
  bool U64(uint64_t* v);
  bool Bytes(size_t n, absl::string_view* v);
  bool empty() const { return rest_.empty(); }

 private:
  absl::string_view rest_;
};

// Protobuf wire format, as the C++ serializer writes it for our messages:
// fields in number order, proto3 defaults (0, empty) omitted.
void PutVarint(std::string* out, uint64_t v);
size_t VarintSize(uint64_t v);
void PutVarintField(std::string* out, int number, uint64_t v);  // omits 0
void PutBytesField(std::string* out, int number, absl::string_view v);  // omits empty
// Writes the field even when `v` is empty (a repeated entry).
void PutRepeatedBytesField(std::string* out, int number, absl::string_view v);

// Reads fields in a fixed order and refuses every encoding the C++
// serializer would not have produced: out-of-order, repeated or unknown
// fields, wrong wire types, non-minimal varints, explicit defaults.
//
// Example:
//   StrictProtoReader r(bytes);
//   if (r.Varint(1, &version) != StrictProtoReader::kPresent) ...
//   ...
//   if (!r.done()) ...   // trailing or unknown fields
class StrictProtoReader {
 public:
  enum Result { kAbsent, kPresent, kMalformed };
  explicit StrictProtoReader(absl::string_view in) : rest_(in) {}

  // Field `number`, wire type 0. kMalformed if present with value 0.
  Result Varint(int number, uint64_t* v);
  // Field `number`, wire type 2. A singular field (allow_empty false) is
  // kMalformed if present and empty; a repeated entry may be empty.
  Result Bytes(int number, absl::string_view* v, bool allow_empty = false);
  // True once every byte has been consumed.
  bool done() const { return rest_.empty() && !failed_; }

 private:
  // Decodes the next tag without consuming it.
  bool PeekTag(uint64_t* tag, size_t* len) const;
  absl::string_view rest_;
  bool failed_ = false;
};

// Decodes a minimal varint from the front of `in`; returns its length, or 0
// if malformed or not minimal.
size_t GetVarint(absl::string_view in, uint64_t* v);

}  // namespace gatehouse::envelope::internal

#endif  // GATEHOUSE_ENVELOPE_WIRE_H_
