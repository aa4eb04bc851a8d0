// The record path's concurrent parts together, without a network: the
// outbox sender's immediate and retried attempts against a stand-in peer that
// answers on its own threads (sometimes failing), the store's async group
// commits, the audit log's group commit and checkpoints, and the opener's
// caches. Run plainly and under ThreadSanitizer (label "tsan").
#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "audit/audit_log.h"
#include "gateway/auditor.h"
#include "gateway/context.h"
#include "gateway/joint_commit.h"
#include "gateway/queued_audit_log.h"
#include "envelope/envelope_codec.h"
#include "envelope/keyset.h"
#include "envelope/opener.h"
#include "gateway/seal_queue.h"
#include "gateway/outbox_sender.h"
#include "gateway/receipt.h"
#include "gateway/store/sqlite_store.h"
#include "gtest/gtest.h"
#include "tests/gateway/test_pki.h"

namespace gatehouse {
namespace {

constexpr int kThreads = 6;
constexpr int kPerThread = 25;

// Answers Deliver and DeliverBatch on a thread of its own after a short
// random delay: one call in six fails whole (UNAVAILABLE), and one record
// in three of the rest (UNAVAILABLE, for it alone); the others succeed with
// receipts signed by the recipient's keys, a batch's together. Counts
// successes per record.
class FakePeer : public PeerClient {
 public:
  // How the peer takes a DeliverBatch of more than one envelope: as a
  // gateway of this version does, as one that has no such call
  // (UNIMPLEMENTED), as one whose message limit it is over
  // (RESOURCE_EXHAUSTED, the call refused whole), or as one that refuses
  // the batch itself with a code that would give a record up
  // (INVALID_ARGUMENT: a smaller batch limit, a proxy's rule).
  enum class Batches { kTaken, kUnimplemented, kTooLarge, kInvalid };

  explicit FakePeer(std::shared_ptr<const envelope::Keyset> keys,
                    Batches batches = Batches::kTaken)
      : PeerClient(v1::TlsConfig(), 1 << 20), keys_(std::move(keys)), batches_(batches) {}
  ~FakePeer() override { Join(); }

  void Deliver(const v1::Organisation& peer, v1::DeliverRequest request, int64_t timeout,
               DeliverCallback done) override {
    v1::DeliverBatchRequest batch;
    batch.add_envelopes(std::move(*request.mutable_envelope()));
    Answer(peer, std::move(batch), timeout,
                 [done = std::move(done)](grpc::Status s, const v1::DeliverBatchResponse& r,
                                          int64_t) {
                   if (s.ok() && r.outcomes(0).code() != 0) {
                     s = grpc::Status(static_cast<grpc::StatusCode>(r.outcomes(0).code()),
                                      r.outcomes(0).message());
                   }
                   done(s, s.ok() ? r.outcomes(0).response() : v1::DeliverResponse(), 0);
                 });
  }

  void DeliverBatch(const v1::Organisation& peer, v1::DeliverBatchRequest request,
                    int64_t timeout, BatchCallback done) override {
    if (batches_ != Batches::kTaken) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++batches_refused_;
      }
      const grpc::Status refusal =
          batches_ == Batches::kUnimplemented
              ? grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no DeliverBatch here")
          : batches_ == Batches::kTooLarge
              ? grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "message too large")
              : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "at most 2 envelopes a batch");
      done(refusal, v1::DeliverBatchResponse(), 0);
      return;
    }
    Answer(peer, std::move(request), timeout, std::move(done));
  }

  // Batches refused whole (kUnimplemented, kTooLarge).
  int batches_refused() {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_refused_;
  }

 private:
  void Answer(const v1::Organisation&, v1::DeliverBatchRequest request, int64_t,
              BatchCallback done) {
    std::lock_guard<std::mutex> lock(mu_);
    const bool fail = rng_() % 6 == 0;
    std::vector<bool> refused;
    for (int i = 0; i < request.envelopes_size(); ++i) refused.push_back(rng_() % 3 == 0);
    const int delay_us = static_cast<int>(rng_() % 2000);
    ++calls_;
    envelopes_ += request.envelopes_size();
    threads_.emplace_back([this, fail, refused, delay_us, request = std::move(request),
                           done = std::move(done)] {
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
      v1::DeliverBatchResponse resp;
      if (fail) {
        done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "peer busy"), resp, 0);
        return;
      }
      std::vector<std::string> receipts;
      for (int i = 0; i < request.envelopes_size(); ++i) {
        v1::DeliverOutcome* o = resp.add_outcomes();
        if (refused[i]) {
          o->set_code(grpc::StatusCode::UNAVAILABLE);
          o->set_message("record busy");
          continue;
        }
        absl::StatusOr<envelope::EnvelopeHeader> h = envelope::PeekHeader(request.envelopes(i));
        v1::DeliveryReceipt r;
        r.set_record_id(h.ok() ? h->labels.record_id : "");
        r.set_sender_org("nhs-trust-a");
        r.set_receiver_org("council-a");
        r.set_envelope_sha256(Sha256(request.envelopes(i)));
        receipts.push_back(r.SerializeAsString());
        std::lock_guard<std::mutex> lock(mu_);
        ++delivered_[r.record_id()];
      }
      if (!receipts.empty()) {
        std::vector<v1::SignedReceipt> signed_receipts = *SignReceipts(*keys_, receipts);
        size_t next = 0;
        for (v1::DeliverOutcome& o : *resp.mutable_outcomes()) {
          if (o.code() == 0) *o.mutable_response()->mutable_receipt() = signed_receipts[next++];
        }
      }
      done(grpc::Status::OK, resp, 0);
    });
  }

 public:
  // Calls answered and envelopes they carried, batches and single Delivers.
  std::pair<int, int> Calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return {calls_, envelopes_};
  }

  void Join() {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      threads.swap(threads_);
    }
    for (std::thread& t : threads) t.join();
  }
  std::map<std::string, int> delivered() {
    std::lock_guard<std::mutex> lock(mu_);
    return delivered_;
  }

 private:
  std::shared_ptr<const envelope::Keyset> keys_;
  std::mutex mu_;
  std::mt19937 rng_{20261129};
  std::vector<std::thread> threads_;
  std::map<std::string, int> delivered_;
  const Batches batches_;
  int calls_ = 0;
  int envelopes_ = 0;
  int batches_refused_ = 0;
};

// The joint commit, but its first `fail` marks of delivery fail (as a
// store or log refusing would): each keeps neither mark nor entry.
class FailingMarks : public JointCommit {
 public:
  FailingMarks(JointCommit* real, int fail) : real_(real), fail_(fail) {}
  void AddToOutbox(v1::AuditEntry submitted, const v1::OutboxRecord& record,
                   const std::string& key, int64_t now_ms, OutboxStore::OutboxDone done) override {
    real_->AddToOutbox(std::move(submitted), record, key, now_ms, std::move(done));
  }
  void AddToMailbox(v1::AuditEntry received, const v1::MailboxRecord& record,
                    const std::string& sha, ReceiptAt receipt_at,
                    MailboxStore::MailboxDone done) override {
    real_->AddToMailbox(std::move(received), record, sha, std::move(receipt_at), std::move(done));
  }
  void MarkDelivered(v1::AuditEntry delivered, const std::string& record_id, int64_t ms,
                     const v1::SignedReceipt& receipt, OutboxStore::WriteDone done) override {
    if (fail_.fetch_sub(1) > 0) {
      done(absl::UnavailableError("the store refuses this write"));
      return;
    }
    real_->MarkDelivered(std::move(delivered), record_id, ms, receipt, std::move(done));
  }

 private:
  JointCommit* const real_;
  std::atomic<int> fail_;
};

// Records submitted from several threads at once, through the joint commit
// and the outbox sender to `peer`: every one delivered, audited SUBMITTED
// and DELIVERED (with its mark, in one write), the outbox empty. Each of the
// first `fail_marks` marks of delivery fails: its record is sent once more
// (after a backoff) and still audited DELIVERED once; otherwise every record
// is sent once.
void SubmitFromManyThreads(FakePeer::Batches batches, std::pair<int, int>* calls_out,
                           int* refused_out, int fail_marks = 0) {
  const std::string dir = MakeTempDir();
  const absl::Time now = absl::Now();
  auto sender_keys = std::make_shared<const envelope::Keyset>(
      *envelope::Keyset::Generate("nhs-trust-a", envelope::Keyset::Kind::kGateway, now));
  auto council_keys = std::make_shared<const envelope::Keyset>(
      *envelope::Keyset::Generate("council-a", envelope::Keyset::Kind::kGateway, now));
  v1::Directory directory;
  *directory.add_organisations() = council_keys->PublicEntry();
  directory.mutable_organisations(0)->set_gateway_address("127.0.0.1:1");
  DirectoryCache cache(directory);

  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir + "/store.db");
  ASSERT_TRUE(store.ok()) << store.status();
  audit::AuditLogOptions options;
  options.signer = std::make_shared<const audit::NoteSigner>(
      *audit::NoteSigner::Generate("test/audit", audit::kSigTypeEd25519));
  options.checkpoint_interval = absl::Milliseconds(5);
  absl::StatusOr<std::unique_ptr<audit::AuditLog>> file_log =
      audit::AuditLog::Open(dir + "/audit", options);
  ASSERT_TRUE(file_log.ok()) << file_log.status();
  // Entries numbered with their rows in the store (one commit a record).
  absl::StatusOr<std::unique_ptr<QueuedAuditLog>> log =
      QueuedAuditLog::Open(store->get(), *std::move(file_log));
  ASSERT_TRUE(log.ok()) << log.status();
  Metrics metrics;
  Auditor auditor(log->get(), "nhs-trust-a", &metrics.audit_append_seconds());
  std::unique_ptr<JointCommit> joint = MakeJointCommit(store->get(), log->get(), &auditor);
  ASSERT_NE(joint, nullptr);
  FakePeer peer(council_keys, batches);
  v1::GatewayConfig config;
  config.set_org_id("nhs-trust-a");
  config.mutable_retry()->set_initial_backoff_ms(5);
  config.mutable_retry()->set_max_backoff_ms(20);
  config.mutable_retry()->set_deliver_timeout_ms(1000);
  GatewayContext ctx;
  ctx.config = &config;
  ctx.store = store->get();
  ctx.directory = &cache;
  ctx.auditor = &auditor;
  ctx.metrics = &metrics;
  ctx.peers = &peer;
  FailingMarks marks(joint.get(), fail_marks);
  ctx.joint = &marks;
  auto sender = std::make_unique<OutboxSender>(&ctx);
  sender->Start();

  // The gateway's sealing thread, fed by every thread: batches form.
  absl::StatusOr<std::unique_ptr<SealQueue>> sealer = SealQueue::Create(sender_keys);
  absl::StatusOr<std::unique_ptr<envelope::Opener>> opener = envelope::Opener::Create(council_keys);
  ASSERT_TRUE(sealer.ok() && opener.ok());
  const envelope::RecipientKey to = *envelope::RecipientKeyFromDirectory(directory.organisations(0));
  const std::vector<envelope::VerifyingKey> from = sender_keys->VerifyingKeys();

  std::atomic<int> answered{0}, opened{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        envelope::RecordLabels l;
        l.record_id = absl::StrCat("r", t, "-", i);
        l.sender_org = "nhs-trust-a";
        l.recipient_org = "council-a";
        l.record_type = "care_plan";
        l.classification = "OFFICIAL";
        l.created_unix_ms = 1;
        v1::OutboxRecord rec;
        rec.set_record_id(l.record_id);
        rec.set_sender_org("nhs-trust-a");
        rec.set_sender_system("ehr");
        rec.mutable_labels()->set_recipient_org("council-a");
        std::promise<absl::StatusOr<std::string>> sealed;
        (*sealer)->Seal(l, to, "payload",
                        [&sealed](absl::StatusOr<std::string> e) { sealed.set_value(std::move(e)); });
        absl::StatusOr<std::string> envelope = sealed.get_future().get();
        ASSERT_TRUE(envelope.ok()) << envelope.status();
        rec.set_envelope(*std::move(envelope));
        // The receiving side's opener, shared by every thread.
        if ((*opener)->Open(rec.envelope(), {"nhs-trust-a", "council-a"}, from).ok()) ++opened;
        v1::AuditEntry e;
        e.set_event(v1::AUDIT_EVENT_SUBMITTED);
        e.set_record_id(l.record_id);
        std::promise<absl::StatusOr<OutboxEntry>> added;
        joint->AddToOutbox(e, rec, "", 1, [&added](absl::StatusOr<OutboxEntry> a, bool) {
          added.set_value(std::move(a));
        });
        absl::StatusOr<OutboxEntry> entry = added.get_future().get();
        ASSERT_TRUE(entry.ok()) << entry.status();
        sender->DeliverNow(*entry, [&](const OutboxEntry&) { ++answered; });
        if (i % 10 == 0) (void)(*log)->file_log().CheckpointNow();
      }
    });
  }
  for (std::thread& th : threads) th.join();
  const int total = kThreads * kPerThread;
  for (int i = 0; i < 300 && (*store)->OutboxDepth().value_or(-1) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  sender->Stop();
  peer.Join();
  EXPECT_EQ(answered.load(), total);
  EXPECT_EQ(opened.load(), total);
  EXPECT_EQ((*sealer)->records(), static_cast<uint64_t>(total));
  EXPECT_EQ(*(*store)->OutboxDepth(), 0);
  std::map<std::string, int> delivered = peer.delivered();
  EXPECT_EQ(static_cast<int>(delivered.size()), total);
  int sent = 0;
  for (const auto& [id, n] : delivered) {
    sent += n;
    if (fail_marks == 0) {
      EXPECT_EQ(n, 1) << id;
    }
  }
  EXPECT_EQ(sent, total + fail_marks);  // one more send for each failed mark
  *calls_out = peer.Calls();
  *refused_out = peer.batches_refused();
  // Every record audited SUBMITTED, and DELIVERED once its receipt checked.
  for (int i = 0; i < 300 && (*log)->Size() < static_cast<uint64_t>(2 * total); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ((*log)->Size(), static_cast<uint64_t>(2 * total));
  ASSERT_TRUE((*log)->Close().ok());
  sender.reset();
  store->reset();
  std::filesystem::remove_all(dir);
}

TEST(RecordPathConcurrencyTest, EveryRecordIsDeliveredOnceAndAuditedUnderConcurrency) {
  std::pair<int, int> calls;
  int refused = 0;
  SubmitFromManyThreads(FakePeer::Batches::kTaken, &calls, &refused);
  // Records waiting on a busy link went together.
  EXPECT_LT(calls.first, calls.second);
  EXPECT_EQ(refused, 0);
}

// A mark of delivery that fails keeps neither the mark nor its DELIVERED
// entry and backs the record off: it is sent again, marked, and audited
// DELIVERED once (the log holds exactly two entries a record).
TEST(RecordPathConcurrencyTest, AFailedMarkOfDeliverySendsTheRecordAgainAndAuditsItOnce) {
  std::pair<int, int> calls;
  int refused = 0;
  SubmitFromManyThreads(FakePeer::Batches::kTaken, &calls, &refused, /*fail_marks=*/25);
}

// A peer with no DeliverBatch (an older gateway), one whose message limit a
// batch is over, or one that refuses the batch with a code that would give a
// record up, refuses the call whole: its records go again by Deliver, and
// every one is delivered once (SubmitFromManyThreads checks): none is given
// up as rejected for the batch's refusal.
TEST(RecordPathConcurrencyTest, APeerThatRefusesBatchesWholeGetsEveryRecordByDeliver) {
  for (FakePeer::Batches b : {FakePeer::Batches::kUnimplemented, FakePeer::Batches::kTooLarge,
                              FakePeer::Batches::kInvalid}) {
    std::pair<int, int> calls;
    int refused = 0;
    SubmitFromManyThreads(b, &calls, &refused);
    EXPECT_GT(refused, 0) << "no batch was tried";
  }
}

}  // namespace
}  // namespace gatehouse
