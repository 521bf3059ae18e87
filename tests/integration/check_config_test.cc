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

namespace {

using ::testing::HasSubstr;

struct CheckRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string Slurp(const std::string& path) {
  std::stringstream ss;
  ss << std::ifstream(path).rdbuf();
  return ss.str();
}

class CheckConfigCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* binary = std::getenv("MA_BINARY");
    if (binary == nullptr || *binary == '\0') GTEST_SKIP() << "MA_BINARY is not set";
    binary_ = binary;
    char tmpl[] = "/tmp/ma_check_config_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
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
    const std::string out = dir_ + "/stdout.txt";
    const std::string err = dir_ + "/stderr.txt";
    const int status =
        std::system(("cd " + Quote(dir_) + " && " + Quote(binary_) + " check-config " + args +
                     " >" + Quote(out) + " 2>" + Quote(err))
                        .c_str());
    CheckRun r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = Slurp(out);
    r.err = Slurp(err);
    return r;
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

  Write("k8s.yml", "scrape_configs:\n- job_name: pods\n  kubernetes_sd_configs:\n  - role: pod\n");
  r = Run("--scrape-config k8s.yml");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("k8s.yml:3: scrape config \"pods\": kubernetes_sd_configs is not "
                               "supported yet"));
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

}  // namespace
