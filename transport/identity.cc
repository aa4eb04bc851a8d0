#include "transport/identity.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gatehouse {
namespace {

constexpr absl::string_view kScheme = "psn://";

}  // namespace

std::string GatewayUri(absl::string_view org) {
  return absl::StrCat(kScheme, "org/", org, "/gateway");
}

absl::StatusOr<Identity> ParseIdentityUri(absl::string_view uri) {
  if (!absl::StartsWith(uri, kScheme)) {
    return absl::InvalidArgumentError(
        absl::StrCat("identity URI '", uri, "' does not start with psn://"));
  }
  std::vector<absl::string_view> parts =
      absl::StrSplit(uri.substr(kScheme.size()), '/');
  Identity id;
  id.uri = std::string(uri);
  if (parts.size() == 3 && parts[0] == "org" && parts[2] == "gateway") {
    id.kind = Identity::Kind::kGateway;
  } else if (parts.size() == 4 && parts[0] == "org" && parts[2] == "system" &&
             IsValidId(parts[3])) {
    id.kind = Identity::Kind::kSystem;
    id.system = std::string(parts[3]);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "identity URI '", uri,
        "' is neither psn://org/<org>/gateway nor psn://org/<org>/system/<system>"));
  }
  if (!IsValidId(parts[1])) {
    return absl::InvalidArgumentError(
        absl::StrCat("identity URI '", uri, "' has an invalid organisation id"));
  }
  id.org = std::string(parts[1]);
  return id;
}

absl::StatusOr<Identity> IdentityFromSanUris(const std::vector<std::string>& uris) {
  const std::string* found = nullptr;
  for (const std::string& uri : uris) {
    if (!absl::StartsWith(uri, kScheme)) continue;
    if (found != nullptr) {
      return absl::UnauthenticatedError(absl::StrCat(
          "certificate is ambiguous: it carries more than one psn:// SAN URI (",
          *found, ", ", uri, ")"));
    }
    found = &uri;
  }
  if (found == nullptr) {
    return absl::UnauthenticatedError(
        "certificate carries no psn:// SAN URI, so it names no organisation");
  }
  absl::StatusOr<Identity> id = ParseIdentityUri(*found);
  if (!id.ok()) return absl::UnauthenticatedError(id.status().message());
  return id;
}

absl::StatusOr<Identity> IdentityFromCertificatePem(absl::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (cert == nullptr) {
    return absl::UnauthenticatedError("peer certificate does not parse");
  }
  std::vector<std::string> uris;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type != GEN_URI) continue;
      const ASN1_IA5STRING* s = name->d.uniformResourceIdentifier;
      uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                        static_cast<size_t>(ASN1_STRING_length(s)));
    }
    GENERAL_NAMES_free(names);
  }
  return IdentityFromSanUris(uris);
}

}  // namespace gatehouse
