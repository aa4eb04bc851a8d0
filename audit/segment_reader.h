// Reads framed records out of the bytes of one segment file (log_format.h).
// Works on a buffer, so the same code serves recovery, `auditctl verify` and
// the fuzz target. It never trusts the bytes: every length is bounded, every
// record is checksummed, and it stops at the first bad record.
//
// Thread-safety: not thread-safe; one reader per buffer. The buffer must
// outlive the reader and the payload views it hands out.
//
// Example:
//   ASSIGN_OR_RETURN(SegmentHeader h, ParseSegmentHeader(bytes, kSegmentMagic));
//   SegmentReader r(bytes);
//   absl::string_view payload;
//   while (r.Next(&payload)) Use(payload);
//   if (!r.status().ok()) Report(r.status(), r.good_end());
#ifndef GATEHOUSE_AUDIT_SEGMENT_READER_H_
#define GATEHOUSE_AUDIT_SEGMENT_READER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "audit/log_format.h"

namespace gatehouse::audit {

struct SegmentHeader {
  uint32_t version = 0;
  uint64_t first_index = 0;
};

// Parses the 32-byte header at the start of `file`. DataLoss if it is short,
// has another magic, an unknown version, non-zero reserved fields or a bad
// checksum.
absl::StatusOr<SegmentHeader> ParseSegmentHeader(absl::string_view file,
                                                 absl::string_view magic);

// The 32 header bytes for a file of kind `magic`.
std::string EncodeSegmentHeader(absl::string_view magic, uint64_t first_index);

// Appends the framed form of `payload` to *dst.
// REQUIRES: 0 < payload.size() <= kMaxRecordSize.
void AppendRecord(absl::string_view payload, std::string* dst);

class SegmentReader {
 public:
  // `file` is the whole file, header included; reading starts after it.
  explicit SegmentReader(absl::string_view file) : file_(file), pos_(kSegmentHeaderSize) {}

  // Sets *payload to the next record's payload and returns true; returns false
  // at the clean end of the data or at the first bad record (see status()).
  bool Next(absl::string_view* payload);

  // OK after a clean end (end of file, or an all-zero record header followed
  // only by zeros); DataLoss naming the offset and the fault otherwise.
  const absl::Status& status() const { return status_; }
  // Offset just past the last good record: where a recovering writer cuts.
  uint64_t good_end() const { return pos_; }
  // Records returned so far.
  uint64_t records() const { return records_; }
  // True if the fault can only be a write torn by a crash (the bad record
  // runs past the end of the file); false for a checksum or length fault.
  bool torn() const { return torn_; }

 private:
  bool Fail(bool torn, absl::string_view what);

  absl::string_view file_;
  uint64_t pos_;
  uint64_t records_ = 0;
  bool torn_ = false;
  bool done_ = false;
  absl::Status status_;
};

}  // namespace gatehouse::audit

#endif  // GATEHOUSE_AUDIT_SEGMENT_READER_H_
