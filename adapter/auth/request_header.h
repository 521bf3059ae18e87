// The authentication settings a Kubernetes aggregated API server takes from the API server:
// the ConfigMap kube-system/extension-apiserver-authentication (or the equivalent flags
// --client-ca-file and --requestheader-*).
//
// The ConfigMap's data, as kube-apiserver writes it:
//   client-ca-file                      PEM bundle: CAs of x509 client certificates (users)
//   requestheader-client-ca-file        PEM bundle: CAs of the front proxy's client certificate
//   requestheader-allowed-names         JSON array: CNs the front proxy's certificate may have
//   requestheader-username-headers      JSON array, e.g. ["X-Remote-User"]
//   requestheader-uid-headers           JSON array, e.g. ["X-Remote-Uid"] (newer API servers)
//   requestheader-group-headers         JSON array, e.g. ["X-Remote-Group"]
//   requestheader-extra-headers-prefix  JSON array, e.g. ["X-Remote-Extra-"]
// Every key may be absent or empty.
#ifndef METRICS_ADAPTER_ADAPTER_AUTH_REQUEST_HEADER_H_
#define METRICS_ADAPTER_ADAPTER_AUTH_REQUEST_HEADER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace auth {

// How a front proxy (kube-apiserver's aggregator) tells who the user is: it authenticates
// itself with a client certificate signed by client_ca and names the user in headers.
struct RequestHeaderConfig {
  std::string client_ca;                   // PEM bundle; "" = request-header authentication off
  std::vector<std::string> allowed_names;  // CNs accepted; empty = any CN
  std::vector<std::string> username_headers;
  std::vector<std::string> uid_headers;
  std::vector<std::string> group_headers;
  std::vector<std::string> extra_header_prefixes;

  friend bool operator==(const RequestHeaderConfig&, const RequestHeaderConfig&) = default;
};

struct AuthenticationConfig {
  std::string client_ca;  // PEM bundle; "" = x509 client-certificate authentication off
  RequestHeaderConfig request_header;

  friend bool operator==(const AuthenticationConfig&, const AuthenticationConfig&) = default;
};

// Parses the JSON of the ConfigMap object (as a GET or a watch event returns it; only its
// "data" matters, and a ConfigMap without data is an empty configuration). The CA bundles are
// checked to hold parseable certificates. Errors name the offending key, e.g.
//   requestheader-allowed-names: not a JSON array of strings: ...
absl::StatusOr<AuthenticationConfig> ParseAuthenticationConfigMap(std::string_view json);

}  // namespace auth

#endif  // METRICS_ADAPTER_ADAPTER_AUTH_REQUEST_HEADER_H_
