// The one HTTP/1.x server core of metrics-adapter: the plain listener (health, readiness, self
// metrics, query API), the HTTPS Kubernetes API listener and the tests' fake servers all use it.
//
// Model: Boost.Beast's asynchronous server example. A Server owns an io_context run by a small
// thread pool; every connection is a session on its own strand that reads one request at a time
// (keep-alive, HTTP/1.1 and 1.0, no pipelining in parallel), calls the Handler and writes the
// Response. Requests are fully buffered: bodies are limited by ServerOptions::max_body_bytes.
//
// Handlers run on the io threads, so a handler must not block for long (no sleeping, no waiting
// on other requests); a handler that blocks ties up one of the ServerOptions::threads threads and
// with it every connection waiting for that thread. Handlers may run concurrently with each other
// (different connections) and must be thread-safe.
//
// Errors answered by the server itself, before any handler runs:
//   400 malformed request line, header or chunk encoding (connection closed); bad
//       percent-encoding in the target or in a form body (connection kept)
//   413 body larger than max_body_bytes (connection closed)
//   431 request line + headers larger than max_header_bytes (connection closed)
//   500 the handler threw an exception
// Their bodies are plain text unless ServerOptions::error_response builds them.
// Responses to HEAD requests carry the handler's Content-Length but no body.
#ifndef METRICS_ADAPTER_ADAPTER_HTTP_SERVER_H_
#define METRICS_ADAPTER_ADAPTER_HTTP_SERVER_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace http {

using Params = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // as sent, e.g. "GET"
  std::string target;  // the raw request target, e.g. "/api/v1/query?query=up%7Bjob%3D%22a%22%7D"
  std::string path;    // target's path, percent-decoded ("%2F" becomes "/" too), no query
  // Query parameters and, for a POST/PUT/PATCH with Content-Type
  // application/x-www-form-urlencoded, the form fields of the body, all percent-decoded ('+' is
  // a space). Form fields come first, then query parameters (as in Go's Request.Form). Repeated
  // names (match[]=a&match[]=b) keep every value in order.
  Params params;
  // Header fields in the order received, names as sent.
  Params headers;
  std::string body;
  std::string remote_address;  // "127.0.0.1:51234" or "[::1]:51234"
  int version = 11;            // 10 for HTTP/1.0, 11 for HTTP/1.1
  bool tls = false;            // received on a TLS listener
  // With TlsConfig::client_ca_file: the subject common name of the verified client
  // certificate, empty when the client sent none. Always empty with
  // TlsConfig::request_client_cert, where the server verifies nothing.
  std::string peer_common_name;
  // On a TLS listener: the certificate chain the client sent, DER-encoded, its own certificate
  // first, then the intermediates in the order sent; empty when it sent none. With
  // TlsConfig::request_client_cert this chain is NOT verified: whoever trusts it must verify it
  // (auth::Authenticator does). With client_ca_file it is the chain that verified.
  std::vector<std::string> peer_certificates;

  // The first value of parameter name, or "" when absent.
  std::string Get(std::string_view name) const;
  // Every value of parameter name, in order.
  std::vector<std::string> GetAll(std::string_view name) const;
  bool Has(std::string_view name) const;
  // The first header field called name (case-insensitive), or "" when absent.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type;  // sent as Content-Type unless empty
  std::string body;
  // Extra header fields. Content-Length is always computed by the server.
  Params headers;

  // "text/plain; charset=utf-8"
  static Response Text(std::string body, int status = 200);
  // "application/json"
  static Response Json(std::string body, int status = 200);
  Response& AddHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

using Handler = std::function<Response(const Request&)>;

// Dispatches on Request::path: an exact Handle() match first, then the longest HandlePrefix()
// prefix; otherwise 404 "404 page not found". Handlers check the method themselves. A Router is
// a copyable callable, so it can be passed wherever a Handler is expected.
class Router {
 public:
  // Registering a path or prefix again replaces the earlier handler.
  void Handle(std::string path, Handler handler);
  void HandlePrefix(std::string prefix, Handler handler);

  Response operator()(const Request& request) const;

 private:
  std::map<std::string, Handler, std::less<>> exact_;
  std::map<std::string, Handler, std::less<>> prefix_;
};

// A 405 response with an Allow header when request.method is none of allowed; nullopt otherwise.
// Use: if (auto r = http::CheckMethod(req, {"GET", "HEAD"})) return *r;
std::optional<Response> CheckMethod(const Request& request,
                                    std::initializer_list<std::string_view> allowed);

enum class TlsVersion { kTls12, kTls13 };

// Parses "1.2", "1.3", "VersionTLS12" or "VersionTLS13" (Kubernetes' --tls-min-version).
absl::StatusOr<TlsVersion> ParseTlsVersion(std::string_view text);

struct TlsConfig {
  std::string cert_file;  // PEM: the server certificate followed by any intermediates
  std::string key_file;   // PEM private key matching the certificate
  TlsVersion min_version = TlsVersion::kTls12;
  // TLS 1.2 cipher suites, by IANA name as Kubernetes' --tls-cipher-suites takes them
  // ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") or by OpenSSL name ("ECDHE-RSA-AES128-GCM-SHA256");
  // TLS 1.3 suite names ("TLS_AES_128_GCM_SHA256") restrict TLS 1.3. Empty = OpenSSL's defaults.
  std::vector<std::string> cipher_suites;
  // PEM bundle of CAs that sign client certificates; empty = no client certificates asked for.
  // When set, a client certificate is verified if sent, and required with require_client_cert.
  std::string client_ca_file;
  bool require_client_cert = false;
  // Asks every client for a certificate but accepts whatever it sends (none, self-signed,
  // expired, from any CA) and leaves the verification to the handlers, which find the chain in
  // Request::peer_certificates. This is how a Kubernetes aggregated API server listens: two
  // different CAs (the front proxy's and --client-ca-file) are checked by the authentication
  // layer, and both can change while the server runs. The certificate request names no CA, so
  // that a client (Go's crypto/tls in particular) offers its certificate whoever signed it.
  // The handshake still proves that the client holds the certificate's private key
  // (CertificateVerify); only the chain is left unchecked. Exclusive with client_ca_file.
  //
  // Whenever client certificates are asked for (this or client_ca_file), TLS session
  // resumption is off, so that every connection presents its full chain.
  bool request_client_cert = false;
};

struct ServerOptions {
  int threads = 2;
  size_t max_body_bytes = 10 << 20;
  size_t max_header_bytes = 64 << 10;  // request line + all header fields
  // Connections beyond this wait in the kernel's accept queue until one closes.
  int max_connections = 1024;
  // A request (and a TLS handshake) must arrive completely within read_timeout once started.
  std::chrono::milliseconds read_timeout{30000};
  // A keep-alive connection without a new request for this long is closed.
  std::chrono::milliseconds idle_timeout{120000};
  std::chrono::milliseconds write_timeout{60000};
  // Receives notes about failures that reach no client (accept errors, handler exceptions,
  // failed TLS handshakes). nullptr = dropped.
  std::function<void(std::string_view)> log = nullptr;
  // Builds the responses the server answers itself (the 400, 413, 431 and 500 listed at the
  // top of this file) from their status and a one-line message without a trailing newline,
  // e.g. a metav1.Status JSON body on the Kubernetes API listener. The status of the returned
  // Response is replaced by status; whether the connection stays open does not depend on the
  // response. Must be thread-safe; an exception falls back to the default. nullptr = plain
  // text: Response::Text(message + "\n", status).
  std::function<Response(int status, std::string_view message)> error_response = nullptr;
};

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  // Calls Stop().
  ~Server();

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens on host_port and returns the bound port (useful with port 0). Forms:
  // ":9090" (all interfaces, IPv6 and IPv4), "0.0.0.0:9090", "127.0.0.1:0", "[::1]:9090",
  // "localhost:9090" (the first address the name resolves to). With tls, connections on this
  // listener speak HTTPS; certificate and key are loaded now, so a bad file fails here. May be
  // called several times (one server, several listeners) and before or after Start().
  // Errors name the address: an unparsable address, an unknown host, a port in use, ...
  absl::StatusOr<int> Listen(const std::string& host_port, const TlsConfig* tls = nullptr);

  // Starts the thread pool serving every listener. Fails when called twice or after Stop().
  absl::Status Start();

  // Graceful shutdown: stops accepting, closes idle connections, lets requests being read,
  // handled or written finish (their responses carry "Connection: close") for up to grace,
  // then closes what is left and joins the threads (so a handler that never returns blocks
  // Stop). Idempotent; safe from any thread except an io thread (a handler).
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

  class Impl;  // opaque: defined in server.cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace http

#endif  // METRICS_ADAPTER_ADAPTER_HTTP_SERVER_H_
