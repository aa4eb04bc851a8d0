#include "audit/checkpoint.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gatehouse::audit {
namespace {

std::string CosignedMessage(absl::string_view text, uint64_t timestamp) {
  return absl::StrCat("cosignature/v1\ntime ", timestamp, "\n", text);
}

}  // namespace

std::string FormatCheckpoint(const Checkpoint& cp) {
  std::string out = absl::StrCat(cp.origin, "\n", cp.size, "\n",
                                 absl::Base64Escape(absl::string_view(
                                     reinterpret_cast<const char*>(cp.root.data()), kHashSize)),
                                 "\n");
  for (const std::string& ext : cp.extensions) absl::StrAppend(&out, ext, "\n");
  return out;
}

absl::StatusOr<Checkpoint> ParseCheckpoint(absl::string_view text) {
  if (text.empty() || text.back() != '\n') {
    return absl::InvalidArgumentError("checkpoint: text does not end with a newline");
  }
  text.remove_suffix(1);
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (lines.size() < 3) return absl::InvalidArgumentError("checkpoint: fewer than three lines");
  for (absl::string_view line : lines) {
    if (line.empty()) return absl::InvalidArgumentError("checkpoint: empty line");
  }
  Checkpoint cp;
  cp.origin = std::string(lines[0]);
  absl::string_view size = lines[1];
  if (size.size() > 20 || (size.size() > 1 && size[0] == '0') ||
      size.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(size, &cp.size)) {
    return absl::InvalidArgumentError("checkpoint: tree size is not a canonical decimal");
  }
  std::string root;
  if (!absl::Base64Unescape(lines[2], &root) || absl::Base64Escape(root) != lines[2] ||
      !HashFromBytes(root, &cp.root)) {
    return absl::InvalidArgumentError("checkpoint: root is not base64 of 32 bytes");
  }
  for (size_t i = 3; i < lines.size(); ++i) cp.extensions.emplace_back(lines[i]);
  return cp;
}

absl::StatusOr<SignedCheckpoint> OpenCheckpoint(absl::string_view note,
                                                const NoteVerifier& log_key) {
  absl::StatusOr<Note> opened = OpenNote(note, {&log_key});
  if (!opened.ok()) return opened.status();
  absl::StatusOr<Checkpoint> cp = ParseCheckpoint(opened->text);
  if (!cp.ok()) return cp.status();
  if (cp->origin != log_key.name()) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint: origin ", cp->origin, " is not the log key's name ", log_key.name()));
  }
  SignedCheckpoint out;
  out.checkpoint = *std::move(cp);
  out.text = opened->text;
  out.note = *std::move(opened);
  return out;
}

NoteSignature Cosign(absl::string_view text, const NoteSigner& signer, uint64_t timestamp) {
  std::string sig(8, '\0');
  for (int i = 0; i < 8; ++i) sig[i] = static_cast<char>(timestamp >> (56 - 8 * i));
  sig += signer.SignRaw(CosignedMessage(text, timestamp));
  return NoteSignature{signer.name(), signer.key_id(), sig};
}

absl::StatusOr<uint64_t> VerifyCosignature(absl::string_view text, const NoteSignature& sig,
                                           const NoteVerifier& cosigner) {
  if (cosigner.type() != kSigTypeCosignatureV1 || sig.name != cosigner.name() ||
      sig.key_id != cosigner.key_id()) {
    return absl::NotFoundError("cosignature: not by this cosigner");
  }
  if (sig.signature.size() != 8 + 64) {
    return absl::DataLossError("cosignature: not 72 bytes (timestamp || Ed25519 signature)");
  }
  uint64_t ts = 0;
  for (int i = 0; i < 8; ++i) ts = (ts << 8) | static_cast<uint8_t>(sig.signature[i]);
  if (ts > (uint64_t{1} << 63) - 1) return absl::DataLossError("cosignature: timestamp too large");
  if (!cosigner.VerifyRaw(CosignedMessage(text, ts), absl::string_view(sig.signature).substr(8))) {
    return absl::DataLossError(absl::StrCat("cosignature by ", sig.name, " is invalid"));
  }
  return ts;
}

std::vector<const NoteVerifier*> VerifiedCosigners(
    absl::string_view text, const std::vector<NoteSignature>& signatures,
    const std::vector<const NoteVerifier*>& cosigners) {
  std::vector<const NoteVerifier*> out;
  auto same_key = [](const NoteVerifier* a, const NoteVerifier* b) {
    return a->name() == b->name() && a->key_id() == b->key_id() &&
           a->public_key() == b->public_key();
  };
  for (const NoteVerifier* cosigner : cosigners) {
    // One key listed twice is still one cosigner.
    if (std::any_of(out.begin(), out.end(),
                    [&](const NoteVerifier* v) { return same_key(v, cosigner); })) {
      continue;
    }
    for (const NoteSignature& sig : signatures) {
      if (VerifyCosignature(text, sig, *cosigner).ok()) {
        out.push_back(cosigner);
        break;
      }
    }
  }
  return out;
}

}  // namespace gatehouse::audit
