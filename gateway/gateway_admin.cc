// The gateway's health: readiness checks, gRPC health status, and the
// admin endpoint's /healthz, /readyz and /metrics.
#include <unistd.h>

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/gateway.h"
#include "transport/tls.h"

namespace gatehouse {

void Gateway::UpdateHealth() {
  bool ready = true;
  for (const auto& [name, problem] : ReadinessChecks()) ready &= problem.empty();
  // Each port answers for the whole server ("") and by name for the
  // services it serves; the plain-text health port for both.
  constexpr const char* kExchange = "gatehouse.v1.Exchange";
  constexpr const char* kPeer = "gatehouse.v1.Peer";
  const std::pair<grpc::Server*, std::vector<const char*>> ports[] = {
      {client_server_.get(), {kExchange}},
      {peer_server_.get(), {kPeer}},
      {health_server_.get(), {kExchange, kPeer}}};
  for (const auto& [server, services] : ports) {
    if (server == nullptr || server->GetHealthCheckService() == nullptr) continue;
    for (const char* service : services) {
      server->GetHealthCheckService()->SetServingStatus(service, ready);
    }
    server->GetHealthCheckService()->SetServingStatus(ready);
  }
}

std::vector<std::pair<std::string, std::string>> Gateway::ReadinessChecks() {
  std::vector<std::pair<std::string, std::string>> checks;
  absl::StatusOr<CertificateValidity> cert = ReadCertificateValidity(config_.tls().cert_file());
  int64_t now = absl::ToUnixSeconds(absl::Now());
  if (!cert.ok()) {
    checks.push_back({"certificate", std::string(cert.status().message())});
  } else if (now < cert->not_before || now > cert->not_after) {
    checks.push_back({"certificate", "outside its validity period"});
  } else {
    checks.push_back({"certificate", ""});
  }
  {
    absl::MutexLock lock(&watch_mu_);
    std::string problem;
    if (directory_loaded_unix_ == 0) {
      problem = "not loaded";
    } else if (absl::Status in_force = directory_->CheckInForce(absl::Now()); !in_force.ok()) {
      problem = std::string(in_force.message());
    } else if (directory_->not_after() <= absl::Now()) {
      problem = absl::StrCat("the directory in use expired at ",
                             absl::FormatTime(directory_->not_after()),
                             "; in use under its grace (directoryExpiryGraceSeconds) until ",
                             absl::FormatTime(directory_->not_after() + directory_->grace()),
                             ": publish a freshly signed one");
    }
    checks.push_back({"directory", problem});
  }
  absl::StatusOr<int64_t> depth = store_->OutboxDepth();
  checks.push_back({"store", depth.ok() ? "" : std::string(depth.status().message())});
  {
    absl::Status policy = policy_->CheckInForce(absl::Now());
    checks.push_back({"policy", policy.ok() ? "" : std::string(policy.message())});
  }
  // Writable: the log does not refuse every append (the file log after a
  // failed fdatasync, until the gateway restarts; the queued log while its
  // integration is stopped, until it resumes), no append failed in the
  // last minute (a full disk), and its directory is writable. A log in
  // PostgreSQL has no such state: the store check above says whether the
  // database answers.
  std::string audit_problem;
  const bool in_database = config_.store().has_postgres();
  const absl::Status writable = auditor_->log()->Writable();
  const int64_t last_failure_ns = auditor_->last_failure_ns();
  if (!in_database && !writable.ok()) {
    audit_problem = std::string(writable.message());
  } else if (!in_database && last_failure_ns != 0 &&
             absl::GetCurrentTimeNanos() - last_failure_ns < int64_t{60} * 1000 * 1000 * 1000) {
    audit_problem = absl::StrCat(auditor_->failures(), " audit append(s) failed since start, "
                                 "the last under a minute ago (a full disk?)");
  } else if (!in_database && access(config_.audit().dir().c_str(), W_OK) != 0) {
    audit_problem = "the audit directory is not writable";
  }
  checks.push_back({"audit", audit_problem});
  return checks;
}

AdminServer::Response Gateway::Admin(absl::string_view path) {
  if (path == "/healthz") return {200, "ok\n"};
  if (path == "/readyz") return Readiness();
  if (path == "/metrics") return MetricsPage();
  // The live service-level figures (docs/service-levels.md): no payload,
  // no personal data, only record counts, times and organisation ids.
  if (path == "/sla.json") {
    return {200, service_levels_->Json(), "application/json; charset=utf-8"};
  }
  if (path == "/sla.html") {
    return {200, service_levels_->Html(), "text/html; charset=utf-8"};
  }
  return {404, "not found; try /metrics, /readyz, /healthz, /sla.json or /sla.html\n"};
}

AdminServer::Response Gateway::Readiness() {
  std::string body;
  bool ready = true;
  for (const auto& [name, problem] : ReadinessChecks()) {
    ready &= problem.empty();
    absl::StrAppend(&body, name, ": ", problem.empty() ? "ok" : problem, "\n");
  }
  {
    absl::MutexLock lock(&watch_mu_);
    if (!directory_error_.empty()) {
      absl::StrAppend(&body, "warning: the last directory reload was refused (",
                      directory_error_, "); serving the last good one\n");
    }
    if (!policy_error_.empty()) {
      absl::StrAppend(&body, "warning: the last policy reload was refused (", policy_error_,
                      "); enforcing the last good one\n");
    }
    if (!cert_error_.empty()) {
      absl::StrAppend(&body, "warning: the replaced certificate is not usable (", cert_error_,
                      ")\n");
    }
    if (!keys_error_.empty()) {
      absl::StrAppend(&body, "warning: the replaced keyset was refused (", keys_error_,
                      "); the keys in force stay\n");
    }
  }
  for (const auto& [peer, detail] : cosigner_->alarms()) {
    absl::StrAppend(&body, "ALERT: ", peer, "'s audit log is inconsistent with what this "
                    "gateway cosigned: ", detail, "\n");
  }
  return {ready ? 200 : 503, body};
}

AdminServer::Response Gateway::MetricsPage() {
  std::vector<Gauge> gauges;
  if (absl::StatusOr<int64_t> d = store_->OutboxDepth(); d.ok()) {
    gauges.push_back({"gatehouse_outbox_depth", "Records queued for delivery.",
                      static_cast<double>(*d), ""});
  }
  if (absl::StatusOr<int64_t> d = store_->HeldMailboxRecords(); d.ok()) {
    gauges.push_back({"gatehouse_mailbox_depth", "Records waiting for our systems.",
                      static_cast<double>(*d), ""});
  }
  if (absl::StatusOr<CertificateValidity> v = ReadCertificateValidity(config_.tls().cert_file());
      v.ok()) {
    gauges.push_back({"gatehouse_certificate_expiry_timestamp_seconds",
                      "When the gateway's certificate expires, Unix seconds.",
                      static_cast<double>(v->not_after), ""});
  }
  for (Gauge& g : service_levels_->Gauges()) gauges.push_back(std::move(g));
  gauges.push_back({"gatehouse_audit_entries", "Entries in this gateway's audit log.",
                    static_cast<double>(audit_log_->Size()), ""});
  gauges.push_back({"gatehouse_audit_pending", "Audit entries handed over, not yet durable.",
                    static_cast<double>(auditor_->pending()), ""});
  // Group commits: entries (or writes) over commits is the group size, and
  // seconds over commits the time one commit takes.
  const audit::AuditLogStats audit_stats = audit_log_->stats();
  gauges.push_back({"gatehouse_audit_batches_total",
                    "Audit group commits since start (one fdatasync each).",
                    static_cast<double>(audit_stats.batches), "", true});
  gauges.push_back({"gatehouse_audit_sync_seconds_total",
                    "Time in the audit log's fdatasync since start.",
                    static_cast<double>(audit_stats.sync_nanos) / 1e9, "", true});
  const StoreStats store_stats = store_->Stats();
  gauges.push_back({"gatehouse_store_commits_total", "Store group commits since start.",
                    static_cast<double>(store_stats.commits), "", true});
  gauges.push_back({"gatehouse_store_commit_seconds_total",
                    "Time in store group commits since start (writes and sync).",
                    static_cast<double>(store_stats.commit_nanos) / 1e9, "", true});
  if (seal_queue_ != nullptr) {
    // Records over batches: how many records one signature serves.
    gauges.push_back({"gatehouse_sealed_records", "Records sealed since start (batch mode).",
                      static_cast<double>(seal_queue_->records()), ""});
    gauges.push_back({"gatehouse_seal_batches", "Signed batches since start.",
                      static_cast<double>(seal_queue_->batches()), ""});
  }
  {
    absl::MutexLock lock(&watch_mu_);
    gauges.push_back({"gatehouse_directory_loaded_timestamp_seconds",
                      "When the directory in use was loaded, Unix seconds.",
                      static_cast<double>(directory_loaded_unix_), ""});
    gauges.push_back({"gatehouse_directory_in_force",
                      "1 while the directory in use may be used (unexpired, or in its "
                      "grace); 0 while records are refused and the outbox is paused.",
                      directory_expired_ ? 0.0 : 1.0, ""});
  }
  gauges.push_back({"gatehouse_directory_expiry_timestamp_seconds",
                    "When the directory in use expires, Unix seconds.",
                    static_cast<double>(absl::ToUnixSeconds(directory_->not_after())), ""});
  gauges.push_back({"gatehouse_directory_expiry_grace_seconds",
                    "How long after its expiry the directory is still used (config).",
                    absl::ToDoubleSeconds(directory_->grace()), ""});
  gauges.push_back({"gatehouse_refusals_pending",
                    "Calls refused before authentication, not yet summarised in the audit log.",
                    static_cast<double>(refusals_->Pending()), ""});
  return {200, metrics_.Render(gauges), "text/plain; version=0.0.4; charset=utf-8"};
}

}  // namespace gatehouse
