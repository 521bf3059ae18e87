// Kubernetes service discovery for the scrape manager (scrape::TargetProvider), fed from the
// program's shared informer caches (kubeclient::StoreSource) instead of informers of its own:
// every kubernetes_sd_configs entry of every job reads the same pods, services, endpoints,
// endpoint slices and nodes caches, all namespaces, one list+watch per resource for the process.
//
// A subscription keeps the decoded objects its role needs, filtered client-side by
// `namespaces` (names, plus the program's own namespace with own_namespace) and by `selectors`:
// label selectors with Kubernetes' semantics, field selectors on metadata.name and
// metadata.namespace (every resource) and spec.nodeName and status.phase (pods), with = / == /
// !=. A selector of another role than the SD role filters that role's objects: in the endpoints
// role, a pod selector leaves pods it rejects unresolved (their targets lose the pod labels), as
// Prometheus' per-role informers do. The groups are those of targets.h; each change of a relevant
// object (including the pod, service or node a group uses) recomputes the affected groups and
// sends the complete list, before the handler that received the change returns.
//
// Not supported (Subscribe fails with Unimplemented/InvalidArgument, which the manager logs):
// api_server and kubeconfig_file (only the program's own cluster connection is used), field
// selectors on other fields.
#ifndef METRICS_ADAPTER_ADAPTER_DISCOVERY_KUBERNETES_PROVIDER_H_
#define METRICS_ADAPTER_ADAPTER_DISCOVERY_KUBERNETES_PROVIDER_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "adapter/kubeclient/store.h"
#include "scrape/discovery_provider.h"

namespace discovery {

inline constexpr std::string_view kServiceAccountNamespaceFile =
    "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

struct KubernetesTargetProviderOptions {
  // Where namespaces.own_namespace reads the program's namespace (the service account's
  // namespace file; its content, whitespace trimmed).
  std::string namespace_file = std::string(kServiceAccountNamespaceFile);
  // Warnings: objects that cannot be decoded (left out). May be null.
  std::function<void(std::string_view message)> log;
};

class KubernetesTargetProvider : public scrape::TargetProvider {
 public:
  // stores must outlive the provider and every subscription.
  explicit KubernetesTargetProvider(kubeclient::StoreSource* stores,
                                    KubernetesTargetProviderOptions options = {});

  absl::StatusOr<std::unique_ptr<scrape::TargetSubscription>> Subscribe(
      const scrape::KubernetesSDConfig& config, UpdateFn on_update) override;

 private:
  kubeclient::StoreSource* const stores_;
  const KubernetesTargetProviderOptions options_;
};

}  // namespace discovery

#endif  // METRICS_ADAPTER_ADAPTER_DISCOVERY_KUBERNETES_PROVIDER_H_
