#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scrape/textparse/parser.h"

namespace scrape::textparse {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// An owned copy of an entry, so tests can compare whole sequences.
struct Rec {
  EntryType type = EntryType::kEOF;
  int line = 0;
  std::string name;
  std::string text;
  MetricType metric_type = MetricType::kUnknown;
  std::string family;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
  std::optional<int64_t> ts;
  bool has_exemplar = false;
  std::vector<std::pair<std::string, std::string>> exemplar_labels;
  double exemplar_value = 0;
  std::optional<int64_t> exemplar_ts;
  std::string series_text;
};

Rec Copy(const Entry& e) {
  Rec r;
  r.type = e.type;
  r.line = e.line;
  r.name = std::string(e.name);
  r.text = std::string(e.text);
  r.metric_type = e.metric_type;
  r.family = std::string(e.family);
  for (const LabelPair& l : e.labels) r.labels.emplace_back(l.name, l.value);
  r.value = e.value;
  r.ts = e.timestamp_ms;
  if (e.exemplar) {
    r.has_exemplar = true;
    for (const LabelPair& l : e.exemplar->labels) r.exemplar_labels.emplace_back(l.name, l.value);
    r.exemplar_value = e.exemplar->value;
    r.exemplar_ts = e.exemplar->timestamp_ms;
  }
  r.series_text = std::string(e.series_text);
  return r;
}

// Parses everything up to and including kEOF.
absl::StatusOr<std::vector<Rec>> ParseAll(std::string_view input, Format format) {
  Parser parser(input, format);
  std::vector<Rec> out;
  for (int guard = 0; guard < 100000; ++guard) {
    absl::StatusOr<EntryType> type = parser.Next();
    if (!type.ok()) return type.status();
    out.push_back(Copy(parser.entry()));
    if (*type == EntryType::kEOF) return out;
  }
  return absl::InternalError("parser did not terminate");
}

// The error message of parsing input, or "OK".
std::string ErrorOf(std::string_view input, Format format) {
  absl::StatusOr<std::vector<Rec>> r = ParseAll(input, format);
  if (r.ok()) return "OK";
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(r.status().message());
}

std::vector<Rec> Series(const std::vector<Rec>& recs) {
  std::vector<Rec> out;
  for (const Rec& r : recs) {
    if (r.type == EntryType::kSeries) out.push_back(r);
  }
  return out;
}

constexpr Format kText = Format::kPrometheusText;
constexpr Format kOM = Format::kOpenMetrics;

// ---------------------------------------------------------------------------------------------
// Values

TEST(TextParseValueTest, AcceptsPrometheusFloatForms) {
  EXPECT_EQ(ParseValue("0"), 0.0);
  EXPECT_EQ(ParseValue("42"), 42.0);
  EXPECT_EQ(ParseValue("-0.5"), -0.5);
  EXPECT_EQ(ParseValue("+5"), 5.0);
  EXPECT_EQ(ParseValue(".5"), 0.5);
  EXPECT_EQ(ParseValue("5."), 5.0);
  EXPECT_EQ(ParseValue("1e3"), 1000.0);
  EXPECT_EQ(ParseValue("1.5E-3"), 0.0015);
  EXPECT_EQ(ParseValue("007"), 7.0);
  EXPECT_EQ(ParseValue("1.7976931348623157e308"), std::numeric_limits<double>::max());
  EXPECT_EQ(ParseValue("1e-400"), 0.0);  // underflow is not an error, as in Go
  EXPECT_EQ(ParseValue("4.9e-324"), std::numeric_limits<double>::denorm_min());
  for (const char* inf : {"Inf", "+Inf", "inf", "INF", "Infinity", "+infinity"}) {
    ASSERT_TRUE(ParseValue(inf).has_value()) << inf;
    EXPECT_EQ(*ParseValue(inf), std::numeric_limits<double>::infinity()) << inf;
  }
  EXPECT_EQ(*ParseValue("-Inf"), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(*ParseValue("-infinity"), -std::numeric_limits<double>::infinity());
  for (const char* nan : {"NaN", "nan", "NAN", "nAn"}) {
    ASSERT_TRUE(ParseValue(nan).has_value()) << nan;
    EXPECT_TRUE(std::isnan(*ParseValue(nan))) << nan;
  }
}

TEST(TextParseValueTest, RejectsWhatPrometheusRejects) {
  for (const char* bad : {"",       "+",     "-",    ".",    "e5",    "1e",     "1e+",   "0x10",
                          "0x1p-2", "1_000", "+NaN", "-nan", "1e500", "-1e500", "In",    "Infinit",
                          "nanx",   "1.2.3", "1 ",   " 1",   "1,5",   "--1",    "1e5.5", "\xff"}) {
    EXPECT_FALSE(ParseValue(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(TextParseValueTest, RoundsLikeStrtod) {
  std::mt19937_64 rng(42);
  char buf[64];
  for (int i = 0; i < 20000; ++i) {
    double d;
    switch (i % 4) {
      case 0: {
        uint64_t bits = rng();
        std::memcpy(&d, &bits, sizeof d);
        if (!std::isfinite(d)) continue;
        std::snprintf(buf, sizeof buf, "%.17g", d);
        break;
      }
      case 1:
        std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(rng() % 7),
                      static_cast<double>(rng() % 100000000) / 1000.0);
        break;
      case 2:
        std::snprintf(buf, sizeof buf, "%llu",
                      static_cast<unsigned long long>(rng() >> (rng() % 64)));
        break;
      default:
        std::snprintf(buf, sizeof buf, "%.*e", static_cast<int>(rng() % 20),
                      static_cast<double>(rng() % 1000000) *
                          std::pow(10.0, static_cast<int>(rng() % 40) - 20));
        break;
    }
    const std::optional<double> got = ParseValue(buf);
    ASSERT_TRUE(got.has_value()) << buf;
    EXPECT_EQ(*got, std::strtod(buf, nullptr)) << buf;
  }
}

TEST(TextParseMetricTypeTest, NamesPerFormat) {
  EXPECT_EQ(ParseMetricType("untyped", kText), MetricType::kUnknown);
  EXPECT_EQ(ParseMetricType("unknown", kText), std::nullopt);
  EXPECT_EQ(ParseMetricType("gaugehistogram", kText), std::nullopt);
  EXPECT_EQ(ParseMetricType("unknown", kOM), MetricType::kUnknown);
  EXPECT_EQ(ParseMetricType("untyped", kOM), std::nullopt);
  EXPECT_EQ(ParseMetricType("stateset", kOM), MetricType::kStateset);
  EXPECT_EQ(ParseMetricType("info", kOM), MetricType::kInfo);
  EXPECT_EQ(ParseMetricType("gaugehistogram", kOM), MetricType::kGaugeHistogram);
  EXPECT_EQ(ParseMetricType("Counter", kOM), std::nullopt);
  EXPECT_EQ(MetricTypeName(MetricType::kGaugeHistogram), "gaugehistogram");
  EXPECT_EQ(MetricTypeName(MetricType::kUnknown), "unknown");
}

// ---------------------------------------------------------------------------------------------
// Prometheus text format

TEST(TextParsePromTest, EntriesInOrder) {
  const std::string in =
      "# HELP http_requests_total The total number of HTTP requests.\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
      "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
      "\n"
      "# A free comment\n"
      "metric_without_timestamp_and_labels 12.47\n";
  absl::StatusOr<std::vector<Rec>> recs = ParseAll(in, kText);
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ(recs->size(), 7u);
  const std::vector<Rec>& r = *recs;
  EXPECT_EQ(r[0].type, EntryType::kHelp);
  EXPECT_EQ(r[0].name, "http_requests_total");
  EXPECT_EQ(r[0].text, "The total number of HTTP requests.");
  EXPECT_EQ(r[1].type, EntryType::kType);
  EXPECT_EQ(r[1].metric_type, MetricType::kCounter);
  EXPECT_EQ(r[2].type, EntryType::kSeries);
  EXPECT_EQ(r[2].line, 3);
  EXPECT_EQ(r[2].name, "http_requests_total");
  EXPECT_EQ(r[2].family, "http_requests_total");
  EXPECT_EQ(r[2].metric_type, MetricType::kCounter);
  EXPECT_THAT(r[2].labels, ElementsAre(Pair("method", "post"), Pair("code", "200")));
  EXPECT_EQ(r[2].value, 1027);
  EXPECT_EQ(r[2].ts, 1395066363000);
  EXPECT_EQ(r[2].series_text, "http_requests_total{method=\"post\",code=\"200\"}");
  EXPECT_EQ(r[3].value, 3);
  EXPECT_EQ(r[4].type, EntryType::kComment);
  EXPECT_EQ(r[4].line, 6);
  EXPECT_EQ(r[4].text, "A free comment");
  EXPECT_EQ(r[5].name, "metric_without_timestamp_and_labels");
  EXPECT_EQ(r[5].line, 7);
  EXPECT_EQ(r[5].ts, std::nullopt);
  EXPECT_TRUE(r[5].labels.empty());
  EXPECT_EQ(r[5].metric_type, MetricType::kUnknown);
  EXPECT_EQ(r[5].family, "metric_without_timestamp_and_labels");
  EXPECT_EQ(r[6].type, EntryType::kEOF);
}

TEST(TextParsePromTest, EofIsStickyAndEmptyInputIsEof) {
  Parser parser("", kText);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<EntryType> t = parser.Next();
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(*t, EntryType::kEOF);
  }
  Parser blank("\n  \n\t\n", kText);
  EXPECT_EQ(*blank.Next(), EntryType::kEOF);
}

TEST(TextParsePromTest, WhitespaceRulesOfTheTextFormat) {
  // Leading blanks, tabs between fields, blanks inside the label list, a trailing comma, a blank
  // between the name and '{', trailing blanks, and a last line without a line feed.
  const std::string in =
      "  a 1\n"
      "b\t2\t3\n"
      "c { x = \"1\" , y=\"2\", } 4  \n"
      "d{} 5\n"
      "e{x=\"1\"}6\n"
      "f 7 8";
  absl::StatusOr<std::vector<Rec>> recs = ParseAll(in, kText);
  ASSERT_TRUE(recs.ok()) << recs.status();
  std::vector<Rec> s = Series(*recs);
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s[0].name, "a");
  EXPECT_EQ(s[1].value, 2);
  EXPECT_EQ(s[1].ts, 3);
  EXPECT_THAT(s[2].labels, ElementsAre(Pair("x", "1"), Pair("y", "2")));
  EXPECT_EQ(s[2].value, 4);
  EXPECT_TRUE(s[3].labels.empty());
  EXPECT_EQ(s[4].value, 6);
  EXPECT_EQ(s[5].ts, 8);
  EXPECT_EQ(s[5].line, 6);
}

TEST(TextParsePromTest, LabelValueEscapes) {
  absl::StatusOr<std::vector<Rec>> recs = ParseAll(
      "m{a=\"back\\\\slash\",b=\"quo\\\"te\",c=\"line\\nfeed\",d=\"tab\\tkept\",e=\"\",f="
      "\"h\xc3\xa9\"} 1\n",
      kText);
  ASSERT_TRUE(recs.ok()) << recs.status();
  EXPECT_THAT((*recs)[0].labels,
              ElementsAre(Pair("a", "back\\slash"), Pair("b", "quo\"te"), Pair("c", "line\nfeed"),
                          Pair("d", "tab\\tkept"), Pair("e", ""), Pair("f", "h\xc3\xa9")));
}

TEST(TextParsePromTest, ManyEscapedValuesOnOneLineStayValid) {
  // Views into the parser's unescape buffer must survive later values on the same line.
  std::string in = "m{";
  for (int i = 0; i < 40; ++i) {
    if (i) in += ",";
    in += "l" + std::to_string(i) + "=\"v\\\"" + std::to_string(i) + "\"";
  }
  in += "} 1\n";
  absl::StatusOr<std::vector<Rec>> recs = ParseAll(in, kText);
  ASSERT_TRUE(recs.ok()) << recs.status();
  ASSERT_EQ((*recs)[0].labels.size(), 40u);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ((*recs)[0].labels[i].second, "v\"" + std::to_string(i));
  }
}

TEST(TextParsePromTest, SpecialValuesAndTimestamps) {
  absl::StatusOr<std::vector<Rec>> recs =
      ParseAll("a NaN\nb +Inf\nc -Inf\nd Inf\ne nan\nf 1e-3 -5\ng 0 9223372036854775807\n", kText);
  ASSERT_TRUE(recs.ok()) << recs.status();
  std::vector<Rec> s = Series(*recs);
  ASSERT_EQ(s.size(), 7u);
  EXPECT_TRUE(std::isnan(s[0].value));
  EXPECT_EQ(s[1].value, std::numeric_limits<double>::infinity());
  EXPECT_EQ(s[2].value, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(s[3].value, std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(s[4].value));
  EXPECT_EQ(s[5].value, 0.001);
  EXPECT_EQ(s[5].ts, -5);
  EXPECT_EQ(s[6].ts, std::numeric_limits<int64_t>::max());
}

TEST(TextParsePromTest, HelpEscapesAndCommentForms) {
  absl::StatusOr<std::vector<Rec>> recs = ParseAll(
      "# HELP m a \\\\ b\\nc \\\" d\n"
      "#HELP not a help line\n"
      "# HELPER is a comment\n"
      "#\n"
      "# EOF\n"
      "# HELP m\n"
      "# TYPE m untyped\n",
      kText);
  ASSERT_TRUE(recs.ok()) << recs.status();
  const std::vector<Rec>& r = *recs;
  ASSERT_EQ(r.size(), 8u);
  EXPECT_EQ(r[0].type, EntryType::kHelp);
  EXPECT_EQ(r[0].text, "a \\ b\nc \\\" d");  // \" is not an escape in text-format HELP
  EXPECT_EQ(r[1].type, EntryType::kComment);
  EXPECT_EQ(r[1].text, "HELP not a help line");
  EXPECT_EQ(r[2].type, EntryType::kComment);
  EXPECT_EQ(r[3].type, EntryType::kComment);
  EXPECT_EQ(r[3].text, "");
  EXPECT_EQ(r[4].type, EntryType::kComment);  // "# EOF" means nothing in the text format
  EXPECT_EQ(r[5].type, EntryType::kHelp);     // a HELP line without text, as in Prometheus
  EXPECT_EQ(r[5].text, "");
  EXPECT_EQ(r[6].type, EntryType::kType);
  EXPECT_EQ(r[6].metric_type, MetricType::kUnknown);
  EXPECT_EQ(r[7].type, EntryType::kEOF);
}

TEST(TextParsePromTest, HelpWithoutTextIsEmpty) {
  absl::StatusOr<std::vector<Rec>> recs = ParseAll("# HELP m \n# TYPE m gauge \n", kText);
  ASSERT_TRUE(recs.ok()) << recs.status();
  EXPECT_EQ((*recs)[0].type, EntryType::kHelp);
  EXPECT_EQ((*recs)[0].text, "");
  EXPECT_EQ((*recs)[1].metric_type, MetricType::kGauge);
}

TEST(TextParsePromTest, FamiliesOfSuffixedSamples) {
  absl::StatusOr<std::vector<Rec>> recs = ParseAll(
      "# TYPE rpc summary\n"
      "rpc{quantile=\"0.5\"} 1\n"
      "rpc_sum 2\n"
      "rpc_count 3\n"
      "# TYPE lat histogram\n"
      "lat_bucket{le=\"+Inf\"} 3\n"
      "lat_sum 2\n"
      "lat_count 3\n"
      "lat_total 9\n"   // not a histogram sample: a family of its own
      "lat_count 3\n",  // and the histogram family is over
      kText);
  ASSERT_TRUE(recs.ok()) << recs.status();
  std::vector<Rec> s = Series(*recs);
  ASSERT_EQ(s.size(), 8u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(s[i].family, "rpc") << i;
    EXPECT_EQ(s[i].metric_type, MetricType::kSummary) << i;
  }
  for (int i = 3; i < 6; ++i) {
    EXPECT_EQ(s[i].family, "lat") << i;
    EXPECT_EQ(s[i].metric_type, MetricType::kHistogram) << i;
  }
  EXPECT_EQ(s[6].family, "lat_total");
  EXPECT_EQ(s[6].metric_type, MetricType::kUnknown);
  EXPECT_EQ(s[7].family, "lat_count");
}

TEST(TextParsePromTest, ToLabelsBuildsSortedLabelsWithName) {
  Parser parser("up{z=\"1\",a=\"2\",empty=\"\"} 1\n", kText);
  ASSERT_EQ(*parser.Next(), EntryType::kSeries);
  tsdb::Labels labels = ToLabels(parser.entry());
  EXPECT_EQ(labels, tsdb::Labels({{"__name__", "up"}, {"a", "2"}, {"z", "1"}}));
  EXPECT_EQ(labels.size(), 3u);
  std::vector<tsdb::Label> out;
  AppendLabels(parser.entry(), &out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].name, "__name__");
}

struct ErrorCase {
  const char* input;
  const char* message;
};

TEST(TextParsePromTest, ErrorsNameLineColumnAndExpectation) {
  const ErrorCase cases[] = {
      {"ok 1\nhttp{code 200} 1\n",
       "line 2, column 11: expected '=' after label name \"code\", found '2'"},
      {"m{code=200} 1\n",
       "line 1, column 8: expected '\"' to open the value of label \"code\", "
       "found '2'"},
      {"m{a=\"x} 1\n",
       "line 1, column 5: unterminated value of label \"a\": expected a closing '\"' before the "
       "end of the line (a line feed in a value must be written as \\n)"},
      {"m{a=\"x\ny\"} 1\n",
       "line 1, column 5: unterminated value of label \"a\": expected a "
       "closing '\"' before the end of the line (a line feed in a value "
       "must be written as \\n)"},
      {"m{1a=\"b\"} 1\n", "line 1, column 3: expected label name or '}', found '1'"},
      {"m{a-b=\"b\"} 1\n", "line 1, column 4: expected '=' after label name \"a\", found '-'"},
      {"m{,} 1\n", "line 1, column 3: expected label name or '}', found ','"},
      {"m{a=\"1\" b=\"2\"} 1\n",
       "line 1, column 9: expected ',' or '}' after the value of label \"a\", found 'b'"},
      {"m{a=\"1\",b=\"2\",a=\"3\"} 1\n", "line 1, column 15: duplicate label name \"a\""},
      {"m{__name__=\"x\"} 1\n",
       "line 1, column 3: label name \"__name__\" repeats the metric "
       "name, which is given before '{'"},
      {"m{a=\"\xff\"} 1\n", "line 1, column 6: invalid UTF-8 in the value of label \"a\""},
      {"m{a=\"\xed\xa0\x80\"} 1\n", "line 1, column 6: invalid UTF-8 in the value of label \"a\""},
      {"m\n", "line 1, column 2: expected a value after the metric name"},
      {"m{a=\"b\"}\n", "line 1, column 9: expected a value after the labels"},
      {"m{a=\"b\"\n",
       "line 1, column 8: expected ',' or '}' after the value of label \"a\", "
       "found end of line"},
      {"m abc\n", "line 1, column 3: invalid value \"abc\": expected a number, NaN, +Inf or -Inf"},
      {"m 1 2 3\n",
       "line 1, column 7: unexpected '3' after the timestamp: expected the end of "
       "the line"},
      {"m 1 1.5\n",
       "line 1, column 5: invalid timestamp \"1.5\": expected integer milliseconds "
       "since the Unix epoch"},
      {"m 1 99999999999999999999\n",
       "line 1, column 5: timestamp \"99999999999999999999\" is out of range"},
      {"1m 1\n", "line 1, column 1: expected a metric name, '#' or a blank line, found '1'"},
      {"{a=\"b\"} 1\n", "line 1, column 1: expected a metric name, '#' or a blank line, found '{'"},
      {"m-x 1\n", "line 1, column 2: unexpected '-' after metric name \"m\""},
      {"m 1\r\n", "line 1, column 3: invalid value \"1\\r\": expected a number, NaN, +Inf or -Inf"},
      {"# HELP 1m x\n", "line 1, column 8: expected a metric name after HELP, found '1'"},
      {"# TYPE m\n",
       "line 1, column 9: invalid metric type \"\": expected counter, gauge, "
       "histogram, summary or untyped"},
      {"# TYPE m gaugehistogram\n",
       "line 1, column 10: invalid metric type \"gaugehistogram\": "
       "expected counter, gauge, histogram, summary or untyped"},
      {"# TYPE m-x gauge\n", "line 1, column 9: unexpected '-' after metric name \"m\""},
  };
  for (const ErrorCase& c : cases) {
    EXPECT_EQ(ErrorOf(c.input, kText), c.message) << c.input;
  }
}

TEST(TextParsePromTest, ErrorIsStickyAndExposesPosition) {
  Parser parser("a 1\nb{x=1} 2\nc 3\n", kText);
  ASSERT_EQ(*parser.Next(), EntryType::kSeries);
  absl::StatusOr<EntryType> t = parser.Next();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(parser.error_line(), 2);
  EXPECT_EQ(parser.error_column(), 5);
  EXPECT_THAT(parser.error_what(), HasSubstr("expected '\"'"));
  absl::StatusOr<EntryType> again = parser.Next();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status(), t.status());
}

TEST(TextParsePromTest, LongLabelListsDetectDuplicates) {
  std::string in = "m{";
  for (int i = 0; i < 30; ++i) in += "l" + std::to_string(i) + "=\"v\",";
  in += "l7=\"again\"} 1\n";
  EXPECT_THAT(ErrorOf(in, kText), HasSubstr("duplicate label name \"l7\""));
  std::string ok = "m{";
  for (int i = 0; i < 30; ++i) ok += "l" + std::to_string(i) + "=\"v\",";
  ok += "} 1\n";
  EXPECT_EQ(ErrorOf(ok, kText), "OK");
}

// A body in the shape node_exporter serves.
constexpr char kNodeExporterBody[] =
    R"body(# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.4279e-05
go_gc_duration_seconds{quantile="0.25"} 3.4766e-05
go_gc_duration_seconds{quantile="0.5"} 4.4592e-05
go_gc_duration_seconds{quantile="0.75"} 6.1403e-05
go_gc_duration_seconds{quantile="1"} 0.000847468
go_gc_duration_seconds_sum 0.062458614
go_gc_duration_seconds_count 1232
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 8
# HELP go_info Information about the Go environment.
# TYPE go_info gauge
go_info{version="go1.19.8"} 1
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 1.01915493e+06
node_cpu_seconds_total{cpu="0",mode="iowait"} 1143.63
node_cpu_seconds_total{cpu="0",mode="irq"} 0
node_cpu_seconds_total{cpu="0",mode="user"} 36711.23
node_cpu_seconds_total{cpu="1",mode="idle"} 1.01954726e+06
# HELP node_disk_io_time_seconds_total Total seconds spent doing I/Os.
# TYPE node_disk_io_time_seconds_total counter
node_disk_io_time_seconds_total{device="nvme0n1"} 4296.412
# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.
# TYPE node_filesystem_avail_bytes gauge
node_filesystem_avail_bytes{device="/dev/nvme0n1p2",fstype="ext4",mountpoint="/"} 1.70233991168e+11
node_filesystem_avail_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run"} 3.35167488e+09
# HELP node_load1 1m load average.
# TYPE node_load1 gauge
node_load1 0.62
# HELP node_network_receive_bytes_total Network device statistic receive_bytes.
# TYPE node_network_receive_bytes_total counter
node_network_receive_bytes_total{device="lo"} 3.5789924e+07
node_network_receive_bytes_total{device="wlp0s20f3"} 5.269934468e+09
# HELP node_scrape_collector_duration_seconds node_exporter: Duration of a collector scrape.
# TYPE node_scrape_collector_duration_seconds gauge
node_scrape_collector_duration_seconds{collector="cpu"} 0.000687214
# HELP node_uname_info Labeled system information as provided by the uname system call.
# TYPE node_uname_info gauge
node_uname_info{domainname="(none)",machine="x86_64",nodename="host",release="6.1.0-13-amd64",sysname="Linux",version="#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)"} 1
# HELP promhttp_metric_handler_requests_total Total number of scrapes by HTTP status code.
# TYPE promhttp_metric_handler_requests_total counter
promhttp_metric_handler_requests_total{code="200"} 1561
promhttp_metric_handler_requests_total{code="500"} 0
promhttp_metric_handler_requests_total{code="503"} 0
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320
)body";

TEST(TextParsePromTest, NodeExporterBody) {
  absl::StatusOr<std::vector<Rec>> recs = ParseAll(kNodeExporterBody, kText);
  ASSERT_TRUE(recs.ok()) << recs.status();
  std::vector<Rec> s = Series(*recs);
  ASSERT_EQ(s.size(), 30u);
  int help = 0, type = 0;
  for (const Rec& r : *recs) {
    help += r.type == EntryType::kHelp;
    type += r.type == EntryType::kType;
  }
  EXPECT_EQ(help, 12);
  EXPECT_EQ(type, 12);
  EXPECT_EQ(s[0].family, "go_gc_duration_seconds");
  EXPECT_EQ(s[0].metric_type, MetricType::kSummary);
  EXPECT_EQ(s[6].name, "go_gc_duration_seconds_count");
  EXPECT_EQ(s[6].family, "go_gc_duration_seconds");
  EXPECT_EQ(s[6].value, 1232);
  EXPECT_EQ(s[9].name, "node_cpu_seconds_total");
  EXPECT_EQ(s[9].metric_type, MetricType::kCounter);
  EXPECT_EQ(s[9].value, 1.01915493e+06);
  const Rec& uname = s[21];
  EXPECT_EQ(uname.name, "node_uname_info");
  ASSERT_EQ(uname.labels.size(), 6u);
  EXPECT_EQ(uname.labels[5].second, "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)");
  EXPECT_EQ(s[27].labels[0].second, "+Inf");
  EXPECT_EQ(s[29].family, "http_request_duration_seconds");
  EXPECT_EQ(s[29].metric_type, MetricType::kHistogram);
  for (const Rec& r : s) EXPECT_EQ(r.ts, std::nullopt);
  // The same body is not valid OpenMetrics: it lacks "# EOF".
  EXPECT_EQ(ErrorOf(kNodeExporterBody, kOM),
            "line 55, column 1: unexpected end of input: "
            "expected '# EOF'");
}

// ---------------------------------------------------------------------------------------------
// OpenMetrics

constexpr char kOpenMetricsBody[] = R"body(# TYPE acme_http_router_request_seconds summary
# UNIT acme_http_router_request_seconds seconds
# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32 1.5
acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0 1.5
acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0 1.5
# TYPE go_goroutines gauge
go_goroutines 69 1700000000.123
# TYPE process_cpu_seconds counter
# UNIT process_cpu_seconds seconds
# HELP process_cpu_seconds Total user and system CPU time spent in seconds.
process_cpu_seconds_total 4.20072246e+06 1.001 # {trace_id="KOO5S4vxi0o"} 0.67
process_cpu_seconds_created 1.6e9 1.001
# TYPE foo histogram
foo_bucket{le="0.01"} 0 -1.5
foo_bucket{le="+Inf"} 17 1e3 # {trace_id="oHg5SJYRHA0",span="x"} 9.8 1520879607.789
foo_count 17 1e3
foo_sum 324789.3 1e3
# TYPE build info
build_info{version="1.0",revision="\"q\"\\ \n"} 1 0
# TYPE fs stateset
fs{fs="a"} 1 0
fs{fs="b"} 0 0
# TYPE queue gaugehistogram
queue_bucket{le="+Inf"} 4 0
queue_gsum 10 0
queue_gcount 4 0
# TYPE other unknown
other NaN 0
other_two -Inf 0
# EOF
)body";

TEST(TextParseOpenMetricsTest, FullBody) {
  absl::StatusOr<std::vector<Rec>> recs = ParseAll(kOpenMetricsBody, kOM);
  ASSERT_TRUE(recs.ok()) << recs.status();
  const std::vector<Rec>& r = *recs;
  EXPECT_EQ(r[0].type, EntryType::kType);
  EXPECT_EQ(r[0].metric_type, MetricType::kSummary);
  EXPECT_EQ(r[1].type, EntryType::kUnit);
  EXPECT_EQ(r[1].text, "seconds");
  EXPECT_EQ(r[2].type, EntryType::kHelp);
  EXPECT_EQ(r[2].text, "Latency though all of ACME's HTTP request router.");
  EXPECT_EQ(r.back().type, EntryType::kEOF);
  EXPECT_EQ(r.back().line, 31);

  std::vector<Rec> s = Series(r);
  ASSERT_EQ(s.size(), 18u);
  EXPECT_EQ(s[0].family, "acme_http_router_request_seconds");
  EXPECT_EQ(s[0].metric_type, MetricType::kSummary);
  EXPECT_EQ(s[0].ts, 1500);
  EXPECT_EQ(s[2].name, "acme_http_router_request_seconds_created");  // _created is a series
  EXPECT_EQ(s[2].family, "acme_http_router_request_seconds");
  EXPECT_EQ(s[2].value, 1605281325.0);
  EXPECT_EQ(s[3].ts, 1700000000123);
  EXPECT_EQ(s[4].name, "process_cpu_seconds_total");
  EXPECT_EQ(s[4].family, "process_cpu_seconds");
  EXPECT_EQ(s[4].metric_type, MetricType::kCounter);
  EXPECT_EQ(s[4].value, 4.20072246e+06);  // the exemplar is not taken for the value
  EXPECT_EQ(s[4].ts, 1001);               // exact: float math would give 1000
  ASSERT_TRUE(s[4].has_exemplar);
  EXPECT_THAT(s[4].exemplar_labels, ElementsAre(Pair("trace_id", "KOO5S4vxi0o")));
  EXPECT_EQ(s[4].exemplar_value, 0.67);
  EXPECT_EQ(s[4].exemplar_ts, std::nullopt);
  EXPECT_EQ(s[5].name, "process_cpu_seconds_created");
  EXPECT_FALSE(s[5].has_exemplar);
  EXPECT_EQ(s[6].ts, -1500);
  EXPECT_EQ(s[6].metric_type, MetricType::kHistogram);
  EXPECT_EQ(s[7].value, 17);
  EXPECT_EQ(s[7].ts, 1000000);
  ASSERT_TRUE(s[7].has_exemplar);
  EXPECT_THAT(s[7].exemplar_labels,
              ElementsAre(Pair("trace_id", "oHg5SJYRHA0"), Pair("span", "x")));
  EXPECT_EQ(s[7].exemplar_value, 9.8);
  EXPECT_EQ(s[7].exemplar_ts, 1520879607789);
  EXPECT_EQ(s[9].family, "foo");
  EXPECT_EQ(s[10].name, "build_info");
  EXPECT_EQ(s[10].family, "build");
  EXPECT_EQ(s[10].metric_type, MetricType::kInfo);
  EXPECT_THAT(s[10].labels, ElementsAre(Pair("version", "1.0"), Pair("revision", "\"q\"\\ \n")));
  EXPECT_EQ(s[11].metric_type, MetricType::kStateset);
  EXPECT_EQ(s[13].family, "queue");
  EXPECT_EQ(s[15].family, "queue");
  EXPECT_EQ(s[15].metric_type, MetricType::kGaugeHistogram);
  EXPECT_TRUE(std::isnan(s[16].value));
  EXPECT_EQ(s[16].metric_type, MetricType::kUnknown);
  EXPECT_EQ(s[17].family, "other_two");
  EXPECT_EQ(s[17].value, -std::numeric_limits<double>::infinity());
}

TEST(TextParseOpenMetricsTest, EofWithoutLineFeedAndOnlyEof) {
  EXPECT_EQ(ErrorOf("a 1\n# EOF", kOM), "OK");
  absl::StatusOr<std::vector<Rec>> recs = ParseAll("# EOF\n", kOM);
  ASSERT_TRUE(recs.ok());
  ASSERT_EQ(recs->size(), 1u);
  EXPECT_EQ((*recs)[0].type, EntryType::kEOF);
  Parser parser("# EOF\n", kOM);
  EXPECT_EQ(*parser.Next(), EntryType::kEOF);
  EXPECT_EQ(*parser.Next(), EntryType::kEOF);
}

TEST(TextParseOpenMetricsTest, TimestampsAreSecondsConvertedToMillis) {
  struct Case {
    const char* ts;
    int64_t ms;
  } cases[] = {
      {"0", 0},
      {"1", 1000},
      {"1.5", 1500},
      {"-1.5", -1500},
      {"1.001", 1001},
      {"1.0019", 1001},
      {"-1.0019", -1001},
      {"+2", 2000},
      {".5", 500},
      {"5.", 5000},
      {"1e3", 1000000},
      {"1.5E-3", 1},
      {"1700000000.123456", 1700000000123},
      {"9223372036854775.807", 9223372036854775807},
  };
  for (const Case& c : cases) {
    std::string in = std::string("m 1 ") + c.ts + "\n# EOF\n";
    absl::StatusOr<std::vector<Rec>> recs = ParseAll(in, kOM);
    ASSERT_TRUE(recs.ok()) << c.ts << ": " << recs.status();
    EXPECT_EQ((*recs)[0].ts, c.ms) << c.ts;
  }
}

TEST(TextParseOpenMetricsTest, ErrorsNameLineColumnAndExpectation) {
  const ErrorCase cases[] = {
      {"", "line 1, column 1: unexpected end of input: expected '# EOF'"},
      {"a 1 1\n", "line 2, column 1: unexpected end of input: expected '# EOF'"},
      {"a 1 1", "line 1, column 6: unexpected end of input: expected a line feed and '# EOF'"},
      {"a 1 1\n# EOF\nb 1 1\n", "line 3, column 1: unexpected data after '# EOF'"},
      {"a 1 1\n# EOF\n\n", "line 3, column 1: unexpected data after '# EOF'"},
      {"# EOF \n", "line 1, column 6: unexpected text after '# EOF'"},
      {"a 1 1\n\nb 1 1\n# EOF\n", "line 2, column 1: blank lines are not allowed in OpenMetrics"},
      {"# hello\n# EOF\n",
       "line 1, column 3: expected HELP, TYPE, UNIT or EOF after '# ', found "
       "\"hello\" (OpenMetrics allows no other comments)"},
      {"#TYPE a gauge\n# EOF\n",
       "line 1, column 2: expected ' ' after '#', found 'T' (OpenMetrics "
       "allows only '# HELP', '# TYPE', '# UNIT' and '# EOF' lines)"},
      {"#\n# EOF\n",
       "line 1, column 2: expected ' ' after '#', found end of line (OpenMetrics "
       "allows only '# HELP', '# TYPE', '# UNIT' and '# EOF' lines)"},
      {" a 1\n# EOF\n", "line 1, column 1: expected a metric name or '#', found ' '"},
      {"a  1\n# EOF\n",
       "line 1, column 3: expected a value after the metric name, found ' ' "
       "(fields are separated by exactly one space)"},
      {"a\t1\n# EOF\n",
       "line 1, column 2: expected ' ' and a value after the metric name, found "
       "byte 0x09"},
      {"a 1 1 \n# EOF\n",
       "line 1, column 6: unexpected ' ' after the timestamp: expected the "
       "end of the line or ' # {' and an exemplar"},
      {"a 1  1\n# EOF\n",
       "line 1, column 5: expected a timestamp or '# {' after the value, found "
       "' ' (fields are separated by exactly one space)"},
      {"a{b=\"c\",} 1\n# EOF\n", "line 1, column 9: expected label name after ',', found '}'"},
      {"a{b=\"c\", d=\"e\"} 1\n# EOF\n",
       "line 1, column 9: expected label name after ',', found ' '"},
      {"a{b = \"c\"} 1\n# EOF\n",
       "line 1, column 4: expected '=' after label name \"b\", found ' '"},
      {"a{b=\"c\" } 1\n# EOF\n",
       "line 1, column 8: expected ',' or '}' after the value of label \"b\", found ' '"},
      {"a 1 NaN\n# EOF\n", "line 1, column 5: invalid timestamp \"NaN\": must be finite"},
      {"a 1 +Inf\n# EOF\n", "line 1, column 5: invalid timestamp \"+Inf\": must be finite"},
      {"a 1 x\n# EOF\n",
       "line 1, column 5: invalid timestamp \"x\": expected seconds since the "
       "Unix epoch"},
      {"a 1 1e300\n# EOF\n", "line 1, column 5: timestamp \"1e300\" is out of range"},
      {"a 1 99999999999999999\n# EOF\n",
       "line 1, column 5: timestamp \"99999999999999999\" is out of range"},
      {"a 1\r\n# EOF\n",
       "line 1, column 3: invalid value \"1\\r\": expected a number, NaN, +Inf "
       "or -Inf"},
      {"a 1 1 # x\n# EOF\n", "line 1, column 7: expected '# {' to start an exemplar"},
      {"a_total 1 # x\n# EOF\n", "line 1, column 11: expected '# {' to start an exemplar"},
      {"# TYPE a gauge\na 1 1 # {x=\"y\"} 1\n# EOF\n",
       "line 2, column 7: exemplars are only allowed on samples named *_total or *_bucket, not "
       "\"a\""},
      {"# TYPE a histogram\na_count 1 1 # {x=\"y\"} 1\n# EOF\n",
       "line 2, column 13: exemplars are only allowed on samples named *_total or *_bucket, not "
       "\"a_count\""},
      {"a_total 1 1 # {x=\"y\"}\n# EOF\n",
       "line 1, column 22: expected ' ' and a value after the exemplar labels"},
      {"a_total 1 1 # {x=\"y\"} z\n# EOF\n",
       "line 1, column 23: invalid exemplar value \"z\": "
       "expected a number, NaN, +Inf or -Inf"},
      {"a_total 1 1 # {x=\"y\"} 1 NaN\n# EOF\n",
       "line 1, column 25: invalid exemplar timestamp \"NaN\": expected finite seconds since the "
       "Unix epoch"},
      {"a_total 1 1 # {x=\"y\"} 1 1 1\n# EOF\n",
       "line 1, column 26: unexpected ' ' after the exemplar timestamp: expected the end of the "
       "line"},
      {"a_total 1 1 # {x=\"y\",x=\"z\"} 1\n# EOF\n",
       "line 1, column 22: duplicate label name \"x\""},
      {"a_total 1 1 # {1=\"y\"} 1\n# EOF\n",
       "line 1, column 16: expected exemplar label name or '}', found '1'"},
      {"# TYPE a untyped\n# EOF\n",
       "line 1, column 10: invalid metric type \"untyped\": expected counter, gauge, histogram, "
       "gaugehistogram, summary, info, stateset or unknown"},
      {"# TYPE a counter \n# EOF\n",
       "line 1, column 10: invalid metric type \"counter \": expected counter, gauge, histogram, "
       "gaugehistogram, summary, info, stateset or unknown"},
      {"# TYPE a\n# EOF\n", "line 1, column 9: expected ' ' and the type after metric name \"a\""},
      {"# HELP a\n# EOF\n",
       "line 1, column 9: expected ' ' and the help text after metric name \"a\""},
      {"# TYPE  a gauge\n# EOF\n",
       "line 1, column 8: expected a metric name after TYPE, found ' '"},
      {"# UNIT a seconds\n# EOF\n",
       "line 1, column 10: unit \"seconds\" is not a suffix of metric "
       "name \"a\" (the name must end in \"_seconds\")"},
      {"# UNIT a_seconds_total seconds\n# EOF\n",
       "line 1, column 24: unit \"seconds\" is not a suffix of metric name \"a_seconds_total\" "
       "(the name must end in \"_seconds\")"},
      {"a{b=\"c\\\n\"} 1\n# EOF\n",
       "line 1, column 5: unterminated value of label \"b\": expected a closing '\"' before the "
       "end of the line (a line feed in a value must be written as \\n)"},
      {"a{b=\"c\",b=\"d\"} 1 1\n# EOF\n", "line 1, column 9: duplicate label name \"b\""},
  };
  for (const ErrorCase& c : cases) {
    EXPECT_EQ(ErrorOf(c.input, kOM), c.message) << c.input;
  }
}

TEST(TextParseOpenMetricsTest, AcceptedEdgeCases) {
  // Each of these is accepted by promtool 2.42 as well.
  for (const char* in : {
           "# HELP a \n# UNIT a \na 1 1\n# EOF\n",             // empty help and unit
           "# TYPE a gauge\n# TYPE a gauge\na 1 1\n# EOF\n",   // repeated TYPE
           "# TYPE a counter\na 1 1\n# EOF\n",                 // counter without _total
           "# TYPE a counter\nb_total 1 1\n# EOF\n",           // sample of another name
           "a_total 1 1 # {} 1\n# EOF\n",                      // empty exemplar labels
           "a_bucket{le=\"1\"} 1 1 # {a=\"b\"} 1 1\n# EOF\n",  // exemplar, no TYPE
           "# TYPE a gauge\na_total 1 1 # {} 1\n# EOF\n",      // _total decides
           "a:b 1 1\n# EOF\n",                                 // colon in a name
           "a 1 1\na 2 1\na 0 0\n# EOF\n",                     // repeats, out of order
           "a{} 1e-400 -5\n# EOF\n",
       }) {
    EXPECT_EQ(ErrorOf(in, kOM), "OK") << in;
  }
}

TEST(TextParseOpenMetricsTest, HelpEscapes) {
  absl::StatusOr<std::vector<Rec>> recs = ParseAll("# HELP a x\\\\y\\nz\\\"w\\t\n# EOF\n", kOM);
  ASSERT_TRUE(recs.ok()) << recs.status();
  EXPECT_EQ((*recs)[0].text, "x\\y\nz\"w\\t");
}

TEST(TextParseOpenMetricsTest, CommentsAndBlankLinesOnlyInTextFormat) {
  EXPECT_EQ(ErrorOf("# free comment\n\na 1\n", kText), "OK");
  EXPECT_NE(ErrorOf("# free comment\na 1\n# EOF\n", kOM), "OK");
}

}  // namespace
}  // namespace scrape::textparse
