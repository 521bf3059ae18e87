// The authentication and authorization filter in front of the Kubernetes API handlers, in
// k8s.io/apiserver's order: authenticate (401 Status "Unauthorized" on failure), derive the
// request's attributes (attributes.h), authorize (403 Forbidden Status, or 500 plain text when
// the authorizer fails), then call the handler.
#ifndef METRICS_ADAPTER_ADAPTER_AUTH_FILTER_H_
#define METRICS_ADAPTER_ADAPTER_AUTH_FILTER_H_

#include <functional>
#include <string>

#include "adapter/auth/authenticator.h"
#include "adapter/auth/authorizer.h"
#include "adapter/http/server.h"

namespace auth {

// One decision of the filter, for logs (the request is const and carries no user).
struct FilterEvent {
  const http::Request& request;
  const AuthenticationResult& authentication;
  const Attributes* attributes;  // null when authentication failed
  // 0 when the request was passed on to the handler; else the status answered: 401, 403, 500.
  int status;
  // Why it was refused: the authentication failures, the authorizer's reason or error.
  std::string detail;
};
using FilterLog = std::function<void(const FilterEvent&)>;

// Wraps next. authenticator null = every request is system:anonymous; authorizer null = no
// authorization (every authenticated request passes). Both must outlive the handler. log
// (may be null) is called for every request, from the server's io threads.
http::Handler WithAuthentication(const Authenticator* authenticator, const Authorizer* authorizer,
                                 http::Handler next, FilterLog log = nullptr);

// "alice" groups=[dev system:authenticated] via x509 — a one-line description for logs.
std::string DescribeUser(const AuthenticationResult& authentication);

}  // namespace auth

#endif  // METRICS_ADAPTER_ADAPTER_AUTH_FILTER_H_
