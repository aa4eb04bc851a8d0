// The trust in force as one value (gateway/record/trust.h), published whole
// by the gateway's one loader (Gateway: at start, and by ReloadNow each time
// the directory, the policy bundles or the keyset change) and taken once by
// each call: a call decides everything against one directory version, one
// policy and one keyset, whatever is reloaded meanwhile.
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_TRUST_HOLDER_H_
#define GATEHOUSE_GATEWAY_TRUST_HOLDER_H_

#include <memory>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "gateway/record/trust.h"

namespace gatehouse {

class TrustHolder {
 public:
  void Publish(TrustSnapshot trust) {
    auto next = std::make_shared<const TrustSnapshot>(std::move(trust));
    std::lock_guard<std::mutex> lock(mu_);
    current_ = std::move(next);
  }
  // The snapshot in force; null before the first Publish.
  std::shared_ptr<const TrustSnapshot> Current() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const TrustSnapshot> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_TRUST_HOLDER_H_
