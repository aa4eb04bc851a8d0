// The gateway's store and audit log as its config names them: PostgreSQL
// (store.postgres; gateway/store/postgres/, audit/postgres/), or SQLite at
// <dataDir>/gatehouse.db and the file log in audit.dir.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore(config));
//   ASSIGN_OR_RETURN(std::unique_ptr<audit::AuditTrail> log,
//                    OpenAuditLog(config, store.get(), signer));
#ifndef GATEHOUSE_GATEWAY_OPEN_STORE_H_
#define GATEHOUSE_GATEWAY_OPEN_STORE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "audit/audit_trail.h"
#include "audit/note.h"
#include "gatehouse/v1/config.pb.h"
#include "gateway/store/store.h"

namespace gatehouse {

// Opens (creating or migrating) the store of `config` (defaults filled in).
// The error is the store's, prefixed with "store.postgres: " for
// PostgreSQL; InvalidArgument if store.postgres.deliveryLeaseSeconds does
// not exceed retry.deliverTimeoutMs.
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const v1::GatewayConfig& config);

// Opens the audit log of `config`, signing checkpoints with `signer`: with a
// PostgreSQL store, the organisation's one log in that database (shared by
// every replica; `store` must outlive it), else the file log in audit.dir.
// The log's error, prefixed with where it is.
absl::StatusOr<std::unique_ptr<audit::AuditTrail>> OpenAuditLog(
    const v1::GatewayConfig& config, Store* store, std::shared_ptr<const audit::NoteSigner> signer);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_OPEN_STORE_H_
