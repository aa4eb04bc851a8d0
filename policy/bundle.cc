#include "policy/bundle.h"

#include <sodium.h>

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace gatehouse::policy {
namespace {

constexpr absl::string_view kDomainTag("gatehouse.policy.v1\0", 20);

void InitSodium() {
  static const bool ok = sodium_init() >= 0;
  (void)ok;
}

std::string SignedMessage(absl::string_view payload) {
  return absl::StrCat(kDomainTag, payload);
}

const unsigned char* U(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// An officer's key of `bytes` raw bytes, written by `policyc keygen` as
// exactly 2 * `bytes` hex digits; `kind` ("public", "secret") names it in
// the error.
absl::StatusOr<std::string> ParseHexKey(absl::string_view text, absl::string_view source,
                                        size_t bytes, absl::string_view kind) {
  const std::string hex(absl::StripAsciiWhitespace(text));
  std::string raw = absl::HexStringToBytes(hex);
  // HexStringToBytes does not refuse odd lengths or non-hex characters:
  // writing the bytes back must give the digits read.
  if (raw.size() != bytes || absl::BytesToHexString(raw) != absl::AsciiStrToLower(hex)) {
    return absl::InvalidArgumentError(absl::StrCat(source, " is not an officer's ", kind,
                                                   " key from policyc keygen (", 2 * bytes,
                                                   " hex digits)"));
  }
  return raw;
}

}  // namespace

absl::StatusOr<std::string> ParseOfficerPublicKey(absl::string_view text,
                                                  absl::string_view source) {
  return ParseHexKey(text, source, crypto_sign_PUBLICKEYBYTES, "public");
}

absl::StatusOr<std::string> ParseOfficerSecretKey(absl::string_view text,
                                                  absl::string_view source) {
  return ParseHexKey(text, source, crypto_sign_SECRETKEYBYTES, "secret");
}

std::string KeyFingerprint(absl::string_view public_key) {
  return absl::BytesToHexString(public_key.substr(0, 8));
}

OfficerKeyPair GenerateOfficerKey() {
  InitSodium();
  OfficerKeyPair k;
  k.public_key.resize(crypto_sign_PUBLICKEYBYTES);
  k.secret_key.resize(crypto_sign_SECRETKEYBYTES);
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(k.public_key.data()),
                      reinterpret_cast<unsigned char*>(k.secret_key.data()));
  return k;
}

absl::StatusOr<std::string> MakeBundle(
    const gatehouse::v1::CompiledPolicy& compiled, int required,
    absl::string_view version, absl::Time issued, absl::Time not_after) {
  if (not_after <= issued) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the bundle's expiry (", FormatBundleTime(not_after),
        ") must be after its issue time (", FormatBundleTime(issued), ")"));
  }
  if (required < 1) {
    return absl::InvalidArgumentError(
        "a bundle must require at least one officer signature");
  }
  if (required > kMaxRequiredSignatures) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a bundle may require at most ", kMaxRequiredSignatures, " officer signatures"));
  }
  gatehouse::v1::PolicyBundlePayload payload;
  payload.set_compiled_policy(compiled.SerializeAsString());
  payload.set_required_signatures(static_cast<uint32_t>(required));
  payload.set_version(std::string(version));
  payload.set_issued_unix_ms(absl::ToUnixMillis(issued));
  if (not_after != absl::InfiniteFuture()) {
    // At least 1 ms: 0 on the wire means "no expiry".
    payload.set_expires_unix_ms(std::max<int64_t>(1, absl::ToUnixMillis(not_after)));
  }
  gatehouse::v1::SignedPolicyBundle bundle;
  bundle.set_payload(payload.SerializeAsString());
  return bundle.SerializeAsString();
}

absl::StatusOr<std::string> SignBundle(absl::string_view bundle_bytes,
                                       absl::string_view secret_key,
                                       absl::string_view signer_name) {
  InitSodium();
  gatehouse::v1::SignedPolicyBundle bundle;
  if (!bundle.ParseFromArray(bundle_bytes.data(),
                             static_cast<int>(bundle_bytes.size()))) {
    return absl::InvalidArgumentError("not a policy bundle");
  }
  if (absl::StripAsciiWhitespace(signer_name).empty()) {
    return absl::InvalidArgumentError("a signature needs the signer's name");
  }
  if (secret_key.size() != crypto_sign_SECRETKEYBYTES) {
    return absl::InvalidArgumentError(
        absl::StrCat("officer secret key must be ", crypto_sign_SECRETKEYBYTES,
                     " bytes, got ", secret_key.size()));
  }
  std::string public_key(crypto_sign_PUBLICKEYBYTES, '\0');
  crypto_sign_ed25519_sk_to_pk(reinterpret_cast<unsigned char*>(public_key.data()),
                               U(secret_key));
  for (const auto& s : bundle.signatures()) {
    if (s.public_key() == public_key) {
      return absl::AlreadyExistsError(absl::StrCat(
          "key ", KeyFingerprint(public_key), " has already signed this bundle"));
    }
  }
  const std::string msg = SignedMessage(bundle.payload());
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       U(msg), msg.size(), U(secret_key));
  auto* s = bundle.add_signatures();
  s->set_public_key(public_key);
  s->set_signature(sig);
  s->set_signer_name(std::string(signer_name));
  return bundle.SerializeAsString();
}

std::string FormatBundleTime(absl::Time t) {
  if (t == absl::InfiniteFuture()) return "never";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

absl::Time BundleNotAfter(const gatehouse::v1::PolicyBundlePayload& payload) {
  if (payload.expires_unix_ms() == 0) return absl::InfiniteFuture();
  return absl::FromUnixMillis(payload.expires_unix_ms());
}

absl::Status CheckBundleExpiry(absl::Time not_after, absl::Time now) {
  if (now < not_after) return absl::OkStatus();
  return absl::UnauthenticatedError(absl::StrCat(
      "policy bundle expired at ", FormatBundleTime(not_after),
      "; ask the security officers to compile and sign a fresh one"));
}

absl::StatusOr<gatehouse::v1::PolicyBundlePayload> VerifyBundle(
    absl::string_view bundle_bytes, const BundleTrust& trust, absl::Time now) {
  InitSodium();
  gatehouse::v1::SignedPolicyBundle bundle;
  if (!bundle.ParseFromArray(bundle_bytes.data(),
                             static_cast<int>(bundle_bytes.size()))) {
    return absl::InvalidArgumentError("not a policy bundle (does not parse)");
  }
  gatehouse::v1::PolicyBundlePayload payload;
  if (!payload.ParseFromString(bundle.payload())) {
    return absl::InvalidArgumentError("bundle payload does not parse");
  }
  if (payload.required_signatures() < 1) {
    return absl::InvalidArgumentError(
        "bundle requires no signatures; refusing an unsigned policy");
  }
  if (payload.required_signatures() > kMaxRequiredSignatures) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bundle requires more than ", kMaxRequiredSignatures, " signatures; refusing it"));
  }
  const absl::flat_hash_set<std::string> trusted(trust.officer_keys.begin(),
                                                 trust.officer_keys.end());
  const std::string msg = SignedMessage(bundle.payload());
  absl::flat_hash_set<std::string> signers;
  for (const auto& s : bundle.signatures()) {
    const std::string who = absl::StrCat(
        "'", s.signer_name(), "' (key ", KeyFingerprint(s.public_key()), ")");
    if (s.public_key().size() != crypto_sign_PUBLICKEYBYTES ||
        s.signature().size() != crypto_sign_BYTES) {
      return absl::UnauthenticatedError(
          absl::StrCat("signature by ", who, " is malformed"));
    }
    if (!trusted.contains(s.public_key())) {
      return absl::UnauthenticatedError(absl::StrCat(
          "bundle is signed by ", who,
          ", which is not a trusted security officer key"));
    }
    if (!signers.insert(s.public_key()).second) {
      return absl::UnauthenticatedError(
          absl::StrCat("officer ", who, " signed the bundle twice"));
    }
    if (crypto_sign_verify_detached(U(s.signature()), U(msg), msg.size(),
                                    U(s.public_key())) != 0) {
      return absl::UnauthenticatedError(absl::StrCat(
          "signature by ", who,
          " does not verify: the bundle was altered after signing"));
    }
  }
  const int need = std::max(static_cast<int>(payload.required_signatures()),
                            trust.min_signatures);
  if (static_cast<int>(signers.size()) < need) {
    return absl::UnauthenticatedError(absl::StrCat(
        "bundle has ", signers.size(), " valid officer signature(s); ", need,
        " distinct signatures are required"));
  }
  // Only now, with the expiry authenticated, judge it.
  if (absl::Status fresh = CheckBundleExpiry(BundleNotAfter(payload), now); !fresh.ok()) {
    return fresh;
  }
  return payload;
}

absl::StatusOr<BundleContents> InspectBundle(absl::string_view bundle_bytes,
                                             const BundleTrust& trust) {
  InitSodium();
  gatehouse::v1::SignedPolicyBundle bundle;
  if (!bundle.ParseFromArray(bundle_bytes.data(), static_cast<int>(bundle_bytes.size()))) {
    return absl::InvalidArgumentError("not a policy bundle (does not parse)");
  }
  BundleContents out;
  if (!out.payload.ParseFromString(bundle.payload())) {
    return absl::InvalidArgumentError("bundle payload does not parse");
  }
  if (!out.compiled.ParseFromString(out.payload.compiled_policy())) {
    return absl::InvalidArgumentError("bundle's compiled policy does not parse");
  }
  unsigned char hash[crypto_generichash_BYTES];
  crypto_generichash(hash, sizeof hash, U(bundle.payload()), bundle.payload().size(), nullptr, 0);
  out.digest = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(hash), sizeof hash));
  const absl::flat_hash_set<std::string> trusted(trust.officer_keys.begin(),
                                                 trust.officer_keys.end());
  const std::string msg = SignedMessage(bundle.payload());
  for (const auto& sig : bundle.signatures()) {
    BundleSigner s;
    s.name = sig.signer_name();
    s.public_key = sig.public_key();
    s.fingerprint = KeyFingerprint(sig.public_key());
    s.trusted = trusted.contains(sig.public_key());
    s.verifies = sig.public_key().size() == crypto_sign_PUBLICKEYBYTES &&
                 sig.signature().size() == crypto_sign_BYTES &&
                 crypto_sign_verify_detached(U(sig.signature()), U(msg), msg.size(),
                                             U(sig.public_key())) == 0;
    out.signers.push_back(std::move(s));
  }
  return out;
}

}  // namespace gatehouse::policy
