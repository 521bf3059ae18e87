// The Prometheus-compatible query API: the JSON encoding, parameter parsing, and every endpoint
// called directly with Request objects against a small database filled here.
#include "adapter/api/query_api.h"

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "adapter/api/json.h"
#include "adapter/api/params.h"
#include "adapter/http/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "promql/value.h"
#include "tsdb/db.h"
#include "tsdb/labels.h"

namespace api {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// --- JSON encoding -------------------------------------------------------------------------

std::string Ts(int64_t ms) {
  std::string out;
  AppendTimestamp(ms, &out);
  return out;
}

std::string Str(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

TEST(QueryApiJsonTest, TimestampsAsPrometheusWritesThem) {
  EXPECT_EQ(Ts(1435781451781), "1435781451.781");
  EXPECT_EQ(Ts(1435781451000), "1435781451");
  EXPECT_EQ(Ts(1500), "1.500");
  EXPECT_EQ(Ts(1050), "1.050");
  EXPECT_EQ(Ts(5), "0.005");
  EXPECT_EQ(Ts(0), "0");
  EXPECT_EQ(Ts(-1500), "-1.500");
  EXPECT_EQ(Ts(-5), "-0.005");
  EXPECT_EQ(Ts(std::numeric_limits<int64_t>::min()), "-9223372036854775.808");
  EXPECT_EQ(Ts(std::numeric_limits<int64_t>::max()), "9223372036854775.807");
}

TEST(QueryApiJsonTest, ValuesAsGoFormatFloat) {
  EXPECT_EQ(FormatSampleValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatSampleValue(0.0), "0");
  EXPECT_EQ(FormatSampleValue(-0.0), "-0");
  EXPECT_EQ(FormatSampleValue(1), "1");
  EXPECT_EQ(FormatSampleValue(-42), "-42");
  EXPECT_EQ(FormatSampleValue(2.5), "2.5");
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(FormatSampleValue(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatSampleValue(123.456), "123.456");
  EXPECT_EQ(FormatSampleValue(1e-6), "0.000001");
  EXPECT_EQ(FormatSampleValue(1.25e-5), "0.0000125");
  EXPECT_EQ(FormatSampleValue(9.9e-7), "9.9e-07");
  EXPECT_EQ(FormatSampleValue(-1.25e-7), "-1.25e-07");
  EXPECT_EQ(FormatSampleValue(5e-324), "5e-324");
  EXPECT_EQ(FormatSampleValue(1e20), "100000000000000000000");
  EXPECT_EQ(FormatSampleValue(1.2345678901234568e20), "123456789012345680000");
  EXPECT_EQ(FormatSampleValue(9007199254740993.0), "9007199254740992");
  EXPECT_EQ(FormatSampleValue(1e21), "1e+21");
  EXPECT_EQ(FormatSampleValue(1.5e300), "1.5e+300");
  EXPECT_EQ(FormatSampleValue(1.7976931348623157e308), "1.7976931348623157e+308");
  std::string quoted;
  AppendSampleValue(1.5, &quoted);
  EXPECT_EQ(quoted, "\"1.5\"");
}

TEST(QueryApiJsonTest, StringsEscapedAsPrometheus) {
  EXPECT_EQ(Str("plain"), "\"plain\"");
  EXPECT_EQ(Str("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Str("\n\r\t"), "\"\\n\\r\\t\"");
  EXPECT_EQ(Str(std::string("\x01\x1f\b\f", 4)), "\"\\u0001\\u001f\\u0008\\u000c\"");
  EXPECT_EQ(Str("<a>&"), "\"\\u003ca\\u003e\\u0026\"");
  EXPECT_EQ(Str("h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(Str("\xe2\x80\xa8\xe2\x80\xa9"), "\"\\u2028\\u2029\"");
  // Invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong form, a surrogate.
  EXPECT_EQ(Str("a\x80z"), "\"a\\ufffdz\"");
  EXPECT_EQ(Str("\xe2\x82"), "\"\\ufffd\\ufffd\"");
  EXPECT_EQ(Str("\xc0\xaf"), "\"\\ufffd\\ufffd\"");
  EXPECT_EQ(Str("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
  EXPECT_EQ(Str("\x7f"), "\"\x7f\"");
  // Plain runs around escapes are kept whole.
  EXPECT_EQ(Str("instance=\"i7\", path=/p<3>"), "\"instance=\\\"i7\\\", path=/p\\u003c3\\u003e\"");
}

TEST(QueryApiJsonTest, GoQuote) {
  EXPECT_EQ(GoQuote("x"), "\"x\"");
  EXPECT_EQ(GoQuote(""), "\"\"");
  EXPECT_EQ(GoQuote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(GoQuote(std::string("\x01\x7f\xff", 3)), "\"\\x01\\x7f\\xff\"");
  EXPECT_EQ(GoQuote("\xc3\xa9"), "\"\xc3\xa9\"");
}

TEST(QueryApiJsonTest, LabelsObjectAndPairs) {
  std::string out;
  AppendLabelsObject(tsdb::Labels{{"__name__", "up"}, {"job", "a<b"}}, &out);
  EXPECT_EQ(out, "{\"__name__\":\"up\",\"job\":\"a\\u003cb\"}");
  out.clear();
  AppendLabelsObject(tsdb::Labels(), &out);
  EXPECT_EQ(out, "{}");
  out.clear();
  AppendSamplePair(1000, std::nan(""), &out);
  EXPECT_EQ(out, "[1,\"NaN\"]");
  out.clear();
  AppendStringPair(1001, "x", &out);
  EXPECT_EQ(out, "[1.001,\"x\"]");
  // The longest timestamp and values of each layout, written through the pair's one buffer.
  out.clear();
  AppendSamplePair(std::numeric_limits<int64_t>::min(), -1.2345678901234568e-300, &out);
  EXPECT_EQ(out, "[-9223372036854775.808,\"-1.2345678901234568e-300\"]");
  out.clear();
  AppendSamplePair(-5, -1.2345678901234567e-6, &out);
  EXPECT_EQ(out, "[-0.005,\"-0.0000012345678901234567\"]");
  out.clear();
  AppendSamplePair(1, -9.876543210987654e20, &out);
  EXPECT_EQ(out, "[0.001,\"-987654321098765400000\"]");
}

// --- Parameters ----------------------------------------------------------------------------

TEST(QueryApiParamsTest, Times) {
  EXPECT_EQ(*ParseApiTime("1435781451.781"), 1435781451781);
  EXPECT_EQ(*ParseApiTime("1435781451"), 1435781451000);
  EXPECT_EQ(*ParseApiTime("+1435781451"), 1435781451000);
  EXPECT_EQ(*ParseApiTime("1.5e9"), 1500000000000);
  EXPECT_EQ(*ParseApiTime("-1.5"), -1500);
  EXPECT_EQ(*ParseApiTime("0.0005"), 1);
  EXPECT_EQ(*ParseApiTime("0.9996"), 1000);
  EXPECT_EQ(*ParseApiTime(".5"), 500);
  EXPECT_EQ(*ParseApiTime("0x10p0"), 16000);
  EXPECT_EQ(*ParseApiTime("2015-07-01T20:10:51.781Z"), 1435781451781);
  EXPECT_EQ(*ParseApiTime("2015-07-01T20:10:51Z"), 1435781451000);
  EXPECT_EQ(*ParseApiTime("2015-07-01T20:10:51.7819999Z"), 1435781451781);
  EXPECT_EQ(*ParseApiTime("2015-07-01T22:10:51.781+02:00"), 1435781451781);
  EXPECT_EQ(*ParseApiTime("2015-07-01T19:40:51.781-00:30"), 1435781451781);
  EXPECT_EQ(*ParseApiTime("1969-12-31T23:59:59.5Z"), -500);
  EXPECT_EQ(*ParseApiTime("2016-02-29T00:00:00Z"), 1456704000000);
  EXPECT_EQ(*ParseApiTime("-292273086-05-16T16:47:06Z"), kApiMinTimeMs);
  EXPECT_EQ(*ParseApiTime("292277025-08-18T07:12:54.999999999Z"), kApiMaxTimeMs);
  for (const char* bad : {"",
                          "x",
                          " 1",
                          "1 ",
                          "1e400",
                          "NaN",
                          "Inf",
                          "-inf",
                          "1.2.3",
                          "e5",
                          "0x10",
                          "2015-13-01T00:00:00Z",
                          "2015-02-29T00:00:00Z",
                          "2015-07-01T24:00:00Z",
                          "2015-07-01T20:10:60Z",
                          "2015-07-01 20:10:51Z",
                          "2015-07-01T20:10:51",
                          "2015-07-01T20:10:51.Z",
                          "2015-07-01T20:10:51+0200",
                          "1e16"}) {
    absl::StatusOr<int64_t> t = ParseApiTime(bad);
    EXPECT_FALSE(t.ok()) << bad << " -> " << *t;
  }
  EXPECT_EQ(ParseApiTime("x").status().message(), "cannot parse \"x\" to a valid timestamp");
}

TEST(QueryApiParamsTest, Durations) {
  EXPECT_EQ(*ParseApiDurationNs("15"), 15'000'000'000);
  EXPECT_EQ(*ParseApiDurationNs("0.5"), 500'000'000);
  EXPECT_EQ(*ParseApiDurationNs("1e-3"), 1'000'000);
  EXPECT_EQ(*ParseApiDurationNs("-1"), -1'000'000'000);
  EXPECT_EQ(*ParseApiDurationNs("0"), 0);
  EXPECT_EQ(*ParseApiDurationNs("1m30s"), 90'000'000'000);
  EXPECT_EQ(*ParseApiDurationNs("5m"), 300'000'000'000);
  EXPECT_EQ(*ParseApiDurationNs("100ms"), 100'000'000);
  EXPECT_EQ(ParseApiDurationNs("x").status().message(), "cannot parse \"x\" to a valid duration");
  EXPECT_EQ(ParseApiDurationNs("").status().message(), "cannot parse \"\" to a valid duration");
  EXPECT_EQ(ParseApiDurationNs("5m1h").status().message(),
            "cannot parse \"5m1h\" to a valid duration");
  EXPECT_EQ(ParseApiDurationNs("1e300").status().message(),
            "cannot parse \"1e300\" to a valid duration. It overflows int64");
}

TEST(QueryApiParamsTest, Limits) {
  EXPECT_EQ(*ParseApiLimit(""), 0);
  EXPECT_EQ(*ParseApiLimit("0"), 0);
  EXPECT_EQ(*ParseApiLimit("10"), 10);
  EXPECT_EQ(*ParseApiLimit("+5"), 5);
  EXPECT_EQ(ParseApiLimit("-1").status().message(), "limit must be non-negative");
  EXPECT_EQ(ParseApiLimit("x").status().message(), "strconv.Atoi: parsing \"x\": invalid syntax");
  EXPECT_EQ(ParseApiLimit("1.5").status().message(),
            "strconv.Atoi: parsing \"1.5\": invalid syntax");
  EXPECT_EQ(ParseApiLimit("99999999999999999999").status().message(),
            "strconv.Atoi: parsing \"99999999999999999999\": value out of range");
}

TEST(QueryApiParamsTest, Rfc3339Output) {
  EXPECT_EQ(FormatUnixNanoRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatUnixNanoRfc3339(1435781451781000000), "2015-07-01T20:10:51.781Z");
  EXPECT_EQ(FormatUnixNanoRfc3339(1435781451000000001), "2015-07-01T20:10:51.000000001Z");
  EXPECT_EQ(FormatUnixNanoRfc3339(-500000000), "1969-12-31T23:59:59.5Z");
}

// --- Endpoints -----------------------------------------------------------------------------

// 2023-11-14T22:13:20Z; samples every 15s from here for one minute.
constexpr int64_t kT0 = 1700000000000;

class StaticMetadata : public MetadataSource {
 public:
  std::map<std::string, std::vector<MetricMetadata>> ListMetadata(
      std::string_view metric) const override {
    std::map<std::string, std::vector<MetricMetadata>> all = {
        {"http_requests_total",
         {{"counter", "Requests.", ""}, {"counter", "Requests served.", ""}}},
        {"process_cpu_seconds", {{"gauge", "CPU <time>.", "seconds"}}},
        {"up", {{"gauge", "Target up.", ""}}},
    };
    if (metric.empty()) return all;
    std::map<std::string, std::vector<MetricMetadata>> one;
    if (auto it = all.find(std::string(metric)); it != all.end()) one.insert(*it);
    return one;
  }
};

class QueryApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("query_api_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    tsdb::DBOptions options;
    options.retention_ms = int64_t{100} * 365 * 24 * 3600 * 1000;
    options.wal_fsync_interval_ms = -1;
    absl::StatusOr<std::unique_ptr<tsdb::DB>> db = tsdb::DB::Open(dir_.string(), options);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);

    std::unique_ptr<tsdb::Appender> app = db_->NewAppender();
    const auto add = [&](const tsdb::Labels& labels, int64_t t, double v) {
      absl::StatusOr<tsdb::SeriesRef> ref = app->Append(0, labels, t, v);
      ASSERT_TRUE(ref.ok()) << ref.status();
    };
    for (int i = 0; i <= 4; ++i) {
      const int64_t t = kT0 + i * 15000;
      add({{"__name__", "up"}, {"job", "api"}, {"instance", "a"}}, t, 1);
      add({{"__name__", "up"}, {"job", "api"}, {"instance", "b"}}, t, 0);
      add({{"__name__", "up"}, {"job", "db"}, {"instance", "c"}}, t, 1);
      add({{"__name__", "http_requests_total"}, {"job", "api"}, {"code", "200"}}, t, 10 * (i + 1));
    }
    add({{"__name__", "special"}, {"kind", "inf"}}, kT0 + 60000,
        std::numeric_limits<double>::infinity());
    add({{"__name__", "special"}, {"kind", "nan"}}, kT0 + 60000, std::nan(""));
    add({{"__name__", "special"}, {"kind", "tiny"}}, kT0 + 60000, 1.5e-7);
    add({{"__name__", "odd"}, {"text", "a<b>&\"q\""}}, kT0 + 60000, 0.25);
    ASSERT_TRUE(app->Commit().ok());

    QueryApiOptions options_api;
    tsdb::DB* raw = db_.get();
    options_api.db = [raw] { return raw; };
    options_api.now_ms = [] { return kT0 + 60000; };
    options_api.build.version = "1.2.3";
    options_api.build.revision = "abc";
    options_api.build.branch = "main";
    options_api.build.build_user = "ci";
    options_api.build.build_date = "20240101-00:00:00";
    options_api.build.compiler_version = "gcc 12";
    options_api.start_time_ns = 1435781451781000000;
    options_api.retention_ms = 15LL * 24 * 3600 * 1000;
    options_api.flags = {{"storage-path", "/data"}, {"retention", "15d"}};
    api_ = std::make_shared<QueryApi>(std::move(options_api));
    RegisterQueryApi(&router_, api_);
  }

  void TearDown() override {
    if (db_ != nullptr) {
      EXPECT_TRUE(db_->Close().ok());
    }
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  http::Response Get(const std::string& path, http::Params params = {},
                     const std::string& method = "GET") const {
    http::Request req;
    req.method = method;
    req.path = path;
    req.target = path;
    req.params = std::move(params);
    return router_(req);
  }

  // Expects an error response with the given type, HTTP status and message.
  void ExpectError(const http::Response& res, int status, const std::string& type,
                   const std::string& message) const {
    EXPECT_EQ(res.status, status) << res.body;
    EXPECT_EQ(res.content_type, "application/json");
    std::string want = "{\"status\":\"error\",\"errorType\":\"" + type + "\",\"error\":";
    AppendJsonString(message, &want);
    want += "}";
    EXPECT_EQ(res.body, want);
  }

  std::filesystem::path dir_;
  std::unique_ptr<tsdb::DB> db_;
  std::shared_ptr<QueryApi> api_;
  http::Router router_;
};

TEST_F(QueryApiTest, InstantVector) {
  http::Response res = Get("/api/v1/query", {{"query", "up"}, {"time", "1700000060"}});
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(
      res.body,
      R"({"status":"success","data":{"resultType":"vector","result":[)"
      R"({"metric":{"__name__":"up","instance":"a","job":"api"},"value":[1700000060,"1"]},)"
      R"({"metric":{"__name__":"up","instance":"b","job":"api"},"value":[1700000060,"0"]},)"
      R"({"metric":{"__name__":"up","instance":"c","job":"db"},"value":[1700000060,"1"]}]}})");
}

TEST_F(QueryApiTest, InstantQueryTimeFormsAndDefault) {
  const std::string want =
      R"({"status":"success","data":{"resultType":"vector","result":[)"
      R"({"metric":{"__name__":"up","instance":"c","job":"db"},"value":[1700000060.500,"1"]}]}})";
  EXPECT_EQ(Get("/api/v1/query", {{"query", "up{job=\"db\"}"}, {"time", "1700000060.5"}}).body,
            want);
  EXPECT_EQ(
      Get("/api/v1/query", {{"query", "up{job=\"db\"}"}, {"time", "2023-11-14T22:14:20.5Z"}}).body,
      want);
  // Without time: now (fixed by the test at kT0 + 60s).
  EXPECT_THAT(Get("/api/v1/query", {{"query", "up{job=\"db\"}"}}).body,
              HasSubstr(R"("value":[1700000060,"1"])"));
  // An empty time is absent, as in Prometheus.
  EXPECT_THAT(Get("/api/v1/query", {{"query", "up{job=\"db\"}"}, {"time", ""}}).body,
              HasSubstr(R"("value":[1700000060,"1"])"));
}

TEST_F(QueryApiTest, FormPostIsAccepted) {
  http::Response res =
      Get("/api/v1/query", {{"query", "up{instance=\"b\"}"}, {"time", "1700000060"}}, "POST");
  EXPECT_EQ(res.status, 200);
  EXPECT_THAT(res.body, HasSubstr(R"("value":[1700000060,"0"])"));
}

TEST_F(QueryApiTest, SpecialValuesAndEscapedLabels) {
  EXPECT_EQ(Get("/api/v1/query", {{"query", "special"}, {"time", "1700000060"}}).body,
            R"({"status":"success","data":{"resultType":"vector","result":[)"
            R"({"metric":{"__name__":"special","kind":"inf"},"value":[1700000060,"+Inf"]},)"
            R"({"metric":{"__name__":"special","kind":"nan"},"value":[1700000060,"NaN"]},)"
            R"({"metric":{"__name__":"special","kind":"tiny"},"value":[1700000060,"1.5e-07"]}]}})");
  EXPECT_EQ(Get("/api/v1/query", {{"query", "odd"}, {"time", "1700000060"}}).body,
            R"({"status":"success","data":{"resultType":"vector","result":[)"
            R"({"metric":{"__name__":"odd","text":"a\u003cb\u003e\u0026\"q\""},)"
            R"("value":[1700000060,"0.25"]}]}})");
}

TEST_F(QueryApiTest, ScalarStringAndMatrixResults) {
  EXPECT_EQ(
      Get("/api/v1/query", {{"query", "2.5"}, {"time", "1700000060.25"}}).body,
      R"({"status":"success","data":{"resultType":"scalar","result":[1700000060.250,"2.5"]}})");
  EXPECT_EQ(Get("/api/v1/query", {{"query", "\"hello\""}, {"time", "1700000060"}}).body,
            R"({"status":"success","data":{"resultType":"string","result":[1700000060,"hello"]}})");
  EXPECT_EQ(
      Get("/api/v1/query", {{"query", "http_requests_total[1m]"}, {"time", "1700000060"}}).body,
      R"({"status":"success","data":{"resultType":"matrix","result":[)"
      R"({"metric":{"__name__":"http_requests_total","code":"200","job":"api"},"values":[)"
      R"([1700000015,"20"],[1700000030,"30"],[1700000045,"40"],[1700000060,"50"]]}]}})");
  EXPECT_EQ(Get("/api/v1/query", {{"query", "nothing_here"}, {"time", "1700000060"}}).body,
            R"({"status":"success","data":{"resultType":"vector","result":[]}})");
}

TEST_F(QueryApiTest, RangeQuery) {
  http::Response res = Get("/api/v1/query_range", {{"query", "up{instance=\"a\"}"},
                                                   {"start", "1700000000"},
                                                   {"end", "2023-11-14T22:14:20Z"},
                                                   {"step", "30s"}});
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, R"({"status":"success","data":{"resultType":"matrix","result":[)"
                      R"({"metric":{"__name__":"up","instance":"a","job":"api"},"values":[)"
                      R"([1700000000,"1"],[1700000030,"1"],[1700000060,"1"]]}]}})");
  // A float step in seconds gives the same.
  EXPECT_EQ(Get("/api/v1/query_range", {{"query", "up{instance=\"a\"}"},
                                        {"start", "1700000000"},
                                        {"end", "1700000060"},
                                        {"step", "30"}})
                .body,
            res.body);
  EXPECT_EQ(Get("/api/v1/query_range", {{"query", "nothing_here"},
                                        {"start", "1700000000"},
                                        {"end", "1700000060"},
                                        {"step", "15"}})
                .body,
            R"({"status":"success","data":{"resultType":"matrix","result":[]}})");
}

TEST_F(QueryApiTest, QueryLimitTruncatesWithWarning) {
  EXPECT_EQ(Get("/api/v1/query", {{"query", "up"}, {"time", "1700000060"}, {"limit", "1"}}).body,
            R"({"status":"success","data":{"resultType":"vector","result":[)"
            R"({"metric":{"__name__":"up","instance":"a","job":"api"},"value":[1700000060,"1"]}]},)"
            R"("warnings":["results truncated due to limit"]})");
  // A limit that is not reached changes nothing.
  EXPECT_THAT(Get("/api/v1/query", {{"query", "up"}, {"time", "1700000060"}, {"limit", "3"}}).body,
              ::testing::Not(HasSubstr("warnings")));
  http::Response range = Get("/api/v1/query_range", {{"query", "up"},
                                                     {"start", "1700000000"},
                                                     {"end", "1700000060"},
                                                     {"step", "60"},
                                                     {"limit", "2"}});
  EXPECT_THAT(range.body, HasSubstr(R"("instance":"b")"));
  EXPECT_THAT(range.body, ::testing::Not(HasSubstr(R"("instance":"c")")));
  EXPECT_THAT(range.body, HasSubstr(R"("warnings":["results truncated due to limit"])"));
}

TEST_F(QueryApiTest, InstantQueryErrors) {
  ExpectError(Get("/api/v1/query", {{"query", "up"}, {"time", "x"}}), 400, "bad_data",
              "invalid parameter \"time\": Invalid time value for 'time': cannot parse \"x\" to a "
              "valid timestamp");
  ExpectError(Get("/api/v1/query", {{"query", "up"}, {"timeout", "soon"}}), 400, "bad_data",
              "invalid parameter \"timeout\": cannot parse \"soon\" to a valid duration");
  ExpectError(Get("/api/v1/query", {{"query", "up"}, {"limit", "-1"}}), 400, "bad_data",
              "invalid parameter \"limit\": limit must be non-negative");
  ExpectError(Get("/api/v1/query", {{"query", "up"}, {"limit", "ten"}}), 400, "bad_data",
              "invalid parameter \"limit\": strconv.Atoi: parsing \"ten\": invalid syntax");
  ExpectError(Get("/api/v1/query", {{"query", "up"}, {"lookback_delta", "x"}}), 400, "bad_data",
              "error parsing lookback delta duration: cannot parse \"x\" to a valid duration");
  // Parse errors come from the engine; the API prefixes them.
  for (const char* bad : {"", "up{", "up{job=\"a\"} )"}) {
    http::Response res = Get("/api/v1/query", {{"query", bad}});
    EXPECT_EQ(res.status, 400) << bad;
    EXPECT_THAT(res.body,
                StartsWith(R"({"status":"error","errorType":"bad_data","error":"invalid parameter )"
                           R"(\"query\": )"))
        << bad;
    EXPECT_THAT(res.body, HasSubstr("parse error")) << bad;
  }
}

TEST_F(QueryApiTest, RangeQueryErrorsInPrometheusOrder) {
  const auto range = [&](http::Params params) { return Get("/api/v1/query_range", params); };
  ExpectError(range({{"query", "up"}}), 400, "bad_data",
              "invalid parameter \"start\": cannot parse \"\" to a valid timestamp");
  ExpectError(range({{"query", "up"}, {"start", "x"}, {"end", "y"}}), 400, "bad_data",
              "invalid parameter \"start\": cannot parse \"x\" to a valid timestamp");
  ExpectError(range({{"query", "up"}, {"start", "1"}, {"end", "y"}}), 400, "bad_data",
              "invalid parameter \"end\": cannot parse \"y\" to a valid timestamp");
  ExpectError(range({{"query", "up"}, {"start", "2"}, {"end", "1"}, {"step", "x"}}), 400,
              "bad_data", "invalid parameter \"end\": end timestamp must not be before start time");
  ExpectError(range({{"query", "up"}, {"start", "1"}, {"end", "2"}}), 400, "bad_data",
              "invalid parameter \"step\": cannot parse \"\" to a valid duration");
  ExpectError(range({{"query", "up"}, {"start", "1"}, {"end", "2"}, {"step", "1x"}}), 400,
              "bad_data", "invalid parameter \"step\": cannot parse \"1x\" to a valid duration");
  for (const char* step : {"0", "-1", "0s", "0.0001"}) {
    ExpectError(range({{"query", "up"}, {"start", "1"}, {"end", "2"}, {"step", step}}), 400,
                "bad_data",
                "invalid parameter \"step\": zero or negative query resolution step widths are "
                "not accepted. Try a positive integer");
  }
  ExpectError(range({{"query", "up"}, {"start", "0"}, {"end", "11001"}, {"step", "1"}}), 400,
              "bad_data",
              "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
              "query resolution (?step=XX)");
  // Exactly 11,000 steps is allowed (11,001 points, as in Prometheus).
  EXPECT_EQ(range({{"query", "1"}, {"start", "0"}, {"end", "11000"}, {"step", "1"}}).status, 200);
  // A range too long for int64 nanoseconds counts in full (no wrapping, no saturation).
  ExpectError(range({{"query", "up"}, {"start", "-9e15"}, {"end", "9e15"}, {"step", "1y"}}), 400,
              "bad_data",
              "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
              "query resolution (?step=XX)");
  ExpectError(
      range({{"query", "up"}, {"start", "1"}, {"end", "2"}, {"step", "1"}, {"timeout", "x"}}), 400,
      "bad_data", "invalid parameter \"timeout\": cannot parse \"x\" to a valid duration");
  ExpectError(range({{"query", "up"}, {"limit", "x"}}), 400, "bad_data",
              "invalid parameter \"limit\": strconv.Atoi: parsing \"x\": invalid syntax");
  http::Response parse = range({{"query", "up{"}, {"start", "1"}, {"end", "2"}, {"step", "1"}});
  EXPECT_EQ(parse.status, 400);
  EXPECT_THAT(parse.body, HasSubstr(R"("error":"invalid parameter \"query\": )"));
}

TEST_F(QueryApiTest, EvaluationErrorsAndAnnotationsFromTheEngine) {
  // Many-to-many matching cannot be evaluated: execution, 422.
  http::Response res = Get("/api/v1/query", {{"query", "up * on() up"}, {"time", "1700000060"}});
  EXPECT_EQ(res.status, 422) << res.body;
  EXPECT_THAT(res.body, StartsWith(R"({"status":"error","errorType":"execution","error":")"));
  EXPECT_THAT(res.body, HasSubstr("many-to-many matching not allowed"));
  // rate() over a metric not named like a counter: a result plus an info annotation.
  http::Response info = Get("/api/v1/query", {{"query", "rate(up[1m])"}, {"time", "1700000060"}});
  EXPECT_EQ(info.status, 200) << info.body;
  EXPECT_THAT(info.body, HasSubstr(R"("infos":["PromQL info: metric might not be a counter)"));
}

TEST_F(QueryApiTest, EngineErrorsMapToPrometheusTypes) {
  ExpectError(QueryErrorResponse(absl::InvalidArgumentError("1:3: parse error: x")), 400,
              "bad_data", "invalid parameter \"query\": 1:3: parse error: x");
  ExpectError(QueryErrorResponse(absl::DeadlineExceededError("query timed out")), 503, "timeout",
              "query timed out");
  ExpectError(QueryErrorResponse(absl::CancelledError("query was canceled")), 503, "canceled",
              "query was canceled");
  ExpectError(QueryErrorResponse(absl::InternalError("found duplicate series")), 422, "execution",
              "found duplicate series");
  ExpectError(QueryErrorResponse(absl::DataLossError("chunk corrupt")), 500, "internal",
              "chunk corrupt");
  ExpectError(QueryErrorResponse(absl::FailedPreconditionError("many-to-many matching")), 422,
              "execution", "many-to-many matching");
  ExpectError(QueryErrorResponse(absl::ResourceExhaustedError("too many samples")), 422,
              "execution", "too many samples");
}

TEST_F(QueryApiTest, AnnotationsAreCappedAndDeduplicated) {
  promql::QueryResult result;
  result.value = promql::Scalar{1000, 1};
  for (int i = 0; i < 13; ++i) result.annotations.warnings.push_back("w" + std::to_string(i));
  result.annotations.warnings.push_back("w0");
  result.annotations.infos = {"i1", "i1", "i2"};
  EXPECT_EQ(QueryResultResponse(result).body,
            R"({"status":"success","data":{"resultType":"scalar","result":[1,"1"]},)"
            R"("warnings":["w0","w1","w2","w3","w4","w5","w6","w7","w8","w9",)"
            R"("3 more warning annotations omitted"],"infos":["i1","i2"]})");
  promql::QueryResult plain;
  plain.value = promql::Vector{};
  EXPECT_EQ(QueryResultResponse(plain).body,
            R"({"status":"success","data":{"resultType":"vector","result":[]}})");
}

TEST_F(QueryApiTest, Series) {
  EXPECT_EQ(Get("/api/v1/series", {{"match[]", "up{job=\"db\"}"},
                                   {"match[]", "http_requests_total"},
                                   {"match[]", "up{instance=\"c\"}"}})
                .body,
            R"({"status":"success","data":[)"
            R"({"__name__":"http_requests_total","code":"200","job":"api"},)"
            R"({"__name__":"up","instance":"c","job":"db"}]})");
  EXPECT_EQ(Get("/api/v1/series", {{"match[]", "up"}, {"limit", "2"}}, "POST").body,
            R"({"status":"success","data":[)"
            R"({"__name__":"up","instance":"a","job":"api"},)"
            R"({"__name__":"up","instance":"b","job":"api"}],)"
            R"("warnings":["results truncated due to limit"]})");
  // Only series with samples in [start, end].
  EXPECT_EQ(
      Get("/api/v1/series", {{"match[]", "up"}, {"start", "1600000000"}, {"end", "1600000100"}})
          .body,
      R"({"status":"success","data":[]})");
  EXPECT_EQ(Get("/api/v1/series", {{"match[]", "special"}, {"start", "1700000060"}}).body,
            R"({"status":"success","data":[{"__name__":"special","kind":"inf"},)"
            R"({"__name__":"special","kind":"nan"},{"__name__":"special","kind":"tiny"}]})");
  EXPECT_EQ(Get("/api/v1/series", {{"match[]", "special"}, {"end", "1700000059.999"}}).body,
            R"({"status":"success","data":[]})");
}

TEST_F(QueryApiTest, SeriesErrors) {
  ExpectError(Get("/api/v1/series"), 400, "bad_data", "no match[] parameter provided");
  ExpectError(Get("/api/v1/series", {{"match[]", "up"}, {"start", "x"}}), 400, "bad_data",
              "invalid parameter \"start\": Invalid time value for 'start': cannot parse \"x\" to "
              "a valid timestamp");
  ExpectError(Get("/api/v1/series", {{"match[]", "up"}, {"end", "x"}}), 400, "bad_data",
              "invalid parameter \"end\": Invalid time value for 'end': cannot parse \"x\" to a "
              "valid timestamp");
  ExpectError(Get("/api/v1/series", {{"match[]", "up"}, {"limit", "-2"}}), 400, "bad_data",
              "invalid parameter \"limit\": limit must be non-negative");
  for (const char* bad : {"up{", "{job=\"\"}", "up[5m]"}) {
    http::Response res = Get("/api/v1/series", {{"match[]", "up"}, {"match[]", bad}});
    EXPECT_EQ(res.status, 400) << bad;
    EXPECT_THAT(res.body,
                StartsWith(R"({"status":"error","errorType":"bad_data","error":"invalid parameter )"
                           R"(\"match[]\": )"))
        << bad;
  }
}

TEST_F(QueryApiTest, LabelNames) {
  EXPECT_EQ(Get("/api/v1/labels").body,
            R"({"status":"success","data":["__name__","code","instance","job","kind","text"]})");
  EXPECT_EQ(Get("/api/v1/labels", {{"match[]", "up"}, {"match[]", "special"}}, "POST").body,
            R"({"status":"success","data":["__name__","instance","job","kind"]})");
  EXPECT_EQ(Get("/api/v1/labels", {{"limit", "2"}}).body,
            R"({"status":"success","data":["__name__","code"],)"
            R"("warnings":["results truncated due to limit"]})");
  EXPECT_EQ(Get("/api/v1/labels", {{"start", "1600000000"}, {"end", "1600000001"}}).body,
            R"({"status":"success","data":[]})");
  // Label queries report matcher errors without the parameter prefix, as Prometheus does.
  http::Response all_empty = Get("/api/v1/labels", {{"match[]", "{job=~\".*\"}"}});
  EXPECT_EQ(all_empty.status, 400);
  EXPECT_THAT(all_empty.body, StartsWith(R"({"status":"error","errorType":"bad_data","error":")"));
  EXPECT_THAT(all_empty.body, ::testing::Not(HasSubstr("invalid parameter")));
  ExpectError(Get("/api/v1/labels", {{"start", "x"}}), 400, "bad_data",
              "invalid parameter \"start\": Invalid time value for 'start': cannot parse \"x\" to "
              "a valid timestamp");
  ExpectError(Get("/api/v1/labels", {{"limit", "x"}}), 400, "bad_data",
              "invalid parameter \"limit\": strconv.Atoi: parsing \"x\": invalid syntax");
}

TEST_F(QueryApiTest, LabelValues) {
  EXPECT_EQ(Get("/api/v1/label/job/values").body, R"({"status":"success","data":["api","db"]})");
  EXPECT_EQ(Get("/api/v1/label/__name__/values").body,
            R"({"status":"success","data":["http_requests_total","odd","special","up"]})");
  EXPECT_EQ(Get("/api/v1/label/text/values").body,
            R"({"status":"success","data":["a\u003cb\u003e\u0026\"q\""]})");
  EXPECT_EQ(Get("/api/v1/label/instance/values",
                {{"match[]", "up{job=\"api\"}"}, {"match[]", "up{job=\"db\"}"}})
                .body,
            R"({"status":"success","data":["a","b","c"]})");
  EXPECT_EQ(Get("/api/v1/label/instance/values", {{"limit", "1"}}).body,
            R"({"status":"success","data":["a"],"warnings":["results truncated due to limit"]})");
  EXPECT_EQ(Get("/api/v1/label/nonexistent/values").body, R"({"status":"success","data":[]})");
  EXPECT_EQ(Get("/api/v1/label/job/values", {{"start", "1600000000"}, {"end", "1600000001"}}).body,
            R"({"status":"success","data":[]})");
  ExpectError(Get("/api/v1/label/1bad/values"), 400, "bad_data", "invalid label name: \"1bad\"");
  ExpectError(Get("/api/v1/label/job/values", {{"end", "y"}}), 400, "bad_data",
              "invalid parameter \"end\": Invalid time value for 'end': cannot parse \"y\" to a "
              "valid timestamp");
  for (const char* path : {"/api/v1/label/job", "/api/v1/label/", "/api/v1/label//values",
                           "/api/v1/label/a/b/values"}) {
    http::Response res = Get(path);
    EXPECT_EQ(res.status, 404) << path;
    EXPECT_EQ(res.body, "404 page not found\n") << path;
  }
  EXPECT_EQ(Get("/api/v1/label/job/values", {}, "POST").status, 405);
}

// The answers and errors below are Prometheus' for a server without exemplar storage or rules
// (checked against 2.42 with the same requests).
TEST_F(QueryApiTest, ExemplarsAreEmptyWithPrometheusParameterChecks) {
  const std::string empty = R"({"status":"success","data":[]})";
  EXPECT_EQ(Get("/api/v1/query_exemplars", {{"query", "up"}}).body, empty);
  EXPECT_EQ(
      Get("/api/v1/query_exemplars", {{"query", "up"}, {"start", "10"}, {"end", "20"}}, "POST")
          .body,
      empty);
  ExpectError(Get("/api/v1/query_exemplars", {{"query", "up"}, {"start", "20"}, {"end", "10"}}),
              400, "bad_data", "end timestamp must not be before start timestamp");
  // Prometheus 3 words a parse error of an empty query this way (2.42 wrote "1:1").
  ExpectError(Get("/api/v1/query_exemplars"), 400, "bad_data",
              "unknown position: parse error: no expression found in input");
  ExpectError(Get("/api/v1/query_exemplars", {{"query", "up{"}}), 400, "bad_data",
              "1:4: parse error: unexpected end of input inside braces");
  ExpectError(Get("/api/v1/query_exemplars", {{"query", "up"}, {"start", "abc"}}), 400, "bad_data",
              "invalid parameter \"start\": Invalid time value for 'start': cannot parse \"abc\" "
              "to a valid timestamp");
}

TEST_F(QueryApiTest, RulesAndAlertsAreEmptyLists) {
  EXPECT_EQ(Get("/api/v1/rules").body, R"({"status":"success","data":{"groups":[]}})");
  EXPECT_EQ(Get("/api/v1/rules", {{"type", "ALERT"}}).body,
            R"({"status":"success","data":{"groups":[]}})");
  EXPECT_EQ(Get("/api/v1/rules", {{"type", "record"}}).body,
            R"({"status":"success","data":{"groups":[]}})");
  ExpectError(Get("/api/v1/rules", {{"type", "foo"}}), 400, "bad_data",
              "invalid parameter \"type\": not supported value \"foo\"");
  EXPECT_EQ(Get("/api/v1/alerts").body, R"({"status":"success","data":{"alerts":[]}})");
  EXPECT_EQ(Get("/api/v1/rules", {}, "POST").status, 405);
  EXPECT_EQ(Get("/api/v1/alerts", {}, "POST").status, 405);
  // The shape of Prometheus 2.42 without alerting configuration.
  EXPECT_EQ(Get("/api/v1/alertmanagers").body,
            R"({"status":"success","data":{"activeAlertmanagers":[],"droppedAlertmanagers":[]}})");
}

TEST_F(QueryApiTest, MetadataWithoutSourceIsEmpty) {
  EXPECT_EQ(Get("/api/v1/metadata").body, R"({"status":"success","data":{}})");
}

TEST_F(QueryApiTest, MetadataFromSource) {
  QueryApiOptions options = api_->options();
  options.metadata = std::make_shared<StaticMetadata>();
  QueryApi with_metadata(std::move(options));
  const auto call = [&](http::Params params) {
    http::Request req;
    req.method = "GET";
    req.path = "/api/v1/metadata";
    req.params = std::move(params);
    return with_metadata.Metadata(req);
  };
  EXPECT_EQ(
      call({}).body,
      R"({"status":"success","data":{"http_requests_total":[)"
      R"({"type":"counter","help":"Requests.","unit":""},)"
      R"({"type":"counter","help":"Requests served.","unit":""}],)"
      R"("process_cpu_seconds":[{"type":"gauge","help":"CPU \u003ctime\u003e.","unit":"seconds"}],)"
      R"("up":[{"type":"gauge","help":"Target up.","unit":""}]}})");
  EXPECT_EQ(
      call({{"metric", "up"}}).body,
      R"({"status":"success","data":{"up":[{"type":"gauge","help":"Target up.","unit":""}]}})");
  EXPECT_EQ(call({{"metric", "nope"}}).body, R"({"status":"success","data":{}})");
  EXPECT_EQ(call({{"limit", "1"}, {"limit_per_metric", "1"}}).body,
            R"({"status":"success","data":{"http_requests_total":[)"
            R"({"type":"counter","help":"Requests.","unit":""}]}})");
  ExpectError(call({{"limit", "x"}}), 400, "bad_data",
              "invalid parameter \"limit\": strconv.Atoi: parsing \"x\": invalid syntax");
  ExpectError(call({{"limit_per_metric", "-1"}}), 400, "bad_data",
              "invalid parameter \"limit_per_metric\": limit must be non-negative");
}

TEST_F(QueryApiTest, StatusEndpoints) {
  EXPECT_EQ(Get("/api/v1/status/buildinfo").body,
            R"({"status":"success","data":{"version":"1.2.3","revision":"abc","branch":"main",)"
            R"("buildUser":"ci","buildDate":"20240101-00:00:00","goVersion":"gcc 12"}})");
  EXPECT_EQ(Get("/api/v1/status/flags").body,
            R"({"status":"success","data":{"retention":"15d","storage-path":"/data"}})");
  http::Response runtime = Get("/api/v1/status/runtimeinfo");
  EXPECT_EQ(runtime.status, 200);
  EXPECT_THAT(runtime.body, StartsWith(R"({"status":"success","data":{"startTime":)"
                                       R"("2015-07-01T20:10:51.781Z","CWD":")"));
  for (const char* field :
       {R"("hostname":")", R"("serverTime":")", R"("reloadConfigSuccess":true,)",
        R"("lastConfigTime":"2015-07-01T20:10:51.781Z")", R"("corruptionCount":0,)",
        R"("goroutineCount":)", R"("GOMAXPROCS":)", R"("GOMEMLIMIT":9223372036854775807,)",
        R"("GOGC":"","GODEBUG":"",)", R"("storageRetention":"15d"}})"}) {
    EXPECT_THAT(runtime.body, HasSubstr(field));
  }
}

TEST_F(QueryApiTest, TsdbStatusRanksCardinalities) {
  // 8 series with one chunk each; ties rank by name.
  EXPECT_EQ(Get("/api/v1/status/tsdb", {{"limit", "3"}}).body,
            R"({"status":"success","data":{"headStats":{"numSeries":8,"numLabelPairs":14,)"
            R"("chunkCount":8,"minTime":1700000000000,"maxTime":1700000060000},)"
            R"("seriesCountByMetricName":[{"name":"special","value":3},{"name":"up","value":3},)"
            R"({"name":"http_requests_total","value":1}],)"
            R"("labelValueCountByLabelName":[{"name":"__name__","value":4},)"
            R"({"name":"instance","value":3},{"name":"kind","value":3}],)"
            R"("memoryInBytesByLabelName":[{"name":"__name__","value":31},)"
            R"({"name":"kind","value":10},{"name":"text","value":8}],)"
            R"("seriesCountByLabelValuePair":[{"name":"__name__=special","value":3},)"
            R"({"name":"__name__=up","value":3},{"name":"job=api","value":3}]}})");
  // The default limit is 10: 10 of the 14 pairs, the last with a count of 1 by name.
  const std::string all = Get("/api/v1/status/tsdb").body;
  EXPECT_THAT(all, HasSubstr(R"({"name":"odd","value":1}],"labelValueCountByLabelName")"));
  EXPECT_THAT(all, HasSubstr(R"({"name":"code","value":3},{"name":"instance","value":3}],)"
                             R"("seriesCountByLabelValuePair")"));
  EXPECT_THAT(all, EndsWith(R"({"name":"instance=c","value":1},{"name":"job=db","value":1}]}})"));
  for (const char* bad : {"0", "-1", "x", "1.5"}) {
    ExpectError(Get("/api/v1/status/tsdb", {{"limit", bad}}), 400, "bad_data",
                "limit must be a positive number");
  }
  EXPECT_EQ(Get("/api/v1/status/tsdb", {}, "POST").status, 405);
}

TEST_F(QueryApiTest, ConfigStatusShowsTheConfigurationText) {
  EXPECT_EQ(Get("/api/v1/status/config").body, R"({"status":"success","data":{"yaml":""}})");
  QueryApiOptions options = api_->options();
  options.config_yaml = [] { return std::string("scrape_configs:\n- job_name: \"a<b\"\n"); };
  http::Router router;
  RegisterQueryApi(&router, std::make_shared<QueryApi>(std::move(options)));
  http::Request req;
  req.method = "GET";
  req.path = "/api/v1/status/config";
  EXPECT_EQ(router(req).body, R"({"status":"success","data":{"yaml":"scrape_configs:\n- )"
                              R"(job_name: \"a\u003cb\"\n"}})");
}

TEST_F(QueryApiTest, FormatQuery) {
  EXPECT_EQ(
      Get("/api/v1/format_query", {{"query", "sum(rate(x{b=\"1\",a=~\"2\"}[5m]))by(job)"}}).body,
      R"json({"status":"success","data":"sum by (job) (rate(x{a=~\"2\",b=\"1\"}[5m]))"})json");
  EXPECT_EQ(Get("/api/v1/format_query", {{"query", "1 < bool 2"}}, "POST").body,
            R"({"status":"success","data":"1 \u003c bool 2"})");
  ExpectError(Get("/api/v1/format_query", {{"query", "sum("}}), 400, "bad_data",
              "invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis");
  EXPECT_EQ(Get("/api/v1/format_query", {{"query", "up"}}, "DELETE").status, 405);
}

TEST_F(QueryApiTest, WalReplayStatus) {
  EXPECT_EQ(Get("/api/v1/status/walreplay").body,
            R"({"status":"success","data":{"min":0,"max":0,"current":0}})");
  tsdb::WalReplayProgress progress;
  progress.min = 3;
  progress.max = 9;
  progress.current = 5;
  QueryApiOptions options;
  options.db = [] { return nullptr; };  // still opening: the progress is still reported
  options.wal_replay = &progress;
  http::Router router;
  RegisterQueryApi(&router, std::make_shared<QueryApi>(std::move(options)));
  http::Request req;
  req.method = "GET";
  req.path = "/api/v1/status/walreplay";
  EXPECT_EQ(router(req).body, R"({"status":"success","data":{"min":3,"max":9,"current":5}})");
}

TEST_F(QueryApiTest, UnavailableUntilStorageIsOpen) {
  QueryApiOptions options;
  options.db = [] { return nullptr; };
  http::Router router;
  RegisterQueryApi(&router, std::make_shared<QueryApi>(std::move(options)));
  for (const char* path : {"/api/v1/query", "/api/v1/query_range", "/api/v1/series",
                           "/api/v1/labels", "/api/v1/label/job/values"}) {
    http::Request req;
    req.method = "GET";
    req.path = path;
    req.params = {{"query", "up"}, {"match[]", "up"}};
    ExpectError(router(req), 503, "unavailable", "TSDB not ready");
  }
  // The status endpoints answer without storage.
  http::Request req;
  req.method = "GET";
  req.path = "/api/v1/status/buildinfo";
  EXPECT_EQ(router(req).status, 200);
}

TEST_F(QueryApiTest, MethodsAndCors) {
  EXPECT_EQ(Get("/api/v1/query", {{"query", "1"}}, "DELETE").status, 405);
  EXPECT_EQ(Get("/api/v1/status/buildinfo", {}, "POST").status, 405);
  EXPECT_EQ(Get("/api/v1/query", {{"query", "1"}}, "HEAD").status, 200);
  http::Response options = Get("/api/v1/query_range", {}, "OPTIONS");
  EXPECT_EQ(options.status, 204);
  EXPECT_EQ(options.body, "");

  http::Request req;
  req.method = "GET";
  req.path = "/api/v1/query";
  req.params = {{"query", "1"}};
  EXPECT_TRUE(router_(req).headers.empty());
  req.headers = {{"Origin", "https://grafana.example"}};
  http::Response cors = router_(req);
  const http::Params want = {
      {"Access-Control-Allow-Headers", "Accept, Authorization, Content-Type, Origin"},
      {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
      {"Access-Control-Expose-Headers", "Date"},
      {"Access-Control-Allow-Origin", "*"}};
  EXPECT_EQ(cors.headers, want);
  // Unknown API paths are the router's 404.
  EXPECT_EQ(Get("/api/v1/nothing").status, 404);
}

}  // namespace
}  // namespace api
