#include "adapter/auth/filter.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapter/auth/status.h"
#include "tsdb/text_escape.h"

namespace auth {

std::string DescribeUser(const AuthenticationResult& a) {
  if (!a.ok()) return "unauthenticated";
  std::string out = absl::StrCat(tsdb::GoQuote(a.user.username), " groups=[",
                                 absl::StrJoin(a.user.groups, " "), "]");
  if (!a.user.uid.empty()) absl::StrAppend(&out, " uid=", tsdb::GoQuote(a.user.uid));
  absl::StrAppend(&out, " via ", a.method);
  return out;
}

http::Handler WithAuthentication(const Authenticator* authenticator, const Authorizer* authorizer,
                                 http::Handler next, FilterLog log) {
  return [authenticator, authorizer, next = std::move(next),
          log = std::move(log)](const http::Request& request) -> http::Response {
    AuthenticationResult authn;
    if (authenticator != nullptr) {
      authn = authenticator->Authenticate(request);
    } else {
      authn.status = AuthenticationResult::Status::kAnonymous;
      authn.method = "anonymous";
      authn.user.username = kAnonymousUser;
      authn.user.groups = {kAllUnauthenticatedGroup};
    }
    if (!authn.ok()) {
      if (log) log(FilterEvent{request, authn, nullptr, 401, authn.reason});
      return UnauthorizedResponse();
    }
    Attributes attributes = AttributesFromRequest(request, authn.user);
    if (authorizer != nullptr) {
      AuthorizationResult authz = authorizer->Authorize(attributes);
      switch (authz.decision) {
        case AuthorizationResult::Decision::kAllow:
          break;
        case AuthorizationResult::Decision::kForbid:
          if (log) log(FilterEvent{request, authn, &attributes, 403, authz.reason});
          return ForbiddenResponse(attributes, authz.reason);
        case AuthorizationResult::Decision::kError:
          if (log) log(FilterEvent{request, authn, &attributes, 500, authz.error});
          return AuthorizationErrorResponse(request, authz.error);
      }
    }
    if (log) log(FilterEvent{request, authn, &attributes, 0, ""});
    return next(request);
  };
}

}  // namespace auth
