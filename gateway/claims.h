// Claims: keys held by calls in progress, so that a second call for the same
// key while the first is still working is refused (Unavailable: retry)
// instead of doing the work twice. Used for a record being delivered (sender,
// record id) and a Submit's idempotency key.
//
// Thread-safe. A token may outlive the Claims that gave it.
#ifndef GATEHOUSE_GATEWAY_CLAIMS_H_
#define GATEHOUSE_GATEWAY_CLAIMS_H_

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gatehouse {

class Claims {
 public:
  // Holds `key` until the returned token (and every copy of it) is dropped.
  // Unavailable, with `busy` as its message, if another call holds it.
  absl::StatusOr<std::shared_ptr<void>> Claim(std::string key, absl::string_view busy) {
    std::lock_guard<std::mutex> lock(held_->mu);
    if (!held_->keys.insert(key).second) return absl::UnavailableError(busy);
    return std::shared_ptr<void>(nullptr, [held = held_, key = std::move(key)](void*) {
      std::lock_guard<std::mutex> lock(held->mu);
      held->keys.erase(key);
    });
  }

 private:
  struct Held {
    std::mutex mu;
    std::set<std::string> keys ABSL_GUARDED_BY(mu);
  };
  const std::shared_ptr<Held> held_ = std::make_shared<Held>();
};

// One key from several parts (none of which holds a NUL).
inline std::string ClaimKey(absl::string_view a, absl::string_view b) {
  std::string key(a);
  key.push_back('\0');
  key.append(b.data(), b.size());
  return key;
}

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_CLAIMS_H_
