#include "adapter/kubeclient/discovery.h"

#include <boost/json.hpp>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace kubeclient {
namespace {

namespace json = boost::json;

absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(json::string_view(key.data(), key.size()));
  if (v == nullptr || !v->is_string()) return "";
  return std::string(v->get_string());
}

absl::StatusOr<json::object> ParseRoot(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  json::value doc = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec)
    return absl::InvalidArgumentError(absl::StrCat(AV(what), ": invalid JSON: ", ec.message()));
  if (!doc.is_object())
    return absl::InvalidArgumentError(absl::StrCat(AV(what), ": not an object"));
  return std::move(doc.get_object());
}

}  // namespace

absl::StatusOr<std::vector<k8s::ResourceInfo>> ParseApiResourceList(std::string_view text) {
  absl::StatusOr<json::object> root = ParseRoot(text, "APIResourceList");
  if (!root.ok()) return root.status();
  const std::string group_version = Str(*root, "groupVersion");
  if (group_version.empty()) {
    return absl::InvalidArgumentError("APIResourceList: groupVersion missing");
  }
  std::string group, version = group_version;
  if (size_t slash = group_version.find('/'); slash != std::string::npos) {
    group = group_version.substr(0, slash);
    version = group_version.substr(slash + 1);
  }
  std::vector<k8s::ResourceInfo> out;
  const json::value* resources = root->if_contains("resources");
  if (resources == nullptr || resources->is_null()) return out;
  if (!resources->is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat("APIResourceList ", group_version, ": resources is not a list"));
  }
  size_t i = 0;
  for (const json::value& r : resources->get_array()) {
    if (!r.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("APIResourceList ", group_version, ": resources[", i, "] is not an object"));
    }
    ++i;
    const json::object& o = r.get_object();
    k8s::ResourceInfo info;
    info.group_resource.group = group;
    info.group_resource.resource = Str(o, "name");
    if (info.group_resource.resource.empty() ||
        info.group_resource.resource.find('/') != std::string::npos) {
      continue;  // a subresource ("pods/log") or nameless
    }
    info.kind = Str(o, "kind");
    info.singular = Str(o, "singularName");
    if (info.singular.empty()) info.singular = absl::AsciiStrToLower(info.kind);
    info.version = version;
    const json::value* ns = o.if_contains("namespaced");
    info.namespaced = ns != nullptr && ns->is_bool() && ns->get_bool();
    out.push_back(std::move(info));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ParseApiGroupList(std::string_view text) {
  absl::StatusOr<json::object> root = ParseRoot(text, "APIGroupList");
  if (!root.ok()) return root.status();
  std::vector<std::string> out;
  const json::value* groups = root->if_contains("groups");
  if (groups == nullptr || groups->is_null()) return out;
  if (!groups->is_array()) return absl::InvalidArgumentError("APIGroupList: groups is not a list");
  for (const json::value& g : groups->get_array()) {
    if (!g.is_object()) continue;
    const json::object& o = g.get_object();
    std::string gv;
    if (const json::value* p = o.if_contains("preferredVersion"); p != nullptr && p->is_object()) {
      gv = Str(p->get_object(), "groupVersion");
    }
    if (gv.empty()) {
      // No preferred version: the first listed one.
      if (const json::value* vs = o.if_contains("versions"); vs != nullptr && vs->is_array() &&
                                                             !vs->get_array().empty() &&
                                                             vs->get_array()[0].is_object()) {
        gv = Str(vs->get_array()[0].get_object(), "groupVersion");
      }
    }
    if (!gv.empty()) out.push_back(std::move(gv));
  }
  return out;
}

absl::StatusOr<std::vector<k8s::ResourceInfo>> DiscoverResources(
    RestClient* client, std::vector<std::string>* warnings) {
  absl::StatusOr<std::string> core = client->Get("/api/v1");
  if (!core.ok()) return core.status();
  absl::StatusOr<std::vector<k8s::ResourceInfo>> out = ParseApiResourceList(*core);
  if (!out.ok()) return out.status();
  absl::StatusOr<std::string> apis = client->Get("/apis");
  if (!apis.ok()) return apis.status();
  absl::StatusOr<std::vector<std::string>> groups = ParseApiGroupList(*apis);
  if (!groups.ok()) return groups.status();
  for (const std::string& gv : *groups) {
    absl::StatusOr<std::string> body = client->Get(absl::StrCat("/apis/", gv));
    absl::StatusOr<std::vector<k8s::ResourceInfo>> list =
        body.ok() ? ParseApiResourceList(*body) : body.status();
    if (!list.ok()) {
      if (warnings != nullptr) {
        warnings->push_back(absl::StrCat("discovery of ", gv, ": ", list.status().message()));
      }
      continue;
    }
    for (k8s::ResourceInfo& info : *list) out->push_back(std::move(info));
  }
  return out;
}

DiscoveryResourceMapper::DiscoveryResourceMapper(Discover discover,
                                                 std::unique_ptr<k8s::ResourceMapper> fallback)
    : discover_(std::move(discover)),
      fallback_(fallback ? std::move(fallback) : k8s::NewBuiltinResourceMapper()),
      discovered_(std::make_shared<const std::vector<k8s::ResourceInfo>>()) {}

DiscoveryResourceMapper::DiscoveryResourceMapper(RestClient* client,
                                                 std::unique_ptr<k8s::ResourceMapper> fallback)
    : DiscoveryResourceMapper([client] { return DiscoverResources(client); }, std::move(fallback)) {
}

DiscoveryResourceMapper::~DiscoveryResourceMapper() { Stop(); }

absl::Status DiscoveryResourceMapper::Refresh() {
  absl::StatusOr<std::vector<k8s::ResourceInfo>> resources = discover_();
  if (!resources.ok()) return resources.status();
  auto next = std::make_shared<const std::vector<k8s::ResourceInfo>>(std::move(*resources));
  std::lock_guard<std::mutex> lock(mu_);
  discovered_ = std::move(next);
  return absl::OkStatus();
}

void DiscoveryResourceMapper::StartRefreshing(std::chrono::milliseconds interval) {
  std::lock_guard<std::mutex> lock(mu_);
  if (refresher_.joinable() || stop_) return;
  refresher_ = std::thread([this, interval] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      (void)Refresh();
      lock.lock();
      cv_.wait_for(lock, interval, [this] { return stop_; });
    }
  });
}

void DiscoveryResourceMapper::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
}

std::shared_ptr<const std::vector<k8s::ResourceInfo>> DiscoveryResourceMapper::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return discovered_;
}

std::optional<k8s::ResourceInfo> DiscoveryResourceMapper::Find(std::string_view resource,
                                                               std::string_view group) const {
  std::shared_ptr<const std::vector<k8s::ResourceInfo>> discovered = Snapshot();
  if (std::optional<k8s::ResourceInfo> found = k8s::FindResource(*discovered, resource, group)) {
    return found;
  }
  return fallback_->Find(resource, group);
}

std::vector<k8s::ResourceInfo> DiscoveryResourceMapper::All() const {
  std::shared_ptr<const std::vector<k8s::ResourceInfo>> discovered = Snapshot();
  std::vector<k8s::ResourceInfo> out = *discovered;
  std::set<k8s::GroupResource> seen;
  for (const k8s::ResourceInfo& info : out) seen.insert(info.group_resource);
  for (k8s::ResourceInfo& info : fallback_->All()) {
    if (seen.insert(info.group_resource).second) out.push_back(std::move(info));
  }
  return out;
}

}  // namespace kubeclient
