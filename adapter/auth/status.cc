#include "adapter/auth/status.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "adapter/k8s/status.h"
#include "tsdb/text_escape.h"

namespace auth {
namespace {

absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Kubernetes' responsewriters sanitizer: nothing in a message that looks like HTML.
std::string Sanitize(std::string_view s) {
  return absl::StrReplaceAll(AV(s), {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}});
}

}  // namespace

http::Response StatusResponse(int code, std::string_view reason, std::string_view message) {
  return http::Response::Json(k8s::StatusJson(code, reason, message), code);
}

http::Response UnauthorizedResponse() {
  return StatusResponse(401, "Unauthorized", "Unauthorized");
}

std::string ForbiddenMessage(const Attributes& a, std::string_view reason) {
  std::string what;
  if (!a.resource_request) {
    what = absl::StrCat("User ", tsdb::GoQuote(a.user.username), " cannot ", a.verb, " path ",
                        tsdb::GoQuote(a.path));
  } else {
    std::string resource = a.resource;
    if (!a.subresource.empty()) absl::StrAppend(&resource, "/", a.subresource);
    what = absl::StrCat("User ", tsdb::GoQuote(a.user.username), " cannot ", a.verb, " resource ",
                        tsdb::GoQuote(resource), " in API group ", tsdb::GoQuote(a.api_group));
    if (!a.namespace_name.empty()) {
      absl::StrAppend(&what, " in the namespace ", tsdb::GoQuote(a.namespace_name));
    } else {
      absl::StrAppend(&what, " at the cluster scope");
    }
  }
  std::string err = Sanitize(what);
  if (!reason.empty()) absl::StrAppend(&err, ": ", AV(reason));

  // apierrors.NewForbidden(GroupResource{group, resource}, name, err); a non-resource request
  // has neither.
  if (a.resource.empty() && a.api_group.empty()) return absl::StrCat("forbidden: ", err);
  std::string group_resource = a.resource;
  if (!a.api_group.empty()) absl::StrAppend(&group_resource, ".", a.api_group);
  if (a.name.empty()) return absl::StrCat(group_resource, " is forbidden: ", err);
  return absl::StrCat(group_resource, " ", tsdb::GoQuote(a.name), " is forbidden: ", err);
}

http::Response ForbiddenResponse(const Attributes& a, std::string_view reason) {
  k8s::StatusDetails details{a.name, a.api_group, a.resource, ""};
  http::Response r = http::Response::Json(
      k8s::StatusJson(403, "Forbidden", ForbiddenMessage(a, reason), &details), 403);
  r.AddHeader("X-Content-Type-Options", "nosniff");
  return r;
}

http::Response AuthorizationErrorResponse(const http::Request& request, std::string_view error) {
  http::Response r = http::Response::Text(
      Sanitize(
          absl::StrCat("Internal Server Error: ", tsdb::GoQuote(request.target), ": ", AV(error))) +
          "\n",
      500);
  r.AddHeader("X-Content-Type-Options", "nosniff");
  return r;
}

}  // namespace auth
