#include "adapter/cmd/cluster.h"

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapter/auth/authenticator.h"
#include "adapter/auth/authorizer.h"
#include "adapter/auth/filter.h"
#include "adapter/auth/request_header.h"
#include "adapter/auth/status.h"
#include "adapter/cmd/cached_object_lister.h"
#include "adapter/cmd/log.h"
#include "adapter/cmd/self_metrics.h"
#include "adapter/discovery/kubernetes_provider.h"
#include "adapter/kubeclient/config.h"
#include "adapter/kubeclient/discovery.h"
#include "adapter/kubeclient/informer.h"
#include "adapter/kubeclient/rest_client.h"
#include "adapter/kubeclient/store.h"

namespace adapter {
namespace {

constexpr char kAuthConfigMapNamespace[] = "kube-system";
constexpr char kAuthConfigMapName[] = "extension-apiserver-authentication";

absl::StatusOr<std::string> ReadPem(const char* flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read ", path));
  }
  return buffer.str();
}

// The configuration a kubeconfig flag names, or the pod's own when it is empty; errors name
// the flag.
absl::StatusOr<kubeclient::ClientConfig> LoadClientConfig(const char* flag,
                                                          const std::string& kubeconfig) {
  absl::StatusOr<kubeclient::ClientConfig> config = kubeclient::LoadClientConfig(kubeconfig);
  if (!config.ok()) {
    return absl::Status(
        config.status().code(),
        absl::StrCat(kubeconfig.empty() ? "in-cluster configuration" : absl::StrCat("--", flag),
                     ": ", config.status().message()));
  }
  return config;
}

std::vector<std::string> OrDefault(const std::vector<std::string>& given, const char* fallback) {
  return given.empty() ? std::vector<std::string>{fallback} : given;
}

}  // namespace

struct Cluster::Impl {
  ClusterOptions options;
  std::unique_ptr<kubeclient::RestClient> lister;
  // Null unless --authentication-kubeconfig / --authorization-kubeconfig: the lister then.
  std::unique_ptr<kubeclient::RestClient> authn_client;
  std::unique_ptr<kubeclient::RestClient> authz_client;
  kubeclient::RestClient* authn() const { return authn_client ? authn_client.get() : lister.get(); }
  kubeclient::RestClient* authz() const { return authz_client ? authz_client.get() : lister.get(); }
  std::shared_ptr<kubeclient::SharedInformers> informers;
  std::shared_ptr<kubeclient::DiscoveryResourceMapper> mapper;
  std::shared_ptr<const apiserver::ObjectLister> objects;
  std::unique_ptr<discovery::KubernetesTargetProvider> targets;
  std::vector<std::shared_ptr<kubeclient::ObjectStore>> core_stores;

  std::unique_ptr<auth::Authenticator> authenticator;
  std::unique_ptr<auth::Authorizer> authorizer;
  // The settings from the flags; those they leave out come from the ConfigMap.
  std::string flag_client_ca;
  std::optional<auth::RequestHeaderConfig> flag_request_header;
  std::shared_ptr<kubeclient::MemoryStore> auth_configmap;
  std::unique_ptr<kubeclient::Informer> auth_configmap_informer;
  int auth_configmap_handler = 0;
  std::atomic<bool> auth_config_loaded{false};

  std::atomic<uint64_t> unauthenticated{0};
  std::atomic<uint64_t> forbidden{0};
  std::atomic<uint64_t> authorization_errors{0};
  std::atomic<uint64_t> auth_config_errors{0};
  std::once_flag stop_once;

  absl::Status StartClients();
  absl::Status StartAuthentication();
  void ApplyAuthConfigMap(const kubeclient::ObjectPtr& configmap);
  void Stop();
};

absl::Status Cluster::Impl::StartClients() {
  absl::StatusOr<kubeclient::ClientConfig> lister_config =
      LoadClientConfig("lister-kubeconfig", options.lister_kubeconfig);
  if (!lister_config.ok()) return lister_config.status();
  kubeclient::RestClientOptions lister_options;
  lister_options.qps = options.client_qps;
  lister_options.burst = options.client_burst;
  absl::StatusOr<std::unique_ptr<kubeclient::RestClient>> client =
      kubeclient::RestClient::New(*lister_config, lister_options);
  if (!client.ok()) return client.status();
  lister = std::move(*client);
  // Reviews go through the lister's connection unless a kubeconfig of their own is given (the
  // review calls have their own rate limit either way).
  for (auto [flag, path, target] :
       {std::tuple{"authentication-kubeconfig", &options.authentication_kubeconfig, &authn_client},
        std::tuple{"authorization-kubeconfig", &options.authorization_kubeconfig, &authz_client}}) {
    if (path->empty()) continue;
    absl::StatusOr<kubeclient::ClientConfig> config = LoadClientConfig(flag, *path);
    if (!config.ok()) return config.status();
    absl::StatusOr<std::unique_ptr<kubeclient::RestClient>> c =
        kubeclient::RestClient::New(*config, lister_options);
    if (!c.ok()) return c.status();
    *target = std::move(*c);
  }

  kubeclient::InformerOptions informer_options;
  informer_options.log = [](std::string_view msg) {
    LogWarn(msg, {{"component", "kubernetes-client"}});
  };
  informers = std::make_shared<kubeclient::SharedInformers>(lister.get(), informer_options);
  // The caches every request and the pod discovery need, started now so that readiness means
  // they are filled.
  for (const kubeclient::ResourceType& type :
       {kubeclient::PodsResource(), kubeclient::NamespacesResource(), kubeclient::NodesResource(),
        kubeclient::ServicesResource()}) {
    core_stores.push_back(informers->Store(type));
  }
  mapper = std::make_shared<kubeclient::DiscoveryResourceMapper>(lister.get());
  if (absl::Status s = mapper->Refresh(); !s.ok()) {
    LogWarn("API discovery failed; built-in resource names are used until it succeeds",
            {{"err", std::string(s.message())}});
  }
  mapper->StartRefreshing(std::chrono::milliseconds(options.discovery_interval_ms));
  objects = NewCachedObjectLister(informers);
  discovery::KubernetesTargetProviderOptions provider_options;
  provider_options.log = [](std::string_view msg) {
    LogWarn(msg, {{"component", "kubernetes-sd"}});
  };
  targets =
      std::make_unique<discovery::KubernetesTargetProvider>(informers.get(), provider_options);
  return absl::OkStatus();
}

absl::Status Cluster::Impl::StartAuthentication() {
  if (!options.client_ca_file.empty()) {
    absl::StatusOr<std::string> pem = ReadPem("client-ca-file", options.client_ca_file);
    if (!pem.ok()) return pem.status();
    flag_client_ca = std::move(*pem);
  }
  if (!options.requestheader_client_ca_file.empty() || options.authentication_skip_lookup) {
    auth::RequestHeaderConfig rh;
    if (!options.requestheader_client_ca_file.empty()) {
      absl::StatusOr<std::string> pem =
          ReadPem("requestheader-client-ca-file", options.requestheader_client_ca_file);
      if (!pem.ok()) return pem.status();
      rh.client_ca = std::move(*pem);
    }
    rh.allowed_names = options.requestheader_allowed_names;
    rh.username_headers = OrDefault(options.requestheader_username_headers, "X-Remote-User");
    rh.group_headers = OrDefault(options.requestheader_group_headers, "X-Remote-Group");
    rh.extra_header_prefixes =
        OrDefault(options.requestheader_extra_headers_prefix, "X-Remote-Extra-");
    flag_request_header = std::move(rh);
  }

  auth::AuthenticatorOptions authn_options;
  // Requests without credentials reach the filter as system:anonymous; Secure() refuses them
  // outside the always-allowed paths unless --anonymous-auth.
  authn_options.allow_anonymous = true;
  authn_options.token_review = authn()->ReviewPoster();
  authn_options.token_cache_ttl = std::chrono::milliseconds(options.token_cache_ttl_ms);
  authenticator = std::make_unique<auth::Authenticator>(std::move(authn_options));
  auth::AuthenticationConfig initial;
  initial.client_ca = flag_client_ca;
  if (flag_request_header.has_value()) initial.request_header = *flag_request_header;
  if (absl::Status s = authenticator->SetConfig(initial); !s.ok()) return s;

  auth::AuthorizerOptions authz_options;
  authz_options.always_allow_paths = options.always_allow_paths;
  authz_options.subject_access_review = authz()->ReviewPoster();
  authz_options.allowed_ttl = std::chrono::milliseconds(options.authorized_cache_ttl_ms);
  authz_options.denied_ttl = std::chrono::milliseconds(options.unauthorized_cache_ttl_ms);
  absl::StatusOr<std::unique_ptr<auth::Authorizer>> created =
      auth::Authorizer::Create(std::move(authz_options));
  if (!created.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--authorization-always-allow-paths: ", created.status().message()));
  }
  authorizer = std::move(*created);

  if (options.authentication_skip_lookup) {
    auth_config_loaded = true;
    return absl::OkStatus();
  }
  // The API server publishes the front-proxy settings in a ConfigMap and updates it in place;
  // a watch of that one object keeps them current.
  kubeclient::InformerOptions cm_options;
  cm_options.namespace_ = kAuthConfigMapNamespace;
  cm_options.field_selector = absl::StrCat("metadata.name=", kAuthConfigMapName);
  cm_options.log = [](std::string_view msg) {
    LogWarn(msg, {{"component", "authentication-configmap"}});
  };
  auth_configmap = std::make_shared<kubeclient::MemoryStore>();
  auth_configmap->AddHandler([this](kubeclient::EventType, const kubeclient::ObjectPtr&,
                                    const kubeclient::ObjectPtr& now) {
    if (now != nullptr) ApplyAuthConfigMap(now);
  });
  auth_configmap_informer = std::make_unique<kubeclient::Informer>(
      authn(), kubeclient::ConfigMapsResource(), auth_configmap, cm_options);
  auth_configmap_informer->Start();
  return absl::OkStatus();
}

void Cluster::Impl::ApplyAuthConfigMap(const kubeclient::ObjectPtr& configmap) {
  absl::StatusOr<auth::AuthenticationConfig> parsed =
      auth::ParseAuthenticationConfigMap(configmap->json);
  if (!parsed.ok()) {
    ++auth_config_errors;
    LogError("the authentication ConfigMap cannot be used; the previous settings stay",
             {{"configmap", absl::StrCat(kAuthConfigMapNamespace, "/", kAuthConfigMapName)},
              {"err", std::string(parsed.status().message())}});
    return;
  }
  // Flags win over the ConfigMap, as in Kubernetes' delegated authentication.
  if (!flag_client_ca.empty()) parsed->client_ca = flag_client_ca;
  if (flag_request_header.has_value()) parsed->request_header = *flag_request_header;
  if (absl::Status s = authenticator->SetConfig(*parsed); !s.ok()) {
    ++auth_config_errors;
    LogError("the authentication ConfigMap cannot be used; the previous settings stay",
             {{"err", std::string(s.message())}});
    return;
  }
  auth_config_loaded = true;
  LogInfo("authentication settings loaded from the ConfigMap",
          {{"configmap", absl::StrCat(kAuthConfigMapNamespace, "/", kAuthConfigMapName)},
           {"resource_version", configmap->meta.resource_version}});
}

void Cluster::Impl::Stop() {
  std::call_once(stop_once, [this] {
    if (auth_configmap_informer != nullptr) auth_configmap_informer->Stop();
    if (mapper != nullptr) mapper->Stop();
    if (informers != nullptr) informers->Stop();
  });
}

Cluster::Cluster(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Cluster::~Cluster() { Stop(); }

absl::StatusOr<std::unique_ptr<Cluster>> Cluster::Start(const ClusterOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (absl::Status s = impl->StartClients(); !s.ok()) {
    impl->Stop();
    return s;
  }
  if (absl::Status s = impl->StartAuthentication(); !s.ok()) {
    impl->Stop();
    return s;
  }
  LogInfo("cluster mode: objects, discovery and authentication from the Kubernetes API",
          {{"server", impl->lister->config().server}});
  return std::unique_ptr<Cluster>(new Cluster(std::move(impl)));
}

void Cluster::Stop() { impl_->Stop(); }

std::shared_ptr<const k8s::ResourceMapper> Cluster::mapper() const { return impl_->mapper; }

std::shared_ptr<const apiserver::ObjectLister> Cluster::objects() const { return impl_->objects; }

scrape::TargetProvider* Cluster::targets() const { return impl_->targets.get(); }

bool Cluster::Synced() const {
  for (const auto& store : impl_->core_stores) {
    if (!store->HasSynced()) return false;
  }
  return impl_->auth_config_loaded || impl_->options.authentication_tolerate_lookup_failure;
}

void Cluster::ConfigureTls(http::TlsConfig* tls) const {
  tls->client_ca_file.clear();
  tls->require_client_cert = false;
  tls->request_client_cert = true;
}

http::Handler Cluster::Secure(http::Handler next) const {
  Impl* impl = impl_.get();
  http::Handler filtered = auth::WithAuthentication(
      impl->authenticator.get(), impl->authorizer.get(), std::move(next),
      [impl](const auth::FilterEvent& event) {
        if (event.status == 0) return;
        switch (event.status) {
          case 401:
            ++impl->unauthenticated;
            break;
          case 403:
            ++impl->forbidden;
            break;
          default:
            ++impl->authorization_errors;
        }
        LogDebug("request refused", {{"status", std::to_string(event.status)},
                                     {"path", event.request.path},
                                     {"user", auth::DescribeUser(event.authentication)},
                                     {"detail", event.detail}});
      });
  if (impl->options.anonymous_auth) return filtered;
  return [impl, filtered = std::move(filtered)](const http::Request& request) {
    // No credentials at all: only the always-allowed paths (probes) are served.
    const bool credentials =
        !request.peer_certificates.empty() || request.HasHeader("Authorization");
    if (!credentials && !impl->authorizer->AlwaysAllowedPath(request.path)) {
      ++impl->unauthenticated;
      return auth::UnauthorizedResponse();
    }
    return filtered(request);
  };
}

void Cluster::AppendMetrics(std::string* out) const {
  TextWriter w(out);
  w.Family("metrics_adapter_kubernetes_informer_events_total", "counter",
           "Watch events applied to the caches of Kubernetes objects, by resource.");
  std::vector<std::pair<kubeclient::ResourceType, kubeclient::InformerStats>> stats =
      impl_->informers->Stats();
  for (const auto& [type, s] : stats) {
    w.Sample("metrics_adapter_kubernetes_informer_events_total", static_cast<double>(s.events),
             {{"resource", type.GroupResource()}});
  }
  w.Family("metrics_adapter_kubernetes_informer_lists_total", "counter",
           "Complete lists of Kubernetes objects (the first one and relists), by resource.");
  for (const auto& [type, s] : stats) {
    w.Sample("metrics_adapter_kubernetes_informer_lists_total", static_cast<double>(s.lists),
             {{"resource", type.GroupResource()}});
  }
  w.Family("metrics_adapter_kubernetes_informer_errors_total", "counter",
           "Failed lists and watches of Kubernetes objects, by resource.");
  for (const auto& [type, s] : stats) {
    w.Sample("metrics_adapter_kubernetes_informer_errors_total", static_cast<double>(s.errors),
             {{"resource", type.GroupResource()}});
  }
  w.Family("metrics_adapter_secure_requests_refused_total", "counter",
           "Requests to the secure port refused by authentication or authorization.");
  w.Sample("metrics_adapter_secure_requests_refused_total",
           static_cast<double>(impl_->unauthenticated.load()), {{"code", "401"}});
  w.Sample("metrics_adapter_secure_requests_refused_total",
           static_cast<double>(impl_->forbidden.load()), {{"code", "403"}});
  w.Sample("metrics_adapter_secure_requests_refused_total",
           static_cast<double>(impl_->authorization_errors.load()), {{"code", "500"}});
  w.Family("metrics_adapter_authentication_config_errors_total", "counter",
           "Versions of the authentication ConfigMap that could not be used.");
  w.Sample("metrics_adapter_authentication_config_errors_total",
           static_cast<double>(impl_->auth_config_errors.load()));
}

}  // namespace adapter
