// A self-signed serving certificate for the HTTPS Kubernetes API listener when no certificate is
// configured, as Kubernetes' generic API server makes one in --cert-dir: the API server
// aggregator (or a kubectl with insecureSkipTLSVerify, or a client trusting the generated file)
// can then talk HTTPS to the adapter without any PKI set up.
//
// The files live in <cert_dir>/apiserver.crt and <cert_dir>/apiserver.key (prometheus-adapter's
// names). They are reused across restarts, so that a client pinning the certificate keeps
// working, as long as they still make a usable pair for the requested hosts.
#ifndef METRICS_ADAPTER_ADAPTER_HTTP_SELF_SIGNED_CERT_H_
#define METRICS_ADAPTER_ADAPTER_HTTP_SELF_SIGNED_CERT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace http {

inline constexpr char kSelfSignedCertName[] = "apiserver.crt";
inline constexpr char kSelfSignedKeyName[] = "apiserver.key";

struct CertPaths {
  std::string cert_file;   // <cert_dir>/apiserver.crt
  std::string key_file;    // <cert_dir>/apiserver.key
  bool generated = false;  // true: written now; false: existing files reused
};

// Returns the paths of a certificate and key usable for TLS in cert_dir.
//
// Reuse: when both files exist, parse as PEM, the key matches the certificate, the certificate
// has not expired and its subjectAltNames cover every entry of hosts, they are kept unchanged.
// Otherwise (a file missing, unparsable, mismatched, expired, or a host not covered) a new pair
// replaces them:
//   - cert_dir and missing parents are created with mode 0700;
//   - an ECDSA P-256 key, written with mode 0600;
//   - a self-signed X.509 v3 certificate (mode 0644), subject CN "<first host>@<unix time>"
//     (Kubernetes' form; "localhost@..." when hosts is empty), valid from one hour ago (clock
//     skew) for one year, basicConstraints CA:TRUE (so that a client can trust the file itself
//     as its CA), keyUsage digitalSignature+keyCertSign, extendedKeyUsage serverAuth;
//   - subjectAltName: every entry of hosts, IP addresses ("10.0.0.1", "::1", "[::1]") as IP
//     entries and names as DNS entries, plus always DNS "localhost", IP 127.0.0.1 and IP ::1.
// Each file is written to a temporary file in cert_dir, synced and renamed over the old one, so
// a crash leaves either the old or the new file (and a half-replaced pair is regenerated next
// time since the key no longer matches).
//
// Errors name the path: an existing file that cannot be read (permissions), a directory that
// cannot be created or written, an invalid host (empty, or characters no DNS name has).
absl::StatusOr<CertPaths> EnsureSelfSignedCert(const std::string& cert_dir,
                                               const std::vector<std::string>& hosts);

}  // namespace http

#endif  // METRICS_ADAPTER_ADAPTER_HTTP_SELF_SIGNED_CERT_H_
