// Test helpers of the auth tests (tests/adapter/auth_*_test.cc, http_client_cert_test.cc):
// certificates made with OpenSSL, a blocking TLS client that can present a client certificate
// chain, and a clock the tests move by hand.
#ifndef METRICS_ADAPTER_TESTS_ADAPTER_AUTH_TEST_UTIL_H_
#define METRICS_ADAPTER_TESTS_ADAPTER_AUTH_TEST_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace auth_test {

// A certificate with its key, PEM and DER.
struct Cert {
  std::string cert_pem;
  std::string key_pem;
  std::string der;
};

struct CertSpec {
  std::string cn;
  std::vector<std::string> organizations;
  bool is_ca = false;
  // ExtendedKeyUsage value, e.g. "clientAuth", "serverAuth", "clientAuth,serverAuth"; "" = no
  // extension.
  std::string extended_key_usage;
  std::string subject_alt_names;    // e.g. "DNS:localhost,IP:127.0.0.1"; "" = none
  long not_before_seconds = -3600;  // relative to now
  long not_after_seconds = 24 * 3600;
};

inline std::string BioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

// A P-256 certificate for spec, signed by issuer (self-signed when null).
inline Cert MakeCert(const CertSpec& spec, const Cert* issuer = nullptr) {
  static std::atomic<long> serial{1000};
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), spec.not_before_seconds);
  X509_gmtime_adj(X509_getm_notAfter(x), spec.not_after_seconds);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  for (const std::string& o : spec.organizations) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(o.c_str()), -1, -1, 0);
  }
  if (!spec.cn.empty()) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  }
  X509* issuer_cert = x;
  EVP_PKEY* issuer_key = key;
  if (issuer != nullptr) {
    BIO* cb = BIO_new_mem_buf(issuer->cert_pem.data(), static_cast<int>(issuer->cert_pem.size()));
    issuer_cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
    BIO_free(cb);
    BIO* kb = BIO_new_mem_buf(issuer->key_pem.data(), static_cast<int>(issuer->key_pem.size()));
    issuer_key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
    BIO_free(kb);
  }
  X509_set_issuer_name(x, X509_get_subject_name(issuer_cert));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer_cert, x, nullptr, nullptr, 0);
  std::vector<std::pair<int, std::string>> exts;
  exts.emplace_back(NID_basic_constraints, spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  exts.emplace_back(NID_key_usage, spec.is_ca ? "critical,keyCertSign,cRLSign,digitalSignature"
                                              : "critical,digitalSignature,keyEncipherment");
  if (!spec.extended_key_usage.empty()) {
    exts.emplace_back(NID_ext_key_usage, spec.extended_key_usage);
  }
  if (!spec.subject_alt_names.empty()) {
    exts.emplace_back(NID_subject_alt_name, spec.subject_alt_names);
  }
  for (const auto& [nid, value] : exts) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, issuer_key, EVP_sha256());

  Cert out;
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, x);
  out.cert_pem = BioString(cert_bio);
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.key_pem = BioString(key_bio);
  BIO_free(key_bio);
  unsigned char* der = nullptr;
  int len = i2d_X509(x, &der);
  out.der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  if (issuer != nullptr) {
    X509_free(issuer_cert);
    EVP_PKEY_free(issuer_key);
  }
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

inline Cert MakeCa(const std::string& cn) {
  CertSpec spec;
  spec.cn = cn;
  spec.is_ca = true;
  return MakeCert(spec);
}

inline Cert MakeClient(const std::string& cn, const Cert& issuer,
                       std::vector<std::string> organizations = {},
                       std::string extended_key_usage = "clientAuth") {
  CertSpec spec;
  spec.cn = cn;
  spec.organizations = std::move(organizations);
  spec.extended_key_usage = std::move(extended_key_usage);
  return MakeCert(spec, &issuer);
}

inline Cert MakeServer(const Cert& issuer) {
  CertSpec spec;
  spec.cn = "localhost";
  spec.extended_key_usage = "serverAuth";
  spec.subject_alt_names = "DNS:localhost,IP:127.0.0.1";
  return MakeCert(spec, &issuer);
}

// A clock the test moves.
struct FakeClock {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1000)};
  std::function<std::chrono::steady_clock::time_point()> Fn() {
    return [this] { return now; };
  }
};

struct ClientResponse {
  int status = 0;
  std::string headers;  // the status line and header block
  std::string body;
};

// A blocking OpenSSL client on 127.0.0.1:port. It trusts ca_pem for the server ("localhost");
// with a client certificate it presents cert followed by the chain. Socket operations time out
// after 3 s.
class TlsClient {
 public:
  TlsClient(int port, const std::string& ca_pem, const Cert* client = nullptr,
            const std::vector<const Cert*>& chain = {}) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
    BIO* b = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
    while (X509* ca = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(store, ca);
      X509_free(ca);
    }
    BIO_free(b);
    ERR_clear_error();
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (client != nullptr) {
      X509* cert = Parse(client->cert_pem);
      SSL_CTX_use_certificate(ctx_, cert);
      X509_free(cert);
      BIO* kb = BIO_new_mem_buf(client->key_pem.data(), static_cast<int>(client->key_pem.size()));
      EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
      BIO_free(kb);
      SSL_CTX_use_PrivateKey(ctx_, key);
      EVP_PKEY_free(key);
      for (const Cert* c : chain) SSL_CTX_add0_chain_cert(ctx_, Parse(c->cert_pem));
    }
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{};
    tv.tv_sec = 3;
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, "localhost");
    SSL_set1_host(ssl_, "localhost");
  }
  ~TlsClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    if (fd_ >= 0) close(fd_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool Handshake() {
    bool ok = connected_ && SSL_connect(ssl_) == 1 && SSL_get_verify_result(ssl_) == X509_V_OK;
    ERR_clear_error();
    return ok;
  }
  SSL* ssl() { return ssl_; }

  // Sends a GET with extra header lines ("Name: value\r\n"...) and reads the answer (which
  // must carry a Content-Length); nullopt when the connection fails.
  std::optional<ClientResponse> Get(const std::string& target, const std::string& extra = "") {
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n";
    if (SSL_write(ssl_, req.data(), static_cast<int>(req.size())) != static_cast<int>(req.size())) {
      ERR_clear_error();
      return std::nullopt;
    }
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    ClientResponse r;
    r.headers = buffer_.substr(0, end);
    if (r.headers.size() < 12) return std::nullopt;
    r.status = std::atoi(r.headers.substr(9, 3).c_str());
    size_t length = 0;
    for (const char* field : {"Content-Length: ", "content-length: "}) {
      size_t at = r.headers.find(field);
      if (at != std::string::npos) length = std::strtoul(r.headers.c_str() + at + 16, nullptr, 10);
    }
    while (buffer_.size() < end + 4 + length) {
      if (!Fill()) return std::nullopt;
    }
    r.body = buffer_.substr(end + 4, length);
    buffer_.erase(0, end + 4 + length);
    return r;
  }

 private:
  static X509* Parse(const std::string& pem) {
    BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    return x;
  }
  bool Fill() {
    char buf[4096];
    int n = SSL_read(ssl_, buf, sizeof(buf));
    if (n <= 0) {
      ERR_clear_error();
      return false;
    }
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

}  // namespace auth_test

#endif  // METRICS_ADAPTER_TESTS_ADAPTER_AUTH_TEST_UTIL_H_
