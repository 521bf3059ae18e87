#include "adapter/http/client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <exception>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

std::string ClientUrl::ForErrors() const {
  return absl::StrCat(https ? "https://" : "http://", authority,
                      AV(std::string_view(target).substr(0, target.find('?'))));
}

absl::StatusOr<ClientUrl> ParseClientUrl(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrFormat("invalid URL \"%s\": %s", url, why));
  };
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return bad("want http(s)://host[:port][/path]");
  std::string scheme = absl::AsciiStrToLower(AV(url.substr(0, scheme_end)));
  if (scheme != "http" && scheme != "https") return bad("the scheme must be http or https");
  ClientUrl out;
  out.https = scheme == "https";
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('#'));
  size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  if (end == std::string_view::npos) {
    out.target = "/";
  } else {
    out.target = std::string(rest.substr(end));
    if (out.target[0] == '?') out.target.insert(0, "/");
  }
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    out.userinfo = std::string(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("missing ']' in the host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("unexpected characters after the host");
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    if (authority.find(':') != colon) return bad("an IPv6 address must be in brackets");
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return bad("no host");
  out.host = std::string(host);
  out.port = out.https ? 443 : 80;
  if (!port.empty()) {
    uint32_t p = 0;
    if (!absl::SimpleAtoi(AV(port), &p) || p == 0 || p > 65535 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return bad(absl::StrFormat("invalid port \"%s\"", port));
    }
    out.port = static_cast<uint16_t>(p);
  }
  out.authority = std::string(authority);
  return out;
}

std::string ClientResponse::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (absl::EqualsIgnoreCase(n, AV(name))) return v;
  }
  return "";
}

void CancelToken::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_) return;
  cancelled_ = true;
  for (auto& [id, stop] : stops_) stop();
}

bool CancelToken::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

int CancelToken::Register(std::function<void()> stop) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_) stop();
  int id = next_id_++;
  stops_.emplace_back(id, std::move(stop));
  return id;
}

void CancelToken::Unregister(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = stops_.begin(); it != stops_.end(); ++it) {
    if (it->first == id) {
      stops_.erase(it);
      return;
    }
  }
}

namespace {

// What one call's coroutine reports back to the calling thread.
struct CallState {
  ClientResponse response;
  bool header_done = false;
  bool too_large = false;
};

struct CallParams {
  const ClientUrl* url;
  bhttp::request<bhttp::string_body>* request;
  CallState* state;
  std::chrono::steady_clock::time_point deadline;
  const std::function<bool(std::string_view)>* on_data;  // null for Do
  std::chrono::milliseconds idle_timeout;
  size_t max_body;
};

template <class S>
asio::awaitable<void> Exchange(S& stream, const CallParams& p) {
  co_await bhttp::async_write(stream, *p.request, asio::use_awaitable);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.header_limit(64 * 1024);
  co_await bhttp::async_read_header(stream, buffer, parser, asio::use_awaitable);
  CallState& st = *p.state;
  st.header_done = true;
  auto& msg = parser.get();
  st.response.status = static_cast<int>(msg.result_int());
  for (const auto& field : msg) {
    st.response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  const bool streaming = p.on_data != nullptr;
  const bool deliver = streaming && st.response.status >= 200 && st.response.status < 300;
  char buf[16384];
  while (!parser.is_done()) {
    msg.body().data = buf;
    msg.body().size = sizeof buf;
    if (streaming) {
      if (p.idle_timeout.count() > 0) {
        beast::get_lowest_layer(stream).expires_after(p.idle_timeout);
      } else {
        beast::get_lowest_layer(stream).expires_never();
      }
    }
    boost::system::error_code ec;
    co_await bhttp::async_read_some(stream, buffer, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) throw boost::system::system_error(ec);
    size_t n = sizeof buf - msg.body().size;
    if (n == 0) continue;
    if (deliver) {
      if (!(*p.on_data)(std::string_view(buf, n))) co_return;
    } else {
      if (st.response.body.size() + n > p.max_body) {
        st.too_large = true;
        co_return;
      }
      st.response.body.append(buf, n);
    }
  }
}

}  // namespace

class Client::Impl {
 public:
  explicit Impl(ClientOptions options) : options_(std::move(options)) {}

  absl::Status SetUpTls() {
    if (options_.cert_file.empty() && options_.cert_pem.empty() &&
        (!options_.key_file.empty() || !options_.key_pem.empty())) {
      return absl::InvalidArgumentError("a client key needs a client certificate");
    }
    if ((!options_.cert_file.empty() || !options_.cert_pem.empty()) && options_.key_file.empty() &&
        options_.key_pem.empty()) {
      return absl::InvalidArgumentError("a client certificate needs a key");
    }
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    boost::system::error_code ec;
    if (!options_.ca_file.empty()) {
      ctx->load_verify_file(options_.ca_file, ec);
      if (ec) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot load the CA file ", options_.ca_file, ": ", ec.message()));
      }
    }
    if (!options_.ca_pem.empty()) {
      ctx->add_certificate_authority(asio::buffer(options_.ca_pem), ec);
      if (ec) {
        return absl::InvalidArgumentError(absl::StrCat("cannot load the CA data: ", ec.message()));
      }
    }
    if (options_.ca_file.empty() && options_.ca_pem.empty()) ctx->set_default_verify_paths(ec);
    if (!options_.cert_file.empty()) {
      ctx->use_certificate_chain_file(options_.cert_file, ec);
      if (ec) {
        return absl::InvalidArgumentError(absl::StrCat("cannot load the client certificate ",
                                                       options_.cert_file, ": ", ec.message()));
      }
    } else if (!options_.cert_pem.empty()) {
      ctx->use_certificate_chain(asio::buffer(options_.cert_pem), ec);
      if (ec) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot load the client certificate data: ", ec.message()));
      }
    }
    if (!options_.key_file.empty()) {
      ctx->use_private_key_file(options_.key_file, asio::ssl::context::pem, ec);
      if (ec) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot load the client key ", options_.key_file, ": ", ec.message()));
      }
    } else if (!options_.key_pem.empty()) {
      ctx->use_private_key(asio::buffer(options_.key_pem), asio::ssl::context::pem, ec);
      if (ec) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot load the client key data: ", ec.message()));
      }
    }
    ctx->set_verify_mode(options_.insecure_skip_verify ? asio::ssl::verify_none
                                                       : asio::ssl::verify_peer);
    ssl_ = std::move(ctx);
    return absl::OkStatus();
  }

  const ClientOptions& options() const { return options_; }

  absl::StatusOr<ClientResponse> Call(const ClientRequest& request,
                                      const std::function<bool(std::string_view)>* on_data,
                                      CancelToken* cancel) const {
    absl::StatusOr<ClientUrl> url = ParseClientUrl(request.url);
    if (!url.ok()) return url.status();
    const std::string method = request.method.empty() ? "GET" : request.method;
    auto fail = [&](absl::StatusCode code, std::string_view why) {
      return absl::Status(code, absl::StrCat(method, " ", url->ForErrors(), ": ", AV(why)));
    };
    if (cancel != nullptr && cancel->cancelled()) {
      return fail(absl::StatusCode::kCancelled, "cancelled");
    }
    const std::chrono::milliseconds timeout =
        request.timeout.count() > 0 ? request.timeout : options_.timeout;
    const auto deadline = std::chrono::steady_clock::now() + timeout;

    bhttp::request<bhttp::string_body> req;
    req.method_string(method);
    req.target(url->target);
    req.version(11);
    req.set(bhttp::field::host, url->authority);
    if (!options_.user_agent.empty()) req.set(bhttp::field::user_agent, options_.user_agent);
    for (const auto& [name, value] : options_.headers) req.insert(name, value);
    for (const auto& [name, value] : request.headers) req.insert(name, value);
    if (!request.body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      req.body() = request.body;
    }
    req.prepare_payload();

    CallState state;
    CallParams params{
        &*url, &req, &state, deadline, on_data, options_.idle_timeout, options_.max_response_bytes};
    std::exception_ptr failure;
    bool finished = false;
    asio::io_context ioc;
    int registration = 0;
    if (cancel != nullptr) registration = cancel->Register([&ioc] { ioc.stop(); });
    asio::co_spawn(ioc, Session(params), [&](std::exception_ptr e) {
      failure = std::move(e);
      finished = true;
    });
    bool timed_out = false;
    while (!finished && !ioc.stopped()) {
      // The stream's expiry bounds connect, handshake and reads; the resolver has none of its
      // own, so the deadline is also checked here.
      if (!state.header_done &&
          std::chrono::steady_clock::now() > deadline + std::chrono::milliseconds(100)) {
        timed_out = true;
        break;
      }
      ioc.run_one_for(std::chrono::milliseconds(50));
    }
    if (cancel != nullptr) cancel->Unregister(registration);
    const std::string timeout_text = absl::StrCat("timeout after ", timeout.count(), "ms");
    if (!finished) {
      if (!timed_out && cancel != nullptr && cancel->cancelled()) {
        return fail(absl::StatusCode::kCancelled, "cancelled");
      }
      return fail(absl::StatusCode::kDeadlineExceeded, timeout_text);
    }
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const boost::system::system_error& e) {
        if (e.code() == beast::error::timeout) {
          if (state.header_done && on_data != nullptr) {
            return fail(absl::StatusCode::kDeadlineExceeded,
                        absl::StrCat("no data for ", options_.idle_timeout.count(), "ms"));
          }
          return fail(absl::StatusCode::kDeadlineExceeded, timeout_text);
        }
        std::string why = e.code().message();
        if (e.code() == bhttp::error::partial_message || e.code() == asio::error::eof ||
            e.code() == bhttp::error::end_of_stream) {
          why = state.header_done ? "the connection closed before the end of the response"
                                  : "the connection closed before a response";
        }
        return fail(absl::StatusCode::kUnavailable, why);
      } catch (const std::exception& e) {
        return fail(absl::StatusCode::kUnavailable, e.what());
      }
    }
    if (state.too_large) {
      return fail(
          absl::StatusCode::kResourceExhausted,
          absl::StrCat("the response body exceeds ", options_.max_response_bytes, " bytes"));
    }
    return std::move(state.response);
  }

 private:
  asio::awaitable<void> Session(CallParams p) const {
    auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    beast::tcp_stream tcp_stream(executor);
    tcp_stream.expires_at(p.deadline);
    auto endpoints = co_await resolver.async_resolve(p.url->host, std::to_string(p.url->port),
                                                     asio::use_awaitable);
    co_await tcp_stream.async_connect(endpoints, asio::use_awaitable);
    if (!p.url->https) {
      co_await Exchange(tcp_stream, p);
      beast::error_code ignored;
      tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> tls(std::move(tcp_stream), *ssl_);
    SSL* ssl = tls.native_handle();
    const std::string& name = options_.server_name.empty() ? p.url->host : options_.server_name;
    boost::system::error_code addr_ec;
    asio::ip::make_address(name, addr_ec);
    if (addr_ec) {
      SSL_set_tlsext_host_name(ssl, name.c_str());
      if (!options_.insecure_skip_verify) SSL_set1_host(ssl, name.c_str());
    } else if (!options_.insecure_skip_verify) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
    }
    co_await tls.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    co_await Exchange(tls, p);
    beast::error_code ignored;
    beast::get_lowest_layer(tls).socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  ClientOptions options_;
  std::unique_ptr<asio::ssl::context> ssl_;
};

absl::StatusOr<std::unique_ptr<Client>> Client::New(ClientOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (absl::Status st = impl->SetUpTls(); !st.ok()) return st;
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

const ClientOptions& Client::options() const { return impl_->options(); }

absl::StatusOr<ClientResponse> Client::Do(const ClientRequest& request, CancelToken* cancel) const {
  return impl_->Call(request, nullptr, cancel);
}

absl::StatusOr<ClientResponse> Client::Stream(const ClientRequest& request,
                                              const std::function<bool(std::string_view)>& on_data,
                                              CancelToken* cancel) const {
  return impl_->Call(request, &on_data, cancel);
}

}  // namespace http
