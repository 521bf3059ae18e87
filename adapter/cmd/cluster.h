// Cluster mode of `metrics-adapter serve` (cluster_options.h says when it is on): everything
// that talks to the Kubernetes API, assembled in one place.
//
//   - Kubernetes clients from --lister-kubeconfig / --authentication-kubeconfig /
//     --authorization-kubeconfig or the pod's service account, rate limited by --client-qps and
//     --client-burst (TokenReviews and SubjectAccessReviews have the generic API server's
//     limit of 200/s instead, since any request of the aggregator may need one);
//   - shared informer caches (one list+watch per resource for the process) for pods,
//     namespaces, nodes and services from the start, and any other resource on first use;
//   - the resource mapper from API discovery (CRDs included), refreshed every
//     --discovery-interval;
//   - wildcard requests resolved from the caches (apiserver::ObjectLister);
//   - kubernetes_sd_configs fed from the same caches (scrape::TargetProvider);
//   - delegated authentication (front-proxy certificates, --client-ca-file users, TokenReview)
//     with the settings of kube-system/extension-apiserver-authentication (watched) unless the
//     flags give them, and authorization by SubjectAccessReview; requests without credentials
//     are refused (401) unless --anonymous-auth, except on the always-allowed health paths.
//
// Readiness (Synced) waits for the first list of the core caches and, unless
// --authentication-skip-lookup or --authentication-tolerate-lookup-failure, for the
// authentication ConfigMap.
#ifndef METRICS_ADAPTER_ADAPTER_CMD_CLUSTER_H_
#define METRICS_ADAPTER_ADAPTER_CMD_CLUSTER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "adapter/cmd/cluster_options.h"
#include "adapter/http/server.h"

namespace apiserver {
class ObjectLister;
}
namespace k8s {
class ResourceMapper;
}
namespace scrape {
class TargetProvider;
}

namespace adapter {

class Cluster {
 public:
  // Loads the client configurations and starts the caches, the discovery refresh and the
  // ConfigMap watch; does not wait for any of them. Errors name the flag or file at fault.
  static absl::StatusOr<std::unique_ptr<Cluster>> Start(const ClusterOptions& options);
  ~Cluster();

  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Stops every watch and background thread. Idempotent.
  void Stop();

  std::shared_ptr<const k8s::ResourceMapper> mapper() const;
  std::shared_ptr<const apiserver::ObjectLister> objects() const;
  scrape::TargetProvider* targets() const;
  bool Synced() const;

  // The secure listener asks for client certificates (verified by the authenticator against
  // the front-proxy and client CAs, which change at run time).
  void ConfigureTls(http::TlsConfig* tls) const;
  // next behind authentication and authorization.
  http::Handler Secure(http::Handler next) const;

  // Self metrics: informer and authentication counters, in Prometheus text format.
  void AppendMetrics(std::string* out) const;

  struct Impl;

 private:
  explicit Cluster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace adapter

#endif  // METRICS_ADAPTER_ADAPTER_CMD_CLUSTER_H_
