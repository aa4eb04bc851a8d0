// Thin POSIX file helpers for the audit log: an append-only file with
// explicit fdatasync, whole-file reads, directory sync. Errors carry errno
// text; the caller decides what they mean.
//
// Thread-safety: AppendFile is not thread-safe (one writer). FileBytes is
// immutable and may be read from any number of threads. The free functions
// are thread-safe.
#ifndef GATEHOUSE_AUDIT_POSIX_FILE_H_
#define GATEHOUSE_AUDIT_POSIX_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse::audit {

class AppendFile {
 public:
  // Opens (creating if asked) `path` for appending at `offset`, truncating
  // anything past it. NotFound if absent and !create; Unavailable otherwise.
  static absl::StatusOr<std::unique_ptr<AppendFile>> Open(const std::string& path,
                                                          uint64_t offset, bool create);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  // Writes all of `data` at the end. On failure size() is unchanged and the
  // file is cut back to it, so it holds nothing of `data`. *cut_back (when
  // given) says the write was refused for want of space (ENOSPC, EDQUOT) and
  // the cut worked, so the caller can go on; it is false for any other error,
  // or if even the cut failed (then the file may hold a prefix of `data` past
  // size(), which the next Append overwrites).
  absl::Status Append(absl::string_view data, bool* cut_back = nullptr);
  // fdatasync: everything appended so far is durable when this returns OK.
  absl::Status Sync();
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  AppendFile(int fd, std::string path, uint64_t size) : fd_(fd), path_(std::move(path)), size_(size) {}
  int fd_;
  std::string path_;
  uint64_t size_;
};

// A read-only view of a whole file's bytes, for scanning segments: a memory
// map (no copy, no zero-fill), or with `copy` the bytes read into memory.
// The view is valid while the object lives.
class FileBytes {
 public:
  // NotFound if absent; Unavailable on other errors. An empty file maps to an
  // empty view. With `copy` the file is read into memory instead: for a file
  // a writer may shrink while it is read (the newest segment of a live log,
  // where a refused write is cut back), since touching a mapped page past
  // the new end of the file faults (SIGBUS).
  static absl::StatusOr<std::unique_ptr<FileBytes>> Open(const std::string& path,
                                                         bool copy = false);
  ~FileBytes();
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  absl::string_view data() const {
    return addr_ == nullptr ? absl::string_view(copied_)
                            : absl::string_view(static_cast<const char*>(addr_), size_);
  }

 private:
  FileBytes(void* addr, size_t size) : addr_(addr), size_(size) {}
  explicit FileBytes(std::string copied)
      : addr_(nullptr), size_(copied.size()), copied_(std::move(copied)) {}
  void* addr_;  // null when copied (or empty)
  size_t size_;
  std::string copied_;
};

// The whole file. NotFound if it does not exist.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);
// Writes `data` to a temporary file, fsyncs it, renames it over `path` and
// fsyncs the directory.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view data, int mode);
// Opens `path` (creating it with `mode`) and takes an exclusive flock on it,
// held until the returned descriptor is closed: one process at a time.
// FailedPrecondition if another holds it; Unavailable if it cannot be opened.
absl::StatusOr<int> LockFile(const std::string& path, int mode);
// fsync on a directory, so a created or renamed entry survives a crash.
absl::Status SyncDir(const std::string& dir);
// Truncates `path` to `size` bytes and fdatasyncs it.
absl::Status TruncateFile(const std::string& path, uint64_t size);

}  // namespace gatehouse::audit

#endif  // GATEHOUSE_AUDIT_POSIX_FILE_H_
