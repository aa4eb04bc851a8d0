// Telling a sending system that the recipient's systems fetched and took
// its record.
//
// The receiving gateway knows when its systems fetch and acknowledge a
// record; the sending gateway asks it (Peer.GetAcknowledged, answered in
// acknowledgements.cc) for the records it delivered there and has not yet
// heard were acknowledged, every config.acknowledgementPollMs, those asked
// about longest ago first, and marks each fetched one FETCHED and each
// acknowledged one ACKNOWLEDGED (changes that Watch and Status report). Asking is the sender's job, so nothing is lost
// when either gateway is down: the next round asks again. A peer answers
// only about records the asking organisation delivered.
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_ACKNOWLEDGEMENTS_H_
#define GATEHOUSE_GATEWAY_ACKNOWLEDGEMENTS_H_

#include "common/periodic.h"
#include "gateway/context.h"

namespace gatehouse {

class AcknowledgementPoller {
 public:
  explicit AcknowledgementPoller(const GatewayContext* ctx) : ctx_(ctx) {}
  ~AcknowledgementPoller() { Stop(); }

  void Start();
  void Stop() { rounds_.Stop(); }
  // One round now: asks the recipients of up to kBatch delivered records.
  void RunOnce();

  static constexpr int kBatch = 256;  // also the most ids one request carries

 private:
  const GatewayContext* const ctx_;
  Periodic rounds_;
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_ACKNOWLEDGEMENTS_H_
