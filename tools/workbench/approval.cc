#include "tools/workbench/approval.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_cat.h"
#include <sodium.h>

#include "gatehouse/v1/policy.pb.h"
#include "policy/engine.h"

namespace gatehouse::workbench {
namespace {

absl::StatusOr<v1::SignedPolicyBundle> ParseSigned(absl::string_view bytes,
                                                   absl::string_view what) {
  v1::SignedPolicyBundle b;
  if (!b.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not a policy bundle"));
  }
  return b;
}

// "NAME" of ".../NAME.pub".
std::string NameOf(absl::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash != absl::string_view::npos) path.remove_prefix(slash + 1);
  if (absl::EndsWith(path, ".pub")) path.remove_suffix(4);
  if (absl::EndsWith(path, ".sealed")) path.remove_suffix(7);
  return std::string(path);
}

const Officer* Find(const Officers& officers, absl::string_view key) {
  for (const Officer& o : officers.keys) {
    if (o.public_key == key) return &o;
  }
  return nullptr;
}

}  // namespace

policy::BundleTrust Officers::Trust() const {
  policy::BundleTrust trust;
  for (const Officer& o : keys) trust.officer_keys.push_back(o.public_key);
  trust.min_signatures = required;
  return trust;
}

absl::StatusOr<Officers> MakeOfficers(const std::vector<std::string>& paths,
                                      const std::vector<std::string>& contents, int required) {
  Officers out;
  out.required = required;
  for (size_t i = 0; i < paths.size() && i < contents.size(); ++i) {
    auto key = policy::ParseOfficerPublicKey(contents[i], paths[i]);
    if (!key.ok()) return key.status();
    if (const Officer* same = Find(out, *key)) {
      return absl::InvalidArgumentError(absl::StrCat(
          paths[i], " holds the same key as ", same->name, ": each officer needs a key of their own"));
    }
    out.keys.push_back(Officer{NameOf(paths[i]), *std::move(key)});
  }
  const int n = static_cast<int>(out.keys.size());
  if (required < 1 || required > policy::kMaxRequiredSignatures || (n > 0 && required > n)) {
    return absl::InvalidArgumentError(absl::StrCat(
        required, " signatures required of ", n, " officer key(s): it must be 1 to ",
        n > 0 ? std::min(n, policy::kMaxRequiredSignatures) : policy::kMaxRequiredSignatures));
  }
  return out;
}

absl::Status AddSealedKeys(const std::vector<std::string>& paths,
                           const std::vector<std::string>& contents, Officers* officers) {
  Officers out = *officers;
  for (size_t i = 0; i < paths.size() && i < contents.size(); ++i) {
    auto sealed = policy::ParseSealedOfficerKey(contents[i], paths[i]);
    if (!sealed.ok()) return sealed.status();
    auto it = std::find_if(out.keys.begin(), out.keys.end(),
                           [&](const Officer& o) { return o.public_key == sealed->public_key; });
    if (it == out.keys.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          paths[i], " holds the key of no officer of this workbench: give its NAME.pub with "
          "--officer"));
    }
    if (it->sealed != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(paths[i], " is a second sealed key of officer ", it->name));
    }
    it->sealed = std::make_shared<const policy::SealedOfficerKey>(*std::move(sealed));
  }
  *officers = std::move(out);
  return absl::OkStatus();
}

absl::Status PassphraseGuard::Check(const std::string& officer) const {
  absl::MutexLock lock(&mu_);
  auto it = wrong_.find(officer);
  if (it != wrong_.end() && it->second >= kMaxWrongPassphrases) {
    return absl::PermissionDeniedError(absl::StrCat(
        officer, "'s key is locked after ", kMaxWrongPassphrases,
        " wrong passphrases in a row; restart the workbench, or sign with policyc"));
  }
  return absl::OkStatus();
}

void PassphraseGuard::Record(const std::string& officer, bool right) {
  absl::MutexLock lock(&mu_);
  if (right) {
    wrong_.erase(officer);
  } else {
    ++wrong_[officer];
  }
}

absl::StatusOr<std::string> SignHere(absl::string_view collected, const Officers& officers,
                                     const std::string& name, absl::string_view passphrase,
                                     absl::string_view signed_as, PassphraseGuard& guard) {
  auto it = std::find_if(officers.keys.begin(), officers.keys.end(),
                         [&](const Officer& o) { return o.name == name; });
  if (it == officers.keys.end()) {
    return absl::NotFoundError(absl::StrCat("no officer of this workbench is called '", name,
                                            "'"));
  }
  if (it->sealed == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the workbench holds no sealed key of ", name,
        ": sign with policyc on your own machine and upload the signed copy"));
  }
  absl::StatusOr<std::string> secret;
  {
    absl::MutexLock one(&guard.opening());
    if (absl::Status locked = guard.Check(name); !locked.ok()) return locked;
    secret = policy::OpenSealedOfficerKey(*it->sealed, passphrase);
    if (secret.status().code() == absl::StatusCode::kPermissionDenied) {
      guard.Record(name, false);
      return secret.status();
    }
  }
  if (!secret.ok()) return secret.status();
  guard.Record(name, true);
  auto signed_copy = policy::SignBundle(collected, *secret, signed_as.empty() ? name : signed_as);
  sodium_memzero(secret->data(), secret->size());
  if (!signed_copy.ok()) return signed_copy.status();
  return AddSignatures(collected, *signed_copy, officers);
}

absl::StatusOr<std::string> CompileForApproval(const policy::Model& model,
                                               const Officers& officers,
                                               absl::string_view version, absl::Time issued,
                                               absl::Time not_after) {
  return policy::MakeBundle(policy::ToProto(model), officers.required, version, issued,
                            not_after);
}

absl::StatusOr<std::string> AddSignatures(absl::string_view collected, absl::string_view upload,
                                          const Officers& officers) {
  auto into = ParseSigned(collected, "the bundle being signed");
  if (!into.ok()) return into.status();
  auto from = ParseSigned(upload, "the file uploaded");
  if (!from.ok()) return from.status();
  if (from->payload() != into->payload()) {
    return absl::InvalidArgumentError(
        "the file uploaded is signed over a different bundle (another draft, version or "
        "compile, or this one altered): sign the bundle this page offers and upload that");
  }
  // The signatures' cryptography is the library's (InspectBundle checks each
  // against the payload); its answers come in the upload's signing order.
  auto contents = policy::InspectBundle(upload, officers.Trust());
  if (!contents.ok()) return contents.status();
  absl::flat_hash_set<std::string> have;
  for (const auto& s : into->signatures()) have.insert(s.public_key());
  int added = 0;
  std::vector<std::string> again;
  for (int i = 0; i < from->signatures_size(); ++i) {
    const v1::PolicySignature& s = from->signatures(i);
    const policy::BundleSigner& checked = contents->signers[static_cast<size_t>(i)];
    const std::string who = absl::StrCat("'", s.signer_name(), "' (key ", checked.fingerprint, ")");
    if (!checked.trusted) {
      return absl::UnauthenticatedError(absl::StrCat(
          "the signature by ", who, " is not by an officer this workbench was started with "
          "(--officer); nothing was added"));
    }
    if (!checked.verifies) {
      return absl::UnauthenticatedError(absl::StrCat(
          "the signature by ", who, " does not verify: the file was altered after signing; "
          "nothing was added"));
    }
    if (!have.insert(s.public_key()).second) {
      again.push_back(Find(officers, s.public_key())->name);
      continue;
    }
    *into->add_signatures() = s;
    ++added;
  }
  if (added == 0) {
    return absl::AlreadyExistsError(absl::StrCat(
        from->signatures_size() == 0 ? "the file uploaded carries no signature"
                                     : absl::StrCat(absl::StrJoin(again, ", "),
                                                    " had already signed; counted once"),
        ": nothing was added"));
  }
  return into->SerializeAsString();
}

absl::StatusOr<ApprovalReview> ReviewApproval(absl::string_view bundle,
                                              const Officers& officers, absl::Time now) {
  const policy::BundleTrust trust = officers.Trust();
  auto contents = policy::InspectBundle(bundle, trust);
  if (!contents.ok()) return contents.status();
  ApprovalReview r;
  // Each officer's good signature, by key (a name given at signing is not
  // authenticated; the key is what counts).
  absl::flat_hash_map<std::string, std::string> good;
  for (const policy::BundleSigner& s : contents->signers) {
    if (s.verifies && s.trusted) good.emplace(s.public_key, s.name);
  }
  for (const Officer& o : officers.keys) {
    OfficerStatus st{o.name, policy::KeyFingerprint(o.public_key), false, "",
                     o.sealed != nullptr};
    if (auto it = good.find(o.public_key); it != good.end()) {
      st.is_signed = true;
      st.signed_as = it->second;
      ++r.signed_count;
    }
    r.officers.push_back(std::move(st));
  }
  r.required = std::max(static_cast<int>(contents->payload.required_signatures()),
                        officers.required);
  // Ready means what a gateway would do with it: verify, then build the engine.
  auto payload = policy::VerifyBundle(bundle, trust, now);
  absl::Status loads = payload.status();
  if (payload.ok()) loads = policy::Engine::FromCompiled(contents->compiled).status();
  r.ready = loads.ok();
  if (!loads.ok()) r.not_ready = std::string(loads.message());
  r.contents = *std::move(contents);
  return r;
}

}  // namespace gatehouse::workbench
