#include "adapter/cmd/self_metrics.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"
#include "tsdb/stats.h"

namespace adapter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Parses the text format strictly enough to catch malformed output: every sample line is
// name{labels} value, every family has HELP then TYPE before its samples. Returns sample line
// (without value) -> value.
std::map<std::string, double> ParseExposition(const std::string& text) {
  static const RE2 kSample(R"(([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+))");
  static const RE2 kHelp(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  static const RE2 kType(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|untyped))");
  std::map<std::string, double> out;
  std::set<std::string> families;
  std::string help_for, type_for;
  EXPECT_TRUE(text.empty() || text.back() == '\n');
  for (const std::string& line :
       std::vector<std::string>(absl::StrSplit(text, '\n', absl::SkipEmpty()))) {
    std::string name, series, value, type;
    if (RE2::FullMatch(line, kHelp, &name)) {
      EXPECT_TRUE(families.insert(name).second) << "family twice: " << name;
      help_for = name;
    } else if (RE2::FullMatch(line, kType, &name, &type)) {
      EXPECT_EQ(name, help_for) << "TYPE without HELP: " << line;
      type_for = name;
    } else if (RE2::FullMatch(line, kSample, &series, &value)) {
      EXPECT_EQ(series.substr(0, type_for.size()), type_for) << "sample outside its family";
      double v;
      if (value == "+Inf") {
        v = INFINITY;
      } else {
        EXPECT_TRUE(absl::SimpleAtod(value, &v)) << line;
      }
      out[series] = v;
    } else {
      ADD_FAILURE() << "malformed line: " << line;
    }
  }
  return out;
}

TEST(SelfMetricsTest, FormatSampleValue) {
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(42), "42");
  EXPECT_EQ(FormatSampleValue(-3), "-3");
  EXPECT_EQ(FormatSampleValue(0.25), "0.25");
  EXPECT_EQ(FormatSampleValue(1714567890.123), "1714567890.123");
  EXPECT_EQ(FormatSampleValue(1e300), "1e+300");
  EXPECT_EQ(FormatSampleValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatSampleValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatSampleValue(-INFINITY), "-Inf");
}

TEST(SelfMetricsTest, WriterEscapesHelpAndLabelValues) {
  std::string out;
  TextWriter w(&out);
  w.Family("x_total", "counter", "Help with \\ and\nnewline.");
  w.Sample("x_total", 1, {{"a", "q\"b\\s\nn"}, {"b", ""}});
  EXPECT_EQ(out,
            "# HELP x_total Help with \\\\ and\\nnewline.\n"
            "# TYPE x_total counter\n"
            "x_total{a=\"q\\\"b\\\\s\\nn\",b=\"\"} 1\n");
}

TEST(SelfMetricsTest, ParseProcStatHandlesOddCommandNames) {
  // Fields 3..24 after a command name with spaces and parentheses.
  std::string stat =
      "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 98765 "
      "123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  absl::StatusOr<ProcStat> s = ParseProcStat(stat);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->utime_ticks, 250u);
  EXPECT_EQ(s->stime_ticks, 50u);
  EXPECT_EQ(s->start_ticks, 98765u);
  EXPECT_EQ(s->vsize_bytes, 123456789u);
  EXPECT_EQ(s->rss_pages, 2048);
  EXPECT_FALSE(ParseProcStat("1234 no parenthesis").ok());
  EXPECT_FALSE(ParseProcStat("1234 (x) S 1 2").ok());
  EXPECT_FALSE(ParseProcStat("").ok());
}

TEST(SelfMetricsTest, ProcessMetricsOfThisProcess) {
  std::string out;
  AppendProcessMetrics(&out);
  std::map<std::string, double> m = ParseExposition(out);
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_start_time_seconds",
                           "process_open_fds", "process_max_fds"}) {
    ASSERT_TRUE(m.count(name)) << name << " missing from:\n" << out;
  }
  EXPECT_GT(m["process_resident_memory_bytes"], 1 << 20);
  EXPECT_GE(m["process_virtual_memory_bytes"], m["process_resident_memory_bytes"]);
  EXPECT_GE(m["process_open_fds"], 3);  // stdin, stdout, stderr
  EXPECT_GE(m["process_max_fds"], m["process_open_fds"]);
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // Started within the last hour, not in the future (allowing for clock-tick rounding).
  EXPECT_LE(m["process_start_time_seconds"], now + 2);
  EXPECT_GT(m["process_start_time_seconds"], now - 3600);
  EXPECT_THAT(out, HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
}

TEST(SelfMetricsTest, TsdbStatsAndBuildInfo) {
  tsdb::Stats stats;
  stats.series = 12;
  stats.series_created = 15;
  stats.samples_appended = 1000;
  stats.chunks = 20;
  stats.chunk_bytes = 4096;
  stats.wal_bytes = 65536;
  stats.wal_fsyncs = 7;
  stats.checkpoints = 2;
  stats.rejected_out_of_order = 3;
  stats.rejected_duplicate = 4;
  stats.rejected_out_of_bounds = 5;
  stats.rejected_invalid_labels = 6;
  std::string out = RenderSelfMetrics("1.2.3", &stats);
  std::map<std::string, double> m = ParseExposition(out);
  EXPECT_EQ(m["metrics_adapter_build_info{version=\"1.2.3\"}"], 1);
  EXPECT_EQ(m["metrics_adapter_tsdb_head_series"], 12);
  EXPECT_EQ(m["metrics_adapter_tsdb_head_series_created_total"], 15);
  EXPECT_EQ(m["metrics_adapter_tsdb_head_samples_appended_total"], 1000);
  EXPECT_EQ(m["metrics_adapter_tsdb_head_chunks"], 20);
  EXPECT_EQ(m["metrics_adapter_tsdb_head_chunk_bytes"], 4096);
  EXPECT_EQ(m["metrics_adapter_tsdb_wal_bytes"], 65536);
  EXPECT_EQ(m["metrics_adapter_tsdb_wal_fsyncs_total"], 7);
  EXPECT_EQ(m["metrics_adapter_tsdb_wal_write_failures_total"], 0);
  EXPECT_EQ(m["metrics_adapter_tsdb_wal_corruptions_total"], 0);
  EXPECT_EQ(m["metrics_adapter_tsdb_checkpoints_total"], 2);
  EXPECT_EQ(m["metrics_adapter_tsdb_checkpoint_failures_total"], 0);
  EXPECT_EQ(m["metrics_adapter_tsdb_samples_rejected_total{reason=\"out_of_order\"}"], 3);
  EXPECT_EQ(m["metrics_adapter_tsdb_samples_rejected_total{reason=\"duplicate\"}"], 4);
  EXPECT_EQ(m["metrics_adapter_tsdb_samples_rejected_total{reason=\"out_of_bounds\"}"], 5);
  EXPECT_EQ(m["metrics_adapter_tsdb_samples_rejected_total{reason=\"invalid_labels\"}"], 6);
  EXPECT_THAT(out, HasSubstr("# TYPE metrics_adapter_tsdb_head_series gauge\n"));
  EXPECT_THAT(out, HasSubstr("# TYPE metrics_adapter_tsdb_samples_rejected_total counter\n"));

  // Without storage: no tsdb families.
  std::string early = RenderSelfMetrics("1.2.3", nullptr);
  ParseExposition(early);
  EXPECT_THAT(early, Not(HasSubstr("metrics_adapter_tsdb_")));
  EXPECT_THAT(early, HasSubstr("metrics_adapter_build_info"));
}

}  // namespace
}  // namespace adapter
