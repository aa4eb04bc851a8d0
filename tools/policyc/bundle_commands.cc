// keygen, sign, verify.
#include <sys/stat.h>

#include <cstdio>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "policy/bundle.h"
#include "policy/compiler.h"
#include "policy/describe.h"
#include "policy/diff.h"
#include "policy/engine.h"
#include "policy/model.h"
#include "policy/sealed_key.h"
#include "tools/policyc/commands.h"

namespace gatehouse::policyc {
namespace {

// An officer's key file read by `parse` (the policy library's one reader).
absl::StatusOr<std::string> ReadKeyFile(
    const std::string& path,
    absl::StatusOr<std::string> (*parse)(absl::string_view, absl::string_view)) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return parse(*text, path);
}

// Adds the public key of every --trust file to `trust`; on the first that
// cannot be read or is not a key, returns why.
absl::Status ReadTrustedKeys(const Args& a, policy::BundleTrust* trust) {
  for (const std::string& path : a.All("trust")) {
    auto key = ReadKeyFile(path, policy::ParseOfficerPublicKey);
    if (!key.ok()) return key.status();
    trust->officer_keys.push_back(*key);
  }
  return absl::OkStatus();
}

// An officer's secret key file must be private to its owner: refuse one
// that group or others can read (or write), as ssh does, before reading it.
absl::Status CheckPrivateKeyFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return absl::PermissionDeniedError(absl::StrCat(
        "key file ", path, " is readable by group or others (mode ", mode, "); run chmod 600 ",
        path, " (and consider the key exposed if others could read it)"));
  }
  return absl::OkStatus();
}

// "signed by:" and one line a signature.
std::string SignerLines(const policy::BundleContents& c, bool with_trust) {
  if (c.signers.empty()) return "  not signed yet\n";
  std::string out = absl::StrCat("  signatures (", c.signers.size(), "):\n");
  for (const policy::BundleSigner& s : c.signers) {
    absl::StrAppend(&out, "    ", s.name.empty() ? "(no name)" : s.name, " (key ",
                    s.fingerprint, "): ", s.verifies ? "signature good" : "SIGNATURE BAD",
                    with_trust ? (s.trusted ? ", trusted" : ", NOT a trusted officer key") : "",
                    "\n");
  }
  return out;
}

}  // namespace

// The passphrase in --passphrase-file: its first line, without the line end.
absl::StatusOr<std::string> ReadPassphrase(const Args& a) {
  auto text = ReadFile(a.Get("passphrase-file"));
  if (!text.ok()) return text.status();
  std::string line = text->substr(0, text->find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

int Keygen(const Args& a) {
  const std::string name = a.Get("NAME");
  const policy::OfficerKeyPair k = policy::GenerateOfficerKey();
  // With a passphrase, the secret key is written only sealed.
  std::string secret_file = name + ".key", secret = absl::BytesToHexString(k.secret_key) + "\n";
  if (a.Has("passphrase-file")) {
    auto passphrase = ReadPassphrase(a);
    if (!passphrase.ok()) return Fail(passphrase.status());
    auto sealed = policy::SealOfficerKey(k.secret_key, *passphrase);
    if (!sealed.ok()) return Fail(sealed.status());
    secret_file = name + ".sealed";
    secret = *std::move(sealed);
  }
  absl::Status s = WriteFile(secret_file, secret, true);
  if (s.ok()) s = WriteFile(name + ".pub", absl::BytesToHexString(k.public_key) + "\n");
  if (!s.ok()) return Fail(s);
  std::printf("wrote %s (secret, mode 0600) and %s.pub (key %s)\n", secret_file.c_str(),
              name.c_str(), policy::KeyFingerprint(k.public_key).c_str());
  return kExitOk;
}

// The secret key of --key: NAME.key as it is, NAME.sealed opened with the
// passphrase of --passphrase-file.
absl::StatusOr<std::string> ReadSecretKey(const Args& a) {
  const std::string path = a.Get("key");
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  if (!policy::LooksSealed(*text)) return policy::ParseOfficerSecretKey(*text, path);
  if (!a.Has("passphrase-file")) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is sealed: give its passphrase with --passphrase-file"));
  }
  auto sealed = policy::ParseSealedOfficerKey(*text, path);
  if (!sealed.ok()) return sealed.status();
  auto passphrase = ReadPassphrase(a);
  if (!passphrase.ok()) return passphrase.status();
  return policy::OpenSealedOfficerKey(*sealed, *passphrase);
}

int Sign(const Args& a) {
  // The signer's name is what officers and auditors read: the parser
  // refuses it left out or blank.
  const std::string name(absl::StripAsciiWhitespace(a.Get("name")));
  if (auto s = CheckPrivateKeyFile(a.Get("key")); !s.ok()) return Fail(s);
  auto bundle = ReadFile(a.Get("BUNDLE"));
  if (!bundle.ok()) return Fail(bundle.status());
  auto key = ReadSecretKey(a);
  if (!key.ok()) return Fail(key.status());
  auto signed_bundle = policy::SignBundle(*bundle, *key, name);
  if (!signed_bundle.ok()) return Fail(signed_bundle.status());
  const std::string out = a.Get("o", a.Get("BUNDLE"));
  if (auto s = WriteFile(out, *signed_bundle); !s.ok()) return Fail(s);
  std::printf("signed %s as '%s'\n", out.c_str(), name.c_str());
  return kExitOk;
}

int Verify(const Args& a) {
  auto bundle = ReadFile(a.Get("BUNDLE"));
  if (!bundle.ok()) return Fail(bundle.status());
  policy::BundleTrust trust;
  if (auto s = ReadTrustedKeys(a, &trust); !s.ok()) return Fail(s);
  trust.min_signatures = IntFlag(a, "min", 1);
  auto payload = policy::VerifyBundle(*bundle, trust);
  if (!payload.ok()) {
    std::fprintf(stderr, "policyc: bundle REJECTED: %s\n",
                 std::string(payload.status().message()).c_str());
    if (auto contents = policy::InspectBundle(*bundle, trust); contents.ok()) {
      std::fputs(SignerLines(*contents, /*with_trust=*/true).c_str(), stderr);
    }
    return kExitFailed;
  }
  // What the gateway checks next: the policy inside loads into an engine.
  if (auto engine = policy::Engine::FromBundle(*bundle, trust); !engine.ok()) {
    std::fprintf(stderr, "policyc: bundle REJECTED: %s\n",
                 std::string(engine.status().message()).c_str());
    return kExitFailed;
  }
  gatehouse::v1::CompiledPolicy compiled;
  compiled.ParseFromString(payload->compiled_policy());
  std::printf("bundle OK: policy '%s' version '%s', %d rules, %u signature(s) "
              "required\n", compiled.name().c_str(), payload->version().c_str(),
              compiled.rules_size(), payload->required_signatures());
  const absl::Time not_after = policy::BundleNotAfter(*payload);
  std::printf("  issued %s, expires %s\n",
              policy::FormatBundleTime(absl::FromUnixMillis(payload->issued_unix_ms())).c_str(),
              not_after == absl::InfiniteFuture()
                  ? "never (no expiry; consider compile --valid-for)"
                  : policy::FormatBundleTime(not_after).c_str());
  if (auto contents = policy::InspectBundle(*bundle, trust); contents.ok()) {
    std::fputs(SignerLines(*contents, /*with_trust=*/true).c_str(), stdout);
  }
  return kExitOk;
}

int Show(const Args& a) {
  auto bundle = ReadFile(a.Get("BUNDLE"));
  if (!bundle.ok()) return Fail(bundle.status());
  policy::BundleTrust trust;
  if (auto s = ReadTrustedKeys(a, &trust); !s.ok()) return Fail(s);
  auto contents = policy::InspectBundle(*bundle, trust);
  if (!contents.ok()) return Fail(contents.status());
  auto model = policy::FromProto(contents->compiled);
  if (!model.ok()) return Fail(model.status());
  policy::AttachRuleTexts(&*model);
  const auto& p = contents->payload;
  const absl::Time not_after = policy::BundleNotAfter(p);
  std::printf("policy '%s', version '%s' (compiled format %u)\n", model->name.c_str(),
              p.version().c_str(), contents->compiled.format_version());
  std::printf("  issued %s, expires %s\n",
              policy::FormatBundleTime(absl::FromUnixMillis(p.issued_unix_ms())).c_str(),
              policy::FormatBundleTime(not_after).c_str());
  std::printf("  needs %u distinct officer signature(s)\n", p.required_signatures());
  std::printf("  what is signed: BLAKE2b-256 %s\n"
              "  (compare it with your colleagues before you sign)\n",
              contents->digest.c_str());
  std::fputs(SignerLines(*contents, !trust.officer_keys.empty()).c_str(), stdout);
  std::printf("\nrules (%zu):\n", model->rules.size());
  for (const policy::Rule& r : model->rules) {
    std::printf("  %s %s  (%s%s)\n", policy::DescribeRuleKind(r).c_str(), r.id.c_str(),
                r.source.c_str(), r.layer.empty() || r.layer == "baseline"
                                      ? ""
                                      : absl::StrCat(", layer ", r.layer).c_str());
    if (!r.description.empty()) std::printf("      \"%s\"\n", r.description.c_str());
    const std::string ob = policy::DescribeModelObligations(r.obligations);
    if (!r.forbid && !ob.empty()) std::printf("      then %s\n", ob.c_str());
  }
  if (a.Has("source")) {
    for (const std::string& src : model->canonical_source) {
      std::printf("\n----- source -----\n%s", src.c_str());
    }
  }
  if (a.Has("against")) {
    auto old_bytes = ReadFile(a.Get("against"));
    if (!old_bytes.ok()) return Fail(old_bytes.status());
    auto old_contents = policy::InspectBundle(*old_bytes);
    if (!old_contents.ok()) return Fail(old_contents.status());
    auto old_model = policy::FromProto(old_contents->compiled);
    if (!old_model.ok()) return Fail(old_model.status());
    policy::AttachRuleTexts(&*old_model);
    auto diff = policy::DiffPolicies(*old_model, *model);
    if (!diff.ok()) return Fail(diff.status());
    std::printf("\nwhat this bundle changes from %s (version '%s'):\n%s", a.Get("against").c_str(),
                old_contents->payload.version().c_str(),
                policy::DescribeDiff(*diff, 40).c_str());
  }
  return kExitOk;
}

}  // namespace gatehouse::policyc
