// A REST client of the Kubernetes API: GET, POST and WATCH on paths of one API server, with
// client-go's client-side rate limit (a token bucket: qps requests per second on average, bursts
// of up to burst; prometheus-adapter's defaults are --client-qps 5 --client-burst 10).
//
// Answers that are not 2xx become an absl::Status carrying the HTTP code (HttpCodeOf) and the
// metav1.Status reason (ReasonOf), its message being "<METHOD> <url>: <code> <reason>: <the
// Status message>", e.g.
//   GET https://10.96.0.1/api/v1/pods: 403 Forbidden: pods is forbidden: User "x" cannot ...
// Status codes: 400 kInvalidArgument, 401 kUnauthenticated, 403 kPermissionDenied,
// 404 kNotFound, 409 kAlreadyExists, 410 kFailedPrecondition (Gone: a watch or list from a
// compacted resourceVersion), 422 kInvalidArgument, 429 kResourceExhausted,
// 504 kDeadlineExceeded, other 5xx kUnavailable, others kUnknown. Transport errors keep
// http::Client's codes (kUnavailable, kDeadlineExceeded, kCancelled) and have no HTTP code.
#ifndef METRICS_ADAPTER_ADAPTER_KUBECLIENT_REST_CLIENT_H_
#define METRICS_ADAPTER_ADAPTER_KUBECLIENT_REST_CLIENT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapter/http/client.h"
#include "adapter/kubeclient/config.h"

namespace kubeclient {

// The HTTP code of an error from RestClient, or 0 when it carries none.
int HttpCodeOf(const absl::Status& status);
// The metav1.Status reason of an error from RestClient ("NotFound", "Expired", "Gone"), or "".
std::string ReasonOf(const absl::Status& status);
// Builds the error RestClient returns for an HTTP answer that is not 2xx; what names the
// request ("GET https://host/api/v1/pods"); body is the answer's body (a metav1.Status or
// anything else).
absl::Status HttpError(std::string_view what, int code, std::string_view body);

// A token bucket, as Go's golang.org/x/time/rate.Limiter used by client-go: starts full with
// burst tokens, refills at qps per second up to burst. qps <= 0 means no limit. Thread-safe.
class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  RateLimiter(double qps, int burst, Clock clock = nullptr);

  // Takes a token and returns how long the caller must wait before using it (0 when one was
  // available). Callers waiting in line are served in order: a token may be reserved ahead.
  std::chrono::nanoseconds Reserve();
  // Reserve, then sleep until the token is due.
  void Wait();

 private:
  std::mutex mu_;
  const double qps_;
  const double burst_;
  Clock clock_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
};

struct RestClientOptions {
  double qps = 5;
  int burst = 10;
  // Bound of a GET or POST (connect to last byte).
  std::chrono::milliseconds timeout{30000};
  // A watch whose connection delivers nothing (not even a bookmark) for this long is ended
  // with an error; the server sends bookmarks about every minute. 0 = no limit.
  std::chrono::milliseconds watch_idle_timeout{std::chrono::minutes(5)};
  std::string user_agent = "metrics-adapter";
};

class RestClient {
 public:
  // Builds the HTTP client (loading the TLS material of config). Errors name the bad option.
  static absl::StatusOr<std::unique_ptr<RestClient>> New(ClientConfig config,
                                                         RestClientOptions options = {});
  ~RestClient();

  // path: "/api/v1/pods?limit=500", appended to the configured server URL (its path prefix
  // kept). Returns the body of a 2xx answer.
  absl::StatusOr<std::string> Get(std::string_view path, http::CancelToken* cancel = nullptr);
  // Sends body as application/json.
  absl::StatusOr<std::string> Post(std::string_view path, std::string_view body);

  // Streams a watch: path should carry watch=true. Calls on_line with every line of the body
  // (one JSON watch event each, without the newline) until the server ends the answer (Ok),
  // on_line returns false (Ok), cancel is cancelled (kCancelled), or an error. Counts as one
  // request for the rate limit.
  absl::Status Watch(std::string_view path, const std::function<bool(std::string_view)>& on_line,
                     http::CancelToken* cancel = nullptr);

  // For the authentication and authorization module (TokenReview, SubjectAccessReview): posts
  // body to path and returns the answer's body (auth::ReviewPoster). Reviews are made on the
  // server's request threads, so they bypass the client's rate limit for one of their own (200
  // qps, bursts of 400, as Kubernetes' delegated authentication configures its client) and are
  // bounded by timeout (10 s there too). The function is valid while the RestClient lives.
  std::function<absl::StatusOr<std::string>(std::string_view path, std::string_view body)>
  ReviewPoster(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  const ClientConfig& config() const { return config_; }

 private:
  RestClient(ClientConfig config, RestClientOptions options, std::unique_ptr<http::Client> http,
             std::string base);
  absl::StatusOr<http::ClientRequest> NewRequest(std::string method, std::string_view path);
  absl::StatusOr<std::string> DoPost(std::string_view path, std::string_view body,
                                     RateLimiter* limiter, std::chrono::milliseconds timeout);

  const ClientConfig config_;
  const RestClientOptions options_;
  std::unique_ptr<http::Client> http_;
  const std::string base_;  // server URL without a trailing '/'
  TokenSource token_;
  RateLimiter limiter_;
  RateLimiter review_limiter_;
};

}  // namespace kubeclient

#endif  // METRICS_ADAPTER_ADAPTER_KUBECLIENT_REST_CLIENT_H_
