// What a gateway checks of its own files before it serves, and again when
// they change: its certificate names this organisation's gateway, secret
// key files are its own alone, the directory's entry for it publishes the
// keys it holds; and the small files it writes (ports, modes).
//
// Thread-safe: free functions.
#ifndef GATEHOUSE_GATEWAY_STARTUP_CHECKS_H_
#define GATEHOUSE_GATEWAY_STARTUP_CHECKS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "audit/note.h"
#include "envelope/keyset.h"
#include "gatehouse/v1/config.pb.h"
#include "gatehouse/v1/directory.pb.h"

namespace gatehouse {

// InvalidArgument unless tls.certFile is readable and names this
// organisation's gateway (psn://org/<org>/gateway).
absl::Status CheckOwnCertificate(const v1::GatewayConfig& config);

// A secret key file, whitespace trimmed: InvalidArgument (naming `field`)
// if it does not exist or group or others may read it.
absl::StatusOr<std::string> ReadSecretFile(absl::string_view field, const std::string& path);

// The note signer in `path` (`field` in the config): InvalidArgument unless
// it is a key of `type` (audit::kSigTypeEd25519 or kSigTypeCosignatureV1).
absl::StatusOr<audit::NoteSigner> LoadNoteKey(absl::string_view field, const std::string& path,
                                              uint8_t type);

// InvalidArgument unless the directory's entry for us (`entry`) publishes
// an encryption key `keys` holds and `keys`' primary signing key: checked
// at start and for every replaced keyset file.
absl::Status CheckOwnKeys(const v1::Organisation& entry, const envelope::Keyset& keys);

// InvalidArgument unless the directory's entry for us publishes the keys we
// hold: an encryption key the keyset holds, the primary signing key, the
// audit log's and the cosigner's public keys. Otherwise peers could neither
// seal to us nor check what we sign.
absl::Status CheckOwnEntry(const v1::Organisation& entry, const envelope::Keyset& keys,
                           const audit::NoteSigner& log_key, const audit::NoteSigner& cosigner);

// Writes the ports the gateway listens on as JSON (for scripts and tests).
absl::Status WritePortsFile(const std::string& path, int client_port, int peer_port,
                            int admin_port, int health_port);

// Every file under `dir` 0600 and every directory 0700; ones left looser are
// tightened and logged. Unavailable if one cannot be.
absl::Status TightenModes(const std::string& dir);

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_STARTUP_CHECKS_H_
