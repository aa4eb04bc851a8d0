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

#include <memory>
#include <optional>
#include <vector>
#include <string>

#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gatehouse/v1/directory.pb.h"
#include "gateway/record/trust.h"

namespace gatehouse {

class DirectoryCache {
 public:
  // `not_after` is when `directory` expires; `grace` how long it may be
  // used after that.
  explicit DirectoryCache(v1::Directory directory,
                          absl::Time not_after = absl::InfiniteFuture(),
                          absl::Duration grace = absl::ZeroDuration())
      : grace_(grace),
        current_(std::make_shared<const DirectorySnapshot>(std::move(directory), not_after,
                                                           grace)) {}

  // The version in force, for the whole of one call.
  std::shared_ptr<const DirectorySnapshot> Snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }

  // Shorthands on the version in force, for callers that ask one thing.
  absl::Status CheckInForce(absl::Time now) const { return Snapshot()->CheckInForce(now); }
  absl::Time not_after() const { return Snapshot()->not_after(); }
  absl::Duration grace() const { return grace_; }
  uint64_t version() const { return Snapshot()->version(); }
  // A copy of the entry for `org_id`, or nullopt if the directory does not list it.
  std::optional<v1::Organisation> Find(const std::string& org_id) const {
    std::shared_ptr<const DirectorySnapshot> s = Snapshot();
    const v1::Organisation* org = s->Find(org_id);
    return org == nullptr ? std::nullopt : std::optional<v1::Organisation>(*org);
  }
  // Every entry.
  std::vector<v1::Organisation> All() const {
    std::shared_ptr<const DirectorySnapshot> s = Snapshot();
    return {s->directory().organisations().begin(), s->directory().organisations().end()};
  }
  // Whether `other` says exactly what the directory in use says.
  bool SameAs(const v1::Directory& other) const {
    return Snapshot()->directory().SerializeAsString() == other.SerializeAsString();
  }

  // Publishes a new version. The caller has validated it. Calls in flight
  // keep the snapshot they took.
  void Replace(v1::Directory directory, absl::Time not_after = absl::InfiniteFuture()) {
    auto next = std::make_shared<const DirectorySnapshot>(std::move(directory), not_after, grace_);
    std::lock_guard<std::mutex> lock(mu_);
    current_ = std::move(next);
  }

 private:
  const absl::Duration grace_;
  mutable std::mutex mu_;
  std::shared_ptr<const DirectorySnapshot> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_DIRECTORY_CACHE_H_
