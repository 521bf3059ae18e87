#include "adapter/apiserver/status.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "adapter/k8s/status.h"

namespace apiserver {

http::Response StatusReply(int code, std::string_view reason, std::string_view message) {
  return http::Response::Json(k8s::StatusJson(code, reason, message), code);
}

http::Response NotFound(std::string_view message) { return StatusReply(404, "NotFound", message); }

http::Response BadRequest(std::string_view message) {
  return StatusReply(400, "BadRequest", message);
}

http::Response MethodNotAllowed(std::string_view method) {
  http::Response r =
      StatusReply(405, "MethodNotAllowed",
                  absl::StrCat("the server does not allow this method on the requested resource (",
                               absl::string_view(method.data(), method.size()), ")"));
  r.AddHeader("Allow", "GET, HEAD");
  return r;
}

http::Response InternalError(std::string_view summary, std::string_view cause) {
  std::string message =
      absl::StrCat("Internal error occurred: ", absl::string_view(summary.data(), summary.size()));
  k8s::StatusDetails details;
  details.cause = cause;
  return http::Response::Json(k8s::StatusJson(500, "InternalError", message, &details), 500);
}

http::Response FromStatus(const absl::Status& status) {
  const std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return NotFound(message);
    case absl::StatusCode::kInvalidArgument:
      return BadRequest(message);
    case absl::StatusCode::kUnavailable:
      return StatusReply(503, "ServiceUnavailable", message);
    default:
      return InternalError("unable to fetch metrics", message);
  }
}

}  // namespace apiserver
