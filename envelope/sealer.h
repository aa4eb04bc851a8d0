// Sealer: the sending gateway's per-record mode. Each record gets a fresh
// data key sealed to the recipient organisation's X25519 key, its payload
// under XChaCha20-Poly1305 with the header as associated data, and its own
// Ed25519 signature (docs/envelope.md, "Per-record mode"). About 10,000
// records a second a core; for volume use BatchSealer.
//
// Thread-safe: Seal is const and may be called from many threads at once.
//
// Example:
//   ASSIGN_OR_RETURN(auto sealer, Sealer::Create(keyset));
//   ASSIGN_OR_RETURN(RecipientKey to, RecipientKeyFromDirectory(council_entry));
//   ASSIGN_OR_RETURN(std::string envelope, sealer->Seal(labels, to, payload));
#ifndef GATEHOUSE_ENVELOPE_SEALER_H_
#define GATEHOUSE_ENVELOPE_SEALER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envelope/header.h"
#include "envelope/key_id.h"
#include "envelope/keyset.h"

namespace gatehouse::envelope {

// Largest payload sealed whole; larger records go through StreamSealer.
inline constexpr size_t kMaxPayloadBytes = 64u << 20;

class Sealer {
 public:
  // Signs with the keyset's primary signing key (fixed at Create; a
  // rotation takes effect with a new Sealer). InvalidArgument if the keyset
  // has no primary signing key.
  static absl::StatusOr<std::unique_ptr<Sealer>> Create(std::shared_ptr<const Keyset> keyset);

  // Returns the envelope bytes (gatehouse.v1.Envelope). InvalidArgument if
  // labels.sender_org is not the keyset's org, a label is empty or too long,
  // caveats repeat, or the recipient key is invalid; ResourceExhausted if
  // the payload exceeds kMaxPayloadBytes.
  absl::StatusOr<std::string> Seal(const RecordLabels& labels, const RecipientKey& recipient,
                                   absl::string_view payload) const;

 private:
  Sealer(std::shared_ptr<const Keyset> keyset, const Keyset::Key* signing_key)
      : keyset_(std::move(keyset)), signing_key_(*signing_key) {}
  std::shared_ptr<const Keyset> keyset_;
  Keyset::Key signing_key_;  // a copy: later changes to the keyset do not affect it
};

// Checks shared by the sealers: sender_org is ours, payload within limit.
absl::Status CheckSealInput(const Keyset& keyset, const RecordLabels& labels,
                            absl::string_view payload);

}  // namespace gatehouse::envelope

#endif  // GATEHOUSE_ENVELOPE_SEALER_H_
