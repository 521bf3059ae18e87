#include "adapter/discovery/kubernetes_provider.h"

#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "adapter/discovery/objects.h"
#include "adapter/discovery/targets.h"
#include "adapter/k8s/selector.h"

namespace discovery {
namespace {

using scrape::KubernetesRole;

struct Filter {
  bool active = false;
  k8s::LabelSelector label;
  std::vector<scrape::FieldRequirement> fields;
};

// The dependency key of an object of a role ("pod/ns/name", "node/name", ...).
std::string DepKey(KubernetesRole role, const std::string& key) {
  return absl::StrCat(std::string(scrape::KubernetesRoleName(role)), "/", key);
}

std::string NsName(std::string_view ns, std::string_view name) {
  return absl::StrCat(absl::string_view(ns.data(), ns.size()), "/",
                      absl::string_view(name.data(), name.size()));
}

bool FieldSupported(KubernetesRole role, const std::string& field) {
  if (field == "metadata.name" || field == "metadata.namespace") return true;
  return role == KubernetesRole::kPod && (field == "spec.nodeName" || field == "status.phase");
}

class Discovery : public std::enable_shared_from_this<Discovery> {
 public:
  Discovery(scrape::KubernetesSDConfig config, std::set<std::string> namespaces,
            std::map<KubernetesRole, Filter> filters, scrape::TargetProvider::UpdateFn on_update,
            std::function<void(std::string_view)> log)
      : config_(std::move(config)),
        namespaces_(std::move(namespaces)),
        filters_(std::move(filters)),
        on_update_(std::move(on_update)),
        log_(std::move(log)) {}

  // A change of an object of `role` (one of the stores this discovery watches).
  void Handle(KubernetesRole role, const kubeclient::ObjectPtr& old_object,
              const kubeclient::ObjectPtr& new_object) {
    const kubeclient::ObjectPtr& any = new_object != nullptr ? new_object : old_object;
    if (any == nullptr) return;
    const std::string key = any->Key();
    std::lock_guard lock(mu_);
    Store(role, key, new_object);
    bool changed = false;
    if (role == config_.role) changed |= Rebuild(key);
    auto it = dependents_.find(DepKey(role, key));
    if (it != dependents_.end()) {
      const std::set<std::string> keys = it->second;  // Rebuild edits dependents_
      for (const std::string& k : keys) changed |= Rebuild(k);
    }
    if (changed && !initializing_) Emit();
  }

  // Ends the initial replay: from now on every change is sent; sends the list once.
  void FinishInitialization() {
    std::lock_guard lock(mu_);
    initializing_ = false;
    Emit();
  }

 private:
  bool Accept(KubernetesRole role, const kubeclient::ObjectMeta& meta,
              const std::function<std::string(const std::string&)>& field_value) const {
    if (role != KubernetesRole::kNode && !namespaces_.empty() &&
        namespaces_.count(meta.namespace_) == 0) {
      return false;
    }
    auto it = filters_.find(role);
    if (it == filters_.end()) return true;
    const Filter& f = it->second;
    const bool labels_match =
        f.label.Matches([&](std::string_view k) -> std::optional<std::string_view> {
          auto l = meta.labels.find(std::string(k));
          if (l == meta.labels.end()) return std::nullopt;
          return std::string_view(l->second);
        });
    if (!labels_match) return false;
    for (const scrape::FieldRequirement& r : f.fields) {
      std::string value;
      if (r.field == "metadata.name") {
        value = meta.name;
      } else if (r.field == "metadata.namespace") {
        value = meta.namespace_;
      } else {
        value = field_value(r.field);
      }
      if ((value == r.value) != r.equal) return false;
    }
    return true;
  }

  template <typename T>
  void Put(KubernetesRole role, const std::string& key, absl::StatusOr<T> decoded,
           const std::function<std::string(const T&, const std::string&)>& field_value,
           std::map<std::string, T>* into) {
    into->erase(key);
    if (!decoded.ok()) {
      if (log_) log_(absl::StrCat("kubernetes_sd: ", std::string(decoded.status().message())));
      return;
    }
    const T& obj = *decoded;
    if (!Accept(role, obj.meta, [&](const std::string& f) { return field_value(obj, f); })) {
      return;
    }
    into->emplace(key, std::move(*decoded));
  }

  // Updates the decoded copy of one object (absent when deleted or filtered out).
  void Store(KubernetesRole role, const std::string& key, const kubeclient::ObjectPtr& object) {
    auto none = [](const auto&, const std::string&) { return std::string(); };
    switch (role) {
      case KubernetesRole::kPod:
        if (object == nullptr) {
          pods_.erase(key);
        } else {
          Put<Pod>(
              role, key, DecodePod(*object),
              [](const Pod& p, const std::string& f) {
                return f == "spec.nodeName" ? p.node_name : p.phase;
              },
              &pods_);
        }
        break;
      case KubernetesRole::kService:
        if (object == nullptr) {
          services_.erase(key);
        } else {
          Put<Service>(role, key, DecodeService(*object), none, &services_);
        }
        break;
      case KubernetesRole::kEndpoints:
        if (object == nullptr) {
          endpoints_.erase(key);
        } else {
          Put<Endpoints>(role, key, DecodeEndpoints(*object), none, &endpoints_);
        }
        break;
      case KubernetesRole::kEndpointSlice:
        if (object == nullptr) {
          slices_.erase(key);
        } else {
          Put<EndpointSlice>(role, key, DecodeEndpointSlice(*object), none, &slices_);
        }
        break;
      case KubernetesRole::kNode:
        if (object == nullptr) {
          nodes_.erase(key);
        } else {
          Put<Node>(role, key, DecodeNode(*object), none, &nodes_);
        }
        break;
    }
  }

  // Recomputes the group of the main object `key`; whether it changed.
  bool Rebuild(const std::string& key) {
    // Forget what the old group used.
    if (auto it = uses_.find(key); it != uses_.end()) {
      for (const std::string& dep : it->second) {
        auto d = dependents_.find(dep);
        if (d == dependents_.end()) continue;
        d->second.erase(key);
        if (d->second.empty()) dependents_.erase(d);
      }
      uses_.erase(it);
    }
    std::set<std::string> used;
    Lookups lookups;
    lookups.pod = [&](std::string_view ns, std::string_view name) -> const Pod* {
      const std::string k = NsName(ns, name);
      used.insert(DepKey(KubernetesRole::kPod, k));
      auto it = pods_.find(k);
      return it == pods_.end() ? nullptr : &it->second;
    };
    lookups.service = [&](std::string_view ns, std::string_view name) -> const Service* {
      const std::string k = NsName(ns, name);
      used.insert(DepKey(KubernetesRole::kService, k));
      auto it = services_.find(k);
      return it == services_.end() ? nullptr : &it->second;
    };
    if (config_.attach_node_metadata) {
      lookups.node = [&](std::string_view name) -> const Node* {
        const std::string k(name);
        used.insert(DepKey(KubernetesRole::kNode, k));
        auto it = nodes_.find(k);
        return it == nodes_.end() ? nullptr : &it->second;
      };
    }

    std::optional<scrape::TargetGroup> group;
    switch (config_.role) {
      case KubernetesRole::kPod:
        if (auto it = pods_.find(key); it != pods_.end()) group = PodGroup(it->second, lookups);
        break;
      case KubernetesRole::kService:
        if (auto it = services_.find(key); it != services_.end()) group = ServiceGroup(it->second);
        break;
      case KubernetesRole::kEndpoints:
        if (auto it = endpoints_.find(key); it != endpoints_.end()) {
          group = EndpointsGroup(it->second, lookups);
        }
        break;
      case KubernetesRole::kEndpointSlice:
        if (auto it = slices_.find(key); it != slices_.end()) {
          group = EndpointSliceGroup(it->second, lookups);
        }
        break;
      case KubernetesRole::kNode:
        if (auto it = nodes_.find(key); it != nodes_.end()) group = NodeGroup(it->second);
        break;
    }
    for (const std::string& dep : used) dependents_[dep].insert(key);
    if (!used.empty()) uses_[key] = std::move(used);

    auto current = groups_.find(key);
    if (!group.has_value() || group->targets.empty()) {
      if (current == groups_.end()) return false;
      groups_.erase(current);
      return true;
    }
    if (current != groups_.end() && current->second == *group) return false;
    groups_[key] = std::move(*group);
    return true;
  }

  void Emit() {
    std::vector<scrape::TargetGroup> out;
    out.reserve(groups_.size());
    for (const auto& [key, g] : groups_) out.push_back(g);
    on_update_(std::move(out));
  }

  const scrape::KubernetesSDConfig config_;
  const std::set<std::string> namespaces_;  // empty: all
  const std::map<KubernetesRole, Filter> filters_;
  const scrape::TargetProvider::UpdateFn on_update_;
  const std::function<void(std::string_view)> log_;

  std::mutex mu_;  // guards everything below; held while on_update_ runs (keeps sends ordered)
  bool initializing_ = true;
  std::map<std::string, Pod> pods_;  // by "namespace/name"
  std::map<std::string, Service> services_;
  std::map<std::string, Endpoints> endpoints_;
  std::map<std::string, EndpointSlice> slices_;
  std::map<std::string, Node> nodes_;  // by name
  // The groups with targets, by the main object's key (the same order as their sources).
  std::map<std::string, scrape::TargetGroup> groups_;
  // Which groups used (or looked for) which objects, both ways.
  std::map<std::string, std::set<std::string>> dependents_;
  std::map<std::string, std::set<std::string>> uses_;
};

class Subscription : public scrape::TargetSubscription {
 public:
  ~Subscription() override {
    for (auto& [store, id] : handlers_) store->RemoveHandler(id);
  }

  std::vector<std::pair<std::shared_ptr<kubeclient::ObjectStore>, int>> handlers_;
};

kubeclient::ResourceType ResourceOf(KubernetesRole role) {
  switch (role) {
    case KubernetesRole::kPod:
      return kubeclient::PodsResource();
    case KubernetesRole::kService:
      return kubeclient::ServicesResource();
    case KubernetesRole::kEndpoints:
      return kubeclient::EndpointsResource();
    case KubernetesRole::kEndpointSlice:
      return kubeclient::EndpointSlicesResource();
    case KubernetesRole::kNode:
      return kubeclient::NodesResource();
  }
  return kubeclient::PodsResource();
}

}  // namespace

KubernetesTargetProvider::KubernetesTargetProvider(kubeclient::StoreSource* stores,
                                                   KubernetesTargetProviderOptions options)
    : stores_(stores), options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<scrape::TargetSubscription>> KubernetesTargetProvider::Subscribe(
    const scrape::KubernetesSDConfig& config, UpdateFn on_update) {
  const std::string role_name(scrape::KubernetesRoleName(config.role));
  if (!config.api_server.empty() || !config.kubeconfig_file.empty()) {
    return absl::UnimplementedError(absl::StrFormat(
        "kubernetes_sd_configs (role %s): %s is not supported; discovery uses the program's own "
        "connection to its cluster",
        role_name, config.api_server.empty() ? "kubeconfig_file" : "api_server"));
  }

  std::set<std::string> namespaces(config.namespaces.begin(), config.namespaces.end());
  if (config.own_namespace) {
    std::ifstream in(options_.namespace_file);
    std::stringstream buf;
    if (in) buf << in.rdbuf();
    const std::string ns(absl::StripAsciiWhitespace(buf.str()));
    if (!in || ns.empty()) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "kubernetes_sd_configs (role %s): namespaces.own_namespace: cannot read the "
          "namespace from %s",
          role_name, options_.namespace_file));
    }
    namespaces.insert(ns);
  }

  std::map<KubernetesRole, Filter> filters;
  for (const scrape::KubernetesSelector& s : config.selectors) {
    Filter f;
    f.active = true;
    absl::StatusOr<k8s::LabelSelector> label = k8s::LabelSelector::Parse(s.label);
    if (!label.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("kubernetes_sd_configs (role %s): %s selector \"%s\": %s", role_name,
                          scrape::KubernetesRoleName(s.role), s.label, label.status().message()));
    }
    f.label = std::move(*label);
    for (const scrape::FieldRequirement& r : s.fields) {
      if (!FieldSupported(s.role, r.field)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "kubernetes_sd_configs (role %s): %s field selector \"%s\": field \"%s\" is not "
            "supported (metadata.name, metadata.namespace%s)",
            role_name, scrape::KubernetesRoleName(s.role), s.field, r.field,
            s.role == KubernetesRole::kPod ? ", spec.nodeName, status.phase" : ""));
      }
    }
    f.fields = s.fields;
    filters[s.role] = std::move(f);
  }

  // The stores this role reads: dependencies first, the role's own objects last, so that the
  // initial replay of the main objects finds what they refer to.
  std::vector<KubernetesRole> roles;
  const bool with_nodes =
      config.attach_node_metadata &&
      (config.role == KubernetesRole::kPod || config.role == KubernetesRole::kEndpoints ||
       config.role == KubernetesRole::kEndpointSlice);
  if (with_nodes) roles.push_back(KubernetesRole::kNode);
  if (config.role == KubernetesRole::kEndpoints || config.role == KubernetesRole::kEndpointSlice) {
    roles.push_back(KubernetesRole::kPod);
    roles.push_back(KubernetesRole::kService);
  }
  roles.push_back(config.role);

  auto discovery = std::make_shared<Discovery>(config, std::move(namespaces), std::move(filters),
                                               std::move(on_update), options_.log);
  auto sub = std::make_unique<Subscription>();
  for (KubernetesRole role : roles) {
    const kubeclient::ResourceType type = ResourceOf(role);
    std::shared_ptr<kubeclient::ObjectStore> store = stores_->Store(type);
    if (store == nullptr) {
      return absl::UnavailableError(absl::StrFormat(
          "kubernetes_sd_configs (role %s): no cache of %s", role_name, type.GroupResource()));
    }
    const int id = store->AddHandler(
        [discovery, role](kubeclient::EventType, const kubeclient::ObjectPtr& o,
                          const kubeclient::ObjectPtr& n) { discovery->Handle(role, o, n); });
    sub->handlers_.emplace_back(std::move(store), id);
  }
  discovery->FinishInitialization();
  return sub;
}

}  // namespace discovery
