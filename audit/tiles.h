// The log as C2SP tlog-tiles (https://c2sp.org/tlog-tiles): the static form
// Tessera and Sunlight serve, which any static file server can serve.
//
//   checkpoint                     the signed checkpoint note (tlog-checkpoint)
//   tile/<L>/<N>[.p/<W>]           hash tiles: 256 (W if partial) 32-byte hashes
//   tile/entries/<N>[.p/<W>]       entry bundles: entries as uint16be length || bytes
//
// Tile n at level l holds MTH(D[(n*256 + i) * 256^l : (n*256 + i + 1) * 256^l])
// for i in [0, 256): level 0 holds leaf hashes, level l > 0 the root of each
// full tile of level l - 1. For a tree of size s the last tile of level l is
// partial with floor(s / 256^l) mod 256 hashes (none if that is 0); entry
// bundle n holds the entries whose leaf hashes are level-0 tile n. <N> is
// written in 3-digit groups, all but the last prefixed "x":
// 1234067 -> "x001/x234/067" (tlog-tiles, "Merkle Tree" and "Log entries").
//
// Nothing here does I/O: TileBuilder hands each finished file to a sink, and
// TileReader and VerifyTiles read through a fetch function (a directory, an
// HTTP client, a map in a test).
//
// Thread-safety: free functions are pure. TileBuilder and TileReader are not
// thread-safe (TileReader caches tiles); use one per thread.
//
// Example (export, then prove from the tiles alone):
//   TileBuilder b([&](const std::string& path, const std::string& bytes) {
//     return WriteUnder(out, path, bytes); });
//   for (const std::string& e : entries) RETURN_IF_ERROR(b.Add(e));
//   ASSIGN_OR_RETURN(Hash root, b.Finish());
//   TileReader r(fetch, size);
//   ASSIGN_OR_RETURN(std::vector<Hash> proof, BuildInclusionProof(r, 3, size));
#ifndef GATEHOUSE_AUDIT_TILES_H_
#define GATEHOUSE_AUDIT_TILES_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "audit/checkpoint.h"
#include "audit/merkle_hasher.h"
#include "audit/merkle_tree.h"

namespace gatehouse::audit {

constexpr uint64_t kTileWidth = 256;  // hashes in a full tile (height 8)
constexpr int kTileHeight = 8;
// The largest entry an entry bundle can hold: its length is a uint16.
constexpr size_t kMaxTiledEntrySize = 65535;
// TileId::level of an entry bundle.
constexpr int kEntryBundleLevel = -1;

// One tile (level >= 0) or entry bundle (level == kEntryBundleLevel).
struct TileId {
  int level = 0;
  uint64_t index = 0;
  uint64_t width = kTileWidth;  // 1..256; below 256 the tile is partial
};

// "005", "x001/x234/067": the <N> part of a tile path.
std::string TileIndexPath(uint64_t index);

// "tile/0/x001/x234/067", "tile/1/000.p/17", "tile/entries/001.p/5".
// REQUIRES: 1 <= t.width <= 256 and -1 <= t.level <= 63.
std::string TilePath(const TileId& t);

// The width of tile `index` at `level` (kEntryBundleLevel: as level 0) in a
// tree of `size`: 256 for a full tile, 1..255 for the partial one, 0 if the
// tree has no such tile.
uint64_t TileWidthAt(int level, uint64_t index, uint64_t size);

// Appends `entry` to an entry bundle. ResourceExhausted (bundle unchanged)
// if it is longer than kMaxTiledEntrySize.
absl::Status AppendToEntryBundle(absl::string_view entry, std::string* bundle);

// The entries of a bundle, viewing `bundle`. DataLoss if a length runs past
// the end.
absl::StatusOr<std::vector<absl::string_view>> SplitEntryBundle(absl::string_view bundle);

// Writes the tiles of a log one entry at a time, handing each file to a sink
// as soon as it is final: full tiles and bundles during Add, the partial
// ones in Finish. Memory: at most 256 hashes a level.
class TileBuilder {
 public:
  // Called with a tile path ("tile/0/000") and its bytes. An error stops the
  // builder: Add and Finish return it.
  using Sink = std::function<absl::Status(const std::string& path, const std::string& bytes)>;

  explicit TileBuilder(Sink sink) : sink_(std::move(sink)) {}

  // Appends entry size(). ResourceExhausted (nothing changed) if the entry
  // is over kMaxTiledEntrySize; the sink's error if writing a tile failed.
  absl::Status Add(absl::string_view entry);
  // Writes the partial tiles and returns the root of the size() entries.
  // Call once; REQUIRES: no Add after it.
  absl::StatusOr<Hash> Finish();
  uint64_t size() const { return range_.size(); }

 private:
  absl::Status Emit(int level, const std::vector<Hash>& hashes);
  absl::Status Carry();  // writes every full tile and moves its root up a level

  Sink sink_;
  std::string bundle_;
  std::vector<std::vector<Hash>> pending_;  // hashes of each level's unfinished tile
  std::vector<uint64_t> full_tiles_;        // full tiles written, by level
  CompactRange range_;                      // for the root
  absl::Status failed_;                     // the first sink error, returned from then on
};

// Fetches a file of the tiles by its path ("checkpoint", "tile/0/000").
// NotFound if it does not exist; any other error is passed on.
using TileFetcher = std::function<absl::StatusOr<std::string>(const std::string& path)>;

// The tree of `size` entries read from its hash tiles: a NodeReader for
// TreeRoot, BuildInclusionProof and BuildConsistencyProof (merkle_tree.h),
// for any tree size up to `size`. It trusts the tiles: run VerifyTiles first.
class TileReader : public NodeReader {
 public:
  TileReader(TileFetcher fetch, uint64_t size) : fetch_(std::move(fetch)), size_(size) {}

  // NotFound if the node is not complete in the tree of size(); DataLoss if
  // a tile it needs is missing or has the wrong length; else the fetcher's
  // error.
  absl::StatusOr<Hash> GetNode(int level, uint64_t index) const override;
  uint64_t size() const { return size_; }

  // The hashes of hash tile (level, index) at its width in size(), fetched
  // once. Errors as GetNode.
  absl::StatusOr<const std::vector<Hash>*> HashTile(int level, uint64_t index) const;

 private:
  TileFetcher fetch_;
  uint64_t size_;
  mutable std::map<std::pair<int, uint64_t>, std::vector<Hash>> cache_;
};

// The checkpoint file: a signed note whose body is a tlog-checkpoint.
constexpr char kCheckpointFile[] = "checkpoint";

struct TilesReport {
  uint64_t entries = 0;
  uint64_t entry_bundles = 0;
  uint64_t hash_tiles = 0;
  Hash root{};
};

// Called with each entry in order; an error stops VerifyTiles and is returned.
using TiledEntryFn = std::function<absl::Status(uint64_t index, absl::string_view entry)>;

// Checks the tiles of `checkpoint`'s tree from the tiles alone (the caller
// checks the checkpoint's signature): every entry bundle holds exactly its
// tile's width of entries whose leaf hashes are the level-0 tile's hashes;
// every hash of a level-l tile (l > 0) is the root of the full tile below it;
// the root recomputed from the tiles is the checkpoint's root. Calls
// `each` (if set) with every entry. Returns counts and the root, or DataLoss
// naming the first tile that does not match or is missing.
absl::StatusOr<TilesReport> VerifyTiles(const TileFetcher& fetch, const Checkpoint& checkpoint,
                                        const TiledEntryFn& each = nullptr);

}  // namespace gatehouse::audit

#endif  // GATEHOUSE_AUDIT_TILES_H_
