// The files of one audit log directory, and sequential reading of its
// entries. Layout:
//   <dir>/<20-digit first index>.seg   entry segments (log_format.h)
//   <dir>/checkpoints.log               signed checkpoint notes, one a record
//   <dir>/cosignatures.log              "<size>\n<signature line>" records
//   <dir>/tree/level-NN.hashes          Merkle tree nodes (tree_store.h)
//
// Thread-safety: pure functions over the file system; safe from any thread,
// but a directory being appended to may show a partial last record.
#ifndef GATEHOUSE_AUDIT_LOG_DIRECTORY_H_
#define GATEHOUSE_AUDIT_LOG_DIRECTORY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse::audit {

struct SegmentFile {
  uint64_t first_index = 0;  // from the file name; checked against the header
  std::string path;
};

// Segments sorted by first index. An empty vector for an empty directory.
// Unavailable if the directory cannot be read; ignores other files.
absl::StatusOr<std::vector<SegmentFile>> ListSegments(const std::string& dir);
std::string SegmentPath(const std::string& dir, uint64_t first_index);
std::string CheckpointsPath(const std::string& dir);
std::string CosignaturesPath(const std::string& dir);
std::string TreeDir(const std::string& dir);

// Calls fn(index, payload) for each entry with index >= start, in order,
// until fn returns false. Stops with DataLoss at the first bad record or a
// gap between segments. A record running past the end of the last segment
// ends the scan cleanly: it is being written now, or was torn by a crash
// (which AuditLog::Open repairs and VerifyLog reports). The newest segment
// is read into memory, since a live log may cut it back (a refused write)
// while it is read; `map_newest` maps it instead, for a caller that stops at
// an entry already durable (the cut never reaches below those).
absl::Status ForEachEntry(const std::string& dir, uint64_t start,
                          const std::function<bool(uint64_t, absl::string_view)>& fn,
                          bool map_newest = false);

// Reads every record payload of a checkpoint or cosignature file (`magic`).
// NotFound if the file does not exist. *good_end gets the offset after the
// last good record, *status_out the reader's status (OK or DataLoss).
absl::StatusOr<std::vector<std::string>> ReadRecordFile(const std::string& path,
                                                        absl::string_view magic,
                                                        uint64_t* good_end,
                                                        absl::Status* status_out);

}  // namespace gatehouse::audit

#endif  // GATEHOUSE_AUDIT_LOG_DIRECTORY_H_
