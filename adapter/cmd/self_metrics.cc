#include "adapter/cmd/self_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace adapter {
namespace {

// This Abseil's string_view is its own type, not std::string_view.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

void AppendEscaped(std::string* out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (quote && c == '"') {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

std::optional<std::string> ReadSmallFile(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Seconds since the epoch at which the machine booted ("btime" in /proc/stat).
std::optional<uint64_t> BootTime() {
  std::optional<std::string> stat = ReadSmallFile("/proc/stat");
  if (!stat) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(*stat, '\n')) {
    if (absl::ConsumePrefix(&line, "btime ")) {
      uint64_t v;
      if (absl::SimpleAtoi(line, &v)) return v;
    }
  }
  return std::nullopt;
}

std::optional<int64_t> CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  int64_t n = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;  // the descriptor of dir itself
}

}  // namespace

std::string FormatSampleValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}

void TextWriter::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_->append("# HELP ").append(name).push_back(' ');
  AppendEscaped(out_, help, false);
  out_->append("\n# TYPE ").append(name).append(" ").append(type).push_back('\n');
}

void TextWriter::Sample(std::string_view name, double value, Labels labels) {
  out_->append(name);
  if (labels.size() > 0) {
    out_->push_back('{');
    bool first = true;
    for (const auto& [label, label_value] : labels) {
      if (!first) out_->push_back(',');
      first = false;
      out_->append(label).append("=\"");
      AppendEscaped(out_, label_value, true);
      out_->push_back('"');
    }
    out_->push_back('}');
  }
  out_->push_back(' ');
  out_->append(FormatSampleValue(value));
  out_->push_back('\n');
}

absl::StatusOr<ProcStat> ParseProcStat(std::string_view text) {
  size_t close = text.rfind(')');
  if (close == std::string_view::npos) {
    return absl::InvalidArgumentError("/proc/self/stat: no ')' after the command name");
  }
  // Fields from the third ("state") on; field k of proc(5) is fields[k - 3].
  std::vector<absl::string_view> fields =
      absl::StrSplit(AV(text.substr(close + 1)), ' ', absl::SkipEmpty());
  if (fields.size() < 22) {
    return absl::InvalidArgumentError(
        absl::StrCat("/proc/self/stat: ", fields.size() + 2, " fields, want at least 24"));
  }
  ProcStat out;
  auto field = [&](int k, auto* v) {
    absl::string_view f = absl::StripAsciiWhitespace(fields[k - 3]);
    return absl::SimpleAtoi(f, v);
  };
  if (!field(14, &out.utime_ticks) || !field(15, &out.stime_ticks) ||
      !field(22, &out.start_ticks) || !field(23, &out.vsize_bytes) || !field(24, &out.rss_pages)) {
    return absl::InvalidArgumentError("/proc/self/stat: a field is not a number");
  }
  return out;
}

void AppendProcessMetrics(std::string* out) {
  TextWriter w(out);
  const long ticks = sysconf(_SC_CLK_TCK);
  const long page = sysconf(_SC_PAGESIZE);
  std::optional<std::string> stat_text = ReadSmallFile("/proc/self/stat");
  absl::StatusOr<ProcStat> stat =
      stat_text ? ParseProcStat(*stat_text) : absl::StatusOr<ProcStat>(absl::NotFoundError(""));
  if (stat.ok() && ticks > 0) {
    w.Family("process_cpu_seconds_total", "counter",
             "Total user and system CPU time spent in seconds.");
    w.Sample("process_cpu_seconds_total",
             static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks);
  }
  if (stat.ok() && page > 0) {
    w.Family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    w.Sample("process_resident_memory_bytes", static_cast<double>(stat->rss_pages) * page);
  }
  if (stat.ok()) {
    w.Family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    w.Sample("process_virtual_memory_bytes", static_cast<double>(stat->vsize_bytes));
  }
  if (std::optional<uint64_t> boot = BootTime(); stat.ok() && ticks > 0 && boot) {
    w.Family("process_start_time_seconds", "gauge",
             "Start time of the process since unix epoch in seconds.");
    w.Sample("process_start_time_seconds",
             static_cast<double>(*boot) + static_cast<double>(stat->start_ticks) / ticks);
  }
  if (std::optional<int64_t> fds = CountOpenFds()) {
    w.Family("process_open_fds", "gauge", "Number of open file descriptors.");
    w.Sample("process_open_fds", static_cast<double>(*fds));
  }
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    w.Family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
    w.Sample("process_max_fds",
             limit.rlim_cur == RLIM_INFINITY ? INFINITY : static_cast<double>(limit.rlim_cur));
  }
}

void AppendBuildInfo(std::string_view version, std::string* out) {
  TextWriter w(out);
  w.Family("metrics_adapter_build_info", "gauge",
           "A metric with a constant '1' value labeled by the version of metrics-adapter.");
  w.Sample("metrics_adapter_build_info", 1, {{"version", version}});
}

void AppendTsdbMetrics(const tsdb::Stats& stats, std::string* out) {
  TextWriter w(out);
  auto one = [&](std::string_view name, std::string_view type, std::string_view help,
                 double value) {
    w.Family(name, type, help);
    w.Sample(name, value);
  };
  auto load = [](const auto& atomic) { return static_cast<double>(atomic.load()); };
  one("metrics_adapter_tsdb_head_series", "gauge", "Series in the head.", load(stats.series));
  one("metrics_adapter_tsdb_head_series_created_total", "counter", "Series created in the head.",
      load(stats.series_created));
  one("metrics_adapter_tsdb_head_series_removed_total", "counter",
      "Series removed from the head (no samples left within retention).",
      load(stats.series_removed));
  one("metrics_adapter_tsdb_head_samples_appended_total", "counter",
      "Samples committed to the head.", load(stats.samples_appended));
  one("metrics_adapter_tsdb_head_chunks", "gauge", "Chunks in the head.", load(stats.chunks));
  one("metrics_adapter_tsdb_head_chunk_bytes", "gauge", "Encoded bytes of all chunks in the head.",
      load(stats.chunk_bytes));
  one("metrics_adapter_tsdb_wal_bytes", "gauge", "Size of the write-ahead log's segments in bytes.",
      load(stats.wal_bytes));
  one("metrics_adapter_tsdb_wal_fsyncs_total", "counter", "fsync calls on the write-ahead log.",
      load(stats.wal_fsyncs));
  one("metrics_adapter_tsdb_wal_write_failures_total", "counter",
      "Failed writes to the write-ahead log.", load(stats.wal_write_failures));
  one("metrics_adapter_tsdb_wal_corruptions_total", "counter",
      "Damaged write-ahead log tails cut when opening the database.", load(stats.wal_corruptions));
  one("metrics_adapter_tsdb_checkpoints_total", "counter", "Checkpoints written.",
      load(stats.checkpoints));
  one("metrics_adapter_tsdb_checkpoint_failures_total", "counter", "Checkpoints that failed.",
      load(stats.checkpoint_failures));
  w.Family("metrics_adapter_tsdb_samples_rejected_total", "counter",
           "Samples refused by the head, by reason.");
  w.Sample("metrics_adapter_tsdb_samples_rejected_total", load(stats.rejected_out_of_order),
           {{"reason", "out_of_order"}});
  w.Sample("metrics_adapter_tsdb_samples_rejected_total", load(stats.rejected_duplicate),
           {{"reason", "duplicate"}});
  w.Sample("metrics_adapter_tsdb_samples_rejected_total", load(stats.rejected_out_of_bounds),
           {{"reason", "out_of_bounds"}});
  w.Sample("metrics_adapter_tsdb_samples_rejected_total", load(stats.rejected_invalid_labels),
           {{"reason", "invalid_labels"}});
}

std::string RenderSelfMetrics(std::string_view version, const tsdb::Stats* stats) {
  std::string out;
  AppendProcessMetrics(&out);
  AppendBuildInfo(version, &out);
  if (stats != nullptr) AppendTsdbMetrics(*stats, &out);
  return out;
}

}  // namespace adapter
