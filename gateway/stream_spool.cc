#include "gateway/stream_spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace gatehouse {
namespace {

std::string Final(crypto_hash_sha256_state* state) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(state, digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

void Update(crypto_hash_sha256_state* state, absl::string_view bytes) {
  crypto_hash_sha256_update(state, reinterpret_cast<const unsigned char*>(bytes.data()),
                            bytes.size());
}

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status SyncFolder(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open folder", dir);
  const int rc = fsync(fd);
  close(fd);
  if (rc != 0) return Errno("cannot sync folder", dir);
  return absl::OkStatus();
}

}  // namespace

absl::Status PrepareSpool(const std::string& data_dir) {
  for (const char* sub : {kSpoolOut, kSpoolIn}) {
    const std::filesystem::path dir = std::filesystem::path(data_dir) / sub;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot create spool folder ", dir.string(), ": ", ec.message()));
    }
    chmod(dir.c_str(), 0700);
    chmod(dir.parent_path().c_str(), 0700);
    for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
      if (absl::EndsWith(f.path().filename().string(), ".part")) {
        std::filesystem::remove(f.path(), ec);
      }
    }
  }
  return absl::OkStatus();
}

int SweepSpool(const std::string& data_dir, Store& store) {
  struct File {
    std::filesystem::path path;
    std::string key;  // spool/out: the record id; spool/in: the envelope SHA-256
  };
  std::vector<File> out_files, in_files;
  std::set<std::string> in_shas;
  for (const bool out : {true, false}) {
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(
             std::filesystem::path(data_dir) / (out ? kSpoolOut : kSpoolIn), ec)) {
      const std::string name = f.path().filename().string();
      if (!absl::EndsWith(name, ".env")) continue;
      const std::string stem = name.substr(0, name.size() - 4);
      if (out) {
        out_files.push_back({f.path(), stem});
        continue;
      }
      const bool hex = stem.size() == 64 && std::all_of(stem.begin(), stem.end(), [](char c) {
                         return std::isxdigit(static_cast<unsigned char>(c)) != 0;
                       });
      in_files.push_back({f.path(), hex ? absl::HexStringToBytes(stem) : std::string()});
      if (hex) in_shas.insert(in_files.back().key);
    }
  }
  int removed = 0;
  auto sweep = [&removed](const File& f, const absl::StatusOr<bool>& referred) {
    if (!referred.ok()) {
      LogWarning("spool file kept: the store cannot say whether it is needed",
                 {{"file", f.path.string()}, {"error", referred.status().ToString()}});
      return;
    }
    if (*referred) return;
    std::error_code rm;
    if (std::filesystem::remove(f.path, rm)) {
      ++removed;
      LogInfo("removed a spool file no record refers to", {{"file", f.path.string()}});
    }
  };
  for (const File& f : out_files) {
    absl::StatusOr<OutboxEntry> e = store.GetOutbox(f.key);
    if (e.ok()) {
      sweep(f, e->state == v1::RECORD_STATE_QUEUED);
    } else {
      sweep(f, absl::IsNotFound(e.status()) ? absl::StatusOr<bool>(false)
                                            : absl::StatusOr<bool>(e.status()));
    }
  }
  absl::StatusOr<std::set<std::string>> held = store.HeldEnvelopes(in_shas);
  for (const File& f : in_files) {
    if (!held.ok()) {
      sweep(f, held.status());
    } else {
      sweep(f, !f.key.empty() && held->count(f.key) > 0);
    }
  }
  return removed;
}

std::string InboundSpoolName(absl::string_view envelope_sha256) {
  return absl::StrCat(kSpoolIn, "/", absl::BytesToHexString(envelope_sha256), ".env");
}

std::string InboundSpoolPath(const std::string& data_dir, absl::string_view envelope_sha256) {
  return absl::StrCat(data_dir, "/", InboundSpoolName(envelope_sha256));
}

// SpoolFile

absl::StatusOr<std::unique_ptr<SpoolFile>> SpoolFile::Create(const std::string& dir,
                                                             uint64_t limit) {
  unsigned char name[16];
  randombytes_buf(name, sizeof name);
  std::string path = absl::StrCat(
      dir, "/", absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(name), 16)),
      ".part");
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create spool file", path);
  return std::unique_ptr<SpoolFile>(new SpoolFile(fd, std::move(path), limit));
}

SpoolFile::~SpoolFile() {
  if (fd_ >= 0) close(fd_);
  if (!committed_) unlink(path_.c_str());
}

absl::Status SpoolFile::Write(absl::string_view bytes) {
  if (fd_ < 0) return absl::FailedPreconditionError("spool file already synced");
  if (bytes.size() > limit_ - std::min(limit_, size_)) {
    over_limit_ = true;
    return absl::ResourceExhaustedError(
        absl::StrCat("a streamed record may be at most ", limit_, " bytes"));
  }
  Update(&hash_, bytes);
  while (!bytes.empty()) {
    const ssize_t n = write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write spool file", path_);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    size_ += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SpoolFile::Sync() {
  if (fd_ < 0) return absl::FailedPreconditionError("spool file already synced");
  const int rc = fdatasync(fd_);
  const int saved = errno;
  close(fd_);
  fd_ = -1;
  errno = saved;
  if (rc != 0) return Errno("cannot sync spool file", path_);
  sha256_ = Final(&hash_);
  return absl::OkStatus();
}

absl::Status SpoolFile::Commit(const std::string& final_path) {
  if (fd_ >= 0) return absl::FailedPreconditionError("spool file not synced");
  if (rename(path_.c_str(), final_path.c_str()) != 0) {
    return Errno("cannot rename spool file to", final_path);
  }
  committed_ = true;
  path_ = final_path;
  return SyncFolder(final_path);
}

// PayloadSource

PayloadSource::PayloadSource(std::string prefix, Next next, uint64_t limit)
    : prefix_(std::move(prefix)), next_(std::move(next)), limit_(limit) {
  crypto_hash_sha256_init(&hash_);
}

absl::StatusOr<size_t> PayloadSource::Read(char* buf, size_t n) {
  size_t got = 0;
  if (prefix_at_ < prefix_.size()) {
    got = std::min(n, prefix_.size() - prefix_at_);
    std::memcpy(buf, prefix_.data() + prefix_at_, got);
    prefix_at_ += got;
  }
  while (got < n) {
    if (chunk_at_ == chunk_.size()) {
      if (ended_) break;
      chunk_.clear();
      chunk_at_ = 0;
      if (!next_(&chunk_)) {
        ended_ = true;
        break;
      }
      if (chunk_.size() > limit_ - std::min(limit_, payload_bytes_)) {
        over_limit_ = true;
        return absl::ResourceExhaustedError(
            absl::StrCat("a streamed record's payload may be at most ", limit_, " bytes"));
      }
      payload_bytes_ += chunk_.size();
      Update(&hash_, chunk_);
      continue;
    }
    const size_t take = std::min(n - got, chunk_.size() - chunk_at_);
    std::memcpy(buf + got, chunk_.data() + chunk_at_, take);
    chunk_at_ += take;
    got += take;
  }
  return got;
}

absl::Status PayloadSource::Rewind() {
  return absl::UnimplementedError("a streamed payload can be read only once");
}

std::string PayloadSource::payload_sha256() { return Final(&hash_); }

// ContentSink

ContentSink::ContentSink(PayloadWriter payload) : payload_(std::move(payload)) {
  crypto_hash_sha256_init(&hash_);
}

absl::Status ContentSink::Write(absl::string_view bytes) {
  if (!has_content_) {
    if (frame_.size() < 4) {
      const size_t take = std::min(bytes.size(), 4 - frame_.size());
      frame_.append(bytes.data(), take);
      bytes.remove_prefix(take);
      if (frame_.size() < 4) return absl::OkStatus();
    }
    const uint32_t n = (uint32_t{static_cast<uint8_t>(frame_[0])} << 24) |
                       (uint32_t{static_cast<uint8_t>(frame_[1])} << 16) |
                       (uint32_t{static_cast<uint8_t>(frame_[2])} << 8) |
                       uint32_t{static_cast<uint8_t>(frame_[3])};
    if (n > kMaxStreamContentBytes) {
      return absl::InvalidArgumentError("streamed record's content frame is too long");
    }
    const size_t take = std::min(bytes.size(), 4 + n - frame_.size());
    frame_.append(bytes.data(), take);
    bytes.remove_prefix(take);
    if (frame_.size() < 4 + n) return absl::OkStatus();
    if (!content_.ParseFromArray(frame_.data() + 4, static_cast<int>(n)) ||
        !content_.payload().empty()) {
      return absl::InvalidArgumentError("streamed record's content frame does not parse");
    }
    has_content_ = true;
    frame_.clear();
  }
  if (bytes.empty()) return absl::OkStatus();
  payload_bytes_ += bytes.size();
  Update(&hash_, bytes);
  return payload_ ? payload_(bytes) : absl::OkStatus();
}

std::string ContentSink::payload_sha256() { return Final(&hash_); }

}  // namespace gatehouse
