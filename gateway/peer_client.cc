#include "gateway/peer_client.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/numbers.h"
#include "gateway/tls.h"

namespace gatehouse {

absl::StatusOr<std::shared_ptr<v1::Peer::Stub>> PeerClient::StubFor(
    const v1::Organisation& peer) {
  absl::MutexLock lock(&mu_);
  Entry& e = stubs_[peer.org_id()];
  if (e.stub != nullptr && e.address == peer.gateway_address() &&
      e.identity == peer.gateway_identity()) {
    return e.stub;
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds =
      MakeChannelCredentials(tls_, peer.gateway_identity());
  if (!creds.ok()) return creds.status();
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(static_cast<int>(max_message_bytes_));
  args.SetMaxReceiveMessageSize(static_cast<int>(max_message_bytes_));
  // Reconnect quickly once a peer that was down comes back.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  auto channel = grpc::CreateCustomChannel(peer.gateway_address(), *creds, args);
  e.address = peer.gateway_address();
  e.identity = peer.gateway_identity();
  e.stub = std::shared_ptr<v1::Peer::Stub>(v1::Peer::NewStub(channel));
  return e.stub;
}

void PeerClient::Deliver(const v1::Organisation& peer, v1::DeliverRequest request,
                         int64_t timeout_ms, DeliverCallback done) {
  absl::StatusOr<std::shared_ptr<v1::Peer::Stub>> stub = StubFor(peer);
  if (!stub.ok()) {
    done(grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(stub.status().message())),
         v1::DeliverResponse(), 0);
    return;
  }
  struct Call {
    grpc::ClientContext context;
    v1::DeliverRequest request;
    v1::DeliverResponse response;
    std::shared_ptr<v1::Peer::Stub> stub;  // keeps the channel alive
  };
  auto call = std::make_shared<Call>();
  call->stub = *stub;
  call->request = std::move(request);
  call->context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::milliseconds(timeout_ms));
  (*stub)->async()->Deliver(&call->context, &call->request, &call->response,
                            [call, done = std::move(done)](grpc::Status status) {
                              int64_t retry_after_ms = 0;
                              const auto& trailers = call->context.GetServerTrailingMetadata();
                              auto it = trailers.find("retry-after-ms");
                              if (it != trailers.end() &&
                                  !absl::SimpleAtoi(absl::string_view(it->second.data(),
                                                                      it->second.size()),
                                                    &retry_after_ms)) {
                                retry_after_ms = 0;
                              }
                              done(status, call->response, retry_after_ms);
                            });
}

}  // namespace gatehouse
