// The secure-serving flags of the HTTPS Kubernetes API listener, those of Kubernetes' generic API
// server as prometheus-adapter has them (--bind-address, --cert-dir, --tls-cert-file,
// --tls-private-key-file, --tls-min-version, --tls-cipher-suites), their validation, and the
// http::TlsConfig they describe. The port is --secure-port (ServeOptions::secure_port).
//
// Without --tls-cert-file/--tls-private-key-file the listener serves a self-signed certificate
// kept in --cert-dir (http::EnsureSelfSignedCert), as Kubernetes does.
#ifndef METRICS_ADAPTER_ADAPTER_CMD_SECURE_SERVING_H_
#define METRICS_ADAPTER_ADAPTER_CMD_SECURE_SERVING_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapter/cli/flags.h"
#include "adapter/http/server.h"

namespace adapter {

// Kubernetes' default --cert-dir, relative to the working directory.
inline constexpr char kDefaultCertDir[] = "apiserver.local.config/certificates";

struct SecureServingOptions {
  // An IP address; "0.0.0.0", "::" or "" listen on every interface and address family.
  std::string bind_address = "0.0.0.0";
  std::string tls_cert_file;
  std::string tls_private_key_file;
  std::string cert_dir = kDefaultCertDir;
  std::string tls_min_version;                 // "" = TLS 1.2
  std::vector<std::string> tls_cipher_suites;  // empty = OpenSSL's defaults
};

// Registers --bind-address, --tls-cert-file, --tls-private-key-file, --cert-dir,
// --tls-min-version and --tls-cipher-suites (comma-separated, repeatable) with the defaults
// above.
void RegisterSecureServingFlags(cli::FlagSet* flags, SecureServingOptions* options);

// Checks the values without touching --cert-dir: --bind-address is an IP address,
// --tls-cert-file and --tls-private-key-file are given together and are readable files,
// --tls-min-version parses (http::ParseTlsVersion), every --tls-cipher-suites entry is known
// (http::CheckTlsCipherSuites), and --cert-dir is not empty when it will be used. Errors
// (InvalidArgument) name the flag.
absl::Status ValidateSecureServingOptions(const SecureServingOptions& options);

// OK when path names a regular file this process can open; otherwise InvalidArgument
// `invalid value "<path>" for --<flag>: cannot read: <reason>` (or "not a regular file").
absl::Status CheckReadableFile(const char* flag, const std::string& path);

// The host:port to pass to http::Server::Listen for the listener on port: ":port" for an
// unspecified bind address, "[addr]:port" for IPv6, "addr:port" otherwise.
std::string SecureListenAddress(const SecureServingOptions& options, int port);

// The TlsConfig for the listener (call ValidateSecureServingOptions first): the given files, or
// else http::EnsureSelfSignedCert in cert_dir for "localhost" and, when it is a specific address,
// the bind address; a failure there is returned with the --cert-dir named. *generated (optional)
// tells whether a new self-signed certificate was written, for the log.
absl::StatusOr<http::TlsConfig> BuildTlsConfig(const SecureServingOptions& options,
                                               bool* generated = nullptr);

}  // namespace adapter

#endif  // METRICS_ADAPTER_ADAPTER_CMD_SECURE_SERVING_H_
