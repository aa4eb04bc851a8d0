// Service levels on a running gateway (issue 22; docs/service-levels.md,
// "On a running gateway"): the figures of sla/ over the last
// config.serviceLevels.windowHours of this gateway's own audit log, per peer
// organisation, against the objectives in its config, for the admin port
// (/sla.json, /sla.html) and for Prometheus (/metrics).
//
// The figures come from the audit log, never from counters a restart
// loses: at start the window is read back from the log's segments, and then
// every entry the Auditor appends is handed over as it becomes durable
// (Auditor::SetObserver). Add only queues the entry under a lock of its own
// (it runs on the audit log's commit thread, which every record waits on);
// every refreshSeconds the queue is taken into the ledger and the figures
// recomputed, off the record path. Reading them takes a lock for a copy.
//
// For alerting (deploy/prometheus/gatehouse-sla-rules.yml) it also counts,
// since the process started, records delivered and those delivered later
// than each delivery objective allows, and says whether each peer's link is
// down now; Prometheus turns those into burn rates over its own windows.
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_SERVICE_LEVELS_H_
#define GATEHOUSE_GATEWAY_SERVICE_LEVELS_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/periodic.h"
#include "audit/audit_trail.h"
#include "gatehouse/v1/audit.pb.h"
#include "gatehouse/v1/config.pb.h"
#include "gatehouse/v1/sla_report.pb.h"
#include "gateway/metrics.h"
#include "sla/ledger.h"
#include "sla/objectives.h"

namespace gatehouse {

class ServiceLevels {
 public:
  // Queued entries taken into the ledger between refreshes past this many.
  static constexpr size_t kDrainAt = 4096;

  // `config` has been validated (its objectives parse) and defaulted.
  ServiceLevels(std::string org, const v1::ServiceLevelConfig& config);
  ~ServiceLevels() { Stop(); }

  // Reads entries [0, up_to) of the log in `audit_dir` (those in the window
  // ending `now`), then takes the entries Add was given meanwhile, in order.
  // Until it has run, Add only queues.
  absl::Status Load(const std::string& audit_dir, uint64_t up_to, absl::Time now);
  // As above, reading the entries from `log` (a gateway's, wherever kept).
  absl::Status Load(const audit::AuditTrail& log, uint64_t up_to, absl::Time now);
  // Entry `index` of the log, durable; called in index order. Queues it
  // (only the events figures use); never waits for a refresh.
  void Add(uint64_t index, const v1::AuditEntry& entry);

  // Recomputes the figures every refreshSeconds (and once now).
  void Start();
  void Stop() { rounds_.Stop(); }
  // Recomputes the figures for the window ending `now`.
  void Refresh(absl::Time now);

  // The latest figures: the report (unsigned, no binding to a checkpoint:
  // `auditctl sla` makes the signed one), as JSON and as the HTML page.
  v1::ServiceLevelReport Report() const;
  std::string Json() const;
  std::string Html() const;
  // Gauges and counters for /metrics.
  std::vector<Gauge> Gauges() const;

 private:
  using EntryFn = std::function<bool(uint64_t, absl::string_view)>;
  // Load, with the entries from `entries` (which calls its argument for
  // each, from index 0).
  absl::Status Read(const std::function<absl::Status(const EntryFn&)>& entries, uint64_t up_to,
                    absl::Time now);

  // The objectives for `peer`: its own if the config names any.
  const std::vector<sla::Objective>& ObjectivesOf(const std::string& peer) const;
  // Keeps `ledger` within max_records_ by dropping the records settled
  // longest ago; returns the earliest start the figures still cover
  // (INT64_MIN if nothing was dropped).
  int64_t Bound(sla::Ledger* ledger) const;
  // Takes the queued entries into the ledger (and the counters). Under mu_.
  void Drain() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Counts a DELIVERED entry for alerting. Under mu_.
  void CountDelivery(const v1::AuditEntry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string org_;
  const absl::Duration window_;
  const absl::Duration grace_;
  const absl::Duration refresh_;
  const size_t max_records_;
  std::vector<sla::Objective> objectives_;
  std::map<std::string, std::vector<sla::Objective>> peer_objectives_;

  mutable std::mutex mu_;
  sla::Ledger ledger_ ABSL_GUARDED_BY(mu_);
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
  // Entries handed over, not yet in the ledger; a lock of their own, held
  // only to push or swap (see Add).
  std::mutex queue_mu_;
  std::vector<std::pair<uint64_t, v1::AuditEntry>> queued_ ABSL_GUARDED_BY(queue_mu_);
  v1::ServiceLevelReport report_ ABSL_GUARDED_BY(mu_);
  int64_t covered_from_ns_ ABSL_GUARDED_BY(mu_) = INT64_MIN;  // Bound()'s latest
  uint64_t bounded_ ABSL_GUARDED_BY(mu_) = 0;  // times records were dropped to fit
  // Since the process started, per peer: records delivered, and those
  // late for each delivery objective (by its name).
  std::map<std::string, uint64_t> delivered_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, uint64_t> late_ ABSL_GUARDED_BY(mu_);

  Periodic rounds_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_SERVICE_LEVELS_H_
