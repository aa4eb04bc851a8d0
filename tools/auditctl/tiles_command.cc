#include "tools/auditctl/tiles_command.h"

#include <stdio.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "audit/checkpoint.h"
#include "audit/log_directory.h"
#include "audit/posix_file.h"
#include "audit/tiles.h"
#include "common/status_macros.h"
#include "tools/auditctl/postgres_command.h"

namespace gatehouse::auditctl {
namespace {

namespace fs = std::filesystem;

audit::TileFetcher DirectoryFetcher(const std::string& dir) {
  return [dir](const std::string& path) { return audit::ReadWholeFile(dir + "/" + path); };
}

// The checkpoint file of a tiles directory, its signature checked when keys
// are given.
struct CheckpointFile {
  std::string note;  // the file, exactly
  audit::Note parsed;
  audit::Checkpoint checkpoint;
};

absl::StatusOr<CheckpointFile> ReadCheckpointFile(const std::string& dir,
                                                  const audit::VerifyOptions& options) {
  const std::string path = dir + "/" + audit::kCheckpointFile;
  CheckpointFile out;
  absl::StatusOr<std::string> note = audit::ReadWholeFile(path);
  if (absl::IsNotFound(note.status())) {
    return absl::NotFoundError(path + " does not exist: " + dir + " is not a tiles export");
  }
  RETURN_IF_ERROR(note.status());
  out.note = *note;
  std::vector<const audit::NoteVerifier*> keys = options.previous_log_keys;
  if (options.log_key != nullptr) keys.insert(keys.begin(), options.log_key);
  absl::Status first;  // the current key's refusal, if none verifies
  for (const audit::NoteVerifier* key : keys) {
    absl::StatusOr<audit::SignedCheckpoint> cp = audit::OpenCheckpoint(out.note, *key);
    if (cp.ok()) {
      out.parsed = std::move(cp->note);
      out.checkpoint = std::move(cp->checkpoint);
      return out;
    }
    if (first.ok()) first = cp.status();
  }
  if (!keys.empty()) {
    return absl::DataLossError(absl::StrCat(path, ": not a checkpoint signed by ", keys[0]->name(),
                                            ": ", first.message()));
  }
  absl::StatusOr<audit::Note> parsed = audit::ParseNote(out.note);
  if (parsed.ok()) out.parsed = *std::move(parsed);
  absl::StatusOr<audit::Checkpoint> cp =
      parsed.ok() ? audit::ParseCheckpoint(out.parsed.text) : parsed.status();
  if (!cp.ok()) return absl::DataLossError(absl::StrCat(path, ": ", cp.status().message()));
  out.checkpoint = *std::move(cp);
  return out;
}

// The tiles of `checkpoint`'s tree in `dir`, every entry parsed; `wanted`
// (if set) sees each.
absl::StatusOr<audit::TilesReport> CheckTiles(const std::string& dir,
                                              const audit::Checkpoint& checkpoint,
                                              const EntryWanted& wanted,
                                              std::map<uint64_t, gatehouse::v1::AuditEntry>* out) {
  gatehouse::v1::AuditEntry e;
  return audit::VerifyTiles(
      DirectoryFetcher(dir), checkpoint, [&](uint64_t i, absl::string_view entry) -> absl::Status {
        if (!e.ParseFromArray(entry.data(), static_cast<int>(entry.size()))) {
          return absl::DataLossError(absl::StrCat("entry ", i, " does not parse as an AuditEntry"));
        }
        if (wanted && wanted(i, e)) (*out)[i] = e;
        return absl::OkStatus();
      });
}

// Cosignatures in the checkpoint file, counted as VerifyLog counts them for
// one checkpoint: a known cosigner's line must verify; other keys' lines
// (but the log's own, named as the origin) are unknown.
absl::Status CountCosignatures(const CheckpointFile& cp, const audit::VerifyOptions& options,
                               audit::VerifyReport* r) {
  std::set<std::pair<std::string, uint32_t>> unknown;
  for (const audit::NoteSignature& sig : cp.parsed.signatures) {
    if (sig.name == cp.checkpoint.origin) continue;
    bool known = false;
    for (const audit::NoteVerifier* c : options.cosigners) {
      if (c->name() != sig.name || c->key_id() != sig.key_id) continue;
      known = true;
      absl::StatusOr<uint64_t> t = audit::VerifyCosignature(cp.parsed.text, sig, *c);
      if (!t.ok()) {
        return absl::DataLossError(absl::StrCat("checkpoint: cosignature by ", sig.name,
                                                " does not verify: ", t.status().message()));
      }
    }
    if (!known) unknown.insert({sig.name, sig.key_id});
  }
  const size_t verified =
      audit::VerifiedCosigners(cp.parsed.text, cp.parsed.signatures, options.cosigners).size();
  r->cosigners_verified = verified;
  r->cosignatures_verified = verified;
  r->cosignatures_unknown = unknown.size();
  return absl::OkStatus();
}

// FailedPrecondition unless `out` is absent or an empty directory.
absl::Status CheckOutIsFree(const std::string& out) {
  std::error_code ec;
  if (!fs::exists(out, ec)) return absl::OkStatus();
  if (fs::is_directory(out, ec) && fs::is_empty(out, ec)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      out +
      " exists and is not empty: export --tiles writes a new directory; remove it or "
      "choose another");
}

// Writes `bytes` to dir/path (mode 0644, synced), noting each directory made.
absl::Status WriteUnder(const std::string& dir, const std::string& path, const std::string& bytes,
                        std::set<std::string>* dirs) {
  const fs::path file = fs::path(dir) / path;
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) return absl::UnavailableError(file.parent_path().string() + ": " + ec.message());
  for (fs::path d = file.parent_path(); d != fs::path(dir); d = d.parent_path()) {
    dirs->insert(d.string());
  }
  return audit::WriteFileAtomically(file.string(), bytes, 0644);
}

// Writes the tiles of entries [0, checkpoint size) of a log and its
// checkpoint `note` into `tmp`, then reads them back through VerifyTiles.
absl::StatusOr<audit::TilesReport> WriteTiles(const EntrySource& entries, const std::string& tmp,
                                              const std::string& note,
                                              const audit::Checkpoint& cp) {
  std::set<std::string> dirs = {tmp};
  audit::TileBuilder builder([&](const std::string& path, const std::string& bytes) {
    return WriteUnder(tmp, path, bytes, &dirs);
  });
  absl::Status added;
  RETURN_IF_ERROR(entries([&](uint64_t i, absl::string_view payload) {
    if (i >= cp.size) return false;
    added = builder.Add(payload);
    return added.ok();
  }));
  RETURN_IF_ERROR(added);
  if (builder.size() != cp.size) {
    return absl::DataLossError(absl::StrCat("the log holds ", builder.size(),
                                            " entries, fewer than its checkpoint's ", cp.size));
  }
  ASSIGN_OR_RETURN(audit::Hash root, builder.Finish());
  if (root != cp.root) {
    return absl::DataLossError("the root of the entries is not the checkpoint's root");
  }
  RETURN_IF_ERROR(WriteUnder(tmp, audit::kCheckpointFile, note, &dirs));
  ASSIGN_OR_RETURN(audit::TilesReport report, audit::VerifyTiles(DirectoryFetcher(tmp), cp));
  for (const std::string& d : dirs) RETURN_IF_ERROR(audit::SyncDir(d));
  return report;
}

// Makes an empty directory beside `out` (same file system, so it can be
// renamed to it).
absl::StatusOr<std::string> MakeTempBeside(const std::string& out) {
  const fs::path parent = fs::path(out).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  std::string tmpl = out + ".tmp-XXXXXX";
  if (ec || ::mkdtemp(tmpl.data()) == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot make a directory beside ", out, ": ",
                                               ec ? ec.message() : std::strerror(errno)));
  }
  return tmpl;
}

// The log directory `dir`, verified.
absl::StatusOr<ExportableLog> OpenDirForExport(const std::string& dir,
                                               const audit::VerifyOptions& options) {
  absl::StatusOr<audit::VerifyReport> verified = audit::VerifyLog(dir, options);
  if (!verified.ok()) {
    return absl::DataLossError(absl::StrCat("the log in ", dir, " does not verify (",
                                            verified.status().message(), "): nothing exported"));
  }
  ExportableLog log;
  log.name = "the log in " + dir;
  const std::map<uint64_t, std::string> cps = LoadCheckpoints(dir);
  if (!cps.empty()) log.note = cps.rbegin()->second;
  log.entries = DirEntries(dir);
  return log;
}

// Exports the log `open` verifies and returns to `out`.
absl::StatusOr<std::string> Export(const std::function<absl::StatusOr<ExportableLog>()>& open,
                                   std::string out) {
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  RETURN_IF_ERROR(CheckOutIsFree(out));
  ASSIGN_OR_RETURN(ExportableLog log, open());
  if (log.note.empty()) {
    return absl::FailedPreconditionError(log.name +
                                         " has no signed checkpoint yet: nothing to export");
  }
  const std::string& note = log.note;
  ASSIGN_OR_RETURN(audit::Note parsed, audit::ParseNote(note));
  ASSIGN_OR_RETURN(audit::Checkpoint cp, audit::ParseCheckpoint(parsed.text));
  ASSIGN_OR_RETURN(std::string tmp, MakeTempBeside(out));
  absl::StatusOr<audit::TilesReport> report = WriteTiles(log.entries, tmp, note, cp);
  if (report.ok() && ::rename(tmp.c_str(), out.c_str()) != 0) {
    report = absl::UnavailableError(
        absl::StrCat("rename ", tmp, " to ", out, ": ", std::strerror(errno)));
  }
  if (!report.ok()) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    return report.status();
  }
  const fs::path parent = fs::path(out).parent_path();
  RETURN_IF_ERROR(audit::SyncDir(parent.empty() ? "." : parent.string()));
  return absl::StrCat("exported ", cp.size, " entries at the checkpoint of size ", cp.size,
                      " (root ", audit::HashToHex(cp.root), ") to ", out, ": ",
                      report->entry_bundles, " entry bundles, ", report->hash_tiles,
                      " hash tiles, checkpoint");
}

}  // namespace

int ExportTiles(const cli::Values& f, const audit::VerifyOptions& options) {
  for (const char* filter : {"record-id", "org", "event", "since", "until", "n"}) {
    if (f.Has(filter)) {
      std::cerr << "export: --" << filter << " does not go with --tiles (tiles hold every entry)\n";
      return cli::kExitUsage;
    }
  }
  const bool dsn = f.Has("dsn");
  absl::StatusOr<std::string> done = Export(
      [&] { return dsn ? OpenDsnForExport(f, options) : OpenDirForExport(f.Get("dir"), options); },
      f.Get("tiles"));
  if (!done.ok()) {
    std::cerr << "export: " << done.status().message() << "\n";
    return cli::kExitFailed;
  }
  std::cout << *done << "\n";
  return cli::kExitOk;
}

absl::StatusOr<audit::VerifyReport> VerifyTilesDirectory(const std::string& dir,
                                                         const audit::VerifyOptions& options) {
  ASSIGN_OR_RETURN(CheckpointFile cp, ReadCheckpointFile(dir, options));
  ASSIGN_OR_RETURN(audit::TilesReport tiles, CheckTiles(dir, cp.checkpoint, nullptr, nullptr));
  audit::VerifyReport r;
  r.entries = tiles.entries;
  r.segments = tiles.entry_bundles;
  r.checkpoints = 1;
  r.signatures_checked = options.log_key != nullptr;
  r.root = tiles.root;
  RETURN_IF_ERROR(CountCosignatures(cp, options, &r));
  return r;
}

absl::StatusOr<ProofSource> LoadTilesSource(const std::string& dir, const EntryWanted& wanted) {
  ASSIGN_OR_RETURN(CheckpointFile cp, ReadCheckpointFile(dir, audit::VerifyOptions()));
  ProofSource out;
  RETURN_IF_ERROR(CheckTiles(dir, cp.checkpoint, wanted, &out.wanted).status());
  out.tree = std::make_unique<audit::TileReader>(DirectoryFetcher(dir), cp.checkpoint.size);
  out.size = cp.checkpoint.size;
  out.checkpoints[cp.checkpoint.size] = cp.note;
  return out;
}

}  // namespace gatehouse::auditctl
