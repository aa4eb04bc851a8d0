// The Exchange API for an organisation's own systems (see exchange.proto).
// Every call first authenticates the caller as a system of this gateway's
// organisation from its certificate; claims in a request that differ from
// the certificate are PermissionDenied and change nothing.
//
// Thread-safe: gRPC calls it from many threads.
#ifndef GATEHOUSE_GATEWAY_EXCHANGE_SERVICE_H_
#define GATEHOUSE_GATEWAY_EXCHANGE_SERVICE_H_

#include <atomic>

#include "absl/status/statusor.h"
#include "gatehouse/v1/config.pb.h"
#include "gatehouse/v1/exchange.grpc.pb.h"
#include "gateway/claims.h"
#include "gateway/context.h"
#include "gateway/outbound_commit.h"
#include "gateway/outbox_sender.h"
#include "gateway/rate_limiter.h"
#include "gateway/record/outbound.h"
#include "gateway/refusal_reporter.h"
#include "transport/identity.h"
#include "transport/parsed_call.h"

namespace gatehouse {

// Submit, Fetch, Ack, Status and Watch use the callback API (a Watch may
// stay open for hours and holds no thread); SubmitStream and FetchStream
// are synchronous (each has a thread of gRPC's while it runs): they are for
// large records, few at a time, and each reads or writes a file. Every
// method is registered raw and parses its messages itself
// (transport/parsed_call.h), so that one that does not parse is answered
// INVALID_ARGUMENT rather than gRPC's empty UNIMPLEMENTED (or, in a client
// stream, taken for its end).
using ExchangeServiceBase =
    v1::Exchange::WithRawCallbackMethod_Submit<v1::Exchange::WithRawCallbackMethod_Fetch<
        v1::Exchange::WithRawCallbackMethod_Ack<v1::Exchange::WithRawCallbackMethod_Status<
            v1::Exchange::WithRawCallbackMethod_Watch<v1::Exchange::Service>>>>>;

class ExchangeService final : public WithRawStreams<ExchangeServiceBase> {
 public:
  ExchangeService(const GatewayContext* ctx, OutboxSender* sender)
      : ctx_(ctx),
        config_(ctx->config),
        store_(ctx->store),
        directory_(ctx->directory),
        sender_(sender),
        metrics_(ctx->metrics),
        commit_(ctx->auditor, ctx->store, ctx->joint),
        limiter_(config_->submit_rate_per_system(), config_->submit_burst_per_system()),
        listener_limiter_(config_->listener_rate(), config_->listener_burst()) {
    // Parsed here, so that a message that does not parse is refused, never
    // taken for the end of the stream (transport/parsed_call.h).
    MarkRawStream("gatehouse.v1.Exchange", "SubmitStream",
                  [this](grpc::ServerContext* c, RawStream* s) { return SubmitStream(c, s); });
    MarkRawStream("gatehouse.v1.Exchange", "FetchStream",
                  [this](grpc::ServerContext* c, RawStream* s) { return FetchStream(c, s); });
  }

  // Each parses its request and runs the handler below (On...).
  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Fetch(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Ack(grpc::CallbackServerContext* context,
                                const grpc::ByteBuffer* request,
                                grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;
  // SubmitStream (SubmitChunk messages in, one SubmitResponse out) and
  // FetchStream (one FetchStreamRequest in, FetchChunk messages out), as
  // RawStream calls: gateway/exchange_stream.cc.
  grpc::Status SubmitStream(grpc::ServerContext* context, RawStream* stream);
  grpc::Status FetchStream(grpc::ServerContext* context, RawStream* stream);
  // gateway/exchange_watch.cc.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Watch(grpc::CallbackServerContext* context,
                                                    const grpc::ByteBuffer* request) override;

  // Most Watch calls open at once on this gateway; another is refused
  // (ResourceExhausted) until one ends.
  static constexpr int kMaxWatches = 1024;

 private:
  using Finisher = std::function<void(const grpc::Status&)>;
  // The unary calls, on parsed requests; each finishes `call`, now or
  // later.
  void OnSubmit(grpc::CallbackServerContext* context, const v1::SubmitRequest* request,
                v1::SubmitResponse* response, UnaryCall* call);
  void OnFetch(grpc::CallbackServerContext* context, const v1::FetchRequest* request,
               v1::FetchResponse* response, UnaryCall* call);
  void OnAck(grpc::CallbackServerContext* context, const v1::AckRequest* request,
             v1::AckResponse* response, UnaryCall* call);
  void OnStatus(grpc::CallbackServerContext* context, const v1::StatusRequest* request,
                v1::StatusResponse* response, UnaryCall* call);
  // Notes, without waiting, that `records` were fetched (audited FETCHED),
  // for their senders to learn (state FETCHED).
  void NoteFetched(std::vector<MailboxKey> records);
  // The caller, if it is a system of our organisation.
  absl::StatusOr<Identity> Authenticate(grpc::ServerContextBase* context) const;
  // The caller as a reader of the mailbox: its own records, and those
  // addressed to the whole organisation if config names it to take them.
  MailboxReader ReaderFor(const Identity& caller) const {
    return MailboxReader::Of(caller.system, config_->org_recipient_systems());
  }
  // Refuses with ResourceExhausted if the caller is over its rate or the
  // outbox is full; changes nothing.
  absl::Status Admit(const Identity& caller, grpc::ServerContextBase* context);
  // A Submit repeating the caller's idempotency key: the first record's
  // receipt, marked duplicate, into `response`; true if so.
  bool AnswerRepeat(const Identity& caller, const std::string& key,
                    v1::SubmitResponse* response);
  // Audits what Ack stored (ACKED each), removes spool files no longer
  // needed, and finishes `call` once the entries are durable.
  void AuditAcked(const std::vector<MailboxAcked>& acked, const std::string& system,
                  UnaryCall* call, v1::AckResponse* response);
  // Plans one checked Submit against `trust` (gateway/record/outbound.h)
  // under a new record id; notes a differing shadow decision.
  OutboundDecision Plan(const TrustSnapshot& trust, const Identity& caller,
                        const v1::SubmitRequest& request, bool streamed);
  // Seals a planned Submit, audits it, makes it durable in the outbox and
  // delivers it, each step on the thread that finished the one before;
  // finishes `call` when the record is delivered or queued for retry.
  void Accept(UnaryCall* call, const Identity& caller, const v1::SubmitRequest* request,
              v1::SubmitResponse* response, absl::Time start, OutboundPlan plan,
              std::shared_ptr<void> claim, const TrustSnapshot& trust);
  // Claims the caller's idempotency key `key` (if any) until the token is
  // dropped: Unavailable while another Submit with it is in progress, which
  // would otherwise be sealed and audited SUBMITTED as a second record.
  absl::StatusOr<std::shared_ptr<void>> ClaimIdempotencyKey(const Identity& caller,
                                                            const std::string& key);
  // The steps after sealing: audit, outbox, delivery; then `finish`.
  void Audit(Finisher finish, const std::string& sender, const std::string& key,
             v1::SubmitResponse* response, absl::Time start, v1::AuditEntry entry,
             v1::OutboxRecord record);
  // SubmitStream up to its response: checks the caller and the first
  // message, then AcceptStream.
  grpc::Status ReceiveStream(grpc::ServerContext* context, RawStream* reader,
                             v1::SubmitResponse* response);
  // SubmitStream after its first message: seals the payload as it arrives
  // into the spool, then audits, queues and delivers like Submit.
  absl::Status AcceptStream(const Identity& caller, const v1::SubmitRequest& head,
                            RawStream* reader,
                            grpc::ServerContext* context, v1::SubmitResponse* response,
                            absl::Time start, const TrustSnapshot& trust);
  // Reports a refused Submit (gateway/refusal_reporter.h); `done` gets the
  // status to answer once the refusal is audited.
  void Refuse(const Refusal& refusal, const Identity& caller, const v1::SubmitRequest& request,
              const std::string& record_id, const TrustSnapshot& trust,
              RefusalReporter::Done done);

  const GatewayContext* const ctx_;
  const v1::GatewayConfig* const config_;
  Store* const store_;
  const DirectoryCache* const directory_;
  OutboxSender* const sender_;
  Metrics* const metrics_;
  OutboundCommit commit_;  // audit, then the outbox
  Claims submitting_;  // idempotency keys of Submits in progress, by (system, key)
  RateLimiter limiter_;           // Submits per system
  RateLimiter listener_limiter_;  // Submits on the client port, all systems
  std::atomic<int> watching_{0};  // Watch calls open
};

// The client-facing receipt for an outbox entry.
v1::Receipt ReceiptFor(const OutboxEntry& entry);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_EXCHANGE_SERVICE_H_
