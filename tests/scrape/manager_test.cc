// The scrape manager: pools from a configuration, targets and their status, reloads that keep
// what did not change, file-based discovery and metadata over all targets.
#include "scrape/manager.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scrape/config.h"
#include "tests/scrape/fake_target.h"
#include "tests/tsdb/test_util.h"
#include "tsdb/db.h"

namespace scrape {
namespace {

using ::testing::HasSubstr;
using ::tsdb::Sample;
using ::tsdb::testing::Eq;
using namespace std::chrono_literals;
using scrape_test_support::ClosedAddress;
using scrape_test_support::FakeExporter;
using scrape_test_support::WaitFor;

class ScrapeManagerTest : public testing::Test {
 protected:
  void SetUp() override {
    tsdb::DBOptions options;
    options.wal_fsync_interval_ms = -1;
    auto db = tsdb::DB::Open(dir_.path() + "/db", options);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    ManagerOptions mo;
    mo.start_immediately = true;
    mo.file_sd_check = 20ms;
    manager_ = std::make_unique<Manager>(db_.get(), mo);
  }
  void TearDown() override {
    manager_->Stop();
    ASSERT_TRUE(db_->Close().ok());
  }

  Config Load(const std::string& yaml) {
    absl::StatusOr<Config> c = LoadConfigString(yaml, "test.yml", dir_.path());
    EXPECT_TRUE(c.ok()) << c.status() << "\n" << yaml;
    return c.ok() ? *c : Config{};
  }

  // Waits until every active target of the manager has been scraped at least n times.
  bool WaitAllScraped(uint64_t n, std::chrono::milliseconds timeout = 5000ms) {
    return WaitFor(
        [&] {
          TargetsSnapshot t = manager_->Targets();
          if (t.active.empty()) return false;
          for (const auto& a : t.active) {
            if (a.status.scrapes < n) return false;
          }
          return true;
        },
        timeout);
  }

  std::vector<Sample> Samples(std::vector<tsdb::LabelMatcher> m) {
    auto all = tsdb::testing::ReadAll(*db_, m);
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? std::vector<Sample>{} : all.begin()->second;
  }

  tsdb::testing::TempDir dir_;
  std::unique_ptr<tsdb::DB> db_;
  std::unique_ptr<Manager> manager_;
};

TEST_F(ScrapeManagerTest, TargetsOfStaticConfigsWithRelabelling) {
  FakeExporter exporter;
  exporter.Set({.body = "# TYPE m gauge\n# HELP m A gauge.\nm 1\n"});
  const std::string dead = ClosedAddress();
  Config config = Load(absl::StrCat(R"(
global:
  scrape_interval: 200ms
  scrape_timeout: 100ms
scrape_configs:
  - job_name: app
    static_configs:
      - targets: [')",
                                    exporter.address(), R"(']
        labels: {team: a}
      - targets: [')",
                                    dead, R"(', 'drop.me:80']
    relabel_configs:
      - source_labels: [__address__]
        regex: drop\.me:80
        action: drop
)"));
  ASSERT_TRUE(manager_->ApplyConfig(config).ok());
  ASSERT_TRUE(WaitAllScraped(1));
  TargetsSnapshot t = manager_->Targets();
  ASSERT_EQ(t.active.size(), 2u);
  ASSERT_EQ(t.dropped.size(), 1u);
  EXPECT_EQ(t.dropped[0].discovered.Get("__address__"), "drop.me:80");
  EXPECT_EQ(t.dropped[0].scrape_pool, "app");
  for (const ActiveTargetInfo& a : t.active) {
    EXPECT_EQ(a.scrape_pool, "app");
    const std::string address(a.target.labels.Get("__address__"));
    EXPECT_EQ(a.target.url, absl::StrCat("http://", address, "/metrics"));
    EXPECT_EQ(a.target.public_labels.Get("instance"), address);
    EXPECT_EQ(a.target.discovered.Get("__address__"), address);
    EXPECT_EQ(a.target.interval_ms, 200);
    EXPECT_EQ(a.target.timeout_ms, 100);
    if (address == exporter.address()) {
      EXPECT_EQ(a.status.health, TargetHealth::kUp);
      EXPECT_EQ(a.target.public_labels.Get("team"), "a");
    } else {
      EXPECT_EQ(a.status.health, TargetHealth::kDown);
      EXPECT_THAT(a.status.last_error, HasSubstr("connection refused"));
    }
  }
  auto meta = manager_->ListMetadata("");
  ASSERT_EQ(meta.count("m"), 1u);
  EXPECT_EQ(meta["m"][0].type, textparse::MetricType::kGauge);
  EXPECT_EQ(meta["m"][0].help, "A gauge.");
  EXPECT_EQ(manager_->ListMetadata("m").size(), 1u);
  EXPECT_TRUE(manager_->ListMetadata("other").empty());
}

TEST_F(ScrapeManagerTest, ReloadKeepsUnchangedLoopsAndCachesOfChangedOnes) {
  FakeExporter a;
  FakeExporter b;
  FakeExporter c;
  a.Set({.body = "x 1\n"});
  b.Set({.body = "y 1\n"});
  c.Set({.body = "z 1\n"});
  auto yaml = [&](const std::string& b_interval, bool with_c) {
    std::string out = absl::StrCat(R"(
scrape_configs:
  - job_name: a
    scrape_interval: 200ms
    scrape_timeout: 100ms
    static_configs: [{targets: [')",
                                   a.address(), R"(']}]
  - job_name: b
    scrape_interval: )",
                                   b_interval, R"(
    scrape_timeout: 100ms
    static_configs: [{targets: [')",
                                   b.address(), R"(']}]
)");
    if (with_c) {
      absl::StrAppend(&out, R"(
  - job_name: c
    scrape_interval: 100ms
    scrape_timeout: 50ms
    static_configs: [{targets: [')",
                      c.address(), R"(']}]
)");
    }
    return out;
  };
  ASSERT_TRUE(manager_->ApplyConfig(Load(yaml("200ms", true))).ok());
  ASSERT_TRUE(WaitAllScraped(2));
  auto loop_a = manager_->Loops("a");
  auto loop_b = manager_->Loops("b");
  ASSERT_EQ(loop_a.size(), 1u);
  ASSERT_EQ(loop_b.size(), 1u);
  const uint64_t a_scrapes = loop_a[0]->status().scrapes;

  // b's interval changes, c goes away, a stays as it is.
  ASSERT_TRUE(manager_->ApplyConfig(Load(yaml("300ms", false))).ok());
  EXPECT_EQ(manager_->Loops("a")[0], loop_a[0]);  // the very same loop, still scraping
  EXPECT_GE(manager_->Loops("a")[0]->status().scrapes, a_scrapes);
  ASSERT_EQ(manager_->Loops("b").size(), 1u);
  EXPECT_NE(manager_->Loops("b")[0], loop_b[0]);
  EXPECT_EQ(manager_->Loops("b")[0]->target().interval_ms, 300);
  EXPECT_TRUE(manager_->Loops("c").empty());
  EXPECT_TRUE(loop_b[0]->finished());

  ASSERT_TRUE(WaitFor([&] { return manager_->Loops("b")[0]->status().scrapes >= 2; }));
  // b continued with its cache: "y" was not a new series and got no staleness marker.
  auto added = Samples({Eq("__name__", "scrape_series_added"), Eq("job", "b")});
  ASSERT_GE(added.size(), 3u);
  EXPECT_EQ(added.back().v, 0);
  for (const Sample& s : Samples({Eq("__name__", "y")})) EXPECT_FALSE(IsStaleNaN(s.v));
  for (const Sample& s : Samples({Eq("__name__", "x")})) EXPECT_FALSE(IsStaleNaN(s.v));

  // c's series are marked stale once its next scrape would have been due plus an interval.
  ASSERT_TRUE(WaitFor([&] { return manager_->RetiringLoops() == 0; }, 3000ms));
  auto z = Samples({Eq("__name__", "z")});
  ASSERT_FALSE(z.empty());
  EXPECT_TRUE(IsStaleNaN(z.back().v));
  EXPECT_TRUE(IsStaleNaN(Samples({Eq("__name__", "up"), Eq("job", "c")}).back().v));
  EXPECT_FALSE(IsStaleNaN(Samples({Eq("__name__", "up"), Eq("job", "a")}).back().v));
}

TEST_F(ScrapeManagerTest, ChangedMetricRelabellingStartsAfresh) {
  FakeExporter a;
  a.Set({.body = "x 1\nw 2\n"});
  auto yaml = [&](const std::string& drop) {
    return absl::StrCat(R"(
scrape_configs:
  - job_name: a
    scrape_interval: 100ms
    scrape_timeout: 50ms
    static_configs: [{targets: [')",
                        a.address(), R"(']}]
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: )",
                        drop, R"(
        action: drop
)");
  };
  ASSERT_TRUE(manager_->ApplyConfig(Load(yaml("w"))).ok());
  ASSERT_TRUE(WaitAllScraped(1));
  ASSERT_TRUE(manager_->ApplyConfig(Load(yaml("x"))).ok());
  ASSERT_TRUE(WaitAllScraped(2));
  // The old loop's markers for x come after the new loop stopped exposing x.
  ASSERT_TRUE(WaitFor([&] { return manager_->RetiringLoops() == 0; }, 3000ms));
  EXPECT_TRUE(IsStaleNaN(Samples({Eq("__name__", "x")}).back().v));
  EXPECT_EQ(Samples({Eq("__name__", "w")}).back().v, 2);
  // The new loop's first scrape found its series new.
  EXPECT_FALSE(IsStaleNaN(Samples({Eq("__name__", "up")}).back().v));
}

TEST_F(ScrapeManagerTest, FileSdTargetsFollowTheFile) {
  FakeExporter a;
  FakeExporter b;
  a.Set({.body = "fa 1\n"});
  b.Set({.body = "fb 1\n"});
  const std::string file = dir_.path() + "/targets.json";
  auto write = [&](const std::string& content) {
    std::string tmp = file + ".tmp";
    std::ofstream(tmp) << content;
    std::filesystem::rename(tmp, file);
  };
  write(absl::StrCat(R"([{"targets": [")", a.address(), R"("], "labels": {"env": "x"}}])"));
  Config config = Load(R"(
scrape_configs:
  - job_name: files
    scrape_interval: 100ms
    scrape_timeout: 50ms
    file_sd_configs:
      - files: [targets.json]
        refresh_interval: 1h
)");
  ASSERT_TRUE(manager_->ApplyConfig(config).ok());
  ASSERT_TRUE(WaitAllScraped(1));
  auto t = manager_->Targets();
  ASSERT_EQ(t.active.size(), 1u);
  EXPECT_EQ(t.active[0].target.public_labels.Get("env"), "x");
  EXPECT_EQ(t.active[0].target.discovered.Get("__meta_filepath"), file);
  auto first_loop = manager_->Loops("files")[0];

  // A second target appears; the first one's loop is kept.
  std::this_thread::sleep_for(20ms);  // a different modification time
  write(absl::StrCat(R"([{"targets": [")", a.address(), R"(", ")", b.address(),
                     R"("], "labels": {"env": "x"}}])"));
  ASSERT_TRUE(WaitFor([&] { return manager_->Targets().active.size() == 2; }));
  ASSERT_TRUE(WaitAllScraped(1));
  bool kept = false;
  for (const auto& l : manager_->Loops("files")) kept = kept || l == first_loop;
  EXPECT_TRUE(kept);

  // The first one goes away: its series are marked stale.
  std::this_thread::sleep_for(20ms);
  write(absl::StrCat(R"([{"targets": [")", b.address(), R"("], "labels": {"env": "x"}}])"));
  ASSERT_TRUE(WaitFor([&] { return manager_->Targets().active.size() == 1; }));
  ASSERT_TRUE(WaitFor([&] { return manager_->RetiringLoops() == 0; }, 3000ms));
  EXPECT_TRUE(IsStaleNaN(Samples({Eq("__name__", "fa")}).back().v));
  EXPECT_FALSE(IsStaleNaN(Samples({Eq("__name__", "fb")}).back().v));

  // A broken file contributes no targets (as in Prometheus); a fixed one brings them back.
  std::this_thread::sleep_for(20ms);
  write("[{\"targets\": ");
  ASSERT_TRUE(WaitFor([&] { return manager_->Targets().active.empty(); }));
  std::this_thread::sleep_for(20ms);
  write(absl::StrCat(R"([{"targets": [")", b.address(), R"("]}])"));
  ASSERT_TRUE(WaitFor([&] { return manager_->Targets().active.size() == 1; }));
}

TEST_F(ScrapeManagerTest, TargetLimitFailsEveryTargetOfThePool) {
  FakeExporter a;
  a.Set({.body = "m 1\n"});
  Config config = Load(absl::StrCat(R"(
scrape_configs:
  - job_name: limited
    scrape_interval: 100ms
    scrape_timeout: 50ms
    target_limit: 1
    static_configs:
      - targets: [')",
                                    a.address(), R"(']
        labels: {n: '1'}
      - targets: [')",
                                    a.address(), R"(']
        labels: {n: '2'}
)"));
  ASSERT_TRUE(manager_->ApplyConfig(config).ok());
  ASSERT_TRUE(WaitAllScraped(1));
  for (const auto& t : manager_->Targets().active) {
    EXPECT_EQ(t.status.health, TargetHealth::kDown);
    EXPECT_EQ(t.status.last_error, "target_limit exceeded (number of targets: 2, limit: 1)");
  }
  EXPECT_TRUE(a.requests().empty());
}

TEST_F(ScrapeManagerTest, IdenticalTargetsAreScrapedOnce) {
  FakeExporter a;
  a.Set({.body = "m 1\n"});
  Config config = Load(absl::StrCat(R"(
scrape_configs:
  - job_name: dup
    scrape_interval: 100ms
    scrape_timeout: 50ms
    static_configs:
      - targets: [')",
                                    a.address(), "', '", a.address(), R"(']
)"));
  ASSERT_TRUE(manager_->ApplyConfig(config).ok());
  EXPECT_EQ(manager_->Targets().active.size(), 1u);
}

TEST_F(ScrapeManagerTest, StopWritesNoMarkersAndRefusesLaterConfigs) {
  FakeExporter a;
  a.Set({.body = "m 1\n"});
  Config config = Load(absl::StrCat(R"(
scrape_configs:
  - job_name: s
    scrape_interval: 100ms
    scrape_timeout: 50ms
    static_configs: [{targets: [')",
                                    a.address(), R"(']}]
)"));
  ASSERT_TRUE(manager_->ApplyConfig(config).ok());
  ASSERT_TRUE(WaitAllScraped(1));
  manager_->Stop();
  std::this_thread::sleep_for(300ms);
  for (const Sample& s : Samples({Eq("__name__", "m")})) EXPECT_FALSE(IsStaleNaN(s.v));
  EXPECT_FALSE(manager_->ApplyConfig(config).ok());
  EXPECT_TRUE(manager_->Targets().active.empty());
}

TEST(ScrapeConfigCompareTest, SameScrapeConfig) {
  absl::StatusOr<Config> a = LoadConfigString(
      "scrape_configs:\n  - job_name: x\n    static_configs: [{targets: ['a:1']}]\n"
      "    relabel_configs: [{source_labels: [a], target_label: b}]\n",
      "a.yml");
  ASSERT_TRUE(a.ok()) << a.status();
  ScrapeConfig b = a->scrape_configs[0];
  EXPECT_TRUE(SameScrapeConfig(a->scrape_configs[0], b));
  b.relabel_configs[0].replacement = "x";
  EXPECT_FALSE(SameScrapeConfig(a->scrape_configs[0], b));
  b = a->scrape_configs[0];
  b.scrape_interval_ms += 1;
  EXPECT_FALSE(SameScrapeConfig(a->scrape_configs[0], b));
  b = a->scrape_configs[0];
  b.static_configs[0].targets.push_back(tsdb::Labels({{"__address__", "b:1"}}));
  EXPECT_FALSE(SameScrapeConfig(a->scrape_configs[0], b));
}

}  // namespace
}  // namespace scrape
