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

// Answers Deliver on a thread of its own after a short random delay: one in
// three fails (UNAVAILABLE), the rest succeed with a receipt signed by the
// recipient's keys. Counts successes per record.
class FakePeer : public PeerClient {
 public:
  explicit FakePeer(std::shared_ptr<const envelope::Keyset> keys)
      : PeerClient(v1::TlsConfig(), 1 << 20), keys_(std::move(keys)) {}
  ~FakePeer() override { Join(); }

  void Deliver(const v1::Organisation&, v1::DeliverRequest request, int64_t,
               DeliverCallback done) override {
    std::lock_guard<std::mutex> lock(mu_);
    const bool fail = rng_() % 3 == 0;
    const int delay_us = static_cast<int>(rng_() % 2000);
    threads_.emplace_back([this, fail, delay_us, request = std::move(request),
                           done = std::move(done)] {
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
      if (fail) {
        done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "peer busy"), v1::DeliverResponse(), 0);
        return;
      }
      absl::StatusOr<envelope::EnvelopeHeader> h = envelope::PeekHeader(request.envelope());
      v1::DeliveryReceipt r;
      r.set_record_id(h.ok() ? h->labels.record_id : "");
      r.set_sender_org("nhs-trust-a");
      r.set_receiver_org("council-a");
      r.set_envelope_sha256(Sha256(request.envelope()));
      v1::DeliverResponse resp;
      *resp.mutable_receipt() = *SignReceipt(*keys_, r);
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++delivered_[r.record_id()];
      }
      done(grpc::Status::OK, resp, 0);
    });
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
};

TEST(RecordPathConcurrencyTest, EveryRecordIsDeliveredOnceAndAuditedUnderConcurrency) {
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
  FakePeer peer(council_keys);
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
  for (const auto& [id, n] : delivered) EXPECT_EQ(n, 1) << id;
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

}  // namespace
}  // namespace gatehouse
