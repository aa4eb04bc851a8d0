// Finding 6: `gatehouse status --proof` counted every signature line on a
// peer's checkpoint that was not the log's as a cosigner, unverified: 50
// lines by one key read "50 cosigner(s)". VerifiedCosignerOrgs counts the
// distinct directory-listed cosigners whose cosignature verifies.
#include "gateway/peer_audit.h"

#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/note.h"
#include "gtest/gtest.h"

namespace gatehouse {
namespace {

using audit::Cosign;
using audit::FormatSignatureLine;
using audit::NoteSigner;

class PeerAuditTest : public ::testing::Test {
 protected:
  PeerAuditTest()
      : log_(*NoteSigner::Generate("gatehouse.test/council-a/audit", audit::kSigTypeEd25519)) {
    for (const char* org : {"council-a", "nhs-trust-a", "police-b"}) {
      witnesses_.push_back(
          *NoteSigner::Generate(std::string("gatehouse.test/") + org, audit::kSigTypeCosignatureV1));
      v1::Organisation entry;
      entry.set_org_id(org);
      entry.set_audit_key(log_.VerifierKeyString());
      entry.set_cosigner_key(witnesses_.back().VerifierKeyString());
      directory_.push_back(entry);
    }
    audit::Checkpoint cp{log_.name(), 7, audit::HashLeaf("seven"), {}};
    text_ = audit::FormatCheckpoint(cp);
    note_ = audit::SignNote(text_, {&log_});
  }

  // The cosigners counted for `note` on council-a's log.
  std::vector<std::string> Count(const std::string& note) {
    audit::NoteVerifier v = *audit::NoteVerifier::FromVerifierKey(log_.VerifierKeyString());
    absl::StatusOr<audit::SignedCheckpoint> cp = audit::OpenCheckpoint(note, v);
    EXPECT_TRUE(cp.ok()) << cp.status();
    return cp.ok() ? VerifiedCosignerOrgs(*cp, directory_, "council-a") : std::vector<std::string>{};
  }

  NoteSigner log_;
  std::vector<NoteSigner> witnesses_;  // council-a (the log's owner), nhs-trust-a, police-b
  std::vector<v1::Organisation> directory_;
  std::string text_, note_;
};

TEST_F(PeerAuditTest, FiftyCosignaturesByOneKeyCountAsOneCosigner) {
  std::string note = note_;
  for (uint64_t t = 0; t < 50; ++t) note += FormatSignatureLine(Cosign(text_, witnesses_[1], 100 + t));
  EXPECT_EQ(Count(note), std::vector<std::string>{"nhs-trust-a"});
  note += FormatSignatureLine(Cosign(text_, witnesses_[2], 100));
  EXPECT_EQ(Count(note), (std::vector<std::string>{"nhs-trust-a", "police-b"}));
}

TEST_F(PeerAuditTest, ForgedCosignatureIsNotCounted) {
  audit::NoteSignature forged = Cosign(text_, witnesses_[1], 100);
  forged.signature[20] ^= 1;
  EXPECT_TRUE(Count(note_ + FormatSignatureLine(forged)).empty());
}

TEST_F(PeerAuditTest, CosignatureByAKeyTheDirectoryDoesNotListIsNotCounted) {
  // Same name as a listed cosigner, another key.
  NoteSigner impostor = *NoteSigner::Generate("gatehouse.test/police-b", audit::kSigTypeCosignatureV1);
  NoteSigner stranger = *NoteSigner::Generate("rogue.test/witness", audit::kSigTypeCosignatureV1);
  EXPECT_TRUE(Count(note_ + FormatSignatureLine(Cosign(text_, impostor, 1)) +
                    FormatSignatureLine(Cosign(text_, stranger, 1)))
                  .empty());
}

TEST_F(PeerAuditTest, TheLogOwnersOwnCosignatureIsNotCounted) {
  EXPECT_TRUE(Count(note_ + FormatSignatureLine(Cosign(text_, witnesses_[0], 1))).empty());
}

TEST_F(PeerAuditTest, OneKeyListedByTwoOrganisationsCountsOnce) {
  directory_[2].set_cosigner_key(witnesses_[1].VerifierKeyString());
  EXPECT_EQ(Count(note_ + FormatSignatureLine(Cosign(text_, witnesses_[1], 1))).size(), 1u);
}

}  // namespace
}  // namespace gatehouse
