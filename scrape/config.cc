#include "scrape/config.h"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "re2/re2.h"
#include "scrape/config_internal.h"
#include "scrape/file_sd.h"
#include "tsdb/duration.h"
#include "tsdb/utf8.h"
#include "yaml-cpp/yaml.h"

namespace scrape {
namespace {

using internal::YamlContext;

// Sections of prometheus.yml this program ignores.
constexpr std::string_view kIgnoredTopLevel[] = {"alerting",    "rule_files", "remote_write",
                                                 "remote_read", "storage",    "tracing"};

// Service discovery mechanisms Prometheus 2.42 knows and this program does not implement.
constexpr std::string_view kUnsupportedSD[] = {
    "azure_sd_configs",     "consul_sd_configs",      "digitalocean_sd_configs",
    "docker_sd_configs",    "dockerswarm_sd_configs", "dns_sd_configs",
    "ec2_sd_configs",       "eureka_sd_configs",      "gce_sd_configs",
    "hetzner_sd_configs",   "http_sd_configs",        "ionos_sd_configs",
    "kuma_sd_configs",      "lightsail_sd_configs",   "linode_sd_configs",
    "marathon_sd_configs",  "nerve_sd_configs",       "nomad_sd_configs",
    "openstack_sd_configs", "ovhcloud_sd_configs",    "puppetdb_sd_configs",
    "scaleway_sd_configs",  "serverset_sd_configs",   "triton_sd_configs",
    "uyuni_sd_configs",     "vultr_sd_configs",
};

// HTTP client settings Prometheus 2.42 knows and this program does not implement.
constexpr std::string_view kUnsupportedHttp[] = {"oauth2", "proxy_url", "proxy_connect_header"};

bool Contains(std::span<const std::string_view> list, std::string_view s) {
  for (std::string_view x : list) {
    if (x == s) return true;
  }
  return false;
}

// Go's path/filepath.Join(dir, path) for a relative path, cleaned lexically like filepath.Clean.
std::string CleanPath(const std::string& path) {
  if (path.empty()) return ".";
  const bool rooted = path[0] == '/';
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    i = j + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(part);
      }
      continue;
    }
    parts.push_back(part);
  }
  std::string out = rooted ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out += '/';
    out += parts[k];
  }
  if (out.empty()) return ".";
  return out;
}

std::string JoinDir(std::string_view dir, const std::string& path) {
  if (dir.empty() || path.empty() || path[0] == '/') return path;
  return CleanPath(absl::StrCat(absl::string_view(dir.data(), dir.size()), "/", path));
}

// Prometheus' units.ParseBase2Bytes: a sequence of <number><unit> terms (fractions allowed, an
// optional sign in front), units B, KB/KiB, MB/MiB, ... EB/EiB, all powers of 1024; "0" alone is
// zero. The units of one value come from one family (all "iB" or all "B").
absl::StatusOr<int64_t> ParseBase2Bytes(std::string_view s) {
  const std::string_view orig = s;
  auto invalid = [&]() {
    return absl::InvalidArgumentError(absl::StrFormat("units: invalid %s", orig));
  };
  auto parse_with = [&](bool iec) -> absl::StatusOr<int64_t> {
    std::string_view in = s;
    bool neg = false;
    if (!in.empty() && (in[0] == '-' || in[0] == '+')) {
      neg = in[0] == '-';
      in.remove_prefix(1);
    }
    if (in == "0") return 0;
    if (in.empty()) return invalid();
    double total = 0;
    while (!in.empty()) {
      if (!(in[0] == '.' || (in[0] >= '0' && in[0] <= '9'))) return invalid();
      double term = 0;
      size_t i = 0;
      bool pre = false;
      while (i < in.size() && in[i] >= '0' && in[i] <= '9') {
        term = term * 10 + (in[i] - '0');
        pre = true;
        ++i;
      }
      bool post = false;
      if (i < in.size() && in[i] == '.') {
        ++i;
        double scale = 1;
        while (i < in.size() && in[i] >= '0' && in[i] <= '9') {
          scale /= 10;
          term += (in[i] - '0') * scale;
          post = true;
          ++i;
        }
      }
      if (!pre && !post) return invalid();
      size_t u = i;
      while (u < in.size() && !(in[u] == '.' || (in[u] >= '0' && in[u] <= '9'))) ++u;
      const std::string_view unit = in.substr(i, u - i);
      in.remove_prefix(u);
      static constexpr std::string_view kPrefixes = "KMGTPE";
      double mult = -1;
      if (unit == "B") {
        mult = 1;
      } else if (unit.size() == (iec ? 3u : 2u) &&
                 kPrefixes.find(unit[0]) != std::string_view::npos &&
                 unit.substr(1) == (iec ? "iB" : "B")) {
        mult = std::pow(1024.0, static_cast<double>(kPrefixes.find(unit[0]) + 1));
      }
      if (mult < 0) {
        return absl::InvalidArgumentError(
            absl::StrFormat("units: unknown unit %s in %s", unit, orig));
      }
      total += term * mult;
    }
    if (neg) total = -total;
    if (total < -9223372036854775808.0 || total >= 9223372036854775808.0) {
      return absl::InvalidArgumentError("units: overflow parsing unit");
    }
    return static_cast<int64_t>(total);
  };
  absl::StatusOr<int64_t> v = parse_with(true);
  if (v.ok()) return v;
  return parse_with(false);
}

// Kubernetes' label selector syntax (k8s.io/apimachinery labels.Parse), checked requirement by
// requirement: `key`, `!key`, `key=v`, `key==v`, `key!=v`, `key in (v,...)`, `key notin (v,...)`,
// `key>N`, `key<N`. Keys are qualified names with an optional DNS-subdomain prefix; values are
// empty or label values. Returns "" when valid, else what is wrong.
std::string CheckLabelSelectorSyntax(std::string_view text) {
  static const std::string kKey =
      R"re((?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)re";
  static const std::string kVal = R"re((?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?)re";
  static const RE2* const kForms = [] {
    std::string re =
        R"re(\s*(?:!\s*KEY|KEY|KEY\s*(?:==|!=|=)\s*VAL|KEY\s+(?:in|notin)\s*\(\s*VAL(?:\s*,\s*VAL)*\s*\)|KEY\s*[<>]\s*-?[0-9]+)\s*)re";
    std::string out;
    for (size_t i = 0; i < re.size();) {
      if (re.compare(i, 3, "KEY") == 0) {
        out += kKey;
        i += 3;
      } else if (re.compare(i, 3, "VAL") == 0) {
        out += kVal;
        i += 3;
      } else {
        out += re[i++];
      }
    }
    return new RE2(out);
  }();
  if (text.find_first_not_of(" \t\n\r") == std::string_view::npos) return "";
  // Split on commas outside parentheses.
  std::vector<std::string_view> parts;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || (text[i] == ',' && depth == 0)) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    } else if (text[i] == '(') {
      ++depth;
    } else if (text[i] == ')') {
      --depth;
    }
  }
  for (std::string_view part : parts) {
    const std::string p(part);
    if (!RE2::FullMatch(p, *kForms)) {
      return absl::StrFormat("unable to parse requirement \"%s\"", p);
    }
    // A key's name is at most 63 characters, its prefix at most 253.
    std::string_view key = part;
    while (!key.empty() && (key[0] == ' ' || key[0] == '\t' || key[0] == '!')) key.remove_prefix(1);
    const std::string_view piece = key.substr(0, key.find_first_of("=!<> \t(,"));
    const size_t slash = piece.find('/');
    const std::string_view name = slash == std::string_view::npos ? piece : piece.substr(slash + 1);
    if (name.size() > 63 || (slash != std::string_view::npos && slash > 253)) {
      return absl::StrFormat("invalid label key in \"%s\": too long", p);
    }
  }
  return "";
}

// Kubernetes' field selector syntax (k8s.io/apimachinery fields.ParseSelector): terms separated
// by unescaped commas, each `field=value`, `field==value` or `field!=value` (the first operator
// in the term counts); values escape ',', '=' and the backslash with a backslash.
absl::StatusOr<std::vector<FieldRequirement>> ParseFieldSelectorText(std::string_view text) {
  std::vector<std::string> terms;
  std::string cur;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      cur += text[i];
      cur += text[++i];
    } else if (text[i] == ',') {
      terms.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += text[i];
    }
  }
  terms.push_back(std::move(cur));
  std::vector<FieldRequirement> out;
  for (const std::string& term : terms) {
    if (term.empty()) continue;
    size_t pos = std::string::npos;
    size_t op_len = 0;
    bool equal = true;
    for (size_t i = 0; i < term.size() && pos == std::string::npos; ++i) {
      if (term.compare(i, 2, "!=") == 0) {
        pos = i, op_len = 2, equal = false;
      } else if (term.compare(i, 2, "==") == 0) {
        pos = i, op_len = 2;
      } else if (term[i] == '=') {
        pos = i, op_len = 1;
      }
    }
    if (pos == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrFormat("invalid field selector: '%s'; can't understand '%s'", text, term));
    }
    FieldRequirement r;
    r.field = term.substr(0, pos);
    r.equal = equal;
    const std::string rhs = term.substr(pos + op_len);
    for (size_t i = 0; i < rhs.size(); ++i) {
      if (rhs[i] != '\\') {
        r.value += rhs[i];
        continue;
      }
      if (i + 1 < rhs.size() && (rhs[i + 1] == '\\' || rhs[i + 1] == ',' || rhs[i + 1] == '=')) {
        r.value += rhs[++i];
        continue;
      }
      return absl::InvalidArgumentError(absl::StrFormat(
          "invalid field selector: '%s': invalid escape sequence in '%s'", text, rhs));
    }
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<KubernetesRole> ParseKubernetesRole(std::string_view name) {
  if (name == "pod") return KubernetesRole::kPod;
  if (name == "service") return KubernetesRole::kService;
  if (name == "endpoints") return KubernetesRole::kEndpoints;
  if (name == "endpointslice") return KubernetesRole::kEndpointSlice;
  if (name == "node") return KubernetesRole::kNode;
  if (name == "ingress") {
    return absl::InvalidArgumentError("role \"ingress\" is not supported");
  }
  return absl::InvalidArgumentError(absl::StrFormat("unknown Kubernetes SD role \"%s\"", name));
}

// The selector roles each SD role accepts (Prometheus' allowedSelectors).
std::vector<KubernetesRole> AllowedSelectorRoles(KubernetesRole role) {
  switch (role) {
    case KubernetesRole::kPod:
      return {KubernetesRole::kPod, KubernetesRole::kNode};
    case KubernetesRole::kService:
      return {KubernetesRole::kService};
    case KubernetesRole::kEndpoints:
      return {KubernetesRole::kPod, KubernetesRole::kService, KubernetesRole::kEndpoints};
    case KubernetesRole::kEndpointSlice:
      return {KubernetesRole::kPod, KubernetesRole::kService, KubernetesRole::kEndpointSlice};
    case KubernetesRole::kNode:
      return {KubernetesRole::kNode};
  }
  return {};
}

using tsdb::IsValidUtf8;

class Loader {
 public:
  Loader(std::string_view source, std::string_view base_dir)
      : ctx_{std::string(source)}, base_dir_(base_dir) {}

  absl::StatusOr<Config> Load(std::string_view text);

 private:
  absl::Status LoadGlobal(const YAML::Node& node, GlobalConfig* global,
                          std::vector<std::string>* ignored);
  absl::Status LoadScrapeConfig(const YAML::Node& node, size_t index, ScrapeConfig* sc);
  absl::Status LoadHttpClient(const std::string& key, const YAML::Node& key_node,
                              const YAML::Node& value, const std::string& where, ScrapeConfig* sc,
                              std::string* bearer_token, bool* handled);
  absl::Status LoadRelabelRules(const YAML::Node& node, const std::string& where,
                                std::string_view field, std::vector<RelabelRule>* rules);
  absl::Status LoadStaticConfigs(const YAML::Node& node, const std::string& where,
                                 std::vector<TargetGroup>* groups);
  absl::Status LoadFileSD(const YAML::Node& node, const std::string& where,
                          std::vector<FileSDConfig>* configs);
  absl::Status LoadTLS(const YAML::Node& node, const std::string& where, TLSConfig* tls);
  absl::Status CheckHttpClient(const YAML::Node& node, const std::string& where,
                               const std::string& bearer_token, ScrapeConfig* sc);
  absl::Status LoadKubernetesSD(const YAML::Node& node, const std::string& where,
                                std::vector<KubernetesSDConfig>* configs);
  absl::Status LoadKubernetesSDEntry(const YAML::Node& item, const std::string& where,
                                     KubernetesSDConfig* kc);

  YamlContext ctx_;
  std::string base_dir_;
};

absl::StatusOr<Config> Loader::Load(std::string_view text) {
  YAML::Node root;
  if (absl::Status st = ctx_.Parse(text, &root); !st.ok()) return st;
  Config config;
  config.source = ctx_.source;
  if (root.IsNull()) return config;  // an empty file: every default
  if (!root.IsMap()) return ctx_.Error(root, "", "the configuration must be a mapping");
  // Held in optionals: assigning to a yaml-cpp Node that refers to a node rewrites the tree.
  std::optional<YAML::Node> global_node;
  std::optional<YAML::Node> scrape_node;
  absl::Status st = ctx_.ForEachField(
      root, "", [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
        if (key == "global") {
          global_node.emplace(value);
          return absl::OkStatus();
        }
        if (key == "scrape_configs") {
          scrape_node.emplace(value);
          return absl::OkStatus();
        }
        if (Contains(kIgnoredTopLevel, key)) {
          config.ignored_fields.push_back(key);
          return absl::OkStatus();
        }
        return ctx_.UnknownField(key_node, "", key);
      });
  if (!st.ok()) return st;
  if (global_node) {
    if (st = LoadGlobal(*global_node, &config.global, &config.ignored_fields); !st.ok()) return st;
  }
  if (scrape_node && !scrape_node->IsNull()) {
    if (!scrape_node->IsSequence()) {
      return ctx_.Error(*scrape_node, "", "scrape_configs must be a list");
    }
    std::set<std::string> jobs;
    size_t index = 0;
    for (const YAML::Node& item : *scrape_node) {
      ScrapeConfig sc;
      if (st = LoadScrapeConfig(item, index, &sc); !st.ok()) return st;
      const std::string where = absl::StrFormat("scrape config \"%s\"", sc.job_name);
      // Inherit from global, then check the timeout against the interval (Prometheus' order).
      if (sc.scrape_interval_ms == 0) sc.scrape_interval_ms = config.global.scrape_interval_ms;
      if (sc.scrape_timeout_ms > sc.scrape_interval_ms) {
        return ctx_.Error(item, where,
                          absl::StrFormat("scrape_timeout (%s) greater than scrape_interval (%s)",
                                          tsdb::FormatDurationMs(sc.scrape_timeout_ms),
                                          tsdb::FormatDurationMs(sc.scrape_interval_ms)));
      }
      if (sc.scrape_timeout_ms == 0) {
        sc.scrape_timeout_ms = std::min(config.global.scrape_timeout_ms, sc.scrape_interval_ms);
      }
      if (!jobs.insert(sc.job_name).second) {
        return ctx_.Error(
            item, where,
            absl::StrFormat("found multiple scrape configs with job name \"%s\"", sc.job_name));
      }
      config.scrape_configs.push_back(std::move(sc));
      ++index;
    }
  }
  return config;
}

absl::Status Loader::LoadGlobal(const YAML::Node& node, GlobalConfig* global,
                                std::vector<std::string>* ignored) {
  const std::string where = "global";
  if (node.IsNull()) return absl::OkStatus();
  if (!node.IsMap()) return ctx_.Error(node, where, "global must be a mapping");
  int64_t interval = 0;
  int64_t timeout = 0;
  absl::Status st = ctx_.ForEachField(
      node, where,
      [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
        if (key == "scrape_interval")
          return ctx_.GetDuration(value, key_node, where, key, &interval);
        if (key == "scrape_timeout") return ctx_.GetDuration(value, key_node, where, key, &timeout);
        if (key == "evaluation_interval") {
          int64_t ignored_ms;
          ignored->push_back("global.evaluation_interval");
          return ctx_.GetDuration(value, key_node, where, key, &ignored_ms);
        }
        if (key == "query_log_file") {
          std::string ignored_s;
          ignored->push_back("global.query_log_file");
          return ctx_.GetString(value, key_node, where, key, &ignored_s);
        }
        if (key == "external_labels") {
          return ctx_.GetLabels(value, key_node, where, key, /*validate_values=*/true,
                                &global->external_labels);
        }
        return ctx_.UnknownField(key_node, where, key);
      });
  if (!st.ok()) return st;
  global->scrape_interval_ms = interval != 0 ? interval : kDefaultScrapeIntervalMs;
  if (timeout > global->scrape_interval_ms) {
    return ctx_.Error(node, where,
                      absl::StrFormat("scrape_timeout (%s) greater than scrape_interval (%s)",
                                      tsdb::FormatDurationMs(timeout),
                                      tsdb::FormatDurationMs(global->scrape_interval_ms)));
  }
  global->scrape_timeout_ms =
      timeout != 0 ? timeout : std::min(kDefaultScrapeTimeoutMs, global->scrape_interval_ms);
  return absl::OkStatus();
}

absl::Status Loader::LoadScrapeConfig(const YAML::Node& node, size_t index, ScrapeConfig* sc) {
  std::string where = absl::StrFormat("scrape config #%d", index + 1);
  if (node.IsNull()) return ctx_.Error(node, where, "empty or null scrape config section");
  if (!node.IsMap()) return ctx_.Error(node, where, "a scrape config must be a mapping");
  sc->line = YamlContext::Line(node);
  // Name the job in every message, wherever job_name appears in the mapping.
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == "job_name" && it->second.IsScalar()) {
      where = absl::StrFormat("scrape config \"%s\"", it->second.Scalar());
      break;
    }
  }
  std::string bearer_token;
  bool has_relabel = false;
  absl::Status st = ctx_.ForEachField(
      node, where,
      [&](const std::string& key, const YAML::Node& key_node,
          const YAML::Node& value) -> absl::Status {
        if (key == "job_name") return ctx_.GetString(value, key_node, where, key, &sc->job_name);
        if (key == "scrape_interval") {
          return ctx_.GetDuration(value, key_node, where, key, &sc->scrape_interval_ms);
        }
        if (key == "scrape_timeout") {
          return ctx_.GetDuration(value, key_node, where, key, &sc->scrape_timeout_ms);
        }
        if (key == "metrics_path") {
          return ctx_.GetString(value, key_node, where, key, &sc->metrics_path);
        }
        if (key == "scheme") {
          if (absl::Status s = ctx_.GetString(value, key_node, where, key, &sc->scheme); !s.ok()) {
            return s;
          }
          if (sc->scheme != "http" && sc->scheme != "https") {
            return ctx_.Error(
                key_node, where,
                absl::StrFormat("scheme: \"%s\" is not supported (http or https)", sc->scheme));
          }
          return absl::OkStatus();
        }
        if (key == "params") return ctx_.GetParams(value, key_node, where, key, &sc->params);
        if (key == "honor_labels")
          return ctx_.GetBool(value, key_node, where, key, &sc->honor_labels);
        if (key == "honor_timestamps") {
          return ctx_.GetBool(value, key_node, where, key, &sc->honor_timestamps);
        }
        if (key == "static_configs") return LoadStaticConfigs(value, where, &sc->static_configs);
        if (key == "file_sd_configs") return LoadFileSD(value, where, &sc->file_sd_configs);
        if (key == "kubernetes_sd_configs") {
          return LoadKubernetesSD(value, where, &sc->kubernetes_sd_configs);
        }
        if (key == "relabel_configs") {
          has_relabel = true;
          return LoadRelabelRules(value, where, key, &sc->relabel_configs);
        }
        if (key == "metric_relabel_configs") {
          return LoadRelabelRules(value, where, key, &sc->metric_relabel_configs);
        }
        if (key == "sample_limit")
          return ctx_.GetUint(value, key_node, where, key, &sc->sample_limit);
        if (key == "target_limit")
          return ctx_.GetUint(value, key_node, where, key, &sc->target_limit);
        if (key == "label_limit")
          return ctx_.GetUint(value, key_node, where, key, &sc->label_limit);
        if (key == "label_name_length_limit") {
          return ctx_.GetUint(value, key_node, where, key, &sc->label_name_length_limit);
        }
        if (key == "label_value_length_limit") {
          return ctx_.GetUint(value, key_node, where, key, &sc->label_value_length_limit);
        }
        if (key == "body_size_limit") {
          std::string text;
          if (absl::Status s = ctx_.GetString(value, key_node, where, key, &text); !s.ok())
            return s;
          if (value.IsNull()) return absl::OkStatus();
          absl::StatusOr<int64_t> bytes = ParseBase2Bytes(text);
          if (!bytes.ok()) {
            return ctx_.Error(key_node, where,
                              absl::StrCat(key, ": ", std::string(bytes.status().message())));
          }
          sc->body_size_limit = std::max<int64_t>(*bytes, 0);
          return absl::OkStatus();
        }
        if (Contains(kUnsupportedSD, key)) {
          return ctx_.Error(key_node, where,
                            absl::StrCat(key,
                                         " is not supported (only static_configs, "
                                         "file_sd_configs and kubernetes_sd_configs discover "
                                         "targets)"));
        }
        bool handled = false;
        if (absl::Status s =
                LoadHttpClient(key, key_node, value, where, sc, &bearer_token, &handled);
            !s.ok() || handled) {
          return s;
        }
        return ctx_.UnknownField(key_node, where, key);
      });
  if (!st.ok()) return st;
  if (sc->job_name.empty()) return ctx_.Error(node, where, "job_name is empty");

  if (absl::Status s = CheckHttpClient(node, where, bearer_token, sc); !s.ok()) return s;

  // Prometheus checks static targets for URLs only when no relabelling could rewrite them.
  if (!has_relabel || sc->relabel_configs.empty()) {
    for (const TargetGroup& g : sc->static_configs) {
      for (const tsdb::Labels& t : g.targets) {
        if (absl::Status s = CheckTargetAddress(t.Get("__address__")); !s.ok()) {
          return ctx_.Error(node, where, std::string(s.message()));
        }
      }
    }
  }
  return absl::OkStatus();
}

// The HTTP client checks, as Prometheus' HTTPClientConfig.Validate; folds bearer_token /
// bearer_token_file into sc->authorization.
absl::Status Loader::CheckHttpClient(const YAML::Node& node, const std::string& where,
                                     const std::string& bearer_token, ScrapeConfig* sc) {
  const bool has_bearer = !bearer_token.empty() || !sc->bearer_token_file.empty();
  if (!bearer_token.empty() && !sc->bearer_token_file.empty()) {
    return ctx_.Error(node, where,
                      "at most one of bearer_token & bearer_token_file must be configured");
  }
  if (sc->has_basic_auth && has_bearer) {
    return ctx_.Error(node, where,
                      "at most one of basic_auth, bearer_token & bearer_token_file must be "
                      "configured");
  }
  if (sc->has_basic_auth && !sc->basic_auth.password.empty() &&
      !sc->basic_auth.password_file.empty()) {
    return ctx_.Error(node, where,
                      "at most one of basic_auth password & password_file must be configured");
  }
  if (sc->has_authorization) {
    if (has_bearer) {
      return ctx_.Error(node, where,
                        "authorization is not compatible with bearer_token & bearer_token_file");
    }
    Authorization& a = sc->authorization;
    if (!a.credentials.empty() && !a.credentials_file.empty()) {
      return ctx_.Error(
          node, where,
          "at most one of authorization credentials & credentials_file must be configured");
    }
    a.type = std::string(absl::StripAsciiWhitespace(a.type));
    if (a.type.empty()) a.type = "Bearer";
    if (absl::AsciiStrToLower(a.type) == "basic") {
      return ctx_.Error(node, where,
                        "authorization type cannot be set to \"basic\", use \"basic_auth\" "
                        "instead");
    }
    if (sc->has_basic_auth) {
      return ctx_.Error(node, where,
                        "at most one of basic_auth & authorization must be configured");
    }
  } else if (has_bearer) {
    sc->has_authorization = true;
    sc->authorization.type = "Bearer";
    sc->authorization.credentials = bearer_token;
    sc->authorization.credentials_file = sc->bearer_token_file;
  }
  return absl::OkStatus();
}

absl::Status Loader::LoadHttpClient(const std::string& key, const YAML::Node& key_node,
                                    const YAML::Node& value, const std::string& where,
                                    ScrapeConfig* sc, std::string* bearer_token, bool* handled) {
  *handled = true;
  if (key == "tls_config") return LoadTLS(value, where + " tls_config", &sc->tls_config);
  if (key == "basic_auth") {
    if (value.IsNull()) return absl::OkStatus();
    if (!value.IsMap()) return ctx_.Error(key_node, where, "basic_auth must be a mapping");
    sc->has_basic_auth = true;
    const std::string w = where + " basic_auth";
    BasicAuth& b = sc->basic_auth;
    absl::Status st = ctx_.ForEachField(
        value, w, [&](const std::string& k, const YAML::Node& kn, const YAML::Node& v) {
          if (k == "username") return ctx_.GetString(v, kn, w, k, &b.username);
          if (k == "password") return ctx_.GetString(v, kn, w, k, &b.password);
          if (k == "password_file") return ctx_.GetString(v, kn, w, k, &b.password_file);
          return ctx_.UnknownField(kn, w, k);
        });
    b.password_file = JoinDir(base_dir_, b.password_file);
    return st;
  }
  if (key == "authorization") {
    if (value.IsNull()) return absl::OkStatus();
    if (!value.IsMap()) return ctx_.Error(key_node, where, "authorization must be a mapping");
    sc->has_authorization = true;
    const std::string w = where + " authorization";
    Authorization& a = sc->authorization;
    absl::Status st = ctx_.ForEachField(
        value, w, [&](const std::string& k, const YAML::Node& kn, const YAML::Node& v) {
          if (k == "type") return ctx_.GetString(v, kn, w, k, &a.type);
          if (k == "credentials") return ctx_.GetString(v, kn, w, k, &a.credentials);
          if (k == "credentials_file") return ctx_.GetString(v, kn, w, k, &a.credentials_file);
          return ctx_.UnknownField(kn, w, k);
        });
    a.credentials_file = JoinDir(base_dir_, a.credentials_file);
    return st;
  }
  if (key == "bearer_token") return ctx_.GetString(value, key_node, where, key, bearer_token);
  if (key == "bearer_token_file") {
    absl::Status st = ctx_.GetString(value, key_node, where, key, &sc->bearer_token_file);
    sc->bearer_token_file = JoinDir(base_dir_, sc->bearer_token_file);
    return st;
  }
  if (key == "follow_redirects") {
    return ctx_.GetBool(value, key_node, where, key, &sc->follow_redirects);
  }
  if (key == "enable_http2") return ctx_.GetBool(value, key_node, where, key, &sc->enable_http2);
  if (Contains(kUnsupportedHttp, key)) {
    return ctx_.Error(key_node, where, absl::StrCat(key, " is not supported"));
  }
  *handled = false;
  return absl::OkStatus();
}

absl::Status Loader::LoadTLS(const YAML::Node& node, const std::string& where, TLSConfig* tls) {
  if (node.IsNull()) return absl::OkStatus();
  if (!node.IsMap()) return ctx_.Error(node, where, "tls_config must be a mapping");
  absl::Status st = ctx_.ForEachField(
      node, where, [&](const std::string& k, const YAML::Node& kn, const YAML::Node& v) {
        if (k == "ca_file") return ctx_.GetString(v, kn, where, k, &tls->ca_file);
        if (k == "cert_file") return ctx_.GetString(v, kn, where, k, &tls->cert_file);
        if (k == "key_file") return ctx_.GetString(v, kn, where, k, &tls->key_file);
        if (k == "server_name") return ctx_.GetString(v, kn, where, k, &tls->server_name);
        if (k == "insecure_skip_verify") {
          return ctx_.GetBool(v, kn, where, k, &tls->insecure_skip_verify);
        }
        if (k == "min_version" || k == "max_version") {
          std::string* out = k == "min_version" ? &tls->min_version : &tls->max_version;
          if (absl::Status s = ctx_.GetString(v, kn, where, k, out); !s.ok()) return s;
          if (!out->empty() && *out != "TLS10" && *out != "TLS11" && *out != "TLS12" &&
              *out != "TLS13") {
            return ctx_.Error(kn, where, absl::StrFormat("%s: unknown TLS version: %s", k, *out));
          }
          return absl::OkStatus();
        }
        return ctx_.UnknownField(kn, where, k);
      });
  if (!st.ok()) return st;
  tls->ca_file = JoinDir(base_dir_, tls->ca_file);
  tls->cert_file = JoinDir(base_dir_, tls->cert_file);
  tls->key_file = JoinDir(base_dir_, tls->key_file);
  return absl::OkStatus();
}

absl::Status Loader::LoadRelabelRules(const YAML::Node& node, const std::string& where,
                                      std::string_view field, std::vector<RelabelRule>* rules) {
  if (node.IsNull()) return absl::OkStatus();
  if (!node.IsSequence()) {
    return ctx_.Error(node, where, absl::StrFormat("%s must be a list", field));
  }
  size_t index = 0;
  for (const YAML::Node& item : node) {
    const std::string w = absl::StrFormat("%s %s[%d]", where, field, index);
    ++index;
    if (item.IsNull()) {
      return ctx_.Error(item, w,
                        field == "relabel_configs"
                            ? "empty or null target relabeling rule in scrape config"
                            : "empty or null metric relabeling rule in scrape config");
    }
    if (!item.IsMap()) return ctx_.Error(item, w, "a relabel rule must be a mapping");
    RelabelRule rule;
    absl::Status st = ctx_.ForEachField(
        item, w,
        [&](const std::string& k, const YAML::Node& kn, const YAML::Node& v) -> absl::Status {
          if (k == "source_labels") {
            if (absl::Status s = ctx_.GetStringList(v, kn, w, k, &rule.source_labels); !s.ok()) {
              return s;
            }
            for (const std::string& name : rule.source_labels) {
              if (!tsdb::IsValidLabelName(name)) {
                return ctx_.Error(
                    kn, w,
                    absl::StrFormat("source_labels: \"%s\" is not a valid label name", name));
              }
            }
            return absl::OkStatus();
          }
          if (k == "separator") return ctx_.GetString(v, kn, w, k, &rule.separator);
          if (k == "regex") return ctx_.GetString(v, kn, w, k, &rule.regex);
          if (k == "modulus") return ctx_.GetUint(v, kn, w, k, &rule.modulus);
          if (k == "target_label") return ctx_.GetString(v, kn, w, k, &rule.target_label);
          if (k == "replacement") return ctx_.GetString(v, kn, w, k, &rule.replacement);
          if (k == "action") {
            if (v.IsNull()) return ctx_.Error(kn, w, "relabel action cannot be empty");
            std::string name;
            if (absl::Status s = ctx_.GetString(v, kn, w, k, &name); !s.ok()) return s;
            absl::StatusOr<RelabelAction> action = ParseRelabelAction(name);
            if (!action.ok()) return ctx_.Error(kn, w, std::string(action.status().message()));
            rule.action = *action;
            return absl::OkStatus();
          }
          return ctx_.UnknownField(kn, w, k);
        });
    if (!st.ok()) return st;
    if (absl::Status s = rule.Compile(); !s.ok()) {
      return ctx_.Error(item, w, std::string(s.message()));
    }
    rules->push_back(std::move(rule));
  }
  return absl::OkStatus();
}

absl::Status Loader::LoadStaticConfigs(const YAML::Node& node, const std::string& where,
                                       std::vector<TargetGroup>* groups) {
  if (node.IsNull()) return absl::OkStatus();
  if (!node.IsSequence()) return ctx_.Error(node, where, "static_configs must be a list");
  for (const YAML::Node& item : node) {
    const std::string w = absl::StrFormat("%s static_configs[%d]", where, groups->size());
    TargetGroup group;
    group.source = absl::StrCat(groups->size());
    if (absl::Status st = internal::DecodeTargetGroupYaml(ctx_, item, w, &group); !st.ok()) {
      return st;
    }
    groups->push_back(std::move(group));
  }
  return absl::OkStatus();
}

absl::Status Loader::LoadFileSD(const YAML::Node& node, const std::string& where,
                                std::vector<FileSDConfig>* configs) {
  if (node.IsNull()) return absl::OkStatus();
  if (!node.IsSequence()) return ctx_.Error(node, where, "file_sd_configs must be a list");
  for (const YAML::Node& item : node) {
    const std::string w = absl::StrFormat("%s file_sd_configs[%d]", where, configs->size());
    FileSDConfig fc;
    if (item.IsNull()) {
      return ctx_.Error(item, w,
                        "file service discovery config must contain at least one path name");
    }
    if (!item.IsMap()) return ctx_.Error(item, w, "a file_sd config must be a mapping");
    absl::Status st = ctx_.ForEachField(
        item, w, [&](const std::string& k, const YAML::Node& kn, const YAML::Node& v) {
          if (k == "files") return ctx_.GetStringList(v, kn, w, k, &fc.files);
          if (k == "refresh_interval") {
            int64_t ms = 0;
            absl::Status s = ctx_.GetDuration(v, kn, w, k, &ms);
            if (s.ok() && !v.IsNull()) fc.refresh_interval_ms = ms;
            return s;
          }
          return ctx_.UnknownField(kn, w, k);
        });
    if (!st.ok()) return st;
    if (fc.files.empty()) {
      return ctx_.Error(item, w,
                        "file service discovery config must contain at least one path name");
    }
    for (std::string& f : fc.files) {
      if (!IsValidFileSDPattern(f)) {
        return ctx_.Error(item, w,
                          absl::StrFormat("path name \"%s\" is not valid for file discovery", f));
      }
      f = JoinDir(base_dir_, f);
    }
    configs->push_back(std::move(fc));
  }
  return absl::OkStatus();
}

absl::Status Loader::LoadKubernetesSD(const YAML::Node& node, const std::string& where,
                                      std::vector<KubernetesSDConfig>* configs) {
  if (node.IsNull()) return absl::OkStatus();
  if (!node.IsSequence()) return ctx_.Error(node, where, "kubernetes_sd_configs must be a list");
  for (const YAML::Node& item : node) {
    const std::string w = absl::StrFormat("%s kubernetes_sd_configs[%d]", where, configs->size());
    KubernetesSDConfig kc;
    if (absl::Status st = LoadKubernetesSDEntry(item, w, &kc); !st.ok()) return st;
    configs->push_back(std::move(kc));
  }
  return absl::OkStatus();
}

absl::Status Loader::LoadKubernetesSDEntry(const YAML::Node& item, const std::string& w,
                                           KubernetesSDConfig* kc) {
  if (item.IsNull() || !item.IsMap()) {
    return ctx_.Error(item, w, "a kubernetes_sd_configs entry must be a mapping");
  }
  kc->line = YamlContext::Line(item);
  bool has_role = false;
  // The HTTP client keys, decoded as in a scrape config.
  ScrapeConfig http;
  std::string bearer_token;
  bool custom_http = false;
  absl::Status st = ctx_.ForEachField(
      item, w,
      [&](const std::string& k, const YAML::Node& kn, const YAML::Node& v) -> absl::Status {
        if (k == "role") {
          std::string name;
          if (absl::Status s = ctx_.GetString(v, kn, w, k, &name); !s.ok()) return s;
          absl::StatusOr<KubernetesRole> role = ParseKubernetesRole(name);
          if (!role.ok()) return ctx_.Error(kn, w, std::string(role.status().message()));
          kc->role = *role;
          has_role = true;
          return absl::OkStatus();
        }
        if (k == "api_server") {
          if (absl::Status s = ctx_.GetString(v, kn, w, k, &kc->api_server); !s.ok()) return s;
          if (!kc->api_server.empty() &&
              (kc->api_server.find_first_of(" \t\r\n") != std::string::npos ||
               kc->api_server.find("://") == std::string::npos)) {
            return ctx_.Error(kn, w,
                              absl::StrFormat("api_server: \"%s\" is not a URL", kc->api_server));
          }
          return absl::OkStatus();
        }
        if (k == "kubeconfig_file") {
          absl::Status s = ctx_.GetString(v, kn, w, k, &kc->kubeconfig_file);
          kc->kubeconfig_file = JoinDir(base_dir_, kc->kubeconfig_file);
          return s;
        }
        if (k == "namespaces") {
          if (v.IsNull()) return absl::OkStatus();
          if (!v.IsMap()) return ctx_.Error(kn, w, "namespaces must be a mapping");
          const std::string nw = w + " namespaces";
          return ctx_.ForEachField(
              v, nw, [&](const std::string& nk, const YAML::Node& nkn, const YAML::Node& nv) {
                if (nk == "names") return ctx_.GetStringList(nv, nkn, nw, nk, &kc->namespaces);
                if (nk == "own_namespace") {
                  return ctx_.GetBool(nv, nkn, nw, nk, &kc->own_namespace);
                }
                return ctx_.UnknownField(nkn, nw, nk);
              });
        }
        if (k == "attach_metadata") {
          if (v.IsNull()) return absl::OkStatus();
          if (!v.IsMap()) return ctx_.Error(kn, w, "attach_metadata must be a mapping");
          const std::string aw = w + " attach_metadata";
          return ctx_.ForEachField(
              v, aw, [&](const std::string& ak, const YAML::Node& akn, const YAML::Node& av) {
                if (ak == "node") return ctx_.GetBool(av, akn, aw, ak, &kc->attach_node_metadata);
                return ctx_.UnknownField(akn, aw, ak);
              });
        }
        if (k == "selectors") {
          if (v.IsNull()) return absl::OkStatus();
          if (!v.IsSequence()) return ctx_.Error(kn, w, "selectors must be a list");
          for (const YAML::Node& sel : v) {
            const std::string sw = absl::StrFormat("%s selectors[%d]", w, kc->selectors.size());
            if (sel.IsNull() || !sel.IsMap()) {
              return ctx_.Error(sel, sw, "a selector must be a mapping");
            }
            KubernetesSelector ks;
            bool has_sel_role = false;
            absl::Status ss = ctx_.ForEachField(
                sel, sw,
                [&](const std::string& sk, const YAML::Node& skn,
                    const YAML::Node& sv) -> absl::Status {
                  if (sk == "role") {
                    std::string name;
                    if (absl::Status s = ctx_.GetString(sv, skn, sw, sk, &name); !s.ok()) {
                      return s;
                    }
                    absl::StatusOr<KubernetesRole> role = ParseKubernetesRole(name);
                    if (!role.ok()) {
                      return ctx_.Error(skn, sw, std::string(role.status().message()));
                    }
                    ks.role = *role;
                    has_sel_role = true;
                    return absl::OkStatus();
                  }
                  if (sk == "label") {
                    if (absl::Status s = ctx_.GetString(sv, skn, sw, sk, &ks.label); !s.ok()) {
                      return s;
                    }
                    if (std::string e = CheckLabelSelectorSyntax(ks.label); !e.empty()) {
                      return ctx_.Error(skn, sw, absl::StrCat("label: ", e));
                    }
                    return absl::OkStatus();
                  }
                  if (sk == "field") {
                    if (absl::Status s = ctx_.GetString(sv, skn, sw, sk, &ks.field); !s.ok()) {
                      return s;
                    }
                    absl::StatusOr<std::vector<FieldRequirement>> fields =
                        ParseFieldSelectorText(ks.field);
                    if (!fields.ok()) {
                      return ctx_.Error(skn, sw, std::string(fields.status().message()));
                    }
                    ks.fields = std::move(*fields);
                    return absl::OkStatus();
                  }
                  return ctx_.UnknownField(skn, sw, sk);
                });
            if (!ss.ok()) return ss;
            if (!has_sel_role) {
              return ctx_.Error(sel, sw,
                                "role missing (one of: pod, service, endpoints, endpointslice, "
                                "node)");
            }
            kc->selectors.push_back(std::move(ks));
          }
          return absl::OkStatus();
        }
        bool handled = false;
        if (absl::Status s = LoadHttpClient(k, kn, v, w, &http, &bearer_token, &handled);
            !s.ok() || handled) {
          if (handled && !v.IsNull()) custom_http = true;
          return s;
        }
        return ctx_.UnknownField(kn, w, k);
      });
  if (!st.ok()) return st;
  if (!has_role) {
    return ctx_.Error(item, w,
                      "role missing (one of: pod, service, endpoints, endpointslice, node)");
  }
  if (absl::Status s = CheckHttpClient(item, w, bearer_token, &http); !s.ok()) return s;
  kc->tls_config = http.tls_config;
  kc->has_basic_auth = http.has_basic_auth;
  kc->basic_auth = http.basic_auth;
  kc->has_authorization = http.has_authorization;
  kc->authorization = http.authorization;
  kc->bearer_token_file = http.bearer_token_file;
  kc->follow_redirects = http.follow_redirects;
  kc->enable_http2 = http.enable_http2;
  // A key written with its default value does not make the client custom (Prometheus compares
  // with the default configuration).
  custom_http = custom_http &&
                (http.has_basic_auth || http.has_authorization || http.tls_config != TLSConfig{} ||
                 !http.follow_redirects || !http.enable_http2);

  // Prometheus' checks, in its order.
  if (!kc->api_server.empty() && !kc->kubeconfig_file.empty()) {
    return ctx_.Error(item, w, "cannot use 'kubeconfig_file' and 'api_server' simultaneously");
  }
  if (!kc->kubeconfig_file.empty() && custom_http) {
    return ctx_.Error(item, w,
                      "cannot use custom HTTP client configuration together with "
                      "'kubeconfig_file'");
  }
  if (kc->api_server.empty() && custom_http) {
    return ctx_.Error(item, w,
                      "to use custom HTTP client configuration please provide the 'api_server' "
                      "URL explicitly");
  }
  if (!kc->api_server.empty() && kc->own_namespace) {
    return ctx_.Error(item, w,
                      "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously");
  }
  if (!kc->kubeconfig_file.empty() && kc->own_namespace) {
    return ctx_.Error(item, w,
                      "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously");
  }
  const std::vector<KubernetesRole> allowed = AllowedSelectorRoles(kc->role);
  std::set<KubernetesRole> seen;
  for (const KubernetesSelector& ks : kc->selectors) {
    if (!seen.insert(ks.role).second) {
      return ctx_.Error(
          item, w, absl::StrFormat("duplicated selector role: %s", KubernetesRoleName(ks.role)));
    }
    if (std::find(allowed.begin(), allowed.end(), ks.role) == allowed.end()) {
      std::vector<std::string> names;
      names.reserve(allowed.size());
      for (KubernetesRole r : allowed) names.emplace_back(KubernetesRoleName(r));
      return ctx_.Error(item, w,
                        absl::StrFormat("%s role supports only %s selectors",
                                        KubernetesRoleName(kc->role), absl::StrJoin(names, ", ")));
    }
  }
  return absl::OkStatus();
}
}  // namespace

namespace internal {

int YamlContext::Line(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

absl::Status YamlContext::Parse(std::string_view text, YAML::Node* root) const {
  try {
    *root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    const int line = e.mark.line >= 0 ? e.mark.line + 1 : 0;
    return absl::InvalidArgumentError(
        line > 0 ? absl::StrFormat("%s:%d: invalid YAML: %s", source, line, e.msg)
                 : absl::StrFormat("%s: invalid YAML: %s", source, e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: invalid YAML: %s", source, e.what()));
  }
  return absl::OkStatus();
}

absl::Status YamlContext::Error(const YAML::Node& node, std::string_view where,
                                std::string_view message) const {
  return ErrorAtLine(Line(node), where, message);
}

absl::Status YamlContext::ErrorAtLine(int line, std::string_view where,
                                      std::string_view message) const {
  std::string out = source;
  if (line > 0) absl::StrAppend(&out, ":", line);
  absl::StrAppend(&out, ": ");
  if (!where.empty()) absl::StrAppend(&out, absl::string_view(where.data(), where.size()), ": ");
  absl::StrAppend(&out, absl::string_view(message.data(), message.size()));
  return absl::InvalidArgumentError(out);
}

absl::Status YamlContext::UnknownField(const YAML::Node& key_node, std::string_view where,
                                       std::string_view key) const {
  return Error(key_node, where, absl::StrFormat("unknown field \"%s\"", key));
}

absl::Status YamlContext::ForEachField(
    const YAML::Node& map, std::string_view where,
    const std::function<absl::Status(const std::string&, const YAML::Node&, const YAML::Node&)>& fn)
    const {
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    // Copies: the iterator hands out a temporary pair (yaml-cpp nodes are shared handles).
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) return Error(key, where, "mapping keys must be strings");
    const std::string& name = key.Scalar();
    if (!seen.insert(name).second) {
      return Error(key, where, absl::StrFormat("field \"%s\" already set", name));
    }
    if (absl::Status st = fn(name, key, value); !st.ok()) return st;
  }
  return absl::OkStatus();
}

namespace {
const char* KindName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Null:
      return "null";
    default:
      return "a scalar";
  }
}

// Whether a scalar was written plain (not quoted, no explicit tag): only those resolve to
// booleans and numbers in YAML 1.1, as in Go's yaml.v2.
bool IsPlain(const YAML::Node& n) { return n.Tag() == "?"; }
}  // namespace

absl::Status YamlContext::GetString(const YAML::Node& v, const YAML::Node& key,
                                    std::string_view where, std::string_view field,
                                    std::string* out) const {
  if (v.IsNull()) {
    out->clear();
    return absl::OkStatus();
  }
  if (!v.IsScalar()) {
    return Error(v.IsDefined() ? v : key, where,
                 absl::StrFormat("%s: expected a string, got %s", field, KindName(v)));
  }
  *out = v.Scalar();
  return absl::OkStatus();
}

absl::Status YamlContext::GetBool(const YAML::Node& v, const YAML::Node& key,
                                  std::string_view where, std::string_view field, bool* out) const {
  if (v.IsNull()) {
    *out = false;
    return absl::OkStatus();
  }
  if (v.IsScalar() && IsPlain(v)) {
    static constexpr std::string_view kTrue[] = {"y",  "Y",  "yes",  "Yes",  "YES", "on",
                                                 "On", "ON", "true", "True", "TRUE"};
    static constexpr std::string_view kFalse[] = {"n",   "N",   "no",    "No",    "NO",   "off",
                                                  "Off", "OFF", "false", "False", "FALSE"};
    if (Contains(kTrue, v.Scalar())) {
      *out = true;
      return absl::OkStatus();
    }
    if (Contains(kFalse, v.Scalar())) {
      *out = false;
      return absl::OkStatus();
    }
  }
  return Error(v, where,
               v.IsScalar()
                   ? absl::StrFormat("%s: \"%s\" is not a boolean", field, v.Scalar())
                   : absl::StrFormat("%s: expected a boolean, got %s", field, KindName(v)));
}

absl::Status YamlContext::GetUint(const YAML::Node& v, const YAML::Node& key,
                                  std::string_view where, std::string_view field,
                                  uint64_t* out) const {
  if (v.IsNull()) {
    *out = 0;
    return absl::OkStatus();
  }
  auto bad = [&]() {
    return Error(
        v, where,
        v.IsScalar()
            ? absl::StrFormat("%s: \"%s\" is not a non-negative integer", field, v.Scalar())
            : absl::StrFormat("%s: expected an integer, got %s", field, KindName(v)));
  };
  if (!v.IsScalar() || !IsPlain(v)) return bad();
  // YAML 1.1 integers as Go's yaml.v2 resolves them: an optional sign, '_' separators, and the
  // prefixes 0x, 0o, 0b and a leading 0 for octal (strconv.ParseInt with base 0).
  std::string s;
  for (char c : v.Scalar()) {
    if (c != '_') s.push_back(c);
  }
  std::string_view d = s;
  bool neg = false;
  if (!d.empty() && (d[0] == '+' || d[0] == '-')) {
    neg = d[0] == '-';
    d.remove_prefix(1);
  }
  int base = 10;
  if (d.size() > 2 && d[0] == '0' && (d[1] == 'x' || d[1] == 'X')) {
    base = 16, d.remove_prefix(2);
  } else if (d.size() > 2 && d[0] == '0' && (d[1] == 'o' || d[1] == 'O')) {
    base = 8, d.remove_prefix(2);
  } else if (d.size() > 2 && d[0] == '0' && (d[1] == 'b' || d[1] == 'B')) {
    base = 2, d.remove_prefix(2);
  } else if (d.size() > 1 && d[0] == '0') {
    base = 8, d.remove_prefix(1);
  }
  bool is_int = !d.empty();
  uint64_t value = 0;
  for (char c : d) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      is_int = false;
      break;
    }
    if (digit >= base) {
      is_int = false;
      break;
    }
    if (value > (UINT64_MAX - static_cast<uint64_t>(digit)) / static_cast<uint64_t>(base)) {
      return Error(v, where, absl::StrFormat("%s: \"%s\" is out of range", field, v.Scalar()));
    }
    value = value * base + static_cast<uint64_t>(digit);
  }
  if (is_int) {
    if (neg && value != 0) return bad();
    *out = value;
    return absl::OkStatus();
  }
  // A YAML float with an integral part only (yaml.v2 truncates floats into unsigned fields).
  static const std::string_view kFloatChars = "0123456789.eE+-";
  if (s.empty() || s.find_first_not_of(kFloatChars) != std::string::npos) return bad();
  char* end = nullptr;
  errno = 0;
  const double f = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno != 0 || !(f >= 0) || f >= 18446744073709551616.0) {
    return bad();
  }
  *out = static_cast<uint64_t>(f);
  return absl::OkStatus();
}

absl::Status YamlContext::GetDuration(const YAML::Node& v, const YAML::Node& key,
                                      std::string_view where, std::string_view field,
                                      int64_t* out_ms) const {
  if (v.IsNull()) {
    *out_ms = 0;
    return absl::OkStatus();
  }
  if (!v.IsScalar()) {
    return Error(v, where, absl::StrFormat("%s: expected a duration, got %s", field, KindName(v)));
  }
  absl::StatusOr<int64_t> ms = tsdb::ParseDurationMs(v.Scalar());
  if (!ms.ok()) {
    return Error(v, where, absl::StrFormat("%s: %s", field, ms.status().message()));
  }
  *out_ms = *ms;
  return absl::OkStatus();
}

absl::Status YamlContext::GetStringList(const YAML::Node& v, const YAML::Node& key,
                                        std::string_view where, std::string_view field,
                                        std::vector<std::string>* out) const {
  out->clear();
  if (v.IsNull()) return absl::OkStatus();
  if (!v.IsSequence()) {
    return Error(v, where, absl::StrFormat("%s: expected a list, got %s", field, KindName(v)));
  }
  for (const YAML::Node& item : v) {
    std::string s;
    if (absl::Status st = GetString(item, key, where, field, &s); !st.ok()) return st;
    out->push_back(std::move(s));
  }
  return absl::OkStatus();
}

absl::Status YamlContext::GetParams(const YAML::Node& v, const YAML::Node& key,
                                    std::string_view where, std::string_view field,
                                    std::map<std::string, std::vector<std::string>>* out) const {
  out->clear();
  if (v.IsNull()) return absl::OkStatus();
  if (!v.IsMap()) {
    return Error(v, where, absl::StrFormat("%s: expected a mapping, got %s", field, KindName(v)));
  }
  const std::string w = absl::StrCat(absl::string_view(where.data(), where.size()), " ",
                                     absl::string_view(field.data(), field.size()));
  return ForEachField(v, w,
                      [&](const std::string& k, const YAML::Node& kn, const YAML::Node& values) {
                        std::vector<std::string> list;
                        absl::Status st = GetStringList(values, kn, w, k, &list);
                        (*out)[k] = std::move(list);
                        return st;
                      });
}

absl::Status YamlContext::GetLabels(const YAML::Node& v, const YAML::Node& key,
                                    std::string_view where, std::string_view field,
                                    bool validate_values, tsdb::Labels* out) const {
  *out = tsdb::Labels();
  if (v.IsNull()) return absl::OkStatus();
  if (!v.IsMap()) {
    return Error(v, where, absl::StrFormat("%s: expected a mapping, got %s", field, KindName(v)));
  }
  const std::string w = absl::StrCat(absl::string_view(where.data(), where.size()), " ",
                                     absl::string_view(field.data(), field.size()));
  std::vector<tsdb::Label> labels;
  absl::Status st =
      ForEachField(v, w, [&](const std::string& k, const YAML::Node& kn, const YAML::Node& value) {
        if (!tsdb::IsValidLabelName(k)) {
          return Error(kn, w, absl::StrFormat("\"%s\" is not a valid label name", k));
        }
        std::string s;
        if (absl::Status st = GetString(value, kn, w, k, &s); !st.ok()) return st;
        if (validate_values && !IsValidUtf8(s)) {
          return Error(kn, w, absl::StrFormat("label %s: value is not valid UTF-8", k));
        }
        labels.push_back(tsdb::Label{k, std::move(s)});
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  *out = tsdb::Labels(std::move(labels));
  return absl::OkStatus();
}

absl::Status DecodeTargetGroupYaml(const YamlContext& ctx, const YAML::Node& node,
                                   std::string_view where, TargetGroup* group) {
  if (node.IsNull()) return ctx.Error(node, where, "nil target group item found");
  if (!node.IsMap()) return ctx.Error(node, where, "a target group must be a mapping");
  return ctx.ForEachField(
      node, where,
      [&](const std::string& k, const YAML::Node& kn, const YAML::Node& v) -> absl::Status {
        if (k == "targets") {
          std::vector<std::string> targets;
          if (absl::Status st = ctx.GetStringList(v, kn, where, k, &targets); !st.ok()) return st;
          group->targets.clear();
          for (std::string& t : targets) {
            group->targets.push_back(tsdb::Labels({tsdb::Label{"__address__", std::move(t)}}));
          }
          return absl::OkStatus();
        }
        if (k == "labels") {
          return ctx.GetLabels(v, kn, where, k, /*validate_values=*/false, &group->labels);
        }
        return ctx.UnknownField(kn, where, k);
      });
}

bool IsValidUtf8String(std::string_view s) { return IsValidUtf8(s); }

std::string JoinPath(std::string_view dir, const std::string& path) { return JoinDir(dir, path); }

}  // namespace internal

std::string_view KubernetesRoleName(KubernetesRole role) {
  switch (role) {
    case KubernetesRole::kPod:
      return "pod";
    case KubernetesRole::kService:
      return "service";
    case KubernetesRole::kEndpoints:
      return "endpoints";
    case KubernetesRole::kEndpointSlice:
      return "endpointslice";
    case KubernetesRole::kNode:
      return "node";
  }
  return "unknown";
}

absl::Status CheckTargetAddress(std::string_view address) {
  if (address.find('/') != std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrFormat("\"%s\" is not a valid hostname", address));
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> LoadConfigString(std::string_view yaml, std::string_view source_name,
                                        std::string_view base_dir) {
  Loader loader(source_name, base_dir);
  try {
    absl::StatusOr<Config> config = loader.Load(yaml);
    if (config.ok()) config->text = std::string(yaml);
    return config;
  } catch (const std::exception& e) {
    // yaml-cpp throws on misuse of nodes; every access above is type-checked first, so this is a
    // last line of defence that keeps exceptions inside the module.
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: invalid configuration: %s", source_name, e.what()));
  }
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    std::string msg = absl::StrFormat("open %s: %s", path, std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(msg);
    if (err == EACCES) return absl::PermissionDeniedError(msg);
    return absl::UnavailableError(msg);
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return absl::UnavailableError(absl::StrFormat("read %s: I/O error", path));
  std::string dir = ".";
  if (size_t slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
  }
  return LoadConfigString(buf.str(), path, dir);
}

}  // namespace scrape
