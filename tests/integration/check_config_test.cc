// End-to-end tests of `metrics-adapter check-config --scrape-config FILE`: the real binary
// (MA_BINARY) on good and bad files; output and exit status. (Acceptance itself is compared with
// promtool in tests/scrape/promtool_crosscheck_test.cc.)
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tsdb/db.h"

namespace {

using ::testing::HasSubstr;

using CheckRun = testsupport::RunResult;
using testsupport::ShellQuote;

class CheckConfigCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = testsupport::BinaryPath();
    if (binary_.empty()) GTEST_SKIP() << "MA_BINARY is not set";
    dir_ = testsupport::MakeTempDir("ma-check-config");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }

  CheckRun Run(const std::string& args) {
    return testsupport::RunShell(
        "cd " + ShellQuote(dir_) + " && " + ShellQuote(binary_) + " check-config " + args, dir_);
  }

  std::string binary_;
  std::string dir_;
};

TEST_F(CheckConfigCommandTest, ValidFileIsOk) {
  Write("sd.json", R"([{"targets": ["b:2"]}])");
  Write("prometheus.yml",
        "global:\n  scrape_interval: 15s\nscrape_configs:\n- job_name: node\n  static_configs:\n"
        "  - targets: [localhost:9100]\n- job_name: files\n  file_sd_configs:\n  - files: "
        "[sd.json]\n");
  CheckRun r = Run("--scrape-config prometheus.yml");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "prometheus.yml: OK: 2 scrape configs\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(CheckConfigCommandTest, ErrorNamesFileLineAndKey) {
  Write("bad.yml", "scrape_configs:\n- job_name: node\n  scrape_intervall: 15s\n");
  CheckRun r = Run("--scrape-config bad.yml");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "bad.yml:3: scrape config \"node\": unknown field \"scrape_intervall\"\n");
}

TEST_F(CheckConfigCommandTest, TargetErrorsAndKubernetesAreReported) {
  Write("target.yml", "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: ['']\n");
  CheckRun r = Run("--scrape-config target.yml");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err,
              HasSubstr("target.yml: scrape config \"a\": instance 0 in group 0: no address"));

  // Kubernetes discovery is checked as strictly: the pod role is fine, ingress is refused.
  Write("k8s.yml", "scrape_configs:\n- job_name: pods\n  kubernetes_sd_configs:\n  - role: pod\n");
  r = Run("--scrape-config k8s.yml");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Write("k8s.yml",
        "scrape_configs:\n- job_name: pods\n  kubernetes_sd_configs:\n  - role: ingress\n");
  r = Run("--scrape-config k8s.yml");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("k8s.yml:4: scrape config \"pods\" kubernetes_sd_configs[0]: role "
                               "\"ingress\" is not supported"));
}

TEST_F(CheckConfigCommandTest, SeveralFilesWarningsAndMissingFile) {
  Write("ok.yml",
        "rule_files: []\nscrape_configs:\n- job_name: f\n  file_sd_configs:\n  - files: "
        "[none.json]\n");
  CheckRun r = Run("--scrape-config ok.yml --scrape-config missing.yml");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "ok.yml: OK: 1 scrape configs\n");
  EXPECT_THAT(r.err, HasSubstr("ok.yml: warning: file \""));
  EXPECT_THAT(r.err, HasSubstr("none.json\" for file_sd in scrape job \"f\" does not exist"));
  EXPECT_THAT(r.err, HasSubstr("ok.yml: note: ignored (not used by metrics-adapter): rule_files"));
  EXPECT_THAT(r.err, HasSubstr("missing.yml: open missing.yml: No such file or directory"));
}

TEST_F(CheckConfigCommandTest, UsageErrors) {
  CheckRun r = Run("");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("nothing to check"));
  r = Run("stray.yml");
  EXPECT_EQ(r.exit_code, 2);
  r = Run("--no-such-flag");
  EXPECT_EQ(r.exit_code, 2);
  r = Run("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--scrape-config"));
}

TEST_F(CheckConfigCommandTest, RulesFileIsCheckedAndListsWhatItWouldServe) {
  const std::string rules = Write("rules.yaml", R"(rules:
- seriesQuery: '{__name__=~"^http_.*_total$",namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {matches: "^(.*)_total$", as: "${1}_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)'
externalRules:
- seriesQuery: '{__name__="queue_depth"}'
  resources: {namespaced: false}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)'
)");
  CheckRun plain = Run("--config rules.yaml");
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out, "rules.yaml: OK: 1 rules, 1 externalRules\n");

  {
    tsdb::DBOptions options;
    auto db = tsdb::DB::Open(dir_ + "/data", options);
    ASSERT_TRUE(db.ok()) << db.status();
    auto app = (*db)->NewAppender();
    ASSERT_TRUE(app->Append(0,
                            {{"__name__", "http_requests_total"}, {"namespace", "a"}, {"pod", "p"}},
                            1'700'000'000'000, 1)
                    .ok());
    ASSERT_TRUE(
        app->Append(0, {{"__name__", "queue_depth"}, {"queue", "jobs"}}, 1'700'000'000'000, 3)
            .ok());
    ASSERT_TRUE(app->Commit().ok());
    ASSERT_TRUE((*db)->Close().ok());
  }
  CheckRun listed = Run("--config rules.yaml --storage-path data");
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out,
              HasSubstr("rules[0]: pods/http_requests_per_second: sum(rate(http_requests_total{"
                        "namespace=\"default\",pod!=\"\"}[2m])) by (pod)\n"));
  EXPECT_THAT(listed.out, HasSubstr("rules[0]: namespaces/http_requests_per_second: "));
  EXPECT_THAT(listed.out,
              HasSubstr("externalRules[0]: queue_depth: sum(queue_depth{}) by (queue)\n"));

  Write("bad.yaml", "rules:\n- seriesQuery: '{a=\"b\"}'\n  metricsQuery: '<<.Nope>>'\n");
  CheckRun bad = Run("--config bad.yaml");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("bad.yaml:3:"));
  EXPECT_THAT(bad.err, HasSubstr("Nope"));
}

}  // namespace
