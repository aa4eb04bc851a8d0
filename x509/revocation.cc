#include "x509/revocation.h"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status_macros.h"

namespace gatehouse {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using CrlPtr = std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)>;

std::unique_ptr<BIO, decltype(&BIO_free)> MemBio(absl::string_view bytes) {
  return {BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())), &BIO_free};
}

std::string NameDer(const X509_NAME* name) {
  unsigned char* der = nullptr;
  const int n = i2d_X509_NAME(name, &der);
  if (n <= 0) return "";
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::string SerialHex(const ASN1_INTEGER* serial) {
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(ASN1_INTEGER_to_BN(serial, nullptr), &BN_free);
  if (bn == nullptr) return "";
  char* hex = BN_bn2hex(bn.get());
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  return out;
}

absl::Time AsTime(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return absl::InfinitePast();
  return absl::FromTimeT(timegm(&tm));
}

}  // namespace

std::string Revocations::Stamp(const v1::TlsConfig& tls) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(tls.crl_dir(), ec)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  std::string stamp = FileStamp(tls.ca_file());
  for (const std::string& n : names) {
    absl::StrAppend(&stamp, "|", n, "=", FileStamp(tls.crl_dir() + "/" + n));
  }
  return stamp;
}

absl::StatusOr<Revocations::Store> Revocations::ReadAnchors(const v1::TlsConfig& tls,
                                                           const std::string& ca_pem) {
  Store store(X509_STORE_new(), &X509_STORE_free);
  auto bio = MemBio(ca_pem);
  int added = 0;
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509Ptr cert(c, &X509_free);
    if (X509_STORE_add_cert(store.get(), cert.get()) == 1) ++added;
  }
  if (added == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls.caFile '", tls.ca_file(), "' holds no PEM certificate"));
  }
  return store;
}

absl::Status Revocations::Trusted(absl::string_view pem, absl::string_view sent_pem) const {
  Store anchors;
  {
    absl::MutexLock lock(&mu_);
    anchors = anchors_;
  }
  auto bio = MemBio(pem);
  X509Ptr leaf(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr, &X509_free);
  if (leaf == nullptr) return absl::UnauthenticatedError("the certificate does not parse");
  // Only a path to an anchor of ours counts: what the caller sent is a
  // pool of candidates for intermediates, never trusted itself.
  std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> sent(
      sk_X509_new_null(), [](STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); });
  auto sent_bio = MemBio(sent_pem);
  while (X509* c =
             sent_bio ? PEM_read_bio_X509(sent_bio.get(), nullptr, nullptr, nullptr) : nullptr) {
    sk_X509_push(sent.get(), c);
  }
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      &X509_STORE_CTX_free);
  if (ctx == nullptr ||
      X509_STORE_CTX_init(ctx.get(), anchors.get(), leaf.get(), sent.get()) != 1) {
    return absl::InternalError("cannot set up certificate verification");
  }
  // The caller compares validity periods with its own clock, on every call.
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_NO_CHECK_TIME);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(ctx.get()) == 1) return absl::OkStatus();
  const int err = X509_STORE_CTX_get_error(ctx.get());
  switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return absl::UnauthenticatedError(
          "the caller's certificate is not issued "
          "by a trusted authority (this gateway's "
          "tls.caFile)");
    default:
      return absl::UnauthenticatedError(absl::StrCat(
          "the caller's certificate does not verify: ", X509_verify_cert_error_string(err),
          " (certificate ", X509_STORE_CTX_get_error_depth(ctx.get()), " of the chain)"));
  }
}

absl::StatusOr<Revocations::Serials> Revocations::Read(const v1::TlsConfig& tls,
                                                      const std::string& ca_pem, absl::Time now) {
  std::vector<X509Ptr> anchors;
  auto bio = MemBio(ca_pem);
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    anchors.emplace_back(c, &X509_free);
  }
  if (anchors.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls.caFile '", tls.ca_file(), "' holds no PEM certificate"));
  }
  std::vector<bool> covered(anchors.size(), false);
  Serials revoked;
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(tls.crl_dir(), ec)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls.crlDir '", tls.crl_dir(), "': ", ec.message()));
  }
  std::sort(files.begin(), files.end());
  for (const std::filesystem::path& path : files) {
    ASSIGN_OR_RETURN(std::string bytes, ReadFile(path.string()));
    std::vector<CrlPtr> crls;
    auto in = MemBio(bytes);
    while (X509_CRL* crl = PEM_read_bio_X509_CRL(in.get(), nullptr, nullptr, nullptr)) {
      crls.emplace_back(crl, &X509_CRL_free);
    }
    if (crls.empty()) {  // DER, as `openssl crl -outform DER` writes it
      const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
      if (X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(bytes.size()))) {
        crls.emplace_back(crl, &X509_CRL_free);
      }
    }
    auto refuse = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("tls.crlDir: '", path.string(), "' ", why));
    };
    if (crls.empty()) return refuse("is not a CRL");
    for (const CrlPtr& crl : crls) {
      size_t signer = anchors.size();
      for (size_t i = 0; i < anchors.size(); ++i) {
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()),
                          X509_get_subject_name(anchors[i].get())) == 0 &&
            X509_CRL_verify(crl.get(), X509_get0_pubkey(anchors[i].get())) == 1) {
          signer = i;
          break;
        }
      }
      if (signer == anchors.size()) return refuse("is not signed by a CA in tls.caFile");
      if (AsTime(X509_CRL_get0_lastUpdate(crl.get())) > now) {
        return refuse("is not valid yet (its lastUpdate is in the future)");
      }
      const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
      if (next != nullptr && AsTime(next) < now) {
        return refuse("has expired (its nextUpdate has passed): publish a fresh CRL");
      }
      covered[signer] = true;
      const std::string issuer = NameDer(X509_CRL_get_issuer(crl.get()));
      STACK_OF(X509_REVOKED)* list = X509_CRL_get_REVOKED(crl.get());
      for (int i = 0; i < sk_X509_REVOKED_num(list); ++i) {
        revoked.emplace(issuer,
                        SerialHex(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(list, i))));
      }
    }
  }
  for (size_t i = 0; i < anchors.size(); ++i) {
    if (!covered[i]) {
      char subject[256];
      X509_NAME_oneline(X509_get_subject_name(anchors[i].get()), subject, sizeof subject);
      return absl::FailedPreconditionError(absl::StrCat(
          "tls.crlDir '", tls.crl_dir(), "' holds no CRL from the trust anchor ", subject,
          " in tls.caFile: without one, revoked certificates "
          "would be accepted"));
    }
  }
  return revoked;
}

absl::StatusOr<std::unique_ptr<Revocations>> Revocations::Load(const v1::TlsConfig& tls,
                                                               absl::Time now) {
  if (tls.crl_dir().empty()) return absl::InvalidArgumentError("tls.crlDir is required");
  std::string stamp = Stamp(tls);
  ASSIGN_OR_RETURN(std::string ca_pem, ReadFile(tls.ca_file()));
  ASSIGN_OR_RETURN(Serials revoked, Read(tls, ca_pem, now));
  ASSIGN_OR_RETURN(Store anchors, ReadAnchors(tls, ca_pem));
  return std::unique_ptr<Revocations>(
      new Revocations(tls, std::move(stamp), std::move(revoked), std::move(anchors)));
}

absl::Status Revocations::ReloadIfChanged(bool* changed, absl::Time now) {
  if (changed != nullptr) *changed = false;
  std::string stamp = Stamp(tls_);
  {
    absl::MutexLock lock(&mu_);
    if (stamp == stamp_) return absl::OkStatus();
  }
  // Not recorded on failure: tried again next time (a CA and its CRL are
  // often replaced one after the other).
  ASSIGN_OR_RETURN(std::string ca_pem, ReadFile(tls_.ca_file()));
  ASSIGN_OR_RETURN(Serials revoked, Read(tls_, ca_pem, now));
  ASSIGN_OR_RETURN(Store anchors, ReadAnchors(tls_, ca_pem));
  absl::MutexLock lock(&mu_);
  stamp_ = std::move(stamp);
  revoked_ = std::move(revoked);
  anchors_ = std::move(anchors);
  ++generation_;
  if (changed != nullptr) *changed = true;
  return absl::OkStatus();
}

bool Revocations::Revoked(absl::string_view pem) const {
  absl::StatusOr<CertificateFacts> facts = ReadCertificateFacts(pem);
  return !facts.ok() || RevokedSerial(facts->issuer_der, facts->serial_hex);
}

bool Revocations::RevokedSerial(const std::string& issuer_der,
                                const std::string& serial_hex) const {
  absl::MutexLock lock(&mu_);
  return revoked_.count({issuer_der, serial_hex}) > 0;
}

uint64_t Revocations::generation() const {
  absl::MutexLock lock(&mu_);
  return generation_;
}

absl::StatusOr<CertificateFacts> ReadCertificateFacts(absl::string_view pem) {
  auto bio = MemBio(pem);
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr, &X509_free);
  if (cert == nullptr) return absl::InvalidArgumentError("the certificate does not parse");
  return CertificateFacts{
      NameDer(X509_get_issuer_name(cert.get())), SerialHex(X509_get0_serialNumber(cert.get())),
      AsTime(X509_get0_notBefore(cert.get())), AsTime(X509_get0_notAfter(cert.get()))};
}

size_t Revocations::size() const {
  absl::MutexLock lock(&mu_);
  return revoked_.size();
}

}  // namespace gatehouse
