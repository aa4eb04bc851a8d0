// SealQueue: records queued together are signed as one batch; each envelope
// still opens on its own; a record the sealer refuses gets its error and
// the rest of its batch is sealed; the destructor seals what is queued.
#include "gateway/seal_queue.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "envelope/opener.h"
#include "gtest/gtest.h"
#include "tests/envelope/test_util.h"

namespace gatehouse {
namespace {

using envelope::testing::Labels;
using envelope::testing::NewKeyset;

class SealQueueTest : public ::testing::Test {
 protected:
  SealQueueTest()
      : health_(NewKeyset("nhs-trust-a")),
        council_(NewKeyset("council-a")),
        to_(*council_->PrimaryRecipientKey()),
        opener_(*envelope::Opener::Create(council_)) {}

  // Opens an envelope as the council would; the record id it carries.
  absl::StatusOr<std::string> OpenedId(const std::string& sealed, std::string* payload) {
    absl::StatusOr<envelope::OpenedRecord> r =
        opener_->Open(sealed, {"nhs-trust-a", "council-a"}, health_->VerifyingKeys());
    if (!r.ok()) return r.status();
    if (r->header.mode != envelope::EnvelopeMode::kBatch) {
      return absl::InternalError("not sealed in batch mode");
    }
    *payload = r->payload;
    return r->header.labels.record_id;
  }

  std::shared_ptr<envelope::Keyset> health_, council_;
  envelope::RecipientKey to_;
  std::unique_ptr<envelope::Opener> opener_;
};

TEST_F(SealQueueTest, RecordsQueuedWhileABatchIsSealedAreSignedTogether) {
  absl::StatusOr<std::unique_ptr<SealQueue>> q = SealQueue::Create(health_);
  ASSERT_TRUE(q.ok()) << q.status();
  // The first record's callback holds the sealing thread until 100 more
  // are queued, so those 100 form one batch.
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::vector<absl::StatusOr<std::string>> sealed(101, absl::UnknownError("not called"));
  std::atomic<int> called{0};
  (*q)->Seal(Labels("first"), to_, "payload-first", [&](absl::StatusOr<std::string> e) {
    sealed[0] = std::move(e);
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
    ++called;
  });
  for (int i = 1; i <= 100; ++i) {
    (*q)->Seal(Labels(absl::StrCat("r", i)), to_, absl::StrCat("payload-", i),
               [&, i](absl::StatusOr<std::string> e) {
                 sealed[i] = std::move(e);
                 ++called;
               });
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  q->reset();  // seals what is queued, then stops
  ASSERT_EQ(called.load(), 101);

  for (int i = 0; i <= 100; ++i) {
    ASSERT_TRUE(sealed[i].ok()) << i << ": " << sealed[i].status();
    std::string payload;
    absl::StatusOr<std::string> id = OpenedId(*sealed[i], &payload);
    ASSERT_TRUE(id.ok()) << i << ": " << id.status();
    EXPECT_EQ(*id, i == 0 ? "first" : absl::StrCat("r", i));
    EXPECT_EQ(payload, i == 0 ? "payload-first" : absl::StrCat("payload-", i));
  }
}

TEST_F(SealQueueTest, CountsBatchesAndRecords) {
  absl::StatusOr<std::unique_ptr<SealQueue>> q = SealQueue::Create(health_, 4);
  ASSERT_TRUE(q.ok()) << q.status();
  std::mutex mu;
  std::condition_variable cv;
  bool holding = false, release = false;
  (*q)->Seal(Labels("hold"), to_, "x", [&](absl::StatusOr<std::string>) {
    std::unique_lock<std::mutex> lock(mu);
    holding = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  });
  {
    // The sealing thread is inside the first batch's callback.
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return holding; });
  }
  std::atomic<int> ok{0};
  for (int i = 0; i < 10; ++i) {
    (*q)->Seal(Labels(absl::StrCat("r", i)), to_, "x",
               [&](absl::StatusOr<std::string> e) { ok += e.ok(); });
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  SealQueue* raw = q->get();
  for (int i = 0; i < 500 && raw->records() < 11; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // 1 alone, then 10 queued behind it in batches of at most 4: 4, 4, 2.
  EXPECT_EQ(raw->records(), 11u);
  EXPECT_EQ(raw->batches(), 4u);
  q->reset();
  EXPECT_EQ(ok.load(), 10);
}

TEST_F(SealQueueTest, ARefusedRecordGetsItsErrorAndTheRestOfTheBatchIsSealed) {
  absl::StatusOr<std::unique_ptr<SealQueue>> q = SealQueue::Create(health_);
  ASSERT_TRUE(q.ok()) << q.status();
  envelope::RecordLabels bad = Labels("bad");
  bad.record_type.clear();  // required
  absl::StatusOr<std::string> good1 = absl::UnknownError("not called");
  absl::StatusOr<std::string> refused = absl::UnknownError("not called");
  absl::StatusOr<std::string> good2 = absl::UnknownError("not called");
  (*q)->Seal(Labels("good-1"), to_, "one", [&](absl::StatusOr<std::string> e) { good1 = e; });
  (*q)->Seal(bad, to_, "bad", [&](absl::StatusOr<std::string> e) { refused = e; });
  (*q)->Seal(Labels("good-2"), to_, "two", [&](absl::StatusOr<std::string> e) { good2 = e; });
  q->reset();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  ASSERT_TRUE(good1.ok()) << good1.status();
  ASSERT_TRUE(good2.ok()) << good2.status();
  std::string payload;
  EXPECT_EQ(*OpenedId(*good1, &payload), "good-1");
  EXPECT_EQ(payload, "one");
  EXPECT_EQ(*OpenedId(*good2, &payload), "good-2");
  EXPECT_EQ(payload, "two");
}

TEST_F(SealQueueTest, AnEnvelopeChangedAfterSealingDoesNotOpen) {
  absl::StatusOr<std::unique_ptr<SealQueue>> q = SealQueue::Create(health_);
  ASSERT_TRUE(q.ok()) << q.status();
  std::vector<std::string> sealed(2);
  for (int i = 0; i < 2; ++i) {
    (*q)->Seal(Labels(absl::StrCat("r", i)), to_, "p",
               [&sealed, i](absl::StatusOr<std::string> e) { sealed[i] = *e; });
  }
  q->reset();
  ASSERT_FALSE(sealed[1].empty());
  std::string payload;
  ASSERT_TRUE(OpenedId(sealed[0], &payload).ok());
  // Every byte of the second envelope matters, though the first of its
  // batch (if it shared one) verified and is remembered by the opener.
  for (size_t at : {size_t{0}, sealed[1].size() / 3, sealed[1].size() / 2, sealed[1].size() - 1}) {
    std::string flipped = sealed[1];
    flipped[at] ^= 0x01;
    EXPECT_FALSE(OpenedId(flipped, &payload).ok()) << "flip at " << at;
  }
}

TEST_F(SealQueueTest, AfterStopARecordIsRefusedAtOnceAndTheCountsStay) {
  absl::StatusOr<std::unique_ptr<SealQueue>> q = SealQueue::Create(health_);
  ASSERT_TRUE(q.ok()) << q.status();
  absl::StatusOr<std::string> before = absl::UnknownError("not called");
  (*q)->Seal(Labels("before"), to_, "p", [&](absl::StatusOr<std::string> e) { before = e; });
  (*q)->Stop();
  ASSERT_TRUE(before.ok()) << before.status();  // queued before Stop: sealed
  absl::StatusOr<std::string> after = absl::UnknownError("not called");
  (*q)->Seal(Labels("after"), to_, "p", [&](absl::StatusOr<std::string> e) { after = e; });
  EXPECT_EQ(after.status().code(), absl::StatusCode::kUnavailable) << after.status();
  EXPECT_EQ((*q)->records(), 1u);
  (*q)->Stop();  // again: nothing happens
}

TEST(SealQueueCreateTest, RefusesABatchSizeOutOfRange) {
  auto keys = NewKeyset("nhs-trust-a");
  EXPECT_EQ(SealQueue::Create(keys, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealQueue::Create(keys, 5000).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gatehouse
