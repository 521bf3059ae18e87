#include "adapter/auth/authorizer.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <boost/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace auth {
namespace {

namespace json = boost::json;

// Kubernetes' maxControlledAttrCacheSize.
constexpr size_t kMaxCachedAttributeBytes = 10000;

void SetIfNotEmpty(json::object& obj, std::string_view key, const std::string& value) {
  if (!value.empty()) obj[json::string_view(key.data(), key.size())] = value;
}

json::object Spec(const Attributes& a) {
  json::object spec;
  if (a.resource_request) {
    json::object ra;
    SetIfNotEmpty(ra, "namespace", a.namespace_name);
    SetIfNotEmpty(ra, "verb", a.verb);
    SetIfNotEmpty(ra, "group", a.api_group);
    SetIfNotEmpty(ra, "version", a.api_version);
    SetIfNotEmpty(ra, "resource", a.resource);
    SetIfNotEmpty(ra, "subresource", a.subresource);
    SetIfNotEmpty(ra, "name", a.name);
    spec["resourceAttributes"] = std::move(ra);
  } else {
    json::object nra;
    SetIfNotEmpty(nra, "path", a.path);
    SetIfNotEmpty(nra, "verb", a.verb);
    spec["nonResourceAttributes"] = std::move(nra);
  }
  SetIfNotEmpty(spec, "user", a.user.username);
  if (!a.user.groups.empty()) {
    json::array groups;
    for (const std::string& g : a.user.groups) groups.emplace_back(g);
    spec["groups"] = std::move(groups);
  }
  if (!a.user.extra.empty()) {
    json::object extra;  // std::map: sorted keys, as Go's encoding of a map
    for (const auto& [key, values] : a.user.extra) {
      json::array list;
      for (const std::string& v : values) list.emplace_back(v);
      extra[key] = std::move(list);
    }
    spec["extra"] = std::move(extra);
  }
  SetIfNotEmpty(spec, "uid", a.user.uid);
  return spec;
}

bool ShouldCache(const Attributes& a) {
  size_t n = a.namespace_name.size() + a.verb.size() + a.api_group.size() + a.api_version.size() +
             a.resource.size() + a.subresource.size() + a.name.size() + a.path.size();
  return n < kMaxCachedAttributeBytes;
}

struct ReviewStatus {
  bool allowed = false;
  bool denied = false;
  std::string reason;
};

absl::StatusOr<ReviewStatus> ParseReviewResponse(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("SubjectAccessReview: invalid JSON response: ", ec.message()));
  }
  if (!v.is_object()) {
    return absl::InvalidArgumentError("SubjectAccessReview: response is not a JSON object");
  }
  ReviewStatus out;
  const json::value* status = v.get_object().if_contains("status");
  if (status == nullptr || status->is_null()) return out;
  if (!status->is_object()) {
    return absl::InvalidArgumentError("SubjectAccessReview: status is not an object");
  }
  const json::object& s = status->get_object();
  auto flag = [&](const char* key, bool* field) -> bool {
    const json::value* f = s.if_contains(key);
    if (f == nullptr || f->is_null()) return true;
    if (!f->is_bool()) return false;
    *field = f->get_bool();
    return true;
  };
  if (!flag("allowed", &out.allowed) || !flag("denied", &out.denied)) {
    return absl::InvalidArgumentError(
        "SubjectAccessReview: status.allowed and status.denied must be booleans");
  }
  if (const json::value* r = s.if_contains("reason"); r != nullptr && r->is_string()) {
    out.reason = std::string(r->get_string());
  }
  return out;
}

}  // namespace

std::string SubjectAccessReviewBody(const Attributes& attributes) {
  json::object body;
  body["kind"] = "SubjectAccessReview";
  body["apiVersion"] = "authorization.k8s.io/v1";
  body["metadata"] = json::object();
  body["spec"] = Spec(attributes);
  return json::serialize(body);
}

struct Authorizer::Cache {
  struct Entry {
    std::chrono::steady_clock::time_point expires;
    ReviewStatus status;
  };
  std::mutex mu;
  std::map<std::string, Entry> entries;  // by the JSON of the review's spec
};

Authorizer::Authorizer(AuthorizerOptions options)
    : options_(std::move(options)), cache_(std::make_unique<Cache>()) {}

Authorizer::~Authorizer() = default;

absl::StatusOr<std::unique_ptr<Authorizer>> Authorizer::Create(AuthorizerOptions options) {
  std::unique_ptr<Authorizer> a(new Authorizer(std::move(options)));
  for (const std::string& path : a->options_.always_allow_paths) {
    absl::string_view p = path;
    absl::ConsumePrefix(&p, "/");
    if (p.empty()) {
      a->exact_paths_.emplace_back();
      continue;
    }
    if (p.substr(0, p.size() - 1).find('*') != absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("always-allowed path \"", path, "\": only a trailing * is allowed"));
    }
    if (absl::ConsumeSuffix(&p, "*")) {
      a->prefix_paths_.emplace_back(p);
    } else {
      a->exact_paths_.emplace_back(p);
    }
  }
  return a;
}

bool Authorizer::AlwaysAllowedPath(std::string_view path) const {
  absl::string_view p(path.data(), path.size());
  absl::ConsumePrefix(&p, "/");
  if (std::find(exact_paths_.begin(), exact_paths_.end(), p) != exact_paths_.end()) return true;
  for (const std::string& prefix : prefix_paths_) {
    if (absl::StartsWith(p, prefix)) return true;
  }
  return false;
}

AuthorizationResult Authorizer::Authorize(const Attributes& attributes) const {
  using Decision = AuthorizationResult::Decision;
  AuthorizationResult result;
  for (const std::string& group : options_.always_allow_groups) {
    const std::vector<std::string>& groups = attributes.user.groups;
    if (std::find(groups.begin(), groups.end(), group) != groups.end()) {
      result.decision = Decision::kAllow;
      return result;
    }
  }
  if (!attributes.resource_request && AlwaysAllowedPath(attributes.path)) {
    result.decision = Decision::kAllow;
    return result;
  }
  if (!options_.subject_access_review) {
    result.decision = Decision::kForbid;
    return result;
  }

  const std::string key = json::serialize(Spec(attributes));
  const auto now = options_.clock ? options_.clock() : std::chrono::steady_clock::now();
  std::optional<ReviewStatus> status;
  {
    std::lock_guard<std::mutex> lock(cache_->mu);
    auto it = cache_->entries.find(key);
    if (it != cache_->entries.end()) {
      if (now < it->second.expires) {
        status = it->second.status;
      } else {
        cache_->entries.erase(it);
      }
    }
  }
  if (!status) {
    absl::StatusOr<std::string> response = options_.subject_access_review(
        kSubjectAccessReviewPath, SubjectAccessReviewBody(attributes));
    absl::StatusOr<ReviewStatus> parsed = response.ok()
                                              ? ParseReviewResponse(*response)
                                              : absl::StatusOr<ReviewStatus>(response.status());
    if (!parsed.ok()) {
      result.decision = Decision::kError;
      result.error = std::string(parsed.status().message());
      return result;
    }
    status = std::move(*parsed);
    std::chrono::milliseconds ttl = status->allowed ? options_.allowed_ttl : options_.denied_ttl;
    if (ttl.count() > 0 && ShouldCache(attributes)) {
      std::lock_guard<std::mutex> lock(cache_->mu);
      auto& entries = cache_->entries;
      const size_t limit = std::max<size_t>(1, options_.cache_size);
      if (entries.size() >= limit) {
        std::erase_if(entries, [&](const auto& e) { return !(now < e.second.expires); });
        if (entries.size() >= limit) entries.clear();
      }
      entries[key] = Cache::Entry{now + ttl, *status};
    }
  }
  result.reason = status->reason;
  if (status->allowed && status->denied) {
    result.decision = Decision::kError;
    result.error = "webhook subject access review returned both allow and deny response";
  } else if (status->allowed) {
    result.decision = Decision::kAllow;
  } else {
    result.decision = Decision::kForbid;
  }
  return result;
}

}  // namespace auth
