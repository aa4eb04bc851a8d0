// The directory the gateway routes and authenticates by, replaceable while
// calls are in flight (a reload swaps it whole).
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_DIRECTORY_CACHE_H_
#define GATEHOUSE_GATEWAY_DIRECTORY_CACHE_H_

#include <optional>
#include <vector>
#include <string>

#include <mutex>

#include "absl/base/thread_annotations.h"
#include "gatehouse/v1/directory.pb.h"

namespace gatehouse {

class DirectoryCache {
 public:
  explicit DirectoryCache(v1::Directory directory) : directory_(std::move(directory)) {}

  // The entry for `org_id`, or nullopt if the directory does not list it.
  std::optional<v1::Organisation> Find(const std::string& org_id) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const v1::Organisation& org : directory_.organisations()) {
      if (org.org_id() == org_id) return org;
    }
    return std::nullopt;
  }

  // Every entry.
  std::vector<v1::Organisation> All() const {
    std::lock_guard<std::mutex> lock(mu_);
    return {directory_.organisations().begin(), directory_.organisations().end()};
  }
  uint64_t version() const {
    std::lock_guard<std::mutex> lock(mu_);
    return directory_.version();
  }
  // Whether `other` says exactly what the directory in use says.
  bool SameAs(const v1::Directory& other) const {
    std::lock_guard<std::mutex> lock(mu_);
    return directory_.SerializeAsString() == other.SerializeAsString();
  }

  // Replaces the whole directory. The caller has validated it.
  void Replace(v1::Directory directory) {
    std::lock_guard<std::mutex> lock(mu_);
    directory_ = std::move(directory);
  }

 private:
  mutable std::mutex mu_;
  v1::Directory directory_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_DIRECTORY_CACHE_H_
