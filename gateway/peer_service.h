// The Peer API, called by other organisations' gateways (see peer.proto).
// Deliver accepts a record only from the gateway the directory lists for the
// record's sending organisation, only for this gateway's organisation, and
// stores it in the mailbox exactly once per (sender organisation, record id).
//
// Thread-safe: gRPC calls it from many threads.
#ifndef GATEHOUSE_GATEWAY_PEER_SERVICE_H_
#define GATEHOUSE_GATEWAY_PEER_SERVICE_H_

#include "gatehouse/v1/config.pb.h"
#include "gatehouse/v1/peer.grpc.pb.h"
#include "gateway/directory_cache.h"
#include "gateway/metrics.h"
#include "gateway/store.h"

namespace gatehouse {

class PeerService final : public v1::Peer::CallbackService {
 public:
  PeerService(const v1::GatewayConfig* config, Store* store, const DirectoryCache* directory,
              Metrics* metrics)
      : config_(config), store_(store), directory_(directory), metrics_(metrics) {}

  grpc::ServerUnaryReactor* Deliver(grpc::CallbackServerContext* context,
                                    const v1::DeliverRequest* request,
                                    v1::DeliverResponse* response) override;

  // Checks an incoming delivery against the caller's certificate URI; changes
  // nothing. Unauthenticated for a caller that is not the sender's gateway,
  // InvalidArgument for a malformed or misrouted record, ResourceExhausted
  // for one over the payload limit.
  absl::Status Check(const std::string& caller_uri, const v1::DeliverRequest& request) const;

 private:
  const v1::GatewayConfig* const config_;
  Store* const store_;
  const DirectoryCache* const directory_;
  Metrics* const metrics_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_PEER_SERVICE_H_
