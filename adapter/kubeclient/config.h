// How to reach and authenticate to the Kubernetes API server: from a kubeconfig file (kubectl's
// format, for running outside the cluster) or from the pod's service account (in the cluster),
// with client-go's rules.
#ifndef METRICS_ADAPTER_ADAPTER_KUBECLIENT_CONFIG_H_
#define METRICS_ADAPTER_ADAPTER_KUBECLIENT_CONFIG_H_

#include <chrono>
#include <ctime>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kubeclient {

// Everything a RestClient needs. TLS material is held as PEM data (files are read when the
// configuration is loaded); the bearer token may come from a file that is re-read as it rotates.
struct ClientConfig {
  std::string server;    // "https://10.96.0.1:443", "https://example.com:6443/prefix"
  std::string ca_pem;    // CAs verifying the server; empty = the system's CAs
  std::string cert_pem;  // client certificate (chain) and key, both or neither
  std::string key_pem;
  std::string tls_server_name;  // SNI and verified name; empty = the server URL's host
  bool insecure = false;        // skip verifying the server's certificate
  // Authorization: Bearer. token_file wins over bearer_token when both are set (the file is
  // read first when the configuration is loaded, so bearer_token holds its content then).
  std::string bearer_token;
  std::string token_file;
  // The namespace of the kubeconfig context or of the service account; "" when none was named.
  std::string namespace_;
};

// Reads a kubeconfig: the context named `context`, or the file's current-context when empty;
// its cluster (server, certificate-authority or certificate-authority-data,
// insecure-skip-tls-verify, tls-server-name) and user (client-certificate(-data),
// client-key(-data), token, tokenFile). Relative file paths are resolved against the
// kubeconfig's directory; *-data fields are base64. Errors name the file and the key:
//   "kubeconfig /home/u/.kube/config: contexts: no context named \"prod\""
//   "kubeconfig /k: users[admin].client-certificate: cannot read /k.d/admin.crt: No such file..."
// exec and auth-provider credential plugins are not supported (an error names them).
absl::StatusOr<ClientConfig> LoadKubeconfig(const std::string& path, std::string_view context = "");

inline constexpr char kServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

// The pod's own configuration: server https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
// (an IPv6 host bracketed), CA <dir>/ca.crt, token file <dir>/token (re-read as it rotates),
// namespace from <dir>/namespace (optional). Fails (kFailedPrecondition) when the variables are
// unset ("not running in a cluster") or the token or CA cannot be read (naming the file).
absl::StatusOr<ClientConfig> InClusterConfig(const std::string& dir = kServiceAccountDir);

// What the adapter's --lister-kubeconfig / --authentication-kubeconfig style flags mean: the
// kubeconfig at path (its current context) when path is not empty, else InClusterConfig().
absl::StatusOr<ClientConfig> LoadClientConfig(const std::string& kubeconfig_path);

// The bearer token of a ClientConfig. With a token file (service-account tokens are rotated by
// the kubelet, by default hourly), the file is re-read when its modification time or size
// changes, and at least every refresh_interval, as client-go's cachingTokenSource does; when a
// re-read fails the last good token stays in use. Thread-safe.
class TokenSource {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  TokenSource(std::string token, std::string token_file,
              std::chrono::milliseconds refresh_interval = std::chrono::minutes(1),
              Clock clock = nullptr);

  // The current token ("" when there is none). Fails only when a token file was never read
  // successfully (naming it).
  absl::StatusOr<std::string> Token();

 private:
  std::mutex mu_;
  std::string token_;
  const std::string file_;
  const std::chrono::milliseconds refresh_interval_;
  Clock clock_;
  bool loaded_ = false;
  struct timespec mtime_ {};
  long long size_ = -1;
  std::chrono::steady_clock::time_point read_at_{};
};

}  // namespace kubeclient

#endif  // METRICS_ADAPTER_ADAPTER_KUBECLIENT_CONFIG_H_
