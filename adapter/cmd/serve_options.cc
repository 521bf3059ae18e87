#include "adapter/cmd/serve_options.h"

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "adapter/cli/duration.h"
#include "adapter/cmd/log.h"

namespace adapter {

void RegisterServeFlags(cli::FlagSet* flags, ServeOptions* o) {
  flags->String("storage-path", &o->storage_path, "data",
                "Directory of the time-series database, created when\nabsent.");
  flags->Duration("retention", &o->retention_ms, int64_t{24} * 3600 * 1000,
                  "How long to keep samples, e.g. 6h or 15d.");
  flags->String("wal-fsync", &o->wal_fsync, "1s",
                "When to fsync the write-ahead log: \"always\" (every\n"
                "commit), a duration (at least that often) or \"never\"\n"
                "(only at shutdown).");
  flags->String("http-listen-address", &o->listen_address, kDefaultListenAddress,
                "HOST:PORT of the plain HTTP listener (health, readiness,\n"
                "/metrics); \":PORT\" listens on all interfaces.");
  flags->Int("secure-port", &o->secure_port, kDefaultSecurePort,
             "Port of the HTTPS Kubernetes API listener; 0 disables it.");
  flags->String("log-level", &o->log_level, "info", "Log level: debug, info, warn or error.");
  flags->String("scrape-config", &o->scrape_config, "",
                "Prometheus configuration file whose scrape_configs are\n"
                "scraped into the storage; reloaded on SIGHUP and on\n"
                "POST /-/reload. Empty: no scraping.");
  flags->Int("scrape-threads", &o->scrape_threads, 2,
             "Threads that run every scrape (an event loop, not a\n"
             "thread per target).");
}

absl::StatusOr<int64_t> ParseWalFsync(std::string_view text) {
  if (text == "always") return 0;
  if (text == "never") return -1;
  absl::StatusOr<int64_t> ms = cli::ParseDurationMs(text);
  if (!ms.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("use \"always\", \"never\" or a duration: ", ms.status().message()));
  }
  if (*ms <= 0) {
    return absl::InvalidArgumentError(
        "the interval must be positive (\"always\" syncs every commit)");
  }
  return *ms;
}

absl::Status ValidateServeOptions(ServeOptions* o) {
  if (o->storage_path.empty())
    return absl::InvalidArgumentError("--storage-path must not be empty");
  if (o->retention_ms <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid value \"",
                                                   cli::FormatDurationMs(o->retention_ms),
                                                   "\" for --retention: must be positive"));
  }
  absl::StatusOr<int64_t> fsync = ParseWalFsync(o->wal_fsync);
  if (!fsync.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value \"", o->wal_fsync, "\" for --wal-fsync: ", fsync.status().message()));
  }
  o->wal_fsync_interval_ms = *fsync;
  if (o->secure_port < 0 || o->secure_port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value \"", o->secure_port, "\" for --secure-port: not in 0..65535"));
  }
  if (o->scrape_threads < 1 || o->scrape_threads > 64) {
    return absl::InvalidArgumentError(absl::StrCat("invalid value \"", o->scrape_threads,
                                                   "\" for --scrape-threads: not in 1..64"));
  }
  if (absl::StatusOr<LogLevel> level = ParseLogLevel(o->log_level); !level.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid value \"", o->log_level, "\" for --log-level: ", level.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace adapter
