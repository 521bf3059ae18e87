// Checks of TLS settings given by name on the command line, so that a bad flag is reported when
// the flags are validated rather than when the listener is opened.
#ifndef METRICS_ADAPTER_ADAPTER_HTTP_TLS_NAMES_H_
#define METRICS_ADAPTER_ADAPTER_HTTP_TLS_NAMES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "adapter/http/server.h"

namespace http {

// Whether every name is a cipher suite that TlsConfig::cipher_suites accepts: an IANA name
// ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256") or an OpenSSL name
// ("ECDHE-RSA-AES128-GCM-SHA256") this OpenSSL knows. With min_version kTls13 a TLS 1.2 suite
// is an error too, since it could never be negotiated (Kubernetes refuses cipher suites with
// VersionTLS13 altogether; TLS 1.3 suites stay allowed here because they do restrict TLS 1.3).
// Errors (InvalidArgument) name the first offending suite.
absl::Status CheckTlsCipherSuites(const std::vector<std::string>& names, TlsVersion min_version);

}  // namespace http

#endif  // METRICS_ADAPTER_ADAPTER_HTTP_TLS_NAMES_H_
