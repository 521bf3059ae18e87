// The Server: Boost.Beast sessions on an io_context thread pool (see server.h for the contract).
//
// Life of a connection (one session, all its handlers on one strand):
//
//   [TLS handshake] -> idle: wait for the first byte of a request (read_timeout for the first
//   request, idle_timeout between keep-alive requests) -> reading: header, optional
//   "100 Continue", body (read_timeout for the whole request) -> handling -> writing
//   (write_timeout) -> back to idle, or closing (half-close and drain the input briefly, so that
//   a client still sending a refused body sees the response and not a reset).
//
// Stop() closes idle connections at once and lets the others finish their current request.
#include "adapter/http/server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509err.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapter/http/openssl_errors.h"
#include "adapter/http/url.h"

namespace http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

// This Abseil's string_view is its own type, not std::string_view.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }
absl::string_view AV(beast::string_view s) { return absl::string_view(s.data(), s.size()); }

using BeastRequest = bhttp::request<bhttp::string_body>;
using BeastResponse = bhttp::response<bhttp::string_body>;

// Bounds of the lingering close: how long and how much input is read and discarded after the
// last response of a connection.
constexpr std::chrono::milliseconds kLingerTime{1000};
constexpr size_t kLingerBytes = 1 << 20;
// How long Stop() waits for force-closed connections to go away.
constexpr std::chrono::milliseconds kForceCloseWait{2000};

struct HostPort {
  std::string host;  // without brackets; empty = all interfaces
  uint16_t port;
};

absl::StatusOr<HostPort> SplitHostPort(std::string_view address) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid listen address \"", AV(address), "\": ", AV(why),
                     " (use HOST:PORT, e.g. \":9090\", ", "\"127.0.0.1:9090\" or \"[::1]:9090\")"));
  };
  HostPort out;
  std::string_view port;
  if (absl::StartsWith(AV(address), "[")) {
    size_t close = address.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    out.host = std::string(address.substr(1, close - 1));
    std::string_view rest = address.substr(close + 1);
    if (!absl::StartsWith(AV(rest), ":")) return bad("missing port");
    port = rest.substr(1);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) return bad("missing port");
    out.host = std::string(address.substr(0, colon));
    if (out.host.find(':') != std::string::npos) {
      return bad("an IPv6 address must be in brackets");
    }
    port = address.substr(colon + 1);
  }
  uint32_t p = 0;
  if (port.empty() || !std::all_of(port.begin(), port.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(AV(port), &p) || p > 65535) {
    return bad(absl::StrCat("bad port \"", AV(port), "\""));
  }
  out.port = static_cast<uint16_t>(p);
  return out;
}

std::string FormatEndpoint(const tcp::endpoint& ep) {
  asio::ip::address addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  }
  if (addr.is_v6()) return absl::StrCat("[", addr.to_string(), "]:", ep.port());
  return absl::StrCat(addr.to_string(), ":", ep.port());
}

absl::Status CheckReadable(std::string_view what, const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", AV(what), " \"", path, "\": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// Sets the cipher suites of ctx from IANA or OpenSSL names.
absl::Status SetCipherSuites(SSL_CTX* ctx, const std::vector<std::string>& names) {
  // Every suite this OpenSSL knows, to translate IANA names into OpenSSL's.
  SSL_CTX* all = SSL_CTX_new(TLS_server_method());
  if (all == nullptr) return absl::InternalError("SSL_CTX_new: " + OpenSslErrors());
  SSL_CTX_set_cipher_list(all, "ALL:COMPLEMENTOFALL");
  std::vector<std::string> tls12, tls13;
  absl::Status status;
  STACK_OF(SSL_CIPHER)* known = SSL_CTX_get_ciphers(all);
  for (const std::string& name : names) {
    bool found = false;
    for (int i = 0; i < sk_SSL_CIPHER_num(known); ++i) {
      const SSL_CIPHER* c = sk_SSL_CIPHER_value(known, i);
      const char* standard = SSL_CIPHER_standard_name(c);
      const char* openssl = SSL_CIPHER_get_name(c);
      if (name != openssl && (standard == nullptr || name != standard)) continue;
      found = true;
      if (std::string_view(SSL_CIPHER_get_version(c)) == "TLSv1.3") {
        tls13.emplace_back(openssl);
      } else {
        tls12.emplace_back(openssl);
      }
      break;
    }
    if (!found) {
      status = absl::InvalidArgumentError(absl::StrCat("unknown TLS cipher suite \"", name, "\""));
      break;
    }
  }
  SSL_CTX_free(all);
  if (!status.ok()) return status;
  if (!tls12.empty() && SSL_CTX_set_cipher_list(ctx, absl::StrJoin(tls12, ":").c_str()) != 1) {
    return absl::InvalidArgumentError("set TLS 1.2 cipher suites: " + OpenSslErrors());
  }
  if (!tls13.empty() && SSL_CTX_set_ciphersuites(ctx, absl::StrJoin(tls13, ":").c_str()) != 1) {
    return absl::InvalidArgumentError("set TLS 1.3 cipher suites: " + OpenSslErrors());
  }
  return absl::OkStatus();
}

// The verify callback of TlsConfig::request_client_cert.
int AcceptAnyCertificate(int /*preverify_ok*/, X509_STORE_CTX* /*ctx*/) { return 1; }

absl::StatusOr<std::shared_ptr<ssl::context>> BuildTlsContext(const TlsConfig& config) {
  if (config.cert_file.empty() || config.key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate file and a key file");
  }
  if (config.require_client_cert && config.client_ca_file.empty()) {
    return absl::InvalidArgumentError("requiring client certificates needs a client CA file");
  }
  if (config.request_client_cert && !config.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "requesting unverified client certificates excludes a client CA file");
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_options(
      native, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_min_proto_version(
      native, config.min_version == TlsVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  ERR_clear_error();

  if (absl::Status s = CheckReadable("TLS certificate", config.cert_file); !s.ok()) return s;
  if (absl::Status s = CheckReadable("TLS key", config.key_file); !s.ok()) return s;
  if (SSL_CTX_use_certificate_chain_file(native, config.cert_file.c_str()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("load TLS certificate \"", config.cert_file, "\": ", OpenSslErrors()));
  }
  if (SSL_CTX_use_PrivateKey_file(native, config.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat("TLS key \"", config.key_file,
                                                     "\" does not match certificate \"",
                                                     config.cert_file, "\""));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("load TLS key \"", config.key_file, "\": ", OpenSslErrors()));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("TLS key \"", config.key_file,
                                                   "\" does not match certificate \"",
                                                   config.cert_file, "\": ", OpenSslErrors()));
  }
  if (!config.cipher_suites.empty()) {
    if (absl::Status s = SetCipherSuites(native, config.cipher_suites); !s.ok()) return s;
  }
  if (!config.client_ca_file.empty()) {
    if (absl::Status s = CheckReadable("client CA file", config.client_ca_file); !s.ok()) return s;
    if (SSL_CTX_load_verify_locations(native, config.client_ca_file.c_str(), nullptr) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("load client CA file \"", config.client_ca_file, "\": ", OpenSslErrors()));
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(native, names);
    SSL_CTX_set_verify(
        native,
        SSL_VERIFY_PEER | (config.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
        nullptr);
  } else if (config.request_client_cert) {
    // Asks for a certificate (naming no CA) and accepts any: OpenSSL still checks the chain
    // against the empty store, but the callback overrides every failure.
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, AcceptAnyCertificate);
  }
  if (!config.client_ca_file.empty() || config.request_client_cert) {
    // A resumed session carries no intermediates, and resuming with SSL_VERIFY_PEER needs a
    // session id context: every connection makes a full handshake instead.
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(native, 0);
  }
  return ctx;
}

// The chain the peer sent, DER-encoded, its own certificate first.
std::vector<std::string> PeerCertificates(SSL* ssl) {
  std::vector<std::string> out;
  auto append = [&](X509* cert) {
    unsigned char* der = nullptr;
    int len = i2d_X509(cert, &der);
    if (len > 0) out.emplace_back(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  };
  X509* leaf = SSL_get0_peer_certificate(ssl);
  if (leaf == nullptr) return out;
  append(leaf);
  // On a server the stack holds the intermediates only, without the peer's own certificate.
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    X509* cert = sk_X509_value(chain, i);
    if (X509_cmp(cert, leaf) == 0) continue;
    append(cert);
  }
  return out;
}

// The subject CN of the verified peer certificate of ssl, or "".
std::string PeerCommonName(SSL* ssl) {
  std::string cn;
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return cn;
  if (SSL_get_verify_result(ssl) == X509_V_OK) {
    X509_NAME* name = X509_get_subject_name(cert);
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (idx >= 0) {
      ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
      unsigned char* utf8 = nullptr;
      int len = ASN1_STRING_to_UTF8(&utf8, data);
      if (len >= 0) {
        cn.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
        OPENSSL_free(utf8);
      }
    }
  }
  X509_free(cert);
  return cn;
}

absl::StatusOr<Request> ToRequest(BeastRequest&& req) {
  Request out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  out.version = req.version() == 10 ? 10 : 11;
  std::string_view target = out.target;
  // Absolute form ("http://host/path?q"), as sent to proxies.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (absl::StartsWithIgnoreCase(AV(target), AV(scheme))) {
      size_t slash = target.find('/', scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
      break;
    }
  }
  target = target.substr(0, target.find('#'));
  size_t q = target.find('?');
  absl::StatusOr<std::string> path = PercentDecode(target.substr(0, q), false);
  if (!path.ok())
    return absl::InvalidArgumentError(absl::StrCat("path: ", path.status().message()));
  out.path = std::move(*path);
  if (q != std::string_view::npos) {
    absl::StatusOr<Params> params = ParseQuery(target.substr(q + 1));
    if (!params.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("query string: ", params.status().message()));
    }
    out.params = std::move(*params);
  }
  for (const auto& field : req) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(req.body());
  if (out.method == "POST" || out.method == "PUT" || out.method == "PATCH") {
    absl::string_view type = AV(req[bhttp::field::content_type]);
    type = absl::StripAsciiWhitespace(type.substr(0, type.find(';')));
    if (absl::EqualsIgnoreCase(type, "application/x-www-form-urlencoded")) {
      absl::StatusOr<Params> form = ParseQuery(out.body);
      if (!form.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("form body: ", form.status().message()));
      }
      out.params.insert(out.params.begin(), std::make_move_iterator(form->begin()),
                        std::make_move_iterator(form->end()));
    }
  }
  return out;
}

bool IsFieldSafe(std::string_view s) {
  return s.find_first_of("\r\n") == std::string_view::npos && !s.empty();
}

BeastResponse ToBeast(Response r, unsigned version, bool keep_alive, bool head) {
  BeastResponse res;
  res.version(version);
  int status = r.status;
  if (status < 100 || status > 999) status = 500;
  res.result(static_cast<unsigned>(status));
  if (!r.content_type.empty() && IsFieldSafe(r.content_type)) {
    res.set(bhttp::field::content_type, r.content_type);
  }
  for (const auto& [name, value] : r.headers) {
    // The server owns the framing fields; CR/LF would split the header.
    if (!IsFieldSafe(name) || value.find_first_of("\r\n") != std::string::npos ||
        name.find_first_of(": \t") != std::string::npos ||
        absl::EqualsIgnoreCase(name, "Content-Length") ||
        absl::EqualsIgnoreCase(name, "Transfer-Encoding") ||
        absl::EqualsIgnoreCase(name, "Connection")) {
      continue;
    }
    res.insert(name, value);
  }
  if (status / 100 == 1 || status == 204 || status == 304) r.body.clear();
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  if (head) res.body().clear();  // Content-Length stays that of the full response
  return res;
}

bool IsProtocolError(const error_code& ec) {
  if (ec.category() != bhttp::make_error_code(bhttp::error::bad_method).category()) return false;
  return ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message &&
         ec != bhttp::error::need_more && ec != bhttp::error::short_read;
}

class SessionBase;
struct Listener;

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions options, Handler handler)
      : options(std::move(options)),
        handler(std::move(handler)),
        ioc(std::max(1, this->options.threads)) {}

  void Log(std::string_view msg) {
    if (options.log) options.log(msg);
  }
  // A response the server answers itself (see ServerOptions::error_response).
  Response ErrorResponse(int status, std::string_view message) {
    if (options.error_response) {
      try {
        Response r = options.error_response(status, message);
        r.status = status;
        return r;
      } catch (const std::exception& e) {
        Log(absl::StrCat("error_response threw: ", e.what()));
      } catch (...) {
        Log("error_response threw");
      }
    }
    return Response::Text(absl::StrCat(AV(message), "\n"), status);
  }
  bool stopping() const { return stopping_flag.load(std::memory_order_acquire); }

  void Register(const std::shared_ptr<SessionBase>& session);
  void Unregister(SessionBase* session);

  absl::StatusOr<int> Listen(const std::string& host_port, const TlsConfig* tls);
  absl::Status Start();
  void Stop(std::chrono::milliseconds grace);

  const ServerOptions options;
  const Handler handler;

  // Declared before ioc: sessions destroyed with the io_context unregister here.
  std::mutex mu;
  std::condition_variable cv;  // signalled when a session ends
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;  // guarded by mu
  bool started = false;                                                   // guarded by mu
  bool stop_called = false;                                               // guarded by mu
  std::atomic<bool> stopping_flag{false};

  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::shared_ptr<Listener>> listeners;  // guarded by mu
  std::vector<std::thread> threads;
};

namespace {

class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  explicit SessionBase(Server::Impl* impl) : impl_(impl) {}
  // Only a failing std::mutex can throw in Unregister(); terminating is right then.
  virtual ~SessionBase() { impl_->Unregister(this); }  // NOLINT(bugprone-exception-escape)

  // Registers the session and starts it on its strand.
  virtual void Begin() = 0;
  // Thread-safe: ask the session to finish its current request and close.
  virtual void PostServerStop() = 0;
  // Thread-safe: close the connection now.
  virtual void PostForceClose() = 0;

 protected:
  Server::Impl* const impl_;
};

struct Listener : std::enable_shared_from_this<Listener> {
  Listener(Server::Impl* impl, std::shared_ptr<ssl::context> tls)
      : impl(impl),
        strand(asio::make_strand(impl->ioc)),
        acceptor(strand),
        retry(strand),
        tls(std::move(tls)) {}

  // Accepts the next connection unless the server stops or is at max_connections (then
  // paused is set and Unregister resumes accepting). On the strand.
  void MaybeAccept() {
    std::lock_guard<std::mutex> lock(impl->mu);
    if (impl->stopping() || !acceptor.is_open()) return;
    if (impl->sessions.size() >= static_cast<size_t>(std::max(1, impl->options.max_connections))) {
      paused = true;
      return;
    }
    acceptor.async_accept(asio::make_strand(impl->ioc),
                          beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void OnAccept(error_code ec, tcp::socket socket);

  void Close() {
    asio::dispatch(strand, [self = shared_from_this()] {
      error_code ignored;
      self->acceptor.close(ignored);
      self->retry.cancel();
    });
  }

  Server::Impl* const impl;
  asio::strand<asio::io_context::executor_type> strand;
  tcp::acceptor acceptor;
  asio::steady_timer retry;  // backs off after accept errors (e.g. out of file descriptors)
  const std::shared_ptr<ssl::context> tls;
  std::string address;  // as given to Listen, for messages
  bool paused = false;  // guarded by impl->mu
};

// One connection. Derived provides stream() (a beast::tcp_stream or an ssl_stream over one),
// Start() (called on the strand first), Shutdown() (the graceful end after the last response)
// and is_tls()/peer_common_name()/peer_certificates().
template <class Derived>
class HttpSession : public SessionBase {
 public:
  HttpSession(Server::Impl* impl, std::string remote)
      : SessionBase(impl), remote_(std::move(remote)) {}

  void Begin() override {
    impl_->Register(shared_from_this());
    asio::dispatch(Tcp().get_executor(), [self = Shared()] { self->derived().Start(); });
  }

  void PostServerStop() override {
    asio::post(Tcp().get_executor(), [self = Shared()] { self->OnServerStop(); });
  }

  void PostForceClose() override {
    asio::post(Tcp().get_executor(), [self = Shared()] { self->DoClose(); });
  }

 protected:
  enum class State { kHandshake, kIdle, kReading, kHandling, kWriting, kClosing, kClosed };

  Derived& derived() { return static_cast<Derived&>(*this); }
  std::shared_ptr<Derived> Shared() {
    return std::static_pointer_cast<Derived>(this->shared_from_this());
  }
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(derived().stream()); }

  void OnServerStop() {
    close_after_response_ = true;
    if (state_ == State::kHandshake || state_ == State::kIdle || state_ == State::kClosing) {
      Tcp().cancel();
    }
  }

  // Waits for the first byte of the next request, unless bytes of it are buffered already.
  void DoRead(bool first) {
    if (impl_->stopping() || close_after_response_) return DoClose();
    if (buffer_.size() > 0) return StartRequest();
    state_ = State::kIdle;
    Tcp().expires_after(first ? impl_->options.read_timeout : impl_->options.idle_timeout);
    derived().stream().async_read_some(
        buffer_.prepare(4096), [self = Shared()](error_code ec, size_t n) {
          self->buffer_.commit(n);
          if (ec) return self->DoClose();  // EOF, timeout, Stop(): no request was begun
          self->StartRequest();
        });
  }

  void StartRequest() {
    state_ = State::kReading;
    parser_.emplace();
    parser_->header_limit(
        static_cast<uint32_t>(std::min<size_t>(impl_->options.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(static_cast<uint64_t>(impl_->options.max_body_bytes));
    Tcp().expires_after(impl_->options.read_timeout);
    bhttp::async_read_header(derived().stream(), buffer_, *parser_,
                             [self = Shared()](error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(error_code ec) {
    if (ec) return OnReadError(ec);
    const BeastRequest& req = parser_->get();
    if (req.version() >= 11 && !parser_->is_done() &&
        absl::EqualsIgnoreCase(AV(req[bhttp::field::expect]), "100-continue")) {
      continue_.emplace(bhttp::status::continue_, 11);
      bhttp::async_write(derived().stream(), *continue_, [self = Shared()](error_code ec, size_t) {
        if (ec) return self->DoClose();
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return OnRequest();
    bhttp::async_read(derived().stream(), buffer_, *parser_,
                      [self = Shared()](error_code ec, size_t) {
                        if (ec) return self->OnReadError(ec);
                        self->OnRequest();
                      });
  }

  void OnReadError(error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return WriteError(413, absl::StrCat("request body too large: the limit is ",
                                          impl_->options.max_body_bytes, " bytes"));
    }
    if (ec == bhttp::error::header_limit) {
      return WriteError(431, absl::StrCat("request header fields too large: the limit is ",
                                          impl_->options.max_header_bytes, " bytes"));
    }
    if (IsProtocolError(ec)) return WriteError(400, absl::StrCat("bad request: ", ec.message()));
    DoClose();  // the client went away or timed out mid-request
  }

  // Answers a request that could not be read and closes the connection.
  void WriteError(int status, const std::string& message) {
    unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    parser_.reset();
    close_after_response_ = true;
    Write(ToBeast(impl_->ErrorResponse(status, message), version, false, false));
  }

  void OnRequest() {
    state_ = State::kHandling;
    BeastRequest beast_req = parser_->release();
    parser_.reset();
    const unsigned version = beast_req.version();
    const bool keep_alive = beast_req.keep_alive();
    const bool head = beast_req.method() == bhttp::verb::head;
    absl::StatusOr<Request> req = ToRequest(std::move(beast_req));
    Response res;
    if (!req.ok()) {
      res = impl_->ErrorResponse(400, absl::StrCat("bad request: ", req.status().message()));
    } else {
      req->remote_address = remote_;
      req->tls = derived().is_tls();
      req->peer_common_name = derived().peer_common_name();
      req->peer_certificates = derived().peer_certificates();
      try {
        res = impl_->handler(*req);
      } catch (const std::exception& e) {
        impl_->Log(absl::StrCat("handler for ", req->method, " ", req->path, " threw: ", e.what()));
        res = impl_->ErrorResponse(500, "internal server error");
      } catch (...) {
        impl_->Log(absl::StrCat("handler for ", req->method, " ", req->path, " threw"));
        res = impl_->ErrorResponse(500, "internal server error");
      }
    }
    const bool close = !keep_alive || close_after_response_ || impl_->stopping();
    Write(ToBeast(std::move(res), version, !close, head));
  }

  void Write(BeastResponse res) {
    state_ = State::kWriting;
    res_.emplace(std::move(res));
    const bool close = !res_->keep_alive();
    Tcp().expires_after(impl_->options.write_timeout);
    bhttp::async_write(derived().stream(), *res_, [self = Shared(), close](error_code ec, size_t) {
      self->res_.reset();
      if (ec) return self->DoClose();
      if (close) {
        self->state_ = State::kClosing;
        return self->derived().Shutdown();
      }
      self->DoRead(false);
    });
  }

  void DoClose() {
    state_ = State::kClosed;
    Tcp().close();
  }

  beast::flat_buffer buffer_;
  State state_ = State::kHandshake;
  bool close_after_response_ = false;
  const std::string remote_;

 private:
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  std::optional<BeastResponse> res_;
};

class PlainSession : public HttpSession<PlainSession> {
 public:
  PlainSession(Server::Impl* impl, tcp::socket&& socket, std::string remote)
      : HttpSession(impl, std::move(remote)), stream_(std::move(socket)) {}

  beast::tcp_stream& stream() { return stream_; }
  bool is_tls() const { return false; }
  std::string peer_common_name() const { return ""; }
  std::vector<std::string> peer_certificates() const { return {}; }

  void Start() { DoRead(true); }

  // Half-closes and reads what the client still sends for a moment, so that closing with
  // unread input does not reset the connection before the client has read the response.
  void Shutdown() {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    // While the server stops, do not wait for clients that keep the connection open.
    if (ec || impl_->stopping()) return DoClose();
    stream_.expires_after(kLingerTime);
    Drain();
  }

 private:
  void Drain() {
    stream_.async_read_some(asio::buffer(drain_), [self = Shared()](error_code ec, size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kLingerBytes) return self->DoClose();
      self->Drain();
    });
  }

  beast::tcp_stream stream_;
  std::array<char, 4096> drain_;
  size_t drained_ = 0;
};

class TlsSession : public HttpSession<TlsSession> {
 public:
  TlsSession(Server::Impl* impl, tcp::socket&& socket, std::string remote,
             std::shared_ptr<ssl::context> ctx)
      : HttpSession(impl, std::move(remote)),
        ctx_(std::move(ctx)),
        stream_(std::move(socket), *ctx_),
        verifies_peer_(SSL_CTX_get_verify_callback(ctx_->native_handle()) !=
                       &AcceptAnyCertificate) {}

  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }
  bool is_tls() const { return true; }
  std::string peer_common_name() const { return peer_cn_; }
  const std::vector<std::string>& peer_certificates() const { return peer_certs_; }

  void Start() {
    if (impl_->stopping()) return DoClose();
    state_ = State::kHandshake;
    Tcp().expires_after(impl_->options.read_timeout);
    stream_.async_handshake(ssl::stream_base::server, [self = Shared()](error_code ec) {
      if (ec) {
        // A plain TCP probe (connect and close) is no news; anything else may be.
        if (ec != asio::error::eof && ec != ssl::error::stream_truncated &&
            ec != asio::error::operation_aborted) {
          self->impl_->Log(
              absl::StrCat("TLS handshake with ", self->remote_, " failed: ", ec.message()));
        }
        return self->DoClose();
      }
      SSL* native = self->stream_.native_handle();
      if (self->verifies_peer_) self->peer_cn_ = PeerCommonName(native);
      self->peer_certs_ = PeerCertificates(native);
      self->DoRead(true);
    });
  }

  void Shutdown() {
    if (impl_->stopping()) return DoClose();
    Tcp().expires_after(kLingerTime);
    stream_.async_shutdown([self = Shared()](error_code) { self->DoClose(); });
  }

 private:
  std::shared_ptr<ssl::context> ctx_;  // outlives stream_
  beast::ssl_stream<beast::tcp_stream> stream_;
  // Whether the handshake verified the client certificate (TlsConfig::client_ca_file), rather
  // than accepting any (request_client_cert).
  const bool verifies_peer_;
  std::string peer_cn_;
  std::vector<std::string> peer_certs_;
};

void Listener::OnAccept(error_code ec, tcp::socket socket) {
  if (ec) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    impl->Log(absl::StrCat("accept on ", address, ": ", ec.message()));
    retry.expires_after(std::chrono::milliseconds(100));
    retry.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->MaybeAccept();
    });
    return;
  }
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  tcp::endpoint remote_ep = socket.remote_endpoint(ignored);
  std::string remote = ignored ? "unknown" : FormatEndpoint(remote_ep);
  std::shared_ptr<SessionBase> session;
  if (tls) {
    session = std::make_shared<TlsSession>(impl, std::move(socket), std::move(remote), tls);
  } else {
    session = std::make_shared<PlainSession>(impl, std::move(socket), std::move(remote));
  }
  session->Begin();
  MaybeAccept();
}

}  // namespace

void Server::Impl::Register(const std::shared_ptr<SessionBase>& session) {
  std::lock_guard<std::mutex> lock(mu);
  sessions.emplace(session.get(), session);
}

void Server::Impl::Unregister(SessionBase* session) {
  std::lock_guard<std::mutex> lock(mu);
  sessions.erase(session);
  cv.notify_all();
  if (stopping() || sessions.size() >= static_cast<size_t>(std::max(1, options.max_connections))) {
    return;
  }
  for (const std::shared_ptr<Listener>& l : listeners) {
    if (!l->paused) continue;
    l->paused = false;
    asio::post(l->strand, [l] { l->MaybeAccept(); });
  }
}

absl::StatusOr<int> Server::Impl::Listen(const std::string& host_port, const TlsConfig* tls) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (stop_called) return absl::FailedPreconditionError("listen: the server is stopped");
  }
  absl::StatusOr<HostPort> hp = SplitHostPort(host_port);
  if (!hp.ok()) return hp.status();
  std::shared_ptr<ssl::context> ctx;
  if (tls != nullptr) {
    absl::StatusOr<std::shared_ptr<ssl::context>> built = BuildTlsContext(*tls);
    if (!built.ok()) {
      return absl::Status(built.status().code(), absl::StrCat("listen on \"", host_port,
                                                              "\": ", built.status().message()));
    }
    ctx = std::move(*built);
  }
  auto fail = [&](std::string_view what, const error_code& ec) {
    return absl::UnavailableError(
        absl::StrCat("listen on \"", host_port, "\": ", AV(what), ": ", ec.message()));
  };

  std::vector<tcp::endpoint> candidates;
  error_code ec;
  if (hp->host.empty()) {
    candidates.emplace_back(tcp::v6(), hp->port);  // dual-stack when the kernel allows
    candidates.emplace_back(tcp::v4(), hp->port);
  } else if (asio::ip::address addr = asio::ip::make_address(hp->host, ec); !ec) {
    candidates.emplace_back(addr, hp->port);
  } else {
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(hp->host, std::to_string(hp->port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
      return fail(absl::StrCat("cannot resolve host \"", hp->host, "\""), ec);
    }
    candidates.push_back(results.begin()->endpoint());
  }

  auto listener = std::make_shared<Listener>(this, std::move(ctx));
  listener->address = host_port;
  tcp::acceptor& acceptor = listener->acceptor;
  // Only the wildcard address has a second candidate: IPv4 when IPv6 is unavailable.
  tcp::endpoint ep;
  for (const tcp::endpoint& candidate : candidates) {
    acceptor.open(candidate.protocol(), ec);
    if (!ec) {
      ep = candidate;
      break;
    }
  }
  if (ec) return fail("open socket", ec);
  if (ep.protocol() == tcp::v6() && hp->host.empty()) {
    acceptor.set_option(asio::ip::v6_only(false), ec);
  }
  acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  acceptor.bind(ep, ec);
  if (ec) return fail("bind", ec);
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen", ec);
  tcp::endpoint bound = acceptor.local_endpoint(ec);
  if (ec) return fail("local address", ec);

  std::lock_guard<std::mutex> lock(mu);
  if (stop_called) return absl::FailedPreconditionError("listen: the server is stopped");
  listeners.push_back(listener);
  asio::post(listener->strand, [listener] { listener->MaybeAccept(); });
  return static_cast<int>(bound.port());
}

absl::Status Server::Impl::Start() {
  std::lock_guard<std::mutex> lock(mu);
  if (stop_called) return absl::FailedPreconditionError("start: the server is stopped");
  if (started) return absl::FailedPreconditionError("start: the server is running already");
  started = true;
  work.emplace(asio::make_work_guard(ioc));
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    threads.emplace_back([this] {
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {
          Log(absl::StrCat("io thread: ", e.what()));
        }
      }
    });
  }
  return absl::OkStatus();
}

void Server::Impl::Stop(std::chrono::milliseconds grace) {
  std::vector<std::shared_ptr<Listener>> to_close;
  std::vector<std::shared_ptr<SessionBase>> live;
  auto collect = [&] {
    for (auto& [ptr, weak] : sessions) {
      if (std::shared_ptr<SessionBase> s = weak.lock()) live.push_back(std::move(s));
    }
  };
  std::unique_lock<std::mutex> lock(mu);
  if (stop_called) return;
  stop_called = true;
  stopping_flag.store(true, std::memory_order_release);
  to_close = listeners;
  collect();
  const bool was_started = started;
  lock.unlock();

  for (const std::shared_ptr<Listener>& l : to_close) {
    if (was_started) {
      l->Close();
    } else {
      error_code ignored;
      l->acceptor.close(ignored);
    }
  }
  if (!was_started) return;
  for (const std::shared_ptr<SessionBase>& s : live) s->PostServerStop();
  live.clear();  // may end sessions, which take mu: not held here

  lock.lock();
  if (!cv.wait_for(lock, grace, [&] { return sessions.empty(); })) {
    Log(absl::StrCat("stop: closing ", sessions.size(), " connection(s) still busy after ",
                     grace.count(), "ms"));
    collect();
    lock.unlock();
    for (const std::shared_ptr<SessionBase>& s : live) s->PostForceClose();
    live.clear();
    lock.lock();
    cv.wait_for(lock, kForceCloseWait, [&] { return sessions.empty(); });
  }
  lock.unlock();

  work.reset();
  ioc.stop();
  for (std::thread& t : threads) {
    // Stop() from a handler is a misuse (see server.h); do not deadlock on it.
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();
    } else {
      t.join();
    }
  }
  threads.clear();
}

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

// Only a failing std::mutex can throw in Stop(); terminating is right then.
Server::~Server() { Stop(); }  // NOLINT(bugprone-exception-escape)

absl::StatusOr<int> Server::Listen(const std::string& host_port, const TlsConfig* tls) {
  return impl_->Listen(host_port, tls);
}

absl::Status Server::Start() { return impl_->Start(); }

void Server::Stop(std::chrono::milliseconds grace) { impl_->Stop(grace); }

}  // namespace http
