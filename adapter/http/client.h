// A small synchronous HTTP/1.1 client, shared by the Kubernetes API client (adapter/kubeclient)
// and the Prometheus query backend (adapter/apiserver/prometheus_backend.cc).
//
// Model: Boost.Beast's client examples. Every call opens its own connection (name resolution,
// connect, TLS handshake), sends one request and reads the answer, then closes the connection:
// the callers make few, mostly long-lived or large requests (lists, watches, queries), where a
// pool would buy little. Each call runs a private io_context on the calling thread, so a Client
// is thread-safe and calls never wait for each other.
//
// Two calls:
//   Do      reads the whole answer; ClientRequest::timeout (or ClientOptions::timeout) bounds the
//           call end to end: resolution, connect, handshake, request and the last body byte.
//   Stream  hands a 2xx body to a callback piece by piece as it arrives (a watch: a chunked
//           answer that lasts minutes). The timeout bounds everything up to the response header;
//           after that each read must deliver something within idle_timeout.
// Both return when the answer is complete or the server closes the connection, and can be
// interrupted from another thread through a CancelToken (the blocked read ends at once).
//
// Errors (absl::Status) name the method and the URL without its query, then the cause:
//   "GET http://127.0.0.1:9/api/v1/query: Connection refused"       (kUnavailable)
//   "GET https://10.0.0.1/api/v1/pods: timeout after 30000ms"        (kDeadlineExceeded)
//   "GET https://10.0.0.1/api/v1/pods: cancelled"                    (kCancelled)
//   "GET https://10.0.0.1/x: the response body exceeds 1024 bytes"  (kResourceExhausted)
// An HTTP status that is not 2xx is not an error of the client: the caller gets it with its body.
//
// The implementation (Boost.Beast/Asio, OpenSSL) stays in client.cc.
#ifndef METRICS_ADAPTER_ADAPTER_HTTP_CLIENT_H_
#define METRICS_ADAPTER_ADAPTER_HTTP_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace http {

// Header fields or query parameters, in order (also declared by server.h).
using Params = std::vector<std::pair<std::string, std::string>>;

// An absolute http(s) URL split for a request.
struct ClientUrl {
  bool https = false;
  std::string host;       // DNS name or IP address (an IPv6 address without brackets)
  uint16_t port = 0;      // the scheme's default (80/443) when the URL names none
  std::string authority;  // host[:port] as written, without user info: the Host header
  std::string userinfo;   // "user:password" or "" (the part before '@')
  std::string target;     // path and query, "/" when the URL has no path; no fragment

  // "https://host:port/path" (no query): how errors name the URL.
  std::string ForErrors() const;
};

// Parses "http://host[:port][/path][?query]" and "https://...". Errors quote the URL and say
// what is wrong (scheme, empty host, bad port, ...).
absl::StatusOr<ClientUrl> ParseClientUrl(std::string_view url);

struct ClientOptions {
  // TLS (https URLs). The CAs that verify the server: a PEM file and/or PEM data (both are
  // loaded when both are set); neither = the system's default CAs.
  std::string ca_file;
  std::string ca_pem;
  // A client certificate (chain) and its key: files or PEM data; a certificate needs a key.
  std::string cert_file;
  std::string key_file;
  std::string cert_pem;
  std::string key_pem;
  // Accepts any server certificate (no chain or name verification).
  bool insecure_skip_verify = false;
  // The name sent as SNI and verified in the certificate; empty = the URL's host (an IP address
  // host is verified against the certificate's IP SANs and sends no SNI).
  std::string server_name;

  // Default bound of a call (see the top of this file); a request may set its own.
  std::chrono::milliseconds timeout{30000};
  // Stream: longest wait for more body bytes once the header has arrived; 0 = none.
  std::chrono::milliseconds idle_timeout{0};
  // Bound of a response body that Do buffers (and of a non-2xx body that Stream buffers).
  size_t max_response_bytes = size_t{256} << 20;
  // Sent with every request before the request's own header fields.
  Params headers;
  std::string user_agent = "metrics-adapter";
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // absolute: "https://host:6443/api/v1/pods?limit=500"
  Params headers;   // Host, User-Agent and Content-Length are set by the client
  std::string body;
  // 0 = ClientOptions::timeout.
  std::chrono::milliseconds timeout{0};
};

struct ClientResponse {
  int status = 0;
  Params headers;    // as received
  std::string body;  // Stream: only for a status that is not 2xx

  // The first header field called name (case-insensitive), or "" when absent.
  std::string Header(std::string_view name) const;
};

// Interrupts calls from another thread. A token is cancelled once and for good; a call started
// with a cancelled token fails at once with kCancelled. One token may serve several calls (one
// after the other or at the same time).
class CancelToken {
 public:
  CancelToken() = default;
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // Idempotent, thread-safe; interrupts the calls in progress promptly.
  void Cancel();
  bool cancelled() const;

  // For Client: runs stop when the token is cancelled while registered (at once if it already
  // is). Returns an id for Unregister; after Unregister returns, stop is not running and will
  // not be called.
  int Register(std::function<void()> stop);
  void Unregister(int id);

 private:
  mutable std::mutex mu_;
  bool cancelled_ = false;
  int next_id_ = 1;
  std::vector<std::pair<int, std::function<void()>>> stops_;
};

class Client {
 public:
  // Loads the TLS material now: errors name the file or option ("cannot load the CA file
  // /x/ca.pem: ...", "cannot load the client key data: ...").
  static absl::StatusOr<std::unique_ptr<Client>> New(ClientOptions options);
  ~Client();

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends request and returns the complete answer, whatever its status.
  absl::StatusOr<ClientResponse> Do(const ClientRequest& request,
                                    CancelToken* cancel = nullptr) const;

  // Sends request; for a 2xx answer calls on_data with each piece of body as it arrives (the
  // chunk framing removed; pieces are not aligned to anything) until the body ends, the server
  // closes the connection, on_data returns false, or cancel is cancelled. Returns the status and
  // headers (and, for a status that is not 2xx, the body, which on_data does not see). A body
  // ended by on_data returning false is a success; cancellation fails with kCancelled; a
  // connection that breaks off before the body's end fails with kUnavailable.
  absl::StatusOr<ClientResponse> Stream(const ClientRequest& request,
                                        const std::function<bool(std::string_view)>& on_data,
                                        CancelToken* cancel = nullptr) const;

  const ClientOptions& options() const;

  class Impl;  // opaque: defined in client.cc

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace http

#endif  // METRICS_ADAPTER_ADAPTER_HTTP_CLIENT_H_
