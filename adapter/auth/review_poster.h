// The two seams of the auth module: how reviews reach the Kubernetes API server, and what time
// it is (for the caches).
#ifndef METRICS_ADAPTER_ADAPTER_AUTH_REVIEW_POSTER_H_
#define METRICS_ADAPTER_ADAPTER_AUTH_REVIEW_POSTER_H_

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace auth {

// POSTs json_body (Content-Type application/json) to api_path on the Kubernetes API server,
// e.g. "/apis/authentication.k8s.io/v1/tokenreviews", and returns the response body of a 2xx
// answer. Anything else (no connection, a timeout, a non-2xx status) is an error, whose message
// ends up in logs and, for authorization, in a 500 reply. Called on the server's io threads,
// concurrently: it must be thread-safe and should time out within a few seconds.
using ReviewPoster = std::function<absl::StatusOr<std::string>(std::string_view api_path,
                                                               std::string_view json_body)>;

inline constexpr char kTokenReviewPath[] = "/apis/authentication.k8s.io/v1/tokenreviews";
inline constexpr char kSubjectAccessReviewPath[] =
    "/apis/authorization.k8s.io/v1/subjectaccessreviews";

// A monotonic clock; tests substitute their own.
using Clock = std::function<std::chrono::steady_clock::time_point()>;

}  // namespace auth

#endif  // METRICS_ADAPTER_ADAPTER_AUTH_REVIEW_POSTER_H_
