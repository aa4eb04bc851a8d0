#include "audit/note.h"

#include <sodium.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"

namespace gatehouse::audit {
namespace {

constexpr absl::string_view kEmDashSpace = "\xE2\x80\x94 ";  // U+2014 U+0020

// Standard base64 (RFC 4648 section 4) with padding, decoded strictly: the
// decoding must re-encode to the same text, so there is one encoding. The
// re-encoding is wiped: it may be a private key's.
bool StrictBase64Decode(absl::string_view in, std::string* out) {
  if (!absl::Base64Unescape(in, out)) return false;
  std::string again = absl::Base64Escape(*out);
  const bool same = again == in;
  sodium_memzero(again.data(), again.size());
  return same;
}

bool ValidUtf8NoControl(absl::string_view s) {
  size_t i = 0;
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  while (i < s.size()) {
    uint8_t c = p[i];
    if (c < 0x80) {
      if (c < 0x20 && c != '\n') return false;
      if (c == 0x7f) return false;
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > s.size()) return false;
    for (int k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

// Key names: non-empty, no '+', no Unicode spaces (c2sp.org/signed-note).
bool ValidKeyName(absl::string_view name) {
  if (name.empty() || !ValidUtf8NoControl(name)) return false;
  for (absl::string_view bad :
       {" ", "+", "\n", "\xC2\x85", "\xC2\xA0", "\xE1\x9A\x80", "\xE2\x80\xA8", "\xE2\x80\xA9",
        "\xE2\x80\xAF", "\xE2\x81\x9F", "\xE3\x80\x80"}) {
    if (name.find(bad) != absl::string_view::npos) return false;
  }
  for (uint8_t b = 0x80; b <= 0x8A; ++b) {  // U+2000..U+200A
    const char seq[3] = {'\xE2', '\x80', static_cast<char>(b)};
    if (name.find(absl::string_view(seq, 3)) != absl::string_view::npos) return false;
  }
  return true;
}

// base64(type || key); the plain blob is wiped, since `key` may be a seed.
std::string KeyBlob(uint8_t type, absl::string_view key) {
  std::string blob(1, static_cast<char>(type));
  blob.append(key.data(), key.size());
  std::string out = absl::Base64Escape(blob);
  sodium_memzero(blob.data(), blob.size());
  return out;
}

// Parses "name+hexid+base64(type||key)" into its parts.
absl::Status ParseKeyParts(absl::string_view s, std::string* name, uint32_t* id,
                           uint8_t* type, std::string* key) {
  // The key material's base64 may itself contain '+'; names and ids cannot.
  std::vector<absl::string_view> parts = absl::StrSplit(s, absl::MaxSplits('+', 2));
  if (parts.size() != 3) return absl::InvalidArgumentError("key: want name+id+key");
  if (!ValidKeyName(parts[0])) return absl::InvalidArgumentError("key: bad key name");
  if (parts[1].size() != 8 || !absl::SimpleHexAtoi(parts[1], id)) {
    return absl::InvalidArgumentError("key: id is not 8 hex digits");
  }
  // `blob` may hold a private key's seed: wiped on every path out.
  std::string blob;
  const bool decoded = StrictBase64Decode(parts[2], &blob) && blob.size() == 33;
  const uint8_t blob_type = decoded ? static_cast<uint8_t>(blob[0]) : 0;
  if (decoded) key->assign(blob, 1, std::string::npos);
  sodium_memzero(blob.data(), blob.size());
  if (!decoded) return absl::InvalidArgumentError("key: key is not base64 of 33 bytes");
  if (blob_type != kSigTypeEd25519 && blob_type != kSigTypeCosignatureV1) {
    sodium_memzero(key->data(), key->size());
    return absl::InvalidArgumentError("key: unsupported signature type");
  }
  *type = blob_type;
  *name = std::string(parts[0]);
  return absl::OkStatus();
}

}  // namespace

uint32_t NoteKeyId(absl::string_view name, uint8_t type, absl::string_view public_key) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, reinterpret_cast<const uint8_t*>(name.data()), name.size());
  const uint8_t sep[2] = {0x0A, type};
  crypto_hash_sha256_update(&st, sep, 2);
  crypto_hash_sha256_update(&st, reinterpret_cast<const uint8_t*>(public_key.data()),
                            public_key.size());
  uint8_t h[32];
  crypto_hash_sha256_final(&st, h);
  return (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3];
}

absl::StatusOr<Note> ParseNote(absl::string_view note) {
  if (note.size() > kMaxNoteSize) return absl::InvalidArgumentError("note: too large");
  if (!ValidUtf8NoControl(note)) {
    return absl::InvalidArgumentError("note: not UTF-8 or has control characters");
  }
  if (note.empty() || note.back() != '\n') {
    return absl::InvalidArgumentError("note: does not end with a newline");
  }
  // The text is separated from the signatures by the last empty line.
  size_t split = note.rfind("\n\n");
  if (split == absl::string_view::npos) {
    return absl::InvalidArgumentError("note: no blank line before signatures");
  }
  Note out;
  out.text = std::string(note.substr(0, split + 1));
  absl::string_view sigs = note.substr(split + 2);
  if (sigs.empty()) return absl::InvalidArgumentError("note: no signatures");
  while (!sigs.empty()) {
    size_t nl = sigs.find('\n');
    absl::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    if (out.signatures.size() >= kMaxNoteSignatures) {
      return absl::InvalidArgumentError("note: too many signatures");
    }
    absl::StatusOr<NoteSignature> sig = ParseSignatureLine(line);
    if (!sig.ok()) return sig.status();
    out.signatures.push_back(*std::move(sig));
  }
  return out;
}

absl::StatusOr<NoteSignature> ParseSignatureLine(absl::string_view line) {
  if (line.find('\n') != absl::string_view::npos || !ValidUtf8NoControl(line)) {
    return absl::InvalidArgumentError("note: signature line is not one line of UTF-8");
  }
  if (!absl::ConsumePrefix(&line, kEmDashSpace)) {
    return absl::InvalidArgumentError("note: signature line does not start with an em dash");
  }
  size_t sp = line.find(' ');
  if (sp == absl::string_view::npos) return absl::InvalidArgumentError("note: bad signature line");
  NoteSignature sig;
  sig.name = std::string(line.substr(0, sp));
  if (!ValidKeyName(sig.name)) return absl::InvalidArgumentError("note: bad key name");
  std::string raw;
  if (!StrictBase64Decode(line.substr(sp + 1), &raw) || raw.size() < 5) {
    return absl::InvalidArgumentError("note: signature is not base64 of at least 5 bytes");
  }
  const auto* u = reinterpret_cast<const uint8_t*>(raw.data());
  sig.key_id = (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
  sig.signature = raw.substr(4);
  return sig;
}

std::string FormatSignatureLine(const NoteSignature& sig) {
  std::string raw(4, '\0');
  raw[0] = static_cast<char>(sig.key_id >> 24);
  raw[1] = static_cast<char>(sig.key_id >> 16);
  raw[2] = static_cast<char>(sig.key_id >> 8);
  raw[3] = static_cast<char>(sig.key_id);
  raw += sig.signature;
  return absl::StrCat(kEmDashSpace, sig.name, " ", absl::Base64Escape(raw), "\n");
}

absl::StatusOr<NoteSigner> NoteSigner::FromPrivateKey(absl::string_view skey) {
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  if (!absl::ConsumePrefix(&skey, "PRIVATE+KEY+")) {
    return absl::InvalidArgumentError("private key: missing PRIVATE+KEY+ prefix");
  }
  NoteSigner s;
  std::string seed;
  uint32_t id;
  absl::Status st = ParseKeyParts(skey, &s.name_, &id, &s.type_, &seed);
  if (!st.ok()) return st;
  std::array<uint8_t, crypto_sign_PUBLICKEYBYTES> pub;
  s.secret_ = SecretKey(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(pub.data(), s.secret_.mutable_data(SecretKeyAccess()),
                           reinterpret_cast<const uint8_t*>(seed.data()));
  sodium_memzero(seed.data(), seed.size());
  s.key_id_ = NoteKeyId(s.name_, s.type_, s.public_key());
  if (s.key_id_ != id) return absl::InvalidArgumentError("private key: key id does not match key");
  return s;
}

absl::StatusOr<NoteSigner> NoteSigner::Generate(absl::string_view name, uint8_t type) {
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  if (!ValidKeyName(name)) return absl::InvalidArgumentError("bad key name");
  if (type != kSigTypeEd25519 && type != kSigTypeCosignatureV1) {
    return absl::InvalidArgumentError("unsupported signature type");
  }
  NoteSigner s;
  s.name_ = std::string(name);
  s.type_ = type;
  std::array<uint8_t, crypto_sign_PUBLICKEYBYTES> pub;
  s.secret_ = SecretKey(crypto_sign_SECRETKEYBYTES);
  crypto_sign_keypair(pub.data(), s.secret_.mutable_data(SecretKeyAccess()));
  s.key_id_ = NoteKeyId(s.name_, s.type_, s.public_key());
  return s;
}

std::string NoteSigner::public_key() const {
  // libsodium's Ed25519 secret key is seed || public key: the second half is public.
  return std::string(
      reinterpret_cast<const char*>(secret_.data(SecretKeyAccess())) + crypto_sign_SEEDBYTES,
      crypto_sign_PUBLICKEYBYTES);
}

std::string NoteSigner::VerifierKeyString() const {
  return absl::StrCat(name_, "+", absl::StrFormat("%08x", key_id_), "+",
                      KeyBlob(type_, public_key()));
}

std::string NoteSigner::PrivateKeyString(SecretKeyAccess access) const {
  std::string blob = KeyBlob(
      type_, absl::string_view(reinterpret_cast<const char*>(secret_.data(access)),
                               crypto_sign_SEEDBYTES));
  std::string out =
      absl::StrCat("PRIVATE+KEY+", name_, "+", absl::StrFormat("%08x", key_id_), "+", blob);
  sodium_memzero(blob.data(), blob.size());
  return out;
}

std::string NoteSigner::SignRaw(absl::string_view message) const {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<uint8_t*>(sig.data()), nullptr,
                       reinterpret_cast<const uint8_t*>(message.data()), message.size(),
                       secret_.data(SecretKeyAccess()));
  return sig;
}

NoteSignature NoteSigner::SignNoteText(absl::string_view text) const {
  return NoteSignature{name_, key_id_, SignRaw(text)};
}

absl::StatusOr<NoteVerifier> NoteVerifier::FromVerifierKey(absl::string_view vkey) {
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  NoteVerifier v;
  uint32_t id;
  absl::Status st = ParseKeyParts(vkey, &v.name_, &id, &v.type_, &v.public_key_);
  if (!st.ok()) return st;
  v.key_id_ = NoteKeyId(v.name_, v.type_, v.public_key_);
  if (v.key_id_ != id) return absl::InvalidArgumentError("verifier key: key id does not match key");
  return v;
}

NoteVerifier NoteVerifier::FromPublicKey(absl::string_view name, uint8_t type,
                                         absl::string_view public_key) {
  NoteVerifier v;
  v.name_ = std::string(name);
  v.type_ = type;
  v.public_key_ = std::string(public_key);
  v.key_id_ = NoteKeyId(name, type, public_key);
  return v;
}

std::string NoteVerifier::VerifierKeyString() const {
  return absl::StrCat(name_, "+", absl::StrFormat("%08x", key_id_), "+",
                      KeyBlob(type_, public_key_));
}

bool NoteVerifier::VerifyRaw(absl::string_view message, absl::string_view sig) const {
  if (sig.size() != crypto_sign_BYTES || public_key_.size() != crypto_sign_PUBLICKEYBYTES) {
    return false;
  }
  return crypto_sign_verify_detached(reinterpret_cast<const uint8_t*>(sig.data()),
                                     reinterpret_cast<const uint8_t*>(message.data()),
                                     message.size(),
                                     reinterpret_cast<const uint8_t*>(public_key_.data())) == 0;
}

std::string SignNote(absl::string_view text, const std::vector<const NoteSigner*>& signers) {
  std::string out(text);
  out += "\n";
  for (const NoteSigner* s : signers) out += FormatSignatureLine(s->SignNoteText(text));
  return out;
}

absl::StatusOr<Note> OpenNote(absl::string_view note,
                              const std::vector<const NoteVerifier*>& verifiers) {
  absl::StatusOr<Note> parsed = ParseNote(note);
  if (!parsed.ok()) return parsed.status();
  bool verified = false;
  for (const NoteSignature& sig : parsed->signatures) {
    for (const NoteVerifier* v : verifiers) {
      if (v->type() != kSigTypeEd25519 || v->name() != sig.name || v->key_id() != sig.key_id) {
        continue;
      }
      if (!v->VerifyRaw(parsed->text, sig.signature)) {
        return absl::DataLossError(absl::StrCat("note: signature by ", sig.name, " is invalid"));
      }
      verified = true;
    }
  }
  if (!verified) return absl::UnauthenticatedError("note: no signature by a known key");
  return parsed;
}

}  // namespace gatehouse::audit
