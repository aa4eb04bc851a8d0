// Authentication of every call on a listener, before any handler (ours,
// gRPC health or reflection) runs: the caller's certificate, from the TLS
// handshake, must be
//   - issued by a trust anchor of tls.caFile (as in force now),
//   - inside its validity period now,
//   - not revoked by the CRLs in force now (a CRL replaced while a
//     connection is open takes effect on that connection's next call), and
//   - name an identity the port accepts: on the client port a system of
//     this organisation, on the peer port a gateway.
// The handshake only proves that the caller holds the key of the
// certificate it presents (tls.h: the listeners request a certificate but
// leave its verification here); this checks everything else, on every
// call, so a refused caller learns why (instead of a handshake failure that
// looks like a gateway that is down), and neither an open connection nor a
// long run escapes a revocation or an expiry. What a certificate says is parsed once and cached per
// certificate; its revocation is looked up again whenever the CRLs change,
// and its validity compared with the clock on every call.
//
// A refused call ends UNAUTHENTICATED with the reason, before any request
// is read; it is reported to a RefusalSink (the gateway's RefusalLog audits a summary).
//
// Example:
//   auto gate = std::make_shared<CallGate>(CallGate::Port::kClient, org, revocations, &refusals);
//   server_credentials->SetAuthMetadataProcessor(gate);
//
// Thread-safe.
#ifndef GATEHOUSE_TRANSPORT_CALL_GATE_H_
#define GATEHOUSE_TRANSPORT_CALL_GATE_H_

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/security/auth_metadata_processor.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "transport/identity.h"
#include "x509/revocation.h"

namespace gatehouse {

// Where refused calls are reported (the gateway's RefusalLog summarises
// them in the audit log). Implementations are thread-safe and quick.
class RefusalSink {
 public:
  virtual ~RefusalSink() = default;
  // One call on `port` ("client" or "peer") from `caller` (an identity, or
  // a description of the certificate) refused for `reason`.
  virtual void Refused(absl::string_view port, absl::string_view caller,
                       absl::string_view reason) = 0;
};

class CallGate : public grpc::AuthMetadataProcessor {
 public:
  enum class Port { kClient, kPeer };
  using Clock = std::function<absl::Time()>;

  // `revocations` is required; `refusals` may be null (nothing summarised).
  CallGate(Port port, std::string org_id, std::shared_ptr<const Revocations> revocations,
           RefusalSink* refusals, Clock clock = absl::Now)
      : port_(port),
        org_id_(std::move(org_id)),
        revocations_(std::move(revocations)),
        refusals_(refusals),
        clock_(std::move(clock)) {}

  // The identity of the caller presenting `pem` (its certificate, PEM) at
  // `now`, or Unauthenticated naming why it is refused (with an ErrorInfo
  // reason): no certificate, one that does not parse, not issued by a trust
  // anchor, expired or not yet valid, revoked, naming no
  // single psn:// identity, or one this port does not accept.
  // `chain_pem` is what else the caller sent in its chain (gRPC's
  // x509_pem_cert_chain: on a server, without the caller's own
  // certificate), searched for intermediates.
  absl::StatusOr<Identity> Check(absl::string_view pem, absl::Time now,
                                 absl::string_view chain_pem = {});

  // grpc::AuthMetadataProcessor: runs Check on the caller's certificate.
  bool IsBlocking() const override { return false; }  // a lookup and a compare
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  struct Known {
    absl::StatusOr<Identity> identity;  // what the certificate names, port rules applied
    absl::StatusOr<CertificateFacts> facts;
    uint64_t generation = 0;  // of the lists `trusted` and `revoked` were read under
    absl::Status trusted;     // whether it chains to a trust anchor
    bool revoked = false;
  };
  absl::StatusOr<Identity> Accepts(absl::StatusOr<Identity> id) const;
  const char* port_name() const { return port_ == Port::kClient ? "client" : "peer"; }
  // Who to name in the audit log for a refused certificate.
  static std::string Describe(const Known& k, absl::string_view pem);

  static constexpr size_t kMaxKnown = 4096;
  const Port port_;
  const std::string org_id_;
  const std::shared_ptr<const Revocations> revocations_;
  RefusalSink* const refusals_;
  const Clock clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Known> known_ ABSL_GUARDED_BY(mu_);  // by PEM
};

}  // namespace gatehouse

#endif  // GATEHOUSE_TRANSPORT_CALL_GATE_H_
