#include "adapter/auth/attributes.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace auth {
namespace {

// "/a/b/c/" -> {"a", "b", "c"}; "/" -> {}.
std::vector<std::string> SplitPath(const std::string& path) {
  absl::string_view p = path;
  absl::ConsumePrefix(&p, "/");
  absl::ConsumeSuffix(&p, "/");
  if (p.empty()) return {};
  return absl::StrSplit(p, '/');
}

// The name a field selector pins with metadata.name=<n> or metadata.name==<n>, unescaping
// "\," "\=" "\\" as Kubernetes' field selector syntax does; "" when there is none.
std::string NameFromFieldSelector(std::string_view selector) {
  // Split on unescaped commas, then each term on its first unescaped "=" / "==" / "!=".
  std::vector<std::string> terms(1);
  for (size_t i = 0; i < selector.size(); ++i) {
    char c = selector[i];
    if (c == '\\' && i + 1 < selector.size()) {
      terms.back() += c;
      terms.back() += selector[++i];
    } else if (c == ',') {
      terms.emplace_back();
    } else {
      terms.back() += c;
    }
  }
  for (const std::string& term : terms) {
    std::string field, value;
    bool equals = false;
    size_t i = 0;
    for (; i < term.size(); ++i) {
      if (term[i] == '\\' && i + 1 < term.size()) {
        ++i;
        continue;
      }
      if (term[i] == '!' && i + 1 < term.size() && term[i + 1] == '=') break;
      if (term[i] == '=') {
        equals = true;
        break;
      }
    }
    if (!equals) continue;
    field = std::string(absl::StripAsciiWhitespace(term.substr(0, i)));
    size_t v = i + 1;
    if (v < term.size() && term[v] == '=') ++v;
    std::string raw = term.substr(v);
    for (size_t j = 0; j < raw.size(); ++j) {
      if (raw[j] == '\\' && j + 1 < raw.size()) ++j;
      value += raw[j];
    }
    if (field == "metadata.name") return value;
  }
  return "";
}

// path.IsValidPathSegmentName: the name can be a path segment.
bool IsValidPathSegmentName(const std::string& name) {
  if (name == "." || name == "..") return false;
  return name.find_first_of("/%") == std::string::npos;
}

}  // namespace

Attributes AttributesFromRequest(const http::Request& request, UserInfo user) {
  Attributes out;
  out.user = std::move(user);
  out.path = request.path;
  out.verb = absl::AsciiStrToLower(request.method);

  std::vector<std::string> parts = SplitPath(request.path);
  if (parts.size() < 3 || (parts[0] != "api" && parts[0] != "apis")) return out;
  const bool grouped = parts[0] == "apis";
  size_t i = 1;
  if (grouped) {
    if (parts.size() < 4) return out;
    out.api_group = parts[i++];
  }
  out.resource_request = true;
  out.api_version = parts[i++];

  if (parts[i] == "watch" || parts[i] == "proxy") {
    if (parts.size() - i < 2) {
      // Kubernetes refuses such a path before authorization; here it stays a request of the
      // verb on nothing, which no rule allows.
      out.verb = parts[i];
      return out;
    }
    out.verb = parts[i++];
  } else {
    const std::string& m = request.method;
    if (m == "POST") {
      out.verb = "create";
    } else if (m == "GET" || m == "HEAD") {
      out.verb = "get";
    } else if (m == "PUT") {
      out.verb = "update";
    } else if (m == "PATCH") {
      out.verb = "patch";
    } else if (m == "DELETE") {
      out.verb = "delete";
    } else {
      out.verb = "";
    }
  }

  std::vector<std::string> rest(parts.begin() + static_cast<std::ptrdiff_t>(i), parts.end());
  if (rest[0] == "namespaces") {
    if (rest.size() > 1) {
      out.namespace_name = rest[1];
      if (rest.size() > 2 && rest[2] != "status" && rest[2] != "finalize") {
        rest.erase(rest.begin(), rest.begin() + 2);
      }
    }
  }
  if (rest.size() >= 3 && out.verb != "proxy") out.subresource = rest[2];
  if (rest.size() >= 2) out.name = rest[1];
  if (!rest.empty()) out.resource = rest[0];

  if (out.name.empty() && out.verb == "get") {
    bool watch = false;
    if (request.Has("watch")) {
      std::string w = request.Get("watch");
      watch = !(w == "0" || absl::EqualsIgnoreCase(w, "false"));
    }
    out.verb = watch ? "watch" : "list";
    if (request.Has("fieldSelector")) {
      std::string name = NameFromFieldSelector(request.Get("fieldSelector"));
      if (!name.empty() && IsValidPathSegmentName(name)) out.name = std::move(name);
    }
  }
  if (out.name.empty() && out.verb == "delete") out.verb = "deletecollection";
  return out;
}

}  // namespace auth
