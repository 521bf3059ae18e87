#include "adapter/apiserver/explain.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "adapter/http/url.h"

namespace apiserver {

std::string ExplainPath(const MetricsApi& api, std::string_view path_and_query) {
  http::Request request;
  request.method = "GET";
  request.target = std::string(path_and_query);
  const size_t q = path_and_query.find('?');
  absl::StatusOr<std::string> path =
      http::PercentDecode(path_and_query.substr(0, q), /*plus_is_space=*/false);
  std::string out = absl::StrCat("request:  GET ", std::string(path_and_query), "\n");
  if (!path.ok()) return absl::StrCat(out, "error:    bad path: ", path.status().message(), "\n");
  request.path = std::move(*path);
  if (q != std::string_view::npos) {
    absl::StatusOr<http::Params> params = http::ParseQuery(path_and_query.substr(q + 1));
    if (!params.ok()) {
      return absl::StrCat(out, "error:    bad query string: ", params.status().message(), "\n");
    }
    request.params = std::move(*params);
  }
  if (request.path != "/apis" && request.path.rfind("/apis/", 0) != 0) {
    return absl::StrCat(out, "error:    not a metrics API path (they start with /apis/)\n");
  }
  Explanation explanation;
  http::Response response = api.Explain(request, &explanation);
  absl::StrAppend(&out, "rule:     ", explanation.rule.empty() ? "-" : explanation.rule, "\n");
  for (const std::string& query : explanation.queries)
    absl::StrAppend(&out, "query:    ", query, "\n");
  if (explanation.samples.empty() && !explanation.queries.empty()) {
    absl::StrAppend(&out, "samples:  (none)\n");
  }
  for (const std::string& s : explanation.samples) absl::StrAppend(&out, "samples:  ", s, "\n");
  for (const std::string& n : explanation.notes) absl::StrAppend(&out, "note:     ", n, "\n");
  absl::StrAppend(&out, "status:   ", response.status, "\n", "answer:   ", response.body);
  if (!out.empty() && out.back() != '\n') out += "\n";
  return out;
}

http::Response ExplainHandler(const MetricsApi& api, const http::Request& request) {
  if (auto denied = http::CheckMethod(request, {"GET", "HEAD"})) return *denied;
  if (!request.Has("path")) {
    return http::Response::Text(
        "missing parameter path (e.g. ?path=/apis/custom.metrics.k8s.io/"
        "v1beta1/namespaces/default/pods/*/http_requests)\n",
        400);
  }
  return http::Response::Text(ExplainPath(api, request.Get("path")));
}

}  // namespace apiserver
