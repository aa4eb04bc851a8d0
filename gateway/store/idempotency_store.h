// IdempotencyStore: finds the outbox entry a system's idempotency key
// already names, so that a retried Submit is answered with the record it
// made the first time instead of making a second.
//
// Keys are per submitting system: two systems may use the same key for
// different records. Keys are written with the entry they name, by
// OutboxStore::AddToOutbox (which also refuses a key already used, in the
// same change); this interface only reads them.
//
// Errors: Unavailable if the storage cannot be read (try again); DataLoss
// if the stored entry does not parse.
//
// Example:
//   absl::StatusOr<OutboxEntry> seen = store.FindByIdempotencyKey(caller.system, key);
//   if (seen.ok()) return Answer(*seen);                // a retry
//   if (!absl::IsNotFound(seen.status())) return seen.status();
//
// Implementations are thread-safe.
#ifndef GATEHOUSE_GATEWAY_STORE_IDEMPOTENCY_STORE_H_
#define GATEHOUSE_GATEWAY_STORE_IDEMPOTENCY_STORE_H_

#include <string>

#include "absl/status/statusor.h"
#include "gateway/store/outbox_store.h"

namespace gatehouse {

class IdempotencyStore {
 public:
  virtual ~IdempotencyStore() = default;

  // The outbox entry already holding `idempotency_key` for `system`, or NotFound.
  virtual absl::StatusOr<OutboxEntry> FindByIdempotencyKey(const std::string& system,
                                                           const std::string& key) = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_STORE_IDEMPOTENCY_STORE_H_
