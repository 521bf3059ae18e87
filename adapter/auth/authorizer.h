// Request authorization as a Kubernetes aggregated API server does it (k8s.io/apiserver's
// delegating authorizer), first decision wins:
//   1. a user in an always-allowed group (system:masters) is allowed;
//   2. a non-resource request on an always-allowed path (--authorization-always-allow-paths:
//      /healthz, /readyz, /livez; a trailing "*" makes a prefix, "/" matches only "/") is
//      allowed;
//   3. a SubjectAccessReview (authorization.k8s.io/v1) decides: allowed -> allow; denied, or
//      neither (no opinion) -> forbidden with status.reason; allowed and denied together, an
//      unparsable answer or a failed POST -> error (Kubernetes answers 500).
//      status.evaluationError is ignored, as Kubernetes does. Answers are cached by the review's
//      spec: allowed ones for allowed_ttl, the others for denied_ttl; errors are not cached, nor
//      are requests whose user-controlled attributes are 10000 bytes or more.
//   Without a poster, what 1 and 2 do not allow is forbidden.
// Thread-safe.
#ifndef METRICS_ADAPTER_ADAPTER_AUTH_AUTHORIZER_H_
#define METRICS_ADAPTER_ADAPTER_AUTH_AUTHORIZER_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/auth/attributes.h"
#include "adapter/auth/review_poster.h"

namespace auth {

struct AuthorizerOptions {
  std::vector<std::string> always_allow_paths = {"/healthz", "/readyz", "/livez"};
  std::vector<std::string> always_allow_groups = {kPrivilegedGroup};
  ReviewPoster subject_access_review;  // nullptr = no SubjectAccessReviews
  // --authorization-webhook-cache-authorized-ttl / -unauthorized-ttl
  std::chrono::milliseconds allowed_ttl{10000};
  std::chrono::milliseconds denied_ttl{10000};
  // Bound of the cache; when full, expired entries go first, then everything.
  size_t cache_size = 8192;
  Clock clock;  // nullptr = std::chrono::steady_clock::now
};

struct AuthorizationResult {
  enum class Decision { kAllow, kForbid, kError };
  Decision decision = Decision::kForbid;
  std::string reason;  // the authorizer's reason (kAllow, kForbid); may be empty
  std::string error;   // kError: what went wrong
};

class Authorizer {
 public:
  // An error for an always-allowed path with a "*" anywhere but at its end.
  static absl::StatusOr<std::unique_ptr<Authorizer>> Create(AuthorizerOptions options);
  ~Authorizer();
  Authorizer(const Authorizer&) = delete;
  Authorizer& operator=(const Authorizer&) = delete;

  AuthorizationResult Authorize(const Attributes& attributes) const;

  // Whether path (a request path, e.g. "/healthz") is one of the always-allowed paths, which
  // apply to non-resource requests.
  bool AlwaysAllowedPath(std::string_view path) const;

 private:
  struct Cache;
  explicit Authorizer(AuthorizerOptions options);

  const AuthorizerOptions options_;
  std::vector<std::string> exact_paths_;   // without the leading "/"
  std::vector<std::string> prefix_paths_;  // without the leading "/" and the trailing "*"
  std::unique_ptr<Cache> cache_;
};

// The SubjectAccessReview the authorizer POSTs for attributes, e.g.
//   {"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{},
//    "spec":{"resourceAttributes":{"namespace":"default","verb":"get",
//    "group":"custom.metrics.k8s.io","version":"v1beta1","resource":"pods",
//    "subresource":"http_requests","name":"*"},"user":"alice",
//    "groups":["dev","system:authenticated"]}}
// Fields in the order and with the omissions (empty = left out) of Go's encoding of the v1
// types; extra keys sorted.
std::string SubjectAccessReviewBody(const Attributes& attributes);

}  // namespace auth

#endif  // METRICS_ADAPTER_ADAPTER_AUTH_AUTHORIZER_H_
