#include "gateway/refusal_log.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gatehouse/v1/audit.pb.h"
#include "common/log.h"

namespace gatehouse {

void RefusalLog::Refused(absl::string_view port, absl::string_view caller,
                         absl::string_view reason) {
  metrics_->CountRefusal(port, "UNAUTHENTICATED");
  bool first = false;
  {
    absl::MutexLock lock(&mu_);
    Key key{std::string(port), std::string(caller), std::string(reason)};
    auto it = counts_.find(key);
    if (it == counts_.end() && counts_.size() >= kMaxKeys) {
      // Bounded memory whatever the number of distinct certificates.
      key = Key{std::string(port), "other callers", "refused before authentication"};
      it = counts_.find(key);
    }
    if (it == counts_.end()) {
      first = true;
      counts_.emplace(std::move(key), 1);
    } else {
      ++it->second;
    }
  }
  if (first) {
    LogWarning("call refused before authentication",
               {{"port", std::string(port)}, {"caller", std::string(caller)},
                {"error", std::string(reason)}});
  }
}

int RefusalLog::Flush(absl::Time now) {
  std::map<Key, int64_t> counts;
  absl::Time since;
  {
    absl::MutexLock lock(&mu_);
    counts.swap(counts_);
    since = since_;
    since_ = now;
  }
  if (auditor_ == nullptr) return static_cast<int>(counts.size());
  const int64_t seconds = std::max<int64_t>(0, absl::ToInt64Seconds(now - since));
  for (const auto& [key, count] : counts) {
    const auto& [port, caller, reason] = key;
    v1::AuditEntry e;
    e.set_event(v1::AUDIT_EVENT_CERTIFICATE_REFUSED);
    e.set_recipient_org(org_id_);
    e.set_reason(absl::StrCat(count, " call(s) on the ", port, " port from ", caller,
                              " refused in the last ", seconds, " s: ", reason));
    e.set_status_code("UNAUTHENTICATED");
    auditor_->Note(std::move(e));
  }
  return static_cast<int>(counts.size());
}

int64_t RefusalLog::Pending() const {
  absl::MutexLock lock(&mu_);
  int64_t n = 0;
  for (const auto& [key, count] : counts_) n += count;
  return n;
}

}  // namespace gatehouse
