// metrics-adapter explain --config FILE [--storage-path DIR] PATH: shows what serving one metrics
// API request does over a storage directory (the rule that matched, the rendered PromQL, the raw
// samples, the answer). A running server answers the same on its plain listener at
// /debug/explain?path=PATH, since it holds the storage's lock.
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapter/apiserver/explain.h"
#include "adapter/cli/flags.h"
#include "adapter/cmd/commands.h"
#include "adapter/cmd/metrics_server.h"
#include "tsdb/db.h"

namespace adapter {

int RunExplain(const std::vector<std::string>& args) {
  cli::FlagSet flags(
      "metrics-adapter explain",
      "Shows what serving one Kubernetes metrics API request does: the rule that\n"
      "matched, the PromQL it rendered, the raw samples and the answer. PATH is\n"
      "the request path with its query string, e.g.\n"
      "  '/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/http_requests'\n"
      "Reads a storage directory that no server holds; a running server answers\n"
      "the same at /debug/explain?path=PATH on its plain HTTP listener.");
  std::string config_path;
  std::string storage_path;
  flags.String("config", &config_path, "", "Rules configuration file (prometheus-adapter format).");
  flags.String("storage-path", &storage_path, "data", "Storage directory to read.");
  std::vector<std::string> positional;
  if (std::optional<int> exit_code = flags.ParseCommand(args, &positional)) return *exit_code;
  if (positional.size() != 1) {
    std::cerr << "Error: explain takes exactly one PATH argument\n";
    return 2;
  }
  if (config_path.empty()) {
    std::cerr << "Error: --config is required\n";
    return 2;
  }
  tsdb::DBOptions options;
  options.retention_ms = 0;  // never drop anything while reading
  options.wal_fsync_interval_ms = -1;
  absl::StatusOr<std::unique_ptr<tsdb::DB>> db = tsdb::DB::Open(storage_path, options);
  if (!db.ok()) {
    std::cerr << "Error: cannot open storage " << storage_path << ": " << db.status().message()
              << "\n";
    return 1;
  }
  int code = 0;
  {
    ServeContext ctx;
    ctx.db.store(db->get());
    MetricsServerOptions server_options;
    server_options.config_path = config_path;
    absl::StatusOr<std::unique_ptr<MetricsServer>> server =
        MetricsServer::Create(&ctx, server_options);
    if (!server.ok()) {
      std::cerr << "Error: " << server.status().message() << "\n";
      code = 1;
    } else {
      std::cout << apiserver::ExplainPath(*(*server)->api(), positional[0]);
    }
  }
  (void)(*db)->Close();
  return code;
}

}  // namespace adapter
