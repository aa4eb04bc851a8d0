// A running gateway: the Exchange API on the client port, the Peer API on the
// peer port, the outbox sender, and the store under the data directory.
//
// Example:
//   ASSIGN_OR_RETURN(auto config, LoadGatewayConfig(path));
//   ASSIGN_OR_RETURN(std::unique_ptr<Gateway> gw, Gateway::Start(config));
//   ...                      // until SIGTERM
//   gw->Shutdown(absl::Seconds(10));
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_GATEWAY_H_
#define GATEHOUSE_GATEWAY_GATEWAY_H_

#include <memory>
#include <mutex>
#include <optional>

#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gatehouse/v1/config.pb.h"
#include "gateway/acknowledgements.h"
#include "gateway/service_levels.h"
#include "gateway/admin_server.h"
#include "audit/audit_trail.h"
#include "gateway/auditor.h"
#include "transport/call_gate.h"
#include "gateway/refusal_log.h"
#include "gateway/context.h"
#include "gateway/directory_cache.h"
#include "envelope/keyset.h"
#include "envelope/opener.h"
#include "gateway/seal_queue.h"
#include "gateway/exchange_service.h"
#include "gateway/key_holder.h"
#include "gateway/refusal_reporter.h"
#include "gateway/metrics.h"
#include "x509/revocation.h"
#include "gateway/outbox_sender.h"
#include "gateway/peer_audit.h"
#include "gateway/peer_client.h"
#include "gateway/peer_service.h"
#include "gateway/policy_holder.h"
#include "gateway/store/store.h"

namespace gatehouse {

class Gateway {
 public:
  // Loads keys, the signed directory and the signed policy; checks the
  // certificate is this organisation's gateway and the directory lists this
  // gateway's keys; opens the store and the audit log (recovering it after
  // a crash); and starts listening. InvalidArgument or Unauthenticated for
  // a bad config, key, directory, policy or certificate; Unavailable if a
  // port, the store or the audit log cannot be opened. Nothing is left
  // running on error.
  static absl::StatusOr<std::unique_ptr<Gateway>> Start(const v1::GatewayConfig& config);
  ~Gateway();

  int client_port() const { return client_port_; }
  int peer_port() const { return peer_port_; }
  int admin_port() const { return admin_ ? admin_->port() : 0; }
  int health_port() const { return health_port_; }

  // The admin endpoint's answer for `path` (/metrics, /readyz, /healthz).
  AdminServer::Response Admin(absl::string_view path);

  // Re-reads now whichever of the directory, policy bundles, keyset,
  // certificate and CRLs changed, and re-checks their expiry: what the
  // watcher does every directoryRefreshSeconds (SIGHUP, systemd's
  // ExecReload). A bad file is refused, audited and logged; the last good
  // one stays.
  void ReloadNow();

  // Stops accepting calls, lets calls in flight finish for up to `grace`,
  // then stops the outbox sender. Records not yet delivered stay queued.
  void Shutdown(absl::Duration grace);

 private:
  explicit Gateway(const v1::GatewayConfig& config) : config_(config) {}
  // The audit log's and cosigner's keys, from loading until they are handed
  // to the audit log and the cosigner.
  struct OwnKeys {
    std::optional<audit::NoteSigner> log_key;
    std::optional<audit::NoteSigner> cosigner_key;
  };
  // Start, step by step. Keys, the signed directory, CRLs and the policy.
  absl::Status LoadTrust(OwnKeys* own);
  // The data directory (locked), version floors, spool, store, audit log.
  absl::Status OpenDurableState(OwnKeys* own);
  // The policy's and directory's version floors in the data directory.
  absl::Status KeepFloors();
  // The auditor, the context the services share, and the services.
  void Wire(OwnKeys* own);
  // The start-up entries: recovery, config, keys, directory, policy.
  void AuditStart();
  // Reads the service-level window back from the audit log and starts
  // recomputing the figures.
  void StartServiceLevels();
  // The client, peer, health and admin ports; nothing left listening on error.
  absl::Status Listen();
  // One TLS port with its CallGate serving `service`.
  absl::StatusOr<std::unique_ptr<grpc::Server>> Serve(CallGate::Port port,
                                                      const std::string& address,
                                                      int max_message, grpc::Service* service,
                                                      int* bound_port);
  // Publishes the trust in force (directory, policy, keys) as one snapshot.
  void PublishTrust();
  // The /readyz and /metrics bodies.
  AdminServer::Response Readiness();
  AdminServer::Response MetricsPage();
  // Re-reads the directory, policy bundles and certificate files when they
  // change; a bad one is refused, audited, logged and counted, and the last
  // good one stays.
  void WatchFiles();
  void ReloadRevocationsIfChanged();
  void ReloadDirectoryIfChanged();
  void ReloadPolicyIfChanged();
  void ReloadKeysIfChanged();
  void CheckCertificateIfChanged();
  // Verifies a signed directory file and checks it against this gateway.
  // Sets *not_after_ms to when it expires.
  // With `allow_expired` (at start), a genuinely signed directory past its
  // expiry is read all the same: DirectoryCache keeps it from being used.
  absl::StatusOr<v1::Directory> ReadDirectory(const std::string& path, int64_t* not_after_ms,
                                              bool allow_expired = false) const;
  // Audits and logs the moment the directory or policy in force expires
  // (and logs when both are in force again, and wakes the outbox).
  void CheckDirectoryInForce();
  // gRPC health: SERVING on every port while ready (ReadinessChecks), else
  // NOT_SERVING.
  void UpdateHealth();
  // Audits an operational event (reloads, start) without waiting.
  void AuditEvent(v1::AuditEvent event, const std::string& reason,
                  const std::string& status_code = "");
  // Each readiness check: name → empty if fine, else what is wrong.
  std::vector<std::pair<std::string, std::string>> ReadinessChecks();

  const v1::GatewayConfig config_;
  Metrics metrics_;
  std::vector<envelope::VerifyingKey> authority_keys_;
  std::unique_ptr<KeyHolder> keys_;
  std::unique_ptr<PolicyHolder> policy_;
  int data_lock_fd_ = -1;  // flock on dataDir/LOCK: one gateway a data directory
  std::unique_ptr<Store> store_;
  std::unique_ptr<audit::AuditTrail> audit_log_;
  std::unique_ptr<Auditor> auditor_;
  std::unique_ptr<JointCommit> joint_;  // null unless on PostgreSQL
  std::unique_ptr<RefusalLog> refusals_;
  std::unique_ptr<RefusalReporter> reporter_;
  std::unique_ptr<DirectoryCache> directory_;
  std::shared_ptr<Revocations> revocations_;
  std::string directory_floor_file_;  // dataDir/directory.version
  std::string revocation_error_ ABSL_GUARDED_BY(watch_mu_);  // last refused reload
  std::unique_ptr<PeerClient> peers_;
  TrustHolder trust_;
  GatewayContext ctx_;
  std::shared_ptr<CallGate> client_gate_;  // the client port's; ctx_.client_gate
  std::unique_ptr<OutboxSender> sender_;
  std::unique_ptr<SealQueue> seal_queue_;
  std::unique_ptr<Cosigner> cosigner_;
  std::unique_ptr<AcknowledgementPoller> acknowledgements_;
  std::unique_ptr<ServiceLevels> service_levels_;
  std::unique_ptr<ExchangeService> exchange_;
  std::unique_ptr<PeerService> peer_;
  std::unique_ptr<grpc::Server> client_server_;
  std::unique_ptr<grpc::Server> peer_server_;
  std::unique_ptr<grpc::Server> health_server_;  // plain text, health only
  int health_port_ = 0;
  std::unique_ptr<AdminServer> admin_;
  int client_port_ = 0;
  int peer_port_ = 0;
  bool stopped_ = false;

  std::mutex reload_mu_;  // one ReloadNow at a time (the watcher's or SIGHUP's)
  absl::Mutex watch_mu_;
  bool watch_stopping_ ABSL_GUARDED_BY(watch_mu_) = false;
  std::string directory_stamp_ ABSL_GUARDED_BY(watch_mu_);  // size and mtime last read
  std::string directory_error_ ABSL_GUARDED_BY(watch_mu_);  // last refusal, if any
  int64_t directory_loaded_unix_ ABSL_GUARDED_BY(watch_mu_) = 0;
  int64_t directory_not_after_ms_ ABSL_GUARDED_BY(watch_mu_) = 0;
  bool directory_expired_ ABSL_GUARDED_BY(watch_mu_) = false;  // last seen by CheckDirectoryInForce
  std::string policy_error_ ABSL_GUARDED_BY(watch_mu_);
  std::string cert_stamp_ ABSL_GUARDED_BY(watch_mu_);
  std::string cert_error_ ABSL_GUARDED_BY(watch_mu_);
  std::string keys_error_ ABSL_GUARDED_BY(watch_mu_);  // last refused keyset reload
  std::thread watcher_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_GATEWAY_H_
