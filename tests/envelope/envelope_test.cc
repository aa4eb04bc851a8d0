// Adversarial tests of the per-record and batch modes: every byte flipped,
// truncation, wrong parties, swapped inclusion paths, unknown and rotated
// keys. Each refusal must return no header and no payload.
#include <sodium.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gatehouse/v1/envelope.pb.h"
#include "envelope/batch_sealer.h"
#include "envelope/digest.h"
#include "envelope/domain.h"
#include "envelope/envelope_codec.h"
#include "envelope/opener.h"
#include "envelope/sealer.h"
#include "envelope/sealing.h"
#include "gtest/gtest.h"
#include "tests/envelope/test_util.h"

namespace gatehouse::envelope {
namespace {

using testing::Labels;
using testing::NewKeyset;
using testing::OffsetOf;
using testing::Payload;

class EnvelopeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    health_ = NewKeyset("nhs-trust-a");
    council_ = NewKeyset("council-a");
    to_council_ = *council_->PrimaryRecipientKey();
    health_keys_ = health_->VerifyingKeys();
    sealer_ = *Sealer::Create(health_);
    opener_ = *Opener::Create(council_);
  }

  absl::StatusOr<OpenedRecord> Open(absl::string_view envelope) const {
    return opener_->Open(envelope, parties_, health_keys_);
  }

  std::string SealOne(const std::string& id = "rec-1", size_t size = 1024) {
    auto env = sealer_->Seal(Labels(id), to_council_, Payload(size));
    EXPECT_TRUE(env.ok()) << env.status();
    return *env;
  }

  std::vector<std::string> SealBatch(size_t n) {
    auto batch = *BatchSealer::Create(health_);
    for (size_t i = 0; i < n; ++i) {
      EXPECT_TRUE(batch->Add(Labels("rec-" + std::to_string(i)), to_council_, Payload(100 + i)).ok());
    }
    return batch->Finish();
  }

  // Flips each bit pattern in every byte of `envelope` in turn; each must be
  // refused with nothing returned.
  void ExpectEveryByteFlipRejected(const std::string& envelope, absl::string_view what) {
    for (size_t i = 0; i < envelope.size(); ++i) {
      for (uint8_t mask : {0x01, 0x80}) {
        std::string bad = envelope;
        bad[i] = static_cast<char>(bad[i] ^ mask);
        auto r = Open(bad);
        ASSERT_FALSE(r.ok()) << what << ": byte " << i << " mask " << int(mask) << " accepted";
      }
    }
  }

  std::shared_ptr<Keyset> health_, council_;
  RecipientKey to_council_;
  std::vector<VerifyingKey> health_keys_;
  std::unique_ptr<Sealer> sealer_;
  std::unique_ptr<Opener> opener_;
  ExpectedParties parties_{"nhs-trust-a", "council-a"};
};

TEST_F(EnvelopeTest, SealThenOpenReturnsHeaderAndPayload) {
  const std::string env = SealOne("rec-1", 1024);
  auto r = Open(env);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->payload, Payload(1024));
  EXPECT_EQ(r->header.mode, EnvelopeMode::kRecord);
  EXPECT_EQ(r->header.labels.record_id, "rec-1");
  EXPECT_EQ(r->header.labels.caveats, (std::vector<std::string>{"MEDICAL", "PERSONAL"}));
  EXPECT_EQ(r->header.sender_key_id, health_->Primary(v1::KEY_PURPOSE_SIGNING)->id);
  EXPECT_EQ(r->header.recipient_key_id, to_council_.id);
}

TEST_F(EnvelopeTest, EmptyPayloadRoundTrips) {
  auto r = Open(SealOne("rec-empty", 0));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->payload, "");
}

TEST_F(EnvelopeTest, TwoSealsOfOneRecordDiffer) {
  EXPECT_NE(SealOne("rec-1"), SealOne("rec-1"));
}

TEST_F(EnvelopeTest, EncodingIsTheProtobufEncoding) {
  const std::string env = SealOne();
  v1::Envelope parsed;
  ASSERT_TRUE(parsed.ParseFromString(env));
  EXPECT_EQ(parsed.SerializeAsString(), env);
  EXPECT_EQ(parsed.version(), 1u);
  const std::string batch_env = SealBatch(5)[3];
  ASSERT_TRUE(parsed.ParseFromString(batch_env));
  EXPECT_EQ(parsed.SerializeAsString(), batch_env);
  EXPECT_EQ(parsed.batch().leaf_index(), 3u);
  EXPECT_EQ(parsed.batch().tree_size(), 5u);
}

TEST_F(EnvelopeTest, EveryByteFlippedIsRejected) {
  ExpectEveryByteFlipRejected(SealOne("rec-1", 64), "per-record");
}

TEST_F(EnvelopeTest, EveryByteFlippedInBatchEnvelopeIsRejectedWithCacheWarm) {
  const std::vector<std::string> batch = SealBatch(6);
  for (const std::string& env : batch) ASSERT_TRUE(Open(env).ok());  // caches warm
  ExpectEveryByteFlipRejected(batch[4], "batch");
}

// The same, region by region, so a failure names the region.
TEST_F(EnvelopeTest, HeaderWrappedKeyNonceCiphertextSignatureFlipsAreRejected) {
  const std::string env = SealOne("rec-1", 64);
  EnvelopeParts parts;
  ASSERT_TRUE(DecodeEnvelope(env, &parts).ok());
  for (absl::string_view region :
       {parts.header, parts.wrapped_key, parts.nonce, parts.ciphertext, parts.signature}) {
    const size_t start = OffsetOf(env, region);
    for (size_t i = start; i < start + region.size(); ++i) {
      std::string bad = env;
      bad[i] = static_cast<char>(bad[i] ^ 0x04);
      auto r = Open(bad);
      EXPECT_FALSE(r.ok());
      if (i >= OffsetOf(env, parts.wrapped_key)) {
        EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << i;
      }
    }
  }
}

TEST_F(EnvelopeTest, EveryTruncationIsRejected) {
  const std::string env = SealOne("rec-1", 64);
  for (size_t n = 0; n < env.size(); ++n) EXPECT_FALSE(Open(env.substr(0, n)).ok()) << n;
}

TEST_F(EnvelopeTest, TrailingBytesAreRejected) {
  std::string env = SealOne();
  env.append("\x08\x01", 2);  // a repeated version field
  EXPECT_EQ(Open(env).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EnvelopeTest, UnknownFieldIsRejected) {
  std::string env = SealOne();
  env.append("\x42\x01X", 3);  // field 8, bytes "X"
  EXPECT_EQ(Open(env).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EnvelopeTest, NonMinimalVarintIsRejected) {
  std::string env = SealOne();
  ASSERT_EQ(env.substr(0, 2), std::string("\x08\x01", 2));
  env.replace(0, 2, std::string("\x08\x81\x00", 3));
  EXPECT_EQ(Open(env).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EnvelopeTest, WrongRecipientIsRejected) {
  const std::string env = SealOne();
  auto r = opener_->Open(env, {"nhs-trust-a", "council-b"}, health_keys_);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EnvelopeTest, WrongSenderIsRejected) {
  const std::string env = SealOne();
  auto r = opener_->Open(env, {"police-x", "council-a"}, health_keys_);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EnvelopeTest, AnotherOrganisationCannotOpen) {
  auto other = NewKeyset("council-b");
  auto other_opener = *Opener::Create(other);
  // Even when told the recipient is council-a, council-b holds no key for it.
  auto r = other_opener->Open(SealOne(), parties_, health_keys_);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(EnvelopeTest, SignatureByAnotherOrganisationsKeyIsRejected) {
  auto impostor = NewKeyset("nhs-trust-a");  // same name, keys not in the directory
  auto env = (*Sealer::Create(impostor))->Seal(Labels("rec-1"), to_council_, Payload(10));
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(Open(*env).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(EnvelopeTest, UnknownSigningKeyIdIsRejected) {
  const std::string env = SealOne();
  std::vector<VerifyingKey> none;
  EXPECT_EQ(opener_->Open(env, parties_, none).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(EnvelopeTest, SealByOtherOrgNameIsRefused) {
  auto env = sealer_->Seal(Labels("rec-1", "police-x"), to_council_, "x");
  EXPECT_EQ(env.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EnvelopeTest, OldEncryptionKeyStillOpensAfterRotation) {
  const std::string sealed_to_old = SealOne("before-rotation");
  ASSERT_TRUE(council_->RotateEncryptionKey(absl::Now()).ok());
  auto opener = *Opener::Create(council_);
  auto r = opener->Open(sealed_to_old, parties_, health_keys_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->payload, Payload(1024));
  // And the new primary opens too.
  auto env = sealer_->Seal(Labels("after"), *council_->PrimaryRecipientKey(), "new");
  EXPECT_EQ(opener->Open(*env, parties_, health_keys_)->payload, "new");
}

TEST_F(EnvelopeTest, RemovedEncryptionKeyNoLongerOpens) {
  const std::string sealed_to_old = SealOne();
  ASSERT_TRUE(council_->RotateEncryptionKey(absl::Now()).ok());
  ASSERT_TRUE(council_->RemoveKey(to_council_.id).ok());
  auto opener = *Opener::Create(council_);
  EXPECT_EQ(opener->Open(sealed_to_old, parties_, health_keys_).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(EnvelopeTest, RotatedOutSigningKeyDoesNotSign) {
  const KeyId old_key = health_->Primary(v1::KEY_PURPOSE_SIGNING)->id;
  const std::string signed_by_old = SealOne("old");
  const KeyId new_key = *health_->AddSigningKey(absl::Now());
  ASSERT_TRUE(health_->PromoteSigningKey(new_key).ok());
  auto sealer = *Sealer::Create(health_);
  auto env = sealer->Seal(Labels("new"), to_council_, "x");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(PeekHeader(*env)->sender_key_id, new_key);
  auto batch = *BatchSealer::Create(health_);
  ASSERT_TRUE(batch->Add(Labels("b"), to_council_, "y").ok());
  EXPECT_EQ(PeekHeader(batch->Finish()[0])->sender_key_id, new_key);
  // Once the directory drops the old key, what it signed is refused.
  std::vector<VerifyingKey> only_new;
  for (const VerifyingKey& k : health_->VerifyingKeys()) {
    if (k.id != old_key) only_new.push_back(k);
  }
  EXPECT_TRUE(opener_->Open(*env, parties_, only_new).ok());
  EXPECT_EQ(opener_->Open(signed_by_old, parties_, only_new).status().code(),
            absl::StatusCode::kUnauthenticated);
}

// A malicious sender signs properly but commits to one data key and wraps
// another: the receiver must refuse before decrypting.
TEST_F(EnvelopeTest, CommitmentToAnotherDataKeyIsRejected) {
  const SecretKey data_key = SecretKey::Random(32);
  const SecretKey other_key = SecretKey::Random(32);
  EnvelopeHeader h;
  h.labels = Labels("rec-1");
  h.sender_key_id = health_->Primary(v1::KEY_PURPOSE_SIGNING)->id;
  h.recipient_key_id = to_council_.id;
  h.key_commitment = internal::KeyCommitment(other_key);
  const std::string header = *EncodeHeader(h);
  uint8_t wrapped[80], nonce[24] = {}, sig[64];
  ASSERT_TRUE(internal::WrapDataKey(data_key, to_council_, wrapped).ok());
  std::string ad;
  internal::PayloadAd(header, &ad);
  std::string ct(16 + 5, '\0');
  internal::EncryptPayload(data_key, ad, nonce, "hello", reinterpret_cast<uint8_t*>(ct.data()));
  const auto digest = internal::RecordDigest(header, AsStringView(wrapped, 80), AsStringView(nonce, 24), ct);
  internal::Sign(*health_->Primary(v1::KEY_PURPOSE_SIGNING), internal::RecordSignedMessage(digest), sig);
  EnvelopeParts parts;
  parts.header = header;
  parts.wrapped_key = AsStringView(wrapped, 80);
  parts.nonce = AsStringView(nonce, 24);
  parts.ciphertext = ct;
  parts.signature = AsStringView(sig, 64);
  std::string env;
  AppendEnvelope(parts, &env);
  auto r = Open(env);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(r.status().message().find("commitment"), absl::string_view::npos);
}

TEST_F(EnvelopeTest, BatchRoundTripsForManySizes) {
  for (size_t n : {1, 2, 3, 5, 8, 17, 64}) {
    const std::vector<std::string> envs = SealBatch(n);
    ASSERT_EQ(envs.size(), n);
    for (size_t i = 0; i < n; ++i) {
      auto r = Open(envs[i]);
      ASSERT_TRUE(r.ok()) << n << " " << i << " " << r.status();
      EXPECT_EQ(r->payload, Payload(100 + i));
      EXPECT_EQ(r->header.labels.record_id, "rec-" + std::to_string(i));
      EXPECT_EQ(r->header.mode, EnvelopeMode::kBatch);
    }
  }
}

TEST_F(EnvelopeTest, BatchEnvelopesShareOneWrappedKeyPerPeerAndOneSignature) {
  auto other = NewKeyset("council-b");
  auto batch = *BatchSealer::Create(health_);
  ASSERT_TRUE(batch->Add(Labels("a"), to_council_, "1").ok());
  ASSERT_TRUE(batch->Add(Labels("b", "nhs-trust-a", "council-b"), *other->PrimaryRecipientKey(), "2").ok());
  ASSERT_TRUE(batch->Add(Labels("c"), to_council_, "3").ok());
  const auto envs = batch->Finish();
  EnvelopeParts a, b, c;
  ASSERT_TRUE(DecodeEnvelope(envs[0], &a).ok());
  ASSERT_TRUE(DecodeEnvelope(envs[1], &b).ok());
  ASSERT_TRUE(DecodeEnvelope(envs[2], &c).ok());
  EXPECT_EQ(a.wrapped_key, c.wrapped_key);
  EXPECT_NE(a.wrapped_key, b.wrapped_key);
  EXPECT_NE(a.nonce, c.nonce);
  EXPECT_EQ(a.signature, b.signature);
  // council-b opens its own record only.
  auto opener_b = *Opener::Create(other);
  EXPECT_TRUE(opener_b->Open(envs[1], {"nhs-trust-a", "council-b"}, health_keys_).ok());
  EXPECT_FALSE(opener_b->Open(envs[0], {"nhs-trust-a", "council-b"}, health_keys_).ok());
}

TEST_F(EnvelopeTest, EpochEndsAfterDurationAndNewKeyIsWrapped) {
  absl::Time now = absl::FromUnixSeconds(1000);
  BatchSealerOptions options;
  options.epoch = absl::Minutes(1);
  options.clock = [&now] { return now; };
  auto batch = *BatchSealer::Create(health_, options);
  ASSERT_TRUE(batch->Add(Labels("a"), to_council_, "1").ok());
  now += absl::Seconds(59);
  ASSERT_TRUE(batch->Add(Labels("b"), to_council_, "2").ok());
  now += absl::Seconds(2);
  ASSERT_TRUE(batch->Add(Labels("c"), to_council_, "3").ok());
  const auto envs = batch->Finish();
  EnvelopeParts a, b, c;
  ASSERT_TRUE(DecodeEnvelope(envs[0], &a).ok());
  ASSERT_TRUE(DecodeEnvelope(envs[1], &b).ok());
  ASSERT_TRUE(DecodeEnvelope(envs[2], &c).ok());
  EXPECT_EQ(a.wrapped_key, b.wrapped_key);
  EXPECT_NE(b.wrapped_key, c.wrapped_key);
  for (const auto& e : envs) EXPECT_TRUE(Open(e).ok());
}

TEST_F(EnvelopeTest, FullBatchRefusesMoreAndKeepsWhatItHas) {
  BatchSealerOptions options;
  options.max_batch_records = 2;
  auto batch = *BatchSealer::Create(health_, options);
  ASSERT_TRUE(batch->Add(Labels("a"), to_council_, "1").ok());
  ASSERT_TRUE(batch->Add(Labels("b"), to_council_, "2").ok());
  EXPECT_EQ(batch->Add(Labels("c"), to_council_, "3").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(batch->size(), 2u);
  const auto envs = batch->Finish();
  EXPECT_EQ(envs.size(), 2u);
  EXPECT_EQ(batch->size(), 0u);
  EXPECT_TRUE(batch->Finish().empty());
}

TEST_F(EnvelopeTest, RefusedAddLeavesBatchUnchanged) {
  auto batch = *BatchSealer::Create(health_);
  ASSERT_TRUE(batch->Add(Labels("a"), to_council_, "1").ok());
  RecordLabels bad = Labels("b");
  bad.caveats = {"X", "X"};
  EXPECT_EQ(batch->Add(bad, to_council_, "2").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(batch->size(), 1u);
  const auto envs = batch->Finish();
  ASSERT_EQ(envs.size(), 1u);
  EXPECT_EQ(Open(envs[0])->payload, "1");
}

// Splices record 2's batch proof into record 5's envelope.
TEST_F(EnvelopeTest, BatchEnvelopeWithAnothersInclusionPathIsRejected) {
  const std::vector<std::string> envs = SealBatch(8);
  for (const auto& e : envs) ASSERT_TRUE(Open(e).ok());
  v1::Envelope victim, donor;
  ASSERT_TRUE(victim.ParseFromString(envs[5]));
  ASSERT_TRUE(donor.ParseFromString(envs[2]));
  *victim.mutable_batch() = donor.batch();
  EXPECT_EQ(Open(victim.SerializeAsString()).status().code(), absl::StatusCode::kUnauthenticated);
  // Its own path with another's leaf index.
  ASSERT_TRUE(victim.ParseFromString(envs[5]));
  victim.mutable_batch()->set_leaf_index(2);
  EXPECT_EQ(Open(victim.SerializeAsString()).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(EnvelopeTest, BatchEnvelopeFromAnotherBatchWithSameSizeIsRejected) {
  const std::vector<std::string> one = SealBatch(4);
  const std::vector<std::string> two = SealBatch(4);
  v1::Envelope victim, donor;
  ASSERT_TRUE(victim.ParseFromString(one[1]));
  ASSERT_TRUE(donor.ParseFromString(two[1]));
  victim.set_signature(donor.signature());
  EXPECT_EQ(Open(victim.SerializeAsString()).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(EnvelopeTest, BatchProofStrippedIsRejected) {
  v1::Envelope env;
  ASSERT_TRUE(env.ParseFromString(SealBatch(1)[0]));
  env.clear_batch();
  EXPECT_EQ(Open(env.SerializeAsString()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EnvelopeTest, BatchProofAddedToPerRecordEnvelopeIsRejected) {
  v1::Envelope env;
  ASSERT_TRUE(env.ParseFromString(SealOne()));
  env.mutable_batch()->set_tree_size(1);
  EXPECT_EQ(Open(env.SerializeAsString()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EnvelopeTest, BatchEnvelopesOpenConcurrently) {
  const std::vector<std::string> envs = SealBatch(64);
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (const auto& e : envs) opened += Open(e).ok() ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened.load(), 4 * 64);
}

TEST_F(EnvelopeTest, SealerIsUsableFromManyThreads) {
  std::vector<std::thread> threads;
  std::vector<std::string> envs(4 * 16);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 16; ++i) {
        envs[t * 16 + i] = *sealer_->Seal(Labels("rec-" + std::to_string(t * 16 + i)), to_council_, "x");
      }
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < envs.size(); ++i) {
    auto r = Open(envs[i]);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->header.labels.record_id, "rec-" + std::to_string(i));
  }
}

TEST_F(EnvelopeTest, PeekHeaderReadsWithoutKeys) {
  auto h = PeekHeader(SealOne("rec-peek"));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->labels.record_id, "rec-peek");
  EXPECT_EQ(h->labels.recipient_org, "council-a");
  EXPECT_FALSE(PeekHeader("not an envelope").ok());
}

TEST_F(EnvelopeTest, OversizedEnvelopeIsResourceExhausted) {
  const std::string huge(kMaxEnvelopeBytes + 1, '\0');
  EXPECT_EQ(Open(huge).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(EnvelopeTest, SealerChangesToKeysetAfterCreateDoNotAffectIt) {
  auto sealer = *Sealer::Create(health_);
  const KeyId signing = health_->Primary(v1::KEY_PURPOSE_SIGNING)->id;
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(health_->AddSigningKey(absl::Now()).ok());  // reallocates
  auto env = sealer->Seal(Labels("rec-1"), to_council_, "x");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(PeekHeader(*env)->sender_key_id, signing);
  EXPECT_TRUE(Open(*env).ok());
}

TEST_F(EnvelopeTest, AuthorityKeysetCannotOpen) {
  auto authority = std::make_shared<Keyset>(
      *Keyset::Generate("directory-authority", Keyset::Kind::kDirectoryAuthority, absl::Now()));
  EXPECT_EQ(Opener::Create(authority).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Opener::Create(nullptr).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gatehouse::envelope
