// The subcommands of the metrics-adapter binary; main.cc only dispatches to them.
//
// Each Run* takes the arguments after the command name and returns the process exit code:
// 0 success (also for --help), 1 a runtime failure (storage cannot be opened, a port is in use,
// ...), 2 a usage error (unknown flag, bad value, unexpected argument). Usage errors are printed
// to stderr as "Error: <message>", help to stdout.
#ifndef METRICS_ADAPTER_ADAPTER_CMD_COMMANDS_H_
#define METRICS_ADAPTER_ADAPTER_CMD_COMMANDS_H_

#include <atomic>
#include <string>
#include <vector>

#include "adapter/http/server.h"

// The build may set the version with -DMETRICS_ADAPTER_VERSION="\"x.y.z\"".
#ifndef METRICS_ADAPTER_VERSION
#define METRICS_ADAPTER_VERSION "0.1.0"
#endif

namespace tsdb {
class DB;
}

namespace adapter {

inline constexpr char kVersion[] = METRICS_ADAPTER_VERSION;

// metrics-adapter serve: opens the storage and serves until SIGTERM or SIGINT (see serve.cc).
int RunServe(std::vector<std::string> args);
// metrics-adapter import: bulk-loads samples into a storage directory (see import.cc).
int RunImport(std::vector<std::string> args);
// metrics-adapter version: prints "metrics-adapter <version>".
int RunVersion(std::vector<std::string> args);

// What the handlers of the plain listener share with RunServe. Outlives the server.
struct ServeContext {
  // The open database; null until the storage is open (the server listens during WAL replay,
  // and /-/ready answers 503 until then) and again once shutdown begins.
  std::atomic<tsdb::DB*> db{nullptr};
};

// The plain listener's routes, in one place so that later endpoints (the Prometheus query API)
// are added here:
//   GET|HEAD /-/healthy  200 "metrics-adapter is Healthy.\n"
//   GET|HEAD /-/ready    200 "metrics-adapter is Ready.\n" once ctx->db is set, else 503
//   GET|HEAD /metrics    the self metrics (self_metrics.h)
http::Router BuildServeRouter(ServeContext* ctx);

}  // namespace adapter

#endif  // METRICS_ADAPTER_ADAPTER_CMD_COMMANDS_H_
