#include "transport/call_gate.h"

#include <sodium.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace gatehouse {

absl::StatusOr<Identity> CallGate::Accepts(absl::StatusOr<Identity> id) const {
  if (!id.ok()) return id;
  if (port_ == Port::kPeer) {
    if (id->kind != Identity::Kind::kGateway) {
      return absl::UnauthenticatedError(
          absl::StrCat(id->uri, " is not a gateway; the peer port is for gateways"));
    }
    return id;
  }
  if (id->kind != Identity::Kind::kSystem) {
    return absl::UnauthenticatedError(absl::StrCat(
        id->uri, " is a gateway certificate; the client port is for systems"));
  }
  if (id->org != org_id_) {
    return absl::UnauthenticatedError(absl::StrCat(id->uri, " belongs to organisation ",
                                                   id->org, "; this gateway serves ", org_id_));
  }
  return id;
}

std::string CallGate::Describe(const Known& k, absl::string_view pem) {
  if (k.identity.ok()) return k.identity->uri;
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(pem.data()), pem.size());
  return absl::StrCat("certificate sha256:",
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(digest), 8)));
}

absl::StatusOr<Identity> CallGate::Check(absl::string_view pem, absl::Time now) {
  if (pem.empty()) {
    return absl::UnauthenticatedError("the caller presented no client certificate");
  }
  const uint64_t generation = revocations_->generation();
  Known k;
  bool found = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = known_.find(pem);
    if (it != known_.end()) {
      k = it->second;
      found = true;
    }
  }
  bool changed = !found;
  if (!found) {
    k.facts = ReadCertificateFacts(pem);
    k.identity = Accepts(IdentityFromCertificatePem(pem));
  }
  if (k.facts.ok() && k.generation != generation) {
    k.revoked = revocations_->RevokedSerial(k.facts->issuer_der, k.facts->serial_hex);
    k.generation = generation;
    changed = true;
  }
  if (changed) {
    absl::MutexLock lock(&mu_);
    if (known_.size() >= kMaxKnown) known_.clear();
    known_[std::string(pem)] = k;
  }

  absl::Status refusal;
  if (!k.facts.ok()) {
    refusal = absl::UnauthenticatedError("the caller's certificate does not parse");
  } else if (now > k.facts->not_after) {
    refusal = absl::UnauthenticatedError(absl::StrCat(
        "the caller's certificate expired at ", absl::FormatTime(k.facts->not_after),
        "; ask for a new one"));
  } else if (now < k.facts->not_before) {
    refusal = absl::UnauthenticatedError(absl::StrCat(
        "the caller's certificate is not valid until ", absl::FormatTime(k.facts->not_before)));
  } else if (k.revoked) {
    refusal = absl::UnauthenticatedError(absl::StrCat(
        "the caller's certificate (serial ", k.facts->serial_hex,
        ") is revoked by a CRL in force on this gateway"));
  } else if (!k.identity.ok()) {
    refusal = k.identity.status();
  }
  if (refusal.ok()) return k.identity;
  if (refusals_ != nullptr) refusals_->Refused(port_name(), Describe(k, pem), refusal.message());
  return refusal;
}

grpc::Status CallGate::Process(const InputMetadata& /*auth_metadata*/, grpc::AuthContext* context,
                               OutputMetadata* /*consumed_auth_metadata*/,
                               OutputMetadata* /*response_metadata*/) {
  std::vector<grpc::string_ref> pems = context->FindPropertyValues("x509_pem_cert");
  absl::string_view pem =
      pems.empty() ? absl::string_view() : absl::string_view(pems[0].data(), pems[0].size());
  absl::StatusOr<Identity> id = Check(pem, clock_());
  if (!id.ok()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(id.status().message()));
  }
  return grpc::Status::OK;
}

}  // namespace gatehouse
