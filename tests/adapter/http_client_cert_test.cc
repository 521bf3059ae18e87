// The HTTP core's client-certificate modes (TlsConfig::request_client_cert, the chain in
// Request::peer_certificates) and ServerOptions::error_response, over real loopback sockets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "adapter/http/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapter/auth_test_util.h"
#include "tests/support/process.h"

namespace http {
namespace {

using ::auth_test::Cert;
using ::auth_test::ClientResponse;
using ::auth_test::TlsClient;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Answers with what the server knows of the client's certificates.
Response DescribePeer(const Request& r) {
  std::string out =
      "cn=" + r.peer_common_name + "\ncerts=" + std::to_string(r.peer_certificates.size()) + "\n";
  return Response::Text(out);
}

class HttpClientCertTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testsupport::MakeTempDir("http_client_cert_test");
    server_ca_ = auth_test::MakeCa("server-ca");
    Cert server = auth_test::MakeServer(server_ca_);
    tls_.cert_file = dir_ + "/server.crt";
    tls_.key_file = dir_ + "/server.key";
    testsupport::WriteFileText(tls_.cert_file, server.cert_pem);
    testsupport::WriteFileText(tls_.key_file, server.key_pem);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Starts a server on 127.0.0.1 whose handler records the request it saw last.
  void Start(ServerOptions options = {}) {
    server_ = std::make_unique<Server>(std::move(options), [this](const Request& r) {
      std::lock_guard<std::mutex> lock(mu_);
      last_ = r;
      return DescribePeer(r);
    });
    absl::StatusOr<int> port = server_->Listen("127.0.0.1:0", &tls_);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    ASSERT_TRUE(server_->Start().ok());
  }
  Request Last() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }

  std::string dir_;
  Cert server_ca_;
  TlsConfig tls_;
  std::unique_ptr<Server> server_;
  int port_ = 0;
  std::mutex mu_;
  Request last_;
};

TEST_F(HttpClientCertTest, RequestClientCertAcceptsAnyCertificateAndExposesTheChain) {
  tls_.request_client_cert = true;
  Start();

  {  // No certificate: the handshake succeeds, the chain is empty.
    TlsClient c(port_, server_ca_.cert_pem);
    ASSERT_TRUE(c.Handshake());
    std::optional<ClientResponse> r = c.Get("/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "cn=\ncerts=0\n");
    // The certificate request names no CA, so that any client offers its certificate.
    const STACK_OF(X509_NAME)* names = SSL_get_client_CA_list(c.ssl());
    EXPECT_EQ(names == nullptr ? 0 : sk_X509_NAME_num(names), 0);
  }
  {  // A self-signed certificate nobody trusts is accepted, and not named (not verified).
    auth_test::CertSpec spec;
    spec.cn = "mallory";
    Cert self_signed = auth_test::MakeCert(spec);
    TlsClient c(port_, server_ca_.cert_pem, &self_signed);
    ASSERT_TRUE(c.Handshake());
    std::optional<ClientResponse> r = c.Get("/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "cn=\ncerts=1\n");
    EXPECT_THAT(Last().peer_certificates, ElementsAre(self_signed.der));
  }
  {  // An expired certificate too.
    Cert ca = auth_test::MakeCa("client-ca");
    auth_test::CertSpec spec;
    spec.cn = "old";
    spec.not_before_seconds = -7200;
    spec.not_after_seconds = -3600;
    Cert expired = auth_test::MakeCert(spec, &ca);
    TlsClient c(port_, server_ca_.cert_pem, &expired);
    ASSERT_TRUE(c.Handshake());
    ASSERT_TRUE(c.Get("/"));
    EXPECT_THAT(Last().peer_certificates, ElementsAre(expired.der));
  }
  {  // A leaf with its intermediate: both, leaf first, on every request of the connection.
    Cert root = auth_test::MakeCa("root");
    auth_test::CertSpec ispec;
    ispec.cn = "intermediate";
    ispec.is_ca = true;
    Cert intermediate = auth_test::MakeCert(ispec, &root);
    Cert leaf = auth_test::MakeClient("front-proxy-client", intermediate);
    TlsClient c(port_, server_ca_.cert_pem, &leaf, {&intermediate});
    ASSERT_TRUE(c.Handshake());
    ASSERT_TRUE(c.Get("/a"));
    EXPECT_THAT(Last().peer_certificates, ElementsAre(leaf.der, intermediate.der));
    EXPECT_EQ(Last().peer_common_name, "");
    ASSERT_TRUE(c.Get("/b"));
    EXPECT_EQ(Last().path, "/b");
    EXPECT_THAT(Last().peer_certificates, ElementsAre(leaf.der, intermediate.der));
  }
}

TEST_F(HttpClientCertTest, RequestClientCertExcludesAClientCaFile) {
  Cert ca = auth_test::MakeCa("client-ca");
  tls_.client_ca_file = dir_ + "/client-ca.crt";
  testsupport::WriteFileText(tls_.client_ca_file, ca.cert_pem);
  tls_.request_client_cert = true;
  Server server(ServerOptions{}, DescribePeer);
  absl::StatusOr<int> port = server.Listen("127.0.0.1:0", &tls_);
  ASSERT_FALSE(port.ok());
  EXPECT_THAT(std::string(port.status().message()), HasSubstr("excludes a client CA file"));
}

TEST_F(HttpClientCertTest, VerifiedModeNamesThePeerAndExposesTheChain) {
  Cert ca = auth_test::MakeCa("client-ca");
  tls_.client_ca_file = dir_ + "/client-ca.crt";
  testsupport::WriteFileText(tls_.client_ca_file, ca.cert_pem);
  Start();

  Cert alice = auth_test::MakeClient("alice", ca);
  {
    TlsClient c(port_, server_ca_.cert_pem, &alice);
    ASSERT_TRUE(c.Handshake());
    std::optional<ClientResponse> r = c.Get("/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "cn=alice\ncerts=1\n");
    EXPECT_THAT(Last().peer_certificates, ElementsAre(alice.der));
  }
  {  // Without a certificate (not required): nothing.
    TlsClient c(port_, server_ca_.cert_pem);
    ASSERT_TRUE(c.Handshake());
    std::optional<ClientResponse> r = c.Get("/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "cn=\ncerts=0\n");
  }
  {  // A certificate of another CA fails the handshake (TLS 1.3: at the first read).
    Cert other = auth_test::MakeClient("eve", auth_test::MakeCa("other-ca"));
    TlsClient c(port_, server_ca_.cert_pem, &other);
    bool handshake = c.Handshake();
    EXPECT_FALSE(handshake && c.Get("/").has_value());
  }
}

TEST_F(HttpClientCertTest, PlainListenerHasNoPeerCertificates) {
  Server server(ServerOptions{}, DescribePeer);
  absl::StatusOr<int> port = server.Listen("127.0.0.1:0");
  ASSERT_TRUE(port.ok());
  ASSERT_TRUE(server.Start().ok());
  testsupport::HttpResult r = testsupport::HttpGet(*port, "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "cn=\ncerts=0\n");
}

// --- error_response ---

// Sends raw bytes on a fresh plain connection and returns what comes back until the server
// closes the connection or 2 s pass.
std::string Exchange(int port, const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{};
  tv.tv_sec = 2;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

Response JsonError(int status, std::string_view message) {
  return Response::Json(
      "{\"code\":" + std::to_string(status) + ",\"message\":\"" + std::string(message) + "\"}",
      /*status=*/299);  // replaced by the server
}

TEST(HttpErrorResponseTest, BuildsTheServersOwnRepliesAndKeepsTheConnection) {
  ServerOptions options;
  options.error_response = JsonError;
  options.max_body_bytes = 16;
  Server server(std::move(options), [](const Request& r) -> Response {
    if (r.path == "/throw") throw std::runtime_error("boom");
    return Response::Text("ok " + r.path + "\n");
  });
  absl::StatusOr<int> port = server.Listen("127.0.0.1:0");
  ASSERT_TRUE(port.ok());
  ASSERT_TRUE(server.Start().ok());

  // Bad percent-encoding: 400 built by the callback, then the next request on the same
  // connection is served (Connection: close only on the second one).
  std::string out = Exchange(*port,
                             "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(out, HasSubstr("Content-Type: application/json\r\n"));
  EXPECT_THAT(out, HasSubstr("{\"code\":400,\"message\":\"bad request: path: "));
  EXPECT_THAT(out, HasSubstr("ok /next\n"));

  out = Exchange(*port, "GET /throw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 500 Internal Server Error\r\n"));
  EXPECT_THAT(out, HasSubstr("{\"code\":500,\"message\":\"internal server error\"}"));

  out = Exchange(*port, "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" +
                            std::string(100, 'x'));
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 413 Payload Too Large\r\n"));
  EXPECT_THAT(out, HasSubstr("{\"code\":413,\"message\":\"request body too large: the limit is 16 "
                             "bytes\"}"));

  out = Exchange(*port, "GARBAGE\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(out, HasSubstr("{\"code\":400,\"message\":\"bad request: "));
}

TEST(HttpErrorResponseTest, DefaultIsPlainTextAndAThrowingCallbackFallsBack) {
  for (bool throwing : {false, true}) {
    ServerOptions options;
    if (throwing) {
      options.error_response = [](int, std::string_view) -> Response {
        throw std::runtime_error("no");
      };
    }
    Server server(std::move(options), [](const Request&) { return Response::Text("ok\n"); });
    absl::StatusOr<int> port = server.Listen("127.0.0.1:0");
    ASSERT_TRUE(port.ok());
    ASSERT_TRUE(server.Start().ok());
    std::string out =
        Exchange(*port, "GET /a?q=%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_THAT(out, HasSubstr("HTTP/1.1 400 Bad Request\r\n")) << throwing;
    EXPECT_THAT(out, HasSubstr("Content-Type: text/plain; charset=utf-8\r\n")) << throwing;
    EXPECT_THAT(out, HasSubstr("\r\n\r\nbad request: query string: ")) << throwing;
    EXPECT_EQ(out.back(), '\n');
  }
}

}  // namespace
}  // namespace http
