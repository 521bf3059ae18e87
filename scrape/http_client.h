// The scraper's HTTP(S) client: HTTP/1.1 GETs to targets on a small, fixed pool of event-loop
// threads (an io_context run by HttpClientOptions::threads threads), never a thread per target.
//
// Every target gets one ScrapeClient: a keep-alive connection that is reused from one scrape to
// the next, and a timer that the target's scrape loop uses for its schedule. A ScrapeClient's
// callbacks (fetch completions and timer callbacks) run one at a time on the pool, in order, so
// the loop that owns it needs no locking of its own for what only those callbacks touch; a slow
// or dead target occupies no thread while it is waited for.
//
// A fetch answers with the decoded body of a 200 response, or with an error worded as Prometheus
// words it in a target's lastError:
//   Get "http://127.0.0.1:9/metrics": dial tcp 127.0.0.1:9: connect: connection refused
//   Get "http://10.0.0.1:9100/metrics": context deadline exceeded      (the request's deadline)
//   server returned HTTP status 500 Internal Server Error
//   body size limit exceeded                                           (body_size_limit)
// Bodies sent with "Content-Encoding: gzip" are inflated; body_size_limit bounds the inflated
// body (as in Prometheus) and, with some slack, the bytes read from the wire. The deadline covers
// everything: name resolution, connecting, the TLS handshake, sending and reading to the last
// byte, so an endless or trickling (slowloris) body ends at the deadline.
//
// Keep-alive: after a complete response with "Connection: keep-alive" semantics the connection
// stays open for the next fetch; a fetch that finds its reused connection closed by the server
// before any response byte arrived is retried once on a new connection (as Go's transport does
// for idempotent requests). Any error closes the connection.
//
// The implementation (Boost.Beast/Asio, OpenSSL, zlib) stays in http_client.cc.
#ifndef METRICS_ADAPTER_SCRAPE_HTTP_CLIENT_H_
#define METRICS_ADAPTER_SCRAPE_HTTP_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace scrape {

// What Prometheus 2.42 sends in the Accept header of a scrape: OpenMetrics preferred, the text
// format next, anything last.
inline constexpr char kScrapeAcceptHeader[] =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

// A target's tls_config, as Prometheus' scrape configuration spells it.
struct TlsClientConfig {
  std::string ca_file;    // PEM CAs to verify the server with; empty = the system's CAs
  std::string cert_file;  // client certificate (PEM), with key_file
  std::string key_file;
  std::string server_name;  // SNI and the name verified; empty = the target's host
  bool insecure_skip_verify = false;

  friend bool operator==(const TlsClientConfig&, const TlsClientConfig&) = default;
};

// Where a target listens.
struct Endpoint {
  bool https = false;
  std::string host;  // DNS name or IP address (an IPv6 address without brackets)
  uint16_t port = 0;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// Parses a target's address ("host:port", "[::1]:port", or "host" with the scheme's default port
// 80/443) for scheme "http" or "https". Errors name the address.
absl::StatusOr<Endpoint> ParseEndpoint(std::string_view scheme, std::string_view address);

// The settings of one target's connection; fixed for the life of its ScrapeClient.
struct ClientConfig {
  Endpoint endpoint;
  TlsClientConfig tls;  // used when endpoint.https
};

struct FetchRequest {
  std::string url;          // the full URL, for error messages
  std::string target;       // request target: path and query, "/metrics?module=x"
  std::string host_header;  // the Host header: "host:port" as in the URL
  // Further header fields (Accept, Authorization, User-Agent, ...). "Accept-Encoding: gzip" is
  // always sent.
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::steady_clock::time_point deadline;
  // Bound of the (decoded) body in bytes; 0 = none.
  int64_t body_size_limit = 0;
};

struct FetchResponse {
  int status = 0;
  std::string content_type;      // the Content-Type header as sent ("" when absent)
  std::string body;              // inflated when it came gzip-encoded
  uint64_t wire_body_bytes = 0;  // body bytes as received
  bool reused_connection = false;
};

// Per-target client and timer. Obtained from HttpClient::NewClient; thread-safe.
class ScrapeClient {
 public:
  using FetchCallback = std::function<void(absl::StatusOr<FetchResponse>)>;

  virtual ~ScrapeClient() = default;

  // Sends request and calls done exactly once on a pool thread, unless Close() comes first
  // (then done is never called). One fetch at a time: calling Fetch while one is outstanding
  // fails the new one with FailedPrecondition.
  virtual void Fetch(FetchRequest request, FetchCallback done) = 0;

  // Calls fn once at `when` on a pool thread (at once when it has passed), replacing any callback
  // scheduled earlier and not yet started.
  virtual void RunAt(std::chrono::steady_clock::time_point when, std::function<void()> fn) = 0;

  // Aborts the outstanding fetch (its callback is never called) and the scheduled callback, and
  // closes the connection; waits for a callback that is running to return. After Close() no
  // callback of this client runs again, and Fetch/RunAt do nothing. Idempotent. From inside one of
  // this client's own callbacks it does not wait (the callback is the one running).
  virtual void Close() = 0;

  // Cancels the outstanding fetch only: its callback is called with a Cancelled status. The
  // connection is closed; the scheduled callback stays.
  virtual void CancelFetch() = 0;
};

struct HttpClientOptions {
  int threads = 2;
  // The User-Agent header of every request.
  std::string user_agent = "metrics-adapter";
};

// The event-loop pool. Destroying it (or Stop) closes every client it made.
class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();

  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // A client for one target. TLS files are read now: when a CA, certificate or key cannot be
  // loaded, every fetch of the client fails with that error (naming the file), so that the
  // target shows it as its lastError. Fails only when the pool is stopped.
  absl::StatusOr<std::shared_ptr<ScrapeClient>> NewClient(const ClientConfig& config);

  // Closes every client and joins the threads. Idempotent.
  void Stop();

  const HttpClientOptions& options() const { return options_; }

  class Impl;

 private:
  HttpClientOptions options_;
  std::shared_ptr<Impl> impl_;
};

// Inflates a gzip stream (RFC 1952; several members are concatenated as gunzip does) into *out,
// failing with "body size limit exceeded" when the output would pass limit (> 0).
absl::Status GunzipBody(std::string_view in, int64_t limit, std::string* out);

}  // namespace scrape

#endif  // METRICS_ADAPTER_SCRAPE_HTTP_CLIENT_H_
