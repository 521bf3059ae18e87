// The server's log: one logfmt line per event on stderr, as Prometheus writes them:
//
//   ts=2024-05-01T12:00:00.123Z level=info msg="storage ready" path=data
//
// Thread-safe; lines from different threads never interleave.
#ifndef METRICS_ADAPTER_ADAPTER_CMD_LOG_H_
#define METRICS_ADAPTER_ADAPTER_CMD_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace adapter {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn" or "error".
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view text);
std::string_view LogLevelName(LogLevel level);

// Events below level are dropped. The default is kInfo.
void SetLogLevel(LogLevel level);

using LogFields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// Writes one line (if level is enabled): ts, level, msg, then fields in order.
void Log(LogLevel level, std::string_view msg, LogFields fields = {});
inline void LogDebug(std::string_view msg, LogFields fields = {}) {
  Log(LogLevel::kDebug, msg, fields);
}
inline void LogInfo(std::string_view msg, LogFields fields = {}) {
  Log(LogLevel::kInfo, msg, fields);
}
inline void LogWarn(std::string_view msg, LogFields fields = {}) {
  Log(LogLevel::kWarn, msg, fields);
}
inline void LogError(std::string_view msg, LogFields fields = {}) {
  Log(LogLevel::kError, msg, fields);
}

// The line Log writes for an event at unix_ms, with its trailing newline. Values are quoted
// when they contain a space, '=', '"' or a control character, or are empty.
std::string FormatLogLine(int64_t unix_ms, LogLevel level, std::string_view msg, LogFields fields);

}  // namespace adapter

#endif  // METRICS_ADAPTER_ADAPTER_CMD_LOG_H_
