// Kubernetes API error replies: a metav1.Status object with the same HTTP status code,
//   {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
//    "message":"...","reason":"NotFound","code":404}
// which kubectl and client-go turn into their usual error messages.
#ifndef METRICS_ADAPTER_ADAPTER_APISERVER_STATUS_H_
#define METRICS_ADAPTER_ADAPTER_APISERVER_STATUS_H_

#include <string_view>

#include "absl/status/status.h"
#include "adapter/http/server.h"

namespace apiserver {

// A Status reply; reason may be empty (then left out, as Kubernetes does for errors it cannot
// classify).
http::Response StatusReply(int code, std::string_view reason, std::string_view message);

// 404 NotFound, 400 BadRequest, 405 MethodNotAllowed.
http::Response NotFound(std::string_view message);
http::Response BadRequest(std::string_view message);
http::Response MethodNotAllowed(std::string_view method);

// 500 InternalError "Internal error occurred: <summary>" with the cause in details.causes, as the
// apiserver wraps errors from storage.
http::Response InternalError(std::string_view summary, std::string_view cause);

// Maps an error from the rules or the query backend: NotFound -> 404, InvalidArgument -> 400,
// Unavailable -> 503 ServiceUnavailable, anything else -> 500 "unable to fetch metrics".
http::Response FromStatus(const absl::Status& status);

}  // namespace apiserver

#endif  // METRICS_ADAPTER_ADAPTER_APISERVER_STATUS_H_
