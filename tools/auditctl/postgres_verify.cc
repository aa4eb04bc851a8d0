#include "tools/auditctl/postgres_verify.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "audit/checkpoint.h"
#include "audit/merkle_tree.h"
#include "common/status_macros.h"
#include "gatehouse/v1/audit.pb.h"

namespace gatehouse::auditctl {
namespace {

using audit::Hash;
using audit::NoteVerifier;

// Entries checked a round: the tree nodes they complete are read and
// compared, and the checkpoints they reach are checked, once a round.
constexpr uint64_t kRound = 1024;
// Checkpoints read a query.
constexpr int kCheckpointPage = 256;

// A checkpoint whose note has been opened and checked against its row.
struct OpenedCheckpoint {
  uint64_t ordinal = 0;  // 0 for the smallest
  uint64_t size = 0;
  Hash root{};
};

std::string Where(uint64_t ordinal, uint64_t size) {
  return absl::StrCat("checkpoint ", ordinal, " (size ", size, ")");
}

// The stored checkpoints in size order, a page at a time; each is opened
// (VerifyLog's rules: signed by a log key whose name is the origin) and its
// cosignatures checked and counted as its page is read.
class CheckpointCursor {
 public:
  CheckpointCursor(PostgresLog& log, const audit::VerifyOptions& options,
                   audit::VerifyReport* report)
      : log_(log), options_(options), report_(report) {
    if (options.log_key != nullptr) keys_.push_back(options.log_key);
    keys_.insert(keys_.end(), options.previous_log_keys.begin(), options.previous_log_keys.end());
  }

  // The next checkpoint, or nullopt past the last; the first bad one's error.
  absl::StatusOr<std::optional<OpenedCheckpoint>> Peek() {
    if (buffer_.empty() && !done_) {
      ASSIGN_OR_RETURN(std::vector<StoredCheckpoint> page,
                       log_.CheckpointsAfter(after_, kCheckpointPage));
      done_ = page.size() < static_cast<size_t>(kCheckpointPage);
      for (const StoredCheckpoint& cp : page) {
        ASSIGN_OR_RETURN(OpenedCheckpoint opened, Open(cp));
        buffer_.push_back(opened);
        after_ = static_cast<int64_t>(cp.size);
      }
    }
    if (buffer_.empty()) return std::nullopt;
    return buffer_.front();
  }
  void Pop() { buffer_.pop_front(); }

  // Distinct known cosigner keys with a verified cosignature.
  uint64_t cosigners() const {
    std::set<std::tuple<std::string, uint32_t, std::string>> keys;
    for (const NoteVerifier* v : cosigners_seen_) {
      keys.insert({v->name(), v->key_id(), v->public_key()});
    }
    return keys.size();
  }

 private:
  absl::StatusOr<OpenedCheckpoint> Open(const StoredCheckpoint& row) {
    const uint64_t ordinal = report_->checkpoints++;
    const std::string where = Where(ordinal, row.size);
    absl::StatusOr<audit::Note> note =
        keys_.empty() ? audit::ParseNote(row.note) : audit::OpenNote(row.note, keys_);
    if (!note.ok()) return absl::DataLossError(absl::StrCat(where, ": ", note.status().message()));
    absl::StatusOr<audit::Checkpoint> cp = audit::ParseCheckpoint(note->text);
    if (!cp.ok()) return absl::DataLossError(absl::StrCat(where, ": ", cp.status().message()));
    bool origin_ok = keys_.empty();
    for (const NoteVerifier* k : keys_) {
      for (const audit::NoteSignature& sig : note->signatures) {
        if (sig.name == k->name() && sig.key_id == k->key_id() && cp->origin == k->name()) {
          origin_ok = true;
        }
      }
    }
    if (!origin_ok) {
      return absl::DataLossError(absl::StrCat(where, ": origin ", cp->origin,
                                              " is not the name of the key that signed it"));
    }
    if (cp->size != row.size) {
      return absl::DataLossError(absl::StrCat(where, ": its note is for size ", cp->size));
    }
    if (row.size > log_.integrated()) {
      return absl::DataLossError(absl::StrCat(where, ": covers ", row.size, " entries but only ",
                                              log_.integrated(),
                                              " are in the tree (audit_head.integrated)"));
    }
    for (const StoredCosignature& c : row.cosignatures) {
      RETURN_IF_ERROR(CheckCosignature(where, row.size, note->text, c));
    }
    return OpenedCheckpoint{ordinal, row.size, cp->root};
  }

  // VerifyLog's rules for one line, and the row must name its key.
  absl::Status CheckCosignature(const std::string& where, uint64_t size, const std::string& text,
                                const StoredCosignature& c) {
    absl::StatusOr<audit::NoteSignature> sig =
        audit::ParseSignatureLine(absl::StripSuffix(c.line, "\n"));
    if (!sig.ok()) {
      return absl::DataLossError(
          absl::StrCat(where, ": cosignature by ", c.name, ": malformed line"));
    }
    if (sig->name != c.name || static_cast<int64_t>(sig->key_id) != c.key_id) {
      return absl::DataLossError(
          absl::StrCat(where, ": the cosignature row of ", c.name, " holds a line by ", sig->name));
    }
    const NoteVerifier* known = nullptr;
    for (const NoteVerifier* v : options_.cosigners) {
      absl::StatusOr<uint64_t> ts = audit::VerifyCosignature(text, *sig, *v);
      if (absl::IsNotFound(ts.status())) continue;
      if (!ts.ok()) {
        return absl::DataLossError(
            absl::StrCat(where, ": cosignature by ", c.name, ": ", ts.status().message()));
      }
      if (known == nullptr) known = v;
    }
    if (!seen_.insert({size, sig->name, sig->key_id}).second) {
      ++report_->cosignatures_repeated;
    } else if (known != nullptr) {
      ++report_->cosignatures_verified;
      cosigners_seen_.insert(known);
    } else {
      ++report_->cosignatures_unknown;
    }
    return absl::OkStatus();
  }

  PostgresLog& log_;
  const audit::VerifyOptions& options_;
  audit::VerifyReport* report_;
  std::vector<const NoteVerifier*> keys_;
  std::deque<OpenedCheckpoint> buffer_;
  int64_t after_ = -1;
  bool done_ = false;
  std::set<std::tuple<uint64_t, std::string, uint32_t>> seen_;  // (size, name, key id)
  std::set<const NoteVerifier*> cosigners_seen_;
};

// A node recomputed from the entries.
struct Node {
  int level;
  uint64_t index;
  Hash hash;
};

class Verifier {
 public:
  Verifier(PostgresLog& log, const audit::VerifyOptions& options)
      : log_(log), checkpoints_(log, options, &out_.log) {
    out_.log.signatures_checked = options.log_key != nullptr || !options.previous_log_keys.empty();
  }

  absl::StatusOr<PostgresVerifyReport> Run() {
    RETURN_IF_ERROR(CheckHead());
    RETURN_IF_ERROR(Reached());  // checkpoints of size 0, and the first page's signatures
    absl::Status failed;
    RETURN_IF_ERROR(log_.Entries()([&](uint64_t i, absl::string_view entry) {
      failed = OnEntry(i, entry);
      return failed.ok();
    }));
    RETURN_IF_ERROR(failed);
    RETURN_IF_ERROR(EndRound());
    ASSIGN_OR_RETURN(std::optional<OpenedCheckpoint> left, checkpoints_.Peek());
    if (left) {
      return absl::DataLossError(absl::StrCat(Where(left->ordinal, left->size), ": covers ",
                                              left->size, " entries but the log has only ",
                                              range_.size(), ": entries are missing"));
    }
    RETURN_IF_ERROR(tree_error_);
    ASSIGN_OR_RETURN(auto beyond, log_.NodeBeyond(log_.integrated()));
    if (beyond) {
      return absl::DataLossError(absl::StrCat("audit_tree holds node (level ", beyond->first,
                                              ", index ", beyond->second,
                                              "), which is not in the tree of ", log_.integrated(),
                                              " entries (audit_head.integrated)"));
    }
    out_.log.entries = range_.size();
    out_.log.root = range_.Root();
    out_.log.cosigners_verified = checkpoints_.cosigners();
    out_.integrated = log_.integrated();
    return out_;
  }

 private:
  absl::Status CheckHead() {
    if (log_.integrated() > log_.sequenced()) {
      return absl::DataLossError(absl::StrCat("audit_head: integrated (", log_.integrated(),
                                              ") is beyond sequenced (", log_.sequenced(), ")"));
    }
    ASSIGN_OR_RETURN(std::optional<int64_t> beyond, log_.EntryBeyond());
    if (beyond) {
      return absl::DataLossError(absl::StrCat(
          "entry ", *beyond, ": not below audit_head.sequenced (", log_.sequenced(), ")"));
    }
    return absl::OkStatus();
  }

  absl::Status OnEntry(uint64_t i, absl::string_view entry) {
    if (!parsed_.ParseFromArray(entry.data(), static_cast<int>(entry.size()))) {
      return absl::DataLossError(absl::StrCat("entry ", i, ": not an AuditEntry"));
    }
    const bool stored = i < log_.integrated();  // its nodes are in audit_tree
    range_.Append(audit::HashLeaf(entry), [&](int level, uint64_t index, const Hash& h) {
      if (stored) nodes_.push_back({level, index, h});
    });
    RETURN_IF_ERROR(Reached());
    return range_.size() % kRound == 0 ? EndRound() : absl::OkStatus();
  }

  // Notes the root at every checkpoint the entries have reached.
  absl::Status Reached() {
    for (;;) {
      ASSIGN_OR_RETURN(std::optional<OpenedCheckpoint> next, checkpoints_.Peek());
      if (!next || next->size != range_.size()) return absl::OkStatus();
      reached_.push_back({*next, range_.Root()});
      checkpoints_.Pop();
    }
  }

  // Compares the nodes of this round with audit_tree (keeping the first
  // mismatch), then checks the checkpoints reached.
  absl::Status EndRound() {
    RETURN_IF_ERROR(CompareTree());
    for (const auto& [cp, root] : reached_) {
      if (root == cp.root) continue;
      std::string why = absl::StrCat(Where(cp.ordinal, cp.size),
                                     ": root does not match the entries (an entry before index ",
                                     cp.size, " was changed, or the checkpoint was forged)");
      if (first_bad_leaf_ && *first_bad_leaf_ < cp.size) {
        absl::StrAppend(&why, "; entry ", *first_bad_leaf_,
                        " does not match its leaf hash in audit_tree: entry ", *first_bad_leaf_,
                        " was changed after it was integrated");
      }
      return absl::DataLossError(why);
    }
    reached_.clear();
    return absl::OkStatus();
  }

  absl::Status CompareTree() {
    const uint64_t to = std::min(range_.size(), log_.integrated());
    if (to <= compared_to_) return absl::OkStatus();
    std::sort(nodes_.begin(), nodes_.end(), [](const Node& a, const Node& b) {
      return std::tie(a.level, a.index) < std::tie(b.level, b.index);
    });
    ASSIGN_OR_RETURN(std::vector<StoredNode> stored, log_.NodesCompletedBy(compared_to_, to));
    size_t j = 0;
    for (const Node& n : nodes_) {
      const std::string name =
          absl::StrCat("audit_tree node (level ", n.level, ", index ", n.index, ")");
      if (j < stored.size() && stored[j].level == n.level &&
          static_cast<uint64_t>(stored[j].index) == n.index) {
        ++out_.tree_nodes;
        if (stored[j++].hash != audit::HashToBytes(n.hash)) {
          Mismatch(n, name +
                          " does not match the node recomputed from the entries (the stored "
                          "tree was changed: proofs served from it would not verify)");
        }
      } else {
        Mismatch(n, absl::StrCat(name, " is missing (the tree of ", log_.integrated(),
                                 " entries needs it)"));
      }
    }
    nodes_.clear();
    compared_to_ = to;
    return absl::OkStatus();
  }

  void Mismatch(const Node& n, const std::string& why) {
    if (n.level == 0 && !first_bad_leaf_) first_bad_leaf_ = n.index;
    if (tree_error_.ok()) tree_error_ = absl::DataLossError(why);
  }

  PostgresLog& log_;
  PostgresVerifyReport out_;
  CheckpointCursor checkpoints_;
  audit::CompactRange range_;
  gatehouse::v1::AuditEntry parsed_;
  std::vector<Node> nodes_;                                 // completed this round, in audit_tree
  std::vector<std::pair<OpenedCheckpoint, Hash>> reached_;  // this round, with the entries' root
  uint64_t compared_to_ = 0;                                // leaves whose nodes have been compared
  absl::Status tree_error_;                                 // the first node that does not match
  std::optional<uint64_t> first_bad_leaf_;
};

}  // namespace

absl::StatusOr<PostgresVerifyReport> VerifyPostgresLog(PostgresLog& log,
                                                       const audit::VerifyOptions& options) {
  return Verifier(log, options).Run();
}

}  // namespace gatehouse::auditctl
