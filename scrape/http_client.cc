// HttpClient: Boost.Beast over an io_context run by a fixed number of threads.
//
// Each ScrapeClient lives on its own strand. A fetch is one coroutine on that strand:
//   [resolve -> connect -> TLS handshake] (only without an open connection) -> write the request
//   -> read the header -> check status and size -> read the body -> [inflate]
// A deadline timer on the same strand closes the connection when the request's deadline passes;
// the coroutine then fails with "context deadline exceeded". Close() and CancelFetch() close the
// connection the same way. Callbacks learn about Close() through closed_ and never run after it.
#include "scrape/http_client.h"

#include <openssl/ssl.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <exception>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace scrape {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// Response header block bound (Go's transport allows 1 MiB as well... it allows 10 MiB; a
// scrape target has no reason to send more than this).
constexpr uint32_t kMaxHeaderBytes = 1 << 20;
// A Content-Length never makes the body buffer reserve more than this up front.
constexpr uint64_t kMaxReserve = 16 << 20;
// The read buffer of a fetch: Beast reads at most what the buffer has room for, so a small buffer
// means a recv() per half kilobyte. Released after each fetch (a thousand idle keep-alive
// connections should not hold 64 KiB each).
constexpr size_t kReadBufferBytes = 64 << 10;

absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }
absl::string_view AV(beast::string_view s) { return absl::string_view(s.data(), s.size()); }

// Go spells system errors in lower case ("connection refused").
std::string ErrorText(const error_code& ec) {
  std::string text = ec.message();
  if (!text.empty() && ec.category() == boost::system::system_category()) {
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  }
  return text;
}

bool IsIpAddress(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string HostPort(const Endpoint& e) {
  if (e.host.find(':') != std::string::npos) return absl::StrCat("[", e.host, "]:", e.port);
  return absl::StrCat(e.host, ":", e.port);
}

// A string body that does not trust Content-Length for its up-front allocation.
struct BoundedStringBody {
  using value_type = std::string;

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(bhttp::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, error_code& ec) {
      if (length) body_.reserve(static_cast<size_t>(std::min<uint64_t>(*length, kMaxReserve)));
      ec = {};
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, error_code& ec) {
      size_t n = 0;
      for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
           ++it) {
        asio::const_buffer b = *it;
        body_.append(static_cast<const char*>(b.data()), b.size());
        n += b.size();
      }
      ec = {};
      return n;
    }

    void finish(error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

using ResponseParser = bhttp::response_parser<BoundedStringBody>;

}  // namespace

absl::StatusOr<Endpoint> ParseEndpoint(std::string_view scheme, std::string_view address) {
  Endpoint e;
  if (scheme == "http") {
    e.https = false;
  } else if (scheme == "https") {
    e.https = true;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported scheme \"", AV(scheme), "\" (use http or https)"));
  }
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid target address \"", AV(address), "\": ", AV(why)));
  };
  if (address.empty()) return bad("empty");
  std::string_view port;
  if (address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    e.host = std::string(address.substr(1, close - 1));
    std::string_view rest = address.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("expected ':' after ']'");
      port = rest.substr(1);
      if (port.empty()) return bad("empty port");
    }
  } else {
    size_t colon = address.rfind(':');
    if (colon != std::string_view::npos) {
      if (address.substr(0, colon).find(':') != std::string_view::npos) {
        return bad("an IPv6 address must be in brackets");
      }
      e.host = std::string(address.substr(0, colon));
      port = address.substr(colon + 1);
      if (port.empty()) return bad("empty port");
    } else {
      e.host = std::string(address);
    }
  }
  if (e.host.empty()) return bad("empty host");
  for (char c : e.host) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '?' || c == '#' || c == '@') {
      return bad("bad character in host");
    }
  }
  if (port.empty()) {
    e.port = e.https ? 443 : 80;
  } else {
    uint32_t p = 0;
    if (!std::all_of(port.begin(), port.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(AV(port), &p) || p == 0 || p > 65535) {
      return bad(absl::StrCat("bad port \"", AV(port), "\""));
    }
    e.port = static_cast<uint16_t>(p);
  }
  return e;
}

absl::Status GunzipBody(std::string_view in, int64_t limit, std::string* out) {
  out->clear();
  if (in.empty()) return absl::DataLossError("decompressing gzip body: empty body");
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return absl::InternalError("decompressing gzip body: cannot initialise zlib");
  }
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(std::min<size_t>(in.size(), UINT32_MAX));
  size_t remaining_in = in.size() - zs.avail_in;
  absl::Status status;
  constexpr size_t kStep = 64 << 10;
  out->reserve(std::min<size_t>(in.size() * 4 + 1024, kMaxReserve));
  while (true) {
    size_t old = out->size();
    out->resize(old + kStep);
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + old);
    zs.avail_out = static_cast<uInt>(kStep);
    int rc = inflate(&zs, Z_NO_FLUSH);
    out->resize(old + kStep - zs.avail_out);
    if (limit > 0 && out->size() > static_cast<size_t>(limit)) {
      status = absl::ResourceExhaustedError("body size limit exceeded");
      break;
    }
    if (zs.avail_in == 0 && remaining_in > 0) {
      size_t more = std::min<size_t>(remaining_in, UINT32_MAX);
      zs.avail_in = static_cast<uInt>(more);
      remaining_in -= more;
    }
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0 && remaining_in == 0) break;
      // Another gzip member follows (as gunzip and Go's gzip reader accept).
      if (inflateReset(&zs) != Z_OK) {
        status = absl::DataLossError("decompressing gzip body: cannot reset zlib");
        break;
      }
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && remaining_in == 0) {
      status = absl::DataLossError("decompressing gzip body: unexpected end of data");
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      status = absl::DataLossError(
          absl::StrCat("decompressing gzip body: ", zs.msg != nullptr ? zs.msg : "corrupt data"));
      break;
    }
  }
  inflateEnd(&zs);
  if (!status.ok()) out->clear();
  return status;
}

class ClientImpl;

class HttpClient::Impl {
 public:
  explicit Impl(int threads) : ioc_(std::max(1, threads)), work_(asio::make_work_guard(ioc_)) {
    for (int i = 0; i < std::max(1, threads); ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
  }

  asio::io_context& ioc() { return ioc_; }

  bool Register(const std::shared_ptr<ClientImpl>& client) {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    // Forget clients that are gone, now and then.
    if (clients_.size() >= 64 && clients_.size() >= 2 * live_hint_) {
      std::erase_if(clients_, [](const std::weak_ptr<ClientImpl>& w) { return w.expired(); });
      live_hint_ = clients_.size();
    }
    clients_.push_back(client);
    return true;
  }

  void Stop();

  // True once the threads are gone: nothing posted runs any more.
  bool joined() const { return joined_.load(std::memory_order_acquire); }

 private:
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  bool stopping_ = false;
  std::vector<std::weak_ptr<ClientImpl>> clients_;
  size_t live_hint_ = 0;
  std::atomic<bool> joined_{false};
};

class ClientImpl final : public ScrapeClient, public std::enable_shared_from_this<ClientImpl> {
 public:
  ClientImpl(std::shared_ptr<HttpClient::Impl> pool, ClientConfig config,
             std::unique_ptr<ssl::context> ssl_ctx, std::string user_agent, absl::Status setup)
      : pool_(std::move(pool)),
        config_(std::move(config)),
        ssl_ctx_(std::move(ssl_ctx)),
        user_agent_(std::move(user_agent)),
        setup_error_(std::move(setup)),
        strand_(asio::make_strand(pool_->ioc())),
        resolver_(strand_),
        run_timer_(strand_),
        deadline_timer_(strand_) {}

  ~ClientImpl() override = default;

  void Fetch(FetchRequest request, FetchCallback done) override {
    asio::dispatch(strand_, [self = shared_from_this(), request = std::move(request),
                             done = std::move(done)]() mutable {
      self->StartFetch(std::move(request), std::move(done));
    });
  }

  void RunAt(std::chrono::steady_clock::time_point when, std::function<void()> fn) override {
    asio::dispatch(strand_, [self = shared_from_this(), when, fn = std::move(fn)]() mutable {
      if (self->closed_.load()) return;
      uint64_t gen = ++self->run_gen_;
      self->run_timer_.expires_at(when);
      self->run_timer_.async_wait([self, gen, fn = std::move(fn)](error_code ec) {
        if (ec || self->closed_.load() || gen != self->run_gen_) return;
        fn();
      });
    });
  }

  void CancelFetch() override {
    asio::dispatch(strand_, [self = shared_from_this()] {
      if (!self->fetching_) return;
      self->cancelled_ = true;
      self->AbortIo();
    });
  }

  void Close() override {
    if (closed_.exchange(true)) {
      // Already closed; still wait for a callback of another thread to finish, as promised.
      if (strand_.running_in_this_thread() || pool_->joined()) return;
    }
    auto shut = [self = shared_from_this()] {
      ++self->run_gen_;
      self->run_timer_.cancel();
      self->AbortIo();
    };
    if (strand_.running_in_this_thread() || pool_->joined()) {
      shut();
      return;
    }
    auto done = std::make_shared<std::promise<void>>();
    std::future<void> finished = done->get_future();
    asio::post(strand_, [shut, done] {
      shut();
      done->set_value();
    });
    while (finished.wait_for(std::chrono::milliseconds(50)) == std::future_status::timeout) {
      if (pool_->joined()) {
        shut();  // no thread will run the posted work any more
        return;
      }
    }
  }

 private:
  bool Connected() const {
    return config_.endpoint.https ? (tls_ != nullptr && tls_->next_layer().is_open())
                                  : (socket_ != nullptr && socket_->is_open());
  }

  // Closes the connection (and any operation on it) and cancels a resolution in progress.
  void AbortIo() {
    resolver_.cancel();
    CloseConnection();
  }

  void CloseConnection() {
    error_code ignored;
    if (socket_ != nullptr) socket_->close(ignored);
    if (tls_ != nullptr) tls_->next_layer().close(ignored);
    buffer_.clear();
    buffer_.shrink_to_fit();
  }

  void StartFetch(FetchRequest request, FetchCallback done) {
    if (closed_.load()) return;
    if (fetching_ || !setup_error_.ok()) {
      absl::Status error =
          fetching_
              ? absl::FailedPreconditionError("a fetch is already in progress for this target")
              : setup_error_;
      asio::post(strand_, [self = shared_from_this(), done = std::move(done), error] {
        if (!self->closed_.load()) done(error);
      });
      return;
    }
    fetching_ = true;
    timed_out_ = false;
    cancelled_ = false;
    uint64_t gen = ++fetch_gen_;
    deadline_timer_.expires_at(request.deadline);
    deadline_timer_.async_wait([self = shared_from_this(), gen](error_code ec) {
      if (ec || !self->fetching_ || gen != self->fetch_gen_) return;
      self->timed_out_ = true;
      self->AbortIo();
    });
    asio::co_spawn(strand_, FetchTask(shared_from_this(), std::move(request), std::move(done), gen),
                   [](const std::exception_ptr&) {});
  }

  static asio::awaitable<void> FetchTask(std::shared_ptr<ClientImpl> self, FetchRequest request,
                                         FetchCallback done, uint64_t gen) {
    absl::StatusOr<FetchResponse> result = absl::UnknownError("no attempt");
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool may_retry = false;
      try {
        result = co_await self->Attempt(request, &may_retry);
      } catch (const std::exception& e) {
        result = absl::InternalError(absl::StrCat("Get \"", request.url, "\": ", e.what()));
      }
      if (result.ok() || !may_retry || self->timed_out_ || self->cancelled_ ||
          self->closed_.load()) {
        break;
      }
      self->CloseConnection();
    }
    if (!result.ok()) self->CloseConnection();
    if (self->closed_.load() || gen != self->fetch_gen_) co_return;
    self->fetching_ = false;
    self->deadline_timer_.cancel();
    if (!result.ok()) {
      if (self->timed_out_) {
        result = absl::DeadlineExceededError(
            absl::StrCat("Get \"", request.url, "\": context deadline exceeded"));
      } else if (self->cancelled_) {
        result = absl::CancelledError(absl::StrCat("Get \"", request.url, "\": context canceled"));
      }
    }
    done(std::move(result));
  }

  asio::awaitable<absl::StatusOr<FetchResponse>> Attempt(const FetchRequest& request,
                                                         bool* may_retry) {
    for (const auto& [name, value] : request.headers) {
      if (name.find_first_of("\r\n:") != std::string::npos ||
          value.find_first_of("\r\n") != std::string::npos) {
        co_return absl::InvalidArgumentError(
            absl::StrCat("invalid header field \"", name, "\" for ", request.url));
      }
    }
    bool reused = Connected();
    if (!reused) {
      if (absl::Status st = co_await Connect(request); !st.ok()) co_return st;
    }
    absl::StatusOr<FetchResponse> r = absl::UnknownError("no exchange");
    if (config_.endpoint.https) {
      r = co_await Exchange(*tls_, request, reused, may_retry);
    } else {
      r = co_await Exchange(*socket_, request, reused, may_retry);
    }
    if (r.ok()) r->reused_connection = reused;
    co_return r;
  }

  asio::awaitable<absl::Status> Connect(const FetchRequest& request) {
    const Endpoint& ep = config_.endpoint;
    auto fail = [&](std::string_view what) {
      return absl::UnavailableError(absl::StrCat("Get \"", request.url, "\": ", AV(what)));
    };
    auto [rec, results] =
        co_await resolver_.async_resolve(ep.host, std::to_string(ep.port), kNoThrow);
    if (rec) co_return fail(absl::StrCat("dial tcp: lookup ", ep.host, ": ", ErrorText(rec)));
    std::unique_ptr<ssl::stream<tcp::socket>> tls;
    std::unique_ptr<tcp::socket> plain;
    tcp::socket* sock;
    if (ep.https) {
      tls = std::make_unique<ssl::stream<tcp::socket>>(strand_, *ssl_ctx_);
      sock = &tls->next_layer();
      tls_ = std::move(tls);
      socket_.reset();
    } else {
      plain = std::make_unique<tcp::socket>(strand_);
      sock = plain.get();
      socket_ = std::move(plain);
      tls_.reset();
    }
    buffer_.clear();
    auto [cec, connected] = co_await asio::async_connect(*sock, results, kNoThrow);
    if (cec) {
      co_return fail(absl::StrCat("dial tcp ", HostPort(ep), ": connect: ", ErrorText(cec)));
    }
    error_code ignored;
    sock->set_option(tcp::no_delay(true), ignored);
    if (ep.https) {
      const std::string& name = config_.tls.server_name.empty() ? ep.host : config_.tls.server_name;
      if (!IsIpAddress(name)) SSL_set_tlsext_host_name(tls_->native_handle(), name.c_str());
      if (!config_.tls.insecure_skip_verify) {
        tls_->set_verify_mode(ssl::verify_peer);
        tls_->set_verify_callback(ssl::host_name_verification(name));
      } else {
        tls_->set_verify_mode(ssl::verify_none);
      }
      auto [hec] = co_await tls_->async_handshake(ssl::stream_base::client, kNoThrow);
      if (hec) co_return fail(absl::StrCat("tls: ", ErrorText(hec)));
    }
    co_return absl::OkStatus();
  }

  template <class Stream>
  asio::awaitable<absl::StatusOr<FetchResponse>> Exchange(Stream& stream,
                                                          const FetchRequest& request, bool reused,
                                                          bool* may_retry) {
    auto fail = [&](std::string_view what) {
      return absl::UnavailableError(absl::StrCat("Get \"", request.url, "\": ", AV(what)));
    };
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, request.target, 11};
    req.set(bhttp::field::host, request.host_header);
    req.set(bhttp::field::user_agent, user_agent_);
    req.set(bhttp::field::accept_encoding, "gzip");
    for (const auto& [name, value] : request.headers) req.set(name, value);
    auto [wec, wn] = co_await bhttp::async_write(stream, req, kNoThrow);
    if (wec) {
      *may_retry = reused;
      co_return fail(absl::StrCat("write: ", ErrorText(wec)));
    }

    const int64_t limit = request.body_size_limit;
    // The wire bound: the limit itself, plus slack for gzip framing of incompressible data.
    const uint64_t wire_limit =
        limit > 0 ? static_cast<uint64_t>(limit) + static_cast<uint64_t>(limit) / 512 + 4096
                  : UINT64_MAX;
    ResponseParser parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(wire_limit);
    buffer_.reserve(kReadBufferBytes);
    auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer_, parser, kNoThrow);
    if (hec) {
      // A reused connection the server had closed: nothing of a response arrived.
      if (reused && !parser.got_some() &&
          (hec == bhttp::error::end_of_stream || hec == asio::error::eof ||
           hec == asio::error::connection_reset || hec == asio::error::broken_pipe)) {
        *may_retry = true;
      }
      if (hec == bhttp::error::body_limit)
        co_return absl::ResourceExhaustedError("body size limit exceeded");
      co_return fail(absl::StrCat("reading the response header: ", ErrorText(hec)));
    }
    const auto& header = parser.get();
    int status = header.result_int();
    if (status != 200) {
      CloseConnection();
      std::string reason(header.reason());
      co_return absl::UnavailableError(
          absl::StrCat("server returned HTTP status ", status, reason.empty() ? "" : " ", reason));
    }
    bool gzip = absl::EqualsIgnoreCase(
        absl::StripAsciiWhitespace(AV(header[bhttp::field::content_encoding])), "gzip");
    if (limit > 0 && !gzip) {
      if (parser.content_length() && *parser.content_length() > static_cast<uint64_t>(limit)) {
        CloseConnection();
        co_return absl::ResourceExhaustedError("body size limit exceeded");
      }
      parser.body_limit(static_cast<uint64_t>(limit));
    }
    auto [bec, bn] = co_await bhttp::async_read(stream, buffer_, parser, kNoThrow);
    if (bec) {
      CloseConnection();
      if (bec == bhttp::error::body_limit) {
        co_return absl::ResourceExhaustedError("body size limit exceeded");
      }
      co_return absl::UnavailableError(
          absl::StrCat("reading the response body from \"", request.url, "\": ", ErrorText(bec)));
    }
    buffer_.shrink_to_fit();
    FetchResponse out;
    out.status = status;
    out.content_type = std::string(parser.get()[bhttp::field::content_type]);
    bool keep = parser.get().keep_alive() && !parser.need_eof();
    auto message = parser.release();
    std::string body = std::move(message.body());
    out.wire_body_bytes = body.size();
    if (!keep) CloseConnection();
    if (gzip) {
      if (absl::Status st = GunzipBody(body, limit, &out.body); !st.ok()) co_return st;
    } else {
      out.body = std::move(body);
    }
    co_return out;
  }

  const std::shared_ptr<HttpClient::Impl> pool_;
  const ClientConfig config_;
  const std::unique_ptr<ssl::context> ssl_ctx_;
  const std::string user_agent_;
  const absl::Status setup_error_;
  asio::strand<asio::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  asio::steady_timer run_timer_;
  asio::steady_timer deadline_timer_;
  std::atomic<bool> closed_{false};

  // Strand-only state.
  std::unique_ptr<tcp::socket> socket_;            // plain connection
  std::unique_ptr<ssl::stream<tcp::socket>> tls_;  // or TLS connection
  beast::flat_buffer buffer_;
  bool fetching_ = false;
  bool timed_out_ = false;
  bool cancelled_ = false;
  uint64_t fetch_gen_ = 0;
  uint64_t run_gen_ = 0;
};

void HttpClient::Impl::Stop() {
  std::vector<std::shared_ptr<ClientImpl>> live;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& w : clients_) {
      if (auto c = w.lock()) live.push_back(std::move(c));
    }
    clients_.clear();
  }
  for (auto& c : live) c->Close();
  live.clear();
  work_.reset();
  // Whatever is still queued (timers of clients closed above are cancelled) drains quickly;
  // stop() makes sure a stray operation cannot hold the join.
  ioc_.stop();
  for (std::thread& t : threads_) t.join();
  joined_.store(true, std::memory_order_release);
}

namespace {

absl::StatusOr<std::unique_ptr<ssl::context>> MakeSslContext(const TlsClientConfig& tls) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  error_code ec;
  if (!tls.ca_file.empty()) {
    ctx->load_verify_file(tls.ca_file, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("tls_config: cannot load ca_file \"", tls.ca_file, "\": ", ec.message()));
    }
  } else {
    ctx->set_default_verify_paths(ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("tls_config: cannot load the system CA certificates: ", ec.message()));
    }
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError("tls_config: cert_file and key_file must be given together");
  }
  if (!tls.cert_file.empty()) {
    ctx->use_certificate_chain_file(tls.cert_file, ec);
    if (ec) {
      return absl::InvalidArgumentError(absl::StrCat("tls_config: cannot load cert_file \"",
                                                     tls.cert_file, "\": ", ec.message()));
    }
    ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("tls_config: cannot load key_file \"", tls.key_file, "\": ", ec.message()));
    }
  }
  return ctx;
}

}  // namespace

HttpClient::HttpClient(HttpClientOptions options)
    : options_(std::move(options)), impl_(std::make_shared<Impl>(options_.threads)) {}

// Only a failing std::mutex can throw in Stop(); terminating is right then.
HttpClient::~HttpClient() { Stop(); }  // NOLINT(bugprone-exception-escape)

void HttpClient::Stop() { impl_->Stop(); }

absl::StatusOr<std::shared_ptr<ScrapeClient>> HttpClient::NewClient(const ClientConfig& config) {
  std::unique_ptr<ssl::context> ctx;
  absl::Status setup;
  if (config.endpoint.https) {
    absl::StatusOr<std::unique_ptr<ssl::context>> made = MakeSslContext(config.tls);
    if (made.ok()) {
      ctx = std::move(*made);
    } else {
      setup = made.status();
    }
  }
  auto client = std::make_shared<ClientImpl>(impl_, config, std::move(ctx), options_.user_agent,
                                             std::move(setup));
  if (!impl_->Register(client)) {
    return absl::FailedPreconditionError("the HTTP client is stopped");
  }
  return client;
}

}  // namespace scrape
