#include "audit/posix_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace gatehouse::audit {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  int e = errno;
  std::string msg = absl::StrCat(what, " ", path, ": ", strerror(e));
  if (e == ENOENT) return absl::NotFoundError(msg);
  if (e == ENOSPC || e == EDQUOT) return absl::ResourceExhaustedError(msg);
  return absl::UnavailableError(msg);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AppendFile>> AppendFile::Open(const std::string& path,
                                                             uint64_t offset, bool create) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | (create ? O_CREAT : 0), 0640);
  if (fd < 0) return Errno("open", path);
  if (::ftruncate(fd, static_cast<off_t>(offset)) != 0) {
    absl::Status s = Errno("truncate", path);
    ::close(fd);
    return s;
  }
  return std::unique_ptr<AppendFile>(new AppendFile(fd, path, offset));
}

AppendFile::~AppendFile() { ::close(fd_); }

absl::Status AppendFile::Append(absl::string_view data, bool* cut_back) {
  uint64_t off = size_;
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      absl::Status failed = Errno("write", path_);
      // Only a full disk (or quota) is a refusal the caller can go on
      // after; any other write error leaves the file suspect.
      const bool cut = ::ftruncate(fd_, static_cast<off_t>(size_)) == 0;
      if (cut_back != nullptr) *cut_back = cut && (error == ENOSPC || error == EDQUOT);
      return failed;
    }
    data.remove_prefix(static_cast<size_t>(n));
    off += static_cast<uint64_t>(n);
  }
  size_ = off;
  return absl::OkStatus();
}

absl::Status AppendFile::Sync() {
  if (::fdatasync(fd_) != 0) return Errno("fdatasync", path_);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FileBytes>> FileBytes::Open(const std::string& path,
                                                           bool copy) {
  if (copy) {
    ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path));
    return std::unique_ptr<FileBytes>(new FileBytes(std::move(bytes)));
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    absl::Status s = Errno("stat", path);
    ::close(fd);
    return s;
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return std::unique_ptr<FileBytes>(new FileBytes(nullptr, 0));
  }
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  absl::Status s = addr == MAP_FAILED ? Errno("mmap", path) : absl::OkStatus();
  ::close(fd);
  if (!s.ok()) return s;
  ::madvise(addr, size, MADV_SEQUENTIAL | MADV_WILLNEED);
  return std::unique_ptr<FileBytes>(new FileBytes(addr, size));
}

FileBytes::~FileBytes() {
  if (addr_ != nullptr) ::munmap(addr_, size_);
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    absl::Status s = Errno("stat", path);
    ::close(fd);
    return s;
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::pread(fd, &out[got], out.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status s = Errno("read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  ::close(fd);
  return out;
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view data, int mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Errno("open", tmp);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status s = Errno("write", tmp);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    absl::Status s = Errno("fsync", tmp);
    ::close(fd);
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename", tmp);
  std::string dir = path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
  return SyncDir(dir.empty() ? "." : dir);
}

absl::StatusOr<int> LockFile(const std::string& path, int mode) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, mode);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("open ", path, ": ", strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return absl::FailedPreconditionError(absl::StrCat(path, " is locked"));
  }
  return fd;
}

absl::Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open", dir);
  int rc = ::fsync(fd);
  absl::Status s = rc == 0 ? absl::OkStatus() : Errno("fsync", dir);
  ::close(fd);
  return s;
}

absl::Status TruncateFile(const std::string& path, uint64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  absl::Status s;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) s = Errno("truncate", path);
  if (s.ok() && ::fdatasync(fd) != 0) s = Errno("fdatasync", path);
  ::close(fd);
  return s;
}

}  // namespace gatehouse::audit
