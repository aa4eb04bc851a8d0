#include "audit/tiles.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace gatehouse::audit {
namespace {

// The number of hashes level `level` holds in a tree of `size`: one per
// perfect subtree of 256^level leaves. 0 past the top.
uint64_t HashesAtLevel(int level, uint64_t size) {
  const int shift = kTileHeight * level;
  return shift >= 64 ? 0 : size >> shift;
}

// The root of `n` hashes, n a power of two, taken as the leaves of a perfect
// subtree: the tile's inner levels (tlog-tiles: "the Merkle Tree levels
// between those expressed by the tile hashes are reconstructed by hashing").
Hash FoldPerfect(const Hash* hashes, uint64_t n) {
  CompactRange range;
  for (uint64_t i = 0; i < n; ++i) range.Append(hashes[i]);
  return range.Root();
}

std::string HashesToBytes(const std::vector<Hash>& hashes) {
  std::string out;
  out.reserve(hashes.size() * kHashSize);
  for (const Hash& h : hashes) out.append(reinterpret_cast<const char*>(h.data()), h.size());
  return out;
}

// Fetches `path`; a missing file is DataLoss, since the checkpoint's tree
// needs every tile it asks for.
absl::StatusOr<std::string> FetchNeeded(const TileFetcher& fetch, const std::string& path) {
  absl::StatusOr<std::string> bytes = fetch(path);
  if (absl::IsNotFound(bytes.status())) {
    return absl::DataLossError(absl::StrCat(path, " is missing (the checkpoint's tree needs it)"));
  }
  return bytes;
}

// Hash tile (level, index) at its width in a tree of `size`, uncached.
absl::StatusOr<std::vector<Hash>> FetchHashTile(const TileFetcher& fetch, int level, uint64_t index,
                                                uint64_t size) {
  const uint64_t width = TileWidthAt(level, index, size);
  if (level < 0 || width == 0) {
    return absl::NotFoundError(
        absl::StrCat("a tree of size ", size, " has no tile ", index, " at level ", level));
  }
  const std::string path = TilePath({level, index, width});
  ASSIGN_OR_RETURN(std::string bytes, FetchNeeded(fetch, path));
  if (bytes.size() != width * kHashSize) {
    return absl::DataLossError(absl::StrCat(path, " is ", bytes.size(), " bytes, want ",
                                            width * kHashSize, " (", width, " hashes)"));
  }
  std::vector<Hash> out(width);
  for (uint64_t i = 0; i < width; ++i) std::memcpy(out[i].data(), &bytes[i * kHashSize], kHashSize);
  return out;
}

// Level 0: entry bundle `index` holds exactly the entries whose leaf hashes
// are `tile`'s.
absl::Status CheckEntryBundle(const TileFetcher& fetch, uint64_t index,
                              const std::vector<Hash>& tile, const TiledEntryFn& each) {
  const std::string path = TilePath({kEntryBundleLevel, index, tile.size()});
  ASSIGN_OR_RETURN(std::string bytes, FetchNeeded(fetch, path));
  absl::StatusOr<std::vector<absl::string_view>> entries = SplitEntryBundle(bytes);
  if (!entries.ok())
    return absl::DataLossError(absl::StrCat(path, ": ", entries.status().message()));
  if (entries->size() != tile.size()) {
    return absl::DataLossError(
        absl::StrCat(path, " holds ", entries->size(), " entries, want ", tile.size()));
  }
  for (uint64_t i = 0; i < tile.size(); ++i) {
    const uint64_t entry = index * kTileWidth + i;
    if (HashLeaf((*entries)[i]) != tile[i]) {
      return absl::DataLossError(absl::StrCat("entry ", entry, " (", path,
                                              "): its leaf hash is not ",
                                              TilePath({0, index, tile.size()}), "'s hash ", i));
    }
    if (each) RETURN_IF_ERROR(each(entry, (*entries)[i]));
  }
  return absl::OkStatus();
}

// Level > 0: hash i of tile `index` is the root of full tile index*256 + i of
// the level below, whose roots are `below`.
absl::Status CheckAgainstBelow(int level, uint64_t index, const std::vector<Hash>& tile,
                               const std::vector<Hash>& below) {
  for (uint64_t i = 0; i < tile.size(); ++i) {
    const uint64_t child = index * kTileWidth + i;
    if (child >= below.size() || below[child] != tile[i]) {
      return absl::DataLossError(absl::StrCat(TilePath({level, index, tile.size()}), ": hash ", i,
                                              " is not the root of ",
                                              TilePath({level - 1, child, kTileWidth})));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string TileIndexPath(uint64_t index) {
  std::string out = absl::StrFormat("%03d", index % 1000);
  for (index /= 1000; index > 0; index /= 1000) {
    out = absl::StrFormat("x%03d/", index % 1000) + out;
  }
  return out;
}

std::string TilePath(const TileId& t) {
  std::string out =
      t.level == kEntryBundleLevel ? "tile/entries/" : absl::StrCat("tile/", t.level, "/");
  absl::StrAppend(&out, TileIndexPath(t.index));
  if (t.width < kTileWidth) absl::StrAppend(&out, ".p/", t.width);
  return out;
}

uint64_t TileWidthAt(int level, uint64_t index, uint64_t size) {
  const uint64_t count = HashesAtLevel(level < 0 ? 0 : level, size);
  const uint64_t full = count / kTileWidth;
  if (index < full) return kTileWidth;
  return index == full ? count % kTileWidth : 0;
}

absl::Status AppendToEntryBundle(absl::string_view entry, std::string* bundle) {
  if (entry.size() > kMaxTiledEntrySize) {
    return absl::ResourceExhaustedError(
        absl::StrCat("an entry of ", entry.size(),
                     " bytes cannot be tiled: a C2SP tlog-tiles entry bundle "
                     "holds at most ",
                     kMaxTiledEntrySize, " bytes an entry (a big-endian uint16 length)"));
  }
  bundle->push_back(static_cast<char>(entry.size() >> 8));
  bundle->push_back(static_cast<char>(entry.size() & 0xff));
  bundle->append(entry.data(), entry.size());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<absl::string_view>> SplitEntryBundle(absl::string_view bundle) {
  std::vector<absl::string_view> out;
  size_t at = 0;
  while (at < bundle.size()) {
    if (bundle.size() - at < 2) return absl::DataLossError("a length prefix is cut short");
    const size_t n = (static_cast<uint8_t>(bundle[at]) << 8) | static_cast<uint8_t>(bundle[at + 1]);
    at += 2;
    if (bundle.size() - at < n) {
      return absl::DataLossError(
          absl::StrCat("entry ", out.size(), " of the bundle runs past its end"));
    }
    out.push_back(bundle.substr(at, n));
    at += n;
  }
  return out;
}

absl::Status TileBuilder::Add(absl::string_view entry) {
  RETURN_IF_ERROR(failed_);
  absl::Status appended = AppendToEntryBundle(entry, &bundle_);
  if (!appended.ok()) {
    return absl::Status(appended.code(), absl::StrCat("entry ", size(), ": ", appended.message()));
  }
  const Hash leaf = HashLeaf(entry);
  range_.Append(leaf);
  if (pending_.empty()) {
    pending_.emplace_back();
    full_tiles_.push_back(0);
  }
  pending_[0].push_back(leaf);
  failed_ = Carry();
  return failed_;
}

absl::Status TileBuilder::Carry() {
  for (size_t level = 0; level < pending_.size() && pending_[level].size() == kTileWidth; ++level) {
    RETURN_IF_ERROR(Emit(static_cast<int>(level), pending_[level]));
    const Hash root = FoldPerfect(pending_[level].data(), kTileWidth);
    pending_[level].clear();
    ++full_tiles_[level];
    if (level + 1 == pending_.size()) {
      pending_.emplace_back();
      full_tiles_.push_back(0);
    }
    pending_[level + 1].push_back(root);
  }
  return absl::OkStatus();
}

absl::Status TileBuilder::Emit(int level, const std::vector<Hash>& hashes) {
  const TileId id{level, full_tiles_[level], hashes.size()};
  RETURN_IF_ERROR(sink_(TilePath(id), HashesToBytes(hashes)));
  if (level == 0) {
    RETURN_IF_ERROR(sink_(TilePath({kEntryBundleLevel, id.index, id.width}), bundle_));
    bundle_.clear();
  }
  return absl::OkStatus();
}

absl::StatusOr<Hash> TileBuilder::Finish() {
  RETURN_IF_ERROR(failed_);
  for (size_t level = 0; level < pending_.size(); ++level) {
    if (pending_[level].empty()) continue;
    failed_ = Emit(static_cast<int>(level), pending_[level]);
    RETURN_IF_ERROR(failed_);
  }
  return range_.Root();
}

absl::StatusOr<const std::vector<Hash>*> TileReader::HashTile(int level, uint64_t index) const {
  const auto key = std::make_pair(level, index);
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    ASSIGN_OR_RETURN(std::vector<Hash> tile, FetchHashTile(fetch_, level, index, size_));
    it = cache_.emplace(key, std::move(tile)).first;
  }
  return &it->second;
}

absl::StatusOr<Hash> TileReader::GetNode(int level, uint64_t index) const {
  if (level < 0 || level > 63 || index >= (size_ >> level)) {
    return absl::NotFoundError(
        absl::StrCat("no node (", level, ", ", index, ") in a tree of size ", size_));
  }
  const int height = level % kTileHeight;  // the node's height inside its tile
  const uint64_t first = index << height;  // its first hash in the tile's level
  ASSIGN_OR_RETURN(const std::vector<Hash>* tile,
                   HashTile(level / kTileHeight, first / kTileWidth));
  return FoldPerfect(tile->data() + first % kTileWidth, uint64_t{1} << height);
}

absl::StatusOr<TilesReport> VerifyTiles(const TileFetcher& fetch, const Checkpoint& checkpoint,
                                        const TiledEntryFn& each) {
  TilesReport report;
  report.entries = checkpoint.size;
  std::vector<Hash> below;  // roots of the full tiles of the level below, in order
  for (int level = 0; HashesAtLevel(level, checkpoint.size) > 0; ++level) {
    std::vector<Hash> roots;
    const uint64_t count = HashesAtLevel(level, checkpoint.size);
    for (uint64_t t = 0; t * kTileWidth < count; ++t) {
      ASSIGN_OR_RETURN(std::vector<Hash> tile, FetchHashTile(fetch, level, t, checkpoint.size));
      ++report.hash_tiles;
      if (level == 0) {
        RETURN_IF_ERROR(CheckEntryBundle(fetch, t, tile, each));
        ++report.entry_bundles;
      } else {
        RETURN_IF_ERROR(CheckAgainstBelow(level, t, tile, below));
      }
      if (tile.size() == kTileWidth) roots.push_back(FoldPerfect(tile.data(), kTileWidth));
    }
    below = std::move(roots);
  }
  TileReader reader(fetch, checkpoint.size);
  ASSIGN_OR_RETURN(report.root, TreeRoot(reader, checkpoint.size));
  if (report.root != checkpoint.root) {
    return absl::DataLossError(absl::StrCat("the root of the tiles, ", HashToHex(report.root),
                                            ", is not the checkpoint's root ",
                                            HashToHex(checkpoint.root)));
  }
  return report;
}

}  // namespace gatehouse::audit
