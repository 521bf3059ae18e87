// Kubernetes resources as rules and API paths name them, and the mapping between the names
// (a RESTMapper's job in client-go): "pod", "pods", "Pod" and "pods" in group "" are one
// resource; "deployment" with group "apps" is "deployments.apps".
#ifndef METRICS_ADAPTER_ADAPTER_K8S_RESOURCES_H_
#define METRICS_ADAPTER_ADAPTER_K8S_RESOURCES_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace k8s {

// A resource by API group and plural name: {"", "pods"}, {"apps", "deployments"}.
struct GroupResource {
  std::string group;
  std::string resource;

  // "pods", "deployments.apps" (Kubernetes' GroupResource.String()).
  std::string String() const;
  auto operator<=>(const GroupResource&) const = default;
};

struct ResourceInfo {
  GroupResource group_resource;  // plural, lower case
  std::string singular;          // "pod"
  std::string kind;              // "Pod"
  std::string version;           // preferred version: "v1"
  bool namespaced = true;

  // describedObject.apiVersion as Kubernetes writes it: "<group>/<version>", so "/v1" for the
  // core group and "apps/v1" for deployments.
  std::string ApiVersion() const { return group_resource.group + "/" + version; }
};

// Resolves the names users and clients write for resources.
class ResourceMapper {
 public:
  virtual ~ResourceMapper() = default;

  // Resolves `resource` (plural, singular or kind, any case; "deployments.apps" or
  // "deployment.apps" carry their group) in `group` ("" = any group, core preferred). nullopt
  // when unknown, or when a group in the name disagrees with a non-empty `group`. Groups
  // compare case-insensitively.
  virtual std::optional<ResourceInfo> Find(std::string_view resource,
                                           std::string_view group) const = 0;

  // Every known resource.
  virtual std::vector<ResourceInfo> All() const = 0;
};

// ResourceMapper::Find over a list of resources: the core group is preferred when no group is
// named, then the list's order.
std::optional<ResourceInfo> FindResource(const std::vector<ResourceInfo>& resources,
                                         std::string_view resource, std::string_view group);

// The built-in resources of a current Kubernetes release (core: pods, nodes, namespaces,
// services, endpoints, persistentvolumes, persistentvolumeclaims, configmaps, secrets,
// serviceaccounts, replicationcontrollers, events, resourcequotas, limitranges; apps:
// deployments, statefulsets, daemonsets, replicasets; batch: jobs, cronjobs; autoscaling:
// horizontalpodautoscalers (v2); networking.k8s.io: ingresses, networkpolicies; policy:
// poddisruptionbudgets; discovery.k8s.io: endpointslices; storage.k8s.io: storageclasses;
// events.k8s.io: events). Used without a cluster (local mode) and as the fallback before API
// discovery has answered.
std::unique_ptr<ResourceMapper> NewBuiltinResourceMapper();

}  // namespace k8s

#endif  // METRICS_ADAPTER_ADAPTER_K8S_RESOURCES_H_
