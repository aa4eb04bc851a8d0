// keygen, sign, verify.
#include <cstdio>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
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
  if (a.positional.size() != 1 || !a.Has("--key")) {
    std::fprintf(stderr, "usage: policyc sign BUNDLE --key NAME.key --name WHO [-o OUT]\n");
    return kExitUsage;
  }
  auto bundle = ReadFile(a.positional[0]);
  if (!bundle.ok()) return Fail(bundle.status());
  auto key = ReadHexKey(a.Get("--key"), 64);
  if (!key.ok()) return Fail(key.status());
  auto signed_bundle = policy::SignBundle(*bundle, *key, a.Get("--name"));
  if (!signed_bundle.ok()) return Fail(signed_bundle.status(), kExitFailed);
  const std::string out = a.Get("-o", a.positional[0]);
  if (auto s = WriteFile(out, *signed_bundle); !s.ok()) return Fail(s);
  std::printf("signed %s as '%s'\n", out.c_str(), a.Get("--name").c_str());
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
  return kExitOk;
}

}  // namespace gatehouse::policyc
