// PeerCheckpointStore's contract (gateway/store/peer_checkpoint_store.h),
// for every implementation: see store_contract.h.
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "tests/gateway/store/store_contract.h"

namespace gatehouse {
namespace {

TEST_P(PeerCheckpointStoreContract, PeerCheckpointIsKeptPerOrganisation) {
  EXPECT_EQ(checkpoints().GetPeerCheckpoint("council-a").status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(checkpoints().PutPeerCheckpoint("council-a", {5, std::string(32, 'r'), "note"}).ok());
  ASSERT_TRUE(
      checkpoints().PutPeerCheckpoint("council-a", {7, std::string(32, 's'), "note2"}).ok());
  Reopen();
  auto cp = checkpoints().GetPeerCheckpoint("council-a");
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->size, 7u);
  EXPECT_EQ(cp->root, std::string(32, 's'));
  EXPECT_EQ(cp->note, "note2");
  EXPECT_EQ(checkpoints().GetPeerCheckpoint("police-a").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(PeerCheckpointStoreContract, OneOrganisationsPutLeavesAnothersUnchanged) {
  ASSERT_TRUE(checkpoints().PutPeerCheckpoint("council-a", {5, std::string(32, 'a'), "a"}).ok());
  ASSERT_TRUE(checkpoints().PutPeerCheckpoint("police-a", {9, std::string(32, 'p'), "p"}).ok());
  absl::StatusOr<PeerCheckpoint> cp = checkpoints().GetPeerCheckpoint("council-a");
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->size, 5u);
  EXPECT_EQ(cp->root, std::string(32, 'a'));
  EXPECT_EQ(cp->note, "a");
}

}  // namespace
}  // namespace gatehouse
