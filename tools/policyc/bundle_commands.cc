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
#include "policy/engine.h"
#include "tools/policyc/commands.h"

namespace gatehouse::policyc {
namespace {

int Fail(const absl::Status& s, int code = kExitUsage) {
  std::fprintf(stderr, "policyc: %s\n", std::string(s.message()).c_str());
  return code;
}

absl::StatusOr<std::string> ReadHexKey(const std::string& path, size_t bytes) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::string hex(absl::StripAsciiWhitespace(*text));
  std::string raw = absl::HexStringToBytes(hex);
  if (raw.size() != bytes || absl::BytesToHexString(raw) != absl::AsciiStrToLower(hex)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": expected ", bytes * 2, " hex digits"));
  }
  return raw;
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

}  // namespace

int Keygen(const Args& a) {
  if (a.positional.size() != 1) {
    std::fprintf(stderr, "usage: policyc keygen NAME\n");
    return kExitUsage;
  }
  const std::string& name = a.positional[0];
  const policy::OfficerKeyPair k = policy::GenerateOfficerKey();
  absl::Status s = WriteFile(name + ".key",
                             absl::BytesToHexString(k.secret_key) + "\n", true);
  if (s.ok()) s = WriteFile(name + ".pub", absl::BytesToHexString(k.public_key) + "\n");
  if (!s.ok()) return Fail(s);
  std::printf("wrote %s.key (secret, mode 0600) and %s.pub (key %s)\n",
              name.c_str(), name.c_str(),
              policy::KeyFingerprint(k.public_key).c_str());
  return kExitOk;
}

int Sign(const Args& a) {
  // The signer's name is what officers and auditors read: it may not be
  // left out or blank.
  const std::string name(absl::StripAsciiWhitespace(a.Get("--name")));
  if (a.positional.size() != 1 || !a.Has("--key") || name.empty()) {
    std::fprintf(stderr, "usage: policyc sign BUNDLE --key NAME.key --name WHO [-o OUT]\n%s",
                 name.empty() && a.positional.size() == 1 && a.Has("--key")
                     ? "policyc: --name is required: who is signing (not empty)\n"
                     : "");
    return kExitUsage;
  }
  if (auto s = CheckPrivateKeyFile(a.Get("--key")); !s.ok()) return Fail(s);
  auto bundle = ReadFile(a.positional[0]);
  if (!bundle.ok()) return Fail(bundle.status());
  auto key = ReadHexKey(a.Get("--key"), 64);
  if (!key.ok()) return Fail(key.status());
  auto signed_bundle = policy::SignBundle(*bundle, *key, name);
  if (!signed_bundle.ok()) return Fail(signed_bundle.status(), kExitFailed);
  const std::string out = a.Get("-o", a.positional[0]);
  if (auto s = WriteFile(out, *signed_bundle); !s.ok()) return Fail(s);
  std::printf("signed %s as '%s'\n", out.c_str(), name.c_str());
  return kExitOk;
}

int Verify(const Args& a) {
  if (a.positional.size() != 1 || !a.Has("--trust")) {
    std::fprintf(stderr, "usage: policyc verify BUNDLE --trust A.pub [--trust B.pub] [--min N]\n");
    return kExitUsage;
  }
  auto bundle = ReadFile(a.positional[0]);
  if (!bundle.ok()) return Fail(bundle.status());
  policy::BundleTrust trust;
  for (const std::string& p : a.flags.at("--trust")) {
    auto key = ReadHexKey(p, 32);
    if (!key.ok()) return Fail(key.status());
    trust.officer_keys.push_back(*key);
  }
  trust.min_signatures = std::atoi(a.Get("--min", "1").c_str());
  auto payload = policy::VerifyBundle(*bundle, trust);
  if (!payload.ok()) {
    std::fprintf(stderr, "policyc: bundle REJECTED: %s\n",
                 std::string(payload.status().message()).c_str());
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
  return kExitOk;
}

}  // namespace gatehouse::policyc
