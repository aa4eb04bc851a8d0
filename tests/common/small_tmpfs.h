// A small filesystem of a test's own, for tests of a full disk: a tmpfs
// mounted over a directory (needs root) and detached when it goes out of
// scope, so a failed assertion never leaves it mounted.
#ifndef GATEHOUSE_TESTS_COMMON_SMALL_TMPFS_H_
#define GATEHOUSE_TESTS_COMMON_SMALL_TMPFS_H_

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace gatehouse::testing {

class SmallTmpfs {
 public:
  // Mounts a tmpfs of `size` (mount(8)'s form: "256k", "1m") on the existing
  // directory `dir`. Null, and *error says why, if it cannot (not root).
  static std::unique_ptr<SmallTmpfs> Mount(const std::string& dir, const std::string& size,
                                           std::string* error) {
    const std::string options = "size=" + size;
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      *error = std::strerror(errno);
      return nullptr;
    }
    return std::unique_ptr<SmallTmpfs>(new SmallTmpfs(dir));
  }
  ~SmallTmpfs() { ::umount2(dir_.c_str(), MNT_DETACH); }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  // Grows (or shrinks) the filesystem in place; its files stay.
  bool Resize(const std::string& size) {
    const std::string options = "size=" + size;
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) == 0;
  }

 private:
  explicit SmallTmpfs(std::string dir) : dir_(std::move(dir)) {}
  const std::string dir_;
};

}  // namespace gatehouse::testing

#endif  // GATEHOUSE_TESTS_COMMON_SMALL_TMPFS_H_
