// Scrape loops against in-process fake targets: the project's HTTP server as a well-behaved (or
// misbehaving) exporter, and raw sockets for targets that do not speak HTTP properly.
#include "scrape/scrape_loop.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapter/http/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scrape/config.h"
#include "scrape/http_client.h"
#include "scrape/target_labels.h"
#include "tests/scrape/fake_target.h"
#include "tests/tsdb/test_util.h"
#include "tsdb/db.h"

namespace scrape {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::tsdb::Sample;
using ::tsdb::testing::Eq;
using ::tsdb::testing::Re;
using namespace std::chrono_literals;
using scrape_test_support::ClosedAddress;
using scrape_test_support::FakeExporter;
using scrape_test_support::Gzip;
using scrape_test_support::RawServer;
using scrape_test_support::SleepUnlessStopped;
using scrape_test_support::WaitFor;

class ScrapeLoopTest : public testing::Test {
 protected:
  void SetUp() override {
    tsdb::DBOptions options;
    options.wal_fsync_interval_ms = -1;
    auto db = tsdb::DB::Open(dir_.path() + "/db", options);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    http_ = std::make_unique<HttpClient>(HttpClientOptions{2, "metrics-adapter-test"});
  }
  void TearDown() override {
    for (auto& l : loops_) l->Stop();
    loops_.clear();
    http_->Stop();
    ASSERT_TRUE(db_->Close().ok());
  }

  // A scrape config for one job from YAML lines added to the job entry.
  std::shared_ptr<const ScrapeConfig> JobConfig(const std::string& address,
                                                const std::string& extra = "",
                                                const std::string& interval = "200ms",
                                                const std::string& timeout = "150ms") {
    std::string yaml =
        absl::StrCat("scrape_configs:\n  - job_name: test\n    scrape_interval: ", interval,
                     "\n    scrape_timeout: ", timeout,
                     "\n    static_configs:\n      - targets: ['", address, "']\n", extra);
    absl::StatusOr<scrape::Config> c = LoadConfigString(yaml, "test.yml", dir_.path());
    EXPECT_TRUE(c.ok()) << c.status() << "\n" << yaml;
    if (!c.ok()) return nullptr;
    return std::make_shared<const ScrapeConfig>(c->scrape_configs[0]);
  }

  static Target TargetFor(const ScrapeConfig& config) {
    std::vector<PopulatedTarget> pts = TargetsFromGroup(config.static_configs[0], config, nullptr);
    EXPECT_EQ(pts.size(), 1u);
    Target t;
    t.labels = pts[0].labels;
    t.discovered = pts[0].discovered;
    t.public_labels = PublicTargetLabels(t.labels);
    t.url = TargetScrapeURL(t.labels, config);
    t.interval_ms = pts[0].scrape_interval_ms;
    t.timeout_ms = pts[0].scrape_timeout_ms;
    return t;
  }

  std::shared_ptr<ScrapeLoop> Start(std::shared_ptr<const ScrapeConfig> config,
                                    std::unique_ptr<ScrapeIngester> cache = nullptr) {
    ScrapeLoop::Options o;
    o.db = db_.get();
    o.http = http_.get();
    o.start_immediately = true;
    auto loop = std::make_shared<ScrapeLoop>(TargetFor(*config), config, o, std::move(cache));
    loop->Start();
    loops_.push_back(loop);
    return loop;
  }

  bool WaitScrapes(const std::shared_ptr<ScrapeLoop>& loop, uint64_t n,
                   std::chrono::milliseconds timeout = 5000ms) {
    return WaitFor([&] { return loop->status().scrapes >= n; }, timeout);
  }

  // Every series, keyed by its text form.
  std::map<std::string, std::vector<Sample>> All() {
    return tsdb::testing::ReadAll(*db_, {Re("__name__", ".+")});
  }
  // The samples of the one series named name (with optional extra matchers).
  std::vector<Sample> Series(const std::string& name, std::vector<tsdb::LabelMatcher> more = {}) {
    more.push_back(Eq("__name__", name));
    auto all = tsdb::testing::ReadAll(*db_, more);
    EXPECT_EQ(all.size(), 1u) << name;
    if (all.empty()) return {};
    return all.begin()->second;
  }
  double Last(const std::string& name) {
    auto s = Series(name);
    return s.empty() ? -12345 : s.back().v;
  }

  tsdb::testing::TempDir dir_;
  std::unique_ptr<tsdb::DB> db_;
  std::unique_ptr<HttpClient> http_;
  std::vector<std::shared_ptr<ScrapeLoop>> loops_;
};

// --- pure functions -------------------------------------------------------------------------

TEST(ScrapeFormatTest, ContentTypeNegotiation) {
  EXPECT_EQ(FormatForContentType("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            textparse::Format::kOpenMetrics);
  EXPECT_EQ(FormatForContentType("Application/OpenMetrics-Text"), textparse::Format::kOpenMetrics);
  EXPECT_EQ(FormatForContentType("text/plain; version=0.0.4"), textparse::Format::kPrometheusText);
  EXPECT_EQ(FormatForContentType("application/json"), textparse::Format::kPrometheusText);
  EXPECT_EQ(FormatForContentType(""), textparse::Format::kPrometheusText);
  EXPECT_TRUE(IsStaleNaN(StaleNaN()));
  EXPECT_FALSE(IsStaleNaN(std::nan("")));
}

TEST(ScrapeFormatTest, OffsetSpreadsTargetsAndKeepsPhase) {
  const int64_t interval = 15'000'000'000;
  // The first scrape lands where unix time modulo the interval equals hash % interval.
  for (int64_t now : {int64_t{1'700'000'000'123'456'789}, int64_t{1'700'000'007'000'000'000}}) {
    for (uint64_t hash : {uint64_t{0}, uint64_t{42}, uint64_t{0xdeadbeefcafe}}) {
      int64_t off = ScrapeLoop::OffsetNs(hash, 0, interval, now);
      EXPECT_GT(off, 0);
      EXPECT_LE(off, interval);
      EXPECT_EQ((now + off) % interval, static_cast<int64_t>(hash % interval));
    }
  }
  // The seed moves the phase.
  EXPECT_NE(ScrapeLoop::OffsetNs(42, 7, interval, 0), ScrapeLoop::OffsetNs(42, 0, interval, 0));
}

TEST(ScrapeHttpTest, ParseEndpoint) {
  auto e = ParseEndpoint("http", "127.0.0.1:9100");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 9100);
  EXPECT_FALSE(e->https);
  e = ParseEndpoint("https", "[::1]:8443");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "::1");
  EXPECT_TRUE(e->https);
  EXPECT_EQ(ParseEndpoint("https", "example.com")->port, 443);
  EXPECT_EQ(ParseEndpoint("http", "example.com")->port, 80);
  EXPECT_FALSE(ParseEndpoint("http", "a:b:c").ok());
  EXPECT_FALSE(ParseEndpoint("http", "host:99999").ok());
  EXPECT_FALSE(ParseEndpoint("ftp", "host:1").ok());
  EXPECT_FALSE(ParseEndpoint("http", "").ok());
}

TEST(ScrapeHttpTest, Gunzip) {
  std::string out;
  ASSERT_TRUE(GunzipBody(Gzip("hello "), 0, &out).ok());
  EXPECT_EQ(out, "hello ");
  // Concatenated members, as gunzip reads them.
  ASSERT_TRUE(GunzipBody(Gzip("a") + Gzip("b"), 0, &out).ok());
  EXPECT_EQ(out, "ab");
  std::string big(1 << 20, 'x');
  absl::Status st = GunzipBody(Gzip(big), 1000, &out);
  EXPECT_EQ(st.message(), "body size limit exceeded");
  std::string truncated = Gzip(big);
  truncated.resize(truncated.size() / 2);
  EXPECT_FALSE(GunzipBody(truncated, 0, &out).ok());
  EXPECT_FALSE(GunzipBody("not gzip at all", 0, &out).ok());
  EXPECT_FALSE(GunzipBody("", 0, &out).ok());
}

// --- scraping -------------------------------------------------------------------------------

constexpr char kBody[] =
    "# HELP http_requests_total Requests.\n"
    "# TYPE http_requests_total counter\n"
    "http_requests_total{code=\"200\"} 10\n"
    "http_requests_total{code=\"500\"} 2\n"
    "# TYPE temperature gauge\n"
    "temperature 21.5\n";

TEST_F(ScrapeLoopTest, ScrapesSeriesAndReportSeries) {
  FakeExporter target;
  target.Set({.body = kBody});
  auto loop = Start(JobConfig(target.address()));
  ASSERT_TRUE(WaitScrapes(loop, 2));
  loop->Stop();

  const std::string inst = target.address();
  auto all = All();
  std::vector<std::string> names;
  for (const auto& [k, v] : all) names.push_back(k);
  EXPECT_THAT(
      names,
      testing::IsSupersetOf({
          absl::StrCat("http_requests_total{code=\"200\", instance=\"", inst, "\", job=\"test\"}"),
          absl::StrCat("http_requests_total{code=\"500\", instance=\"", inst, "\", job=\"test\"}"),
          absl::StrCat("temperature{instance=\"", inst, "\", job=\"test\"}"),
          absl::StrCat("up{instance=\"", inst, "\", job=\"test\"}"),
      }));
  EXPECT_EQ(all.size(), 8u);  // 3 + 5 report series
  EXPECT_EQ(Last("temperature"), 21.5);
  EXPECT_EQ(Last("up"), 1);
  EXPECT_EQ(Last("scrape_samples_scraped"), 3);
  EXPECT_EQ(Last("scrape_samples_post_metric_relabeling"), 3);
  auto added = Series("scrape_series_added");
  ASSERT_GE(added.size(), 2u);
  EXPECT_EQ(added[0].v, 3);  // new series on the first scrape only
  EXPECT_EQ(added[1].v, 0);
  EXPECT_GT(Last("scrape_duration_seconds"), 0);
  EXPECT_LT(Last("scrape_duration_seconds"), 1);
  // One timestamp for the samples and the report of a scrape.
  EXPECT_EQ(Series("temperature")[0].t, Series("up")[0].t);

  TargetStatus st = loop->status();
  EXPECT_EQ(st.health, TargetHealth::kUp);
  EXPECT_EQ(st.last_error, "");
  EXPECT_GT(st.last_scrape_unix_ns, 0);

  auto meta = loop->metadata()->Snapshot();
  ASSERT_EQ(meta.count("http_requests_total"), 1u);
  EXPECT_EQ(meta["http_requests_total"].type, textparse::MetricType::kCounter);
  EXPECT_EQ(meta["http_requests_total"].help, "Requests.");
  EXPECT_EQ(meta["temperature"].type, textparse::MetricType::kGauge);

  // What Prometheus sends.
  auto reqs = target.requests();
  ASSERT_GE(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].path, "/metrics");
  EXPECT_EQ(reqs[0].Header("Accept"), kScrapeAcceptHeader);
  EXPECT_EQ(reqs[0].Header("X-Prometheus-Scrape-Timeout-Seconds"), "0.15");
  EXPECT_EQ(reqs[0].Header("Accept-Encoding"), "gzip");
  EXPECT_EQ(reqs[0].Header("User-Agent"), "metrics-adapter-test");
  EXPECT_EQ(reqs[0].Header("Host"), inst);
  // Keep-alive: the second scrape came over the same connection.
  EXPECT_EQ(reqs[0].remote_address, reqs[1].remote_address);
}

TEST_F(ScrapeLoopTest, ParamsPathAndBearerTokenFileReadPerScrape) {
  FakeExporter target;
  target.Set({.body = "a 1\n"});
  std::string token = dir_.path() + "/token";
  std::ofstream(token) << "first\n";
  auto loop = Start(JobConfig(target.address(),
                              "    metrics_path: /probe\n"
                              "    params:\n      module: [http_2xx]\n"
                              "    authorization:\n      credentials_file: token\n"));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  std::ofstream(token) << "second";
  ASSERT_TRUE(WaitScrapes(loop, 3));
  loop->Stop();
  auto reqs = target.requests();
  ASSERT_GE(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].target, "/probe?module=http_2xx");
  EXPECT_EQ(reqs[0].Header("Authorization"), "Bearer first");
  EXPECT_EQ(reqs.back().Header("Authorization"), "Bearer second");
  EXPECT_EQ(Last("up"), 1);
}

TEST_F(ScrapeLoopTest, BasicAuth) {
  FakeExporter target;
  target.Set({.body = "a 1\n"});
  auto loop =
      Start(JobConfig(target.address(), "    basic_auth:\n      username: u\n      password: p\n"));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  loop->Stop();
  EXPECT_EQ(target.requests()[0].Header("Authorization"), "Basic dTpw");
}

TEST_F(ScrapeLoopTest, StalenessMarkerForDisappearingSeries) {
  FakeExporter target;
  target.Set({.body = "a 1\nb 2\n"});
  auto loop = Start(JobConfig(target.address()));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  target.SetBody("a 1\n");
  uint64_t before = loop->status().scrapes;
  ASSERT_TRUE(WaitScrapes(loop, before + 2));
  loop->Stop();

  auto b = Series("b");
  ASSERT_GE(b.size(), 2u);
  EXPECT_TRUE(IsStaleNaN(b.back().v));
  EXPECT_EQ(std::count_if(b.begin(), b.end(), [](const Sample& s) { return IsStaleNaN(s.v); }), 1);
  // The marker has the timestamp of the scrape that missed the series.
  auto up = Series("up");
  EXPECT_TRUE(
      std::any_of(up.begin(), up.end(), [&](const Sample& s) { return s.t == b.back().t; }));
  auto a = Series("a");
  EXPECT_FALSE(IsStaleNaN(a.back().v));
}

TEST_F(ScrapeLoopTest, SeriesComingBackAfterStaleness) {
  FakeExporter target;
  target.Set({.body = "a 1\nb 2\n"});
  auto loop = Start(JobConfig(target.address()));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  target.SetBody("a 1\n");
  ASSERT_TRUE(WaitScrapes(loop, loop->status().scrapes + 1));
  target.SetBody("a 1\nb 3\n");
  ASSERT_TRUE(WaitScrapes(loop, loop->status().scrapes + 2));
  loop->Stop();
  auto b = Series("b");
  ASSERT_GE(b.size(), 3u);
  EXPECT_EQ(b.back().v, 3);
  EXPECT_EQ(std::count_if(b.begin(), b.end(), [](const Sample& s) { return IsStaleNaN(s.v); }), 1);
}

TEST_F(ScrapeLoopTest, RetiredTargetMarksEverySeriesStale) {
  FakeExporter target;
  target.Set({.body = "a 1\nb{x=\"y\"} 2\n"});
  auto loop = Start(JobConfig(target.address(), "", "100ms", "80ms"));
  ASSERT_TRUE(WaitScrapes(loop, 2));
  loop->Retire();
  // Markers come after the next scrape would have been plus one interval and 10%.
  ASSERT_TRUE(WaitFor([&] { return loop->finished(); }, 3000ms));
  uint64_t scrapes = loop->status().scrapes;
  auto all = All();
  EXPECT_EQ(all.size(), 7u);
  for (const auto& [name, samples] : all) {
    ASSERT_FALSE(samples.empty());
    EXPECT_TRUE(IsStaleNaN(samples.back().v)) << name;
  }
  // Nothing is scraped after retiring.
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(loop->status().scrapes, scrapes);
}

TEST_F(ScrapeLoopTest, StoppedLoopWritesNoMarkers) {
  FakeExporter target;
  target.Set({.body = "a 1\n"});
  auto loop = Start(JobConfig(target.address(), "", "100ms", "80ms"));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  loop->Stop();
  std::this_thread::sleep_for(300ms);
  for (const auto& [name, samples] : All()) {
    for (const Sample& s : samples) EXPECT_FALSE(IsStaleNaN(s.v)) << name;
  }
}

TEST_F(ScrapeLoopTest, ConnectionRefused) {
  auto loop = Start(JobConfig(ClosedAddress()));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  loop->Stop();
  TargetStatus st = loop->status();
  EXPECT_EQ(st.health, TargetHealth::kDown);
  EXPECT_THAT(st.last_error, HasSubstr("connection refused"));
  EXPECT_THAT(st.last_error, HasSubstr("Get \"http://127.0.0.1:"));
  EXPECT_EQ(Last("up"), 0);
  EXPECT_EQ(Last("scrape_samples_scraped"), 0);
}

TEST_F(ScrapeLoopTest, TimeoutWhenTargetNeverAnswers) {
  RawServer silent([](int fd, const std::atomic<bool>& stop) {
    SleepUnlessStopped(stop, 3000ms);  // reads nothing, answers nothing
  });
  auto loop = Start(JobConfig(silent.address(), "", "300ms", "100ms"));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  loop->Stop();
  TargetStatus st = loop->status();
  EXPECT_EQ(st.health, TargetHealth::kDown);
  EXPECT_THAT(st.last_error, HasSubstr("context deadline exceeded"));
  EXPECT_GE(st.last_scrape_duration_s, 0.09);
  EXPECT_LT(st.last_scrape_duration_s, 0.3);
}

TEST_F(ScrapeLoopTest, SlowlorisBodyEndsAtTheDeadline) {
  RawServer slow([](int fd, const std::atomic<bool>& stop) {
    char buf[4096];
    if (read(fd, buf, sizeof(buf)) <= 0) return;
    std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
    if (write(fd, head.data(), head.size()) < 0) return;
    // One byte every 20 ms, forever.
    while (!stop.load()) {
      if (write(fd, "1\r\na\r\n", 6) < 0) return;
      SleepUnlessStopped(stop, 20ms);
    }
  });
  auto loop = Start(JobConfig(slow.address(), "", "300ms", "150ms"));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  loop->Stop();
  TargetStatus st = loop->status();
  EXPECT_EQ(st.health, TargetHealth::kDown);
  EXPECT_THAT(st.last_error, HasSubstr("context deadline exceeded"));
  EXPECT_LT(st.last_scrape_duration_s, 0.5);
}

TEST_F(ScrapeLoopTest, EndlessBodyHitsTheSizeLimit) {
  RawServer endless([](int fd, const std::atomic<bool>& stop) {
    char buf[4096];
    if (read(fd, buf, sizeof(buf)) <= 0) return;
    std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
    if (write(fd, head.data(), head.size()) < 0) return;
    std::string chunk = "1000\r\n" + std::string(0x1000, '#') + "\r\n";
    while (!stop.load()) {
      if (write(fd, chunk.data(), chunk.size()) < 0) return;
    }
  });
  // A timeout with room to spare on a loaded machine: the limit, not the clock, must end it.
  auto loop = Start(JobConfig(endless.address(), "    body_size_limit: 64KiB\n", "2s", "1500ms"));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  loop->Stop();
  TargetStatus st = loop->status();
  EXPECT_EQ(st.health, TargetHealth::kDown);
  EXPECT_EQ(st.last_error, "body size limit exceeded");
}

TEST_F(ScrapeLoopTest, BodyTooLarge) {
  FakeExporter target;
  std::string body;
  for (int i = 0; i < 200; ++i) absl::StrAppend(&body, "metric_", i, " ", i, "\n");
  target.Set({.body = body});
  auto loop = Start(JobConfig(target.address(), "    body_size_limit: 1KiB\n"));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  EXPECT_EQ(loop->status().last_error, "body size limit exceeded");
  // Compressed, the body fits on the wire, but not once inflated.
  target.Set({.body = body, .gzip = true});
  uint64_t n = loop->status().scrapes;
  ASSERT_TRUE(WaitScrapes(loop, n + 1));
  loop->Stop();
  EXPECT_EQ(loop->status().last_error, "body size limit exceeded");
  EXPECT_EQ(Last("up"), 0);
  EXPECT_TRUE(tsdb::testing::ReadAll(*db_, {Eq("__name__", "metric_1")}).empty());
}

TEST_F(ScrapeLoopTest, GzipBody) {
  FakeExporter target;
  target.Set({.body = kBody, .gzip = true});
  auto loop = Start(JobConfig(target.address()));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  loop->Stop();
  EXPECT_EQ(loop->status().last_error, "");
  EXPECT_EQ(Last("temperature"), 21.5);
  EXPECT_EQ(Last("scrape_samples_scraped"), 3);
}

TEST_F(ScrapeLoopTest, Http500FailsTheScrapeAndMarksSeriesStale) {
  FakeExporter target;
  target.Set({.body = "a 1\n"});
  auto loop = Start(JobConfig(target.address()));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  target.Set({.status = 500, .body = "oops"});
  uint64_t n = loop->status().scrapes;
  ASSERT_TRUE(WaitScrapes(loop, n + 1));
  loop->Stop();
  EXPECT_EQ(loop->status().last_error, "server returned HTTP status 500 Internal Server Error");
  EXPECT_EQ(loop->status().health, TargetHealth::kDown);
  EXPECT_EQ(Last("up"), 0);
  EXPECT_TRUE(IsStaleNaN(Series("a").back().v));
}

TEST_F(ScrapeLoopTest, ParseErrorFailsTheScrapeNamingTheLine) {
  FakeExporter target;
  target.Set({.body = "a 1\n"});
  auto loop = Start(JobConfig(target.address()));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  target.SetBody("a 1\nb 2\nc{x=\"1\" 3\n");
  uint64_t n = loop->status().scrapes;
  ASSERT_TRUE(WaitScrapes(loop, n + 1));
  loop->Stop();
  EXPECT_THAT(loop->status().last_error, HasSubstr("line 3"));
  EXPECT_EQ(Last("up"), 0);
  // Nothing of the failed body is stored; the series of the last good scrape are stale.
  EXPECT_TRUE(tsdb::testing::ReadAll(*db_, {Eq("__name__", "b")}).empty());
  EXPECT_TRUE(IsStaleNaN(Series("a").back().v));
  EXPECT_EQ(Last("scrape_samples_scraped"), 2);  // counted until the error
}

TEST_F(ScrapeLoopTest, WrongContentTypeIsParsedAsText) {
  FakeExporter target;
  target.Set({.content_type = "application/json", .body = kBody});
  auto loop = Start(JobConfig(target.address()));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  EXPECT_EQ(loop->status().last_error, "");
  EXPECT_EQ(Last("temperature"), 21.5);
  // Announced as OpenMetrics, the same body lacks "# EOF": a parse error.
  target.Set({.content_type = "application/openmetrics-text; version=1.0.0", .body = kBody});
  uint64_t n = loop->status().scrapes;
  ASSERT_TRUE(WaitScrapes(loop, n + 1));
  loop->Stop();
  EXPECT_EQ(loop->status().health, TargetHealth::kDown);
  EXPECT_THAT(loop->status().last_error, HasSubstr("line"));
}

TEST_F(ScrapeLoopTest, OpenMetricsBody) {
  FakeExporter target;
  target.Set({.content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8",
              .body = "# TYPE req counter\n# UNIT req_seconds seconds\n"
                      "# HELP req Requests.\nreq_total{a=\"b\"} 5 # {trace_id=\"x\"} 1\n"
                      "req_created{a=\"b\"} 1700000000\n"
                      "# TYPE req_seconds gauge\n# UNIT req_seconds seconds\nreq_seconds 1.5\n"
                      "# EOF\n"});
  auto loop = Start(JobConfig(target.address()));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  loop->Stop();
  EXPECT_EQ(loop->status().last_error, "");
  EXPECT_EQ(Last("req_total"), 5);
  EXPECT_EQ(Last("req_created"), 1700000000);
  EXPECT_EQ(Last("req_seconds"), 1.5);
  auto meta = loop->metadata()->Snapshot();
  EXPECT_EQ(meta["req"].type, textparse::MetricType::kCounter);
  EXPECT_EQ(meta["req_seconds"].unit, "seconds");
}

TEST_F(ScrapeLoopTest, InvalidUtf8LabelValueFailsTheScrape) {
  FakeExporter target;
  target.Set({.body = "a{x=\"ok\"} 1\na{x=\"\xff\xfe\"} 2\n"});
  auto loop = Start(JobConfig(target.address()));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  loop->Stop();
  EXPECT_EQ(loop->status().health, TargetHealth::kDown);
  EXPECT_THAT(loop->status().last_error, HasSubstr("line 2"));
  EXPECT_THAT(loop->status().last_error, HasSubstr("UTF-8"));
  EXPECT_TRUE(tsdb::testing::ReadAll(*db_, {Eq("__name__", "a")}).empty());
}

TEST_F(ScrapeLoopTest, DuplicateSeriesInBodyFirstWins) {
  FakeExporter target;
  // The same series twice, and once more in another spelling of the same label set.
  target.Set({.body = "a{x=\"1\",y=\"2\"} 1\na{x=\"1\",y=\"2\"} 2\na{y=\"2\",x=\"1\"} 3\nb 4\n"});
  auto loop = Start(JobConfig(target.address()));
  ASSERT_TRUE(WaitScrapes(loop, 2));
  loop->Stop();
  EXPECT_EQ(loop->status().last_error, "");
  auto a = Series("a");
  ASSERT_GE(a.size(), 2u);
  for (const Sample& s : a) EXPECT_EQ(s.v, 1);
  EXPECT_EQ(Last("scrape_samples_scraped"), 4);
  EXPECT_EQ(Last("b"), 4);
}

TEST_F(ScrapeLoopTest, HonorLabelsFalseRenamesConflicts) {
  FakeExporter target;
  target.Set({.body = "a{job=\"exposed\",instance=\"i\",exported_job=\"taken\"} 1\n"});
  auto loop = Start(JobConfig(target.address()));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  loop->Stop();
  auto all = tsdb::testing::ReadAll(*db_, {Eq("__name__", "a")});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all.begin()->first,
            absl::StrCat("a{exported_exported_job=\"exposed\", exported_instance=\"i\", "
                         "exported_job=\"taken\", instance=\"",
                         target.address(), "\", job=\"test\"}"));
}

TEST_F(ScrapeLoopTest, HonorLabelsTrueKeepsExposedLabels) {
  FakeExporter target;
  target.Set({.body = "a{job=\"exposed\"} 1\n"});
  auto loop = Start(JobConfig(target.address(), "    honor_labels: true\n"));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  loop->Stop();
  auto all = tsdb::testing::ReadAll(*db_, {Eq("__name__", "a")});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all.begin()->first,
            absl::StrCat("a{instance=\"", target.address(), "\", job=\"exposed\"}"));
  // The report series always carry the target's labels.
  EXPECT_EQ(Series("up", {Eq("job", "test")}).size() >= 1, true);
}

TEST_F(ScrapeLoopTest, HonorTimestamps) {
  FakeExporter target;
  target.Set({.body = "a 1 1000\nb 2\n"});
  auto honored = Start(JobConfig(target.address()));
  ASSERT_TRUE(WaitScrapes(honored, 2));
  honored->Stop();
  auto a = Series("a");
  ASSERT_EQ(a.size(), 1u);  // the same timestamp each scrape: one sample
  EXPECT_EQ(a[0].t, 1000);
  EXPECT_GT(Series("b")[0].t, 1'600'000'000'000);
  // Series with their own timestamps get no staleness markers.
  target.SetBody("b 2\n");
  auto again = Start(JobConfig(target.address()), honored->TakeIngester());
  ASSERT_TRUE(WaitScrapes(again, 1));
  again->Stop();
  EXPECT_EQ(Series("a").size(), 1u);
}

TEST_F(ScrapeLoopTest, HonorTimestampsFalseUsesScrapeTime) {
  FakeExporter target;
  target.Set({.body = "a 1 1000\n"});
  auto loop = Start(JobConfig(target.address(), "    honor_timestamps: false\n"));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  loop->Stop();
  auto a = Series("a");
  ASSERT_GE(a.size(), 1u);
  EXPECT_EQ(a[0].t, Series("up")[0].t);
}

TEST_F(ScrapeLoopTest, SampleLimitExceededFailsTheWholeScrape) {
  FakeExporter target;
  target.Set({.body = "a 1\nb 2\nc 3\ndropped 4\n"});
  auto loop = Start(JobConfig(target.address(),
                              "    sample_limit: 2\n"
                              "    metric_relabel_configs:\n"
                              "      - source_labels: [__name__]\n        regex: dropped\n"
                              "        action: drop\n"));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  EXPECT_EQ(loop->status().last_error, "sample limit exceeded");
  EXPECT_EQ(Last("up"), 0);
  EXPECT_EQ(Last("scrape_samples_scraped"), 4);
  EXPECT_EQ(Last("scrape_samples_post_metric_relabeling"), 3);
  EXPECT_TRUE(tsdb::testing::ReadAll(*db_, {Eq("__name__", "a")}).empty());
  // Within the limit (relabelled-away samples do not count) the scrape succeeds.
  target.SetBody("a 1\nb 2\ndropped 4\n");
  uint64_t n = loop->status().scrapes;
  ASSERT_TRUE(WaitScrapes(loop, n + 1));
  loop->Stop();
  EXPECT_EQ(loop->status().last_error, "");
  EXPECT_EQ(Last("a"), 1);
}

TEST_F(ScrapeLoopTest, LabelLimits) {
  FakeExporter target;
  target.Set({.body = "a{x=\"1\",y=\"2\"} 1\n"});
  // __name__, x, y, instance, job: 5 labels.
  auto loop = Start(JobConfig(target.address(), "    label_limit: 4\n"));
  ASSERT_TRUE(WaitScrapes(loop, 1));
  loop->Stop();
  EXPECT_EQ(loop->status().last_error,
            "label_limit exceeded (metric: a, number of labels: 5, limit: 4)");
  target.Set({.body = "a{x=\"toolong\"} 1\n"});
  auto value = Start(JobConfig(target.address(), "    label_value_length_limit: 5\n"));
  ASSERT_TRUE(WaitScrapes(value, 1));
  value->Stop();
  EXPECT_THAT(value->status().last_error, HasSubstr("label_value_length_limit exceeded"));
  auto name = Start(JobConfig(target.address(), "    label_name_length_limit: 4\n"));
  ASSERT_TRUE(WaitScrapes(name, 1));
  name->Stop();
  EXPECT_THAT(
      name->status().last_error,
      HasSubstr("label_name_length_limit exceeded (metric: a, label name: __name__, length: 8"));
}

TEST_F(ScrapeLoopTest, MetricRelabelling) {
  FakeExporter target;
  target.Set({.body = "keep_me{a=\"1\"} 1\ndrop_me 2\nrename_me 3\n"});
  auto loop = Start(JobConfig(target.address(),
                              "    metric_relabel_configs:\n"
                              "      - source_labels: [__name__]\n        regex: drop_.*\n"
                              "        action: drop\n"
                              "      - source_labels: [__name__]\n        regex: rename_(.*)\n"
                              "        target_label: __name__\n        replacement: renamed_$1\n"
                              "      - regex: a\n        action: labeldrop\n"));
  ASSERT_TRUE(WaitScrapes(loop, 2));
  loop->Stop();
  EXPECT_TRUE(tsdb::testing::ReadAll(*db_, {Eq("__name__", "drop_me")}).empty());
  EXPECT_TRUE(tsdb::testing::ReadAll(*db_, {Eq("__name__", "rename_me")}).empty());
  EXPECT_EQ(Last("renamed_me"), 3);
  auto keep = tsdb::testing::ReadAll(*db_, {Eq("__name__", "keep_me")});
  ASSERT_EQ(keep.size(), 1u);
  EXPECT_EQ(keep.begin()->first,
            absl::StrCat("keep_me{instance=\"", target.address(), "\", job=\"test\"}"));
  EXPECT_EQ(Last("scrape_samples_scraped"), 3);
  EXPECT_EQ(Last("scrape_samples_post_metric_relabeling"), 2);
}

TEST_F(ScrapeLoopTest, CacheHandedToANewLoopKeepsSeriesAndStaleness) {
  FakeExporter target;
  target.Set({.body = "a 1\nb 2\n"});
  auto first = Start(JobConfig(target.address()));
  ASSERT_TRUE(WaitScrapes(first, 1));
  first->Stop();
  std::unique_ptr<ScrapeIngester> cache = first->TakeIngester();
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->cache_size(), 2u);
  target.SetBody("a 1\n");
  // Another interval: the cache still fits.
  auto second = Start(JobConfig(target.address(), "", "300ms", "200ms"), std::move(cache));
  ASSERT_TRUE(WaitScrapes(second, 1));
  second->Stop();
  auto added = Series("scrape_series_added");
  EXPECT_EQ(added.back().v, 0);                   // "a" was known
  EXPECT_TRUE(IsStaleNaN(Series("b").back().v));  // and "b" was tracked across loops
}

// --- HTTPS ----------------------------------------------------------------------------------

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

KeyPair MakeSelfSigned() {
  KeyPair out;
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("exporter.test"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:exporter.test,IP:127.0.0.1"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, x);
  out.cert_pem = BioToString(cert_bio);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.key_pem = BioToString(key_bio);
  BIO_free(cert_bio);
  BIO_free(key_bio);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

TEST_F(ScrapeLoopTest, Https) {
  KeyPair keys = MakeSelfSigned();
  std::ofstream(dir_.path() + "/server.crt") << keys.cert_pem;
  std::ofstream(dir_.path() + "/server.key") << keys.key_pem;
  http::TlsConfig tls;
  tls.cert_file = dir_.path() + "/server.crt";
  tls.key_file = dir_.path() + "/server.key";
  http::Server server(http::ServerOptions{},
                      [](const http::Request&) { return http::Response::Text("secure 1\n"); });
  int port = *server.Listen("127.0.0.1:0", &tls);
  ASSERT_TRUE(server.Start().ok());
  const std::string address = absl::StrCat("127.0.0.1:", port);

  // Verified against the CA file, by IP address and by server_name.
  auto by_ip =
      Start(JobConfig(address, "    scheme: https\n    tls_config:\n      ca_file: server.crt\n"));
  auto by_name = Start(JobConfig(address,
                                 "    scheme: https\n    tls_config:\n      ca_file: server.crt\n"
                                 "      server_name: exporter.test\n"));
  // Unknown CA: refused unless verification is off.
  auto unknown = Start(JobConfig(address, "    scheme: https\n"));
  auto insecure = Start(
      JobConfig(address, "    scheme: https\n    tls_config:\n      insecure_skip_verify: true\n"));
  auto wrong_name =
      Start(JobConfig(address,
                      "    scheme: https\n    tls_config:\n      ca_file: server.crt\n"
                      "      server_name: other.test\n"));
  auto missing_ca =
      Start(JobConfig(address, "    scheme: https\n    tls_config:\n      ca_file: nope.crt\n"));
  for (auto& l : {by_ip, by_name, unknown, insecure, wrong_name, missing_ca}) {
    ASSERT_TRUE(WaitScrapes(l, 1));
    l->Stop();
  }
  EXPECT_EQ(by_ip->status().last_error, "");
  EXPECT_EQ(by_name->status().last_error, "");
  EXPECT_EQ(insecure->status().last_error, "");
  EXPECT_THAT(unknown->status().last_error, HasSubstr("certificate verify failed"));
  EXPECT_THAT(wrong_name->status().last_error, HasSubstr("certificate verify failed"));
  EXPECT_THAT(missing_ca->status().last_error, HasSubstr("nope.crt"));
  EXPECT_EQ(by_ip->status().health, TargetHealth::kUp);
  EXPECT_EQ(unknown->status().health, TargetHealth::kDown);
  server.Stop(100ms);
}

}  // namespace
}  // namespace scrape
