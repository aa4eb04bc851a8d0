// Calls to other organisations' gateways over mutual TLS. One channel per
// peer organisation, made on first use and remade if the directory changes
// the peer's address or identity, when new CRLs come into force, and once
// it is older than `max_age`: each new channel handshakes again, so a peer
// certificate revoked or expired since the last handshake is refused. The server certificate must carry the
// identity the directory lists for that organisation.
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_PEER_CLIENT_H_
#define GATEHOUSE_GATEWAY_PEER_CLIENT_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gatehouse/v1/config.pb.h"
#include "gatehouse/v1/directory.pb.h"
#include "gatehouse/v1/peer.grpc.pb.h"
#include "x509/revocation.h"

namespace gatehouse {

// The most envelopes one Peer.DeliverBatch carries.
inline constexpr int kMaxDeliverBatch = 256;

class PeerClient {
 public:
  // With `revocations`, a peer whose certificate they revoke is refused in
  // the handshake.
  PeerClient(v1::TlsConfig tls, int64_t max_message_bytes,
             std::shared_ptr<const Revocations> revocations = nullptr,
             absl::Duration max_age = absl::InfiniteDuration())
      : tls_(std::move(tls)),
        max_message_bytes_(max_message_bytes),
        revocations_(std::move(revocations)),
        max_age_(max_age) {}

  // The outcome, the response, and the peer's retry-after-ms trailer (0 if
  // it sent none).
  using DeliverCallback =
      std::function<void(grpc::Status, const v1::DeliverResponse&, int64_t retry_after_ms)>;

  // Starts Deliver to `peer`'s gateway with a deadline of `timeout_ms`;
  // `done` runs once, on a gRPC thread, with the outcome. If no channel can
  // be made (bad TLS files), `done` runs at once with UNAVAILABLE.
  virtual ~PeerClient() = default;

  // Virtual so that tests can stand in for the network.
  virtual void Deliver(const v1::Organisation& peer, v1::DeliverRequest request,
               int64_t timeout_ms, DeliverCallback done);

  using BatchCallback = std::function<void(grpc::Status, const v1::DeliverBatchResponse&,
                                           int64_t retry_after_ms)>;
  // Starts DeliverBatch to `peer`'s gateway, as Deliver. Virtual so that
  // tests can stand in for the network.
  virtual void DeliverBatch(const v1::Organisation& peer, v1::DeliverBatchRequest request,
                            int64_t timeout_ms, BatchCallback done);

  // DeliverStream of the spooled envelope at `path` to `peer`'s gateway, in
  // kStreamMessageBytes messages, on a thread of its own (the file is read
  // as it is sent, so memory stays bounded). `done` runs once, on that
  // thread. Virtual so that tests can stand in for the network.
  virtual void DeliverFile(const v1::Organisation& peer, const std::string& path,
                           int64_t timeout_ms, DeliverCallback done);

  // The stub for `peer`'s gateway, for the other Peer calls.
  absl::StatusOr<std::shared_ptr<v1::Peer::Stub>> StubFor(const v1::Organisation& peer);

 private:
  // The stub for `peer`, or null once `done` has been told (Unavailable)
  // why there is none.
  template <typename Response>
  std::shared_ptr<v1::Peer::Stub> StubOrFail(
      const v1::Organisation& peer,
      const std::function<void(grpc::Status, const Response&, int64_t)>& done);
  struct Entry {
    std::string address;
    std::string identity;
    std::shared_ptr<v1::Peer::Stub> stub;
    uint64_t generation = 0;  // of the revocations in force when it was made
    absl::Time made;
  };
  const v1::TlsConfig tls_;
  const int64_t max_message_bytes_;
  const std::shared_ptr<const Revocations> revocations_;
  const absl::Duration max_age_;
  absl::Mutex mu_;
  std::map<std::string, Entry> stubs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_PEER_CLIENT_H_
