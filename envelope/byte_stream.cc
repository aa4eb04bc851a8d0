#include "envelope/byte_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace gatehouse::envelope {

absl::StatusOr<size_t> ReadFull(ByteSource* source, char* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    auto got = source->Read(buf + done, n - done);
    if (!got.ok()) return got.status();
    if (*got == 0) break;
    done += *got;
  }
  return done;
}

absl::StatusOr<std::unique_ptr<FileSource>> FileSource::Open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    std::string msg = absl::StrCat("cannot open ", path, ": ", std::strerror(errno));
    return errno == ENOENT ? absl::NotFoundError(msg) : absl::UnavailableError(msg);
  }
  return std::unique_ptr<FileSource>(new FileSource(f));
}

FileSource::~FileSource() { std::fclose(file_); }

absl::StatusOr<size_t> FileSource::Read(char* buf, size_t n) {
  const size_t got = std::fread(buf, 1, n, file_);
  if (got == 0 && std::ferror(file_)) return absl::UnavailableError("read error");
  return got;
}

absl::Status FileSource::Rewind() {
  if (std::fseek(file_, 0, SEEK_SET) != 0) return absl::UnavailableError("cannot rewind");
  std::clearerr(file_);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FileSink>> FileSink::Create(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  std::FILE* f = fd < 0 ? nullptr : fdopen(fd, "wb");
  if (f == nullptr) {
    if (fd >= 0) close(fd);
    return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<FileSink>(new FileSink(f));
}

FileSink::~FileSink() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status FileSink::Write(absl::string_view bytes) {
  if (file_ == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    return absl::UnavailableError("write error");
  }
  return absl::OkStatus();
}

absl::Status FileSink::Close() {
  if (file_ == nullptr) return absl::UnavailableError("already closed");
  const bool ok = std::fflush(file_) == 0 && fsync(fileno(file_)) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  return ok && closed ? absl::OkStatus() : absl::UnavailableError("cannot flush");
}

absl::StatusOr<size_t> StringSource::Read(char* buf, size_t n) {
  const size_t take = std::min(n, bytes_.size() - pos_);
  if (take > 0) std::memcpy(buf, bytes_.data() + pos_, take);
  pos_ += take;
  return take;
}

}  // namespace gatehouse::envelope
