// Target labels (PopulateTargetLabels), file_sd target files and the promtool-like deep checks.
// Expected labels come from a running Prometheus 2.42 given the same configuration (its
// /api/v1/targets "labels" and "discoveredLabels").
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scrape/config.h"
#include "scrape/config_check.h"
#include "scrape/file_sd.h"
#include "scrape/target_labels.h"

namespace scrape {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

ScrapeConfig Job(const std::string& yaml_body) {
  absl::StatusOr<Config> c = LoadConfigString(
      "global: {scrape_interval: 1h, scrape_timeout: 10s}\nscrape_configs:\n- job_name: j\n" +
          yaml_body,
      "t.yml");
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? c->scrape_configs.at(0) : ScrapeConfig();
}

PopulatedTarget Populate(const ScrapeConfig& sc, tsdb::Labels target) {
  absl::StatusOr<PopulatedTarget> p = PopulateTargetLabels(target, sc);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : PopulatedTarget();
}

std::string PopulateError(const ScrapeConfig& sc, tsdb::Labels target) {
  absl::StatusOr<PopulatedTarget> p = PopulateTargetLabels(target, sc);
  EXPECT_FALSE(p.ok());
  return p.ok() ? "" : std::string(p.status().message());
}

tsdb::Labels Addr(const std::string& a) { return tsdb::Labels({{"__address__", a}}); }

TEST(TargetLabelsTest, DefaultsAndDiscoveredLabels) {
  ScrapeConfig sc = Job("");
  PopulatedTarget t = Populate(sc, Addr("h:1"));
  EXPECT_FALSE(t.dropped);
  EXPECT_EQ(t.discovered, tsdb::Labels({{"__address__", "h:1"},
                                        {"__metrics_path__", "/metrics"},
                                        {"__scheme__", "http"},
                                        {"__scrape_interval__", "1h"},
                                        {"__scrape_timeout__", "10s"},
                                        {"job", "j"}}));
  EXPECT_EQ(PublicTargetLabels(t.labels), tsdb::Labels({{"instance", "h:1"}, {"job", "j"}}));
  EXPECT_EQ(t.labels.Get("__address__"), "h:1");
  EXPECT_EQ(t.scrape_interval_ms, 3600000);
  EXPECT_EQ(t.scrape_timeout_ms, 10000);
  EXPECT_EQ(TargetScrapeURL(t.labels, sc), "http://h:1/metrics");
}

TEST(TargetLabelsTest, DefaultPortsAsPrometheus242) {
  ScrapeConfig sc = Job("");
  // Oracle job G-port: "a" -> a:80, "[::1]" -> [::1]:80, "b:" (empty port) and "[::1]:9" as is.
  EXPECT_EQ(Populate(sc, Addr("a")).labels.Get("instance"), "a:80");
  EXPECT_EQ(Populate(sc, Addr("a")).discovered.Get("__address__"), "a");
  EXPECT_EQ(Populate(sc, Addr("[::1]")).labels.Get("__address__"), "[::1]:80");
  EXPECT_EQ(Populate(sc, Addr("b:")).labels.Get("instance"), "b:");
  EXPECT_EQ(Populate(sc, Addr("[::1]:9")).labels.Get("instance"), "[::1]:9");
  ScrapeConfig https = Job("  scheme: https\n");
  PopulatedTarget t = Populate(https, Addr("a"));
  EXPECT_EQ(t.labels.Get("instance"), "a:443");
  EXPECT_EQ(TargetScrapeURL(t.labels, https), "https://a:443/metrics");
  // An address that stays invalid gets no port.
  EXPECT_EQ(Populate(sc, Addr("a:b:c")).labels.Get("__address__"), "a:b:c");
}

TEST(TargetLabelsTest, ParamsJobOverrideAndUrl) {
  // Oracle job H-params.
  ScrapeConfig sc = Job("  params: {module: [m1, m2], other: []}\n  metrics_path: /probe\n");
  PopulatedTarget t = Populate(
      sc, tsdb::Labels({{"__address__", "h:8"}, {"job", "custom"}, {"__scheme__", "https"}}));
  EXPECT_EQ(t.discovered.Get("__param_module"), "m1");
  EXPECT_FALSE(t.discovered.Has("__param_other"));
  EXPECT_EQ(PublicTargetLabels(t.labels), tsdb::Labels({{"instance", "h:8"}, {"job", "custom"}}));
  EXPECT_EQ(TargetScrapeURL(t.labels, sc), "https://h:8/probe?module=m1&module=m2");
}

TEST(TargetLabelsTest, ParamLabelsOverrideTheFirstValue) {
  ScrapeConfig sc =
      Job("  params: {module: [m1, m2]}\n  relabel_configs:\n"
          "  - {source_labels: [__address__], target_label: __param_target}\n"
          "  - {target_label: __param_module, replacement: \"a b&c\"}\n"
          "  - {target_label: __address__, replacement: \"exporter:9115\"}\n"
          "  - {target_label: __metrics_path__, replacement: \"/pro be\"}\n");
  PopulatedTarget t = Populate(sc, Addr("example.org"));
  EXPECT_EQ(TargetScrapeURL(t.labels, sc),
            "http://exporter:9115/pro%20be?module=a+b%26c&module=m2&target=example.org");
  EXPECT_EQ(t.labels.Get("instance"), "exporter:9115");
}

TEST(TargetLabelsTest, MetaLabelsDroppedOthersKept) {
  // Oracle job M-meta.
  ScrapeConfig sc = Job("");
  PopulatedTarget t =
      Populate(sc, tsdb::Labels({{"__address__", "h:13"}, {"__meta_x", "y"}, {"__tmp", "z"}}));
  EXPECT_FALSE(t.labels.Has("__meta_x"));
  EXPECT_EQ(t.labels.Get("__tmp"), "z");
  EXPECT_EQ(t.discovered.Get("__meta_x"), "y");
  EXPECT_EQ(PublicTargetLabels(t.labels), tsdb::Labels({{"instance", "h:13"}, {"job", "j"}}));
}

TEST(TargetLabelsTest, DroppedTargetsKeepTheirDiscoveredLabels) {
  ScrapeConfig sc =
      Job("  relabel_configs:\n  - {source_labels: [__meta_x], regex: y, action: drop}\n");
  PopulatedTarget t = Populate(sc, tsdb::Labels({{"__address__", "h:12"}, {"__meta_x", "y"}}));
  EXPECT_TRUE(t.dropped);
  EXPECT_TRUE(t.labels.empty());
  EXPECT_EQ(t.discovered.Get("__meta_x"), "y");
  EXPECT_EQ(t.discovered.Get("job"), "j");
}

TEST(TargetLabelsTest, IntervalAndTimeoutFromRelabelling) {
  // Oracle job K-timeout-relabel.
  ScrapeConfig sc =
      Job("  relabel_configs:\n  - {target_label: __scrape_interval__, replacement: 90s}\n"
          "  - {target_label: __scrape_timeout__, replacement: 1m30s}\n");
  PopulatedTarget t = Populate(sc, Addr("h:11"));
  EXPECT_EQ(t.scrape_interval_ms, 90000);
  EXPECT_EQ(t.scrape_timeout_ms, 90000);

  ScrapeConfig bad =
      Job("  relabel_configs:\n  - {target_label: __scrape_timeout__, replacement: 2h}\n");
  EXPECT_EQ(PopulateError(bad, Addr("h:1")),
            "scrape timeout cannot be greater than scrape interval (\"2h\" > \"1h\")");
  bad = Job("  relabel_configs:\n  - {target_label: __scrape_timeout__, replacement: 2x}\n");
  EXPECT_EQ(PopulateError(bad, Addr("h:1")),
            "error parsing scrape timeout: not a valid duration string: \"2x\"");
  bad = Job("  relabel_configs:\n  - {target_label: __scrape_interval__, replacement: \"0\"}\n");
  EXPECT_EQ(PopulateError(bad, Addr("h:1")), "scrape interval cannot be 0");
  // Deleting the interval label makes it unparsable.
  bad = Job("  relabel_configs:\n  - {action: labeldrop, regex: __scrape_interval__}\n");
  EXPECT_EQ(PopulateError(bad, Addr("h:1")),
            "error parsing scrape interval: empty duration string");
}

TEST(TargetLabelsTest, AddressErrors) {
  ScrapeConfig sc = Job("");
  EXPECT_EQ(PopulateError(sc, Addr("")), "no address");
  EXPECT_EQ(PopulateError(sc, tsdb::Labels({{"a", "b"}})), "no address");
  EXPECT_EQ(PopulateError(sc, Addr("http://a:80")), "\"http://a:80\" is not a valid hostname");
  EXPECT_EQ(PopulateError(sc, Addr("a/b")), "\"a/b:80\" is not a valid hostname");
  ScrapeConfig bad_scheme =
      Job("  relabel_configs:\n  - {target_label: __scheme__, replacement: ftp}\n");
  EXPECT_EQ(PopulateError(bad_scheme, Addr("a")), "invalid scheme: \"http\"");
  EXPECT_EQ(Populate(bad_scheme, Addr("a:1")).labels.Get("__scheme__"), "ftp");
}

TEST(TargetLabelsTest, InvalidUtf8ValuesAreRefused) {
  ScrapeConfig sc = Job("");
  EXPECT_THAT(PopulateError(sc, tsdb::Labels({{"__address__", "a:1"}, {"x", "\xff"}})),
              HasSubstr("invalid label value for \"x\""));
}

TEST(TargetLabelsTest, TargetsFromGroupMergesAndReportsErrors) {
  ScrapeConfig sc = Job("");
  TargetGroup g;
  g.source = "3";
  g.targets = {Addr("a:1"), tsdb::Labels({{"__address__", "b:1"}, {"env", "own"}}), Addr("")};
  g.labels = tsdb::Labels({{"env", "group"}, {"team", "t"}});
  std::vector<std::string> errors;
  std::vector<PopulatedTarget> ts = TargetsFromGroup(g, sc, &errors);
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(PublicTargetLabels(ts[0].labels),
            tsdb::Labels({{"env", "group"}, {"instance", "a:1"}, {"job", "j"}, {"team", "t"}}));
  EXPECT_EQ(ts[1].labels.Get("env"), "own");
  EXPECT_THAT(errors, ElementsAre("instance 2 in group 3: no address"));
}

class FileSDTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir();
    if (dir_.empty() || dir_.back() != '/') dir_ += '/';
    dir_ += "file_sd_test_" + std::to_string(getpid());
    ASSERT_EQ(system(("rm -rf " + dir_ + " && mkdir -p " + dir_).c_str()), 0);
  }
  void TearDown() override { (void)system(("rm -rf " + dir_).c_str()); }
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  std::string dir_;
};

TEST_F(FileSDTest, JsonAndYaml) {
  const std::string json = Write(
      "a.json",
      R"([{"targets": ["h1:9100", "h2:9100"], "labels": {"env": "prod", "null_is_empty": null}},
          {"Targets": ["h3:1"]}])");
  absl::StatusOr<std::vector<TargetGroup>> groups = ReadFileSD(json);
  ASSERT_TRUE(groups.ok()) << groups.status();
  ASSERT_EQ(groups->size(), 2u);
  const TargetGroup& g = (*groups)[0];
  EXPECT_EQ(g.source, json + ":0");
  EXPECT_EQ(g.labels, tsdb::Labels({{"__meta_filepath", json}, {"env", "prod"}}));
  EXPECT_THAT(g.targets, ElementsAre(Addr("h1:9100"), Addr("h2:9100")));
  EXPECT_THAT((*groups)[1].targets, ElementsAre(Addr("h3:1")));  // keys match case-insensitively

  const std::string yaml = Write("b.YML", "- targets: [h:1]\n  labels: {a: b}\n- targets:\n");
  groups = ReadFileSD(yaml);
  ASSERT_TRUE(groups.ok()) << groups.status();
  ASSERT_EQ(groups->size(), 2u);
  EXPECT_EQ((*groups)[0].labels, tsdb::Labels({{"__meta_filepath", yaml}, {"a", "b"}}));
  EXPECT_EQ((*groups)[1].source, yaml + ":1");
  EXPECT_THAT((*groups)[1].targets, IsEmpty());

  EXPECT_THAT(*ReadFileSD(Write("empty.yaml", "")), IsEmpty());
  EXPECT_THAT(*ReadFileSD(Write("empty.json", "[]")), IsEmpty());
}

TEST_F(FileSDTest, ErrorsAsPromtool) {
  auto error = [&](const std::string& name, const std::string& content) {
    absl::StatusOr<std::vector<TargetGroup>> g = ReadFileSD(Write(name, content));
    EXPECT_FALSE(g.ok()) << name << ": " << content;
    return g.ok() ? std::string() : std::string(g.status().message());
  };
  EXPECT_THAT(error("a.json", R"([{"targets": ["a:1"], "foo": 1}])"),
              HasSubstr("unknown field \"foo\""));
  EXPECT_THAT(error("a.json", R"([{"targets": ["a:1"], "labels": {"a-b": "x"}}])"),
              HasSubstr("\"a-b\" is not a valid label name"));
  EXPECT_THAT(error("a.json", R"([{"targets": [5]}])"), HasSubstr("expected a string, got number"));
  EXPECT_THAT(error("a.json", R"([{"labels": {"a": 5}}])"),
              HasSubstr("expected a string, got number"));
  EXPECT_THAT(error("a.json", "[null]"), HasSubstr("nil target group item found (index 0)"));
  EXPECT_THAT(error("a.json", "{}"), HasSubstr("expected a list of target groups"));
  EXPECT_THAT(error("a.json", ""), HasSubstr("invalid JSON"));
  EXPECT_THAT(error("a.json", R"([{"targets": ["a:1"]}] x)"), HasSubstr("after top-level value"));
  EXPECT_THAT(error("a.yml", "- targets: [a:1]\n  foo: 1\n"),
              HasSubstr(":2: group 0: unknown field \"foo\""));
  EXPECT_THAT(error("a.yml", "- targets: [a:1]\n  labels: {a: [1]}\n"),
              HasSubstr("expected a string, got a list"));
  EXPECT_THAT(error("a.yml", "- null\n"), HasSubstr("nil target group item found (index 0)"));
  EXPECT_THAT(error("a.txt", "[]"), HasSubstr("unknown file extension"));
  absl::StatusOr<std::vector<TargetGroup>> missing = ReadFileSD(dir_ + "/missing.json");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FileSDTest, ExpandPatterns) {
  Write("t1.json", "[]");
  Write("t2.json", "[]");
  Write("t.yml", "[]");
  EXPECT_THAT(ExpandFileSDPatterns({dir_ + "/t*.json", dir_ + "/t1.json", dir_ + "/none*.json"}),
              ElementsAre(dir_ + "/t1.json", dir_ + "/t2.json"));
  EXPECT_THAT(ExpandFileSDPatterns({dir_ + "/missing.yml"}), IsEmpty());
}

TEST(FileSDPatternTest, AsPrometheus) {
  EXPECT_TRUE(IsValidFileSDPattern("a.json"));
  EXPECT_TRUE(IsValidFileSDPattern("dir/*.yml"));
  EXPECT_TRUE(IsValidFileSDPattern("dir/x*y*.YAML"));
  EXPECT_TRUE(IsValidFileSDPattern("/abs/d/*.json"));
  EXPECT_FALSE(IsValidFileSDPattern("a.txt"));
  EXPECT_FALSE(IsValidFileSDPattern("a.Json"));
  EXPECT_FALSE(IsValidFileSDPattern("d/*/a.json"));
  EXPECT_FALSE(IsValidFileSDPattern("json"));
}

TEST_F(FileSDTest, DeepCheckLikePromtool) {
  const std::string good = Write("good.json", R"([{"targets": ["a:1"]}])");
  const std::string bad = Write("bad.json", R"([{"targets": ["a/b"]}])");
  auto check = [&](const std::string& yaml, std::vector<std::string>* warnings) {
    absl::StatusOr<Config> c = LoadConfigString(yaml, "c.yml", dir_);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? CheckConfigDeep(*c, warnings) : c.status();
  };
  std::vector<std::string> warnings;
  EXPECT_TRUE(check("scrape_configs:\n- job_name: a\n  file_sd_configs:\n  - files: [good.json, "
                    "nothing*.json]\n",
                    &warnings)
                  .ok());
  EXPECT_THAT(warnings,
              ElementsAre(HasSubstr("nothing*.json\" for file_sd in scrape job \"a\" does "
                                    "not exist")));
  absl::Status st =
      check("scrape_configs:\n- job_name: a\n  file_sd_configs:\n  - files: [bad.json]\n", nullptr);
  EXPECT_THAT(std::string(st.message()), HasSubstr("\"a/b:80\" is not a valid hostname"));
  st = check("scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: [\"\"]\n", nullptr);
  EXPECT_EQ(st.message(), "scrape config \"a\": instance 0 in group 0: no address");
  st = check("scrape_configs:\n- job_name: a\n  tls_config: {cert_file: c.pem}\n", nullptr);
  EXPECT_THAT(std::string(st.message()), HasSubstr("specified without client key file"));
  st = check("scrape_configs:\n- job_name: a\n  bearer_token_file: nope\n", nullptr);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(
      check("scrape_configs:\n- job_name: a\n  bearer_token_file: good.json\n", nullptr).ok());
}

}  // namespace
}  // namespace scrape
