// The subcommands of the metrics-adapter binary; main.cc only dispatches to them.
//
// Each Run* takes the arguments after the command name and returns the process exit code:
// 0 success (also for --help), 1 a runtime failure (storage cannot be opened, a port is in use,
// ...), 2 a usage error (unknown flag, bad value, unexpected argument). Usage errors are printed
// to stderr as "Error: <message>", help to stdout.
#ifndef METRICS_ADAPTER_ADAPTER_CMD_COMMANDS_H_
#define METRICS_ADAPTER_ADAPTER_CMD_COMMANDS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "adapter/http/server.h"
#include "promql/engine.h"
#include "tsdb/wal_replay_progress.h"

// The build may set the version with -DMETRICS_ADAPTER_VERSION="\"x.y.z\"".
#ifndef METRICS_ADAPTER_VERSION
#define METRICS_ADAPTER_VERSION "0.1.0"
#endif

namespace tsdb {
class DB;
}
namespace api {
class MetadataSource;
}
namespace scrape {
class Manager;
}

namespace adapter {

inline constexpr char kVersion[] = METRICS_ADAPTER_VERSION;

// metrics-adapter serve: opens the storage and serves until SIGTERM or SIGINT (see serve.cc).
int RunServe(const std::vector<std::string>& args);
// metrics-adapter import: bulk-loads samples into a storage directory (see import.cc).
int RunImport(const std::vector<std::string>& args);
// metrics-adapter version: prints "metrics-adapter <version>".
int RunVersion(const std::vector<std::string>& args);
// metrics-adapter check-config: validates configuration files (see check_config.cc); exits 1
// when one is invalid.
int RunCheckConfig(const std::vector<std::string>& args);
// metrics-adapter promql-test: runs PromQL test scripts against the engine (see promql_test.cc);
// exits 0 only when every selected eval passes.
int RunPromqlTest(const std::vector<std::string>& args);
// metrics-adapter query: evaluates one PromQL expression over a storage directory (query.cc).
int RunQuery(const std::vector<std::string>& args);
// metrics-adapter explain: what serving one metrics API request does (explain.cc).
int RunExplain(const std::vector<std::string>& args);

// What the handlers of the plain listener share with RunServe. Outlives the server.
struct ServeContext {
  // The open database; null until the storage is open (the server listens during WAL replay,
  // and /-/ready answers 503 until then) and again once shutdown begins.
  std::atomic<tsdb::DB*> db{nullptr};

  // What the query API (/api/v1/..., adapter/api/query_api.h) reports besides the data; RunServe
  // sets them before it builds the router.
  int64_t start_time_ns = 0;  // Unix nanoseconds; 0 = when the router was built
  int64_t retention_ms = 0;
  std::map<std::string, std::string> flags;  // /api/v1/status/flags: name -> value in effect
  // Limits of every query (--query-timeout, --query-lookback-delta, --query-max-samples).
  promql::EngineOptions engine;
  // Source of /api/v1/metadata; null: the endpoint answers {}.
  std::shared_ptr<const api::MetadataSource> metadata;

  // Scraping (--scrape-config): the manager while it runs, else null (read by /api/v1/targets);
  // the reload of the configuration file (SIGHUP, POST /-/reload), set before the router is
  // built, null without --scrape-config; and whether the last (re)load succeeded (1/0; -1
  // without --scrape-config), exposed as metrics_adapter_scrape_config_last_reload_successful.
  std::atomic<scrape::Manager*> scrape{nullptr};
  std::function<absl::Status()> reload;
  std::atomic<int> scrape_reload_successful{-1};
  // Progress of the WAL replay while the storage opens (/api/v1/status/walreplay).
  tsdb::WalReplayProgress wal_replay;
  // The text of the scrape configuration in effect, for /api/v1/status/config ("" without
  // --scrape-config); replaced by each successful reload.
  std::mutex config_mu;
  std::string config_text;  // guarded by config_mu

  // More self metrics for /metrics (the Kubernetes metrics APIs'); set before the router is
  // built, may be null.
  std::function<void(std::string*)> append_metrics;
};

// The plain listener's routes, in one place so that later endpoints (the Prometheus query API)
// are added here:
//   GET|HEAD /-/healthy  200 "metrics-adapter is Healthy.\n"
//   GET|HEAD /-/ready    200 "metrics-adapter is Ready.\n" once ctx->db is set, else 503
//   GET|HEAD /metrics    the self metrics (self_metrics.h)
//   /api/v1/...          the Prometheus HTTP query API (adapter/api/query_api.h)
//   GET|HEAD /api/v1/targets  scrape targets (adapter/api/targets_api.h)
//   POST|PUT /-/reload   reloads the scrape configuration: 200, or 500 with the error
http::Router BuildServeRouter(ServeContext* ctx);

}  // namespace adapter

#endif  // METRICS_ADAPTER_ADAPTER_CMD_COMMANDS_H_
