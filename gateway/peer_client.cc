#include "gateway/peer_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/stream_spool.h"
#include "transport/tls.h"

namespace gatehouse {
namespace {

// The peer's retry-after-ms trailer, or 0.
int64_t RetryAfterMs(const grpc::ClientContext& context) {
  int64_t ms = 0;
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find("retry-after-ms");
  if (it == trailers.end() ||
      !absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &ms)) {
    return 0;
  }
  return ms;
}

}  // namespace

absl::StatusOr<std::shared_ptr<v1::Peer::Stub>> PeerClient::StubFor(
    const v1::Organisation& peer) {
  const uint64_t generation = revocations_ != nullptr ? revocations_->generation() : 0;
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  Entry& e = stubs_[peer.org_id()];
  if (e.stub != nullptr && e.address == peer.gateway_address() &&
      e.identity == peer.gateway_identity() && e.generation == generation &&
      now - e.made < max_age_) {
    return e.stub;
  }
  // Calls in flight keep the old channel (they hold its stub) until they end.
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds =
      MakeChannelCredentials(tls_, peer.gateway_identity(), revocations_);
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
  e.generation = generation;
  e.made = now;
  e.stub = std::shared_ptr<v1::Peer::Stub>(v1::Peer::NewStub(channel));
  return e.stub;
}

template <typename Response>
std::shared_ptr<v1::Peer::Stub> PeerClient::StubOrFail(
    const v1::Organisation& peer,
    const std::function<void(grpc::Status, const Response&, int64_t)>& done) {
  absl::StatusOr<std::shared_ptr<v1::Peer::Stub>> stub = StubFor(peer);
  if (stub.ok()) return *std::move(stub);
  done(grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(stub.status().message())),
       Response(), 0);
  return nullptr;
}

namespace {

// Starts one unary Peer call on `stub`'s callback API; `done` gets the
// outcome, the response and the peer's retry-after-ms trailer.
template <typename Request, typename Response, typename Method>
void StartUnary(std::shared_ptr<v1::Peer::Stub> stub, Method method, Request request,
                int64_t timeout_ms,
                std::function<void(grpc::Status, const Response&, int64_t)> done) {
  struct Call {
    grpc::ClientContext context;
    Request request;
    Response response;
    std::shared_ptr<v1::Peer::Stub> stub;  // keeps the channel alive
  };
  auto call = std::make_shared<Call>();
  call->stub = stub;
  call->request = std::move(request);
  call->context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::milliseconds(timeout_ms));
  (stub->async()->*method)(&call->context, &call->request, &call->response,
                           [call, done = std::move(done)](grpc::Status status) {
                             done(status, call->response, RetryAfterMs(call->context));
                           });
}

}  // namespace

void PeerClient::Deliver(const v1::Organisation& peer, v1::DeliverRequest request,
                         int64_t timeout_ms, DeliverCallback done) {
  std::shared_ptr<v1::Peer::Stub> stub = StubOrFail(peer, done);
  if (stub == nullptr) return;
  using Method = void (v1::Peer::Stub::async_interface::*)(
      grpc::ClientContext*, const v1::DeliverRequest*, v1::DeliverResponse*,
      std::function<void(grpc::Status)>);
  StartUnary(std::move(stub), static_cast<Method>(&v1::Peer::Stub::async_interface::Deliver),
             std::move(request), timeout_ms, std::move(done));
}

void PeerClient::DeliverBatch(const v1::Organisation& peer, v1::DeliverBatchRequest request,
                              int64_t timeout_ms, BatchCallback done) {
  std::shared_ptr<v1::Peer::Stub> stub = StubOrFail(peer, done);
  if (stub == nullptr) return;
  using Method = void (v1::Peer::Stub::async_interface::*)(
      grpc::ClientContext*, const v1::DeliverBatchRequest*, v1::DeliverBatchResponse*,
      std::function<void(grpc::Status)>);
  StartUnary(std::move(stub),
             static_cast<Method>(&v1::Peer::Stub::async_interface::DeliverBatch),
             std::move(request), timeout_ms, std::move(done));
}

void PeerClient::DeliverFile(const v1::Organisation& peer, const std::string& path,
                             int64_t timeout_ms, DeliverCallback done) {
  std::shared_ptr<v1::Peer::Stub> stub = StubOrFail(peer, done);
  if (stub == nullptr) return;
  const size_t message = std::min<size_t>(kStreamMessageBytes,
                                          static_cast<size_t>(max_message_bytes_) / 2);
  std::thread([stub = std::move(stub), path, timeout_ms, message, done = std::move(done)] {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
      done(grpc::Status(grpc::StatusCode::DATA_LOSS,
                        absl::StrCat("cannot read spooled envelope ", path)),
           v1::DeliverResponse(), 0);
      return;
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(timeout_ms));
    v1::DeliverResponse response;
    std::unique_ptr<grpc::ClientWriter<v1::DeliverChunk>> writer =
        stub->DeliverStream(&context, &response);
    v1::DeliverChunk chunk;
    std::string* data = chunk.mutable_data();
    bool read_error = false;
    for (;;) {
      data->resize(message);
      const size_t n = std::fread(data->data(), 1, message, f);
      if (n == 0) {
        read_error = std::ferror(f) != 0;
        break;
      }
      data->resize(n);
      if (!writer->Write(chunk)) break;  // the peer ended the call: Finish says why
    }
    std::fclose(f);
    if (read_error) {
      context.TryCancel();
      writer->Finish();
      done(grpc::Status(grpc::StatusCode::DATA_LOSS,
                        absl::StrCat("cannot read spooled envelope ", path)),
           v1::DeliverResponse(), 0);
      return;
    }
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    done(status, response, RetryAfterMs(context));
  }).detach();
}

}  // namespace gatehouse
