#include "adapter/auth/status.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace auth {
namespace {

absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// The length of the valid UTF-8 sequence at s[i] (2 to 4), or 0.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

// Go's encoding/json string encoding (with its default HTML escaping).
void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          *out += "\\\"";
          break;
        case '\\':
          *out += "\\\\";
          break;
        case '\n':
          *out += "\\n";
          break;
        case '\r':
          *out += "\\r";
          break;
        case '\t':
          *out += "\\t";
          break;
        case '<':
        case '>':
        case '&':
          absl::StrAppendFormat(out, "\\u%04x", c);
          break;
        default:
          if (c < 0x20) {
            absl::StrAppendFormat(out, "\\u%04x", c);
          } else {
            out->push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      *out += "\\ufffd";
      ++i;
      continue;
    }
    std::string_view seq = s.substr(i, n);
    if (seq == "\xE2\x80\xA8") {
      *out += "\\u2028";
    } else if (seq == "\xE2\x80\xA9") {
      *out += "\\u2029";
    } else {
      out->append(seq);
    }
    i += n;
  }
  out->push_back('"');
}

struct Details {
  std::string_view name, group, kind;
};

std::string StatusBody(int code, std::string_view reason, std::string_view message,
                       const Details* details) {
  std::string body =
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":)";
  AppendJsonString(message, &body);
  if (!reason.empty()) {
    body += R"(,"reason":)";
    AppendJsonString(reason, &body);
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
      AppendJsonString(key, &body);
      body += ':';
      AppendJsonString(value, &body);
    }
    body += '}';
  }
  absl::StrAppend(&body, R"(,"code":)", code, "}\n");
  return body;
}

// Kubernetes' responsewriters sanitizer: nothing in a message that looks like HTML.
std::string Sanitize(std::string_view s) {
  return absl::StrReplaceAll(AV(s), {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}});
}

}  // namespace

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\a':
          out += "\\a";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\v':
          out += "\\v";
          break;
        default:
          if (c < 0x20 || c == 0x7F) {
            absl::StrAppendFormat(&out, "\\x%02x", c);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      absl::StrAppendFormat(&out, "\\x%02x", c);
      ++i;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  out += "\"";
  return out;
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

http::Response StatusResponse(int code, std::string_view reason, std::string_view message) {
  return http::Response::Json(StatusBody(code, reason, message, nullptr), code);
}

http::Response UnauthorizedResponse() {
  return StatusResponse(401, "Unauthorized", "Unauthorized");
}

std::string ForbiddenMessage(const Attributes& a, std::string_view reason) {
  std::string what;
  if (!a.resource_request) {
    what = absl::StrCat("User ", GoQuote(a.user.username), " cannot ", a.verb, " path ",
                        GoQuote(a.path));
  } else {
    std::string resource = a.resource;
    if (!a.subresource.empty()) absl::StrAppend(&resource, "/", a.subresource);
    what = absl::StrCat("User ", GoQuote(a.user.username), " cannot ", a.verb, " resource ",
                        GoQuote(resource), " in API group ", GoQuote(a.api_group));
    if (!a.namespace_name.empty()) {
      absl::StrAppend(&what, " in the namespace ", GoQuote(a.namespace_name));
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
  return absl::StrCat(group_resource, " ", GoQuote(a.name), " is forbidden: ", err);
}

http::Response ForbiddenResponse(const Attributes& a, std::string_view reason) {
  Details details{a.name, a.api_group, a.resource};
  http::Response r = http::Response::Json(
      StatusBody(403, "Forbidden", ForbiddenMessage(a, reason), &details), 403);
  r.AddHeader("X-Content-Type-Options", "nosniff");
  return r;
}

http::Response AuthorizationErrorResponse(const http::Request& request, std::string_view error) {
  http::Response r = http::Response::Text(
      Sanitize(absl::StrCat("Internal Server Error: ", GoQuote(request.target), ": ", AV(error))) +
          "\n",
      500);
  r.AddHeader("X-Content-Type-Options", "nosniff");
  return r;
}

}  // namespace auth
