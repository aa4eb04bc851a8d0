// Certificate revocation from the CRLs in tls.crlDir, and the trust anchors
// of tls.caFile, checked by the gateway itself (on every call to its
// listeners, on every handshake of its calls to peers) and by the policy
// workbench (on every request of an officer over mutual TLS: --client-ca
// and --crl-dir), and re-read when the directory or the trust anchor
// changes.
//
// gRPC also hands the CRL directory to OpenSSL, but OpenSSL reads a CRL file
// once and never again, so a CRL replaced while the gateway runs would not
// take effect; and it ignores a directory that holds no CRL, so revocation
// would be off without a word. Here every CRL must parse, be signed by a
// certificate in tls.caFile and be current, and every trust anchor must
// have one: otherwise the gateway does not start, and a reload keeps the
// lists in force.
//
// Example:
//   ASSIGN_OR_RETURN(auto revocations, Revocations::Load(config.tls()));
//   ... every refresh: revocations->ReloadIfChanged();
//   if (revocations->Revoked(peer_pem)) refuse;
//
// Thread-safe.
#ifndef GATEHOUSE_X509_REVOCATION_H_
#define GATEHOUSE_X509_REVOCATION_H_

#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gatehouse/v1/config.pb.h"

struct x509_store_st;  // OpenSSL's X509_STORE

namespace gatehouse {

// What a certificate says of itself that per-call checks need: who issued
// it, its serial number and its validity period.
struct CertificateFacts {
  std::string issuer_der;  // the issuer's name, DER
  std::string serial_hex;  // upper-case hex, as on a CRL
  absl::Time not_before;
  absl::Time not_after;
};

// Reads the first certificate of a PEM. InvalidArgument if there is none.
absl::StatusOr<CertificateFacts> ReadCertificateFacts(absl::string_view pem);

class Revocations {
 public:
  // Reads the trust anchor and the CRLs. InvalidArgument naming the file for
  // a CRL that does not parse, is not signed by a trust anchor, or is not
  // current at `now`; FailedPrecondition if a trust anchor has no CRL.
  static absl::StatusOr<std::unique_ptr<Revocations>> Load(const v1::TlsConfig& tls,
                                                           absl::Time now = absl::Now());

  // Re-reads the CRLs if a file in the directory or the trust anchor
  // changed. OK if nothing changed or the new lists are in force; otherwise
  // the error, and the lists in force stay (it is tried again next time).
  // `changed` is set when new lists came into force.
  absl::Status ReloadIfChanged(bool* changed = nullptr, absl::Time now = absl::Now());

  // Whether the certificate (PEM, the first one) is on a CRL of its issuer.
  // A certificate that does not parse counts as revoked.
  bool Revoked(absl::string_view pem) const;

  // Whether the lists in force revoke the certificate with this issuer
  // (DER-encoded name) and serial number (upper-case hex), as
  // CertificateFacts reads them.
  bool RevokedSerial(const std::string& issuer_der, const std::string& serial_hex) const;

  // Counts the lists that came into force: a caller that remembers what a
  // certificate's revocation was under one generation need not ask again
  // until it changes.
  uint64_t generation() const;

  // Whether the certificate `pem` leads to a trust anchor in tls.caFile as
  // in force now, each signature verifying, through intermediates from
  // `sent_pem` (what else the caller sent, PEM, possibly empty) if needed. Validity periods are not
  // looked at (the caller compares them with its clock) nor CRLs
  // (RevokedSerial). Unauthenticated naming why otherwise ("not issued by a
  // trusted authority", ...).
  absl::Status Trusted(absl::string_view pem, absl::string_view sent_pem = {}) const;

  // How many certificates the lists in force revoke.
  size_t size() const;

 private:
  // Issuer name (DER) and serial number (hex), one entry a revoked certificate.
  using Serials = std::set<std::pair<std::string, std::string>>;
  using Store = std::shared_ptr<x509_store_st>;
  Revocations(v1::TlsConfig tls, std::string stamp, Serials revoked, Store anchors)
      : tls_(std::move(tls)),
        stamp_(std::move(stamp)),
        revoked_(std::move(revoked)),
        anchors_(std::move(anchors)) {}
  static std::string Stamp(const v1::TlsConfig& tls);
  // The CRLs' revoked serials, and the anchors as a store, from `ca_pem`
  // (tls.caFile's bytes, read once for both: a CA file replaced between two
  // reads could otherwise pair one CA's CRL checks with another's anchors).
  static absl::StatusOr<Serials> Read(const v1::TlsConfig& tls, const std::string& ca_pem,
                                      absl::Time now);
  static absl::StatusOr<Store> ReadAnchors(const v1::TlsConfig& tls, const std::string& ca_pem);

  const v1::TlsConfig tls_;
  mutable absl::Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 1;
  std::string stamp_ ABSL_GUARDED_BY(mu_);
  Serials revoked_ ABSL_GUARDED_BY(mu_);
  Store anchors_ ABSL_GUARDED_BY(mu_);  // tls.caFile, as an OpenSSL store
};

}  // namespace gatehouse

#endif  // GATEHOUSE_X509_REVOCATION_H_
