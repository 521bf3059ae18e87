// The flags that connect `metrics-adapter serve` to a Kubernetes cluster, named as
// prometheus-adapter and Kubernetes' generic API server name them:
//
//   --lister-kubeconfig            cluster whose objects are listed and watched (pods, nodes,
//                                  namespaces, services, endpointslices, ...) and whose API
//                                  discovery maps rule labels to resources
//   --authentication-kubeconfig    where TokenReviews and the authentication ConfigMap go
//   --authorization-kubeconfig     where SubjectAccessReviews go
//   --client-qps, --client-burst   rate limit of the Kubernetes clients (5 and 10)
//   --client-ca-file, --requestheader-*          override the ConfigMap
//                                                kube-system/extension-apiserver-authentication
//   --authentication-skip-lookup, --authentication-tolerate-lookup-failure,
//   --authentication-token-webhook-cache-ttl, --authorization-webhook-cache-authorized-ttl,
//   --authorization-webhook-cache-unauthorized-ttl, --authorization-always-allow-paths,
//   --anonymous-auth, --discovery-interval
//
// Cluster mode is on when any kubeconfig flag is given or the process runs in a pod
// (KUBERNETES_SERVICE_HOST is set); each kubeconfig flag left empty falls back to the lister's
// configuration, and that to the in-cluster configuration. Otherwise the adapter runs in local
// mode: objects come from series labels and the secure port is open to anonymous clients.
#ifndef METRICS_ADAPTER_ADAPTER_CMD_CLUSTER_OPTIONS_H_
#define METRICS_ADAPTER_ADAPTER_CMD_CLUSTER_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "adapter/cli/flags.h"

namespace adapter {

struct ClusterOptions {
  std::string lister_kubeconfig;
  std::string authentication_kubeconfig;
  std::string authorization_kubeconfig;
  double client_qps = 5;
  int client_burst = 10;
  // How often API discovery (which resources exist, CRDs included) is refreshed.
  int64_t discovery_interval_ms = 0;

  std::string client_ca_file;
  std::string requestheader_client_ca_file;
  std::vector<std::string> requestheader_allowed_names;
  std::vector<std::string> requestheader_username_headers;
  std::vector<std::string> requestheader_group_headers;
  std::vector<std::string> requestheader_extra_headers_prefix;
  // Do not read the authentication ConfigMap (the flags above say everything).
  bool authentication_skip_lookup = false;
  // Start even when the ConfigMap cannot be read (requests with front-proxy certificates then
  // fail until it can).
  bool authentication_tolerate_lookup_failure = false;
  int64_t token_cache_ttl_ms = 0;
  int64_t authorized_cache_ttl_ms = 0;
  int64_t unauthorized_cache_ttl_ms = 0;
  std::vector<std::string> always_allow_paths;
  // Whether requests without credentials are served (as system:anonymous, still authorized by
  // SubjectAccessReview). Off in cluster mode; local mode is always open.
  bool anonymous_auth = false;
};

void RegisterClusterFlags(cli::FlagSet* flags, ClusterOptions* options);

// Checks the values (positive qps and burst, readable files). Errors name the flag.
absl::Status ValidateClusterOptions(const ClusterOptions& options);

// Whether serve talks to a Kubernetes API: a kubeconfig flag is set or the process runs in a
// pod (KUBERNETES_SERVICE_HOST in the environment).
bool ClusterModeEnabled(const ClusterOptions& options);

}  // namespace adapter

#endif  // METRICS_ADAPTER_ADAPTER_CMD_CLUSTER_OPTIONS_H_
