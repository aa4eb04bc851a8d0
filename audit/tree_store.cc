#include "audit/tree_store.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace gatehouse::audit {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<TreeStore>> TreeStore::Open(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) return Errno("mkdir", dir);
  std::unique_ptr<TreeStore> t(new TreeStore(dir));
  for (int l = 0; l < kMaxLevels; ++l) {
    t->fds_[l].store(-1);
    t->counts_[l].store(0);
  }
  for (int l = 0; l < kMaxLevels; ++l) {
    std::string path = absl::StrFormat("%s/level-%02d.hashes", dir, l);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) break;  // levels are created in order
    absl::Status s = t->OpenLevel(l);
    if (!s.ok()) return s;
    t->counts_[l].store(static_cast<uint64_t>(st.st_size) / kHashSize);
  }
  return t;
}

TreeStore::~TreeStore() {
  for (auto& fd : fds_) {
    if (fd.load() >= 0) ::close(fd.load());
  }
}

absl::Status TreeStore::OpenLevel(int level) {
  std::string path = absl::StrFormat("%s/level-%02d.hashes", dir_, level);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Errno("open", path);
  fds_[level].store(fd, std::memory_order_release);
  return absl::OkStatus();
}

absl::StatusOr<Hash> TreeStore::GetNode(int level, uint64_t index) const {
  if (level < 0 || level >= kMaxLevels || index >= count(level)) {
    return absl::NotFoundError(absl::StrCat("tree: no node (", level, ", ", index, ")"));
  }
  Hash h;
  const int fd = fds_[level].load(std::memory_order_acquire);
  ssize_t n = ::pread(fd, h.data(), kHashSize, static_cast<off_t>(index * kHashSize));
  if (n != static_cast<ssize_t>(kHashSize)) {
    return absl::DataLossError(absl::StrCat("tree: short read of node (", level, ", ", index, ")"));
  }
  return h;
}

absl::Status TreeStore::Append(const std::array<std::string, kMaxLevels>& nodes) {
  for (int l = 0; l < kMaxLevels; ++l) {
    if (nodes[l].empty()) continue;
    if (fds_[l].load() < 0) {
      absl::Status s = OpenLevel(l);
      if (!s.ok()) return s;
    }
    const uint64_t start = count(l);
    const char* p = nodes[l].data();
    size_t left = nodes[l].size();
    off_t off = static_cast<off_t>(start * kHashSize);
    while (left > 0) {
      ssize_t n = ::pwrite(fds_[l].load(), p, left, off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno("write", absl::StrFormat("%s/level-%02d.hashes", dir_, l));
      p += n;
      left -= static_cast<size_t>(n);
      off += n;
    }
    counts_[l].store(start + nodes[l].size() / kHashSize, std::memory_order_release);
  }
  return absl::OkStatus();
}

absl::Status TreeStore::Truncate(uint64_t leaves) {
  for (int l = 0; l < kMaxLevels; ++l) {
    const int fd = fds_[l].load();
    if (fd < 0) continue;
    const uint64_t keep = l == 0 ? leaves : (leaves >> l);
    counts_[l].store(std::min(keep, count(l)), std::memory_order_release);
    if (::ftruncate(fd, static_cast<off_t>(count(l) * kHashSize)) != 0) {
      return Errno("truncate", absl::StrFormat("%s/level-%02d.hashes", dir_, l));
    }
  }
  return absl::OkStatus();
}

absl::Status TreeStore::ReadNodes(int level, uint64_t first, uint64_t n, std::string* out) const {
  out->resize(n * kHashSize);
  size_t got = 0;
  const int fd = fds_[level].load(std::memory_order_acquire);
  while (got < out->size()) {
    ssize_t r = ::pread(fd, &(*out)[got], out->size() - got,
                        static_cast<off_t>(first * kHashSize + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return absl::DataLossError(absl::StrCat("tree: short read on level ", level));
    got += static_cast<size_t>(r);
  }
  return absl::OkStatus();
}

absl::Status TreeStore::CheckConsistency(uint64_t leaves) const {
  constexpr uint64_t kChunk = 1 << 14;  // parents per read
  std::string below, here;
  for (int l = 1; l < kMaxLevels && (leaves >> l) > 0; ++l) {
    const uint64_t parents = leaves >> l;
    if (count(l) < parents || count(l - 1) < 2 * parents) {
      return absl::DataLossError(absl::StrCat("tree: level ", l, " is short"));
    }
    for (uint64_t first = 0; first < parents; first += kChunk) {
      const uint64_t n = std::min(kChunk, parents - first);
      absl::Status s = ReadNodes(l - 1, 2 * first, 2 * n, &below);
      if (s.ok()) s = ReadNodes(l, first, n, &here);
      if (!s.ok()) return s;
      for (uint64_t i = 0; i < n; ++i) {
        Hash left, right;
        std::memcpy(left.data(), &below[2 * i * kHashSize], kHashSize);
        std::memcpy(right.data(), &below[(2 * i + 1) * kHashSize], kHashSize);
        Hash h = HashChildren(left, right);
        if (std::memcmp(h.data(), &here[i * kHashSize], kHashSize) != 0) {
          return absl::DataLossError(absl::StrCat("tree: node (", l, ", ", first + i,
                                                  ") does not match its children"));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status TreeStore::Sync() {
  for (int l = 0; l < kMaxLevels; ++l) {
    const int fd = fds_[l].load();
    if (fd >= 0 && ::fdatasync(fd) != 0) {
      return Errno("fdatasync", absl::StrFormat("%s/level-%02d.hashes", dir_, l));
    }
  }
  return absl::OkStatus();
}

}  // namespace gatehouse::audit
