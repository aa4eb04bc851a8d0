// Delivery receipts signed alone and in batches (gateway/receipt.h): each
// batch receipt verifies alone with its path, and every change to what it
// says, where it sits or who signed it is refused.
#include "gateway/receipt.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "envelope/keyset.h"
#include "gtest/gtest.h"

namespace gatehouse {
namespace {

class ReceiptTest : public ::testing::Test {
 protected:
  ReceiptTest()
      : council_(*envelope::Keyset::Generate("council-a", envelope::Keyset::Kind::kGateway,
                                             absl::Now())),
        other_(*envelope::Keyset::Generate("council-b", envelope::Keyset::Kind::kGateway,
                                           absl::Now())),
        listed_(council_.PublicEntry()) {}

  static std::vector<std::string> Receipts(int n, const std::string& receiver = "council-a") {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
      v1::DeliveryReceipt r;
      r.set_record_id(absl::StrCat("r", i));
      r.set_sender_org("nhs-trust-a");
      r.set_receiver_org(receiver);
      r.set_envelope_sha256(Sha256(absl::StrCat("envelope ", i)));
      r.set_audit_index(100 + i);
      out.push_back(r.SerializeAsString());
    }
    return out;
  }

  absl::StatusCode Verify(const v1::SignedReceipt& s, VerifiedBatches* seen = nullptr) {
    return VerifyReceipt(s, listed_, seen).status().code();
  }

  envelope::Keyset council_;
  envelope::Keyset other_;
  v1::Organisation listed_;  // council-a as the directory lists it
};

TEST_F(ReceiptTest, EveryReceiptOfEveryBatchSizeVerifiesAloneAndSaysWhatWasSigned) {
  for (int n : {2, 3, 4, 5, 7, 8, 9, 16, 17, 256}) {
    std::vector<std::string> receipts = Receipts(n);
    absl::StatusOr<std::vector<v1::SignedReceipt>> signed_receipts =
        SignReceipts(council_, receipts);
    ASSERT_TRUE(signed_receipts.ok()) << signed_receipts.status();
    ASSERT_EQ(signed_receipts->size(), receipts.size());
    for (int i = 0; i < n; ++i) {
      const v1::SignedReceipt& s = (*signed_receipts)[i];
      EXPECT_EQ(s.batch_size(), static_cast<uint64_t>(n));
      EXPECT_EQ(s.batch_index(), static_cast<uint64_t>(i));
      EXPECT_EQ(s.signature(), (*signed_receipts)[0].signature()) << "one signature a batch";
      absl::StatusOr<v1::DeliveryReceipt> r = VerifyReceipt(s, listed_);
      ASSERT_TRUE(r.ok()) << n << "/" << i << ": " << r.status();
      EXPECT_EQ(r->record_id(), absl::StrCat("r", i));
      EXPECT_EQ(r->audit_index(), static_cast<uint64_t>(100 + i));
    }
  }
}

TEST_F(ReceiptTest, OneReceiptIsSignedAloneAsSignReceiptSignsIt) {
  std::vector<std::string> one = Receipts(1);
  absl::StatusOr<std::vector<v1::SignedReceipt>> batch = SignReceipts(council_, one);
  ASSERT_TRUE(batch.ok()) << batch.status();
  v1::DeliveryReceipt r;
  ASSERT_TRUE(r.ParseFromString(one[0]));
  absl::StatusOr<v1::SignedReceipt> alone = SignReceipt(council_, r);
  ASSERT_TRUE(alone.ok()) << alone.status();
  EXPECT_EQ((*batch)[0].batch_size(), 0u);
  EXPECT_EQ((*batch)[0].batch_path_size(), 0);
  EXPECT_EQ((*batch)[0].signature(), alone->signature());
  EXPECT_EQ(Verify((*batch)[0]), absl::StatusCode::kOk);
  EXPECT_EQ(SignReceipts(council_, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ReceiptTest, AChangedReceiptPathPlaceOrSizeIsRefused) {
  std::vector<v1::SignedReceipt> batch = *SignReceipts(council_, Receipts(5));
  const v1::SignedReceipt good = batch[2];
  ASSERT_EQ(Verify(good), absl::StatusCode::kOk);

  v1::SignedReceipt changed = good;  // another receipt's bytes at this one's place
  changed.set_receipt(batch[3].receipt());
  EXPECT_EQ(Verify(changed), absl::StatusCode::kUnauthenticated);

  changed = good;  // one bit of the receipt
  changed.mutable_receipt()->back() ^= 1;
  EXPECT_EQ(Verify(changed), absl::StatusCode::kUnauthenticated);

  changed = good;  // one bit of the path
  (*changed.mutable_batch_path(0))[5] ^= 1;
  EXPECT_EQ(Verify(changed), absl::StatusCode::kUnauthenticated);

  changed = good;  // a hash dropped from the path
  changed.mutable_batch_path()->RemoveLast();
  EXPECT_EQ(Verify(changed), absl::StatusCode::kUnauthenticated);

  changed = good;  // a path hash of the wrong length
  changed.set_batch_path(0, "short");
  EXPECT_EQ(Verify(changed), absl::StatusCode::kUnauthenticated);

  changed = good;  // another place in the same tree
  changed.set_batch_index(3);
  EXPECT_EQ(Verify(changed), absl::StatusCode::kUnauthenticated);

  changed = good;  // a place outside the tree
  changed.set_batch_index(5);
  EXPECT_EQ(Verify(changed), absl::StatusCode::kUnauthenticated);

  changed = good;  // another tree size
  changed.set_batch_size(6);
  EXPECT_EQ(Verify(changed), absl::StatusCode::kUnauthenticated);

  changed = good;  // an impossible tree size
  changed.set_batch_size(uint64_t{1} << 40);
  EXPECT_EQ(Verify(changed), absl::StatusCode::kUnauthenticated);

  changed = good;  // presented as a receipt signed alone
  changed.set_batch_size(0);
  EXPECT_EQ(Verify(changed), absl::StatusCode::kUnauthenticated);
  changed.clear_batch_path();
  changed.set_batch_index(0);
  EXPECT_EQ(Verify(changed), absl::StatusCode::kUnauthenticated);
}

TEST_F(ReceiptTest, AReceiptSignedAloneWithABatchPathAddedIsRefused) {
  v1::SignedReceipt alone = (*SignReceipts(council_, Receipts(1)))[0];
  v1::SignedReceipt batch = (*SignReceipts(council_, Receipts(2)))[0];
  alone.set_batch_index(1);
  EXPECT_EQ(Verify(alone), absl::StatusCode::kUnauthenticated);
  alone.set_batch_index(0);
  *alone.add_batch_path() = batch.batch_path(0);
  EXPECT_EQ(Verify(alone), absl::StatusCode::kUnauthenticated);
}

TEST_F(ReceiptTest, ABatchSignedByAnotherOrganisationOrNamingAnotherIsRefused) {
  // Signed by council-b's key: council-a's listed keys do not verify it.
  v1::SignedReceipt by_other = (*SignReceipts(other_, Receipts(3)))[1];
  EXPECT_EQ(Verify(by_other), absl::StatusCode::kUnauthenticated);
  // Signed by council-a but naming council-b as the receiver.
  v1::SignedReceipt names_other = (*SignReceipts(council_, Receipts(3, "council-b")))[1];
  EXPECT_EQ(Verify(names_other), absl::StatusCode::kUnauthenticated);
}

TEST_F(ReceiptTest, ABatchSignatureCheckedOnceStillRefusesAReceiptItDoesNotCover) {
  std::vector<v1::SignedReceipt> batch = *SignReceipts(council_, Receipts(4));
  VerifiedBatches seen;
  for (const v1::SignedReceipt& s : batch) EXPECT_EQ(Verify(s, &seen), absl::StatusCode::kOk);
  // The remembered signature is for this tree's root: a receipt whose path
  // leads elsewhere is checked, and refused.
  v1::SignedReceipt changed = batch[1];
  changed.mutable_receipt()->back() ^= 1;
  EXPECT_EQ(Verify(changed, &seen), absl::StatusCode::kUnauthenticated);
  // Nor for the same root with another signature or key id: each is checked.
  changed = batch[1];
  (*changed.mutable_signature())[0] ^= 1;
  EXPECT_EQ(Verify(changed, &seen), absl::StatusCode::kUnauthenticated);
  changed = batch[1];
  changed.set_key_id(std::string(8, 'k'));
  EXPECT_EQ(Verify(changed, &seen), absl::StatusCode::kUnauthenticated);
  // And the receipt itself is still read and checked after a remembered
  // signature: one naming another receiver, in a batch signed by council-a,
  // is refused though its batch's signature was checked before.
  std::vector<std::string> mixed = Receipts(2);
  mixed.push_back(Receipts(1, "council-b")[0]);
  std::vector<v1::SignedReceipt> signed_mixed = *SignReceipts(council_, mixed);
  EXPECT_EQ(Verify(signed_mixed[0], &seen), absl::StatusCode::kOk);
  EXPECT_EQ(Verify(signed_mixed[2], &seen), absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace gatehouse
