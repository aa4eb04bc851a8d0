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
// Also RawStream, the same for the synchronous streaming calls.
//
// Thread-safety: Finish may be called from any thread, once.
#ifndef GATEHOUSE_TRANSPORT_PARSED_CALL_H_
#define GATEHOUSE_TRANSPORT_PARSED_CALL_H_

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/method_handler.h>
#include <grpcpp/support/sync_stream.h>
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

// The bytes of `buffer`, in one string.
std::string BufferBytes(const grpc::ByteBuffer& buffer);

// Parses `buffer` (left as it was) into *msg; NotParsedError if it does not
// parse.
template <typename Message>
absl::Status ParseBuffer(const grpc::ByteBuffer& buffer, Message* msg) {
  grpc::ByteBuffer copy(buffer);  // shares the slices
  grpc::ProtoBufferReader reader(&copy);
  if (msg->ParseFromZeroCopyStream(&reader)) return absl::OkStatus();
  return NotParsedError(*Message::descriptor(), BufferBytes(buffer));
}

// `msg` serialised, to send on a raw call.
template <typename Message>
grpc::ByteBuffer SerializeToBuffer(const Message& msg) {
  grpc::ByteBuffer out;
  bool own_buffer = false;
  grpc::SerializationTraits<Message>::Serialize(msg, &out, &own_buffer).IgnoreError();
  return out;
}

// A synchronous streaming call whose messages the service parses and
// serialises itself, whatever the method's declared shape: registered with
// RegisterRawStream, it reads and writes bytes (a client-streaming method
// writes its one response before returning OK; a server-streaming one reads
// its one request first). gRPC's typed sync reader cannot tell a message
// that did not parse from the end of the stream (Read returns false for
// both), so a client stream read typed would take a malformed message for
// its end.
using RawStream = grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;

// A generated service class `Base` whose sync streaming methods can be made
// RawStream calls (in the constructor of the class that derives from it).
template <typename Base>
class WithRawStreams : public Base {
 protected:
  // Makes `method` of proto service `service` (full names) a RawStream
  // call handled by handle(context, stream) instead of the typed method.
  // Uses gRPC's own mechanism for streamed methods
  // (Service::MarkMethodStreamed, as the generated WithSplitStreamingMethod_
  // classes do): the server then treats the call as bidirectional, which a
  // client cannot tell.
  template <typename Handle>
  void MarkRawStream(const std::string& service, const std::string& method, Handle handle) {
    const google::protobuf::ServiceDescriptor* described =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
    const google::protobuf::MethodDescriptor* found =
        described == nullptr ? nullptr : described->FindMethodByName(method);
    GPR_ASSERT(found != nullptr);
    Base::MarkMethodStreamed(
        found->index(), new grpc::internal::TemplatedBidiStreamingHandler<RawStream, false>(
                            [handle](grpc::ServerContext* context, RawStream* stream) {
                              return handle(context, stream);
                            }));
  }
};

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
    absl::Status parsed = ParseBuffer(*raw_request, &call->request_);
    if (parsed.ok()) {
      handle(&call->request_, &call->response_, static_cast<UnaryCall*>(call));
    } else {
      call->Answer(parsed);
    }
    return call;
  }

  void Finish(const grpc::Status& s) override {
    if (!s.ok()) {
      grpc::ServerUnaryReactor::Finish(s);
      return;
    }
    grpc::ByteBuffer out = SerializeToBuffer(response_);
    raw_response_->Swap(&out);
    grpc::ServerUnaryReactor::Finish(s);
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
