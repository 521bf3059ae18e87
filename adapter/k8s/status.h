// metav1.Status, the body of every error reply of a Kubernetes API server:
//   {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"...",
//    "reason":"NotFound","details":{...},"code":404}
// written as k8s.io/apiserver writes it (Go's encoding/json: fields in this order, empty ones
// left out, <, > and & escaped, a newline at the end), so that kubectl and client-go turn it
// into their usual messages. The metrics API handlers and the authentication filter both reply
// with it.
#ifndef METRICS_ADAPTER_ADAPTER_K8S_STATUS_H_
#define METRICS_ADAPTER_ADAPTER_K8S_STATUS_H_

#include <string>
#include <string_view>

namespace k8s {

// metav1.StatusDetails, as far as the program fills it; empty fields are left out (an object
// with none is written as {}, as Kubernetes does for a Forbidden non-resource request).
struct StatusDetails {
  std::string_view name;
  std::string_view group;
  std::string_view kind;
  std::string_view cause;  // one entry of causes: [{"message": cause}]
};

// The Status JSON for an error with HTTP code; reason may be empty (left out), details null
// (left out).
std::string StatusJson(int code, std::string_view reason, std::string_view message,
                       const StatusDetails* details = nullptr);

// The metav1.StatusReason Kubernetes uses for an HTTP status: 400 BadRequest, 401
// Unauthorized, 403 Forbidden, 404 NotFound, 405 MethodNotAllowed, 409 Conflict, 410 Expired,
// 413 RequestEntityTooLarge, 415 UnsupportedMediaType, 422 Invalid, 429 TooManyRequests,
// 500 InternalError, 503 ServiceUnavailable, 504 Timeout; "" otherwise.
std::string_view StatusReasonFor(int code);

}  // namespace k8s

#endif  // METRICS_ADAPTER_ADAPTER_K8S_STATUS_H_
