#include "adapter/auth/authenticator.h"

#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapter/auth/x509.h"
#include "adapter/http/url.h"

namespace auth {
namespace {

namespace json = boost::json;
using Status = AuthenticationResult::Status;

absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string Lower(std::string_view s) { return absl::AsciiStrToLower(AV(s)); }

// The first non-empty value among the first header of each name, as Go's Header.Get in order.
std::string FirstHeaderValue(const http::Request& request, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    std::string value = request.Header(name);
    if (!value.empty()) return value;
  }
  return "";
}

std::vector<std::string> AllHeaderValues(const http::Request& request,
                                         const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const std::string& name : names) {
    for (const auto& [field, value] : request.headers) {
      if (absl::EqualsIgnoreCase(field, name) && !value.empty()) out.push_back(value);
    }
  }
  return out;
}

std::map<std::string, std::vector<std::string>> ExtraFromHeaders(
    const http::Request& request, const std::vector<std::string>& prefixes) {
  std::map<std::string, std::vector<std::string>> out;
  for (const std::string& prefix : prefixes) {
    for (const auto& [field, value] : request.headers) {
      if (field.size() < prefix.size() || !absl::StartsWithIgnoreCase(field, prefix)) continue;
      std::string key = Lower(std::string_view(field).substr(prefix.size()));
      absl::StatusOr<std::string> decoded = http::PercentDecode(key, false);
      if (decoded.ok()) key = std::move(*decoded);
      out[key].push_back(value);
    }
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), len));
}

// The bearer token of an Authorization header, as k8s' bearertoken authenticator reads it:
// "" when there is none (no header, another scheme, an empty token).
std::string BearerToken(const http::Request& request) {
  std::string auth(absl::StripAsciiWhitespace(request.Header("Authorization")));
  if (auth.empty()) return "";
  size_t space = auth.find(' ');
  if (space == std::string::npos || !absl::EqualsIgnoreCase(auth.substr(0, space), "bearer")) {
    return "";
  }
  std::string_view rest = std::string_view(auth).substr(space + 1);
  return std::string(rest.substr(0, rest.find(' ')));
}

std::string TokenReviewBody(const std::string& token) {
  json::object body;
  body["kind"] = "TokenReview";
  body["apiVersion"] = "authentication.k8s.io/v1";
  body["metadata"] = json::object();
  body["spec"] = json::object{{"token", token}};
  return json::serialize(body);
}

// A JSON array of strings (absent or null = empty); false when it is something else.
bool StringList(const json::object& obj, std::string_view key, std::vector<std::string>* out) {
  const json::value* v = obj.if_contains(json::string_view(key.data(), key.size()));
  if (v == nullptr || v->is_null()) return true;
  if (!v->is_array()) return false;
  for (const json::value& item : v->get_array()) {
    if (!item.is_string()) return false;
    out->emplace_back(item.get_string());
  }
  return true;
}

std::string StringField(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(json::string_view(key.data(), key.size()));
  if (v == nullptr || !v->is_string()) return "";
  return std::string(v->get_string());
}

// The user of a TokenReview answer. Errors: Unauthenticated "invalid bearer token" when the
// token is refused without an error; anything else for a status.error or a malformed answer
// (which Kubernetes does not cache).
absl::StatusOr<UserInfo> ParseTokenReview(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("TokenReview: invalid JSON response: ", ec.message()));
  }
  if (!v.is_object()) return absl::InternalError("TokenReview: response is not a JSON object");
  const json::value* status = v.get_object().if_contains("status");
  if (status == nullptr || status->is_null()) {
    return absl::UnauthenticatedError("invalid bearer token");
  }
  if (!status->is_object()) return absl::InternalError("TokenReview: status is not an object");
  const json::object& s = status->get_object();
  const json::value* authenticated = s.if_contains("authenticated");
  if (authenticated != nullptr && !authenticated->is_bool() && !authenticated->is_null()) {
    return absl::InternalError("TokenReview: status.authenticated is not a boolean");
  }
  if (authenticated == nullptr || !authenticated->is_bool() || !authenticated->get_bool()) {
    std::string error = StringField(s, "error");
    if (!error.empty()) return absl::InternalError(absl::StrCat("TokenReview: ", error));
    return absl::UnauthenticatedError("invalid bearer token");
  }
  UserInfo out;
  const json::value* user = s.if_contains("user");
  if (user == nullptr || user->is_null()) return out;
  const absl::Status malformed = absl::InternalError("TokenReview: malformed status.user");
  if (!user->is_object()) return malformed;
  const json::object& u = user->get_object();
  out.username = StringField(u, "username");
  out.uid = StringField(u, "uid");
  if (!StringList(u, "groups", &out.groups)) return malformed;
  const json::value* extra = u.if_contains("extra");
  if (extra == nullptr || extra->is_null()) return out;
  if (!extra->is_object()) return malformed;
  for (const json::key_value_pair& kv : extra->get_object()) {
    std::string_view k(kv.key().data(), kv.key().size());
    if (!StringList(extra->get_object(), k, &out.extra[std::string(k)])) return malformed;
  }
  return out;
}

}  // namespace

struct Authenticator::State {
  std::shared_ptr<const CertPool> client_ca;          // null = x509 off
  std::shared_ptr<const CertPool> request_header_ca;  // null = request-header off
  RequestHeaderConfig request_header;
};

struct Authenticator::TokenCache {
  struct Entry {
    std::chrono::steady_clock::time_point expires;
    TokenOutcome outcome;
  };
  std::mutex mu;
  std::map<std::string, Entry> entries;  // by SHA-256 of the token
};

Authenticator::Authenticator(AuthenticatorOptions options)
    : options_(std::move(options)),
      state_(std::make_shared<State>()),
      token_cache_(std::make_unique<TokenCache>()) {}

Authenticator::~Authenticator() = default;

std::shared_ptr<const Authenticator::State> Authenticator::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

absl::Status Authenticator::SetClientCA(std::string_view pem) {
  std::shared_ptr<const CertPool> pool;
  if (!pem.empty()) {
    absl::StatusOr<std::shared_ptr<const CertPool>> parsed = CertPool::FromPem(pem);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("client CA: ", parsed.status().message()));
    }
    pool = std::move(*parsed);
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto next = std::make_shared<State>(*state_);
  next->client_ca = std::move(pool);
  state_ = std::move(next);
  return absl::OkStatus();
}

absl::Status Authenticator::SetRequestHeaderConfig(const RequestHeaderConfig& config) {
  std::shared_ptr<const CertPool> pool;
  if (!config.client_ca.empty()) {
    absl::StatusOr<std::shared_ptr<const CertPool>> parsed = CertPool::FromPem(config.client_ca);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("request-header client CA: ", parsed.status().message()));
    }
    pool = std::move(*parsed);
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto next = std::make_shared<State>(*state_);
  next->request_header_ca = std::move(pool);
  next->request_header = config;
  state_ = std::move(next);
  return absl::OkStatus();
}

absl::Status Authenticator::SetConfig(const AuthenticationConfig& config) {
  auto next = std::make_shared<State>();
  if (!config.client_ca.empty()) {
    absl::StatusOr<std::shared_ptr<const CertPool>> parsed = CertPool::FromPem(config.client_ca);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("client CA: ", parsed.status().message()));
    }
    next->client_ca = std::move(*parsed);
  }
  if (!config.request_header.client_ca.empty()) {
    absl::StatusOr<std::shared_ptr<const CertPool>> parsed =
        CertPool::FromPem(config.request_header.client_ca);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("request-header client CA: ", parsed.status().message()));
    }
    next->request_header_ca = std::move(*parsed);
  }
  next->request_header = config.request_header;
  std::lock_guard<std::mutex> lock(mu_);
  state_ = std::move(next);
  return absl::OkStatus();
}

Authenticator::TokenOutcome Authenticator::ReviewToken(const std::string& token) const {
  const std::string key = Sha256Hex(token);
  const auto now = options_.clock ? options_.clock() : std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(token_cache_->mu);
    auto it = token_cache_->entries.find(key);
    if (it != token_cache_->entries.end()) {
      if (now < it->second.expires) return it->second.outcome;
      token_cache_->entries.erase(it);
    }
  }

  TokenOutcome out;
  bool cache = false;
  absl::StatusOr<std::string> response =
      options_.token_review(kTokenReviewPath, TokenReviewBody(token));
  if (!response.ok()) {
    out.error = absl::StrCat("TokenReview: ", response.status().message());
  } else {
    absl::StatusOr<UserInfo> user = ParseTokenReview(*response);
    if (user.ok()) {
      out.authenticated = true;
      out.user = std::move(*user);
      cache = true;
    } else {
      out.error = std::string(user.status().message());
      // A plain refusal is cached; errors are not.
      cache = user.status().code() == absl::StatusCode::kUnauthenticated;
    }
  }
  if (cache && options_.token_cache_ttl.count() > 0) {
    std::lock_guard<std::mutex> lock(token_cache_->mu);
    auto& entries = token_cache_->entries;
    if (entries.size() >= std::max<size_t>(1, options_.token_cache_size)) {
      std::erase_if(entries, [&](const auto& e) { return !(now < e.second.expires); });
      if (entries.size() >= std::max<size_t>(1, options_.token_cache_size)) entries.clear();
    }
    entries[key] = TokenCache::Entry{now + options_.token_cache_ttl, out};
  }
  return out;
}

AuthenticationResult Authenticator::Authenticate(const http::Request& request) const {
  std::shared_ptr<const State> st = state();
  std::vector<std::string> errors;
  AuthenticationResult result;
  bool found = false;

  // 1. The front proxy.
  if (!request.peer_certificates.empty() && st->request_header_ca != nullptr) {
    const RequestHeaderConfig& rh = st->request_header;
    absl::StatusOr<CertSubject> subject =
        st->request_header_ca->VerifyClientChain(request.peer_certificates);
    if (!subject.ok()) {
      errors.push_back(absl::StrCat("requestheader: ", subject.status().message()));
    } else if (!rh.allowed_names.empty() &&
               std::find(rh.allowed_names.begin(), rh.allowed_names.end(), subject->common_name) ==
                   rh.allowed_names.end()) {
      errors.push_back(absl::StrCat("requestheader: x509: subject with cn=", subject->common_name,
                                    " is not in the allowed list"));
    } else if (std::string name = FirstHeaderValue(request, rh.username_headers); !name.empty()) {
      found = true;
      result.method = "requestheader";
      result.user.username = std::move(name);
      result.user.uid = FirstHeaderValue(request, rh.uid_headers);
      result.user.groups = AllHeaderValues(request, rh.group_headers);
      result.user.extra = ExtraFromHeaders(request, rh.extra_header_prefixes);
    }
  }

  // 2. A user's client certificate.
  if (!found && !request.peer_certificates.empty() && st->client_ca != nullptr) {
    absl::StatusOr<CertSubject> subject =
        st->client_ca->VerifyClientChain(request.peer_certificates);
    if (!subject.ok()) {
      errors.push_back(absl::StrCat("x509: ", subject.status().message()));
    } else if (!subject->common_name.empty()) {
      found = true;
      result.method = "x509";
      result.user.username = std::move(subject->common_name);
      result.user.groups = std::move(subject->organizations);
    }
  }

  // 3. A bearer token.
  if (!found && options_.token_review) {
    if (std::string token = BearerToken(request); !token.empty()) {
      TokenOutcome outcome = ReviewToken(token);
      if (outcome.authenticated) {
        found = true;
        result.method = "token";
        result.user = std::move(outcome.user);
      } else {
        errors.push_back(std::move(outcome.error));
      }
    }
  }

  if (found) {
    result.status = Status::kAuthenticated;
    std::vector<std::string>& groups = result.user.groups;
    if (result.user.username != kAnonymousUser &&
        std::find(groups.begin(), groups.end(), kAllAuthenticatedGroup) == groups.end() &&
        std::find(groups.begin(), groups.end(), kAllUnauthenticatedGroup) == groups.end()) {
      groups.push_back(kAllAuthenticatedGroup);
    }
    return result;
  }
  if (!errors.empty()) {
    result.status = Status::kUnauthenticated;
    result.reason = absl::StrJoin(errors, "; ");
    return result;
  }
  if (!options_.allow_anonymous) {
    result.status = Status::kUnauthenticated;
    result.reason = "no credentials";
    return result;
  }
  result.status = Status::kAnonymous;
  result.method = "anonymous";
  result.user.username = kAnonymousUser;
  result.user.groups = {kAllUnauthenticatedGroup};
  return result;
}

}  // namespace auth
