// The gateway's durable state: the outbox (records accepted from our systems,
// until a peer gateway acknowledges them) and the mailbox (records delivered
// to us, until our systems acknowledge them).
//
// Small interfaces, so that a shared store (PostgreSQL, for several
// replicas of one gateway) is a second implementation, not a rewrite. Every
// mutating call returns only once its change is durable. On error nothing
// is changed.
//
// Store is all of them on one storage, what the daemon holds:
//   OutboxStore          outbox_store.h           records we send
//   IdempotencyStore     idempotency_store.h      a retried Submit finds its record
//   MailboxStore         mailbox_store.h          records delivered to us
//   PeerCheckpointStore  peer_checkpoint_store.h  peers' checkpoints we cosigned
//   StoreStatsSource     store_stats.h            commit counters, for metrics
// A part that needs one of them takes that one. A synchronous write of any
// of them may be made from the `done` of an asynchronous one (it is
// committed at once, on its own). Each has a contract test suite that every
// implementation passes (tests/gateway/store/; README.md says how).
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<Store> store, SqliteStore::Open(path));
//   OutboxStore& outbox = *store;  // all that a part which only sends needs
//
// Implementations are thread-safe.
#ifndef GATEHOUSE_GATEWAY_STORE_STORE_H_
#define GATEHOUSE_GATEWAY_STORE_STORE_H_

#include "common/change_signal.h"
#include "gateway/store/idempotency_store.h"
#include "gateway/store/mailbox_reader.h"
#include "gateway/store/mailbox_store.h"
#include "gateway/store/outbox_store.h"
#include "gateway/store/peer_checkpoint_store.h"
#include "gateway/store/store_stats.h"

namespace gatehouse {

class Store : public OutboxStore,
              public IdempotencyStore,
              public MailboxStore,
              public PeerCheckpointStore,
              public StoreStatsSource {
 public:
  ~Store() override = default;
  // Notified after every committed write (on the committing thread), so
  // that a caller following the store (Watch) looks again.
  virtual ChangeSignal* changes() = 0;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_STORE_STORE_H_
