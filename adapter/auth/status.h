// The replies of the authentication and authorization filters, byte for byte as
// k8s.io/apiserver writes them (metav1.Status JSON through Go's encoding/json, which escapes
// <, > and & as \u003c, \u003e, \u0026, and ends the body with a newline). Self-contained: the
// auth module does not depend on the API handlers (adapter/apiserver).
#ifndef METRICS_ADAPTER_ADAPTER_AUTH_STATUS_H_
#define METRICS_ADAPTER_ADAPTER_AUTH_STATUS_H_

#include <string>
#include <string_view>

#include "adapter/auth/attributes.h"
#include "adapter/http/server.h"

namespace auth {

// {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":<message>,
//  "reason":<reason>,"code":<code>} with the same HTTP status; reason omitted when empty. Usable
// as http::ServerOptions::error_response (with reason BadRequest for 400, ...): see
// k8s::StatusReasonFor.
http::Response StatusResponse(int code, std::string_view reason, std::string_view message);

// 401: message and reason "Unauthorized".
http::Response UnauthorizedResponse();

// 403 Forbidden, e.g. for a custom metric:
//   pods.custom.metrics.k8s.io "*" is forbidden: User "alice" cannot get resource
//   "pods/http_requests" in API group "custom.metrics.k8s.io" in the namespace "default"
// (": <reason>" appended when the authorizer gave one), with details {name, group, kind =
// resource}; for a non-resource request: forbidden: User "alice" cannot get path "/metrics".
http::Response ForbiddenResponse(const Attributes& attributes, std::string_view reason);

// The message of ForbiddenResponse, for logs and tests.
std::string ForbiddenMessage(const Attributes& attributes, std::string_view reason);

// 500 when authorization could not be decided, plain text as Kubernetes' InternalError:
//   Internal Server Error: "<request target>": <error>
http::Response AuthorizationErrorResponse(const http::Request& request, std::string_view error);

}  // namespace auth

#endif  // METRICS_ADAPTER_ADAPTER_AUTH_STATUS_H_
