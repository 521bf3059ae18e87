#include "adapter/k8s/status.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "tsdb/text_escape.h"

namespace k8s {

std::string StatusJson(int code, std::string_view reason, std::string_view message,
                       const StatusDetails* details) {
  std::string body =
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":)";
  tsdb::AppendJsonString(message, &body);
  if (!reason.empty()) {
    body += R"(,"reason":)";
    tsdb::AppendJsonString(reason, &body);
  }
  if (details != nullptr) {
    body += R"(,"details":{)";
    bool first = true;
    for (auto [key, value] : {std::pair<const char*, std::string_view>{"name", details->name},
                              {"group", details->group},
                              {"kind", details->kind}}) {
      if (value.empty()) continue;
      if (!first) body += ',';
      first = false;
      tsdb::AppendJsonString(key, &body);
      body += ':';
      tsdb::AppendJsonString(value, &body);
    }
    if (!details->cause.empty()) {
      if (!first) body += ',';
      body += R"("causes":[{"message":)";
      tsdb::AppendJsonString(details->cause, &body);
      body += "}]";
    }
    body += '}';
  }
  absl::StrAppend(&body, R"(,"code":)", code, "}\n");
  return body;
}

std::string_view StatusReasonFor(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "";
  }
}

}  // namespace k8s
