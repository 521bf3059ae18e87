// `metrics-adapter check-config [--scrape-config FILE] [--config FILE [--storage-path DIR]]`.
//
// --scrape-config: validates a scrape configuration (the
// Prometheus format, see scrape/config.h) as `promtool check config` does: the file must load, and
// what promtool checks beyond loading must hold too (static and file_sd targets build their labels,
// TLS client certificates come with their keys, credential files exist; see
// scrape/config_check.h).
//
// Output, per file: "FILE: OK: N scrape configs" on stdout, or the error on stderr (it names the
// file and, for a parse error, the line); warnings (a file_sd pattern matching no file, sections
// of prometheus.yml that are ignored) go to stderr. Exit status: 0 when every file is valid, 1
// when one is not, 2 for a usage error.
//
// --config: validates a rules file (prometheus-adapter's format, adapter/rules/config.h) and,
// when --storage-path names a storage directory, prints for each rule the metrics it would serve
// from that data and the query one request would run:
//   rules.yaml: OK: 2 rules, 1 externalRules, resourceRules
//   rules[0]: pods/http_requests: sum(rate(http_requests_total{namespace="default",pod!=""}[1m]))
//   by (pod) externalRules[0]: queue_depth: sum(queue_depth{}) by (queue) resourceRules.cpu: sum by
//   (namespace,pod,container) (...)
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "adapter/apiserver/backend.h"
#include "adapter/cli/flags.h"
#include "adapter/cmd/commands.h"
#include "adapter/cmd/metrics_server.h"
#include "adapter/k8s/resources.h"
#include "adapter/k8s/selector.h"
#include "adapter/rules/config.h"
#include "adapter/rules/registry.h"
#include "scrape/config.h"
#include "scrape/config_check.h"
#include "tsdb/db.h"

namespace adapter {
namespace {

// Prefixes message with "path: " unless it already starts with the path.
std::string Located(const std::string& path, std::string message) {
  if (absl::StartsWith(message, path + ":")) return message;
  return path + ": " + message;
}

bool CheckScrapeConfig(const std::string& path) {
  absl::StatusOr<scrape::Config> config = scrape::LoadConfigFile(path);
  if (!config.ok()) {
    std::cerr << Located(path, std::string(config.status().message())) << "\n";
    return false;
  }
  std::vector<std::string> warnings;
  absl::Status deep = scrape::CheckConfigDeep(*config, &warnings);
  for (const std::string& w : warnings) std::cerr << path << ": warning: " << w << "\n";
  if (!config->ignored_fields.empty()) {
    std::cerr << path << ": note: ignored (not used by metrics-adapter): "
              << absl::StrJoin(config->ignored_fields, ", ") << "\n";
  }
  if (!deep.ok()) {
    std::cerr << Located(path, std::string(deep.message())) << "\n";
    return false;
  }
  const size_t n = config->scrape_configs.size();
  std::cout << path << ": OK: " << n << " scrape configs\n";
  return true;
}

// Lists what the rules would serve from the data in storage_path.
void ListServedMetrics(const rules::RuleSet& rule_set, const std::string& storage_path) {
  tsdb::DBOptions options;
  options.retention_ms = 0;
  options.wal_fsync_interval_ms = -1;
  absl::StatusOr<std::unique_ptr<tsdb::DB>> db = tsdb::DB::Open(storage_path, options);
  if (!db.ok()) {
    std::cerr << storage_path << ": note: cannot read the storage to list the metrics served ("
              << db.status().message() << ")\n";
    return;
  }
  tsdb::DB* raw = db->get();
  std::unique_ptr<apiserver::QueryBackend> backend =
      apiserver::NewEmbeddedBackend([raw] { return raw; }, promql::EngineOptions());
  rules::SeriesByQuery by_query;
  constexpr int64_t kAll = std::numeric_limits<int64_t>::max() / 2;
  for (const std::string& query : rule_set.SeriesQueries()) {
    absl::StatusOr<std::vector<apiserver::DiscoveredMetric>> found =
        backend->DiscoverSeries(query, -kAll, kAll);
    if (!found.ok()) {
      std::cerr << "discovery of " << query << ": " << found.status().message() << "\n";
      continue;
    }
    for (apiserver::DiscoveredMetric& m : *found) {
      by_query[query].push_back(rules::SeriesSummary{m.name, m.label_names});
    }
  }
  std::shared_ptr<const rules::MetricRegistry> registry = rule_set.Discover(by_query);
  size_t served = 0;
  for (const rules::CustomMetricInfo& m : registry->CustomMetrics()) {
    rules::CustomQueryRequest request;
    request.resource = m.resource;
    request.metric = m.name;
    if (m.namespaced) request.namespace_ = "default";
    absl::StatusOr<rules::BuiltQuery> q = registry->BuildCustomQuery(request);
    std::cout << (q.ok() ? q->rule_path : "rules") << ": " << m.resource.String() << "/" << m.name
              << ": " << (q.ok() ? q->promql : std::string(q.status().message())) << "\n";
    ++served;
  }
  for (const std::string& name : registry->ExternalMetrics()) {
    absl::StatusOr<rules::BuiltQuery> q =
        registry->BuildExternalQuery(name, "default", k8s::LabelSelector());
    std::cout << (q.ok() ? q->rule_path : "externalRules") << ": " << name << ": "
              << (q.ok() ? q->promql : std::string(q.status().message())) << "\n";
    ++served;
  }
  if (rule_set.has_resource()) {
    for (auto [kind, label] : {std::pair{rules::ResourceKind::kCpu, "cpu"},
                               std::pair{rules::ResourceKind::kMemory, "memory"}}) {
      absl::StatusOr<rules::BuiltQuery> q =
          rule_set.BuildContainerQuery(kind, "default", std::nullopt);
      std::cout << "resourceRules." << label
                << ": pods: " << (q.ok() ? q->promql : std::string(q.status().message())) << "\n";
      absl::StatusOr<rules::BuiltQuery> n = rule_set.BuildNodeQuery(kind, std::nullopt);
      std::cout << "resourceRules." << label
                << ": nodes: " << (n.ok() ? n->promql : std::string(n.status().message())) << "\n";
    }
  }
  if (served == 0 && (rule_set.has_custom() || rule_set.has_external())) {
    std::cout << "no metrics would be served from the data in " << storage_path << "\n";
  }
  (void)(*db)->Close();
}

bool CheckRulesConfig(const std::string& path, const std::string& storage_path) {
  std::shared_ptr<const k8s::ResourceMapper> mapper = k8s::NewBuiltinResourceMapper();
  absl::StatusOr<std::shared_ptr<const rules::RuleSet>> rule_set = LoadRules(path, mapper);
  if (!rule_set.ok()) {
    std::cerr << Located(path, std::string(rule_set.status().message())) << "\n";
    return false;
  }
  const rules::Config& config = (*rule_set)->config();
  std::cout << path << ": OK: " << config.rules.size() << " rules, " << config.external_rules.size()
            << " externalRules" << (config.resource_rules.has_value() ? ", resourceRules" : "")
            << "\n";
  if (!storage_path.empty()) ListServedMetrics(**rule_set, storage_path);
  return true;
}

}  // namespace

int RunCheckConfig(const std::vector<std::string>& args) {
  cli::FlagSet flags("metrics-adapter check-config",
                     "Validates configuration files without starting anything, as `promtool check "
                     "config` does for Prometheus. Exits 1 when a file is invalid.");
  std::vector<std::string> scrape_configs;
  flags.StringList("scrape-config", &scrape_configs, {},
                   "A scrape configuration file (Prometheus' prometheus.yml format) to check; "
                   "may be repeated.");
  std::vector<std::string> rules_configs;
  flags.StringList("config", &rules_configs, {},
                   "A rules file (prometheus-adapter's format) to check; may be repeated.");
  std::string storage_path;
  flags.String("storage-path", &storage_path, "",
               "With --config: list the metrics each rule would serve from the data in this "
               "storage directory, with an example query (the directory must not be in use by "
               "a running server).");
  std::vector<std::string> positional;
  if (std::optional<int> exit_code = flags.ParseCommand(args, &positional)) return *exit_code;
  if (!positional.empty()) {
    std::cerr << "Error: check-config takes no arguments, got \"" << positional.front()
              << "\" (use --scrape-config FILE or --config FILE)\n";
    return 2;
  }
  if (scrape_configs.empty() && rules_configs.empty()) {
    std::cerr << "Error: nothing to check: give --scrape-config FILE or --config FILE\n";
    return 2;
  }
  bool ok = true;
  for (const std::string& path : scrape_configs) ok = CheckScrapeConfig(path) && ok;
  for (const std::string& path : rules_configs) ok = CheckRulesConfig(path, storage_path) && ok;
  return ok ? 0 : 1;
}

}  // namespace adapter
