#include "envelope/wire.h"

namespace gatehouse::envelope::internal {

void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }

void PutU16(std::string* out, uint16_t v) {
  PutU8(out, static_cast<uint8_t>(v >> 8));
  PutU8(out, static_cast<uint8_t>(v));
}

void PutU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) PutU8(out, static_cast<uint8_t>(v >> shift));
}

void PutU64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) PutU8(out, static_cast<uint8_t>(v >> shift));
}

bool ByteReader::U8(uint8_t* v) {
  if (rest_.empty()) return false;
  *v = static_cast<uint8_t>(rest_[0]);
  rest_.remove_prefix(1);
  return true;
}

bool ByteReader::U16(uint16_t* v) {
  if (rest_.size() < 2) return false;
  *v = static_cast<uint16_t>((static_cast<uint8_t>(rest_[0]) << 8) | static_cast<uint8_t>(rest_[1]));
  rest_.remove_prefix(2);
  return true;
}

bool ByteReader::U64(uint64_t* v) {
  if (rest_.size() < 8) return false;
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i) r = (r << 8) | static_cast<uint8_t>(rest_[i]);
  *v = r;
  rest_.remove_prefix(8);
  return true;
}

bool ByteReader::Bytes(size_t n, absl::string_view* v) {
  if (rest_.size() < n) return false;
  *v = rest_.substr(0, n);
  rest_.remove_prefix(n);
  return true;
}

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void PutVarintField(std::string* out, int number, uint64_t v) {
  if (v == 0) return;
  PutVarint(out, static_cast<uint64_t>(number) << 3);
  PutVarint(out, v);
}

void PutRepeatedBytesField(std::string* out, int number, absl::string_view v) {
  PutVarint(out, (static_cast<uint64_t>(number) << 3) | 2);
  PutVarint(out, v.size());
  out->append(v.data(), v.size());
}

void PutBytesField(std::string* out, int number, absl::string_view v) {
  if (v.empty()) return;
  PutRepeatedBytesField(out, number, v);
}

size_t GetVarint(absl::string_view in, uint64_t* v) {
  uint64_t result = 0;
  for (size_t i = 0; i < in.size() && i < 10; ++i) {
    const uint8_t byte = static_cast<uint8_t>(in[i]);
    if (i == 9 && byte > 1) return 0;  // overflows 64 bits
    result |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      if (i > 0 && byte == 0) return 0;  // not minimal
      *v = result;
      return i + 1;
    }
  }
  return 0;
}

bool StrictProtoReader::PeekTag(uint64_t* tag, size_t* len) const {
  *len = GetVarint(rest_, tag);
  return *len != 0;
}

StrictProtoReader::Result StrictProtoReader::Varint(int number, uint64_t* v) {
  if (failed_ || rest_.empty()) return failed_ ? kMalformed : kAbsent;
  uint64_t tag;
  size_t tag_len;
  if (!PeekTag(&tag, &tag_len)) return failed_ = true, kMalformed;
  if ((tag >> 3) != static_cast<uint64_t>(number)) return kAbsent;
  if ((tag & 7) != 0) return failed_ = true, kMalformed;
  const size_t n = GetVarint(rest_.substr(tag_len), v);
  if (n == 0 || *v == 0) return failed_ = true, kMalformed;
  rest_.remove_prefix(tag_len + n);
  return kPresent;
}

StrictProtoReader::Result StrictProtoReader::Bytes(int number, absl::string_view* v,
                                                   bool allow_empty) {
  if (failed_ || rest_.empty()) return failed_ ? kMalformed : kAbsent;
  uint64_t tag;
  size_t tag_len;
  if (!PeekTag(&tag, &tag_len)) return failed_ = true, kMalformed;
  if ((tag >> 3) != static_cast<uint64_t>(number)) return kAbsent;
  if ((tag & 7) != 2) return failed_ = true, kMalformed;
  uint64_t size;
  const size_t n = GetVarint(rest_.substr(tag_len), &size);
  if (n == 0 || size > rest_.size() - tag_len - n) return failed_ = true, kMalformed;
  if (size == 0 && !allow_empty) return failed_ = true, kMalformed;
  *v = rest_.substr(tag_len + n, size);
  rest_.remove_prefix(tag_len + n + size);
  return kPresent;
}

}  // namespace gatehouse::envelope::internal
