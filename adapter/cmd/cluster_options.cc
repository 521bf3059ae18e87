#include "adapter/cmd/cluster_options.h"

#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "adapter/cmd/secure_serving.h"

namespace adapter {

void RegisterClusterFlags(cli::FlagSet* flags, ClusterOptions* o) {
  flags->String("lister-kubeconfig", &o->lister_kubeconfig, "",
                "kubeconfig of the cluster whose objects are listed and\n"
                "watched. Empty: the in-cluster configuration when running\n"
                "in a pod, otherwise local mode (objects from series\n"
                "labels).");
  flags->String("authentication-kubeconfig", &o->authentication_kubeconfig, "",
                "kubeconfig for TokenReviews and the authentication\n"
                "ConfigMap. Empty: as --lister-kubeconfig.");
  flags->String("authorization-kubeconfig", &o->authorization_kubeconfig, "",
                "kubeconfig for SubjectAccessReviews. Empty: as\n"
                "--lister-kubeconfig.");
  flags->Double("client-qps", &o->client_qps, 5,
                "Requests per second each Kubernetes client may send\n"
                "(watches count once).");
  flags->Int("client-burst", &o->client_burst, 10,
             "Requests a Kubernetes client may send at once above\n"
             "--client-qps.");
  flags->Duration("discovery-interval", &o->discovery_interval_ms, int64_t{60} * 1000,
                  "How often the Kubernetes API's resource list (CRDs too)\n"
                  "is refreshed.");
  flags->String("client-ca-file", &o->client_ca_file, "",
                "PEM CA bundle of client certificates accepted as users\n"
                "(CN = user, O = groups). Empty: from the ConfigMap\n"
                "kube-system/extension-apiserver-authentication.");
  flags->String("requestheader-client-ca-file", &o->requestheader_client_ca_file, "",
                "PEM CA bundle of the front proxy's client certificates\n"
                "(the aggregator). Empty: from the authentication\n"
                "ConfigMap.");
  flags->StringList("requestheader-allowed-names", &o->requestheader_allowed_names, {},
                    "Common names allowed for front-proxy client\n"
                    "certificates; empty: any name.");
  flags->StringList("requestheader-username-headers", &o->requestheader_username_headers, {},
                    "Headers carrying the user name, first non-empty wins\n"
                    "(the ConfigMap's, else X-Remote-User).");
  flags->StringList("requestheader-group-headers", &o->requestheader_group_headers, {},
                    "Headers carrying the groups (the ConfigMap's, else\n"
                    "X-Remote-Group).");
  flags->StringList("requestheader-extra-headers-prefix", &o->requestheader_extra_headers_prefix,
                    {},
                    "Header prefixes of extra user attributes (the\n"
                    "ConfigMap's, else X-Remote-Extra-).");
  flags->Bool("authentication-skip-lookup", &o->authentication_skip_lookup, false,
              "Do not read the authentication ConfigMap; the flags\n"
              "above give the settings.");
  flags->Bool("authentication-tolerate-lookup-failure", &o->authentication_tolerate_lookup_failure,
              false,
              "Start even when the authentication ConfigMap cannot be\n"
              "read.");
  flags->Duration("authentication-token-webhook-cache-ttl", &o->token_cache_ttl_ms,
                  int64_t{10} * 1000, "How long TokenReview answers are cached.");
  flags->Duration("authorization-webhook-cache-authorized-ttl", &o->authorized_cache_ttl_ms,
                  int64_t{10} * 1000, "How long an allowing SubjectAccessReview is cached.");
  flags->Duration("authorization-webhook-cache-unauthorized-ttl", &o->unauthorized_cache_ttl_ms,
                  int64_t{10} * 1000, "How long a denying SubjectAccessReview is cached.");
  flags->StringList("authorization-always-allow-paths", &o->always_allow_paths,
                    {"/healthz", "/readyz", "/livez"},
                    "Paths served without authorization (a trailing '*'\n"
                    "matches any suffix).");
  flags->Bool("anonymous-auth", &o->anonymous_auth, false,
              "In cluster mode, serve requests without credentials as\n"
              "system:anonymous (still subject to authorization).\n"
              "Local mode always serves them.");
}

absl::Status ValidateClusterOptions(const ClusterOptions& o) {
  if (!(o.client_qps > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value ", o.client_qps, " for --client-qps: must be positive"));
  }
  if (o.client_burst < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value ", o.client_burst, " for --client-burst: must be at least 1"));
  }
  if (o.discovery_interval_ms <= 0) {
    return absl::InvalidArgumentError("--discovery-interval must be positive");
  }
  const std::pair<const char*, const std::string*> files[] = {
      {"lister-kubeconfig", &o.lister_kubeconfig},
      {"authentication-kubeconfig", &o.authentication_kubeconfig},
      {"authorization-kubeconfig", &o.authorization_kubeconfig},
      {"client-ca-file", &o.client_ca_file},
      {"requestheader-client-ca-file", &o.requestheader_client_ca_file}};
  for (const auto& [flag, path] : files) {
    if (path->empty()) continue;
    if (absl::Status s = CheckReadableFile(flag, *path); !s.ok()) return s;
  }
  for (const std::string& p : o.always_allow_paths) {
    if (!absl::StartsWith(p, "/")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid value \"", p, "\" for --authorization-always-allow-paths: must start with /"));
    }
  }
  return absl::OkStatus();
}

bool ClusterModeEnabled(const ClusterOptions& o) {
  if (!o.lister_kubeconfig.empty() || !o.authentication_kubeconfig.empty() ||
      !o.authorization_kubeconfig.empty()) {
    return true;
  }
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  return host != nullptr && *host != '\0';
}

}  // namespace adapter
