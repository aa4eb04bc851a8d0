#include "audit/log_directory.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "audit/log_format.h"
#include "audit/posix_file.h"
#include "audit/segment_reader.h"

namespace gatehouse::audit {

std::string SegmentPath(const std::string& dir, uint64_t first_index) {
  return absl::StrFormat("%s/%020u.seg", dir, first_index);
}
std::string CheckpointsPath(const std::string& dir) { return dir + "/checkpoints.log"; }
std::string CosignaturesPath(const std::string& dir) { return dir + "/cosignatures.log"; }
std::string TreeDir(const std::string& dir) { return dir + "/tree"; }

absl::StatusOr<std::vector<SegmentFile>> ListSegments(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    std::string msg = absl::StrCat("opendir ", dir, ": ", strerror(errno));
    return errno == ENOENT ? absl::NotFoundError(msg) : absl::UnavailableError(msg);
  }
  std::vector<SegmentFile> out;
  while (struct dirent* e = ::readdir(d)) {
    absl::string_view name(e->d_name);
    if (name.size() != 24 || !absl::EndsWith(name, ".seg")) continue;
    uint64_t first;
    absl::string_view digits = name.substr(0, 20);
    if (digits.find_first_not_of("0123456789") != absl::string_view::npos ||
        !absl::SimpleAtoi(digits, &first)) {
      continue;
    }
    out.push_back({first, absl::StrCat(dir, "/", name)});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.first_index < b.first_index; });
  return out;
}

absl::Status ForEachEntry(const std::string& dir, uint64_t start,
                          const std::function<bool(uint64_t, absl::string_view)>& fn,
                          bool map_newest) {
  absl::StatusOr<std::vector<SegmentFile>> segs = ListSegments(dir);
  if (!segs.ok()) return segs.status();
  uint64_t expect = segs->empty() ? 0 : (*segs)[0].first_index;
  if (expect != 0) return absl::DataLossError("first segment does not start at entry 0");
  for (size_t s = 0; s < segs->size(); ++s) {
    const SegmentFile& seg = (*segs)[s];
    if (seg.first_index != expect) {
      return absl::DataLossError(absl::StrCat("gap: segment ", seg.path, " starts at entry ",
                                              seg.first_index, ", want ", expect));
    }
    // Skip whole segments before `start` when the next one begins at or before it.
    if (s + 1 < segs->size() && (*segs)[s + 1].first_index <= start) {
      expect = (*segs)[s + 1].first_index;
      continue;
    }
    const bool newest = s + 1 == segs->size();
    absl::StatusOr<std::unique_ptr<FileBytes>> mapped =
        FileBytes::Open(seg.path, /*copy=*/newest && !map_newest);
    if (!mapped.ok()) return mapped.status();
    const absl::string_view bytes = (*mapped)->data();
    absl::StatusOr<SegmentHeader> h = ParseSegmentHeader(bytes, kSegmentMagic);
    if (!h.ok()) return absl::DataLossError(absl::StrCat(seg.path, ": ", h.status().message()));
    if (h->first_index != seg.first_index) {
      return absl::DataLossError(absl::StrCat(seg.path, ": header says first entry ",
                                              h->first_index));
    }
    SegmentReader reader(bytes);
    absl::string_view payload;
    while (reader.Next(&payload)) {
      const uint64_t index = expect++;
      if (index >= start && !fn(index, payload)) return absl::OkStatus();
    }
    if (!reader.status().ok()) {
      // A record running past the end of the newest segment is one being
      // written right now (or torn by a crash): the end of the log so far.
      if (reader.torn() && s + 1 == segs->size()) return absl::OkStatus();
      return absl::DataLossError(absl::StrCat("entry ", expect, " (", seg.path, "): ",
                                              reader.status().message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ReadRecordFile(const std::string& path,
                                                        absl::string_view magic,
                                                        uint64_t* good_end,
                                                        absl::Status* status_out) {
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<SegmentHeader> h = ParseSegmentHeader(*bytes, magic);
  std::vector<std::string> out;
  if (!h.ok()) {
    *good_end = 0;
    *status_out = absl::DataLossError(absl::StrCat(path, ": ", h.status().message()));
    return out;
  }
  SegmentReader reader(*bytes);
  absl::string_view payload;
  while (reader.Next(&payload)) out.emplace_back(payload);
  *good_end = reader.good_end();
  *status_out = reader.status();
  return out;
}

}  // namespace gatehouse::audit
