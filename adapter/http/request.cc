// The plain-data parts of the HTTP core: Request accessors, Response helpers, Router.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "adapter/http/server.h"

namespace http {
namespace {

// This Abseil's string_view is its own type, not std::string_view.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

std::string Request::Get(std::string_view name) const {
  for (const auto& [n, v] : params) {
    if (n == name) return v;
  }
  return "";
}

std::vector<std::string> Request::GetAll(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : params) {
    if (n == name) out.push_back(v);
  }
  return out;
}

bool Request::Has(std::string_view name) const {
  for (const auto& [n, v] : params) {
    if (n == name) return true;
  }
  return false;
}

std::string Request::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (absl::EqualsIgnoreCase(n, AV(name))) return v;
  }
  return "";
}

bool Request::HasHeader(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (absl::EqualsIgnoreCase(n, AV(name))) return true;
  }
  return false;
}

Response Response::Text(std::string body, int status) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Response Response::Json(std::string body, int status) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

void Router::Handle(std::string path, Handler handler) {
  exact_[std::move(path)] = std::move(handler);
}

void Router::HandlePrefix(std::string prefix, Handler handler) {
  prefix_[std::move(prefix)] = std::move(handler);
}

Response Router::operator()(const Request& request) const {
  if (auto it = exact_.find(request.path); it != exact_.end()) return it->second(request);
  // The longest registered prefix of the path wins.
  const Handler* best = nullptr;
  size_t best_len = 0;
  for (const auto& [prefix, handler] : prefix_) {
    if (prefix.size() >= best_len && absl::StartsWith(request.path, prefix)) {
      best = &handler;
      best_len = prefix.size();
    }
  }
  if (best != nullptr) return (*best)(request);
  return Response::Text("404 page not found\n", 404);
}

std::optional<Response> CheckMethod(const Request& request,
                                    std::initializer_list<std::string_view> allowed) {
  for (std::string_view m : allowed) {
    if (request.method == m) return std::nullopt;
  }
  Response r = Response::Text(
      absl::StrCat("method ", request.method, " not allowed on ", request.path, "\n"), 405);
  std::string allow;
  for (std::string_view m : allowed) {
    if (!allow.empty()) allow += ", ";
    allow += m;
  }
  r.AddHeader("Allow", std::move(allow));
  return r;
}

absl::StatusOr<TlsVersion> ParseTlsVersion(std::string_view text) {
  if (text == "1.2" || text == "VersionTLS12") return TlsVersion::kTls12;
  if (text == "1.3" || text == "VersionTLS13") return TlsVersion::kTls13;
  return absl::InvalidArgumentError(absl::StrCat("unsupported TLS version \"", AV(text),
                                                 "\" (use VersionTLS12 or VersionTLS13)"));
}

}  // namespace http
