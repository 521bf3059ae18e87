// Request authentication as a Kubernetes aggregated API server does it (k8s.io/apiserver's
// delegating authenticator): a union of
//   1. request-header: the client certificate chains to the request-header CA (clientAuth) and
//      its CN is an allowed name (an empty list allows any); the user is the first non-empty
//      username header, uid the first non-empty uid header, groups every non-empty value of
//      the group headers (each header line one group, no comma splitting), extra every header
//      starting with an extra prefix: key = the rest of the name, lowercased and
//      percent-decoded (kept as is when that fails), values in order. A verified proxy
//      certificate without a username header authenticates nobody by this method.
//   2. x509: the client certificate chains to the client CA (clientAuth); user = CN, groups =
//      the O's. A certificate without a CN authenticates nobody.
//   3. bearer token: "Authorization: Bearer <token>" (scheme case-insensitive) checked with a
//      TokenReview (authentication.k8s.io/v1) when a poster is configured; results, positive
//      and negative, are cached for token_cache_ttl keyed by the token's SHA-256; errors (the
//      poster's, or status.error) are not cached.
// The first method that authenticates wins, and the group system:authenticated is added
// (unless the user is system:anonymous or already has system:authenticated or
// system:unauthenticated). When none does:
//   - a method failed (a certificate that verifies against neither CA, a CN not allowed, a
//     token refused or not checkable): 401, even if anonymous requests are allowed, as in
//     Kubernetes (an invalid credential is an error, not anonymity);
//   - otherwise (no credentials at all): anonymous (system:anonymous, groups
//     [system:unauthenticated]) when allowed, else 401.
//
// The headers used are not removed from the request (it is const): handlers must not look at
// them. Thread-safe; the CA bundles and request-header settings can be replaced at any time
// (the ConfigMap is watched), requests in flight finish with the settings they started with.
#ifndef METRICS_ADAPTER_ADAPTER_AUTH_AUTHENTICATOR_H_
#define METRICS_ADAPTER_ADAPTER_AUTH_AUTHENTICATOR_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "adapter/auth/request_header.h"
#include "adapter/auth/review_poster.h"
#include "adapter/auth/user_info.h"
#include "adapter/http/server.h"

namespace auth {

struct AuthenticatorOptions {
  // Requests without credentials pass as system:anonymous (Kubernetes' delegated default).
  bool allow_anonymous = true;
  // Posts TokenReviews; nullptr = bearer tokens are not checked (and a request carrying only
  // one is anonymous, as in Kubernetes without an authentication kubeconfig).
  ReviewPoster token_review;
  // --authentication-token-webhook-cache-ttl
  std::chrono::milliseconds token_cache_ttl{10000};
  // Bound of the token cache; when full, expired entries go first, then everything.
  size_t token_cache_size = 4096;
  Clock clock;  // nullptr = std::chrono::steady_clock::now
};

struct AuthenticationResult {
  enum class Status { kAuthenticated, kAnonymous, kUnauthenticated };
  Status status = Status::kUnauthenticated;
  UserInfo user;  // empty when kUnauthenticated
  // How: "requestheader", "x509", "token" or "anonymous"; "" when kUnauthenticated.
  std::string method;
  // Why kUnauthenticated (every failed method, "; "-separated), for logs only: the client
  // gets a bare 401 "Unauthorized".
  std::string reason;

  bool ok() const { return status != Status::kUnauthenticated; }
};

class Authenticator {
 public:
  explicit Authenticator(AuthenticatorOptions options);
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // Replaces the x509 client CA bundle ("" turns x509 authentication off). On an error (a
  // bundle that does not parse) the previous setting stays.
  absl::Status SetClientCA(std::string_view pem);
  // Replaces the request-header settings (client_ca "" turns the method off). On an error the
  // previous settings stay.
  absl::Status SetRequestHeaderConfig(const RequestHeaderConfig& config);
  // Both at once (e.g. from ParseAuthenticationConfigMap): all or nothing.
  absl::Status SetConfig(const AuthenticationConfig& config);

  AuthenticationResult Authenticate(const http::Request& request) const;

 private:
  struct State;
  struct TokenCache;
  std::shared_ptr<const State> state() const;
  // The TokenReview outcome for token: authenticated (user set), refused (error set, cached)
  // or failed (error set, not cached).
  struct TokenOutcome {
    bool authenticated = false;
    UserInfo user;
    std::string error;
  };
  TokenOutcome ReviewToken(const std::string& token) const;

  const AuthenticatorOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<const State> state_;  // guarded by mu_
  std::unique_ptr<TokenCache> token_cache_;
};

}  // namespace auth

#endif  // METRICS_ADAPTER_ADAPTER_AUTH_AUTHENTICATOR_H_
