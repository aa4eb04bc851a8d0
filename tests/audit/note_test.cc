// Signed notes and checkpoints against the Go reference implementation's
// test vector (golang.org/x/mod/sumdb/note note_test.go): the PeterNeumann
// key and note. Ed25519 is deterministic, so signing the text with the skey
// must reproduce the published signature byte for byte. Recompute the key id
// with:  printf 'PeterNeumann\n\x01' > m; echo ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW
//        | base64 -d | tail -c 32 >> m; sha256sum m | cut -c1-8   -> c74f20a3
#include "audit/note.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "audit/checkpoint.h"
#include "gtest/gtest.h"

namespace gatehouse::audit {
namespace {

constexpr char kVkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr char kSkey[] = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr char kText[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr char kSigLine[] =
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

TEST(NoteTest, GoReferenceVectorSignsByteForByte) {
  absl::StatusOr<NoteSigner> signer = NoteSigner::FromPrivateKey(kSkey);
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(signer->key_id(), 0xc74f20a3u);
  EXPECT_EQ(signer->VerifierKeyString(), kVkey);
  EXPECT_EQ(SignNote(kText, {&*signer}), std::string(kText) + "\n" + kSigLine);
}

TEST(NoteTest, GoReferenceVectorOpens) {
  absl::StatusOr<NoteVerifier> v = NoteVerifier::FromVerifierKey(kVkey);
  ASSERT_TRUE(v.ok()) << v.status();
  absl::StatusOr<Note> n = OpenNote(std::string(kText) + "\n" + kSigLine, {&*v});
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->text, kText);
}

TEST(NoteTest, ModifiedTextIsRejected) {
  NoteVerifier v = *NoteVerifier::FromVerifierKey(kVkey);
  std::string note = std::string(kText) + "\n" + kSigLine;
  note[3] ^= 1;
  EXPECT_TRUE(absl::IsDataLoss(OpenNote(note, {&v}).status()));
}

TEST(NoteTest, UnknownKeyOnlyIsUnauthenticated) {
  NoteSigner other = *NoteSigner::Generate("PeterNeumann", kSigTypeEd25519);
  NoteVerifier v = *NoteVerifier::FromVerifierKey(kVkey);
  // Same name, different id: ignored, so nothing verifies.
  EXPECT_TRUE(absl::IsUnauthenticated(OpenNote(SignNote(kText, {&other}), {&v}).status()));
}

TEST(NoteTest, MalformedNotesAreInvalidArgument) {
  NoteVerifier v = *NoteVerifier::FromVerifierKey(kVkey);
  const std::string good = std::string(kText) + "\n" + kSigLine;
  for (const std::string& bad : {
           std::string(kText) + kSigLine,                        // no blank line
           std::string(kText) + "\n",                            // no signatures
           good.substr(0, good.size() - 1),                      // no final newline
           std::string(kText) + "\n" + "- PeterNeumann AAAA\n",  // hyphen, not em dash
           std::string("a\tb\n\n") + kSigLine,                   // control character
           std::string("\xff\n\n") + kSigLine,                   // not UTF-8
           std::string(kText) + "\n\xE2\x80\x94 PeterNeumann x08go/ZJk!\n",  // bad base64
       }) {
    EXPECT_TRUE(absl::IsInvalidArgument(OpenNote(bad, {&v}).status())) << bad;
  }
}

TEST(NoteTest, BadKeyStringsAreRefused) {
  std::string k = kVkey;
  EXPECT_FALSE(NoteVerifier::FromVerifierKey(k.substr(0, k.size() - 1)).ok());
  std::string wrong_id = k;
  wrong_id[13] = wrong_id[13] == '0' ? '1' : '0';
  EXPECT_FALSE(NoteVerifier::FromVerifierKey(wrong_id).ok());
  EXPECT_FALSE(NoteVerifier::FromVerifierKey("Peter Neumann+c74f20a3+AAAA").ok());
  EXPECT_FALSE(NoteSigner::FromPrivateKey(kVkey).ok());
}

TEST(CheckpointTest, FormatParseRoundTrip) {
  Checkpoint cp;
  cp.origin = "gatehouse.example/audit/health-a";
  cp.size = 20852163;
  cp.root = HashLeaf("x");
  std::string text = FormatCheckpoint(cp);
  absl::StatusOr<Checkpoint> back = ParseCheckpoint(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->origin, cp.origin);
  EXPECT_EQ(back->size, cp.size);
  EXPECT_EQ(back->root, cp.root);
}

TEST(CheckpointTest, NonCanonicalBodiesAreRefused) {
  const std::string root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
  for (const std::string& bad : {
           "origin\n012\n" + root + "\n",           // leading zero
           "origin\n-1\n" + root + "\n",            // sign
           "origin\n18446744073709551616\n" + root + "\n",  // overflows u64
           "origin\n12\n" + root + "\n\n",          // empty extension line
           "origin\n12\n" + root,                   // no final newline
           std::string("origin\n12\nAAAA\n"),       // root too short
           "\n12\n" + root + "\n",                  // empty origin
           std::string("origin\n12\n"),             // two lines
       }) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseCheckpoint(bad).status())) << bad;
  }
  EXPECT_TRUE(ParseCheckpoint("origin\n0\n" + root + "\n").ok());
}

TEST(CheckpointTest, OriginMustBeTheKeyName) {
  NoteSigner log = *NoteSigner::Generate("gatehouse.example/a", kSigTypeEd25519);
  NoteVerifier v = NoteVerifier::FromPublicKey(log.name(), kSigTypeEd25519, log.public_key());
  Checkpoint cp{"gatehouse.example/b", 3, HashLeaf("y"), {}};
  EXPECT_TRUE(absl::IsInvalidArgument(OpenCheckpoint(SignNote(FormatCheckpoint(cp), {&log}), v).status()));
  cp.origin = "gatehouse.example/a";
  EXPECT_TRUE(OpenCheckpoint(SignNote(FormatCheckpoint(cp), {&log}), v).ok());
}

TEST(CosignatureTest, SignVerifyAndTamper) {
  NoteSigner witness = *NoteSigner::Generate("council-a.example/witness", kSigTypeCosignatureV1);
  NoteVerifier wv = *NoteVerifier::FromVerifierKey(witness.VerifierKeyString());
  const std::string text = "gatehouse.example/a\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  NoteSignature sig = Cosign(text, witness, 1679315147);
  EXPECT_EQ(sig.signature.size(), 72u);
  absl::StatusOr<uint64_t> ts = VerifyCosignature(text, sig, wv);
  ASSERT_TRUE(ts.ok()) << ts.status();
  EXPECT_EQ(*ts, 1679315147u);
  NoteSignature later = sig;
  later.signature[7] ^= 1;  // claim another time
  EXPECT_TRUE(absl::IsDataLoss(VerifyCosignature(text, later, wv).status()));
  EXPECT_TRUE(absl::IsDataLoss(VerifyCosignature(text + "ext\n", sig, wv).status()));
  NoteVerifier as_note_key =
      NoteVerifier::FromPublicKey(witness.name(), kSigTypeEd25519, witness.public_key());
  EXPECT_TRUE(absl::IsNotFound(VerifyCosignature(text, sig, as_note_key).status()));
  // The key id commits to the type byte: 0x04 and 0x01 ids differ.
  EXPECT_NE(NoteKeyId(witness.name(), 0x04, witness.public_key()),
            NoteKeyId(witness.name(), 0x01, witness.public_key()));
}

// Finding 6: one cosigner's line repeated with new timestamps was counted
// once a line. VerifiedCosigners counts keys, and only lines that verify.
TEST(CosignatureTest, FiftyCosignaturesByOneKeyCountAsOneCosigner) {
  NoteSigner witness = *NoteSigner::Generate("council-a.example/witness", kSigTypeCosignatureV1);
  NoteSigner second = *NoteSigner::Generate("police-b.example/witness", kSigTypeCosignatureV1);
  NoteSigner stranger = *NoteSigner::Generate("rogue.example/witness", kSigTypeCosignatureV1);
  NoteVerifier wv = *NoteVerifier::FromVerifierKey(witness.VerifierKeyString());
  NoteVerifier sv = *NoteVerifier::FromVerifierKey(second.VerifierKeyString());
  const std::string text = "gatehouse.example/a\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  std::vector<NoteSignature> sigs;
  for (uint64_t t = 0; t < 50; ++t) sigs.push_back(Cosign(text, witness, 1700000000 + t));
  NoteSignature forged = Cosign(text, second, 1700000000);
  forged.signature[40] ^= 1;
  sigs.push_back(forged);
  sigs.push_back(Cosign(text, stranger, 1700000000));
  std::vector<const NoteVerifier*> got = VerifiedCosigners(text, sigs, {&wv, &sv, &wv});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], &wv);
  sigs.push_back(Cosign(text, second, 1700000001));
  EXPECT_EQ(VerifiedCosigners(text, sigs, {&wv, &sv}).size(), 2u);
  EXPECT_TRUE(VerifiedCosigners(text + "ext\n", sigs, {&wv, &sv}).empty());
}

TEST(NoteTest, SignatureLineParsesAloneAndOnlyAsOneLine) {
  std::string line(kSigLine);
  line.pop_back();
  absl::StatusOr<NoteSignature> sig = ParseSignatureLine(line);
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(sig->name, "PeterNeumann");
  EXPECT_EQ(sig->key_id, 0xc74f20a3u);
  EXPECT_EQ(FormatSignatureLine(*sig), kSigLine);
  EXPECT_TRUE(absl::IsInvalidArgument(ParseSignatureLine(kSigLine).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseSignatureLine(line + "\n" + line).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseSignatureLine("").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ParseSignatureLine(line.substr(4)).status()));
}

}  // namespace
}  // namespace gatehouse::audit
