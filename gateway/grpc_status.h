// absl::Status → grpc::Status, keeping the canonical code and the message.
#ifndef GATEHOUSE_GATEWAY_GRPC_STATUS_H_
#define GATEHOUSE_GATEWAY_GRPC_STATUS_H_

#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace gatehouse {

inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_GRPC_STATUS_H_
