// The gateway's store as its config names it: PostgreSQL (store.postgres;
// gateway/store/postgres/) or SQLite at <dataDir>/gatehouse.db.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(config));
#ifndef GATEHOUSE_GATEWAY_OPEN_STORE_H_
#define GATEHOUSE_GATEWAY_OPEN_STORE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "gatehouse/v1/config.pb.h"
#include "gateway/store/store.h"

namespace gatehouse {

// Opens (creating or migrating) the store of `config` (defaults filled in).
// The error is the store's, prefixed with "store.postgres: " for
// PostgreSQL; InvalidArgument if store.postgres.deliveryLeaseSeconds does
// not exceed retry.deliverTimeoutMs.
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const v1::GatewayConfig& config);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_OPEN_STORE_H_
