// The directory the gateway routes and authenticates by, replaceable while
// calls are in flight (a reload swaps it whole), and its expiry.
//
// Expiry bounds how long the keys and identities a directory lists are
// trusted, so it is checked on every use, not only when a file loads: once
// the directory in force is past its expiry (plus the configured grace),
// CheckInForce fails, and the gateway refuses new Submits and Deliveries
// and pauses its outbox until a newer signed directory is loaded. The same
// rule holds at start-up: a gateway started on an expired (but genuinely
// signed) directory starts paused rather than not at all, so its systems
// can still fetch what it holds.
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_DIRECTORY_CACHE_H_
#define GATEHOUSE_GATEWAY_DIRECTORY_CACHE_H_

#include <optional>
#include <vector>
#include <string>

#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gatehouse/v1/directory.pb.h"

namespace gatehouse {

class DirectoryCache {
 public:
  // `not_after` is when `directory` expires; `grace` how long it may be
  // used after that.
  explicit DirectoryCache(v1::Directory directory,
                          absl::Time not_after = absl::InfiniteFuture(),
                          absl::Duration grace = absl::ZeroDuration())
      : grace_(grace), directory_(std::move(directory)), not_after_(not_after) {}

  // OK while the directory in force may be used at `now`; otherwise
  // FailedPrecondition naming its version and when it expired.
  absl::Status CheckInForce(absl::Time now) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (now < not_after_ + grace_) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        "the directory in force (version ", directory_.version(), ") expired at ",
        absl::FormatTime(not_after_),
        grace_ > absl::ZeroDuration()
            ? absl::StrCat(" and its grace of ", absl::FormatDuration(grace_), " has passed")
            : "",
        "; this gateway sends and accepts no records until the directory authority "
        "publishes a newer signed directory (queued records are kept)"));
  }
  absl::Time not_after() const {
    std::lock_guard<std::mutex> lock(mu_);
    return not_after_;
  }
  absl::Duration grace() const { return grace_; }

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
  void Replace(v1::Directory directory, absl::Time not_after = absl::InfiniteFuture()) {
    std::lock_guard<std::mutex> lock(mu_);
    directory_ = std::move(directory);
    not_after_ = not_after;
  }

 private:
  const absl::Duration grace_;
  mutable std::mutex mu_;
  v1::Directory directory_ ABSL_GUARDED_BY(mu_);
  absl::Time not_after_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_DIRECTORY_CACHE_H_
