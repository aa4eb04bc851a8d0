// This gateway's own keys (keysetFile) as one immutable value, replaceable
// while calls are in flight: the keyset and the opener and stream sealer and
// opener built from it. A rotation (ghkey rotate-encryption, add-signing,
// promote-signing, remove) takes effect when the file changes, without a
// restart: the new keyset is checked (it belongs to this organisation and
// the directory in force lists its keys) and published whole; calls in
// flight keep the keys they took. An encryption key kept in the keyset
// still opens what was sealed to it; held records stay readable after a
// sender's signing key rotates because each is opened against the key that
// verified it on arrival (MailboxRecord.sender_key).
//
// Thread-safe.
#ifndef GATEHOUSE_GATEWAY_KEY_HOLDER_H_
#define GATEHOUSE_GATEWAY_KEY_HOLDER_H_

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "envelope/keyset.h"
#include "envelope/opener.h"
#include "envelope/stream.h"

namespace gatehouse {

struct KeyMaterial {
  std::shared_ptr<const envelope::Keyset> keyset;
  std::unique_ptr<envelope::Opener> opener;
  std::unique_ptr<envelope::StreamSealer> stream_sealer;
  std::unique_ptr<envelope::StreamOpener> stream_opener;

  // InvalidArgument if the keyset cannot seal or open (no primary keys).
  static absl::StatusOr<std::shared_ptr<const KeyMaterial>> Build(envelope::Keyset keyset);
  // "encryption 3f9a.. (+1 older), signing 77c1.. (+0 others)": key ids
  // only, for the audit log.
  std::string Describe() const;
};

class KeyHolder {
 public:
  // Loads `path`: InvalidArgument naming the file if it does not validate,
  // is readable by others, or belongs to an organisation other than `org_id`.
  static absl::StatusOr<std::unique_ptr<KeyHolder>> Load(const std::string& path,
                                                         const std::string& org_id);

  // The keys in force, for the whole of one call.
  std::shared_ptr<const KeyMaterial> Current() const;

  struct Reload {
    bool loaded = false;
    std::string detail;  // Describe() of the keys now in force, or why refused
  };
  // Re-reads the file if it changed since last read. A new keyset that
  // does not load, or that `check` refuses (the directory in force does not
  // list its keys), is refused and the keys in force stay. nullopt if the
  // file is unchanged.
  std::optional<Reload> ReloadIfChanged(
      const std::function<absl::Status(const envelope::Keyset&)>& check);

 private:
  KeyHolder(std::string path, std::string org_id) : path_(std::move(path)), org_id_(std::move(org_id)) {}
  absl::StatusOr<envelope::Keyset> Read() const;

  const std::string path_;
  const std::string org_id_;
  mutable std::mutex mu_;
  std::shared_ptr<const KeyMaterial> current_ ABSL_GUARDED_BY(mu_);
  std::string stamp_ ABSL_GUARDED_BY(mu_);  // size and mtime last read
};

}  // namespace gatehouse

#endif  // GATEHOUSE_GATEWAY_KEY_HOLDER_H_
