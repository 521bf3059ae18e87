// End to end: bad input on the HTTPS listener of the real `metrics-adapter serve` (a self-signed
// certificate, examples/rules.yaml): malformed request lines, oversized headers and bodies, a
// client that stalls half way through a request, many connections at once, malformed metrics
// paths and selectors, and methods other than GET. Requests go out as raw bytes over TLS
// (OpenSSL), so nothing between the test and the server fixes them up.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "boost/json.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using testsupport::ChildProcess;

// One TLS connection to 127.0.0.1:port, certificate not verified (it is self-signed).
class TlsClient {
 public:
  // tcp_only: connect without the TLS handshake.
  explicit TlsClient(int port, bool tcp_only = false) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    timeval tv{5, 0};  // no read or write waits longer than this
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    if (tcp_only) {
      ok_ = true;
      return;
    }
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (ctx_ == nullptr) return;
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    ssl_ = SSL_new(ctx_);
    if (ssl_ == nullptr) return;
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, "localhost");
    ok_ = SSL_connect(ssl_) == 1;
  }
  ~TlsClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) close(fd_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool ok() const { return ok_; }

  // Writes all of data; false when the connection failed.
  bool Send(const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      int n = SSL_write(ssl_, data.data() + done, static_cast<int>(data.size() - done));
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads one response: the header block and Content-Length bytes of body. Also returns what
  // arrived when the connection closes or a read times out. closed() tells which.
  std::string ReadResponse() {
    for (;;) {
      const size_t end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t length = 0;
        const std::string head = Lower(buffer_.substr(0, end));
        const size_t cl = head.find("\r\ncontent-length:");
        if (cl != std::string::npos) length = std::stoul(head.substr(cl + 17));
        if (buffer_.size() >= end + 4 + length) {
          std::string response = buffer_.substr(0, end + 4 + length);
          buffer_.erase(0, end + 4 + length);
          return response;
        }
      }
      if (!ReadMore()) {
        std::string rest;
        rest.swap(buffer_);
        return rest;
      }
    }
  }

  // Waits up to 5 s for the server to close the connection; true when it did.
  bool WaitClosed() {
    while (ReadMore()) {
    }
    return closed_;
  }
  bool closed() const { return closed_; }

 private:
  static std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  bool ReadMore() {
    char chunk[16384];
    const int n = SSL_read(ssl_, chunk, sizeof chunk);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      return true;
    }
    const int err = SSL_get_error(ssl_, n);
    // A clean close_notify, an EOF or a reset: the server closed. A timeout is not a close.
    closed_ = err == SSL_ERROR_ZERO_RETURN ||
              (err == SSL_ERROR_SYSCALL && errno != EAGAIN && errno != EWOULDBLOCK) ||
              err == SSL_ERROR_SSL;
    ERR_clear_error();
    return false;
  }

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool ok_ = false;
  bool closed_ = false;
  std::string buffer_;
};

int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.c_str() + 9);
}

std::string BodyOf(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

std::string Get(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n";
}

class SecureListenerTest : public ::testing::Test {
 protected:
  // One server for the suite: starting it generates a certificate.
  static void SetUpTestSuite() {
    const std::string binary = testsupport::BinaryPath();
    if (binary.empty()) return;
    dir_ = new std::string(testsupport::MakeTempDir("ma-secure-listener"));
    http_port_ = testsupport::FreePort();
    port_ = testsupport::FreePort();
    serve_ = new ChildProcess(
        {binary, "serve", "--storage-path", *dir_ + "/data", "--http-listen-address",
         "127.0.0.1:" + std::to_string(http_port_), "--secure-port", std::to_string(port_),
         "--bind-address", "127.0.0.1", "--cert-dir", *dir_ + "/certs", "--config",
         testsupport::SourceRoot() + "/examples/rules.yaml"},
        *dir_ + "/serve.log");
    ready_ = testsupport::WaitForHttp200(http_port_, "/-/ready", std::chrono::seconds(20));
    // The HTTPS listener starts with the plain one; wait until it completes a handshake.
    for (int i = 0; ready_ && i < 100; ++i) {
      TlsClient probe(port_);
      if (probe.ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  static void TearDownTestSuite() {
    delete serve_;
    serve_ = nullptr;
    if (dir_ != nullptr) {
      std::error_code ec;
      std::filesystem::remove_all(*dir_, ec);
      delete dir_;
      dir_ = nullptr;
    }
  }

  void SetUp() override {
    if (serve_ == nullptr) GTEST_SKIP() << "MA_BINARY is not set";
    ASSERT_TRUE(ready_) << testsupport::ReadFileText(*dir_ + "/serve.log");
  }

  void TearDown() override {
    // Whatever a test sent, the server is still up and serving.
    if (serve_ == nullptr || !ready_) return;
    TlsClient c(port_);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.Send(Get("/healthz")));
    EXPECT_EQ(StatusOf(c.ReadResponse()), 200) << testsupport::ReadFileText(*dir_ + "/serve.log");
  }

  // Sends raw bytes on a new connection and returns the first response.
  static std::string Exchange(const std::string& bytes, bool* closed = nullptr) {
    TlsClient c(port_);
    EXPECT_TRUE(c.ok());
    EXPECT_TRUE(c.Send(bytes));
    std::string response = c.ReadResponse();
    if (closed != nullptr) *closed = c.WaitClosed();
    return response;
  }

  static std::string* dir_;
  static int port_;
  static int http_port_;
  static bool ready_;
  static ChildProcess* serve_;
};

std::string* SecureListenerTest::dir_ = nullptr;
int SecureListenerTest::port_ = 0;
int SecureListenerTest::http_port_ = 0;
bool SecureListenerTest::ready_ = false;
ChildProcess* SecureListenerTest::serve_ = nullptr;

TEST_F(SecureListenerTest, MalformedRequestsAre400AndCloseTheConnection) {
  const std::vector<std::string> bad = {
      "this is not http\r\n\r\n",
      "GET\r\n\r\n",
      "GET /apis HTTP/9.9\r\nHost: x\r\n\r\n",
      "GET /apis HTTP/1.1 extra\r\nHost: x\r\n\r\n",
      std::string("\x00\x01\x02\xff\r\n\r\n", 8),
      "GET /apis HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
      "GET /apis HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n",
      "POST /apis HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
      "POST /apis HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
  };
  for (const std::string& request : bad) {
    SCOPED_TRACE(testing::PrintToString(request));
    bool closed = false;
    const std::string response = Exchange(request, &closed);
    EXPECT_EQ(StatusOf(response), 400) << response;
    EXPECT_TRUE(closed);
  }
}

TEST_F(SecureListenerTest, OversizedHeadersAre431) {
  // The limit is 64 KiB for the request line and all header fields.
  bool closed = false;
  const std::string response =
      Exchange("GET /apis HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70 << 10, 'a') + "\r\n\r\n",
               &closed);
  EXPECT_EQ(StatusOf(response), 431) << response.substr(0, 200);
  EXPECT_TRUE(closed);

  // Many small fields add up the same way.
  std::string many = "GET /apis HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 3000; ++i) many += "X-F" + std::to_string(i) + ": 0123456789abcdef\r\n";
  EXPECT_EQ(StatusOf(Exchange(many + "\r\n")), 431);
}

TEST_F(SecureListenerTest, OversizedBodiesAre413) {
  // The announced length alone exceeds the 10 MiB limit: refused before any body is read.
  bool closed = false;
  const std::string response = Exchange(
      "POST /apis HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 20000000\r\n\r\n",
      &closed);
  EXPECT_EQ(StatusOf(response), 413) << response;
  EXPECT_TRUE(closed);

  // A chunked body that grows past the limit.
  TlsClient c(port_);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.Send("POST /apis HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "100000\r\n" + std::string(0x100000, 'x') + "\r\n";
  for (int i = 0; i < 12; ++i) {
    if (!c.Send(chunk)) break;  // the server answered and closed meanwhile
  }
  const std::string chunked = c.ReadResponse();
  EXPECT_EQ(StatusOf(chunked), 413) << chunked.substr(0, 200);
}

TEST_F(SecureListenerTest, StalledClientsDoNotHoldUpOthers) {
  // Half a request, then nothing; and a connection that never starts its TLS handshake.
  TlsClient slow(port_);
  ASSERT_TRUE(slow.ok());
  ASSERT_TRUE(slow.Send("GET /apis HTTP/1.1\r\nHost: localhost\r\nAccept: appl"));
  TlsClient no_handshake(port_, /*tcp_only=*/true);
  ASSERT_TRUE(no_handshake.ok());

  // Meanwhile others are served promptly, several times over.
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    TlsClient other(port_);
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE(other.Send(Get("/apis")));
    const std::string response = other.ReadResponse();
    EXPECT_EQ(StatusOf(response), 200) << response;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  }

  // The stalled request is still being read (the read timeout is 30 s): finishing it works.
  ASSERT_TRUE(slow.Send("ication/json\r\n\r\n"));
  const std::string response = slow.ReadResponse();
  EXPECT_EQ(StatusOf(response), 200) << response;
  EXPECT_THAT(BodyOf(response), HasSubstr(R"("kind":"APIGroupList")"));
}

TEST_F(SecureListenerTest, ManyConnectionsAtOnce) {
  constexpr int kClients = 64;
  // All connected and handshaken before any request is sent.
  std::vector<std::unique_ptr<TlsClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<TlsClient>(port_));
    ASSERT_TRUE(clients.back()->ok()) << i;
  }
  std::atomic<int> served{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      TlsClient& c = *clients[i];
      // Two requests on each connection (keep-alive).
      for (const char* target : {"/apis/custom.metrics.k8s.io/v1beta1", "/apis"}) {
        if (!c.Send(Get(target))) return;
        const std::string response = c.ReadResponse();
        if (StatusOf(response) != 200) return;
        json::error_code ec;
        json::parse(BodyOf(response), ec);
        if (ec) return;
      }
      ++served;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(served.load(), kClients);
}

struct BadPath {
  std::string target;
  int code;
  std::string reason;
};

TEST_F(SecureListenerTest, MalformedMetricsPathsAndSelectorsAreStatusObjects) {
  const std::string custom = "/apis/custom.metrics.k8s.io/v1beta1";
  const std::vector<BadPath> cases = {
      {"/apis/no.such.group", 404, "NotFound"},
      {"/apis/no.such.group/v1/pods", 404, "NotFound"},
      {"/apis/custom.metrics.k8s.io/v9", 404, "NotFound"},
      {custom + "/pods", 400, "BadRequest"},
      {custom + "/pods/x", 400, "BadRequest"},
      {custom + "/a/b/c/d/e/f/g", 404, "NotFound"},
      {custom + "/namespaces/default/widgets.example.com/*/http_requests", 404, "NotFound"},
      {custom + "/namespaces/default/pods/*/no_such_metric", 404, "NotFound"},
      {custom + "/namespaces/default/pods/*/http_requests?labelSelector=a%20in", 400, "BadRequest"},
      {custom + "/namespaces/default/pods/*/http_requests?labelSelector=%28%28%28", 400,
       "BadRequest"},
      {custom + "/namespaces/default/pods/*/http_requests?labelSelector=a%3D%3D%3Db", 400,
       "BadRequest"},
      {custom + "/namespaces/default/pods/p/http_requests?metricLabelSelector=x%20notin%20%28", 400,
       "BadRequest"},
      {custom + "/namespaces/default/pods/*/http_requests?labelSelector=" + std::string(300, 'k') +
           "%3Dv",
       400, "BadRequest"},
      {"/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth?labelSelector=%21",
       400, "BadRequest"},
      {"/apis/external.metrics.k8s.io/v1beta1/queue_depth", 404, "NotFound"},
      {"/apis/metrics.k8s.io/v1beta1/pods?labelSelector=a%20in%20%28b", 400, "BadRequest"},
      {"/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nobody", 404, "NotFound"},
      {"/apis/metrics.k8s.io/v1beta1/nodes/a/b", 404, "NotFound"},
      {"/apis/metrics.k8s.io/v1beta1/deployments", 404, "NotFound"},
  };
  TlsClient c(port_);  // all on one keep-alive connection: errors keep it open
  ASSERT_TRUE(c.ok());
  for (const BadPath& bad : cases) {
    SCOPED_TRACE(bad.target);
    ASSERT_TRUE(c.Send(Get(bad.target)));
    const std::string response = c.ReadResponse();
    ASSERT_EQ(StatusOf(response), bad.code) << response;
    EXPECT_THAT(response, HasSubstr("Content-Type: application/json"));
    json::error_code ec;
    json::value status = json::parse(BodyOf(response), ec);
    ASSERT_FALSE(ec) << response;
    EXPECT_EQ(status.at("kind").as_string(), "Status");
    EXPECT_EQ(status.at("apiVersion").as_string(), "v1");
    EXPECT_EQ(status.at("status").as_string(), "Failure");
    EXPECT_EQ(status.at("reason").as_string(), bad.reason);
    EXPECT_EQ(status.at("code").as_int64(), bad.code);
    EXPECT_FALSE(status.at("message").as_string().empty());
  }

  // Bad percent-encoding is refused by the HTTP layer before the API sees the request, with a
  // Status object all the same, and the connection stays usable.
  for (const std::string& target :
       {custom + "/namespaces/default/pods/*/x?labelSelector=%zz",
        std::string("/apis/custom.metrics.k8s.io/v1beta1/namespaces/%G0/pods/*/x")}) {
    SCOPED_TRACE(target);
    ASSERT_TRUE(c.Send(Get(target)));
    const std::string response = c.ReadResponse();
    EXPECT_EQ(StatusOf(response), 400);
    boost::system::error_code ec;
    json::value status = json::parse(BodyOf(response), ec);
    ASSERT_FALSE(ec) << response;
    EXPECT_EQ(status.at("kind").as_string(), "Status");
    EXPECT_EQ(status.at("reason").as_string(), "BadRequest");
    EXPECT_EQ(status.at("code").as_int64(), 400);
    EXPECT_NE(std::string(status.at("message").as_string()).find("invalid URL escape"),
              std::string::npos)
        << response;
  }
}

TEST_F(SecureListenerTest, MethodsOtherThanGetAre405) {
  TlsClient c(port_);
  ASSERT_TRUE(c.ok());
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    SCOPED_TRACE(method);
    ASSERT_TRUE(c.Send(std::string(method) +
                       " /apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/"
                       "http_requests HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: 2\r\n\r\n{}"));
    const std::string response = c.ReadResponse();
    ASSERT_EQ(StatusOf(response), 405) << response;
    EXPECT_THAT(response, HasSubstr("Allow: GET, HEAD"));
    json::value status = json::parse(BodyOf(response));
    EXPECT_EQ(status.at("reason").as_string(), "MethodNotAllowed");
    EXPECT_EQ(status.at("code").as_int64(), 405);
  }
}

}  // namespace
