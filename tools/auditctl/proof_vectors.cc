#include "tools/auditctl/proof_vectors.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "gatehouse/v1/audit.pb.h"
#include "audit/merkle_tree.h"
#include "audit/merkle_verifier.h"
#include "google/protobuf/util/json_util.h"

namespace gatehouse::auditctl {
namespace {

using audit::Hash;
using gatehouse::v1::AuditProofVector;

struct Builder {
  std::string dir;
  int written = 0;

  absl::Status Write(const std::string& kind, const std::string& name, AuditProofVector v) {
    v.set_kind(kind);
    std::vector<Hash> proof;
    for (const std::string& s : v.hashes()) {
      Hash h{};
      audit::HashFromBytes(s, &h);
      proof.push_back(h);
    }
    Hash a{}, b{}, leaf{};
    audit::HashFromBytes(v.root1(), &a);
    audit::HashFromBytes(v.root2(), &b);
    audit::HashFromBytes(v.leaf_hash(), &leaf);
    absl::Status got = kind == "inclusion"
                           ? audit::VerifyInclusion(v.leaf_index(), v.size1(), leaf, proof, a)
                           : audit::VerifyConsistency(v.size1(), v.size2(), a, b, proof);
    if (got.ok() != v.want_valid() ||
        (!got.ok() && absl::StatusCodeToString(got.code()) != v.want_error())) {
      return absl::InternalError(absl::StrCat("vector ", kind, "/", name, ": verifier says ",
                                              got.ToString()));
    }
    std::string json;
    google::protobuf::util::JsonPrintOptions opts;
    opts.add_whitespace = true;
    opts.preserve_proto_field_names = true;
    if (!google::protobuf::util::MessageToJsonString(v, &json, opts).ok()) {
      return absl::InternalError("json");
    }
    std::filesystem::create_directories(dir + "/" + kind);
    std::ofstream out(dir + "/" + kind + "/" + name + ".json", std::ios::trunc);
    out << json;
    if (!out) return absl::UnavailableError("cannot write " + name);
    ++written;
    return absl::OkStatus();
  }
};

std::string B(const Hash& h) { return audit::HashToBytes(h); }

void SetHashes(AuditProofVector* v, const std::vector<Hash>& p) {
  v->clear_hashes();
  for (const Hash& h : p) v->add_hashes(B(h));
}

}  // namespace

absl::StatusOr<int> WriteProofVectors(const std::string& out_dir) {
  audit::MemoryTree tree;
  for (int i = 0; i <= 20; ++i) tree.Append(audit::HashLeaf(std::to_string(i)));
  Builder b{out_dir};
  const Hash garbage = audit::HashLeaf("garbage");

  // ---- Inclusion: leaf 6 in a tree of 13 (an unbalanced tree). ----
  const uint64_t idx = 6, size = 13;
  ASSIGN_OR_RETURN(std::vector<Hash> p, BuildInclusionProof(tree, idx, size));
  ASSIGN_OR_RETURN(Hash root, TreeRoot(tree, size));
  AuditProofVector base;
  base.set_leaf_index(idx);
  base.set_size1(size);
  base.set_leaf_hash(B(audit::HashLeaf("6")));
  base.set_root1(B(root));
  SetHashes(&base, p);
  auto inc = [&](const std::string& name, const std::string& desc, bool valid,
                 const std::string& err, const std::function<void(AuditProofVector*)>& mutate) {
    AuditProofVector v = base;
    v.set_description(desc);
    v.set_want_valid(valid);
    if (!valid) v.set_want_error(err);
    mutate(&v);
    return b.Write("inclusion", name, v);
  };
  RETURN_IF_ERROR(inc("valid", "leaf 6 of 13: a correct proof", true, "", [](auto*) {}));
  for (size_t i = 0; i < p.size(); ++i) {
    for (int bit : {0, 7, 255}) {
      RETURN_IF_ERROR(inc(absl::StrCat("modified-proof@", i, "-bit-", bit),
                          absl::StrCat("proof hash ", i, " with bit ", bit, " flipped"), false,
                          "DATA_LOSS", [&](AuditProofVector* v) {
                            std::string h = v->hashes(i);
                            h[bit / 8] ^= static_cast<char>(1 << (bit % 8));
                            v->set_hashes(i, h);
                          }));
    }
  }
  RETURN_IF_ERROR(inc("modified-leaf-hash", "the leaf hash of another entry", false, "DATA_LOSS",
                      [](AuditProofVector* v) { v->set_leaf_hash(B(audit::HashLeaf("7"))); }));
  RETURN_IF_ERROR(inc("modified-root", "a root from another tree", false, "DATA_LOSS",
                      [&](AuditProofVector* v) { v->set_root1(B(garbage)); }));
  RETURN_IF_ERROR(inc("wrong-index", "the proof presented for leaf 7", false, "DATA_LOSS",
                      [](AuditProofVector* v) { v->set_leaf_index(7); }));
  RETURN_IF_ERROR(inc("wrong-size-smaller", "tree size 7: the path has another shape", false,
                      "INVALID_ARGUMENT", [](AuditProofVector* v) { v->set_size1(7); }));
  RETURN_IF_ERROR(inc("wrong-size-larger", "tree size 17: one hash too few", false,
                      "INVALID_ARGUMENT", [](AuditProofVector* v) { v->set_size1(17); }));
  RETURN_IF_ERROR(inc("index-equals-size", "leaf index 13 is outside a tree of 13", false,
                      "INVALID_ARGUMENT", [](AuditProofVector* v) { v->set_leaf_index(13); }));
  RETURN_IF_ERROR(inc("index-beyond-size", "leaf index 2^63 in a tree of 13", false,
                      "INVALID_ARGUMENT",
                      [](AuditProofVector* v) { v->set_leaf_index(uint64_t{1} << 63); }));
  RETURN_IF_ERROR(inc("preceding-garbage", "an extra hash before the proof", false,
                      "INVALID_ARGUMENT", [&](AuditProofVector* v) {
                        std::vector<Hash> q = {garbage};
                        q.insert(q.end(), p.begin(), p.end());
                        SetHashes(v, q);
                      }));
  RETURN_IF_ERROR(inc("trailing-garbage", "an extra hash after the proof", false,
                      "INVALID_ARGUMENT", [&](AuditProofVector* v) { v->add_hashes(B(garbage)); }));
  RETURN_IF_ERROR(inc("truncated-proof", "the last hash removed", false, "INVALID_ARGUMENT",
                      [](AuditProofVector* v) { v->mutable_hashes()->RemoveLast(); }));
  RETURN_IF_ERROR(inc("empty-proof", "no hashes at all for a tree of 13", false,
                      "INVALID_ARGUMENT", [](AuditProofVector* v) { v->clear_hashes(); }));
  RETURN_IF_ERROR(inc("swapped-siblings", "hashes 0 and 1 swapped", false, "DATA_LOSS",
                      [](AuditProofVector* v) { v->mutable_hashes()->SwapElements(0, 1); }));
  RETURN_IF_ERROR(inc("leaf-hash-is-root", "the root offered as the leaf, empty proof, size 1",
                      false, "DATA_LOSS", [&](AuditProofVector* v) {
                        v->set_leaf_index(0);
                        v->set_size1(1);
                        v->clear_hashes();
                        v->set_leaf_hash(B(garbage));
                      }));
  {
    // Second preimage: in the tree of 8, node (1,3) = HASH(0x01 || leaf6 || leaf7).
    // Its children's 64 bytes offered as one entry "at index 3 of a tree of 4
    // level-1 nodes" would reproduce the root of 8 without the 0x00/0x01
    // prefixes; with them the leaf hash differs from the node.
    ASSIGN_OR_RETURN(Hash l, tree.GetNode(0, 6));
    ASSIGN_OR_RETURN(Hash r, tree.GetNode(0, 7));
    ASSIGN_OR_RETURN(Hash n12, tree.GetNode(1, 2));
    ASSIGN_OR_RETURN(Hash n20, tree.GetNode(2, 0));
    ASSIGN_OR_RETURN(Hash r8, TreeRoot(tree, 8));
    RETURN_IF_ERROR(inc("interior-node-as-leaf",
                        "entry bytes = leaf6 || leaf7 hashes, claimed as leaf 3 of 4 under the "
                        "root of 8: the 0x00 leaf prefix keeps its hash apart from node (1,3)",
                        false, "DATA_LOSS", [&](AuditProofVector* v) {
                          v->set_leaf_index(3);
                          v->set_size1(4);
                          v->set_leaf_hash(B(audit::HashLeaf(B(l) + B(r))));
                          SetHashes(v, {n12, n20});
                          v->set_root1(B(r8));
                        }));
  }
  {
    AuditProofVector v;
    v.set_description("single-entry tree: empty proof, root is the leaf hash");
    v.set_leaf_index(0);
    v.set_size1(1);
    v.set_leaf_hash(B(audit::HashLeaf("0")));
    v.set_root1(B(audit::HashLeaf("0")));
    v.set_want_valid(true);
    RETURN_IF_ERROR(b.Write("inclusion", "valid-single-entry", v));
  }

  // ---- Consistency: 7 -> 21, plus edge cases. ----
  auto cons = [&](uint64_t s1, uint64_t s2) -> absl::StatusOr<AuditProofVector> {
    ASSIGN_OR_RETURN(std::vector<Hash> q, BuildConsistencyProof(tree, s1, s2));
    ASSIGN_OR_RETURN(Hash r1, TreeRoot(tree, s1));
    ASSIGN_OR_RETURN(Hash r2, TreeRoot(tree, s2));
    AuditProofVector v;
    v.set_size1(s1);
    v.set_size2(s2);
    v.set_root1(B(r1));
    v.set_root2(B(r2));
    SetHashes(&v, q);
    v.set_want_valid(true);
    return v;
  };
  ASSIGN_OR_RETURN(AuditProofVector c, cons(7, 21));
  auto con = [&](const std::string& name, const std::string& desc, bool valid,
                 const std::string& err, const std::function<void(AuditProofVector*)>& mutate) {
    AuditProofVector v = c;
    v.set_description(desc);
    v.set_want_valid(valid);
    if (!valid) v.set_want_error(err);
    mutate(&v);
    return b.Write("consistency", name, v);
  };
  RETURN_IF_ERROR(con("valid", "7 -> 21: a correct proof", true, "", [](auto*) {}));
  for (int i = 0; i < c.hashes_size(); ++i) {
    RETURN_IF_ERROR(con(absl::StrCat("modified-proof@", i, "-bit-0"),
                        absl::StrCat("proof hash ", i, " with bit 0 flipped"), false, "DATA_LOSS",
                        [&](AuditProofVector* v) {
                          std::string h = v->hashes(i);
                          h[0] ^= 1;
                          v->set_hashes(i, h);
                        }));
  }
  RETURN_IF_ERROR(con("modified-root1", "old root from another tree", false, "DATA_LOSS",
                      [&](AuditProofVector* v) { v->set_root1(B(garbage)); }));
  RETURN_IF_ERROR(con("modified-root2", "new root from another tree (a rewritten history)",
                      false, "DATA_LOSS", [&](AuditProofVector* v) { v->set_root2(B(garbage)); }));
  RETURN_IF_ERROR(con("swapped-roots", "root1 and root2 exchanged", false, "DATA_LOSS",
                      [&](AuditProofVector* v) {
                        std::string r1 = v->root1();
                        v->set_root1(v->root2());
                        v->set_root2(r1);
                      }));
  RETURN_IF_ERROR(con("wrong-size1", "size1 8 instead of 7", false, "INVALID_ARGUMENT",
                      [](AuditProofVector* v) { v->set_size1(8); }));
  RETURN_IF_ERROR(con("wrong-size2", "size2 40 instead of 21", false, "INVALID_ARGUMENT",
                      [](AuditProofVector* v) { v->set_size2(40); }));
  RETURN_IF_ERROR(con("size1-above-size2", "sizes reversed: 21 -> 7", false, "INVALID_ARGUMENT",
                      [](AuditProofVector* v) {
                        v->set_size1(21);
                        v->set_size2(7);
                      }));
  RETURN_IF_ERROR(con("preceding-garbage", "an extra hash before the proof", false,
                      "INVALID_ARGUMENT", [&](AuditProofVector* v) {
                        std::string first = B(garbage);
                        std::vector<std::string> all = {first};
                        for (const auto& h : v->hashes()) all.push_back(h);
                        v->clear_hashes();
                        for (const auto& h : all) v->add_hashes(h);
                      }));
  RETURN_IF_ERROR(con("trailing-garbage", "an extra hash after the proof", false,
                      "INVALID_ARGUMENT", [&](AuditProofVector* v) { v->add_hashes(B(garbage)); }));
  RETURN_IF_ERROR(con("truncated-proof", "the last hash removed", false, "INVALID_ARGUMENT",
                      [](AuditProofVector* v) { v->mutable_hashes()->RemoveLast(); }));
  RETURN_IF_ERROR(con("empty-proof", "no hashes between different sizes", false,
                      "INVALID_ARGUMENT", [](AuditProofVector* v) { v->clear_hashes(); }));
  {
    ASSIGN_OR_RETURN(AuditProofVector v, cons(4, 8));
    v.set_description("4 -> 8: size1 a power of two, old root implied");
    RETURN_IF_ERROR(b.Write("consistency", "valid-power-of-two", v));
    ASSIGN_OR_RETURN(AuditProofVector w, cons(0, 9));
    w.set_description("0 -> 9: the empty tree is a prefix of every tree; empty proof");
    RETURN_IF_ERROR(b.Write("consistency", "valid-from-empty", w));
    w.set_description("0 -> 9 with a non-empty proof");
    w.add_hashes(B(garbage));
    w.set_want_valid(false);
    w.set_want_error("INVALID_ARGUMENT");
    RETURN_IF_ERROR(b.Write("consistency", "from-empty-with-garbage", w));
    ASSIGN_OR_RETURN(AuditProofVector e, cons(9, 9));
    e.set_description("9 -> 9: equal sizes, equal roots, empty proof");
    RETURN_IF_ERROR(b.Write("consistency", "valid-equal-sizes", e));
    e.set_description("9 -> 9 with different roots: a split view");
    e.set_root2(B(garbage));
    e.set_want_valid(false);
    e.set_want_error("DATA_LOSS");
    RETURN_IF_ERROR(b.Write("consistency", "equal-sizes-different-roots", e));
  }
  return b.written;
}

}  // namespace gatehouse::auditctl
