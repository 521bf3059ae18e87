// The seam between the scrape manager and service discovery that needs more than the scrape
// module has: Kubernetes discovery reads the program's shared informer caches, which live in the
// adapter (adapter/discovery implements this interface). The scrape module depends only on
// tsdb; whoever builds the Manager passes it a TargetProvider (ManagerOptions::target_provider).
//
// Contract:
//   * Subscribe() starts discovery for one kubernetes_sd_configs entry. It fails (and nothing is
//     called) when the entry cannot be served: a selector on an unsupported field, a namespace
//     file that cannot be read, an API server other than the program's own...
//   * on_update receives the COMPLETE current list of target groups of that entry each time it
//     changes (not a delta), one group per discovered object, each with a unique source
//     ("pod/<namespace>/<name>", "svc/...", "endpoints/...", "endpointslice/...", "node/<name>"),
//     ordered by source. Objects without targets have no group.
//   * on_update may be called from any thread, including synchronously from inside Subscribe()
//     (the initial list) — so the caller must not hold a lock there that on_update takes — and
//     never concurrently for one subscription. It must return quickly and must not call back into
//     the provider.
//   * Destroying the Subscription stops the updates: once its destructor returns, on_update is
//     not called again (a call in progress finishes first).
#ifndef METRICS_ADAPTER_SCRAPE_DISCOVERY_PROVIDER_H_
#define METRICS_ADAPTER_SCRAPE_DISCOVERY_PROVIDER_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "scrape/config.h"

namespace scrape {

class TargetSubscription {
 public:
  virtual ~TargetSubscription() = default;
};

class TargetProvider {
 public:
  using UpdateFn = std::function<void(std::vector<TargetGroup> groups)>;

  virtual ~TargetProvider() = default;

  virtual absl::StatusOr<std::unique_ptr<TargetSubscription>> Subscribe(
      const KubernetesSDConfig& config, UpdateFn on_update) = 0;
};

}  // namespace scrape

#endif  // METRICS_ADAPTER_SCRAPE_DISCOVERY_PROVIDER_H_
