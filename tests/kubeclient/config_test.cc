#include "adapter/kubeclient/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"
#include "tests/support/process.h"

namespace kubeclient {
namespace {

using ::testing::HasSubstr;
using testsupport::MakeTempDir;
using testsupport::WriteFileText;

constexpr char kTwoContexts[] = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://dev.example.com:6443
    certificate-authority: certs/ca.crt
- name: prod-cluster
  cluster:
    server: https://10.0.0.1
    certificate-authority-data: )";

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("kubeconfig");
    ::mkdir((dir_ + "/certs").c_str(), 0755);
    WriteFileText(dir_ + "/certs/ca.crt", "CA FILE PEM");
    WriteFileText(dir_ + "/certs/dev.crt", "DEV CERT PEM");
    WriteFileText(dir_ + "/certs/dev.key", "DEV KEY PEM");
    WriteFileText(dir_ + "/token", "  file-token\n");
  }

  std::string Write(const std::string& text) {
    std::string path = dir_ + "/config";
    WriteFileText(path, text);
    return path;
  }

  std::string Full() {
    return std::string(kTwoContexts) + absl::Base64Escape("CA DATA PEM") + R"(
    insecure-skip-tls-verify: false
    tls-server-name: api.internal
users:
- name: dev-user
  user:
    client-certificate: certs/dev.crt
    client-key: )" +
           dir_ + R"(/certs/dev.key
- name: prod-user
  user:
    token: static-token
- name: file-user
  user:
    tokenFile: token
- name: data-user
  user:
    client-certificate-data: )" +
           absl::Base64Escape("DATA CERT") + R"(
    client-key-data: )" +
           absl::Base64Escape("DATA KEY") + R"(
contexts:
- name: dev
  context:
    cluster: dev-cluster
    user: dev-user
    namespace: team-a
- name: prod
  context:
    cluster: prod-cluster
    user: prod-user
- name: file
  context:
    cluster: prod-cluster
    user: file-user
- name: data
  context:
    cluster: dev-cluster
    user: data-user
- name: anonymous
  context:
    cluster: dev-cluster
)";
  }

  std::string dir_;
};

TEST_F(KubeconfigTest, CurrentContextWithRelativeFiles) {
  auto config = LoadKubeconfig(Write(Full()));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://dev.example.com:6443");
  EXPECT_EQ(config->ca_pem, "CA FILE PEM");
  EXPECT_EQ(config->cert_pem, "DEV CERT PEM");
  EXPECT_EQ(config->key_pem, "DEV KEY PEM");
  EXPECT_EQ(config->namespace_, "team-a");
  EXPECT_EQ(config->bearer_token, "");
  EXPECT_FALSE(config->insecure);
}

TEST_F(KubeconfigTest, NamedContextsDataTokenAndTokenFile) {
  std::string path = Write(Full());
  auto prod = LoadKubeconfig(path, "prod");
  ASSERT_TRUE(prod.ok()) << prod.status();
  EXPECT_EQ(prod->server, "https://10.0.0.1");
  EXPECT_EQ(prod->ca_pem, "CA DATA PEM");
  EXPECT_EQ(prod->tls_server_name, "api.internal");
  EXPECT_EQ(prod->bearer_token, "static-token");
  EXPECT_EQ(prod->token_file, "");

  auto file = LoadKubeconfig(path, "file");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->token_file, dir_ + "/token");
  EXPECT_EQ(file->bearer_token, "file-token");

  auto data = LoadKubeconfig(path, "data");
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->cert_pem, "DATA CERT");
  EXPECT_EQ(data->key_pem, "DATA KEY");

  auto anonymous = LoadKubeconfig(path, "anonymous");
  ASSERT_TRUE(anonymous.ok()) << anonymous.status();
  EXPECT_EQ(anonymous->cert_pem, "");
}

TEST_F(KubeconfigTest, InsecureSkipVerify) {
  auto config = LoadKubeconfig(Write(R"(current-context: c
clusters: [{name: k, cluster: {server: "https://x", insecure-skip-tls-verify: true}}]
contexts: [{name: c, context: {cluster: k}}]
)"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->insecure);
}

TEST_F(KubeconfigTest, ErrorsNameFileAndKey) {
  std::string path = Write(Full());
  auto missing_context = LoadKubeconfig(path, "nope");
  EXPECT_THAT(missing_context.status().message(),
              HasSubstr("kubeconfig " + path + ": contexts: no context named \"nope\""));

  auto no_file = LoadKubeconfig(dir_ + "/absent");
  EXPECT_THAT(no_file.status().message(), HasSubstr(dir_ + "/absent"));

  auto bad_yaml = LoadKubeconfig(Write("clusters: [unclosed\n"));
  EXPECT_THAT(bad_yaml.status().message(), HasSubstr("invalid YAML"));

  auto no_current = LoadKubeconfig(Write("clusters: []\n"));
  EXPECT_THAT(no_current.status().message(), HasSubstr("current-context"));

  auto missing_cert = LoadKubeconfig(Write(R"(current-context: c
clusters: [{name: k, cluster: {server: "https://x"}}]
users: [{name: u, user: {client-certificate: nothere.crt, client-key: nothere.key}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)"));
  EXPECT_THAT(missing_cert.status().message(),
              HasSubstr("users[u].user.client-certificate: cannot read " + dir_ + "/nothere.crt"));

  auto bad_base64 = LoadKubeconfig(Write(R"(current-context: c
clusters: [{name: k, cluster: {server: "https://x", certificate-authority-data: "!!!"}}]
contexts: [{name: c, context: {cluster: k}}]
)"));
  EXPECT_THAT(bad_base64.status().message(),
              HasSubstr("clusters[k].cluster.certificate-authority-data: invalid base64"));

  auto no_server = LoadKubeconfig(Write(R"(current-context: c
clusters: [{name: k, cluster: {}}]
contexts: [{name: c, context: {cluster: k}}]
)"));
  EXPECT_THAT(no_server.status().message(), HasSubstr("clusters[k].cluster.server: missing"));

  auto exec = LoadKubeconfig(Write(R"(current-context: c
clusters: [{name: k, cluster: {server: "https://x"}}]
users: [{name: u, user: {exec: {command: aws}}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)"));
  EXPECT_THAT(exec.status().message(), HasSubstr("users[u].user.exec"));

  auto cert_without_key = LoadKubeconfig(Write(R"(current-context: c
clusters: [{name: k, cluster: {server: "https://x"}}]
users: [{name: u, user: {client-certificate-data: QUJD}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)"));
  EXPECT_THAT(cert_without_key.status().message(), HasSubstr("go together"));

  auto not_a_map = LoadKubeconfig(Write("- a\n- b\n"));
  EXPECT_FALSE(not_a_map.ok());
}

class InClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("serviceaccount");
    WriteFileText(dir_ + "/token", "sa-token\n");
    WriteFileText(dir_ + "/ca.crt", "CLUSTER CA");
    WriteFileText(dir_ + "/namespace", "monitoring");
    ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  }
  void TearDown() override {
    ::unsetenv("KUBERNETES_SERVICE_HOST");
    ::unsetenv("KUBERNETES_SERVICE_PORT");
  }
  std::string dir_;
};

TEST_F(InClusterTest, ReadsTheServiceAccount) {
  auto config = InClusterConfig(dir_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->bearer_token, "sa-token");
  EXPECT_EQ(config->token_file, dir_ + "/token");
  EXPECT_EQ(config->ca_pem, "CLUSTER CA");
  EXPECT_EQ(config->namespace_, "monitoring");
}

TEST_F(InClusterTest, Ipv6HostIsBracketed) {
  ::setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  auto config = InClusterConfig(dir_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://[fd00::1]:443");
}

TEST_F(InClusterTest, Errors) {
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  EXPECT_THAT(InClusterConfig(dir_).status().message(), HasSubstr("not running in a cluster"));
  ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  EXPECT_THAT(InClusterConfig(dir_ + "/nowhere").status().message(),
              HasSubstr(dir_ + "/nowhere/token"));
  std::remove((dir_ + "/ca.crt").c_str());
  EXPECT_THAT(InClusterConfig(dir_).status().message(), HasSubstr(dir_ + "/ca.crt"));
}

void SetMtime(const std::string& path, time_t seconds) {
  struct timeval times[2] = {{seconds, 0}, {seconds, 0}};
  ::utimes(path.c_str(), times);
}

TEST(TokenSourceTest, StaticToken) {
  TokenSource source("abc", "");
  EXPECT_EQ(*source.Token(), "abc");
}

TEST(TokenSourceTest, RereadsWhenTheFileChanges) {
  std::string dir = MakeTempDir("token");
  std::string path = dir + "/token";
  WriteFileText(path, "one\n");
  SetMtime(path, 1000);
  std::chrono::steady_clock::time_point now{};
  TokenSource source("", path, std::chrono::minutes(1), [&] { return now; });
  EXPECT_EQ(*source.Token(), "one");
  // Same size, same modification time, within the minute: the cached token.
  WriteFileText(path, "two\n");
  SetMtime(path, 1000);
  EXPECT_EQ(*source.Token(), "one");
  // A new modification time: re-read at once.
  SetMtime(path, 2000);
  EXPECT_EQ(*source.Token(), "two");
  // Unchanged metadata, but a minute passed: re-read anyway.
  WriteFileText(path, "six\n");
  SetMtime(path, 2000);
  EXPECT_EQ(*source.Token(), "two");
  now += std::chrono::seconds(61);
  EXPECT_EQ(*source.Token(), "six");
  // The file vanishes: the last good token stays.
  std::remove(path.c_str());
  now += std::chrono::seconds(61);
  EXPECT_EQ(*source.Token(), "six");
}

TEST(TokenSourceTest, MissingFileFromTheStart) {
  TokenSource source("", "/nonexistent/token");
  auto token = source.Token();
  EXPECT_FALSE(token.ok());
  EXPECT_THAT(token.status().message(), HasSubstr("/nonexistent/token"));
}

}  // namespace
}  // namespace kubeclient
