#include "adapter/apiserver/status.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "adapter/api/json.h"

namespace apiserver {
namespace {

std::string StatusBody(int code, std::string_view reason, std::string_view message,
                       std::string_view cause) {
  std::string body =
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":)";
  api::AppendJsonString(message, &body);
  if (!reason.empty()) {
    body += R"(,"reason":)";
    api::AppendJsonString(reason, &body);
  }
  if (!cause.empty()) {
    body += R"(,"details":{"causes":[{"message":)";
    api::AppendJsonString(cause, &body);
    body += "}]}";
  }
  absl::StrAppend(&body, R"(,"code":)", code, "}\n");
  return body;
}

}  // namespace

http::Response StatusReply(int code, std::string_view reason, std::string_view message) {
  return http::Response::Json(StatusBody(code, reason, message, ""), code);
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
  return http::Response::Json(StatusBody(500, "InternalError", message, cause), 500);
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
