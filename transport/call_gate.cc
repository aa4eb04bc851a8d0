#include "transport/call_gate.h"

#include <sodium.h>

#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "proto/error_details.h"

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
    return absl::UnauthenticatedError(
        absl::StrCat(id->uri, " is a gateway certificate; the client port is for systems"));
  }
  if (id->org != org_id_) {
    return absl::UnauthenticatedError(absl::StrCat(id->uri, " belongs to organisation ", id->org,
                                                   "; this gateway serves ", org_id_));
  }
  return id;
}

std::string CallGate::Describe(const Known& k, absl::string_view pem) {
  // What an untrusted certificate claims proves nothing, and anyone can
  // make many: they are summarised as one caller.
  if (k.facts.ok() && !k.trusted.ok()) return "certificates not issued by a trusted authority";
  if (k.identity.ok()) return k.identity->uri;
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(pem.data()), pem.size());
  return absl::StrCat("certificate sha256:", absl::BytesToHexString(absl::string_view(
                                                 reinterpret_cast<const char*>(digest), 8)));
}

absl::StatusOr<Identity> CallGate::Check(absl::string_view pem, absl::Time now,
                                         absl::string_view chain_pem) {
  if (pem.empty()) {
    return WithReason(
        absl::UnauthenticatedError("the caller presented no client certificate; this port requires "
                                   "one issued by the organisation's authority"),
        "CERTIFICATE_MISSING");
  }
  // The cache key: the certificate and what came with it.
  const std::string key = absl::StrCat(pem, chain_pem);
  const uint64_t generation = revocations_->generation();
  Known k;
  bool found = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = known_.find(key);
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
    k.trusted = revocations_->Trusted(pem, chain_pem);
    k.revoked = revocations_->RevokedSerial(k.facts->issuer_der, k.facts->serial_hex);
    k.generation = generation;
    changed = true;
  }
  if (changed) {
    absl::MutexLock lock(&mu_);
    if (known_.size() >= kMaxKnown) known_.clear();
    known_[key] = k;
  }

  absl::Status refusal;
  if (!k.facts.ok()) {
    refusal = WithReason(absl::UnauthenticatedError("the caller's certificate does not parse"),
                         "CERTIFICATE_INVALID");
  } else if (!k.trusted.ok()) {
    refusal = WithReason(k.trusted, "CERTIFICATE_UNTRUSTED");
  } else if (now > k.facts->not_after) {
    refusal = WithReason(absl::UnauthenticatedError(absl::StrCat(
                             "the caller's certificate expired at ",
                             absl::FormatTime(k.facts->not_after), "; ask for a new one")),
                         "CERTIFICATE_EXPIRED");
  } else if (now < k.facts->not_before) {
    refusal = WithReason(
        absl::UnauthenticatedError(absl::StrCat("the caller's certificate is not valid until ",
                                                absl::FormatTime(k.facts->not_before))),
        "CERTIFICATE_NOT_YET_VALID");
  } else if (k.revoked) {
    refusal = WithReason(absl::UnauthenticatedError(
                             absl::StrCat("the caller's certificate (serial ", k.facts->serial_hex,
                                          ") is revoked by a CRL in force on this gateway")),
                         "CERTIFICATE_REVOKED");
  } else if (!k.identity.ok()) {
    refusal = WithReason(k.identity.status(), "IDENTITY_NOT_ACCEPTED");
  }
  if (refusal.ok()) return k.identity;
  if (refusals_ != nullptr) refusals_->Refused(port_name(), Describe(k, pem), refusal.message());
  return refusal;
}

grpc::Status CallGate::Process(const InputMetadata& /*auth_metadata*/, grpc::AuthContext* context,
                               OutputMetadata* /*consumed_auth_metadata*/,
                               OutputMetadata* /*response_metadata*/) {
  auto property = [context](const char* name) {
    std::vector<grpc::string_ref> values = context->FindPropertyValues(name);
    return values.empty() ? absl::string_view()
                          : absl::string_view(values[0].data(), values[0].size());
  };
  absl::StatusOr<Identity> id =
      Check(property("x509_pem_cert"), clock_(), property("x509_pem_cert_chain"));
  if (id.ok()) return grpc::Status::OK;
  // gRPC passes an auth processor's code and message to the caller, not
  // its details: the reason leads the message instead.
  std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(id.status());
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                      absl::StrCat(info.has_value() ? info->reason() : "UNAUTHENTICATED", ": ",
                                   id.status().message()));
}

}  // namespace gatehouse
