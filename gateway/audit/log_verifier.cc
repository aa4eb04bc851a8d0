#include "gateway/audit/log_verifier.h"

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "gatehouse/v1/audit.pb.h"
#include "gateway/audit/checkpoint.h"
#include "gateway/audit/log_directory.h"
#include "gateway/audit/log_format.h"
#include "gateway/audit/merkle_tree.h"
#include "gateway/audit/posix_file.h"
#include "gateway/audit/segment_reader.h"

namespace gatehouse::audit {
namespace {

struct LoadedCheckpoint {
  Checkpoint cp;
  std::string text;
  Note note;
};

absl::StatusOr<std::vector<LoadedCheckpoint>> LoadCheckpoints(const std::string& dir,
                                                              const VerifyOptions& options) {
  std::vector<LoadedCheckpoint> out;
  uint64_t good_end = 0;
  absl::Status st;
  absl::StatusOr<std::vector<std::string>> notes =
      ReadRecordFile(CheckpointsPath(dir), kCheckpointMagic, &good_end, &st);
  if (absl::IsNotFound(notes.status())) return out;
  if (!notes.ok()) return notes.status();
  if (!st.ok()) return absl::DataLossError(absl::StrCat("checkpoints.log: ", st.message()));
  for (size_t i = 0; i < notes->size(); ++i) {
    const std::string& n = (*notes)[i];
    absl::StatusOr<Note> note = options.log_key ? OpenNote(n, {options.log_key}) : ParseNote(n);
    if (!note.ok()) {
      return absl::DataLossError(absl::StrCat("checkpoint ", i, ": ", note.status().message()));
    }
    absl::StatusOr<Checkpoint> cp = ParseCheckpoint(note->text);
    if (!cp.ok()) return absl::DataLossError(absl::StrCat("checkpoint ", i, ": ", cp.status().message()));
    if (options.log_key && cp->origin != options.log_key->name()) {
      return absl::DataLossError(absl::StrCat("checkpoint ", i, ": origin ", cp->origin,
                                              " is not the log key's name"));
    }
    if (!out.empty() && cp->size < out.back().cp.size) {
      return absl::DataLossError(absl::StrCat("checkpoint ", i, ": size ", cp->size,
                                              " is below the previous checkpoint's ",
                                              out.back().cp.size));
    }
    out.push_back({*cp, note->text, *note});
  }
  return out;
}

}  // namespace

absl::StatusOr<VerifyReport> VerifyLog(const std::string& dir, const VerifyOptions& options) {
  VerifyReport report;
  report.signatures_checked = options.log_key != nullptr;
  ASSIGN_OR_RETURN(std::vector<SegmentFile> segs, ListSegments(dir));
  if (segs.empty()) return absl::NotFoundError(absl::StrCat("no audit segments in ", dir));
  ASSIGN_OR_RETURN(std::vector<LoadedCheckpoint> cps, LoadCheckpoints(dir, options));
  report.checkpoints = cps.size();

  CompactRange range;
  size_t next_cp = 0;
  auto check_checkpoints = [&]() -> absl::Status {
    while (next_cp < cps.size() && cps[next_cp].cp.size == range.size()) {
      if (range.Root() != cps[next_cp].cp.root) {
        return absl::DataLossError(absl::StrCat(
            "checkpoint ", next_cp, " at size ", range.size(),
            ": root does not match the entries (an entry before index ", range.size(),
            " was changed, or the checkpoint was forged)"));
      }
      ++next_cp;
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(check_checkpoints());
  gatehouse::v1::AuditEntry entry;
  for (const SegmentFile& seg : segs) {
    if (seg.first_index != range.size()) {
      return absl::DataLossError(absl::StrCat("entry ", range.size(), ": missing (segment ",
                                              seg.path, " starts at ", seg.first_index, ")"));
    }
    ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(seg.path));
    absl::StatusOr<SegmentHeader> h = ParseSegmentHeader(bytes, kSegmentMagic);
    if (!h.ok()) {
      return absl::DataLossError(absl::StrCat("entry ", range.size(), " (", seg.path, "): ",
                                              h.status().message()));
    }
    if (h->first_index != seg.first_index) {
      return absl::DataLossError(absl::StrCat("entry ", range.size(), " (", seg.path,
                                              "): header names first entry ", h->first_index));
    }
    ++report.segments;
    SegmentReader reader(bytes);
    absl::string_view payload;
    uint64_t offset = reader.good_end();
    while (reader.Next(&payload)) {
      if (!entry.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        return absl::DataLossError(absl::StrCat("entry ", range.size(), " (", seg.path,
                                                " offset ", offset, "): not an AuditEntry"));
      }
      range.Append(HashLeaf(payload));
      offset = reader.good_end();
      RETURN_IF_ERROR(check_checkpoints());
    }
    if (!reader.status().ok()) {
      return absl::DataLossError(absl::StrCat("entry ", range.size(), " (", seg.path, "): ",
                                              reader.status().message()));
    }
  }
  if (next_cp < cps.size()) {
    return absl::DataLossError(absl::StrCat("checkpoint ", next_cp, " covers ",
                                            cps[next_cp].cp.size, " entries but the log has only ",
                                            range.size(), ": entries are missing"));
  }
  report.entries = range.size();
  report.root = range.Root();

  // Cosignatures: each must name a checkpoint we have, and verify if known.
  uint64_t good_end = 0;
  absl::Status st;
  absl::StatusOr<std::vector<std::string>> recs =
      ReadRecordFile(CosignaturesPath(dir), kCosignatureMagic, &good_end, &st);
  if (recs.ok()) {
    if (!st.ok()) return absl::DataLossError(absl::StrCat("cosignatures.log: ", st.message()));
    std::map<uint64_t, const LoadedCheckpoint*> by_size;
    for (const LoadedCheckpoint& c : cps) by_size[c.cp.size] = &c;
    for (size_t i = 0; i < recs->size(); ++i) {
      const std::string& rec = (*recs)[i];
      size_t nl = rec.find('\n');
      uint64_t size;
      if (nl == std::string::npos || !absl::SimpleAtoi(rec.substr(0, nl), &size) ||
          by_size.count(size) == 0) {
        return absl::DataLossError(absl::StrCat("cosignature ", i, ": names no stored checkpoint"));
      }
      const LoadedCheckpoint* c = by_size[size];
      absl::StatusOr<Note> line = ParseNote(c->text + "\n" + rec.substr(nl + 1));
      if (!line.ok() || line->signatures.size() != 1) {
        return absl::DataLossError(absl::StrCat("cosignature ", i, ": malformed line"));
      }
      bool known = false;
      for (const NoteVerifier* v : options.cosigners) {
        absl::StatusOr<uint64_t> ts = VerifyCosignature(c->text, line->signatures[0], *v);
        if (absl::IsNotFound(ts.status())) continue;
        if (!ts.ok()) {
          return absl::DataLossError(absl::StrCat("cosignature ", i, " on checkpoint ", size,
                                                  ": ", ts.status().message()));
        }
        known = true;
      }
      known ? ++report.cosignatures_verified : ++report.cosignatures_unknown;
    }
  } else if (!absl::IsNotFound(recs.status())) {
    return recs.status();
  }
  return report;
}

}  // namespace gatehouse::audit
