// The built-in resource table and its lookups (a static RESTMapper).
#include "adapter/k8s/resources.h"

#include <cctype>

namespace k8s {

std::string GroupResource::String() const {
  if (group.empty()) return resource;
  return resource + "." + group;
}

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

ResourceInfo Info(std::string group, std::string plural, std::string singular, std::string kind,
                  std::string version, bool namespaced) {
  ResourceInfo info;
  info.group_resource = GroupResource{std::move(group), std::move(plural)};
  info.singular = std::move(singular);
  info.kind = std::move(kind);
  info.version = std::move(version);
  info.namespaced = namespaced;
  return info;
}

// The table, in priority order: when a name matches in several groups and no group is given,
// the first entry wins, so the core group comes first (as in Kubernetes' discovery order).
std::vector<ResourceInfo> BuiltinResources() {
  constexpr bool kNamespaced = true;
  constexpr bool kCluster = false;
  return {
      // core
      Info("", "pods", "pod", "Pod", "v1", kNamespaced),
      Info("", "nodes", "node", "Node", "v1", kCluster),
      Info("", "namespaces", "namespace", "Namespace", "v1", kCluster),
      Info("", "services", "service", "Service", "v1", kNamespaced),
      Info("", "endpoints", "endpoints", "Endpoints", "v1", kNamespaced),
      Info("", "persistentvolumes", "persistentvolume", "PersistentVolume", "v1", kCluster),
      Info("", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", "v1",
           kNamespaced),
      Info("", "configmaps", "configmap", "ConfigMap", "v1", kNamespaced),
      Info("", "secrets", "secret", "Secret", "v1", kNamespaced),
      Info("", "serviceaccounts", "serviceaccount", "ServiceAccount", "v1", kNamespaced),
      Info("", "replicationcontrollers", "replicationcontroller", "ReplicationController", "v1",
           kNamespaced),
      Info("", "events", "event", "Event", "v1", kNamespaced),
      Info("", "resourcequotas", "resourcequota", "ResourceQuota", "v1", kNamespaced),
      Info("", "limitranges", "limitrange", "LimitRange", "v1", kNamespaced),
      // apps
      Info("apps", "deployments", "deployment", "Deployment", "v1", kNamespaced),
      Info("apps", "statefulsets", "statefulset", "StatefulSet", "v1", kNamespaced),
      Info("apps", "daemonsets", "daemonset", "DaemonSet", "v1", kNamespaced),
      Info("apps", "replicasets", "replicaset", "ReplicaSet", "v1", kNamespaced),
      // batch
      Info("batch", "jobs", "job", "Job", "v1", kNamespaced),
      Info("batch", "cronjobs", "cronjob", "CronJob", "v1", kNamespaced),
      // autoscaling (v2 is the preferred version since Kubernetes 1.23)
      Info("autoscaling", "horizontalpodautoscalers", "horizontalpodautoscaler",
           "HorizontalPodAutoscaler", "v2", kNamespaced),
      // networking.k8s.io
      Info("networking.k8s.io", "ingresses", "ingress", "Ingress", "v1", kNamespaced),
      Info("networking.k8s.io", "networkpolicies", "networkpolicy", "NetworkPolicy", "v1",
           kNamespaced),
      // policy
      Info("policy", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", "v1",
           kNamespaced),
      // discovery.k8s.io
      Info("discovery.k8s.io", "endpointslices", "endpointslice", "EndpointSlice", "v1",
           kNamespaced),
      // storage.k8s.io
      Info("storage.k8s.io", "storageclasses", "storageclass", "StorageClass", "v1", kCluster),
      // events.k8s.io (the same objects as core events; core is preferred)
      Info("events.k8s.io", "events", "event", "Event", "v1", kNamespaced),
  };
}

class BuiltinResourceMapper final : public ResourceMapper {
 public:
  BuiltinResourceMapper() : resources_(BuiltinResources()) {}

  std::optional<ResourceInfo> Find(std::string_view resource,
                                   std::string_view group) const override {
    return FindResource(resources_, resource, group);
  }

  std::vector<ResourceInfo> All() const override { return resources_; }

 private:
  std::vector<ResourceInfo> resources_;
};

}  // namespace

std::optional<ResourceInfo> FindResource(const std::vector<ResourceInfo>& resources,
                                         std::string_view resource, std::string_view group) {
  // "deployments.apps": the part after the first dot is the group (Kubernetes'
  // ParseGroupResource); it must agree with an explicit group.
  if (size_t dot = resource.find('.'); dot != std::string_view::npos) {
    std::string_view embedded = resource.substr(dot + 1);
    resource = resource.substr(0, dot);
    if (!group.empty() && !embedded.empty() && !EqualsIgnoreCase(group, embedded)) {
      return std::nullopt;
    }
    if (!embedded.empty()) group = embedded;
  }
  if (resource.empty()) return std::nullopt;
  // Without a group: the core group first, then the others in order.
  for (int pass = 0; pass < 2; ++pass) {
    for (const ResourceInfo& info : resources) {
      const bool core = info.group_resource.group.empty();
      if (group.empty() && (pass == 0) != core) continue;
      if (!group.empty() && (pass == 1 || !EqualsIgnoreCase(info.group_resource.group, group))) {
        continue;
      }
      if (EqualsIgnoreCase(info.group_resource.resource, resource) ||
          EqualsIgnoreCase(info.singular, resource) || EqualsIgnoreCase(info.kind, resource)) {
        return info;
      }
    }
  }
  return std::nullopt;
}

std::unique_ptr<ResourceMapper> NewBuiltinResourceMapper() {
  return std::make_unique<BuiltinResourceMapper>();
}

}  // namespace k8s
