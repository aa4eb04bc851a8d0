// C2SP tlog-tiles (audit/tiles.h): path known answers from the spec
// (c2sp.org/tlog-tiles) and Go's golang.org/x/mod/sumdb/tlog tests, tile widths
// from the spec's examples, entry bundles, and for trees of 0 .. 256*256+3
// entries: roots and proofs from the tiles alone equal those of the whole
// tree in memory. Then tampered tiles, each refused naming what is wrong.
#include "audit/tiles.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "audit/merkle_tree.h"
#include "gtest/gtest.h"

namespace gatehouse::audit {
namespace {

// Tiles in memory: path -> bytes.
using Files = std::map<std::string, std::string>;

TileFetcher FetchFrom(const Files& files) {
  return [&files](const std::string& path) -> absl::StatusOr<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return absl::NotFoundError(path);
    return it->second;
  };
}

std::string Entry(uint64_t i) { return absl::StrCat("entry-", i, std::string(i % 7, 'x')); }

// The tiles of a tree of `size` entries, and the same tree in memory.
struct Tiled {
  Files files;
  MemoryTree tree;
  Checkpoint checkpoint;
};

Tiled Build(uint64_t size) {
  Tiled t;
  TileBuilder b([&t](const std::string& path, const std::string& bytes) {
    EXPECT_EQ(t.files.count(path), 0u) << path << " written twice";
    t.files[path] = bytes;
    return absl::OkStatus();
  });
  for (uint64_t i = 0; i < size; ++i) {
    EXPECT_TRUE(b.Add(Entry(i)).ok());
    t.tree.Append(HashLeaf(Entry(i)));
  }
  absl::StatusOr<Hash> root = b.Finish();
  EXPECT_TRUE(root.ok()) << root.status();
  t.checkpoint.origin = "gatehouse.test/tiles";
  t.checkpoint.size = size;
  t.checkpoint.root = *root;
  return t;
}

TEST(TilePathTest, IndexInThreeDigitGroupsAsTheSpecSays) {
  EXPECT_EQ(TileIndexPath(1234067), "x001/x234/067");  // tlog-tiles, "Merkle Tree"
  // golang.org/x/mod/sumdb/tlog tlog_test.go tilePaths, without the height.
  EXPECT_EQ(TileIndexPath(1), "001");
  EXPECT_EQ(TileIndexPath(123456078), "x123/x456/078");
  EXPECT_EQ(TileIndexPath(3057500), "x003/x057/500");
  EXPECT_EQ(TileIndexPath(0), "000");
  EXPECT_EQ(TileIndexPath(999), "999");
  EXPECT_EQ(TileIndexPath(1000), "x001/000");
  EXPECT_EQ(TileIndexPath(UINT64_MAX), "x018/x446/x744/x073/x709/x551/615");
}

TEST(TilePathTest, FullPartialAndEntryBundlePaths) {
  // Go's "tile/4/0/001", "tile/4/0/001.p/5", "tile/3/5/x123/x456/078.p/2",
  // "tile/1/data/x003/x057/500" in C2SP's form (no height; data -> entries).
  EXPECT_EQ(TilePath({0, 1, 256}), "tile/0/001");
  EXPECT_EQ(TilePath({0, 1, 5}), "tile/0/001.p/5");
  EXPECT_EQ(TilePath({5, 123456078, 256}), "tile/5/x123/x456/078");
  EXPECT_EQ(TilePath({5, 123456078, 2}), "tile/5/x123/x456/078.p/2");
  EXPECT_EQ(TilePath({kEntryBundleLevel, 3057500, 256}), "tile/entries/x003/x057/500");
  EXPECT_EQ(TilePath({kEntryBundleLevel, 0, 45}), "tile/entries/000.p/45");
}

// tlog-tiles, "Partial Tiles": "a tree of size 70,000 will be represented by
// 273 full level 0 tiles, one partial level 0 tile of width 112, one full
// level 1 tile, one partial level 1 tile of width 17, and one partial level 2
// tile of width 1".
TEST(TileWidthTest, TheSpecsTreeOf70000) {
  EXPECT_EQ(TileWidthAt(0, 272, 70000), 256u);
  EXPECT_EQ(TileWidthAt(0, 273, 70000), 112u);
  EXPECT_EQ(TileWidthAt(0, 274, 70000), 0u);
  EXPECT_EQ(TileWidthAt(kEntryBundleLevel, 273, 70000), 112u);
  EXPECT_EQ(TileWidthAt(1, 0, 70000), 256u);
  EXPECT_EQ(TileWidthAt(1, 1, 70000), 17u);
  EXPECT_EQ(TileWidthAt(1, 2, 70000), 0u);
  EXPECT_EQ(TileWidthAt(2, 0, 70000), 1u);
  EXPECT_EQ(TileWidthAt(3, 0, 70000), 0u);
  EXPECT_EQ(TileWidthAt(8, 0, UINT64_MAX), 0u);  // no shift past 63 bits
}

// "a tree of size 256 will be represented by a full level 0 tile and a
// partial level 1 tile of width 1".
TEST(TileBuilderTest, TheSpecsTreeOf256WritesExactlyItsTiles) {
  Tiled t = Build(256);
  std::vector<std::string> paths;
  for (const auto& [path, bytes] : t.files) paths.push_back(path);
  EXPECT_EQ(paths, (std::vector<std::string>{"tile/0/000", "tile/1/000.p/1", "tile/entries/000"}));
  EXPECT_EQ(t.files["tile/0/000"].size(), 8192u);
  EXPECT_EQ(t.files["tile/1/000.p/1"], HashToBytes(*TreeRoot(t.tree, 256)));
}

TEST(TileBuilderTest, EmptyTreeWritesNoTiles) {
  Tiled t = Build(0);
  EXPECT_TRUE(t.files.empty());
  EXPECT_EQ(t.checkpoint.root, EmptyRoot());
  EXPECT_TRUE(VerifyTiles(FetchFrom(t.files), t.checkpoint).ok());
}

TEST(EntryBundleTest, BigEndianUint16LengthPrefixes) {
  std::string bundle;
  ASSERT_TRUE(AppendToEntryBundle("ab", &bundle).ok());
  ASSERT_TRUE(AppendToEntryBundle("", &bundle).ok());
  ASSERT_TRUE(AppendToEntryBundle(std::string(300, 'z'), &bundle).ok());
  EXPECT_EQ(bundle.substr(0, 6), std::string("\x00\x02"
                                             "ab\x00\x00",
                                             6));
  EXPECT_EQ(bundle.substr(6, 2), "\x01\x2c");  // 300
  auto entries = SplitEntryBundle(bundle);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(*entries, (std::vector<absl::string_view>{"ab", "", std::string(300, 'z')}));
}

TEST(EntryBundleTest, EntryOver65535BytesIsRefusedAndBundleUnchanged) {
  std::string bundle = "\x00\x01q";
  EXPECT_TRUE(AppendToEntryBundle(std::string(65535, 'a'), &bundle).ok());
  const std::string before = bundle;
  absl::Status s = AppendToEntryBundle(std::string(65536, 'a'), &bundle);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("65535"), std::string::npos) << s;
  EXPECT_EQ(bundle, before);
  TileBuilder b([](const std::string&, const std::string&) { return absl::OkStatus(); });
  EXPECT_EQ(b.Add(std::string(70000, 'a')).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(*b.Finish(), EmptyRoot());
}

TEST(EntryBundleTest, TruncatedBundleIsDataLoss) {
  EXPECT_EQ(SplitEntryBundle(std::string("\x00\x05"
                                         "abc",
                                         5))
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(SplitEntryBundle(std::string("\x00\x01"
                                         "a\x00",
                                         4))
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
  EXPECT_TRUE(SplitEntryBundle("")->empty());
}

TEST(TileBuilderTest, SinkErrorStopsTheBuilder) {
  int calls = 0;
  TileBuilder b([&](const std::string&, const std::string&) {
    ++calls;
    return absl::UnavailableError("disk full");
  });
  for (int i = 0; i < 255; ++i) ASSERT_TRUE(b.Add("e").ok());
  EXPECT_EQ(b.Add("e").code(), absl::StatusCode::kUnavailable);  // the 256th writes tile 0
  EXPECT_EQ(b.Add("e").code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(b.Finish().ok());
  EXPECT_EQ(calls, 1);
}

// Roots and proofs from the tiles alone equal those of the whole tree.
class TiledTreeTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(TiledTreeTest, RootAndProofsFromTilesEqualTheWholeTrees) {
  const uint64_t size = GetParam();
  Tiled t = Build(size);
  EXPECT_EQ(t.checkpoint.root, *TreeRoot(t.tree, size));
  uint64_t seen = 0;
  absl::StatusOr<TilesReport> r =
      VerifyTiles(FetchFrom(t.files), t.checkpoint, [&](uint64_t i, absl::string_view e) {
        EXPECT_EQ(i, seen++);
        EXPECT_EQ(e, Entry(i));
        return absl::OkStatus();
      });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(seen, size);
  EXPECT_EQ(r->entry_bundles, (size + 255) / 256);
  TileReader reader(FetchFrom(t.files), size);
  std::vector<uint64_t> points = {0,   1,   2,     127,   254,      255,      256,      257,
                                  511, 512, 65535, 65536, size / 2, size - 2, size - 1, size};
  for (uint64_t i : points) {
    if (i > size) continue;
    EXPECT_EQ(*TreeRoot(reader, i), *TreeRoot(t.tree, i)) << "root at " << i;
    if (i < size) {
      auto from_tiles = BuildInclusionProof(reader, i, size);
      ASSERT_TRUE(from_tiles.ok()) << from_tiles.status();
      EXPECT_EQ(*from_tiles, *BuildInclusionProof(t.tree, i, size)) << "inclusion of " << i;
      EXPECT_EQ(*BuildInclusionProof(reader, i, size - (size - i) / 2),
                *BuildInclusionProof(t.tree, i, size - (size - i) / 2));
    }
    for (uint64_t j : {i, (i + size) / 2, size}) {
      auto from_tiles = BuildConsistencyProof(reader, i, j);
      ASSERT_TRUE(from_tiles.ok()) << from_tiles.status();
      EXPECT_EQ(*from_tiles, *BuildConsistencyProof(t.tree, i, j)) << i << " -> " << j;
    }
  }
  EXPECT_EQ(reader.GetNode(0, size).status().code(), absl::StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Sizes, TiledTreeTest,
                         ::testing::Values(1, 2, 3, 255, 256, 257, 511, 513, 256 * 256 - 1,
                                           256 * 256, 256 * 256 + 3));

// Tampering: a tree of 256*256+3 entries (three levels), one change each.
class TamperedTilesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { tiled_ = new Tiled(Build(256 * 256 + 3)); }
  static void TearDownTestSuite() { delete tiled_; }
  void SetUp() override { files_ = tiled_->files; }
  absl::Status Verify() { return VerifyTiles(FetchFrom(files_), tiled_->checkpoint).status(); }
  static Tiled* tiled_;
  Files files_;
};
Tiled* TamperedTilesTest::tiled_ = nullptr;

TEST_F(TamperedTilesTest, UntouchedVerifies) { EXPECT_TRUE(Verify().ok()); }

TEST_F(TamperedTilesTest, OneByteOfAnEntryBundleChanged) {
  files_["tile/entries/100"][40] ^= 0x01;
  absl::Status s = Verify();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("(tile/entries/100): its leaf hash is not tile/0/100's hash"),
            std::string::npos)
      << s;
}

TEST_F(TamperedTilesTest, OneByteOfTheLastPartialBundleChanged) {
  files_["tile/entries/256.p/3"].back() ^= 0x01;
  absl::Status s = Verify();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("entry 65538 "), std::string::npos) << s;
}

TEST_F(TamperedTilesTest, ExtraEntryInABundle) {
  ASSERT_TRUE(AppendToEntryBundle("smuggled", &files_["tile/entries/007"]).ok());
  EXPECT_NE(Verify().message().find("holds 257 entries, want 256"), std::string::npos) << Verify();
}

TEST_F(TamperedTilesTest, LevelOneHashChanged) {
  files_["tile/1/000"][32 * 5] ^= 0x80;
  absl::Status s = Verify();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("tile/1/000: hash 5 is not the root of tile/0/005"), std::string::npos)
      << s;
}

TEST_F(TamperedTilesTest, TopTileChangedBreaksTheRoot) {
  files_["tile/2/000.p/1"][0] ^= 0x01;
  absl::Status s = Verify();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("hash 0 is not the root of tile/1/000"), std::string::npos) << s;
}

TEST_F(TamperedTilesTest, LevelZeroTileAndItsBundleChangedTogetherBreakTheLevelAbove) {
  std::string bundle;
  for (int i = 0; i < 256; ++i) ASSERT_TRUE(AppendToEntryBundle("forged", &bundle).ok());
  files_["tile/entries/009"] = bundle;
  std::string tile;
  for (int i = 0; i < 256; ++i) tile += HashToBytes(HashLeaf("forged"));
  files_["tile/0/009"] = tile;
  EXPECT_NE(Verify().message().find("tile/1/000: hash 9 is not the root of tile/0/009"),
            std::string::npos)
      << Verify();
}

TEST_F(TamperedTilesTest, TileDeleted) {
  files_.erase("tile/0/144");
  absl::Status s = Verify();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("tile/0/144 is missing"), std::string::npos) << s;
  files_ = tiled_->files;
  files_.erase("tile/entries/256.p/3");
  EXPECT_NE(Verify().message().find("tile/entries/256.p/3 is missing"), std::string::npos);
}

TEST_F(TamperedTilesTest, TileCutShort) {
  files_["tile/0/256.p/3"].pop_back();
  EXPECT_NE(Verify().message().find("tile/0/256.p/3 is 95 bytes, want 96 (3 hashes)"),
            std::string::npos)
      << Verify();
}

TEST_F(TamperedTilesTest, CheckpointRootOrSizeDiffers) {
  Checkpoint cp = tiled_->checkpoint;
  cp.root[0] ^= 0x01;
  absl::Status s = VerifyTiles(FetchFrom(files_), cp).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("is not the checkpoint's root"), std::string::npos) << s;
  cp = tiled_->checkpoint;
  cp.size += 1;  // the tiles of size+1 (tile/0/256.p/4) are not there
  EXPECT_NE(VerifyTiles(FetchFrom(files_), cp).status().message().find("256.p/4 is missing"),
            std::string::npos);
}

TEST_F(TamperedTilesTest, EntryCallbackErrorIsReturned) {
  absl::Status s =
      VerifyTiles(FetchFrom(files_), tiled_->checkpoint, [](uint64_t i, absl::string_view) {
        return i == 300 ? absl::DataLossError("entry 300: bad") : absl::OkStatus();
      }).status();
  EXPECT_EQ(s.message(), "entry 300: bad");
}

}  // namespace
}  // namespace gatehouse::audit
