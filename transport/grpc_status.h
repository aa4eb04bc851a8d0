// absl::Status → grpc::Status, keeping the canonical code and the message
// and sending the richer error model's details (proto/error_details.h:
// ErrorInfo always, BadRequest and RetryInfo where attached) as
// grpc-status-details-bin; and the names of gRPC's codes.
#ifndef GATEHOUSE_TRANSPORT_GRPC_STATUS_H_
#define GATEHOUSE_TRANSPORT_GRPC_STATUS_H_

#include <string>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "proto/error_details.h"

namespace gatehouse {

// "PERMISSION_DENIED" for grpc::StatusCode::PERMISSION_DENIED, and so on.
const char* GrpcCodeName(grpc::StatusCode code);

inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()),
                      ToRpcStatus(s).SerializeAsString());
}

// Answers a unary callback call at once with `s`; returns its reactor.
inline grpc::ServerUnaryReactor* AnswerNow(grpc::CallbackServerContext* context,
                                           const absl::Status& s) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

}  // namespace gatehouse

#endif  // GATEHOUSE_TRANSPORT_GRPC_STATUS_H_
