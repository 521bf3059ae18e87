// A QueryBackend over the HTTP API of a Prometheus-compatible server (Prometheus, Thanos Query,
// Mimir, VictoriaMetrics), for users whose metrics outgrow one machine. It speaks to the server
// as prometheus-adapter's client does:
//
//   Query          GET <url>/api/v1/query?query=E&time=T            (T: Unix seconds, ms precision)
//                  or a form POST of the same fields (verb POST, or when the GET request target
//                  would pass max_get_target_bytes, as Go's client does for long queries)
//   DiscoverSeries GET <url>/api/v1/series?match[]=S&start=A&end=B  (POST when long), summarised
//                  per metric name: label names union, sorted (the embedded backend's contract)
//   LabelValues    GET <url>/api/v1/label/<name>/values?start=A&end=B
//
// Answers with status 2xx, 400, 422 and 503 are decoded as the API's JSON envelope; one with
// "status":"error" fails with "<errorType>: <error>" (e.g. "bad_data: 1:5: parse error: ...",
// code mapped from the errorType); any other status fails with
// "bad_response: unknown response code N". Connection failures and the timeout name the URL.
//
// Every call opens its own connection (no pool) and is bounded by timeout_ms end to end (name
// resolution, connect, TLS handshake, request and the whole response). Calls are thread-safe.
// HTTP goes through the shared http::Client (adapter/http/client.h); the JSON decoding
// (Boost.JSON) stays in prometheus_backend.cc.
#ifndef METRICS_ADAPTER_ADAPTER_APISERVER_PROMETHEUS_BACKEND_H_
#define METRICS_ADAPTER_ADAPTER_APISERVER_PROMETHEUS_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/apiserver/backend.h"

namespace apiserver {

struct PrometheusBackendOptions {
  // "http://host:9090" or "https://host/prefix/": the path prefix is kept (requests go to
  // <prefix>/api/v1/...). "user:password@" in the authority is sent as basic authentication.
  std::string url;
  // TLS (https URLs): PEM CAs to verify the server with (empty = the system's CAs), a client
  // certificate and key (both or neither), and whether to skip verification altogether.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  bool insecure_skip_verify = false;
  // The same as PEM data (from a kubeconfig or the pod's service account); loaded in addition
  // to the files.
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
  // A file holding a bearer token, read once at creation (surrounding whitespace trimmed) and
  // sent as "Authorization: Bearer <token>".
  std::string token_file;
  // A bearer token from a kubeconfig or the pod's service account: bearer_token as given, or
  // the content of rotating_token_file, re-read as the kubelet rotates it.
  std::string bearer_token;
  std::string rotating_token_file;
  // Extra header fields sent with every request, in order (--prometheus-header k=v).
  std::vector<std::pair<std::string, std::string>> headers;
  // "GET" or "POST": how queries and series requests are sent. GET requests whose target would
  // pass max_get_target_bytes go as form POSTs anyway.
  std::string verb = "GET";
  size_t max_get_target_bytes = 8 * 1024;
  // Bound of one whole call, and of one response body.
  int64_t timeout_ms = 30'000;
  size_t max_response_bytes = size_t{256} << 20;
};

// Checks the options and reads the token file, CA, certificate and key now: errors name the
// option or file ("cannot read the token file /x: ...", "cannot load the CA file /ca.pem: ...",
// "invalid Prometheus URL \"ftp://x\": ...").
absl::StatusOr<std::unique_ptr<QueryBackend>> NewPrometheusBackend(
    PrometheusBackendOptions options);

}  // namespace apiserver

#endif  // METRICS_ADAPTER_ADAPTER_APISERVER_PROMETHEUS_BACKEND_H_
