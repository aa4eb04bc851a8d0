// Unary callback calls whose request the service parses itself, so that a
// request that does not parse is answered INVALID_ARGUMENT with a message a
// client can act on.
//
// With a typed callback method, gRPC 1.51 parses the request before any
// service code runs and, if that fails, ends the call UNIMPLEMENTED with an
// empty message (UnimplementedUnaryReactor in
// grpcpp/impl/codegen/server_callback_handlers.h). A service registering the
// method raw (WithRawCallbackMethod_X) gets the request as bytes instead:
// ParsedUnaryCall parses it, runs the typed handler, and serialises the
// typed response into the raw one when the handler finishes.
//
// Example:
//   grpc::ServerUnaryReactor* Fetch(grpc::CallbackServerContext* context,
//                                   const grpc::ByteBuffer* request,
//                                   grpc::ByteBuffer* response) override {
//     return ParsedUnaryCall<v1::FetchRequest, v1::FetchResponse>::Start(
//         request, response, [&](const v1::FetchRequest* r, v1::FetchResponse* out,
//                                UnaryCall* call) { OnFetch(context, r, out, call); });
//   }
//
// Thread-safety: Finish may be called from any thread, once.
#ifndef GATEHOUSE_TRANSPORT_PARSED_CALL_H_
#define GATEHOUSE_TRANSPORT_PARSED_CALL_H_

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>
#include <grpcpp/support/server_callback.h>

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "transport/grpc_status.h"

namespace gatehouse {

// What a handler finishes its call through.
class UnaryCall {
 public:
  // Ends the call with `s`; if OK, the response is sent as it is now.
  virtual void Finish(const grpc::Status& s) = 0;
  void Answer(const absl::Status& s) { Finish(ToGrpcStatus(s)); }

 protected:
  ~UnaryCall() = default;
};

// INVALID_ARGUMENT (reason REQUEST_NOT_PARSED) for `bytes` that do not parse
// as a `type`: names the first string field (as a path, "labels.caveats")
// holding bytes that are not UTF-8, if that is why, in the message and in a
// BadRequest field violation.
absl::Status NotParsedError(const google::protobuf::Descriptor& type, const std::string& bytes);

template <typename Request, typename Response>
class ParsedUnaryCall final : public grpc::ServerUnaryReactor, public UnaryCall {
 public:
  // Parses `raw_request`: if it parses, calls handle(&request, &response,
  // call), which must finish the call (now or later); if not, finishes it
  // INVALID_ARGUMENT and `handle` is not called. Returns the reactor for
  // the raw method to return.
  template <typename Handle>
  static grpc::ServerUnaryReactor* Start(const grpc::ByteBuffer* raw_request,
                                         grpc::ByteBuffer* raw_response, Handle&& handle) {
    auto* call = new ParsedUnaryCall(raw_response);
    grpc::ByteBuffer copy(*raw_request);  // shares the slices
    grpc::ProtoBufferReader reader(&copy);
    if (call->request_.ParseFromZeroCopyStream(&reader)) {
      handle(&call->request_, &call->response_, static_cast<UnaryCall*>(call));
    } else {
      std::string bytes;
      std::vector<grpc::Slice> slices;
      if (raw_request->Dump(&slices).ok()) {
        for (const grpc::Slice& s : slices) {
          bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
        }
      }
      call->Answer(NotParsedError(*Request::descriptor(), bytes));
    }
    return call;
  }

  void Finish(const grpc::Status& s) override {
    if (!s.ok()) {
      grpc::ServerUnaryReactor::Finish(s);
      return;
    }
    grpc::ByteBuffer out;
    bool own_buffer = false;
    grpc::Status serialized =
        grpc::SerializationTraits<Response>::Serialize(response_, &out, &own_buffer);
    if (serialized.ok()) raw_response_->Swap(&out);
    grpc::ServerUnaryReactor::Finish(serialized);
  }

  void OnDone() override { delete this; }

 private:
  explicit ParsedUnaryCall(grpc::ByteBuffer* raw_response) : raw_response_(raw_response) {}

  grpc::ByteBuffer* const raw_response_;
  Request request_;
  Response response_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_TRANSPORT_PARSED_CALL_H_
