// The server's own metrics in the Prometheus text exposition format 0.0.4, served on /metrics:
// process_* (from /proc, as Prometheus' Go client reports them), metrics_adapter_build_info and
// the storage engine's tsdb::Stats as metrics_adapter_tsdb_*.
#ifndef METRICS_ADAPTER_ADAPTER_CMD_SELF_METRICS_H_
#define METRICS_ADAPTER_ADAPTER_CMD_SELF_METRICS_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "tsdb/stats.h"

namespace adapter {

// The Content-Type of the text format.
inline constexpr char kTextFormatContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// Writes metric families into a string. Callers write each family's samples right after its
// Family() call. Names are not checked: they are fixed by the code.
class TextWriter {
 public:
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  explicit TextWriter(std::string* out) : out_(out) {}

  // "# HELP name help" and "# TYPE name type" (type: counter, gauge, untyped, ...).
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // "name{label="value",...} value". Label values and HELP texts are escaped as the format
  // requires; integral values print without a fraction, others in the shortest form that
  // reads back exactly, NaN and infinities as NaN, +Inf, -Inf.
  void Sample(std::string_view name, double value, Labels labels = {});

 private:
  std::string* out_;
};

// Formats v as the text format writes sample values.
std::string FormatSampleValue(double v);

// The fields of /proc/self/stat that the process metrics use.
struct ProcStat {
  uint64_t utime_ticks = 0;
  uint64_t stime_ticks = 0;
  uint64_t start_ticks = 0;  // since boot
  uint64_t vsize_bytes = 0;
  int64_t rss_pages = 0;
};
// Parses the contents of /proc/<pid>/stat (the command name may hold spaces and parentheses).
absl::StatusOr<ProcStat> ParseProcStat(std::string_view text);

// Appends process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_start_time_seconds, process_open_fds and
// process_max_fds. A metric whose source cannot be read is left out.
void AppendProcessMetrics(std::string* out);
// metrics_adapter_build_info{version="..."} 1
void AppendBuildInfo(std::string_view version, std::string* out);
// The metrics_adapter_tsdb_* families.
void AppendTsdbMetrics(const tsdb::Stats& stats, std::string* out);

// Everything above; stats is null while the storage is not open.
std::string RenderSelfMetrics(std::string_view version, const tsdb::Stats* stats);

}  // namespace adapter

#endif  // METRICS_ADAPTER_ADAPTER_CMD_SELF_METRICS_H_
