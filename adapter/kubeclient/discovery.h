// API discovery: which resources the cluster serves (built-in ones, CRDs and aggregated APIs),
// and a k8s::ResourceMapper built from it, so that rules and requests may name any of them
// ("pod", "deployments.apps", a CRD's kind).
#ifndef METRICS_ADAPTER_ADAPTER_KUBECLIENT_DISCOVERY_H_
#define METRICS_ADAPTER_ADAPTER_KUBECLIENT_DISCOVERY_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapter/k8s/resources.h"
#include "adapter/kubeclient/rest_client.h"

namespace kubeclient {

// Reads /api/v1, /apis and /apis/<group>/<preferred version> of every group: the resources
// (subresources such as "pods/status" skipped) in the core group first, then the groups in the
// server's order. singular is the server's singularName, or the kind in lower case when the
// server sends none. A group whose version cannot be read (an aggregated API that is down) is
// skipped and described in *warnings when given; failing to read /api/v1 or /apis is an error.
absl::StatusOr<std::vector<k8s::ResourceInfo>> DiscoverResources(
    RestClient* client, std::vector<std::string>* warnings = nullptr);

// Decoders of the two discovery documents, for DiscoverResources and the tests. group_version
// is "v1" or "apps/v1"; errors name what is wrong.
absl::StatusOr<std::vector<k8s::ResourceInfo>> ParseApiResourceList(std::string_view json);
// The preferred groupVersion of every group of an APIGroupList ("apps/v1"), in order.
absl::StatusOr<std::vector<std::string>> ParseApiGroupList(std::string_view json);

// A ResourceMapper over the discovered resources, with a fallback (by default the built-in
// mapper) for names discovery did not yield, e.g. before the first discovery succeeded.
// Find follows k8s::ResourceMapper's contract (plural, singular or kind, any case; core group
// preferred when no group is named). Refresh() replaces the discovered set atomically: readers
// see the old or the new set, never a mix. Thread-safe.
class DiscoveryResourceMapper : public k8s::ResourceMapper {
 public:
  using Discover = std::function<absl::StatusOr<std::vector<k8s::ResourceInfo>>()>;

  explicit DiscoveryResourceMapper(Discover discover,
                                   std::unique_ptr<k8s::ResourceMapper> fallback = nullptr);
  // Discovery through client (which must outlive the mapper).
  explicit DiscoveryResourceMapper(RestClient* client,
                                   std::unique_ptr<k8s::ResourceMapper> fallback = nullptr);
  ~DiscoveryResourceMapper() override;

  // Runs discovery; on success swaps the discovered set in, on failure keeps the previous one
  // and returns the error.
  absl::Status Refresh();
  // Calls Refresh every interval on a thread until Stop() (or destruction).
  void StartRefreshing(std::chrono::milliseconds interval);
  void Stop();

  std::optional<k8s::ResourceInfo> Find(std::string_view resource,
                                        std::string_view group) const override;
  // The discovered resources, then the fallback's that discovery did not yield.
  std::vector<k8s::ResourceInfo> All() const override;

 private:
  std::shared_ptr<const std::vector<k8s::ResourceInfo>> Snapshot() const;

  Discover discover_;
  std::unique_ptr<k8s::ResourceMapper> fallback_;
  mutable std::mutex mu_;
  std::shared_ptr<const std::vector<k8s::ResourceInfo>> discovered_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread refresher_;
};

}  // namespace kubeclient

#endif  // METRICS_ADAPTER_ADAPTER_KUBECLIENT_DISCOVERY_H_
