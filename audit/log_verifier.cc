#include "audit/log_verifier.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "gatehouse/v1/audit.pb.h"
#include "audit/checkpoint.h"
#include "audit/log_directory.h"
#include "audit/log_format.h"
#include "audit/merkle_tree.h"
#include "audit/posix_file.h"
#include "audit/segment_reader.h"

namespace gatehouse::audit {
namespace {

// Runs fn(begin, end) over [0, n) split across the machine's cores.
void ParallelFor(size_t n, const std::function<void(size_t, size_t)>& fn) {
  const size_t threads = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  if (threads == 1 || n < 4096) {
    fn(0, n);
    return;
  }
  std::vector<std::thread> pool;
  const size_t chunk = (n + threads - 1) / threads;
  for (size_t t = 1; t < threads; ++t) {
    const size_t b = std::min(n, t * chunk), e = std::min(n, (t + 1) * chunk);
    if (b < e) pool.emplace_back(fn, b, e);
  }
  fn(0, std::min(n, chunk));
  for (auto& th : pool) th.join();
}

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
    std::vector<const NoteVerifier*> keys;
    if (options.log_key) keys.push_back(options.log_key);
    keys.insert(keys.end(), options.previous_log_keys.begin(), options.previous_log_keys.end());
    absl::StatusOr<Note> note = keys.empty() ? ParseNote(n) : OpenNote(n, keys);
    if (!note.ok()) {
      return absl::DataLossError(absl::StrCat("checkpoint ", i, ": ", note.status().message()));
    }
    absl::StatusOr<Checkpoint> cp = ParseCheckpoint(note->text);
    if (!cp.ok()) return absl::DataLossError(absl::StrCat("checkpoint ", i, ": ", cp.status().message()));
    bool origin_ok = keys.empty();
    for (const NoteVerifier* k : keys) {
      for (const NoteSignature& sig : note->signatures) {
        if (sig.name == k->name() && sig.key_id == k->key_id() && cp->origin == k->name()) origin_ok = true;
      }
    }
    if (!origin_ok) {
      return absl::DataLossError(absl::StrCat("checkpoint ", i, ": origin ", cp->origin,
                                              " is not the name of the key that signed it"));
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
  report.signatures_checked = options.log_key != nullptr || !options.previous_log_keys.empty();
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
  for (const SegmentFile& seg : segs) {
    const bool newest = &seg == &segs.back();
    if (seg.first_index != range.size()) {
      return absl::DataLossError(absl::StrCat("entry ", range.size(), ": missing (segment ",
                                              seg.path, " starts at ", seg.first_index, ")"));
    }
    // The newest segment is read into memory: the gateway may be appending
    // to it, and cuts it back after a refused write (see FileBytes::Open).
    ASSIGN_OR_RETURN(std::unique_ptr<FileBytes> mapped, FileBytes::Open(seg.path, newest));
    const absl::string_view bytes = mapped->data();
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
    // Frames first (sequential: each record's offset depends on the last),
    // then parse and leaf-hash every payload on all cores, then fold the
    // leaves into the tree in order, checking each checkpoint on the way.
    SegmentReader reader(bytes);
    std::vector<absl::string_view> payloads;
    std::vector<uint64_t> offsets;
    absl::string_view payload;
    uint64_t offset = reader.good_end();
    while (reader.Next(&payload)) {
      payloads.push_back(payload);
      offsets.push_back(offset);
      offset = reader.good_end();
    }
    std::vector<Hash> leaves(payloads.size());
    std::vector<uint8_t> parsed(payloads.size(), 0);
    ParallelFor(payloads.size(), [&](size_t begin, size_t end) {
      gatehouse::v1::AuditEntry e;
      for (size_t i = begin; i < end; ++i) {
        parsed[i] = e.ParseFromArray(payloads[i].data(), static_cast<int>(payloads[i].size()));
        leaves[i] = HashLeaf(payloads[i]);
      }
    });
    for (size_t i = 0; i < leaves.size(); ++i) {
      if (!parsed[i]) {
        return absl::DataLossError(absl::StrCat("entry ", range.size(), " (", seg.path,
                                                " offset ", offsets[i], "): not an AuditEntry"));
      }
      range.Append(leaves[i]);
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
    std::set<std::tuple<uint64_t, std::string, uint32_t>> seen;  // (size, name, key id)
    std::set<const NoteVerifier*> cosigners_seen;
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
      const NoteSignature& sig = line->signatures[0];
      const NoteVerifier* known = nullptr;
      for (const NoteVerifier* v : options.cosigners) {
        absl::StatusOr<uint64_t> ts = VerifyCosignature(c->text, sig, *v);
        if (absl::IsNotFound(ts.status())) continue;
        if (!ts.ok()) {
          return absl::DataLossError(absl::StrCat("cosignature ", i, " on checkpoint ", size,
                                                  ": ", ts.status().message()));
        }
        if (known == nullptr) known = v;
      }
      if (!seen.insert({size, sig.name, sig.key_id}).second) {
        ++report.cosignatures_repeated;
      } else if (known != nullptr) {
        ++report.cosignatures_verified;
        cosigners_seen.insert(known);
      } else {
        ++report.cosignatures_unknown;
      }
    }
    // The same key given twice is one cosigner.
    std::set<std::tuple<std::string, uint32_t, std::string>> keys;
    for (const NoteVerifier* v : cosigners_seen) keys.insert({v->name(), v->key_id(), v->public_key()});
    report.cosigners_verified = keys.size();
  } else if (!absl::IsNotFound(recs.status())) {
    return recs.status();
  }
  return report;
}

}  // namespace gatehouse::audit
