// Acceptance of configuration files compared with the real `promtool check config` (Debian's
// prometheus 2.42, /usr/bin/promtool): each file must be accepted or rejected by both, except for
// the deliberate differences marked below. Our verdict is LoadConfigFile + CheckConfigDeep, which
// is what `metrics-adapter check-config` runs. Without promtool, only our verdict is checked.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "scrape/config.h"
#include "scrape/config_check.h"

namespace scrape {
namespace {

constexpr char kPromtool[] = "/usr/bin/promtool";

struct CrossCheckCase {
  const char* name;
  const char* yaml;
  bool ours_ok;
  bool promtool_ok;  // differs from ours_ok only for a deliberate difference
  std::vector<std::pair<std::string, std::string>> files = {};  // written next to the config
};

std::ostream& operator<<(std::ostream& os, const CrossCheckCase& c) { return os << c.name; }

const std::vector<CrossCheckCase>& Cases() {
  static const auto* cases = new std::vector<CrossCheckCase>{
      // Accepted by both.
      {"empty", "", true, true},
      {"global_only", "global:\n  scrape_interval: 15s\n  external_labels: {dc: eu}\n", true, true},
      {"minimal",
       "scrape_configs:\n- job_name: node\n  static_configs:\n  - targets: [localhost:9100]\n",
       true, true},
      {"everything", R"yaml(global:
  scrape_interval: 30s
  scrape_timeout: 5s
  evaluation_interval: 1m
scrape_configs:
- job_name: full
  scrape_interval: 1m
  scrape_timeout: 50s
  metrics_path: /probe
  scheme: https
  params: {module: [http_2xx]}
  honor_labels: yes
  honor_timestamps: false
  sample_limit: 0x100
  target_limit: 10
  label_limit: 30
  label_name_length_limit: 100
  label_value_length_limit: 1_000
  body_size_limit: 10MB
  follow_redirects: false
  enable_http2: false
  tls_config: {ca_file: ca.pem, server_name: x, insecure_skip_verify: true, min_version: TLS12}
  basic_auth: {username: u, password: p}
  static_configs:
  - targets: [a:1, b]
    labels: {env: prod}
  relabel_configs:
  - {source_labels: [__address__], regex: "(.*):.*", target_label: host, replacement: "${1}"}
  - {source_labels: [a, b], separator: ",", target_label: "x_$1"}
  - {action: labelmap, regex: "__meta_(.+)"}
  - {action: labeldrop, regex: tmp_.*}
  - {action: labelkeep, regex: ".*"}
  - {action: keep, source_labels: [env], regex: prod}
  - {action: drop, source_labels: [env], regex: dev}
  - {action: hashmod, source_labels: [__address__], modulus: 4, target_label: __tmp_hash}
  - {action: keepequal, source_labels: [env], target_label: env}
  - {action: dropequal, source_labels: [env], target_label: other}
  - {action: lowercase, source_labels: [env], target_label: env_lower}
  - {action: UPPERCASE, source_labels: [env], target_label: env_upper}
  metric_relabel_configs:
  - {source_labels: [__name__], regex: "go_.*", action: drop}
)yaml",
       true, true},
      {"file_sd",
       "scrape_configs:\n- job_name: f\n  file_sd_configs:\n  - files: [sd.json, "
       "'t*.yml']\n    refresh_interval: 1m\n",
       true,
       true,
       {{"sd.json", R"([{"targets": ["a:1"], "labels": {"x": "y"}}])"},
        {"t.yml", "- targets: [b:2]\n"}}},
      {"file_sd_missing_file",
       "scrape_configs:\n- job_name: f\n  file_sd_configs:\n  - files: "
       "[missing.json]\n",
       true, true},
      {"ignored_sections",
       "rule_files: []\nalerting: {alertmanagers: []}\nscrape_configs:\n- "
       "job_name: a\n",
       true, true},
      {"relabel_fixes_url",
       "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: [a:1]\n"
       "  relabel_configs:\n  - {target_label: __scrape_interval__, "
       "replacement: 2m}\n",
       true, true},
      {"bearer_token_file",
       "scrape_configs:\n- job_name: a\n  bearer_token_file: token\n",
       true,
       true,
       {{"token", "secret\n"}}},
      {"authorization",
       "scrape_configs:\n- job_name: a\n  authorization: {type: Custom, "
       "credentials: x}\n",
       true, true},
      {"cert_and_key",
       "scrape_configs:\n- job_name: a\n  tls_config: {cert_file: c.pem, key_file: "
       "k.pem}\n",
       true,
       true,
       {{"c.pem", "x"}, {"k.pem", "y"}}},
      {"numeric_job_name", "scrape_configs:\n- job_name: 5\n", true, true},
      {"interval_zero_inherits", "scrape_configs:\n- job_name: a\n  scrape_interval: 0s\n", true,
       true},
      {"regex_null",
       "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - {action: keep, regex: }\n", true,
       true},

      // Rejected by both.
      {"unknown_top_level", "globals: {}\n", false, false},
      {"unknown_scrape_field", "scrape_configs:\n- job_name: a\n  scrape_intervall: 15s\n", false,
       false},
      {"unknown_static_field",
       "scrape_configs:\n- job_name: a\n  static_configs:\n  - target: [a:1]\n", false, false},
      {"unknown_relabel_field",
       "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - {regexp: x}\n", false, false},
      {"unknown_tls_field", "scrape_configs:\n- job_name: a\n  tls_config: {ca: x}\n", false,
       false},
      {"duplicate_job", "scrape_configs:\n- job_name: a\n- job_name: a\n", false, false},
      {"duplicate_key", "scrape_configs:\n- job_name: a\n  job_name: b\n", false, false},
      {"missing_job_name", "scrape_configs:\n- scrape_interval: 5s\n", false, false},
      {"null_scrape_config", "scrape_configs:\n-\n", false, false},
      {"job_timeout_above_interval", "scrape_configs:\n- job_name: a\n  scrape_timeout: 2m\n",
       false, false},
      {"global_timeout_above_interval", "global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n",
       false, false},
      {"bare_number_duration", "global:\n  scrape_interval: 15\n", false, false},
      {"bad_duration_order", "scrape_configs:\n- job_name: a\n  scrape_interval: 1s1m\n", false,
       false},
      {"bad_label_name",
       "scrape_configs:\n- job_name: a\n  static_configs:\n  - labels: {a-b: c}\n", false, false},
      {"bad_external_label", "global:\n  external_labels: {1a: x}\n", false, false},
      {"url_target",
       "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: "
       "['http://a:80']\n",
       false, false},
      {"url_target_with_relabel",
       "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: "
       "['http://a:80']\n  relabel_configs:\n  - action: keep\n",
       false, false},
      {"empty_target", "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: ['']\n",
       false, false},
      {"relabel_timeout_above_interval",
       "scrape_configs:\n- job_name: a\n  static_configs:\n  - "
       "targets: [a:1]\n  relabel_configs:\n  - {target_label: "
       "__scrape_timeout__, replacement: 2m}\n",
       false, false},
      {"replace_without_target",
       "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - "
       "source_labels: [a]\n",
       false, false},
      {"unknown_action",
       "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - action: explode\n", false, false},
      {"bad_regex",
       "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - {action: keep, regex: "
       "'('}\n",
       false, false},
      {"hashmod_zero_modulus",
       "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - {action: "
       "hashmod, target_label: t}\n",
       false, false},
      {"labeldrop_with_sources",
       "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - {action: "
       "labeldrop, source_labels: [a]}\n",
       false, false},
      {"keepequal_with_replacement",
       "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - "
       "{action: keepequal, target_label: t, replacement: x}\n",
       false, false},
      {"invalid_target_label",
       "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - "
       "{target_label: a-b}\n",
       false, false},
      {"bad_source_label",
       "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - {action: keep, "
       "source_labels: [a-b]}\n",
       false, false},
      {"quoted_bool", "scrape_configs:\n- job_name: a\n  honor_labels: 'true'\n", false, false},
      {"negative_limit", "scrape_configs:\n- job_name: a\n  sample_limit: -1\n", false, false},
      {"params_scalar", "scrape_configs:\n- job_name: a\n  params: {a: b}\n", false, false},
      {"body_size_without_unit", "scrape_configs:\n- job_name: a\n  body_size_limit: 1000\n", false,
       false},
      {"file_sd_bad_extension",
       "scrape_configs:\n- job_name: a\n  file_sd_configs:\n  - files: "
       "[a.txt]\n",
       false, false},
      {"file_sd_no_files", "scrape_configs:\n- job_name: a\n  file_sd_configs:\n  - files: []\n",
       false, false},
      {"file_sd_bad_label",
       "scrape_configs:\n- job_name: a\n  file_sd_configs:\n  - files: [sd.json]\n",
       false,
       false,
       {{"sd.json", R"([{"targets": ["a:1"], "labels": {"a-b": "x"}}])"}}},
      {"file_sd_unknown_json_field",
       "scrape_configs:\n- job_name: a\n  file_sd_configs:\n  - files: "
       "[sd.json]\n",
       false,
       false,
       {{"sd.json", R"([{"targets": ["a:1"], "foo": 1}])"}}},
      {"file_sd_bad_target",
       "scrape_configs:\n- job_name: a\n  file_sd_configs:\n  - files: "
       "[sd.yml]\n",
       false,
       false,
       {{"sd.yml", "- targets: [a/b]\n"}}},
      {"cert_without_key",
       "scrape_configs:\n- job_name: a\n  tls_config: {cert_file: c.pem}\n",
       false,
       false,
       {{"c.pem", "x"}}},
      {"cert_file_missing",
       "scrape_configs:\n- job_name: a\n  tls_config: {cert_file: nope.pem, "
       "key_file: nope.key}\n",
       false, false},
      {"password_and_file",
       "scrape_configs:\n- job_name: a\n  basic_auth: {username: u, password: "
       "p, password_file: f}\n",
       false, false},
      {"authorization_basic", "scrape_configs:\n- job_name: a\n  authorization: {type: basic}\n",
       false, false},
      {"bearer_token_and_file",
       "scrape_configs:\n- job_name: a\n  bearer_token: a\n  "
       "bearer_token_file: b\n",
       false, false},
      {"basic_auth_and_bearer",
       "scrape_configs:\n- job_name: a\n  basic_auth: {username: u}\n  "
       "bearer_token: b\n",
       false, false},
      {"bearer_token_file_missing", "scrape_configs:\n- job_name: a\n  bearer_token_file: nope\n",
       false, false},
      {"yaml_syntax", "scrape_configs:\n- job_name: a\n  static_configs: [\n", false, false},
      {"scrape_configs_scalar", "scrape_configs: 5\n", false, false},
      {"top_level_list", "- a\n", false, false},
      {"ftp_scheme_without_port",
       "scrape_configs:\n- job_name: a\n  scheme: ftp\n  static_configs:\n"
       "  - targets: [a]\n",
       false, false},

      // Deliberate differences: refused here, accepted by promtool.
      {"diff_ftp_scheme", "scrape_configs:\n- job_name: a\n  scheme: ftp\n", false, true},
      {"diff_dns_sd", "scrape_configs:\n- job_name: a\n  dns_sd_configs:\n  - names: [x.example]\n",
       false, true},
      {"diff_proxy_url", "scrape_configs:\n- job_name: a\n  proxy_url: http://proxy:3128\n", false,
       true},
      // Accepted here, refused by Debian's promtool, which is built without Kubernetes discovery.
      {"diff_kubernetes_sd",
       "scrape_configs:\n- job_name: a\n  kubernetes_sd_configs:\n  - role: pod\n", true, false},
  };
  return *cases;
}

class PromtoolCrossCheckTest : public ::testing::TestWithParam<CrossCheckCase> {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir();
    if (dir_.empty() || dir_.back() != '/') dir_ += '/';
    dir_ += std::string("promtool_crosscheck_") + std::to_string(getpid()) + "_" + GetParam().name;
    ASSERT_EQ(std::system(("rm -rf '" + dir_ + "' && mkdir -p '" + dir_ + "'").c_str()), 0);
    for (const auto& [name, content] : GetParam().files) {
      std::ofstream(dir_ + "/" + name, std::ios::binary) << content;
    }
    config_ = dir_ + "/prometheus.yml";
    std::ofstream(config_, std::ios::binary) << GetParam().yaml;
  }
  void TearDown() override { (void)std::system(("rm -rf '" + dir_ + "'").c_str()); }

  std::string dir_;
  std::string config_;
};

TEST_P(PromtoolCrossCheckTest, SameVerdict) {
  const CrossCheckCase& c = GetParam();
  absl::StatusOr<Config> config = LoadConfigFile(config_);
  absl::Status ours = config.status();
  if (config.ok()) ours = CheckConfigDeep(*config, nullptr);
  EXPECT_EQ(ours.ok(), c.ours_ok) << ours;

  struct stat st;
  if (::stat(kPromtool, &st) != 0) GTEST_SKIP() << kPromtool << " is not installed";
  // promtool resolves relative paths against the file's directory, but the glob of file_sd
  // against the working directory: run it where the file is.
  const std::string out = dir_ + "/promtool.out";
  const std::string cmd =
      "cd '" + dir_ + "' && " + kPromtool + " check config prometheus.yml > promtool.out 2>&1";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  std::stringstream promtool_output;
  promtool_output << std::ifstream(out).rdbuf();
  EXPECT_EQ(WEXITSTATUS(status) == 0, c.promtool_ok) << promtool_output.str();
}

INSTANTIATE_TEST_SUITE_P(Files, PromtoolCrossCheckTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<CrossCheckCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace scrape
