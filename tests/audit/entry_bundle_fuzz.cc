// Fuzz target: SplitEntryBundle and AppendToEntryBundle (audit/tiles.h), the
// C2SP tlog-tiles entry bundle ("Log entries": each entry a big-endian uint16
// length, then that many bytes). Oracles, not only a crash check:
//   1. differential: SplitEntryBundle accepts exactly what the reference
//      parser below accepts, and returns the same entries, each a view into
//      the input (tiles.h: "viewing `bundle`"); it fails only with DataLoss;
//   2. round trip: AppendToEntryBundle re-encodes what it returns to the
//      input byte for byte;
//   3. the other way: entries cut from the input, appended to a bundle
//      (after any prefix), split back to themselves;
//   4. the limits tiles.h documents: an entry of kMaxTiledEntrySize bytes
//      is bundled, one byte more is ResourceExhausted with the bundle
//      unchanged. The header sets no count limit on SplitEntryBundle (the 256
//      a bundle holds is VerifyTiles' check against the tile's width), and
//      empty entries and the empty bundle are valid: the reference parser
//      accepts them too, so (1) holds SplitEntryBundle to that.
// A violation aborts (__builtin_trap), so the standalone replay fails too.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "audit/tiles.h"

namespace {

using gatehouse::audit::AppendToEntryBundle;
using gatehouse::audit::kMaxTiledEntrySize;
using gatehouse::audit::SplitEntryBundle;

void Require(bool ok) {
  if (!ok) __builtin_trap();
}

// The reference parser: (offset, length) of each entry, or false if the
// bytes do not end exactly at the end of an entry.
bool ReferenceSplit(const uint8_t* data, size_t size,
                    std::vector<std::pair<size_t, size_t>>* entries) {
  size_t i = 0;
  while (i != size) {
    if (i + 1 == size) return false;  // one byte of a two-byte length
    const size_t length = size_t{data[i]} * 256 + size_t{data[i + 1]};
    i += 2;
    if (length > size - i) return false;  // the entry runs past the end
    entries->emplace_back(i, length);
    i += length;
  }
  return true;
}

// The reference encoder, for AppendToEntryBundle to agree with.
std::string ReferenceEncode(const std::vector<absl::string_view>& entries) {
  std::string out;
  for (absl::string_view e : entries) {
    out += static_cast<char>(e.size() / 256);
    out += static_cast<char>(e.size() % 256);
    out.append(e.data(), e.size());
  }
  return out;
}

// (1) and (2).
void CheckSplit(const uint8_t* data, size_t size) {
  const absl::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::pair<size_t, size_t>> want;
  const bool want_ok = ReferenceSplit(data, size, &want);
  const absl::StatusOr<std::vector<absl::string_view>> got = SplitEntryBundle(in);
  Require(got.ok() == want_ok);
  if (!got.ok()) {
    Require(absl::IsDataLoss(got.status()));
    return;
  }
  Require(got->size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    Require((*got)[i].data() == in.data() + want[i].first);
    Require((*got)[i].size() == want[i].second);
  }
  std::string again;
  for (absl::string_view e : *got) Require(AppendToEntryBundle(e, &again).ok());
  Require(again == in);
  Require(ReferenceEncode(*got) == in);
}

// (3): the input after its first byte is cut into entries, each as long as
// the byte before it says (shorter at the end), and appended after a prefix
// of 0-3 zero bytes (the first byte's low 2 bits). An even prefix is that
// many empty entries; an odd one shifts every length by a byte, so the
// result is only held to the reference parser.
void CheckAppend(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const size_t prefix = data[0] & 3;
  std::vector<absl::string_view> entries;
  for (size_t i = 1; i < size;) {
    const size_t n = std::min<size_t>(data[i], size - i - 1);
    entries.emplace_back(reinterpret_cast<const char*>(data + i + 1), n);
    i += 1 + n;
  }
  std::string bundle(prefix, '\0');
  for (absl::string_view e : entries) Require(AppendToEntryBundle(e, &bundle).ok());
  Require(bundle == std::string(prefix, '\0') + ReferenceEncode(entries));
  const absl::StatusOr<std::vector<absl::string_view>> got = SplitEntryBundle(bundle);
  if (prefix % 2 == 1) {
    // The prefix's last zero byte and the first length byte form a length;
    // the result is whatever the reference parser says.
    std::vector<std::pair<size_t, size_t>> want;
    Require(got.ok() ==
            ReferenceSplit(reinterpret_cast<const uint8_t*>(bundle.data()), bundle.size(), &want));
    return;
  }
  Require(got.ok());
  Require(got->size() == prefix / 2 + entries.size());
  for (size_t i = 0; i < prefix / 2; ++i) Require((*got)[i].empty());
  for (size_t i = 0; i < entries.size(); ++i) Require((*got)[prefix / 2 + i] == entries[i]);
}

// (4), once a process: per input it would copy 64 KiB each time.
bool CheckLimits() {
  const std::string largest(kMaxTiledEntrySize, 'x');
  std::string bundle;
  Require(AppendToEntryBundle(largest, &bundle).ok());
  Require(bundle.size() == 2 + kMaxTiledEntrySize);
  Require(static_cast<uint8_t>(bundle[0]) == 0xff && static_cast<uint8_t>(bundle[1]) == 0xff);
  const std::string before = bundle;
  const absl::Status too_long = AppendToEntryBundle(largest + "x", &bundle);
  Require(absl::IsResourceExhausted(too_long));
  Require(bundle == before);
  Require(AppendToEntryBundle("", &bundle).ok());
  const absl::StatusOr<std::vector<absl::string_view>> got = SplitEntryBundle(bundle);
  Require(got.ok() && got->size() == 2 && (*got)[0] == largest && (*got)[1].empty());
  // More entries than a tile is wide: SplitEntryBundle sets no count limit.
  const std::string many(2 * 300, '\0');
  const absl::StatusOr<std::vector<absl::string_view>> empties = SplitEntryBundle(many);
  Require(empties.ok() && empties->size() == 300);
  Require(SplitEntryBundle("").ok() && SplitEntryBundle("")->empty());
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool limits_hold = CheckLimits();
  Require(limits_hold);
  CheckSplit(data, size);
  CheckAppend(data, size);
  return 0;
}
