// auth::WithAuthentication end to end: an http::Server asking for client certificates
// (TlsConfig::request_client_cert), real client certificates over TLS, a fake
// SubjectAccessReview endpoint.
#include "adapter/auth/filter.h"

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapter/auth/status.h"
#include "adapter/k8s/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapter/auth_test_util.h"
#include "tests/support/process.h"

namespace auth {
namespace {

using ::auth_test::Cert;
using ::auth_test::ClientResponse;
using ::auth_test::TlsClient;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kCustomMetric[] =
    "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/http_requests";

class AuthFilterTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testsupport::MakeTempDir("auth_filter_test");
    server_ca_ = auth_test::MakeCa("server-ca");
    proxy_ca_ = auth_test::MakeCa("front-proxy-ca");
    client_ca_ = auth_test::MakeCa("kubernetes");
    proxy_ = auth_test::MakeClient("front-proxy-client", proxy_ca_);
    Cert server = auth_test::MakeServer(server_ca_);
    tls_.cert_file = dir_ + "/server.crt";
    tls_.key_file = dir_ + "/server.key";
    testsupport::WriteFileText(tls_.cert_file, server.cert_pem);
    testsupport::WriteFileText(tls_.key_file, server.key_pem);
    tls_.request_client_cert = true;

    authenticator_ = std::make_unique<Authenticator>(AuthenticatorOptions{});
    AuthenticationConfig config;
    config.client_ca = client_ca_.cert_pem;
    config.request_header.client_ca = proxy_ca_.cert_pem;
    config.request_header.allowed_names = {"front-proxy-client"};
    config.request_header.username_headers = {"X-Remote-User"};
    config.request_header.group_headers = {"X-Remote-Group"};
    config.request_header.extra_header_prefixes = {"X-Remote-Extra-"};
    ASSERT_TRUE(authenticator_->SetConfig(config).ok());

    AuthorizerOptions options;
    // Allows bob, fails for "broken", denies everyone else.
    options.subject_access_review = [this](std::string_view path,
                                           std::string_view body) -> absl::StatusOr<std::string> {
      std::lock_guard<std::mutex> lock(mu_);
      reviews_.emplace_back(body);
      if (body.find(R"("user":"bob")") != std::string_view::npos) {
        return std::string(R"({"status":{"allowed":true}})");
      }
      if (body.find(R"("user":"broken")") != std::string_view::npos) {
        return absl::UnavailableError("connection refused");
      }
      return std::string(R"({"status":{"allowed":false}})");
    };
    absl::StatusOr<std::unique_ptr<Authorizer>> authorizer = Authorizer::Create(options);
    ASSERT_TRUE(authorizer.ok());
    authorizer_ = std::move(*authorizer);

    http::ServerOptions server_options;
    server_options.error_response = [](int status, std::string_view message) {
      return StatusResponse(status, k8s::StatusReasonFor(status), message);
    };
    http::Handler handler = WithAuthentication(
        authenticator_.get(), authorizer_.get(),
        [](const http::Request& r) { return http::Response::Text("served " + r.path + "\n"); },
        [this](const FilterEvent& e) {
          std::lock_guard<std::mutex> lock(mu_);
          events_.push_back(std::to_string(e.status) + " " + e.request.path + " " +
                            DescribeUser(e.authentication) +
                            (e.detail.empty() ? "" : " (" + e.detail + ")"));
        });
    server_ = std::make_unique<http::Server>(std::move(server_options), std::move(handler));
    absl::StatusOr<int> port = server_->Listen("127.0.0.1:0", &tls_);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // One GET on a fresh connection presenting client (if any).
  ClientResponse Get(const Cert* client, const std::string& target,
                     const std::string& headers = "") {
    TlsClient c(port_, server_ca_.cert_pem, client);
    EXPECT_TRUE(c.Handshake());
    std::optional<ClientResponse> r = c.Get(target, headers);
    EXPECT_TRUE(r.has_value()) << target;
    return r.value_or(ClientResponse());
  }
  std::vector<std::string> Events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::vector<std::string> Reviews() {
    std::lock_guard<std::mutex> lock(mu_);
    return reviews_;
  }

  std::string dir_;
  Cert server_ca_, proxy_ca_, client_ca_, proxy_;
  http::TlsConfig tls_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<http::Server> server_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<std::string> events_;
  std::vector<std::string> reviews_;
};

TEST_F(AuthFilterTest, FrontProxyUserIsAuthorizedBySubjectAccessReview) {
  ClientResponse r = Get(&proxy_, kCustomMetric,
                         "X-Remote-User: bob\r\nX-Remote-Group: dev\r\n"
                         "X-Remote-Extra-Scopes: view\r\n");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, std::string("served ") + kCustomMetric + "\n");
  ASSERT_EQ(Reviews().size(), 1u);
  EXPECT_EQ(Reviews()[0],
            R"({"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{},)"
            R"("spec":{"resourceAttributes":{"namespace":"default","verb":"get",)"
            R"("group":"custom.metrics.k8s.io","version":"v1beta1","resource":"pods",)"
            R"("subresource":"http_requests","name":"*"},"user":"bob",)"
            R"("groups":["dev","system:authenticated"],"extra":{"scopes":["view"]}}})");
  EXPECT_THAT(Events(), testing::ElementsAre(std::string("0 ") + kCustomMetric +
                                             " \"bob\" groups=[dev system:authenticated] via "
                                             "requestheader"));

  // Another user through the proxy: 403 Status.
  r = Get(&proxy_, kCustomMetric, "X-Remote-User: carol\r\n");
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(r.headers, HasSubstr("Content-Type: application/json"));
  EXPECT_EQ(r.body,
            R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":)"
            R"("pods.custom.metrics.k8s.io \"*\" is forbidden: User \"carol\" cannot get )"
            R"(resource \"pods/http_requests\" in API group \"custom.metrics.k8s.io\" in the )"
            R"(namespace \"default\"","reason":"Forbidden","details":{"name":"*",)"
            R"("group":"custom.metrics.k8s.io","kind":"pods"},"code":403})"
            "\n");
}

TEST_F(AuthFilterTest, X509UsersAnonymousAndHealth) {
  Cert admin = auth_test::MakeClient("admin", client_ca_, {"system:masters"});
  ClientResponse r = Get(&admin, kCustomMetric);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(Reviews().empty());  // system:masters needs no review

  // No certificate: anonymous. Health is always allowed, the APIs are not.
  r = Get(nullptr, "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "served /healthz\n");
  r = Get(nullptr, "/apis/custom.metrics.k8s.io/v1beta1");
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(r.body, HasSubstr(R"("message":"forbidden: User \"system:anonymous\" cannot get )"
                                R"(path \"/apis/custom.metrics.k8s.io/v1beta1\"")"));
  ASSERT_EQ(Reviews().size(), 1u);
  EXPECT_THAT(Reviews()[0], HasSubstr(R"("user":"system:anonymous")"));
  EXPECT_THAT(Events().back(), StartsWith("403 /apis/custom.metrics.k8s.io/v1beta1 "
                                          "\"system:anonymous\" groups=[system:unauthenticated] "
                                          "via anonymous"));
}

TEST_F(AuthFilterTest, InvalidCertificatesAre401EvenForHealth) {
  Cert forged = auth_test::MakeClient("front-proxy-client", auth_test::MakeCa("evil"));
  for (const char* path : {kCustomMetric, "/healthz"}) {
    ClientResponse r = Get(&forged, path, "X-Remote-User: bob\r\n");
    EXPECT_EQ(r.status, 401) << path;
    EXPECT_EQ(r.body, R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
                      R"("message":"Unauthorized","reason":"Unauthorized","code":401})"
                      "\n");
  }
  EXPECT_TRUE(Reviews().empty());
  EXPECT_THAT(Events().back(),
              HasSubstr("401 /healthz unauthenticated (requestheader: x509: unable to get local "
                        "issuer certificate; x509: x509: unable to get local issuer certificate)"));

  // The proxy's CN must be allowed.
  Cert other_cn = auth_test::MakeClient("not-the-proxy", proxy_ca_);
  EXPECT_EQ(Get(&other_cn, kCustomMetric, "X-Remote-User: bob\r\n").status, 401);
}

TEST_F(AuthFilterTest, AuthorizerFailureIs500AndServerErrorsAreStatus) {
  ClientResponse r = Get(&proxy_, kCustomMetric + std::string("?labelSelector=app%3Dweb"),
                         "X-Remote-User: broken\r\n");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, std::string("Internal Server Error: \"") + kCustomMetric +
                        "?labelSelector=app%3Dweb\": connection refused\n");

  // A request the server refuses itself gets a Status through error_response.
  r = Get(&proxy_, "/apis/%zz", "X-Remote-User: bob\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, StartsWith(R"({"kind":"Status","apiVersion":"v1","metadata":{},)"
                                 R"("status":"Failure","message":"bad request: path: )"));
  EXPECT_THAT(r.body, HasSubstr(R"("reason":"BadRequest","code":400})"));
}

TEST_F(AuthFilterTest, CurlWithAClientCertificate) {
  if (testsupport::RunShell("curl --version", dir_).exit_code != 0) {
    GTEST_SKIP() << "curl is not installed";
  }
  testsupport::WriteFileText(dir_ + "/ca.crt", server_ca_.cert_pem);
  testsupport::WriteFileText(dir_ + "/proxy.crt", proxy_.cert_pem);
  testsupport::WriteFileText(dir_ + "/proxy.key", proxy_.key_pem);
  std::string p = std::to_string(port_);
  std::string curl = "curl -sS --max-time 3 --cacert " + dir_ + "/ca.crt --resolve localhost:" + p +
                     ":127.0.0.1 -H 'X-Remote-User: bob' ";
  std::string url = " 'https://localhost:" + p + kCustomMetric + "'";
  testsupport::RunResult r = testsupport::RunShell(
      curl + "--cert " + dir_ + "/proxy.crt --key " + dir_ + "/proxy.key -w ' %{http_code}'" + url,
      dir_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::string("served ") + kCustomMetric + "\n 200");

  // Without the certificate, the same headers are nobody's: anonymous, forbidden.
  r = testsupport::RunShell(curl + "-o /dev/null -w '%{http_code}'" + url, dir_);
  EXPECT_EQ(r.out, "403");
}

}  // namespace
}  // namespace auth
