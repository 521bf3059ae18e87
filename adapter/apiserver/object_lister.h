// Cluster mode's answer to "which objects exist": wildcard requests (`pods/*` with a
// labelSelector) and resource metrics lists are resolved against the Kubernetes objects the
// adapter caches (list and watch, no request to the API server per call), so only objects that
// exist and whose own labels match the selector are reported. In local mode there is no lister
// and objects are identified from the series' labels.
#ifndef METRICS_ADAPTER_ADAPTER_APISERVER_OBJECT_LISTER_H_
#define METRICS_ADAPTER_ADAPTER_APISERVER_OBJECT_LISTER_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/k8s/resources.h"
#include "adapter/k8s/selector.h"

namespace apiserver {

struct ObjectRef {
  std::string namespace_;  // empty for cluster-scoped objects
  std::string name;

  auto operator<=>(const ObjectRef&) const = default;
};

class ObjectLister {
 public:
  virtual ~ObjectLister() = default;

  // The objects of resource in namespace ns (every namespace when ns is empty; ignored for
  // cluster-scoped resources) whose labels match selector, sorted. Unavailable while the cache
  // of that resource has not synced yet; NotFound when the cluster has no such resource.
  virtual absl::StatusOr<std::vector<ObjectRef>> List(const k8s::ResourceInfo& resource,
                                                      std::string_view ns,
                                                      const k8s::LabelSelector& selector) const = 0;
};

}  // namespace apiserver

#endif  // METRICS_ADAPTER_ADAPTER_APISERVER_OBJECT_LISTER_H_
