#include "audit/segment_reader.h"

#include "absl/strings/str_cat.h"
#include "audit/crc32c.h"

namespace gatehouse::audit {

absl::StatusOr<SegmentHeader> ParseSegmentHeader(absl::string_view file,
                                                 absl::string_view magic) {
  if (file.size() < kSegmentHeaderSize) {
    return absl::DataLossError(absl::StrCat("header: file has ", file.size(), " bytes, want ",
                                            kSegmentHeaderSize));
  }
  const char* p = file.data();
  if (absl::string_view(p, 8) != magic) return absl::DataLossError("header: wrong magic");
  uint32_t crc = crc32c::Unmask(DecodeFixed32(p + 24));
  if (crc != crc32c::Value(p, 24)) return absl::DataLossError("header: checksum mismatch");
  SegmentHeader h;
  h.version = DecodeFixed32(p + 8);
  if (h.version != kFormatVersion) {
    return absl::DataLossError(absl::StrCat("header: unknown version ", h.version));
  }
  if (DecodeFixed32(p + 12) != 0 || DecodeFixed32(p + 28) != 0) {
    return absl::DataLossError("header: reserved field not zero");
  }
  h.first_index = DecodeFixed64(p + 16);
  return h;
}

std::string EncodeSegmentHeader(absl::string_view magic, uint64_t first_index) {
  std::string h(kSegmentHeaderSize, '\0');
  h.replace(0, 8, magic.data(), 8);
  EncodeFixed32(&h[8], kFormatVersion);
  EncodeFixed64(&h[16], first_index);
  EncodeFixed32(&h[24], crc32c::Mask(crc32c::Value(h.data(), 24)));
  return h;
}

void AppendRecord(absl::string_view payload, std::string* dst) {
  const size_t start = dst->size();
  dst->resize(start + kRecordHeaderSize);
  EncodeFixed32(&(*dst)[start + 4], static_cast<uint32_t>(payload.size()));
  dst->append(payload.data(), payload.size());
  uint32_t crc = crc32c::Value(dst->data() + start + 4, 4 + payload.size());
  EncodeFixed32(&(*dst)[start], crc32c::Mask(crc));
}

bool SegmentReader::Fail(bool torn, absl::string_view what) {
  torn_ = torn;
  done_ = true;
  status_ = absl::DataLossError(absl::StrCat("record ", records_, " at offset ", pos_, ": ", what));
  return false;
}

bool SegmentReader::Next(absl::string_view* payload) {
  if (done_) return false;
  if (pos_ > file_.size()) return Fail(true, "file shorter than its header");
  const size_t left = file_.size() - pos_;
  if (left == 0) {
    done_ = true;
    return false;
  }
  if (left < kRecordHeaderSize) return Fail(true, "truncated record header");
  const char* p = file_.data() + pos_;
  const uint32_t masked_crc = DecodeFixed32(p);
  const uint32_t length = DecodeFixed32(p + 4);
  if (masked_crc == 0 && length == 0) {
    // Zeros: space the file system allocated but nothing was written to. Clean
    // end only if every remaining byte is zero.
    if (file_.substr(pos_).find_first_not_of('\0') == absl::string_view::npos) {
      done_ = true;
      return false;
    }
    return Fail(false, "zero record header followed by data");
  }
  if (length == 0 || length > kMaxRecordSize) {
    return Fail(false, absl::StrCat("bad record length ", length));
  }
  if (length > left - kRecordHeaderSize) return Fail(true, "record runs past end of file");
  if (crc32c::Unmask(masked_crc) != crc32c::Value(p + 4, 4 + length)) {
    return Fail(false, "checksum mismatch");
  }
  *payload = absl::string_view(p + kRecordHeaderSize, length);
  pos_ += kRecordHeaderSize + length;
  ++records_;
  return true;
}

}  // namespace gatehouse::audit
