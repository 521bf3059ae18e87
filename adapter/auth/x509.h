// Client certificate verification: a pool of trusted CAs parsed from a PEM bundle and the check
// Kubernetes' x509 authenticators make (Go's Certificate.Verify with KeyUsages clientAuth).
#ifndef METRICS_ADAPTER_ADAPTER_AUTH_X509_H_
#define METRICS_ADAPTER_ADAPTER_AUTH_X509_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace auth {

// The parts of a certificate subject that become a user: Kubernetes maps the common name to
// the user name and the organizations to groups.
struct CertSubject {
  std::string common_name;                 // the last CN of the subject, as Go's pkix.Name
  std::vector<std::string> organizations;  // every O, in order
};

// An immutable set of trusted certificates. Thread-safe: verifications may run concurrently.
class CertPool {
 public:
  // Parses every CERTIFICATE block of a PEM bundle (other block types are skipped). An error
  // when the bundle holds no certificate or a block does not parse (naming the block number).
  static absl::StatusOr<std::shared_ptr<const CertPool>> FromPem(std::string_view pem);

  ~CertPool();
  CertPool(const CertPool&) = delete;
  CertPool& operator=(const CertPool&) = delete;

  size_t size() const;

  // Verifies a client's chain (DER, its own certificate first, then intermediates it sent,
  // which are not trusted by themselves) for client authentication: the chain must lead to a
  // certificate of this pool (any pool member is a trust anchor, as in Go, even an
  // intermediate), every certificate must be valid now, and every certificate of the verified
  // chain that has an ExtendedKeyUsage extension must allow clientAuth (or any usage). Returns
  // the subject of the client's certificate; errors say why the chain was refused.
  absl::StatusOr<CertSubject> VerifyClientChain(const std::vector<std::string>& der_chain) const;

 private:
  struct Rep;
  explicit CertPool(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

// The subject of a DER certificate, without any verification (for logs and messages).
absl::StatusOr<CertSubject> ParseSubject(std::string_view der);

}  // namespace auth

#endif  // METRICS_ADAPTER_ADAPTER_AUTH_X509_H_
