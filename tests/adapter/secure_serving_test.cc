// The secure-serving flags (adapter/cmd/secure_serving.h) and, end to end, an http::Server
// listening with the TlsConfig they build: curl and a blocking OpenSSL client on the other side.
#include "adapter/cmd/secure_serving.h"

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapter/cli/flags.h"
#include "adapter/cmd/serve_options.h"
#include "adapter/http/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace adapter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::chrono_literals;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

class TempDir {
 public:
  TempDir() {
    std::string tmpl = testing::TempDir() + "/secure_serving_test_XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// --- flags and validation ---

TEST(SecureServingFlagsTest, Defaults) {
  cli::FlagSet flags("metrics-adapter serve");
  SecureServingOptions o;
  RegisterSecureServingFlags(&flags, &o);
  ASSERT_TRUE(flags.Parse({}).ok());
  EXPECT_EQ(o.bind_address, "0.0.0.0");
  EXPECT_EQ(o.cert_dir, "apiserver.local.config/certificates");
  EXPECT_EQ(o.tls_cert_file, "");
  EXPECT_EQ(o.tls_private_key_file, "");
  EXPECT_EQ(o.tls_min_version, "");
  EXPECT_TRUE(o.tls_cipher_suites.empty());
  EXPECT_TRUE(ValidateSecureServingOptions(o).ok());
  std::string usage = flags.Usage();
  for (const char* name : {"--bind-address", "--cert-dir", "--tls-cert-file",
                           "--tls-private-key-file", "--tls-min-version", "--tls-cipher-suites"}) {
    EXPECT_THAT(usage, HasSubstr(name));
  }
}

TEST(SecureServingFlagsTest, ParsesEveryFlagNextToTheServeFlags) {
  cli::FlagSet flags("metrics-adapter serve");
  ServeOptions serve;
  SecureServingOptions o;
  RegisterServeFlags(&flags, &serve);
  RegisterSecureServingFlags(&flags, &o);
  absl::StatusOr<std::vector<std::string>> rest =
      flags.Parse({"--secure-port=7443", "--bind-address", "::1",
                   "--tls-cert-file=/etc/tls/tls.crt", "--tls-private-key-file", "/etc/tls/tls.key",
                   "--cert-dir=/var/run/certs", "--tls-min-version=VersionTLS13",
                   "--tls-cipher-suites=TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384",
                   "--tls-cipher-suites", "TLS_CHACHA20_POLY1305_SHA256"});
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_TRUE(rest->empty());
  EXPECT_EQ(serve.secure_port, 7443);
  EXPECT_EQ(o.bind_address, "::1");
  EXPECT_EQ(o.tls_cert_file, "/etc/tls/tls.crt");
  EXPECT_EQ(o.tls_private_key_file, "/etc/tls/tls.key");
  EXPECT_EQ(o.cert_dir, "/var/run/certs");
  EXPECT_EQ(o.tls_min_version, "VersionTLS13");
  EXPECT_THAT(o.tls_cipher_suites, ElementsAre("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                               "TLS_CHACHA20_POLY1305_SHA256"));
}

TEST(SecureServingFlagsTest, ListenAddress) {
  SecureServingOptions o;
  EXPECT_EQ(SecureListenAddress(o, 6443), ":6443");
  o.bind_address = "::";
  EXPECT_EQ(SecureListenAddress(o, 6443), ":6443");
  o.bind_address = "";
  EXPECT_EQ(SecureListenAddress(o, 6443), ":6443");
  o.bind_address = "127.0.0.1";
  EXPECT_EQ(SecureListenAddress(o, 0), "127.0.0.1:0");
  o.bind_address = "fd00::1";
  EXPECT_EQ(SecureListenAddress(o, 443), "[fd00::1]:443");
  o.bind_address = "[::1]";
  EXPECT_EQ(SecureListenAddress(o, 443), "[::1]:443");
}

class SecureServingValidateTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    cert_ = dir_.path() + "/tls.crt";
    key_ = dir_.path() + "/tls.key";
    std::ofstream(cert_) << "cert\n";
    std::ofstream(key_) << "key\n";
  }
  absl::Status Validate(void (*edit)(SecureServingOptions*)) {
    SecureServingOptions o;
    o.tls_cert_file = cert_;
    o.tls_private_key_file = key_;
    edit(&o);
    return ValidateSecureServingOptions(o);
  }

  TempDir dir_;
  std::string cert_, key_;
};

TEST_F(SecureServingValidateTest, AcceptsGoodValues) {
  EXPECT_TRUE(Validate([](SecureServingOptions*) {}).ok());
  EXPECT_TRUE(Validate([](SecureServingOptions* o) {
                o->bind_address = "fd00::1";
                o->tls_min_version = "1.2";
                o->tls_cipher_suites = {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                        "ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_AES_128_GCM_SHA256"};
              }).ok());
  EXPECT_TRUE(Validate([](SecureServingOptions* o) {
                o->tls_min_version = "VersionTLS13";
                o->tls_cipher_suites = {"TLS_AES_256_GCM_SHA384"};
              }).ok());
}

TEST_F(SecureServingValidateTest, ErrorsNameTheFlag) {
  absl::Status s = Validate([](SecureServingOptions* o) { o->tls_private_key_file = ""; });
  EXPECT_EQ(Message(s), "--tls-cert-file needs --tls-private-key-file");
  s = Validate([](SecureServingOptions* o) { o->tls_cert_file = ""; });
  EXPECT_EQ(Message(s), "--tls-private-key-file needs --tls-cert-file");

  s = Validate([](SecureServingOptions* o) { o->tls_cert_file = "/nonexistent/tls.crt"; });
  EXPECT_EQ(Message(s),
            "invalid value \"/nonexistent/tls.crt\" for --tls-cert-file: cannot read: No such file "
            "or directory");
  s = Validate([](SecureServingOptions* o) { o->tls_private_key_file = "/"; });
  EXPECT_EQ(Message(s), "invalid value \"/\" for --tls-private-key-file: not a regular file");

  s = Validate([](SecureServingOptions* o) { o->tls_min_version = "VersionTLS10"; });
  EXPECT_THAT(Message(s), StartsWith("invalid value \"VersionTLS10\" for --tls-min-version: "));

  s = Validate([](SecureServingOptions* o) {
    o->tls_cipher_suites = {"TLS_AES_128_GCM_SHA256", "TLS_RSA_WITH_NOTHING"};
  });
  EXPECT_EQ(Message(s),
            "invalid value for --tls-cipher-suites: unknown TLS cipher suite "
            "\"TLS_RSA_WITH_NOTHING\"");
  s = Validate([](SecureServingOptions* o) {
    o->tls_min_version = "VersionTLS13";
    o->tls_cipher_suites = {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"};
  });
  EXPECT_THAT(Message(s), HasSubstr("\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\" is for TLS 1.2"));

  s = Validate([](SecureServingOptions* o) { o->bind_address = "localhost"; });
  EXPECT_EQ(Message(s), "invalid value \"localhost\" for --bind-address: not an IP address");
  s = Validate([](SecureServingOptions* o) { o->bind_address = "127.0.0.1:6443"; });
  EXPECT_FALSE(s.ok());

  s = Validate([](SecureServingOptions* o) {
    o->tls_cert_file = o->tls_private_key_file = "";
    o->cert_dir = "";
  });
  EXPECT_THAT(Message(s), StartsWith("--cert-dir must not be empty"));
}

TEST_F(SecureServingValidateTest, BuildTlsConfig) {
  SecureServingOptions o;
  o.tls_cert_file = cert_;
  o.tls_private_key_file = key_;
  o.tls_min_version = "VersionTLS13";
  o.tls_cipher_suites = {"TLS_AES_128_GCM_SHA256"};
  bool generated = true;
  absl::StatusOr<http::TlsConfig> tls = BuildTlsConfig(o, &generated);
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_FALSE(generated);
  EXPECT_EQ(tls->cert_file, cert_);
  EXPECT_EQ(tls->key_file, key_);
  EXPECT_EQ(tls->min_version, http::TlsVersion::kTls13);
  EXPECT_THAT(tls->cipher_suites, ElementsAre("TLS_AES_128_GCM_SHA256"));
  EXPECT_TRUE(tls->client_ca_file.empty());

  // Self-signed, in a cert dir created on demand; reused the second time.
  o = SecureServingOptions();
  o.cert_dir = dir_.path() + "/certs";
  o.bind_address = "127.0.0.2";
  tls = BuildTlsConfig(o, &generated);
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_TRUE(generated);
  EXPECT_EQ(tls->cert_file, o.cert_dir + "/apiserver.crt");
  EXPECT_EQ(tls->key_file, o.cert_dir + "/apiserver.key");
  EXPECT_EQ(tls->min_version, http::TlsVersion::kTls12);
  tls = BuildTlsConfig(o, &generated);
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_FALSE(generated);
  // The bind address is in the certificate: a new one makes a new certificate.
  o.bind_address = "127.0.0.3";
  tls = BuildTlsConfig(o, &generated);
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_TRUE(generated);
  // ... but the unspecified address is not.
  o.bind_address = "0.0.0.0";
  tls = BuildTlsConfig(o, &generated);
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_FALSE(generated);

  // A cert dir that cannot be created.
  o.cert_dir = cert_ + "/certs";
  tls = BuildTlsConfig(o);
  ASSERT_FALSE(tls.ok());
  EXPECT_THAT(Message(tls.status()), StartsWith("cannot set up a self-signed certificate in "
                                                "--cert-dir \"" +
                                                o.cert_dir + "\": "));
}

// --- end to end ---

// The exit code of a shell command and what it printed on stdout and stderr.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool HaveCurl() { return RunCommand("curl --version").exit_code == 0; }

struct SslCtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslDeleter {
  void operator()(SSL* s) const { SSL_free(s); }
};

struct ClientResponse {
  int status = 0;
  std::string body;
};

// A blocking OpenSSL client on 127.0.0.1:port that trusts only ca_file and verifies the server
// certificate for host (a DNS name, sent as SNI, or an IP address). Every socket operation times
// out after timeout.
class TlsConn {
 public:
  TlsConn(int port, const std::string& ca_file, const std::string& host, int max_version = 0,
          std::chrono::milliseconds timeout = 1500ms) {
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_load_verify_locations(ctx_.get(), ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    if (max_version != 0) SSL_CTX_set_max_proto_version(ctx_.get(), max_version);
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{};
    tv.tv_sec = timeout.count() / 1000;
    tv.tv_usec = (timeout.count() % 1000) * 1000;
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_fd(ssl_.get(), fd_);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_.get());
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
      SSL_set_tlsext_host_name(ssl_.get(), host.c_str());
      SSL_set1_host(ssl_.get(), host.c_str());
    }
  }
  ~TlsConn() {
    ssl_.reset();
    if (fd_ >= 0) close(fd_);
  }

  bool connected() const { return connected_; }

  // True when the handshake succeeded and the server certificate verified.
  bool Handshake() {
    ERR_clear_error();
    bool ok = connected_ && SSL_connect(ssl_.get()) == 1 &&
              SSL_get_verify_result(ssl_.get()) == X509_V_OK;
    ERR_clear_error();
    return ok;
  }
  std::string version() const { return SSL_get_version(ssl_.get()); }

  bool Send(const std::string& bytes) {
    return SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size())) ==
           static_cast<int>(bytes.size());
  }

  // Reads one response that carries a Content-Length; nullopt on a timeout or close.
  std::optional<ClientResponse> Read() {
    size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    ClientResponse r;
    std::string head = buffer_.substr(0, header_end);
    if (head.size() < 12) return std::nullopt;
    r.status = std::atoi(head.substr(9, 3).c_str());
    size_t length = 0;
    size_t cl = head.find("Content-Length: ");
    if (cl == std::string::npos) cl = head.find("content-length: ");
    if (cl != std::string::npos) length = std::strtoul(head.c_str() + cl + 16, nullptr, 10);
    while (buffer_.size() < header_end + 4 + length) {
      if (!Fill()) return std::nullopt;
    }
    r.body = buffer_.substr(header_end + 4, length);
    buffer_.erase(0, header_end + 4 + length);
    return r;
  }

  std::optional<ClientResponse> Get(const std::string& target, const std::string& extra = "") {
    if (!Send("GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n")) {
      return std::nullopt;
    }
    return Read();
  }

 private:
  bool Fill() {
    char buf[4096];
    int n = SSL_read(ssl_.get(), buf, sizeof(buf));
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }

  std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx_;
  std::unique_ptr<SSL, SslDeleter> ssl_;
  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

// An http::Server with one HTTPS listener on 127.0.0.1 configured by SecureServingOptions, with
// a fresh --cert-dir. The handler answers with the client's address, so that a reused
// connection shows as the same address twice.
class SecureServingEndToEndTest : public testing::Test {
 protected:
  void StartServer(SecureServingOptions o, http::ServerOptions server_options = {}) {
    ASSERT_FALSE(dir_.path().empty());
    o.bind_address = "127.0.0.1";
    o.cert_dir = dir_.path() + "/apiserver.local.config/certificates";
    ASSERT_TRUE(ValidateSecureServingOptions(o).ok());
    absl::StatusOr<http::TlsConfig> tls = BuildTlsConfig(o);
    ASSERT_TRUE(tls.ok()) << tls.status();
    ca_file_ = o.cert_dir + "/apiserver.crt";
    server_ = std::make_unique<http::Server>(std::move(server_options), [](const http::Request& r) {
      return http::Response::Text("remote=" + r.remote_address + " tls=" + (r.tls ? "1" : "0") +
                                  "\n");
    });
    absl::StatusOr<int> port = server_->Listen(SecureListenAddress(o, 0), &*tls);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    ASSERT_TRUE(server_->Start().ok());
  }

  // curl with the generated certificate as its only CA, "localhost" resolving to 127.0.0.1.
  CommandResult Curl(const std::string& args) {
    std::string p = std::to_string(port_);
    return RunCommand("curl -sS --max-time 2 --cacert '" + ca_file_ + "' --resolve localhost:" + p +
                      ":127.0.0.1 " + args);
  }
  std::string Url(const std::string& path) {
    return "https://localhost:" + std::to_string(port_) + path;
  }

  TempDir dir_;
  std::string ca_file_;
  std::unique_ptr<http::Server> server_;
  int port_ = 0;
};

TEST_F(SecureServingEndToEndTest, CurlTrustsTheSelfSignedCertificateAndReusesTheConnection) {
  if (!HaveCurl()) GTEST_SKIP() << "curl is not installed";
  StartServer(SecureServingOptions());
  // Two URLs in one curl run share one keep-alive connection: same client address twice.
  CommandResult r = Curl(Url("/a") + " " + Url("/b"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  size_t nl = r.output.find('\n');
  ASSERT_NE(nl, std::string::npos) << r.output;
  std::string first = r.output.substr(0, nl + 1);
  EXPECT_THAT(first, StartsWith("remote=127.0.0.1:"));
  EXPECT_THAT(first, HasSubstr("tls=1"));
  EXPECT_EQ(r.output, first + first);

  // Without the CA, curl refuses the certificate (so the check above can fail).
  std::string p = std::to_string(port_);
  CommandResult untrusted =
      RunCommand("curl -sS --max-time 2 --resolve localhost:" + p + ":127.0.0.1 " + Url("/a"));
  EXPECT_NE(untrusted.exit_code, 0) << untrusted.output;
}

TEST_F(SecureServingEndToEndTest, OpenSslClientVerifiesLocalhostAnd127001WithKeepAlive) {
  StartServer(SecureServingOptions());
  for (const char* host : {"localhost", "127.0.0.1"}) {
    TlsConn c(port_, ca_file_, host);
    ASSERT_TRUE(c.Handshake()) << host;
    std::optional<ClientResponse> a = c.Get("/a");
    std::optional<ClientResponse> b = c.Get("/b");
    ASSERT_TRUE(a && b) << host;
    EXPECT_EQ(a->status, 200);
    EXPECT_THAT(a->body, StartsWith("remote=127.0.0.1:"));
    EXPECT_EQ(a->body, b->body) << "the second request came on another connection";
  }
  TlsConn wrong_name(port_, ca_file_, "metrics.example.com");
  EXPECT_FALSE(wrong_name.Handshake());
}

TEST_F(SecureServingEndToEndTest, Tls13MinimumRefusesTls12Clients) {
  SecureServingOptions o;
  o.tls_min_version = "VersionTLS13";
  StartServer(o);
  TlsConn tls12(port_, ca_file_, "localhost", TLS1_2_VERSION);
  EXPECT_FALSE(tls12.Handshake());
  TlsConn tls13(port_, ca_file_, "localhost");
  ASSERT_TRUE(tls13.Handshake());
  EXPECT_EQ(tls13.version(), "TLSv1.3");

  if (!HaveCurl()) GTEST_SKIP() << "curl is not installed";
  CommandResult old = Curl("--tls-max 1.2 " + Url("/"));
  EXPECT_NE(old.exit_code, 0) << old.output;
  EXPECT_THAT(old.output, Not(HasSubstr("remote=")));
  CommandResult current = Curl(Url("/"));
  EXPECT_EQ(current.exit_code, 0) << current.output;
  EXPECT_THAT(current.output, HasSubstr("remote="));
}

TEST_F(SecureServingEndToEndTest, CipherSuitesRestrictTls12) {
  SecureServingOptions o;
  o.tls_cipher_suites = {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"};
  StartServer(o);
  TlsConn c(port_, ca_file_, "localhost", TLS1_2_VERSION);
  ASSERT_TRUE(c.Handshake());
  std::optional<ClientResponse> r = c.Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(SecureServingEndToEndTest, OversizedHeaderIs431) {
  http::ServerOptions so;
  so.max_header_bytes = 4096;
  StartServer(SecureServingOptions(), so);
  TlsConn c(port_, ca_file_, "localhost");
  ASSERT_TRUE(c.Handshake());
  std::optional<ClientResponse> small = c.Get("/", "X-Small: " + std::string(1000, 'a') + "\r\n");
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 200);
  std::optional<ClientResponse> big = c.Get("/", "X-Big: " + std::string(8000, 'a') + "\r\n");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 431);

  if (!HaveCurl()) GTEST_SKIP() << "curl is not installed";
  CommandResult r =
      Curl("-o /dev/null -w '%{http_code}' -H 'X-Big: " + std::string(8000, 'b') + "' " + Url("/"));
  EXPECT_EQ(r.output, "431");
}

TEST_F(SecureServingEndToEndTest, MaxConnectionsBoundsTlsClients) {
  http::ServerOptions so;
  so.max_connections = 1;
  StartServer(SecureServingOptions(), so);
  auto a = std::make_unique<TlsConn>(port_, ca_file_, "localhost");
  ASSERT_TRUE(a->Handshake());
  ASSERT_TRUE(a->Get("/"));
  {
    // The second connection completes in the kernel, but its handshake is not answered while
    // the first one is open.
    TlsConn b(port_, ca_file_, "localhost", 0, 300ms);
    EXPECT_TRUE(b.connected());
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(b.Handshake());
    EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
  }
  a.reset();
  TlsConn c(port_, ca_file_, "localhost");
  ASSERT_TRUE(c.Handshake());
  std::optional<ClientResponse> r = c.Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace adapter
