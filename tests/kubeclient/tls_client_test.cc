// http::Client and RestClient over TLS against the project's own HTTPS server, with the
// certificate material given as PEM data (as kubeconfigs and the service account provide it).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>

#include "adapter/http/client.h"
#include "adapter/http/self_signed_cert.h"
#include "adapter/http/server.h"
#include "adapter/kubeclient/rest_client.h"
#include "tests/support/process.h"

namespace kubeclient {
namespace {

using ::testing::HasSubstr;

class TlsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = testsupport::MakeTempDir("kube-tls");
    auto server_cert = http::EnsureSelfSignedCert(dir + "/server", {"127.0.0.1"});
    ASSERT_TRUE(server_cert.ok()) << server_cert.status();
    auto client_cert = http::EnsureSelfSignedCert(dir + "/client", {"client.example"});
    ASSERT_TRUE(client_cert.ok()) << client_cert.status();
    ca_pem_ = testsupport::ReadFileText(server_cert->cert_file);
    client_cert_pem_ = testsupport::ReadFileText(client_cert->cert_file);
    client_key_pem_ = testsupport::ReadFileText(client_cert->key_file);
    http::TlsConfig tls;
    tls.cert_file = server_cert->cert_file;
    tls.key_file = server_cert->key_file;
    tls.request_client_cert = true;
    server_ = std::make_unique<http::Server>(http::ServerOptions{}, [this](const http::Request& r) {
      std::lock_guard<std::mutex> lock(mu_);
      peer_certificates_ = r.peer_certificates.size();
      return http::Response::Json(R"({"kind":"APIVersions"})");
    });
    auto port = server_->Listen("127.0.0.1:0", &tls);
    ASSERT_TRUE(port.ok()) << port.status();
    ASSERT_TRUE(server_->Start().ok());
    url_ = "https://127.0.0.1:" + std::to_string(*port);
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  absl::StatusOr<std::string> Get(const ClientConfig& config) {
    auto client = RestClient::New(config);
    if (!client.ok()) return client.status();
    return (*client)->Get("/api");
  }

  std::unique_ptr<http::Server> server_;
  std::string url_;
  std::string ca_pem_, client_cert_pem_, client_key_pem_;
  std::mutex mu_;
  size_t peer_certificates_ = 0;
};

TEST_F(TlsClientTest, VerifiesWithCaDataAndSendsTheClientCertificate) {
  ClientConfig config;
  config.server = url_;
  config.ca_pem = ca_pem_;
  auto body = Get(config);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, R"({"kind":"APIVersions"})");
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(peer_certificates_, 0u);
  }
  config.cert_pem = client_cert_pem_;
  config.key_pem = client_key_pem_;
  ASSERT_TRUE(Get(config).ok());
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(peer_certificates_, 1u);
}

TEST_F(TlsClientTest, RefusesUnknownCaAndWrongNameUnlessInsecure) {
  ClientConfig config;
  config.server = url_;
  config.ca_pem = client_cert_pem_;  // not the server's CA
  auto untrusted = Get(config);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_EQ(untrusted.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(untrusted.status().message(), HasSubstr("GET " + url_ + "/api: "));

  config.ca_pem = ca_pem_;
  config.tls_server_name = "elsewhere.example";  // not among the certificate's names
  EXPECT_FALSE(Get(config).ok());
  config.tls_server_name = "localhost";  // a DNS name the certificate has
  EXPECT_TRUE(Get(config).ok());

  config.ca_pem = client_cert_pem_;
  config.insecure = true;
  EXPECT_TRUE(Get(config).ok());
}

}  // namespace
}  // namespace kubeclient
