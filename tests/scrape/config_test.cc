// The scrape configuration loader: defaults, strictness and the messages of bad files.
#include "scrape/config.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tsdb/duration.h"

namespace scrape {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<Config> Load(const std::string& yaml) { return LoadConfigString(yaml, "test.yml"); }

// The error message of loading yaml; fails the test when it loads.
std::string LoadError(const std::string& yaml) {
  absl::StatusOr<Config> c = Load(yaml);
  EXPECT_FALSE(c.ok()) << "loaded:\n" << yaml;
  if (c.ok()) return "";
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(c.status().message());
}

TEST(ScrapeConfigTest, EmptyFileGivesDefaults) {
  for (const char* text : {"", "---\n", "# only a comment\n", "global:\n"}) {
    absl::StatusOr<Config> c = Load(text);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->global.scrape_interval_ms, 60000);
    EXPECT_EQ(c->global.scrape_timeout_ms, 10000);
    EXPECT_TRUE(c->global.external_labels.empty());
    EXPECT_TRUE(c->scrape_configs.empty());
  }
}

TEST(ScrapeConfigTest, JobDefaultsAndInheritance) {
  absl::StatusOr<Config> c = Load(R"(
global:
  scrape_interval: 15s
  external_labels: {region: eu, replica: "1"}
scrape_configs:
- job_name: node
  static_configs:
  - targets: [localhost:9100, "10.0.0.1:9100"]
    labels: {env: prod}
- job_name: fast
  scrape_interval: 5s
- job_name: own
  scrape_interval: 30s
  scrape_timeout: 20s
)");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->global.scrape_interval_ms, 15000);
  EXPECT_EQ(c->global.scrape_timeout_ms, 10000);
  EXPECT_EQ(c->global.external_labels, tsdb::Labels({{"region", "eu"}, {"replica", "1"}}));
  ASSERT_EQ(c->scrape_configs.size(), 3u);
  const ScrapeConfig& node = c->scrape_configs[0];
  EXPECT_EQ(node.job_name, "node");
  EXPECT_EQ(node.scrape_interval_ms, 15000);
  EXPECT_EQ(node.scrape_timeout_ms, 10000);
  EXPECT_EQ(node.metrics_path, "/metrics");
  EXPECT_EQ(node.scheme, "http");
  EXPECT_FALSE(node.honor_labels);
  EXPECT_TRUE(node.honor_timestamps);
  EXPECT_EQ(node.sample_limit, 0u);
  EXPECT_EQ(node.body_size_limit, 0);
  EXPECT_TRUE(node.follow_redirects);
  EXPECT_FALSE(node.has_basic_auth);
  EXPECT_FALSE(node.has_authorization);
  EXPECT_EQ(node.line, 6);
  ASSERT_EQ(node.static_configs.size(), 1u);
  const TargetGroup& g = node.static_configs[0];
  EXPECT_EQ(g.source, "0");
  EXPECT_EQ(g.labels, tsdb::Labels({{"env", "prod"}}));
  ASSERT_EQ(g.targets.size(), 2u);
  EXPECT_EQ(g.targets[0], tsdb::Labels({{"__address__", "localhost:9100"}}));
  EXPECT_EQ(g.targets[1], tsdb::Labels({{"__address__", "10.0.0.1:9100"}}));
  // The timeout is capped by the job's own interval when inherited.
  EXPECT_EQ(c->scrape_configs[1].scrape_interval_ms, 5000);
  EXPECT_EQ(c->scrape_configs[1].scrape_timeout_ms, 5000);
  EXPECT_EQ(c->scrape_configs[2].scrape_timeout_ms, 20000);
}

TEST(ScrapeConfigTest, GlobalTimeoutIsCappedByGlobalInterval) {
  absl::StatusOr<Config> c = Load("global:\n  scrape_interval: 5s\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->global.scrape_timeout_ms, 5000);
}

TEST(ScrapeConfigTest, EveryField) {
  absl::StatusOr<Config> c = LoadConfigString(R"(
scrape_configs:
- job_name: full
  scrape_interval: 1m30s
  scrape_timeout: 45s
  metrics_path: /probe
  scheme: https
  params:
    module: [http_2xx, second]
    empty:
  honor_labels: yes
  honor_timestamps: false
  sample_limit: 0x10
  target_limit: 3
  label_limit: 1_000
  label_name_length_limit: 200
  label_value_length_limit: 300
  body_size_limit: 10MB
  follow_redirects: false
  enable_http2: off
  tls_config:
    ca_file: ca.pem
    cert_file: /abs/cert.pem
    key_file: sub/../key.pem
    server_name: example.org
    insecure_skip_verify: true
    min_version: TLS12
  basic_auth:
    username: user
    password_file: secrets/pw
  file_sd_configs:
  - files: [targets/*.json, other.yml]
    refresh_interval: 30s
  - files: [/abs/x.yaml]
  relabel_configs:
  - source_labels: [__address__]
    regex: (.*):\d+
    target_label: host
  - action: LabelMap
    regex: __meta_(.+)
  metric_relabel_configs:
  - source_labels: [__name__]
    regex: go_.*
    action: drop
)",
                                              "dir/prom.yml", "/etc/prom");
  ASSERT_TRUE(c.ok()) << c.status();
  const ScrapeConfig& s = c->scrape_configs.at(0);
  EXPECT_EQ(s.scrape_interval_ms, 90000);
  EXPECT_EQ(s.scrape_timeout_ms, 45000);
  EXPECT_EQ(s.metrics_path, "/probe");
  EXPECT_EQ(s.scheme, "https");
  EXPECT_THAT(s.params.at("module"), ElementsAre("http_2xx", "second"));
  EXPECT_TRUE(s.params.at("empty").empty());
  EXPECT_TRUE(s.honor_labels);
  EXPECT_FALSE(s.honor_timestamps);
  EXPECT_EQ(s.sample_limit, 16u);
  EXPECT_EQ(s.target_limit, 3u);
  EXPECT_EQ(s.label_limit, 1000u);
  EXPECT_EQ(s.label_name_length_limit, 200u);
  EXPECT_EQ(s.label_value_length_limit, 300u);
  EXPECT_EQ(s.body_size_limit, 10 * 1024 * 1024);
  EXPECT_FALSE(s.follow_redirects);
  EXPECT_FALSE(s.enable_http2);
  EXPECT_EQ(s.tls_config.ca_file, "/etc/prom/ca.pem");
  EXPECT_EQ(s.tls_config.cert_file, "/abs/cert.pem");
  EXPECT_EQ(s.tls_config.key_file, "/etc/prom/key.pem");
  EXPECT_EQ(s.tls_config.server_name, "example.org");
  EXPECT_TRUE(s.tls_config.insecure_skip_verify);
  EXPECT_EQ(s.tls_config.min_version, "TLS12");
  EXPECT_TRUE(s.has_basic_auth);
  EXPECT_EQ(s.basic_auth.username, "user");
  EXPECT_EQ(s.basic_auth.password_file, "/etc/prom/secrets/pw");
  ASSERT_EQ(s.file_sd_configs.size(), 2u);
  EXPECT_THAT(s.file_sd_configs[0].files,
              ElementsAre("/etc/prom/targets/*.json", "/etc/prom/other.yml"));
  EXPECT_EQ(s.file_sd_configs[0].refresh_interval_ms, 30000);
  EXPECT_EQ(s.file_sd_configs[1].refresh_interval_ms, kDefaultFileSDRefreshMs);
  ASSERT_EQ(s.relabel_configs.size(), 2u);
  EXPECT_TRUE(s.relabel_configs[0].compiled());
  EXPECT_EQ(s.relabel_configs[0].regex, "(.*):\\d+");
  EXPECT_EQ(s.relabel_configs[1].action, RelabelAction::kLabelMap);
  ASSERT_EQ(s.metric_relabel_configs.size(), 1u);
  EXPECT_EQ(s.metric_relabel_configs[0].action, RelabelAction::kDrop);

  tsdb::Labels target({{"__address__", "h:80"}, {"__meta_x", "y"}});
  ASSERT_TRUE(Relabel(s.relabel_configs, &target));
  EXPECT_EQ(target.Get("host"), "h");
  EXPECT_EQ(target.Get("x"), "y");
}

TEST(ScrapeConfigTest, BearerTokensBecomeAuthorization) {
  absl::StatusOr<Config> c = LoadConfigString(R"(
scrape_configs:
- job_name: a
  bearer_token: secret
- job_name: b
  bearer_token_file: token
- job_name: c
  authorization: {credentials: x}
- job_name: d
  authorization: {type: "  Custom ", credentials_file: /f}
)",
                                              "p.yml", "/base");
  ASSERT_TRUE(c.ok()) << c.status();
  const auto& s = c->scrape_configs;
  EXPECT_TRUE(s[0].has_authorization);
  EXPECT_EQ(s[0].authorization.type, "Bearer");
  EXPECT_EQ(s[0].authorization.credentials, "secret");
  EXPECT_EQ(s[1].authorization.type, "Bearer");
  EXPECT_EQ(s[1].authorization.credentials_file, "/base/token");
  EXPECT_EQ(s[1].bearer_token_file, "/base/token");
  EXPECT_EQ(s[2].authorization.type, "Bearer");
  EXPECT_EQ(s[3].authorization.type, "Custom");
  EXPECT_EQ(s[3].authorization.credentials_file, "/f");
}

TEST(ScrapeConfigTest, IgnoredPrometheusSections) {
  absl::StatusOr<Config> c = Load(R"(
global:
  evaluation_interval: 30s
  query_log_file: q.log
rule_files: [rules/*.yml]
alerting:
  alertmanagers: [{static_configs: [{targets: [am:9093]}]}]
remote_write: [{url: "http://x/api/v1/write"}]
scrape_configs: []
)");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->ignored_fields,
              ElementsAre("rule_files", "alerting", "remote_write", "global.evaluation_interval",
                          "global.query_log_file"));
}

TEST(ScrapeConfigTest, BodySizeLimitUnits) {
  auto limit = [](const std::string& v) -> int64_t {
    absl::StatusOr<Config> c =
        Load("scrape_configs:\n- job_name: a\n  body_size_limit: " + v + "\n");
    EXPECT_TRUE(c.ok()) << v << ": " << c.status();
    return c.ok() ? c->scrape_configs[0].body_size_limit : -1;
  };
  EXPECT_EQ(limit("0"), 0);
  EXPECT_EQ(limit("1B"), 1);
  EXPECT_EQ(limit("1KiB"), 1024);
  EXPECT_EQ(limit("10MB"), 10 << 20);
  EXPECT_EQ(limit("1.5MB"), 3 << 19);
  EXPECT_EQ(limit("1MB512KB"), (1 << 20) + (512 << 10));
  EXPECT_EQ(limit("2GiB"), int64_t{2} << 30);
  EXPECT_EQ(limit("-1KB"), 0);  // negative: no limit
  for (const char* bad : {"1000", "1 MB", "1kB", "1e3", "MB", "1MiB1KB"}) {
    EXPECT_THAT(LoadError(std::string("scrape_configs:\n- job_name: a\n  body_size_limit: ") + bad),
                HasSubstr("test.yml:3: scrape config \"a\": body_size_limit: units: "))
        << bad;
  }
}

TEST(ScrapeConfigTest, UnknownFieldsNameKeyAndLine) {
  EXPECT_EQ(LoadError(R"(
scrape_configs:
- job_name: node
  static_configs:
  - targets: [a:1]
  scrape_intervall: 15s
)"),
            "test.yml:6: scrape config \"node\": unknown field \"scrape_intervall\"");
  // The job is named even when job_name comes after the bad key.
  EXPECT_EQ(LoadError("scrape_configs:\n- foo: 1\n  job_name: late\n"),
            "test.yml:2: scrape config \"late\": unknown field \"foo\"");
  EXPECT_EQ(LoadError("globl:\n  scrape_interval: 1s\n"), "test.yml:1: unknown field \"globl\"");
  EXPECT_EQ(LoadError("global:\n  scrape_intervals: 1s\n"),
            "test.yml:2: global: unknown field \"scrape_intervals\"");
  EXPECT_THAT(
      LoadError("scrape_configs:\n- job_name: a\n  static_configs:\n  - target: [a:1]\n"),
      HasSubstr("test.yml:4: scrape config \"a\" static_configs[0]: unknown field \"target\""));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  relabel_configs:\n  - "
                        "{action: keep, regexp: x}\n"),
              HasSubstr("test.yml:4: scrape config \"a\" relabel_configs[0]: unknown field "
                        "\"regexp\""));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  tls_config:\n    ca: x\n"),
              HasSubstr("test.yml:4: scrape config \"a\" tls_config: unknown field \"ca\""));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  basic_auth: {user: x}\n"),
              HasSubstr("unknown field \"user\""));
}

TEST(ScrapeConfigTest, DuplicatesAreErrors) {
  EXPECT_EQ(LoadError("scrape_configs:\n- job_name: a\n- job_name: b\n- job_name: a\n"),
            "test.yml:4: scrape config \"a\": found multiple scrape configs with job name \"a\"");
  EXPECT_EQ(
      LoadError("scrape_configs:\n- job_name: a\n  scrape_interval: 1s\n  scrape_interval: 2s\n"),
      "test.yml:4: scrape config \"a\": field \"scrape_interval\" already set");
  EXPECT_THAT(LoadError("global:\n  external_labels: {a: x, a: y}\n"),
              HasSubstr("field \"a\" already set"));
}

TEST(ScrapeConfigTest, JobNameRequired) {
  EXPECT_THAT(LoadError("scrape_configs:\n- scrape_interval: 5s\n"),
              HasSubstr("job_name is empty"));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: \"\"\n"), HasSubstr("job_name is empty"));
  EXPECT_THAT(LoadError("scrape_configs:\n-\n"), HasSubstr("empty or null scrape config section"));
  // Any scalar names a job, as in Prometheus.
  absl::StatusOr<Config> c = Load("scrape_configs:\n- job_name: 5\n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->scrape_configs[0].job_name, "5");
}

TEST(ScrapeConfigTest, TimeoutMayNotExceedInterval) {
  EXPECT_EQ(
      LoadError("scrape_configs:\n- job_name: a\n  scrape_timeout: 2m\n"),
      "test.yml:2: scrape config \"a\": scrape_timeout (2m) greater than scrape_interval (1m)");
  EXPECT_THAT(
      LoadError("global:\n  scrape_interval: 10s\n  scrape_timeout: 11s\n"),
      HasSubstr("test.yml:2: global: scrape_timeout (11s) greater than scrape_interval (10s)"));
}

TEST(ScrapeConfigTest, BadValuesNameFieldAndLine) {
  EXPECT_EQ(LoadError("global:\n  scrape_interval: 15\n"),
            "test.yml:2: global: scrape_interval: not a valid duration string: \"15\"");
  EXPECT_EQ(LoadError("scrape_configs:\n- job_name: a\n  honor_labels: \"true\"\n"),
            "test.yml:3: scrape config \"a\": honor_labels: \"true\" is not a boolean");
  EXPECT_EQ(LoadError("scrape_configs:\n- job_name: a\n  sample_limit: -1\n"),
            "test.yml:3: scrape config \"a\": sample_limit: \"-1\" is not a non-negative integer");
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  sample_limit: [1]\n"),
              HasSubstr("sample_limit: expected an integer, got a list"));
  EXPECT_THAT(
      LoadError("scrape_configs:\n- job_name: a\n  params: {a: b}\n"),
      HasSubstr("test.yml:3: scrape config \"a\" params: a: expected a list, got a scalar"));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  metrics_path: [x]\n"),
              HasSubstr("metrics_path: expected a string, got a list"));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  scheme: ftp\n"),
              HasSubstr("scheme: \"ftp\" is not supported (http or https)"));
  EXPECT_THAT(LoadError("scrape_configs: 5\n"), HasSubstr("scrape_configs must be a list"));
  EXPECT_THAT(LoadError("[1, 2]\n"), HasSubstr("the configuration must be a mapping"));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  tls_config: {min_version: SSL3}\n"),
              HasSubstr("min_version: unknown TLS version: SSL3"));
}

TEST(ScrapeConfigTest, LabelNamesAreValidated) {
  EXPECT_THAT(
      LoadError("scrape_configs:\n- job_name: a\n  static_configs:\n  - labels: {a-b: c}\n"),
      HasSubstr("test.yml:4: scrape config \"a\" static_configs[0] labels: \"a-b\" is not a "
                "valid label name"));
  EXPECT_THAT(LoadError("global:\n  external_labels:\n    1a: x\n"),
              HasSubstr("test.yml:3: global external_labels: \"1a\" is not a valid label name"));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  relabel_configs:\n  - source_labels: "
                        "[ok, not-ok]\n    action: keep\n"),
              HasSubstr("source_labels: \"not-ok\" is not a valid label name"));
}

TEST(ScrapeConfigTest, RelabelErrorsNameTheRule) {
  EXPECT_EQ(LoadError(R"(scrape_configs:
- job_name: a
  relabel_configs:
  - action: keep
  - action: replace
)"),
            "test.yml:5: scrape config \"a\" relabel_configs[1]: relabel configuration for replace "
            "action requires 'target_label' value");
  EXPECT_THAT(
      LoadError("scrape_configs:\n- job_name: a\n  metric_relabel_configs:\n  - action: "
                "explode\n"),
      HasSubstr("test.yml:4: scrape config \"a\" metric_relabel_configs[0]: unknown relabel "
                "action \"explode\""));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  relabel_configs:\n  - {action: drop, "
                        "regex: \"(\"}\n"),
              HasSubstr("invalid regex \"(\""));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  relabel_configs:\n  -\n"),
              HasSubstr("empty or null target relabeling rule in scrape config"));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  relabel_configs:\n  - action:\n"),
              HasSubstr("relabel action cannot be empty"));
  // A null regex is the empty regex, as in Prometheus.
  absl::StatusOr<Config> c =
      Load("scrape_configs:\n- job_name: a\n  relabel_configs:\n  - {action: keep, regex: }\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->scrape_configs[0].relabel_configs[0].regex, "");
}

TEST(ScrapeConfigTest, UrlsInStaticTargets) {
  EXPECT_EQ(LoadError("scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: "
                      "[\"http://a:80\"]\n"),
            "test.yml:2: scrape config \"a\": \"http://a:80\" is not a valid hostname");
  // With relabelling, the address may still be rewritten: accepted at load, as in Prometheus.
  EXPECT_TRUE(Load("scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: "
                   "[\"http://a:80\"]\n  relabel_configs:\n  - action: keep\n")
                  .ok());
}

TEST(ScrapeConfigTest, HttpClientConflicts) {
  EXPECT_THAT(
      LoadError("scrape_configs:\n- job_name: a\n  bearer_token: x\n  bearer_token_file: y\n"),
      HasSubstr("at most one of bearer_token & bearer_token_file must be configured"));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  basic_auth: {username: u}\n  "
                        "bearer_token: x\n"),
              HasSubstr("at most one of basic_auth, bearer_token & bearer_token_file"));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  basic_auth: {username: u, password: p, "
                        "password_file: f}\n"),
              HasSubstr("at most one of basic_auth password & password_file must be configured"));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  authorization: {type: Basic}\n"),
              HasSubstr("authorization type cannot be set to \"basic\""));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  authorization: {credentials: a, "
                        "credentials_file: b}\n"),
              HasSubstr("at most one of authorization credentials & credentials_file"));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  authorization: {credentials: a}\n  "
                        "bearer_token: b\n"),
              HasSubstr("authorization is not compatible with bearer_token & bearer_token_file"));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  authorization: {credentials: a}\n  "
                        "basic_auth: {username: u}\n"),
              HasSubstr("at most one of basic_auth & authorization must be configured"));
}

TEST(ScrapeConfigTest, UnsupportedFeaturesAreRefusedClearly) {
  EXPECT_EQ(LoadError(R"(scrape_configs:
- job_name: pods
  kubernetes_sd_configs:
  - role: ingress
)"),
            "test.yml:4: scrape config \"pods\" kubernetes_sd_configs[0]: role \"ingress\" is not "
            "supported");
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  dns_sd_configs:\n  - names: [x]\n"),
              HasSubstr("test.yml:3: scrape config \"a\": dns_sd_configs is not supported"));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  oauth2: {client_id: x}\n"),
              HasSubstr("oauth2 is not supported"));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  proxy_url: http://p:3128\n"),
              HasSubstr("proxy_url is not supported"));
}

TEST(ScrapeConfigTest, FileSdPatterns) {
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  file_sd_configs:\n  - files: [a.txt]\n"),
              HasSubstr("path name \"a.txt\" is not valid for file discovery"));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  file_sd_configs:\n  - files: "
                        "[\"d/*/x.json\"]\n"),
              HasSubstr("path name \"d/*/x.json\" is not valid for file discovery"));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  file_sd_configs:\n  - files: []\n"),
              HasSubstr("file service discovery config must contain at least one path name"));
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  file_sd_configs:\n  - files: [a.json]\n"
                        "    refresh_interval: soon\n"),
              HasSubstr("refresh_interval: not a valid duration string: \"soon\""));
}

TEST(ScrapeConfigTest, YamlSyntaxErrorsNameTheLine) {
  EXPECT_THAT(LoadError("scrape_configs:\n- job_name: a\n  static_configs: [\n"),
              HasSubstr("test.yml:"));
  EXPECT_THAT(LoadError("a: [1\nb: 2\n"), HasSubstr("invalid YAML"));
  EXPECT_THAT(LoadError("scrape_configs:\n\t- job_name: a\n"), HasSubstr("invalid YAML"));
}

TEST(ScrapeConfigTest, MalformedInputsNeverCrash) {
  const std::vector<std::string> inputs = {
      "{",
      "]",
      "&a [*a]",
      "*unknown",
      "!!binary x",
      "? [a]\n: b\n",
      "scrape_configs: [[[]]]",
      "scrape_configs:\n- {job_name: {a: b}}",
      "scrape_configs:\n- job_name: a\n  static_configs: x",
      "scrape_configs:\n- job_name: a\n  static_configs: [5]",
      "scrape_configs:\n- job_name: a\n  static_configs: [{targets: {a: b}}]",
      "scrape_configs:\n- job_name: a\n  static_configs: [{labels: [a]}]",
      "global: [1]",
      "global:\n  external_labels: [a]",
      "scrape_configs:\n- job_name: a\n  params: [a]",
      "scrape_configs:\n- job_name: a\n  relabel_configs: {a: b}",
      "scrape_configs:\n- job_name: a\n  relabel_configs: [{source_labels: a}]",
      "scrape_configs:\n- job_name: a\n  relabel_configs: [{action: {a: b}}]",
      "scrape_configs:\n- job_name: a\n  relabel_configs: [{modulus: 99999999999999999999999}]",
      "scrape_configs:\n- job_name: a\n  tls_config: 5",
      "scrape_configs:\n- job_name: a\n  basic_auth: 5",
      "scrape_configs:\n- job_name: a\n  file_sd_configs: [5]",
      "scrape_configs:\n- job_name: a\n  kubernetes_sd_configs: 5",
      "scrape_configs:\n- job_name: a\n  scrape_interval: 999999999y",
      std::string(3000, '['),
  };
  for (const std::string& in : inputs) {
    absl::StatusOr<Config> c = Load(in);
    EXPECT_FALSE(c.ok()) << in;
    if (!c.ok()) {
      EXPECT_THAT(std::string(c.status().message()), HasSubstr("test.yml")) << in;
    }
  }
  // A UTF-16 byte order mark: whatever yaml-cpp makes of it, no crash.
  (void)Load("\xff\xfe");
}

TEST(ScrapeConfigTest, LoadConfigFileResolvesPathsAgainstItsDirectory) {
  std::string dir = ::testing::TempDir();
  if (dir.empty() || dir.back() != '/') dir += '/';
  dir += "scrape_config_test_" + std::to_string(getpid());
  ASSERT_EQ(system(("mkdir -p " + dir).c_str()), 0);
  const std::string path = dir + "/prom.yml";
  std::ofstream(path) << "scrape_configs:\n- job_name: a\n  file_sd_configs:\n  - files: "
                         "[sd/*.json]\n";
  absl::StatusOr<Config> c = LoadConfigFile(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->scrape_configs[0].file_sd_configs[0].files[0], dir + "/sd/*.json");
  EXPECT_EQ(c->source, path);

  absl::StatusOr<Config> missing = LoadConfigFile(dir + "/nope.yml");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("nope.yml"));

  std::ofstream(path) << "scrape_configs:\n- job_name: a\n  bogus: 1\n";
  c = LoadConfigFile(path);
  EXPECT_EQ(std::string(c.status().message()),
            path + ":3: scrape config \"a\": unknown field \"bogus\"");
  std::remove(path.c_str());
}

TEST(ScrapeConfigTest, CheckTargetAddress) {
  EXPECT_TRUE(CheckTargetAddress("a:1").ok());
  EXPECT_TRUE(CheckTargetAddress("[::1]:9090").ok());
  EXPECT_EQ(CheckTargetAddress("http://a").message(), "\"http://a\" is not a valid hostname");
}

TEST(DurationTest, ParseAndFormatAsPrometheus) {
  EXPECT_EQ(*tsdb::ParseDurationMs("0"), 0);
  EXPECT_EQ(*tsdb::ParseDurationMs("1h30m"), 5400000);
  EXPECT_EQ(*tsdb::ParseDurationMs("1y2w3d4h5m6s7ms"),
            ((((int64_t{365 + 14 + 3} * 24 + 4) * 60 + 5) * 60 + 6) * 1000 + 7));
  EXPECT_EQ(*tsdb::ParseDurationMs("500ms"), 500);
  for (const char* bad :
       {"", "15", "1m1h", "1h1h", "1.5s", "-1s", " 1s", "1s ", "1x", "ms", "1sms"}) {
    EXPECT_FALSE(tsdb::ParseDurationMs(bad).ok()) << bad;
  }
  EXPECT_EQ(tsdb::ParseDurationMs("15").status().message(), "not a valid duration string: \"15\"");
  EXPECT_EQ(tsdb::ParseDurationMs("").status().message(), "empty duration string");
  // Go durations are int64 nanoseconds: about 292 years.
  EXPECT_TRUE(tsdb::ParseDurationMs("292y").ok());
  EXPECT_FALSE(tsdb::ParseDurationMs("293y").ok());
  EXPECT_FALSE(tsdb::ParseDurationMs("99999999999999999999s").ok());

  EXPECT_EQ(tsdb::FormatDurationMs(0), "0s");
  EXPECT_EQ(tsdb::FormatDurationMs(90000), "1m30s");
  EXPECT_EQ(tsdb::FormatDurationMs(1500), "1s500ms");
  // Years and weeks only when exact, as Prometheus prints them (checked against Prometheus 2.42:
  // 2w and 6d).
  EXPECT_EQ(tsdb::FormatDurationMs(int64_t{14} * 86400000), "2w");
  EXPECT_EQ(tsdb::FormatDurationMs(int64_t{6} * 86400000), "6d");
  EXPECT_EQ(tsdb::FormatDurationMs(int64_t{90} * 86400000), "90d");
  EXPECT_EQ(tsdb::FormatDurationMs(int64_t{365} * 86400000), "1y");
  EXPECT_EQ(tsdb::FormatDurationMs(int64_t{366} * 86400000), "366d");
  EXPECT_EQ(tsdb::FormatDurationMs(-1000), "-1s");
  for (int64_t ms : {int64_t{1}, int64_t{999}, int64_t{61001}, int64_t{86400000 * 8 + 1}}) {
    EXPECT_EQ(*tsdb::ParseDurationMs(tsdb::FormatDurationMs(ms)), ms);
  }
}

}  // namespace
}  // namespace scrape
