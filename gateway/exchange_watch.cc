// Exchange.Watch: follows a system's records (arrivals in its mailbox,
// state changes of what it submitted) from a cursor, as a callback
// server-streaming call that holds no thread while it waits. The store
// tells it when to look again (Store::changes()).
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gateway/exchange_service.h"
#include "proto/error_details.h"
#include "transport/grpc_status.h"

namespace gatehouse {
namespace {

// Where a watch stands: the last mailbox seq and outbox change_seq sent.
// Encoded "w1.<mailbox>.<outbox>"; opaque to clients.
struct WatchCursor {
  int64_t mailbox = 0;
  int64_t outbox = 0;

  std::string Encode() const { return absl::StrCat("w1.", mailbox, ".", outbox); }
  static absl::StatusOr<WatchCursor> Decode(absl::string_view text) {
    WatchCursor c;
    if (text.empty()) return c;
    std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
    if (parts.size() != 3 || parts[0] != "w1" || !absl::SimpleAtoi(parts[1], &c.mailbox) ||
        !absl::SimpleAtoi(parts[2], &c.outbox) || c.mailbox < 0 || c.outbox < 0) {
      return WithFieldViolation(
          absl::InvalidArgumentError(
              absl::StrCat("cursor '", text.substr(0, 64),
                           "' is not one this gateway issued; give the cursor of the last "
                           "WatchEvent handled, or none to start from what is held")),
          "cursor", "not a cursor this gateway issued");
    }
    return c;
  }
};

// How many rows of each kind one look at the store reads.
constexpr int kBatch = 32;

class WatchReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  // `allowed` is asked before every event whether the caller may still be
  // served (its certificate checked again). `open` counts open watches.
  WatchReactor(Store* store, MailboxReader reader, std::string system, WatchCursor from,
               std::function<absl::Status()> allowed, std::atomic<int>* open)
      : store_(store),
        reader_(std::move(reader)),
        system_(std::move(system)),
        allowed_(std::move(allowed)),
        open_(open),
        loaded_(from) {
    listener_ = store_->changes()->Listen([this] { Pump(); });
    Pump();
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      if (!ok) gone_ = true;
    }
    Pump();
  }
  void OnCancel() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      gone_ = true;
    }
    Pump();
  }
  void OnDone() override {
    store_->changes()->Unlisten(listener_);  // no Pump runs after this
    open_->fetch_sub(1);
    delete this;
  }

 private:
  // Sends the next event if none is being written: the next of what was
  // read, or what the store holds after the cursor, or caught_up once; or
  // finishes the call. Called whenever something may have changed.
  void Pump() {
    std::unique_lock<std::mutex> lock(mu_);
    if (finished_ || writing_) return;
    absl::Status end;
    if (gone_) {
      end = absl::CancelledError("the watch was cancelled");
    } else if (queue_.empty()) {
      end = Load();
    }
    if (end.ok() && queue_.empty()) {
      if (caught_up_sent_) return;  // wait for the store to change
      caught_up_sent_ = true;
      v1::WatchEvent e;
      e.set_cursor(loaded_.Encode());
      e.set_caught_up(true);
      queue_.push_back(std::move(e));
    }
    if (end.ok()) end = allowed_();
    if (!end.ok()) {
      finished_ = true;
      lock.unlock();
      Finish(ToGrpcStatus(end));
      return;
    }
    current_ = SerializeToBuffer(queue_.front());
    queue_.pop_front();
    writing_ = true;
    lock.unlock();
    StartWrite(&current_);
  }

  // Reads what changed after `loaded_` into the queue, each event with the
  // cursor that resumes after it. Under mu_.
  absl::Status Load() {
    absl::StatusOr<std::vector<MailboxEntry>> arrived =
        store_->FetchMailbox(reader_, loaded_.mailbox, kBatch);
    if (!arrived.ok()) return arrived.status();
    absl::StatusOr<std::vector<OutboxEntry>> changed =
        store_->OutboxChanges(system_, loaded_.outbox, kBatch);
    if (!changed.ok()) return changed.status();
    for (const MailboxEntry& m : *arrived) {
      loaded_.mailbox = m.seq;
      v1::WatchEvent e;
      e.set_cursor(loaded_.Encode());
      v1::Record* r = e.mutable_arrived();
      r->set_record_id(m.record.record_id());
      r->set_sender_org(m.record.sender_org());
      r->set_received_unix_ms(m.record.received_unix_ms());
      r->set_streamed(!m.record.envelope_file().empty());
      queue_.push_back(std::move(e));
    }
    for (const OutboxEntry& o : *changed) {
      loaded_.outbox = o.change_seq;
      v1::WatchEvent e;
      e.set_cursor(loaded_.Encode());
      *e.mutable_changed() = ReceiptFor(o);
      queue_.push_back(std::move(e));
    }
    return absl::OkStatus();
  }

  Store* const store_;
  const MailboxReader reader_;
  const std::string system_;
  std::function<absl::Status()> allowed_;
  std::atomic<int>* const open_;
  uint64_t listener_ = 0;

  std::mutex mu_;
  WatchCursor loaded_;               // read up to here
  std::deque<v1::WatchEvent> queue_;  // read, not yet sent
  grpc::ByteBuffer current_;          // being written (serialised)
  bool writing_ = false;
  bool caught_up_sent_ = false;
  bool gone_ = false;  // the caller cancelled or a write failed
  bool finished_ = false;
};

// A call refused before it starts.
class RefusedWatch final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit RefusedWatch(const absl::Status& s) { Finish(ToGrpcStatus(s)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<grpc::ByteBuffer>* ExchangeService::Watch(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw_request) {
  absl::StatusOr<Identity> caller = Authenticate(context);
  if (!caller.ok()) {
    metrics_->CountRefusal("exchange", "UNAUTHENTICATED");
    return new RefusedWatch(caller.status());
  }
  v1::WatchRequest request;
  if (absl::Status parsed = ParseBuffer(*raw_request, &request); !parsed.ok()) {
    return new RefusedWatch(parsed);
  }
  absl::StatusOr<WatchCursor> from = WatchCursor::Decode(request.cursor());
  if (!from.ok()) return new RefusedWatch(from.status());
  if (watching_.fetch_add(1) >= kMaxWatches) {
    watching_.fetch_sub(1);
    return new RefusedWatch(
        RetryLater(absl::ResourceExhaustedError(absl::StrCat(
                       "this gateway already serves ", kMaxWatches,
                       " Watch calls, its limit; retry later or Fetch instead")),
                   "TOO_MANY_WATCHES", absl::Seconds(10)));
  }
  // The caller's certificate, checked again before every event: a watch
  // may outlive a revocation or the certificate's expiry.
  std::function<absl::Status()> allowed = [] { return absl::OkStatus(); };
  if (CallGate* gate = ctx_->client_gate; gate != nullptr) {
    auto property = [context](const char* name) {
      std::vector<grpc::string_ref> v = context->auth_context()->FindPropertyValues(name);
      return v.empty() ? std::string() : std::string(v[0].data(), v[0].size());
    };
    allowed = [gate, pem = property("x509_pem_cert"), chain = property("x509_pem_cert_chain")] {
      return gate->Check(pem, absl::Now(), chain).status();
    };
  }
  return new WatchReactor(store_, ReaderFor(*caller), caller->system, *from, std::move(allowed),
                          &watching_);
}

}  // namespace gatehouse
