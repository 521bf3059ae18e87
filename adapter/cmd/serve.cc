// metrics-adapter serve: the long-running server.
//
// Start-up order: parse and check flags -> block SIGTERM/SIGINT (before any thread exists, so
// that every thread inherits the mask and only sigwait() sees them) -> listen on the plain HTTP
// address (so /-/healthy answers while the WAL is replayed) -> open the storage -> ready.
// Shutdown on SIGTERM or SIGINT: stop the HTTP server (in-flight requests finish, bounded),
// then close the storage (flushes and syncs the WAL), exit 0. A signal that arrives while the
// storage is being opened takes effect once it is open.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "adapter/cli/duration.h"
#include "adapter/cli/flags.h"
#include "adapter/cmd/commands.h"
#include "adapter/cmd/log.h"
#include "adapter/cmd/self_metrics.h"
#include "adapter/cmd/serve_options.h"
#include "adapter/http/server.h"
#include "tsdb/db.h"

namespace adapter {
namespace {

// How long in-flight requests may take to finish at shutdown.
constexpr std::chrono::milliseconds kShutdownGrace{5000};

std::string StatusText(const absl::Status& s) { return std::string(s.message()); }

}  // namespace

http::Router BuildServeRouter(ServeContext* ctx) {
  http::Router router;
  router.Handle("/-/healthy", [](const http::Request& req) {
    if (auto denied = http::CheckMethod(req, {"GET", "HEAD"})) return *denied;
    return http::Response::Text("metrics-adapter is Healthy.\n");
  });
  router.Handle("/-/ready", [ctx](const http::Request& req) {
    if (auto denied = http::CheckMethod(req, {"GET", "HEAD"})) return *denied;
    if (ctx->db.load() == nullptr) {
      return http::Response::Text("metrics-adapter is not ready.\n", 503);
    }
    return http::Response::Text("metrics-adapter is Ready.\n");
  });
  router.Handle("/metrics", [ctx](const http::Request& req) {
    if (auto denied = http::CheckMethod(req, {"GET", "HEAD"})) return *denied;
    tsdb::DB* db = ctx->db.load();
    http::Response res;
    res.content_type = kTextFormatContentType;
    res.body = RenderSelfMetrics(kVersion, db != nullptr ? &db->stats() : nullptr);
    return res;
  });
  return router;
}

int RunServe(std::vector<std::string> args) {
  cli::FlagSet flags("metrics-adapter serve",
                     "Runs the server: stores samples in an embedded time-series database and\n"
                     "serves health, readiness and self metrics over HTTP. Stops cleanly on\n"
                     "SIGTERM or SIGINT.");
  ServeOptions options;
  RegisterServeFlags(&flags, &options);
  std::vector<std::string> rest;
  if (std::optional<int> exit_code = flags.ParseCommand(args, &rest)) return *exit_code;
  if (!rest.empty()) {
    std::cerr << "Error: serve takes no arguments, got \"" << rest.front()
              << "\" (see 'metrics-adapter serve --help')\n";
    return 2;
  }
  if (absl::Status s = ValidateServeOptions(&options); !s.ok()) {
    std::cerr << "Error: " << s.message() << "\n";
    return 2;
  }
  SetLogLevel(*ParseLogLevel(options.log_level));

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  LogInfo("starting metrics-adapter", {{"version", kVersion},
                                       {"storage_path", options.storage_path},
                                       {"retention", cli::FormatDurationMs(options.retention_ms)},
                                       {"wal_fsync", options.wal_fsync}});

  ServeContext ctx;
  http::ServerOptions server_options;
  server_options.log = [](std::string_view msg) { LogWarn(msg, {{"component", "http"}}); };
  http::Server server(std::move(server_options), BuildServeRouter(&ctx));
  absl::StatusOr<int> port = server.Listen(options.listen_address);
  if (!port.ok()) {
    LogError("cannot start the HTTP server", {{"err", StatusText(port.status())}});
    return 1;
  }
  if (absl::Status s = server.Start(); !s.ok()) {
    LogError("cannot start the HTTP server", {{"err", StatusText(s)}});
    return 1;
  }
  LogInfo("listening for HTTP",
          {{"address", options.listen_address}, {"port", std::to_string(*port)}});
  if (options.secure_port != 0) {
    LogInfo("the HTTPS Kubernetes API is not available yet; --secure-port is ignored",
            {{"secure_port", std::to_string(options.secure_port)}});
  }

  tsdb::DBOptions db_options;
  db_options.retention_ms = options.retention_ms;
  db_options.wal_fsync_interval_ms = options.wal_fsync_interval_ms;
  db_options.log = [](std::string_view msg) { LogInfo(msg, {{"component", "tsdb"}}); };
  auto opened_at = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<tsdb::DB>> db = tsdb::DB::Open(options.storage_path, db_options);
  if (!db.ok()) {
    LogError("cannot open storage",
             {{"path", options.storage_path}, {"err", StatusText(db.status())}});
    server.Stop(kShutdownGrace);
    return 1;
  }
  ctx.db.store(db->get());
  auto open_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - opened_at)
                     .count();
  LogInfo("storage open; server is ready",
          {{"path", options.storage_path}, {"duration", cli::FormatDurationMs(open_ms)}});

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  LogInfo("received a signal, shutting down",
          {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  server.Stop(kShutdownGrace);
  ctx.db.store(nullptr);
  absl::Status closed = (*db)->Close();
  if (!closed.ok()) {
    LogError("closing storage failed", {{"err", StatusText(closed)}});
    return 1;
  }
  LogInfo("shutdown complete");
  return 0;
}

}  // namespace adapter
