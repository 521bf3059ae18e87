// The scrape configuration: the `global` and `scrape_configs` sections of a Prometheus
// configuration file (prometheus.yml), loaded strictly with Prometheus' defaults and checks
// (config/config.go as of v2.42, the comparison peer `promtool check config`).
//
// Strict means: an unknown key is an error naming the key and its line
// ("prometheus.yml:12: scrape config \"node\": unknown field \"scrape_intervall\""), as are a value
// of the wrong type, a bad duration, an invalid label name, a duplicate key or a duplicate job
// name. Sections of prometheus.yml that this program has no use for (`rule_files`, `alerting`,
// `remote_write`, `remote_read`, `storage`, `tracing`, `global.evaluation_interval`,
// `global.query_log_file`) are accepted and ignored, so an existing prometheus.yml loads as is;
// they are listed in Config::ignored_fields. Keys Prometheus knows but this program does not
// implement (`oauth2`, `proxy_url`, service discovery other than static_configs, file_sd_configs
// and kubernetes_sd_configs, the `ingress` role, ...) are refused with "... is not supported"
// rather than silently ignored.
//
// kubernetes_sd_configs are loaded with Prometheus' checks (discovery/kubernetes SDConfig): a
// known role, selectors only of the roles the SD role allows and at most one per role, valid
// label and field selector syntax, api_server and kubeconfig_file exclusive, HTTP client settings
// only with api_server, own_namespace not with api_server or kubeconfig_file. Discovering the
// targets is not the loader's job: the scrape manager asks a TargetProvider
// (discovery_provider.h) for them.
//
// Defaults (Prometheus'): global scrape_interval 1m and scrape_timeout 10s (but at most the
// interval); a job inherits both from global; a job's scrape_timeout may not exceed its
// scrape_interval; metrics_path "/metrics"; scheme "http"; honor_timestamps true; honor_labels
// false; limits 0 (= none); file_sd refresh_interval 5m.
//
// Relative file paths (file_sd files, TLS files, password/credential files) are resolved against
// the directory of the configuration file, as Prometheus does.
#ifndef METRICS_ADAPTER_SCRAPE_CONFIG_H_
#define METRICS_ADAPTER_SCRAPE_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "scrape/relabel.h"
#include "tsdb/labels.h"

namespace scrape {

inline constexpr int64_t kDefaultScrapeIntervalMs = 60 * 1000;
inline constexpr int64_t kDefaultScrapeTimeoutMs = 10 * 1000;
inline constexpr int64_t kDefaultFileSDRefreshMs = 5 * 60 * 1000;

// A group of targets sharing labels, as in static_configs and file_sd files (Prometheus'
// targetgroup.Group).
struct TargetGroup {
  // One label set per target; each holds at least "__address__" (the "host:port" written in
  // `targets`). Service discovery may add "__meta_*" labels.
  std::vector<tsdb::Labels> targets;
  // Labels shared by every target of the group; a target's own labels take precedence.
  tsdb::Labels labels;
  // Where the group comes from, unique within its provider: the index in static_configs ("0",
  // "1", ...) or "<file>:<index>" for file_sd, as Prometheus names its sources.
  std::string source;

  friend bool operator==(const TargetGroup&, const TargetGroup&) = default;
};

struct FileSDConfig {
  // Paths (absolute after loading) of .json/.yml/.yaml files; the last path element may hold a
  // '*' glob (see file_sd.h).
  std::vector<std::string> files;
  int64_t refresh_interval_ms = kDefaultFileSDRefreshMs;
};

struct TLSConfig {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;
  bool insecure_skip_verify = false;
  // "TLS10", "TLS11", "TLS12", "TLS13" or "" (the library's default), as Prometheus spells them.
  std::string min_version;
  std::string max_version;

  friend bool operator==(const TLSConfig&, const TLSConfig&) = default;
};

struct BasicAuth {
  std::string username;
  std::string password;       // at most one of password and password_file is set
  std::string password_file;  // read at each scrape (Prometheus reads it per request)

  friend bool operator==(const BasicAuth&, const BasicAuth&) = default;
};

// The Authorization header: "<type> <credentials>".
struct Authorization {
  std::string type;  // "Bearer" when credentials are set and no type is given
  std::string credentials;
  std::string credentials_file;  // at most one of credentials and credentials_file is set

  friend bool operator==(const Authorization&, const Authorization&) = default;
};

// The roles of Kubernetes service discovery (Prometheus' kubernetes.Role, without `ingress`).
enum class KubernetesRole { kPod, kService, kEndpoints, kEndpointSlice, kNode };

// "pod", "service", "endpoints", "endpointslice", "node".
std::string_view KubernetesRoleName(KubernetesRole role);

// One term of a field selector: `field=value`, `field==value` (equal) or `field!=value`.
struct FieldRequirement {
  std::string field;  // e.g. "metadata.name", "spec.nodeName"
  bool equal = true;  // false for !=
  std::string value;  // unescaped (Kubernetes escapes ',', '=' and the backslash with a backslash)

  friend bool operator==(const FieldRequirement&, const FieldRequirement&) = default;
};

// One `selectors` entry: restricts the objects of `role` (which may differ from the SD role, e.g.
// pod selectors for the endpoints role) by label and field selector, in Kubernetes' text syntax.
// The label selector's syntax is checked at load; the field selector is parsed into `fields`
// (which fields are supported is the discovery's business).
struct KubernetesSelector {
  KubernetesRole role = KubernetesRole::kPod;
  std::string label;                     // e.g. "app=web,tier!=cache"; empty selects everything
  std::string field;                     // e.g. "spec.nodeName=n1"; empty selects everything
  std::vector<FieldRequirement> fields;  // `field` parsed, in the order written

  friend bool operator==(const KubernetesSelector&, const KubernetesSelector&) = default;
};

// A kubernetes_sd_configs entry (Prometheus' kubernetes.SDConfig as of v2.42).
struct KubernetesSDConfig {
  KubernetesRole role = KubernetesRole::kPod;
  // The API server to talk to, and the kubeconfig file (absolute after loading); both empty
  // means the cluster the program runs in. At most one is set.
  std::string api_server;
  std::string kubeconfig_file;
  // `namespaces`: names (empty = all namespaces) and whether to add the namespace the program
  // runs in.
  std::vector<std::string> namespaces;
  bool own_namespace = false;
  // At most one per role, each role allowed for `role` (see the file comment).
  std::vector<KubernetesSelector> selectors;
  // attach_metadata.node: add the node's labels to pod (and endpoints) targets.
  bool attach_node_metadata = false;

  // HTTP client settings for api_server, as in a scrape config (accepted only with api_server).
  TLSConfig tls_config;
  bool has_basic_auth = false;
  BasicAuth basic_auth;
  bool has_authorization = false;  // also set by bearer_token / bearer_token_file
  Authorization authorization;
  std::string bearer_token_file;
  bool follow_redirects = true;
  bool enable_http2 = true;

  int line = 0;  // line of the entry in the file, for messages

  friend bool operator==(const KubernetesSDConfig&, const KubernetesSDConfig&) = default;
};

struct ScrapeConfig {
  std::string job_name;
  int64_t scrape_interval_ms = 0;  // after loading: never 0 (inherited from global)
  int64_t scrape_timeout_ms = 0;   // after loading: never 0, <= scrape_interval_ms
  std::string metrics_path = "/metrics";
  // "http" or "https"; anything else is refused at load (Prometheus accepts any word here and
  // fails each scrape instead).
  std::string scheme = "http";
  // URL query parameters; each name maps to its values in order (Prometheus' url.Values).
  std::map<std::string, std::vector<std::string>> params;
  bool honor_labels = false;
  bool honor_timestamps = true;

  std::vector<TargetGroup> static_configs;
  std::vector<FileSDConfig> file_sd_configs;
  std::vector<KubernetesSDConfig> kubernetes_sd_configs;

  std::vector<RelabelRule> relabel_configs;         // compiled
  std::vector<RelabelRule> metric_relabel_configs;  // compiled

  // 0 means no limit, as in Prometheus.
  uint64_t sample_limit = 0;
  uint64_t target_limit = 0;
  uint64_t label_limit = 0;
  uint64_t label_name_length_limit = 0;
  uint64_t label_value_length_limit = 0;
  // Bytes; written with Prometheus' base-2 units ("10MB" = "10MiB" = 10485760, "512KB", "1.5GB");
  // a negative value is stored as 0 (no limit), as Prometheus treats it.
  int64_t body_size_limit = 0;

  // HTTP client.
  TLSConfig tls_config;
  bool has_basic_auth = false;
  BasicAuth basic_auth;
  // Set from `authorization` or, as Prometheus does, from `bearer_token` / `bearer_token_file`
  // (type "Bearer"); the HTTP client needs to look only here.
  bool has_authorization = false;
  Authorization authorization;
  // As written (resolved path); already folded into `authorization`. Kept for display.
  std::string bearer_token_file;
  bool follow_redirects = true;
  bool enable_http2 = true;

  int line = 0;  // line of the entry in the file, for messages
};

struct GlobalConfig {
  int64_t scrape_interval_ms = kDefaultScrapeIntervalMs;
  int64_t scrape_timeout_ms = kDefaultScrapeTimeoutMs;
  tsdb::Labels external_labels;
};

struct Config {
  GlobalConfig global;
  std::vector<ScrapeConfig> scrape_configs;
  // Recognised Prometheus keys that are ignored, e.g. "rule_files", "global.evaluation_interval".
  std::vector<std::string> ignored_fields;
  std::string source;  // the file name given to the loader
  std::string text;    // the YAML it was loaded from
};

// Loads a configuration file. Errors name the file, line and key (InvalidArgument), or say why the
// file cannot be read (NotFound, PermissionDenied, ...). Relative paths in the file are resolved
// against the file's directory.
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// Loads configuration text. source_name prefixes messages; relative paths are resolved against
// base_dir when it is not empty and left as they are otherwise.
absl::StatusOr<Config> LoadConfigString(std::string_view yaml, std::string_view source_name,
                                        std::string_view base_dir = "");

// Prometheus' config.CheckTargetAddress: an address containing '/' (a URL written where
// "host:port" belongs) is refused: "\"http://a:80\" is not a valid hostname".
absl::Status CheckTargetAddress(std::string_view address);

}  // namespace scrape

#endif  // METRICS_ADAPTER_SCRAPE_CONFIG_H_
