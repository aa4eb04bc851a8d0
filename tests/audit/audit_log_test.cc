// AuditLog end to end on a real directory: appends, proofs against signed
// checkpoints, cosignatures, and recovery from damage at every offset class
// (segment header, record length, record payload, segment boundary).
#include "audit/audit_log.h"


#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "audit/checkpoint.h"
#include "audit/log_directory.h"
#include "audit/log_format.h"
#include "audit/log_verifier.h"
#include "audit/segment_reader.h"
#include "audit/merkle_verifier.h"
#include "audit/posix_file.h"
#include "gtest/gtest.h"
#include "tests/audit/audit_test_util.h"
#include "tests/common/small_tmpfs.h"

namespace gatehouse::audit {
namespace {

using testing::MakeEntry;
using testing::ReadFile;
using testing::ScratchDir;
using testing::WriteFile;

class AuditLogTest : public ::testing::Test {
 protected:
  AuditLogTest() {
    signer_ = std::make_shared<NoteSigner>(*NoteSigner::Generate("gatehouse.test/audit", kSigTypeEd25519));
    verifier_ = NoteVerifier::FromPublicKey(signer_->name(), kSigTypeEd25519, signer_->public_key());
  }

  AuditLogOptions Options(uint64_t every = 1000000, bool sign = true) {
    AuditLogOptions o;
    if (sign) o.signer = signer_;
    o.checkpoint_every_entries = every;
    o.checkpoint_interval = absl::ZeroDuration();
    return o;
  }

  std::unique_ptr<AuditLog> OpenOrDie(AuditLogOptions o) {
    absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open(dir_.path(), std::move(o));
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *std::move(log) : nullptr;
  }

  void Fill(AuditLog& log, uint64_t from, uint64_t to) {
    for (uint64_t i = from; i < to; ++i) {
      absl::StatusOr<uint64_t> idx = log.Append(MakeEntry(i));
      ASSERT_TRUE(idx.ok()) << idx.status();
      ASSERT_EQ(*idx, i);
    }
  }

  std::string OnlySegment() {
    auto segs = *ListSegments(dir_.path());
    EXPECT_EQ(segs.size(), 1u);
    return segs.back().path;
  }

  ScratchDir dir_;
  std::shared_ptr<NoteSigner> signer_;
  NoteVerifier verifier_ = NoteVerifier::FromPublicKey("x", 1, std::string(32, 'x'));
};

TEST_F(AuditLogTest, AppendsAreReadBackAfterReopen) {
  {
    auto log = OpenOrDie(Options());
    Fill(*log, 0, 50);
    EXPECT_EQ(log->Size(), 50u);
  }
  auto log = OpenOrDie(Options());
  EXPECT_EQ(log->Size(), 50u);
  EXPECT_EQ(log->recovery_report().dropped_bytes, 0u);
  EXPECT_EQ(log->ReadEntry(17)->record_id(), "rec-17");
  Fill(*log, 50, 60);
  EXPECT_EQ(log->ReadEntry(59)->record_id(), "rec-59");
}

TEST_F(AuditLogTest, ZeroTimeIsFilledFromTheClock) {
  AuditLogOptions o = Options();
  o.clock_ns = [] { return int64_t{42}; };
  auto log = OpenOrDie(o);
  gatehouse::v1::AuditEntry e;
  e.set_event(gatehouse::v1::AUDIT_EVENT_CONFIG_LOADED);
  ASSERT_TRUE(log->Append(e).ok());
  EXPECT_EQ(log->ReadEntry(0)->time_unix_ns(), 42);
}

TEST_F(AuditLogTest, OversizedEntryIsRefusedAndNothingIsWritten) {
  auto log = OpenOrDie(Options());
  gatehouse::v1::AuditEntry e = MakeEntry(0);
  e.set_reason(std::string(kMaxRecordSize + 1, 'x'));
  EXPECT_TRUE(absl::IsInvalidArgument(log->Append(e).status()));
  EXPECT_EQ(log->Size(), 0u);
}

TEST_F(AuditLogTest, ConcurrentAppendersGetEveryIndexExactlyOnce) {
  auto log = OpenOrDie(Options(100));
  constexpr int kThreads = 16, kPer = 100;
  std::vector<std::vector<uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) got[t].push_back(*log->Append(MakeEntry(t * kPer + i)));
    });
  }
  for (auto& th : threads) th.join();
  std::vector<bool> seen(kThreads * kPer, false);
  for (const auto& v : got) {
    for (uint64_t i : v) {
      ASSERT_LT(i, seen.size());
      EXPECT_FALSE(seen[i]);
      seen[i] = true;
    }
  }
  EXPECT_EQ(log->Size(), uint64_t{kThreads * kPer});
  ASSERT_TRUE(log->Close().ok());
  VerifyOptions vo;
  vo.log_key = &verifier_;
  absl::StatusOr<VerifyReport> r = VerifyLog(dir_.path(), vo);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->entries, uint64_t{kThreads * kPer});
  EXPECT_GE(r->checkpoints, 1u);
}

TEST_F(AuditLogTest, InclusionProofVerifiesAgainstSignedCheckpoint) {
  auto log = OpenOrDie(Options());
  Fill(*log, 0, 37);
  absl::StatusOr<std::string> note = log->CheckpointNow();
  ASSERT_TRUE(note.ok()) << note.status();
  absl::StatusOr<SignedCheckpoint> cp = OpenCheckpoint(*note, verifier_);
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->checkpoint.size, 37u);
  for (uint64_t i = 0; i < 37; ++i) {
    std::string bytes;
    log->ReadEntry(i)->SerializeToString(&bytes);
    auto proof = log->InclusionProof(i, 37);
    ASSERT_TRUE(proof.ok());
    EXPECT_TRUE(VerifyInclusion(i, 37, HashLeaf(bytes), *proof, cp->checkpoint.root).ok()) << i;
  }
  EXPECT_TRUE(absl::IsInvalidArgument(log->InclusionProof(37, 38).status()));
}

TEST_F(AuditLogTest, ConsistencyBetweenCheckpointsAcrossReopen) {
  std::string note1;
  {
    auto log = OpenOrDie(Options());
    Fill(*log, 0, 11);
    note1 = *log->CheckpointNow();
  }
  auto log = OpenOrDie(Options());
  Fill(*log, 11, 40);
  std::string note2 = *log->CheckpointNow();
  auto c1 = *OpenCheckpoint(note1, verifier_);
  auto c2 = *OpenCheckpoint(note2, verifier_);
  auto proof = log->ConsistencyProof(11, 40);
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(VerifyConsistency(11, 40, c1.checkpoint.root, c2.checkpoint.root, *proof).ok());
  EXPECT_EQ(log->CheckpointSizes(), (std::vector<uint64_t>{11, 40}));
}

TEST_F(AuditLogTest, CheckpointEveryNEntries) {
  auto log = OpenOrDie(Options(10));
  // The checkpointer runs in the background and reads the size when it
  // wakes; appending on while it wakes could let the first checkpoint cover
  // more than 15 of 25 entries, leaving too few for a second. So: exactly
  // 10, wait for that checkpoint, then 15 more.
  auto wait_for_checkpoints = [&](size_t n) {
    for (int i = 0; i < 400 && log->CheckpointSizes().size() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  Fill(*log, 0, 10);
  wait_for_checkpoints(1);
  ASSERT_EQ(log->CheckpointSizes(), std::vector<uint64_t>{10});
  Fill(*log, 10, 25);
  wait_for_checkpoints(2);
  EXPECT_GE(log->CheckpointSizes().size(), 2u);
}

TEST_F(AuditLogTest, CheckpointEveryTMilliseconds) {
  AuditLogOptions o = Options();
  o.checkpoint_interval = absl::Milliseconds(20);
  auto log = OpenOrDie(o);
  Fill(*log, 0, 3);
  // No count trigger: only the timer can sign, and it catches up to size 3.
  for (int i = 0; i < 200 && (log->CheckpointSizes().empty() || log->CheckpointSizes().back() != 3);
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_FALSE(log->CheckpointSizes().empty());
  EXPECT_EQ(log->CheckpointSizes().back(), 3u);
}

TEST_F(AuditLogTest, CosignaturesAreVerifiedStoredAndServed) {
  NoteSigner witness = *NoteSigner::Generate("council-a.test/witness", kSigTypeCosignatureV1);
  NoteVerifier wv = *NoteVerifier::FromVerifierKey(witness.VerifierKeyString());
  {
    auto log = OpenOrDie(Options());
    Fill(*log, 0, 5);
    std::string note = *log->CheckpointNow();
    auto cp = *OpenCheckpoint(note, verifier_);
    std::string cosigned = note + FormatSignatureLine(Cosign(cp.text, witness, 1700000000));
    ASSERT_TRUE(log->AddCosignature(cosigned, wv).ok());
    ASSERT_TRUE(log->AddCosignature(cosigned, wv).ok());  // idempotent
    // A forged cosignature, a foreign checkpoint, a note without the witness.
    NoteSignature bad = Cosign(cp.text, witness, 1700000000);
    bad.signature[20] ^= 1;
    EXPECT_TRUE(absl::IsDataLoss(log->AddCosignature(note + FormatSignatureLine(bad), wv)));
    EXPECT_TRUE(absl::IsNotFound(log->AddCosignature(note, wv)));
    Checkpoint other{signer_->name(), 5, HashLeaf("other"), {}};
    std::string foreign = SignNote(FormatCheckpoint(other), {signer_.get()});
    EXPECT_TRUE(absl::IsNotFound(log->AddCosignature(
        foreign + FormatSignatureLine(Cosign(FormatCheckpoint(other), witness, 1)), wv)));
  }
  auto log = OpenOrDie(Options());
  std::string latest = *log->LatestCheckpoint();
  Note n = *ParseNote(latest);
  ASSERT_EQ(n.signatures.size(), 2u);
  EXPECT_TRUE(VerifyCosignature(n.text, n.signatures[1], wv).ok());
  VerifyOptions vo;
  vo.log_key = &verifier_;
  vo.cosigners = {&wv};
  auto r = VerifyLog(dir_.path(), vo);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cosignatures_verified, 1u);
}

// Finding 6: a peer stored 50 cosignatures of one checkpoint (one key, new
// timestamps), inflating its cosigner count. One key gets one cosignature
// of a checkpoint; the rest are refused and nothing more is written.
TEST_F(AuditLogTest, FiftyCosignaturesByOneKeyOfOneCheckpointKeepOne) {
  NoteSigner witness = *NoteSigner::Generate("council-a.test/witness", kSigTypeCosignatureV1);
  NoteVerifier wv = *NoteVerifier::FromVerifierKey(witness.VerifierKeyString());
  {
    auto log = OpenOrDie(Options());
    Fill(*log, 0, 5);
    const std::string note = *log->CheckpointNow();
    const std::string text = ParseNote(note)->text;
    const std::string first = note + FormatSignatureLine(Cosign(text, witness, 1700000000));
    ASSERT_TRUE(log->AddCosignature(first, wv).ok());
    const std::string file = ReadFile(CosignaturesPath(dir_.path()));
    for (uint64_t t = 1; t < 50; ++t) {
      absl::Status s = log->AddCosignature(
          note + FormatSignatureLine(Cosign(text, witness, 1700000000 + t)), wv);
      EXPECT_TRUE(absl::IsAlreadyExists(s)) << s;
    }
    EXPECT_TRUE(log->AddCosignature(first, wv).ok());  // a retry of the stored one
    EXPECT_EQ(ReadFile(CosignaturesPath(dir_.path())), file);
    EXPECT_EQ(ParseNote(*log->LatestCheckpoint())->signatures.size(), 2u);
  }
  auto log = OpenOrDie(Options());
  EXPECT_EQ(log->recovery_report().cosignatures_repeated, 0u);
  EXPECT_EQ(ParseNote(*log->LatestCheckpoint())->signatures.size(), 2u);
  VerifyOptions vo;
  vo.log_key = &verifier_;
  vo.cosigners = {&wv};
  auto r = VerifyLog(dir_.path(), vo);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cosigners_verified, 1u);
  EXPECT_EQ(r->cosignatures_verified, 1u);
}

// A cosignature that does not verify, or one by a key other than the one
// the caller holds (the directory's key for the calling peer), is refused
// and leaves cosignatures.log and the served note as they were.
TEST_F(AuditLogTest, ForgedOrForeignCosignatureIsRefusedAndStoresNothing) {
  NoteSigner witness = *NoteSigner::Generate("council-a.test/witness", kSigTypeCosignatureV1);
  NoteVerifier wv = *NoteVerifier::FromVerifierKey(witness.VerifierKeyString());
  // Same name, another key: its key id differs.
  NoteSigner impostor = *NoteSigner::Generate("council-a.test/witness", kSigTypeCosignatureV1);
  NoteSigner stranger = *NoteSigner::Generate("police-b.test/witness", kSigTypeCosignatureV1);
  auto log = OpenOrDie(Options());
  Fill(*log, 0, 5);
  const std::string note = *log->CheckpointNow();
  const std::string text = ParseNote(note)->text;
  NoteSignature forged = Cosign(text, witness, 1700000000);
  forged.signature[30] ^= 1;
  NoteSignature stamp_changed = Cosign(text, witness, 1700000000);
  stamp_changed.signature[7] ^= 1;  // claims another time than was signed
  EXPECT_TRUE(absl::IsDataLoss(log->AddCosignature(note + FormatSignatureLine(forged), wv)));
  EXPECT_TRUE(
      absl::IsDataLoss(log->AddCosignature(note + FormatSignatureLine(stamp_changed), wv)));
  EXPECT_TRUE(absl::IsNotFound(
      log->AddCosignature(note + FormatSignatureLine(Cosign(text, impostor, 1)), wv)));
  EXPECT_TRUE(absl::IsNotFound(
      log->AddCosignature(note + FormatSignatureLine(Cosign(text, stranger, 1)), wv)));
  // The witness's own line first, forged: the note is refused whole.
  EXPECT_TRUE(absl::IsDataLoss(log->AddCosignature(
      note + FormatSignatureLine(forged) + FormatSignatureLine(Cosign(text, witness, 2)), wv)));
  EXPECT_FALSE(std::filesystem::exists(CosignaturesPath(dir_.path())));
  EXPECT_EQ(*log->LatestCheckpoint(), note);
  // A valid line is still taken afterwards.
  EXPECT_TRUE(log->AddCosignature(note + FormatSignatureLine(Cosign(text, witness, 3)), wv).ok());
}

// A log written before repeats were refused may hold many cosignatures of
// one checkpoint by one key: Open keeps the first, serves only it, and
// reports the rest; the file is not changed.
TEST_F(AuditLogTest, RepeatedCosignaturesStoredBeforeTheFixAreNotServed) {
  NoteSigner witness = *NoteSigner::Generate("council-a.test/witness", kSigTypeCosignatureV1);
  NoteVerifier wv = *NoteVerifier::FromVerifierKey(witness.VerifierKeyString());
  std::string note;
  {
    auto log = OpenOrDie(Options());
    Fill(*log, 0, 5);
    note = *log->CheckpointNow();
    ASSERT_TRUE(log->Close().ok());
  }
  const std::string text = ParseNote(note)->text;
  std::string file = EncodeSegmentHeader(kCosignatureMagic, 0);
  for (uint64_t t = 0; t < 50; ++t) {
    AppendRecord(absl::StrCat(5, "\n", FormatSignatureLine(Cosign(text, witness, 100 + t))),
                 &file);
  }
  WriteFile(CosignaturesPath(dir_.path()), file);
  {
    auto log = OpenOrDie(Options());
    EXPECT_EQ(log->recovery_report().cosignatures_repeated, 49u);
    Note served = *ParseNote(*log->LatestCheckpoint());
    ASSERT_EQ(served.signatures.size(), 2u);
    EXPECT_EQ(*VerifyCosignature(served.text, served.signatures[1], wv), 100u);
    EXPECT_TRUE(absl::IsAlreadyExists(
        log->AddCosignature(note + FormatSignatureLine(Cosign(text, witness, 999)), wv)));
  }
  EXPECT_EQ(ReadFile(CosignaturesPath(dir_.path())), file);
  VerifyOptions vo;
  vo.log_key = &verifier_;
  vo.cosigners = {&wv};
  auto r = VerifyLog(dir_.path(), vo);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cosigners_verified, 1u);
  EXPECT_EQ(r->cosignatures_verified, 1u);
  EXPECT_EQ(r->cosignatures_repeated, 49u);
}

// Every stored cosignature is served in the note, and a note holds at most
// kMaxNoteSignatures lines: one more would make the checkpoint unreadable
// to every peer, so it is refused.
TEST_F(AuditLogTest, CosignaturesBeyondWhatANoteHoldsAreRefused) {
  auto log = OpenOrDie(Options());
  Fill(*log, 0, 5);
  const std::string note = *log->CheckpointNow();
  const std::string text = ParseNote(note)->text;
  for (size_t i = 0; i <= kMaxNoteSignatures - 1; ++i) {
    NoteSigner w = *NoteSigner::Generate(absl::StrCat("org-", i, ".test/witness"),
                                         kSigTypeCosignatureV1);
    NoteVerifier wv = *NoteVerifier::FromVerifierKey(w.VerifierKeyString());
    absl::Status s = log->AddCosignature(note + FormatSignatureLine(Cosign(text, w, 1)), wv);
    if (i < kMaxNoteSignatures - 1) {
      ASSERT_TRUE(s.ok()) << i << ": " << s;
    } else {
      EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
    }
  }
  absl::StatusOr<Note> served = ParseNote(*log->LatestCheckpoint());
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(served->signatures.size(), kMaxNoteSignatures);
}

// ---- Recovery: the last segment cut or damaged at each offset class. ----

struct Damage {
  const char* name;
  // Offset into the last record of a 10-entry segment: negative counts from
  // the end of the file.
  bool truncate;
  int where;  // 0 header, 1 length, 2 payload, 3 last byte
};

class RecoveryTest : public AuditLogTest, public ::testing::WithParamInterface<Damage> {};

TEST_P(RecoveryTest, TailDamageDropsOnlyTheDamagedEntry) {
  {
    auto log = OpenOrDie(Options(1000000, /*sign=*/false));
    Fill(*log, 0, 10);
  }
  const std::string seg = OnlySegment();
  std::string bytes = ReadFile(seg);
  // Find the start of the last record by walking the frames.
  size_t pos = kSegmentHeaderSize, last = 0;
  while (pos < bytes.size()) {
    last = pos;
    pos += kRecordHeaderSize + DecodeFixed32(&bytes[pos + 4]);
  }
  size_t off = GetParam().where == 0 ? last + 1
               : GetParam().where == 1 ? last + 5
               : GetParam().where == 2 ? last + kRecordHeaderSize + 10
                                       : bytes.size() - 1;
  const size_t orig = bytes.size();
  if (GetParam().truncate) {
    bytes.resize(off);
  } else {
    bytes[off] ^= 0x40;
  }
  WriteFile(seg, bytes);
  auto log = OpenOrDie(Options(1000000, false));
  EXPECT_EQ(log->Size(), 9u);
  EXPECT_EQ(log->recovery_report().dropped_bytes, bytes.size() - last);
  EXPECT_FALSE(log->recovery_report().dropped_reason.empty());
  EXPECT_EQ(ReadFile(seg).size(), last);
  (void)orig;
  // And the log carries on: the next append takes index 9.
  EXPECT_EQ(*log->Append(MakeEntry(99)), 9u);
  ASSERT_TRUE(log->Close().ok());
  EXPECT_TRUE(VerifyLog(dir_.path(), {}).ok());
}

INSTANTIATE_TEST_SUITE_P(
    OffsetClasses, RecoveryTest,
    ::testing::Values(Damage{"TruncatedInRecordHeader", true, 0},
                      Damage{"TruncatedInLength", true, 1},
                      Damage{"TruncatedInPayload", true, 2},
                      Damage{"TruncatedLastByte", true, 3},
                      Damage{"CorruptChecksum", false, 0},
                      Damage{"CorruptLength", false, 1},
                      Damage{"CorruptPayload", false, 2},
                      Damage{"CorruptLastByte", false, 3}),
    [](const ::testing::TestParamInfo<Damage>& info) { return info.param.name; });

TEST_F(AuditLogTest, TruncationAtEveryByteOfTheLastRecordRecovers) {
  {
    auto log = OpenOrDie(Options(1000000, false));
    Fill(*log, 0, 3);
  }
  const std::string seg = OnlySegment();
  const std::string full = ReadFile(seg);
  size_t pos = kSegmentHeaderSize, last = 0;
  while (pos < full.size()) {
    last = pos;
    pos += kRecordHeaderSize + DecodeFixed32(&full[pos + 4]);
  }
  for (size_t cut = last; cut <= full.size(); ++cut) {
    WriteFile(seg, full.substr(0, cut));
    std::filesystem::remove_all(dir_.Sub("tree"));
    auto log = OpenOrDie(Options(1000000, false));
    EXPECT_EQ(log->Size(), cut == full.size() ? 3u : 2u) << cut;
    EXPECT_EQ(log->recovery_report().dropped_bytes, cut == full.size() ? 0 : cut - last);
  }
}

TEST_F(AuditLogTest, TornSegmentHeaderAtSegmentBoundaryRecovers) {
  AuditLogOptions o = Options(1000000, false);
  o.segment_bytes = 300;
  {
    auto log = OpenOrDie(o);
    Fill(*log, 0, 10);
  }
  auto segs = *ListSegments(dir_.path());
  ASSERT_GE(segs.size(), 2u);
  // Simulate a crash while creating the next segment: a half-written header.
  const uint64_t next = 10;
  WriteFile(SegmentPath(dir_.path(), next), std::string("GHAUDSEG\x01\x00", 10));
  auto log = OpenOrDie(o);
  EXPECT_EQ(log->Size(), 10u);
  EXPECT_EQ(log->recovery_report().dropped_bytes, 10u);
  Fill(*log, 10, 30);
  ASSERT_TRUE(log->Close().ok());
  auto r = VerifyLog(dir_.path(), {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->entries, 30u);
}

TEST_F(AuditLogTest, LastSegmentCutAtItsHeaderBoundaryRecoversToThePreviousSegment) {
  AuditLogOptions o = Options(1000000, false);
  o.segment_bytes = 300;
  {
    auto log = OpenOrDie(o);
    Fill(*log, 0, 12);
  }
  auto segs = *ListSegments(dir_.path());
  ASSERT_GE(segs.size(), 2u);
  const SegmentFile last = segs.back();
  std::string bytes = ReadFile(last.path);
  WriteFile(last.path, bytes.substr(0, kSegmentHeaderSize));  // every record of it torn away
  auto log = OpenOrDie(o);
  EXPECT_EQ(log->Size(), last.first_index);
  EXPECT_EQ(log->recovery_report().dropped_bytes, 0u);  // nothing partial was left to drop
  Fill(*log, last.first_index, 12);
  EXPECT_EQ(log->ReadEntry(11)->record_id(), "rec-11");
}

TEST_F(AuditLogTest, CorruptHeaderOfTheLastSegmentRefusesToOpen) {
  {
    auto log = OpenOrDie(Options(1000000, false));
    Fill(*log, 0, 5);
  }
  const std::string seg = OnlySegment();
  std::string bytes = ReadFile(seg);
  bytes[17] ^= 1;  // first_index: the header checksum no longer matches
  WriteFile(seg, bytes);
  EXPECT_TRUE(absl::IsDataLoss(AuditLog::Open(dir_.path(), Options(1000000, false)).status()));
  EXPECT_EQ(ReadFile(seg), bytes);
}

TEST_F(AuditLogTest, DamageBelowASignedCheckpointRefusesToOpenAndChangesNothing) {
  {
    auto log = OpenOrDie(Options());
    Fill(*log, 0, 10);
    ASSERT_TRUE(log->CheckpointNow().ok());
  }
  const std::string seg = OnlySegment();
  std::string bytes = ReadFile(seg);
  bytes[kSegmentHeaderSize + 20] ^= 1;  // inside entry 0's payload
  WriteFile(seg, bytes);
  absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open(dir_.path(), Options());
  EXPECT_TRUE(absl::IsDataLoss(log.status())) << log.status();
  EXPECT_EQ(ReadFile(seg), bytes);  // evidence left in place
  VerifyOptions vo;
  vo.log_key = &verifier_;
  absl::StatusOr<VerifyReport> r = VerifyLog(dir_.path(), vo);
  ASSERT_TRUE(absl::IsDataLoss(r.status()));
  EXPECT_NE(r.status().message().find("entry 0 "), std::string::npos) << r.status();
}

TEST_F(AuditLogTest, DamagedOlderSegmentRefusesToOpen) {
  AuditLogOptions o = Options(1000000, false);
  o.segment_bytes = 300;
  {
    auto log = OpenOrDie(o);
    Fill(*log, 0, 10);
  }
  auto segs = *ListSegments(dir_.path());
  ASSERT_GE(segs.size(), 2u);
  std::string first = ReadFile(segs[0].path);
  first[3] ^= 1;  // magic
  WriteFile(segs[0].path, first);
  // Open only scans the last segment, but the tree rebuild or verify reads
  // the rest: remove the tree so Open must read segment 0.
  std::filesystem::remove_all(dir_.Sub("tree"));
  EXPECT_TRUE(absl::IsDataLoss(AuditLog::Open(dir_.path(), o).status()));
  auto r = VerifyLog(dir_.path(), {});
  ASSERT_TRUE(absl::IsDataLoss(r.status()));
  EXPECT_NE(r.status().message().find("entry 0 "), std::string::npos) << r.status();
}

TEST_F(AuditLogTest, MissingOrCorruptTreeIsRebuiltFromSegments) {
  Hash root;
  {
    auto log = OpenOrDie(Options());
    Fill(*log, 0, 33);
    ASSERT_TRUE(log->CheckpointNow().ok());
    Fill(*log, 33, 40);
    root = *log->RootAt(40);
  }
  // Corrupt a level-0 hash the checkpoint covers (the root, read from
  // higher levels, still matches).
  const std::string lvl_path = dir_.Sub("tree/level-00.hashes");
  const std::string good_lvl = ReadFile(lvl_path);
  std::string lvl = good_lvl;
  lvl[5 * 32] ^= 1;
  WriteFile(lvl_path, lvl);
  {
    auto log = OpenOrDie(Options());
    EXPECT_EQ(log->recovery_report().tree_leaves_rebuilt, 40u);
    EXPECT_EQ(*log->RootAt(40), root);
    EXPECT_TRUE(log->InclusionProof(4, 40).ok());
  }
  // Without the full check on open, the damage surfaces as DataLoss from the
  // proof's self-check, never as a wrong proof.
  WriteFile(lvl_path, lvl);
  {
    AuditLogOptions o = Options();
    o.verify_tree_on_open = false;
    auto log = OpenOrDie(o);
    EXPECT_EQ(log->recovery_report().tree_leaves_rebuilt, 0u);
    EXPECT_TRUE(absl::IsDataLoss(log->InclusionProof(4, 40).status()));
    EXPECT_TRUE(absl::IsDataLoss(log->InclusionProof(5, 40).status()));
    EXPECT_TRUE(log->InclusionProof(20, 40).ok());
  }
  std::filesystem::remove_all(dir_.Sub("tree"));
  auto log = OpenOrDie(Options());
  EXPECT_EQ(*log->RootAt(40), root);
}

TEST_F(AuditLogTest, VerifyCatchesAReorderedOrRewrittenEntry) {
  {
    auto log = OpenOrDie(Options());
    Fill(*log, 0, 20);
    ASSERT_TRUE(log->CheckpointNow().ok());
  }
  // Rewrite entry 4 with a valid frame (as an insider with file access
  // would): framing passes, the checkpoint root does not.
  const std::string seg = OnlySegment();
  std::string bytes = ReadFile(seg);
  std::string rebuilt = bytes.substr(0, kSegmentHeaderSize);
  size_t pos = kSegmentHeaderSize;
  for (int i = 0; pos < bytes.size(); ++i) {
    uint32_t len = DecodeFixed32(&bytes[pos + 4]);
    std::string payload = bytes.substr(pos + kRecordHeaderSize, len);
    if (i == 4) {
      gatehouse::v1::AuditEntry e;
      e.ParseFromString(payload);
      e.set_decision(gatehouse::v1::AUDIT_DECISION_PERMIT);
      e.set_reason("nothing to see");
      e.SerializeToString(&payload);
    }
    AppendRecord(payload, &rebuilt);
    pos += kRecordHeaderSize + len;
  }
  WriteFile(seg, rebuilt);
  VerifyOptions vo;
  vo.log_key = &verifier_;
  auto r = VerifyLog(dir_.path(), vo);
  ASSERT_TRUE(absl::IsDataLoss(r.status()));
  EXPECT_NE(r.status().message().find("root does not match"), std::string::npos) << r.status();
}

TEST_F(AuditLogTest, VerifyRefusesACheckpointSignedByAnotherKey) {
  {
    auto log = OpenOrDie(Options());
    Fill(*log, 0, 4);
    ASSERT_TRUE(log->CheckpointNow().ok());
  }
  NoteSigner other = *NoteSigner::Generate("gatehouse.test/audit", kSigTypeEd25519);
  NoteVerifier ov = NoteVerifier::FromPublicKey(other.name(), 1, other.public_key());
  VerifyOptions vo;
  vo.log_key = &ov;
  EXPECT_TRUE(absl::IsDataLoss(VerifyLog(dir_.path(), vo).status()));
}

TEST_F(AuditLogTest, SecondWriterIsRefusedWhileTheFirstHoldsTheLog) {
  auto log = OpenOrDie(Options());
  EXPECT_TRUE(absl::IsFailedPrecondition(AuditLog::Open(dir_.path(), Options()).status()));
  log.reset();
  EXPECT_TRUE(AuditLog::Open(dir_.path(), Options()).ok());
}

TEST_F(AuditLogTest, AppendAsyncCallsBackOnceDurableWithEveryIndexOnce) {
  auto log = OpenOrDie(Options(50));
  constexpr int kN = 2000;
  absl::Mutex mu;
  std::vector<int> seen(kN, 0);
  int callbacks = 0;
  for (int i = 0; i < kN; ++i) {
    log->AppendAsync(MakeEntry(i), [&](absl::StatusOr<uint64_t> r) {
      absl::MutexLock lock(&mu);
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_LT(*r, uint64_t{kN});
      // Acknowledged means durable and in the tree: a proof works already.
      EXPECT_LE(*r, log->Size() - 1);
      ++seen[*r];
      ++callbacks;
    });
  }
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(+[](int* c) { return *c == kN; }, &callbacks));
  }
  for (int i = 0; i < kN; ++i) EXPECT_EQ(seen[i], 1) << i;
  EXPECT_TRUE(log->InclusionProof(kN - 1, kN).ok());
  EXPECT_LT(log->stats().batches, uint64_t{kN});  // grouped
  // Refusals call back at once, on the caller's thread.
  gatehouse::v1::AuditEntry big = MakeEntry(0);
  big.set_reason(std::string(kMaxRecordSize + 1, 'x'));
  absl::Status refused;
  log->AppendAsync(big, [&](absl::StatusOr<uint64_t> r) { refused = r.status(); });
  EXPECT_TRUE(absl::IsInvalidArgument(refused));
  ASSERT_TRUE(log->Close().ok());
  log->AppendAsync(MakeEntry(1), [&](absl::StatusOr<uint64_t> r) { refused = r.status(); });
  EXPECT_TRUE(absl::IsFailedPrecondition(refused));
}

TEST_F(AuditLogTest, CloseCommitsEverythingQueuedBeforeIt) {
  auto log = OpenOrDie(Options());
  std::atomic<int> acked{0};
  for (int i = 0; i < 500; ++i) {
    log->AppendAsync(MakeEntry(i), [&](absl::StatusOr<uint64_t> r) {
      if (r.ok()) ++acked;
    });
  }
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(acked.load(), 500);
  EXPECT_EQ(ParseCheckpoint(ParseNote(*log->LatestCheckpoint())->text)->size, 500u)
      << "Close signs a final checkpoint";
}

TEST_F(AuditLogTest, ABatchHoldsNoMoreThanMaxBatchBytesButAlwaysOneEntry) {
  AuditLogOptions o = Options();
  o.max_batch_bytes = 1;  // less than any entry: each goes alone
  auto log = OpenOrDie(o);
  constexpr int kN = 100;
  std::atomic<int> acked{0};
  for (int i = 0; i < kN; ++i) {
    log->AppendAsync(MakeEntry(i), [&](absl::StatusOr<uint64_t> r) { acked += r.ok(); });
  }
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(acked.load(), kN);
  EXPECT_EQ(log->stats().batches, uint64_t{kN});
}

TEST_F(AuditLogTest, KeyRotationNeedsThePreviousKeyToReopenAndVerify) {
  {
    auto log = OpenOrDie(Options());
    Fill(*log, 0, 5);
  }  // Close signs at 5 with the old key
  auto old_signer = signer_;
  NoteVerifier old_key = verifier_;
  signer_ = std::make_shared<NoteSigner>(*NoteSigner::Generate("gatehouse.test/audit-2027", kSigTypeEd25519));
  verifier_ = NoteVerifier::FromPublicKey(signer_->name(), kSigTypeEd25519, signer_->public_key());
  EXPECT_TRUE(absl::IsDataLoss(AuditLog::Open(dir_.path(), Options()).status()));
  {
    AuditLogOptions o = Options();
    o.previous_keys.push_back(old_key);
    auto log = OpenOrDie(o);
    Fill(*log, 5, 9);
  }
  VerifyOptions vo;
  vo.log_key = &verifier_;
  EXPECT_TRUE(absl::IsDataLoss(VerifyLog(dir_.path(), vo).status()));
  vo.previous_log_keys = {&old_key};
  auto r = VerifyLog(dir_.path(), vo);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->checkpoints, 2u);
}

TEST_F(AuditLogTest, TornCheckpointAndCosignatureFilesAreCut) {
  {
    auto log = OpenOrDie(Options());
    Fill(*log, 0, 4);
  }  // a checkpoint at 4
  // A torn checkpoint record (a crash mid-write) and a cosignature file whose
  // header never reached the disk.
  const std::string cps = CheckpointsPath(dir_.path());
  const std::string good = ReadFile(cps);
  WriteFile(cps, good + std::string("\x12\x34\x56\x78\x40\x00\x00\x00gatehouse.te", 20));
  WriteFile(CosignaturesPath(dir_.path()), "GHAUD");
  {
    auto log = OpenOrDie(Options());
    EXPECT_EQ(log->recovery_report().checkpoint_bytes_dropped, 20u);
    EXPECT_EQ(log->recovery_report().cosignature_bytes_dropped, 5u);
    EXPECT_EQ(log->recovery_report().latest_checkpoint_size, 4u);
    EXPECT_EQ(ReadFile(cps), good);
    Fill(*log, 4, 6);
    // Cosigning still works: the cosignature file is recreated.
    NoteSigner witness = *NoteSigner::Generate("council-a.test/witness", kSigTypeCosignatureV1);
    NoteVerifier wv = *NoteVerifier::FromVerifierKey(witness.VerifierKeyString());
    std::string note = *log->CheckpointNow();
    std::string text = ParseNote(note)->text;
    ASSERT_TRUE(log->AddCosignature(note + FormatSignatureLine(Cosign(text, witness, 7)), wv).ok());
  }
  VerifyOptions vo;
  vo.log_key = &verifier_;
  auto r = VerifyLog(dir_.path(), vo);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->checkpoints, 2u);
  EXPECT_EQ(r->cosignatures_unknown, 1u);
}

// The log's directory on a 256 KiB filesystem of the test's own: a refused
// write fails only its own batch, changes nothing, and once there is space
// again appends go on without reopening.
TEST_F(AuditLogTest, AFullDiskFailsOnlyTheRefusedBatchAndTheLogGoesOn) {
  const std::string dir = dir_.Sub("small");
  std::filesystem::create_directories(dir);
  std::string why;
  std::unique_ptr<gatehouse::testing::SmallTmpfs> small =
      gatehouse::testing::SmallTmpfs::Mount(dir, "256k", &why);
  if (small == nullptr) GTEST_SKIP() << "cannot mount a small tmpfs here (needs root): " << why;
  // A checkpoint after every entry: its writes meet the full disk too.
  auto opened = AuditLog::Open(dir, Options(1));
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<AuditLog> log = *std::move(opened);
  auto big = [](uint64_t i) {
    gatehouse::v1::AuditEntry e = MakeEntry(i);
    e.set_reason(std::string(48 << 10, 'r'));
    return e;
  };
  auto segment_size = [&dir] {
    auto segments = *ListSegments(dir);
    EXPECT_EQ(segments.size(), 1u);
    return segments.empty() ? 0 : std::filesystem::file_size(segments[0].path);
  };
  absl::Status refused;
  uint64_t n = 0;
  uintmax_t durable_size = 0;  // the segment's size after the last acknowledged entry
  for (; n < 100; ++n) {
    absl::StatusOr<uint64_t> idx = log->Append(big(n));
    if (!idx.ok()) {
      refused = idx.status();
      break;
    }
    ASSERT_EQ(*idx, n);
    durable_size = segment_size();
  }
  ASSERT_TRUE(absl::IsResourceExhausted(refused)) << refused;
  ASSERT_GT(n, 0u);
  // Nothing of the refused batch stays: the segment ends at the last entry
  // (the refused write had room for part of the entry before it was cut).
  EXPECT_EQ(log->Size(), n);
  EXPECT_EQ(segment_size(), durable_size);
  EXPECT_TRUE(absl::IsResourceExhausted(log->Append(big(n)).status()));
  EXPECT_EQ(segment_size(), durable_size);
  // Space returns: the same log takes entries again, at the next index.
  ASSERT_TRUE(small->Resize("8m"));
  absl::StatusOr<uint64_t> idx = log->Append(big(n));
  ASSERT_TRUE(idx.ok()) << idx.status();
  EXPECT_EQ(*idx, n);
  EXPECT_TRUE(log->InclusionProof(n, n + 1).ok());
  auto signed_size = [&]() -> uint64_t {
    absl::StatusOr<std::string> note = log->LatestCheckpoint();
    return note.ok() ? ParseCheckpoint(ParseNote(*note)->text)->size : 0;
  };
  for (int i = 0; i < 500 && signed_size() < n + 1; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(signed_size(), n + 1) << "checkpoints are signed again once there is space";
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  // Reopened: every acknowledged entry, nothing cut, and it verifies.
  opened = AuditLog::Open(dir, Options(1));
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ((*opened)->Size(), n + 1);
  EXPECT_EQ((*opened)->recovery_report().dropped_bytes, 0u);
}

// The first checkpoint meets a full disk while its file is being created:
// that file is never written to headerless, and once there is space the
// checkpoint is signed and the log reopens. (It used to write the record at
// offset 0, and the log then refused to open: "header: wrong magic".)
TEST_F(AuditLogTest, ACheckpointFileThatCouldNotBeStartedIsStartedAgain) {
  const std::string dir = dir_.Sub("small");
  std::filesystem::create_directories(dir);
  std::string why;
  std::unique_ptr<gatehouse::testing::SmallTmpfs> small =
      gatehouse::testing::SmallTmpfs::Mount(dir, "128k", &why);
  if (small == nullptr) GTEST_SKIP() << "cannot mount a small tmpfs here (needs root): " << why;
  auto opened = AuditLog::Open(dir + "/log", Options());
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<AuditLog> log = *std::move(opened);
  Fill(*log, 0, 3);
  {
    // Every page of the filesystem taken.
    std::ofstream filler(dir + "/filler", std::ios::binary);
    const std::string page(4096, 'f');
    for (int i = 0; i < 64 && filler.write(page.data(), page.size()).flush(); ++i) {
    }
  }
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::string> cp = log->CheckpointNow();
    EXPECT_TRUE(absl::IsResourceExhausted(cp.status())) << cp.status();
  }
  std::error_code ec;
  EXPECT_EQ(std::filesystem::file_size(dir + "/log/checkpoints.log", ec), 0u);
  std::filesystem::remove(dir + "/filler");
  absl::StatusOr<std::string> cp = log->CheckpointNow();
  ASSERT_TRUE(cp.ok()) << cp.status();
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  opened = AuditLog::Open(dir + "/log", Options());
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ((*opened)->Size(), 3u);
  EXPECT_EQ(ParseCheckpoint(ParseNote(*(*opened)->LatestCheckpoint())->text)->size, 3u);
}

TEST_F(AuditLogTest, AppendAfterCloseFails) {
  auto log = OpenOrDie(Options());
  ASSERT_TRUE(log->Close().ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(log->Append(MakeEntry(0)).status()));
}


// A file read with copy stays whole when its writer cuts it back while it is
// being read (as the log does after a refused write); a mapped view's pages
// past the new end would fault.
TEST(FileBytesTest, ACopyIsUnchangedByTheWriterCuttingTheFileBack) {
  testing::ScratchDir dir;
  const std::string path = dir.Sub("segment");
  std::string written(64 << 10, '\0');
  for (size_t i = 0; i < written.size(); ++i) written[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(WriteFileAtomically(path, written, 0600).ok());
  absl::StatusOr<std::unique_ptr<FileBytes>> copy = FileBytes::Open(path, /*copy=*/true);
  ASSERT_TRUE(copy.ok()) << copy.status();
  std::filesystem::resize_file(path, 100);
  EXPECT_EQ((*copy)->data(), written);
  absl::StatusOr<std::unique_ptr<FileBytes>> mapped = FileBytes::Open(path);
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_EQ((*mapped)->data(), absl::string_view(written).substr(0, 100));
}

}  // namespace
}  // namespace gatehouse::audit
