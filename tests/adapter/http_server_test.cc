// The HTTP core over real loopback sockets: a Beast client (plain and TLS) or raw bytes on one
// side, http::Server on the other.
#include "adapter/http/server.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "adapter/http/url.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using namespace std::chrono_literals;

using ClientResponse = bhttp::response<bhttp::string_body>;

// Every client operation fails after this long instead of hanging the test.
constexpr auto kClientTimeout = 3s;

// A synchronous-looking client over Beast's async operations, run on a private io_context so
// that every operation has a timeout. Stream is beast::tcp_stream or an ssl_stream over one.
template <class Stream>
class BasicClient {
 public:
  template <class... Args>
  explicit BasicClient(Args&&... args) : stream_(ioc_, std::forward<Args>(args)...) {}

  error_code Connect(int port) {
    Lowest().expires_after(kClientTimeout);
    error_code result;
    Lowest().async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                           [&](error_code ec) { result = ec; });
    Run();
    return result;
  }

  error_code WriteRaw(std::string_view bytes) {
    Lowest().expires_after(kClientTimeout);
    error_code result;
    asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()),
                      [&](error_code ec, size_t) { result = ec; });
    Run();
    return result;
  }

  error_code Send(bhttp::request<bhttp::string_body> req) {
    req.prepare_payload();
    Lowest().expires_after(kClientTimeout);
    error_code result;
    bhttp::async_write(stream_, req, [&](error_code ec, size_t) { result = ec; });
    Run();
    return result;
  }

  // Reads one response (for a HEAD request, head = true: no body follows the header).
  error_code Read(ClientResponse* res, bool head = false,
                  std::chrono::milliseconds timeout = kClientTimeout) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.skip(head);
    parser.body_limit(64 << 20);
    Lowest().expires_after(timeout);
    error_code result;
    bhttp::async_read(stream_, buffer_, parser, [&](error_code ec, size_t) { result = ec; });
    Run();
    if (!result) *res = parser.release();
    return result;
  }

  ClientResponse Get(const std::string& target, bool keep_alive = true) {
    bhttp::request<bhttp::string_body> req(bhttp::verb::get, target, 11);
    req.set(bhttp::field::host, "localhost");
    req.keep_alive(keep_alive);
    ClientResponse res;
    EXPECT_FALSE(Send(std::move(req)));
    error_code ec = Read(&res);
    EXPECT_FALSE(ec) << ec.message();
    return res;
  }

  // True when the server closed the connection (EOF or reset) without sending anything more.
  bool ClosedByPeer(std::chrono::milliseconds timeout = kClientTimeout) {
    if (buffer_.size() > 0) return false;
    char byte;
    Lowest().expires_after(timeout);
    error_code result;
    size_t got = 0;
    stream_.async_read_some(asio::buffer(&byte, 1), [&](error_code ec, size_t n) {
      result = ec;
      got = n;
    });
    Run();
    return got == 0 && result && result != beast::error::timeout;
  }

  Stream& stream() { return stream_; }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }
  void Run() {
    ioc_.restart();
    ioc_.run();
  }

 private:
  asio::io_context ioc_;
  Stream stream_;
  beast::flat_buffer buffer_;
};

using Client = BasicClient<beast::tcp_stream>;
using TlsClient = BasicClient<beast::ssl_stream<beast::tcp_stream>>;

// A handler that echoes what the server parsed, one fact per line.
Response Echo(const Request& req) {
  std::string out = "method=" + req.method + "\npath=" + req.path + "\ntarget=" + req.target + "\n";
  for (const auto& [name, value] : req.params) out += "param " + name + "=" + value + "\n";
  out += "body=" + req.body + "\n";
  out += "remote=" + req.remote_address + "\n";
  out += std::string("tls=") + (req.tls ? "1" : "0") + "\n";
  return Response::Text(out);
}

class ServerFixture {
 public:
  explicit ServerFixture(Handler handler, ServerOptions options = {}) {
    options.log = [this](std::string_view msg) {
      std::lock_guard<std::mutex> lock(mu_);
      logs_.emplace_back(msg);
    };
    server_ = std::make_unique<Server>(std::move(options), std::move(handler));
    absl::StatusOr<int> port = server_->Listen("127.0.0.1:0");
    EXPECT_TRUE(port.ok()) << port.status();
    port_ = port.value_or(0);
    EXPECT_TRUE(server_->Start().ok());
  }

  Server& server() { return *server_; }
  int port() const { return port_; }
  std::vector<std::string> logs() {
    std::lock_guard<std::mutex> lock(mu_);
    return logs_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> logs_;
  std::unique_ptr<Server> server_;
  int port_ = 0;
};

// Sends raw bytes on a fresh connection and returns everything received until the server closes
// the connection (or the client timeout).
std::string RawExchange(int port, std::string_view bytes) {
  Client c;
  EXPECT_FALSE(c.Connect(port));
  EXPECT_FALSE(c.WriteRaw(bytes));
  std::string out;
  for (;;) {
    char buf[4096];
    c.Lowest().expires_after(kClientTimeout);
    error_code result;
    size_t got = 0;
    c.stream().async_read_some(asio::buffer(buf), [&](error_code ec, size_t n) {
      result = ec;
      got = n;
    });
    c.Run();
    out.append(buf, got);
    if (result) break;
  }
  return out;
}

TEST(HttpRouterTest, ExactBeforeLongestPrefixThen404) {
  Router router;
  router.Handle("/api/v1/query", [](const Request&) { return Response::Text("exact"); });
  router.HandlePrefix("/api/", [](const Request&) { return Response::Text("api"); });
  router.HandlePrefix("/api/v1/", [](const Request&) { return Response::Text("v1"); });
  router.HandlePrefix("/", [](const Request&) { return Response::Text("root"); });
  auto serve = [&](std::string path) {
    Request r;
    r.path = std::move(path);
    return router(r).body;
  };
  EXPECT_EQ(serve("/api/v1/query"), "exact");
  EXPECT_EQ(serve("/api/v1/query_range"), "v1");
  EXPECT_EQ(serve("/api/v2/x"), "api");
  EXPECT_EQ(serve("/other"), "root");

  Router bare;
  bare.Handle("/x", [](const Request&) { return Response::Text("x"); });
  Request r;
  r.path = "/x/";
  Response res = bare(r);
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.body, "404 page not found\n");
}

TEST(HttpRouterTest, RequestAccessorsAndCheckMethod) {
  Request r;
  r.method = "POST";
  r.params = {{"a", "1"}, {"b", ""}, {"a", "2"}};
  r.headers = {{"Content-Type", "text/plain"}, {"X-Dup", "1"}, {"x-dup", "2"}};
  EXPECT_EQ(r.Get("a"), "1");
  EXPECT_THAT(r.GetAll("a"), ElementsAre("1", "2"));
  EXPECT_TRUE(r.Has("b"));
  EXPECT_FALSE(r.Has("c"));
  EXPECT_EQ(r.Get("c"), "");
  EXPECT_EQ(r.Header("content-TYPE"), "text/plain");
  EXPECT_EQ(r.Header("X-DUP"), "1");
  EXPECT_FALSE(r.HasHeader("Accept"));

  EXPECT_FALSE(CheckMethod(r, {"GET", "POST"}).has_value());
  std::optional<Response> denied = CheckMethod(r, {"GET", "HEAD"});
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->status, 405);
  EXPECT_THAT(denied->headers, ElementsAre(Pair("Allow", "GET, HEAD")));
}

TEST(HttpUrlTest, DecodeAndEncode) {
  EXPECT_EQ(*PercentDecode("a%20b+c%2F", false), "a b+c/");
  EXPECT_EQ(*PercentDecode("a%20b+c", true), "a b c");
  EXPECT_THAT(std::string(PercentDecode("abc%2", false).status().message()), HasSubstr("offset 3"));
  EXPECT_FALSE(PercentDecode("%zz", true).ok());
  auto q = ParseQuery("a=1&&b=x%3Dy&flag&a=");
  ASSERT_TRUE(q.ok());
  EXPECT_THAT(*q, ElementsAre(Pair("a", "1"), Pair("b", "x=y"), Pair("flag", ""), Pair("a", "")));
  EXPECT_THAT(std::string(ParseQuery("q=%G1").status().message()), HasSubstr("parameter \"q\""));
  EXPECT_EQ(EncodeQuery({{"query", "up{job=\"a b\"}"}, {"x", "~_.-"}}),
            "query=up%7Bjob%3D%22a+b%22%7D&x=~_.-");
  // Round trip through the decoder.
  auto back = ParseQuery(EncodeQuery({{"k&=", "v+%\n"}}));
  ASSERT_TRUE(back.ok());
  EXPECT_THAT(*back, ElementsAre(Pair("k&=", "v+%\n")));
}

TEST(HttpServerTest, RoutesOverTheWireAnd404) {
  Router router;
  router.Handle("/-/healthy", [](const Request&) { return Response::Text("Healthy.\n"); });
  router.HandlePrefix(
      "/api/", [](const Request& r) { return Response::Json("{\"p\":\"" + r.path + "\"}"); });
  ServerFixture f(router);
  Client c;
  ASSERT_FALSE(c.Connect(f.port()));
  ClientResponse res = c.Get("/-/healthy");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "Healthy.\n");
  EXPECT_EQ(res[bhttp::field::content_type], "text/plain; charset=utf-8");
  res = c.Get("/api/v1/labels");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  EXPECT_EQ(res.body(), "{\"p\":\"/api/v1/labels\"}");
  res = c.Get("/nope");
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_EQ(res.body(), "404 page not found\n");
}

TEST(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  std::mutex mu;
  std::vector<std::string> remotes;
  ServerFixture f([&](const Request& r) {
    std::lock_guard<std::mutex> lock(mu);
    remotes.push_back(r.remote_address);
    return Response::Text("n=" + std::to_string(remotes.size()));
  });
  Client c;
  ASSERT_FALSE(c.Connect(f.port()));
  ClientResponse first = c.Get("/a");
  EXPECT_TRUE(first.keep_alive());
  ClientResponse second = c.Get("/b");
  EXPECT_EQ(first.body(), "n=1");
  EXPECT_EQ(second.body(), "n=2");
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(remotes.size(), 2u);
  EXPECT_EQ(remotes[0], remotes[1]);  // same client port: same connection
  EXPECT_THAT(remotes[0], testing::StartsWith("127.0.0.1:"));
}

TEST(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  ServerFixture f([](const Request& r) { return Response::Text(r.path); });
  std::string out = RawExchange(f.port(),
                                "GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: "
                                "x\r\nConnection: close\r\n\r\n");
  size_t one = out.find("\r\n\r\n/one");
  size_t two = out.find("\r\n\r\n/two");
  ASSERT_NE(one, std::string::npos) << out;
  ASSERT_NE(two, std::string::npos) << out;
  EXPECT_LT(one, two);
}

TEST(HttpServerTest, DecodesPathAndQueryParameters) {
  ServerFixture f(Echo);
  Client c;
  ASSERT_FALSE(c.Connect(f.port()));
  ClientResponse res =
      c.Get("/api/v1/series%2Fx?match[]=up&match%5B%5D=a%7Bb%3D%22c%20d%22%7D&q=a+b&empty=&flag");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_THAT(res.body(), HasSubstr("path=/api/v1/series/x\n"));
  EXPECT_THAT(res.body(),
              HasSubstr("target=/api/v1/series%2Fx?match[]=up&match%5B%5D=a%7Bb%3D%22c%20d%22%7D"));
  EXPECT_THAT(res.body(), HasSubstr("param match[]=up\nparam match[]=a{b=\"c d\"}\nparam q=a b\n"
                                    "param empty=\nparam flag=\n"));
  EXPECT_THAT(res.body(), HasSubstr("tls=0\n"));
}

TEST(HttpServerTest, BadPercentEncodingIs400AndConnectionStays) {
  ServerFixture f(Echo);
  Client c;
  ASSERT_FALSE(c.Connect(f.port()));
  ClientResponse res = c.Get("/a?q=%zz");
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_THAT(res.body(), HasSubstr("query string"));
  res = c.Get("/a%2");
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_THAT(res.body(), HasSubstr("path"));
  res = c.Get("/ok");
  EXPECT_EQ(res.result_int(), 200);
}

TEST(HttpServerTest, FormPostBodyBecomesParams) {
  ServerFixture f(Echo);
  Client c;
  ASSERT_FALSE(c.Connect(f.port()));
  bhttp::request<bhttp::string_body> req(bhttp::verb::post, "/api/v1/query?time=1", 11);
  req.set(bhttp::field::host, "localhost");
  req.set(bhttp::field::content_type, "application/x-www-form-urlencoded; charset=utf-8");
  req.body() = "query=sum%28rate%28x%5B5m%5D%29%29&match[]=a+b";
  ASSERT_FALSE(c.Send(req));
  ClientResponse res;
  ASSERT_FALSE(c.Read(&res));
  EXPECT_EQ(res.result_int(), 200);
  // Form fields first, then the query string, as Go's Request.Form orders them.
  EXPECT_THAT(res.body(),
              HasSubstr("param query=sum(rate(x[5m]))\nparam match[]=a b\nparam time=1\n"));

  // Another content type leaves the body alone.
  req.set(bhttp::field::content_type, "application/json");
  req.body() = "{\"a\":1}";
  ASSERT_FALSE(c.Send(req));
  ASSERT_FALSE(c.Read(&res));
  EXPECT_THAT(res.body(), HasSubstr("param time=1\nbody={\"a\":1}\n"));
  EXPECT_THAT(res.body(), Not(HasSubstr("param {")));

  // A malformed form body is the client's fault.
  req.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
  req.body() = "a=%";
  ASSERT_FALSE(c.Send(req));
  ASSERT_FALSE(c.Read(&res));
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_THAT(res.body(), HasSubstr("form body"));
}

TEST(HttpServerTest, OversizedBodyIs413AndCloses) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  std::atomic<int> calls{0};
  ServerFixture f(
      [&](const Request& r) {
        ++calls;
        return Response::Text(std::to_string(r.body.size()));
      },
      options);
  {
    // Announced by Content-Length: refused before the body is sent.
    Client c;
    ASSERT_FALSE(c.Connect(f.port()));
    ASSERT_FALSE(c.WriteRaw("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n"));
    ClientResponse res;
    ASSERT_FALSE(c.Read(&res));
    EXPECT_EQ(res.result_int(), 413);
    EXPECT_EQ(res.body(), "request body too large: the limit is 1024 bytes\n");
    EXPECT_FALSE(res.keep_alive());
    EXPECT_TRUE(c.ClosedByPeer());
  }
  {
    // Chunked: refused once the limit is passed.
    Client c;
    ASSERT_FALSE(c.Connect(f.port()));
    std::string chunk(800, 'a');
    ASSERT_FALSE(
        c.WriteRaw("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "320\r\n" +
                   chunk + "\r\n320\r\n" + chunk + "\r\n"));
    ClientResponse res;
    ASSERT_FALSE(c.Read(&res));
    EXPECT_EQ(res.result_int(), 413);
    EXPECT_TRUE(c.ClosedByPeer());
  }
  EXPECT_EQ(calls.load(), 0);
  // Exactly at the limit is fine.
  Client c;
  ASSERT_FALSE(c.Connect(f.port()));
  bhttp::request<bhttp::string_body> req(bhttp::verb::post, "/x", 11);
  req.body() = std::string(1024, 'b');
  ASSERT_FALSE(c.Send(req));
  ClientResponse res;
  ASSERT_FALSE(c.Read(&res));
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "1024");
}

TEST(HttpServerTest, OversizedHeaderIs431) {
  ServerOptions options;
  options.max_header_bytes = 1024;
  ServerFixture f(Echo, options);
  std::string out = RawExchange(
      f.port(), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'x') + "\r\n\r\n");
  EXPECT_THAT(out, testing::StartsWith("HTTP/1.1 431 "));
  EXPECT_THAT(out, HasSubstr("request header fields too large: the limit is 1024 bytes"));
}

TEST(HttpServerTest, MalformedRequestsAre400AndClose) {
  ServerFixture f(Echo);
  for (const char* bad : {
           "GARBAGE\r\n\r\n",
           "GET / HTTP/9.9\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
           "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       }) {
    std::string out = RawExchange(f.port(), bad);
    EXPECT_THAT(out, testing::StartsWith("HTTP/1.1 400 Bad Request\r\n")) << bad;
    EXPECT_THAT(out, HasSubstr("bad request: ")) << bad;
    // RawExchange returns only once the server closed the connection.
  }
}

TEST(HttpServerTest, Http10ClosesUnlessKeepAlive) {
  ServerFixture f([](const Request& r) { return Response::Text(std::to_string(r.version)); });
  std::string out = RawExchange(f.port(), "GET / HTTP/1.0\r\n\r\n");
  EXPECT_THAT(out, testing::StartsWith("HTTP/1.0 200 OK\r\n"));
  EXPECT_THAT(out, testing::EndsWith("\r\n\r\n10"));

  Client c;
  ASSERT_FALSE(c.Connect(f.port()));
  ASSERT_FALSE(c.WriteRaw("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  ClientResponse res;
  ASSERT_FALSE(c.Read(&res));
  EXPECT_EQ(res.version(), 10);
  EXPECT_TRUE(res.keep_alive());
  ASSERT_FALSE(c.WriteRaw("GET / HTTP/1.0\r\n\r\n"));
  ASSERT_FALSE(c.Read(&res));
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(c.ClosedByPeer());
}

TEST(HttpServerTest, HeadKeepsContentLengthWithoutBody) {
  ServerFixture f([](const Request&) {
    Response r = Response::Text("twelve bytes");
    r.AddHeader("X-Custom", "yes").AddHeader("X-Bad", "a\r\nInjected: 1");
    return r;
  });
  Client c;
  ASSERT_FALSE(c.Connect(f.port()));
  bhttp::request<bhttp::string_body> req(bhttp::verb::head, "/", 11);
  ASSERT_FALSE(c.Send(req));
  ClientResponse res;
  ASSERT_FALSE(c.Read(&res, /*head=*/true));
  EXPECT_EQ(res[bhttp::field::content_length], "12");
  EXPECT_EQ(res["X-Custom"], "yes");
  EXPECT_EQ(res.count("X-Bad"), 0u);
  EXPECT_EQ(res.count("Injected"), 0u);
  // Nothing but the header was sent: the next response parses cleanly.
  res = c.Get("/");
  EXPECT_EQ(res.body(), "twelve bytes");
}

TEST(HttpServerTest, ExpectContinueGetsInterimResponse) {
  ServerFixture f(Echo);
  Client c;
  ASSERT_FALSE(c.Connect(f.port()));
  ASSERT_FALSE(
      c.WriteRaw("POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                 "Content-Length: 5\r\n\r\n"));
  ClientResponse interim;
  ASSERT_FALSE(c.Read(&interim));
  EXPECT_EQ(interim.result_int(), 100);
  ASSERT_FALSE(c.WriteRaw("hello"));
  ClientResponse res;
  ASSERT_FALSE(c.Read(&res));
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_THAT(res.body(), HasSubstr("body=hello\n"));
}

TEST(HttpServerTest, HandlerExceptionIs500) {
  ServerFixture f([](const Request&) -> Response { throw std::runtime_error("boom"); });
  Client c;
  ASSERT_FALSE(c.Connect(f.port()));
  ClientResponse res = c.Get("/x");
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_EQ(res.body(), "internal server error\n");
  EXPECT_THAT(f.logs(), testing::Contains(HasSubstr("handler for GET /x threw: boom")));
}

TEST(HttpServerTest, ConcurrentClients) {
  ServerOptions options;
  options.threads = 4;
  std::atomic<int> calls{0};
  ServerFixture f(
      [&](const Request& r) {
        ++calls;
        return Response::Text(r.Get("i"));
      },
      options);
  constexpr int kClients = 8;
  constexpr int kRequests = 25;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      Client c;
      if (c.Connect(f.port())) return;
      for (int i = 0; i < kRequests; ++i) {
        std::string id = std::to_string(t * 1000 + i);
        ClientResponse res = c.Get("/?i=" + id);
        if (res.result_int() == 200 && res.body() == id) ++ok;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  EXPECT_EQ(calls.load(), kClients * kRequests);
}

TEST(HttpServerTest, StopFinishesInFlightRequestAndClosesIdleOnes) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> release_future = release.get_future().share();
  auto server = std::make_unique<ServerFixture>([&](const Request& r) {
    if (r.path == "/slow") {
      entered.set_value();
      release_future.wait();
      return Response::Text("slow done");
    }
    return Response::Text("fast");
  });
  const int port = server->port();

  // An idle keep-alive connection.
  Client idle;
  ASSERT_FALSE(idle.Connect(port));
  EXPECT_EQ(idle.Get("/fast").body(), "fast");

  // A request in flight.
  Client busy;
  ASSERT_FALSE(busy.Connect(port));
  bhttp::request<bhttp::string_body> req(bhttp::verb::get, "/slow", 11);
  ASSERT_FALSE(busy.Send(req));
  entered.get_future().wait();

  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    server->server().Stop(5s);
    stopped = true;
  });
  // The idle connection is closed at once; Stop waits for the busy one.
  EXPECT_TRUE(idle.ClosedByPeer());
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(stopped.load());
  // No new connections are accepted.
  Client late;
  error_code late_ec = late.Connect(port);
  EXPECT_TRUE(late_ec || late.ClosedByPeer(1s));

  release.set_value();
  ClientResponse res;
  ASSERT_FALSE(busy.Read(&res));
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "slow done");
  EXPECT_FALSE(res.keep_alive());  // "Connection: close" while stopping
  stopper.join();
  EXPECT_TRUE(stopped.load());
}

TEST(HttpServerTest, IdleTimeoutClosesKeepAliveConnection) {
  ServerOptions options;
  options.idle_timeout = 100ms;
  ServerFixture f(Echo, options);
  Client c;
  ASSERT_FALSE(c.Connect(f.port()));
  EXPECT_EQ(c.Get("/").result_int(), 200);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ClosedByPeer());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
}

TEST(HttpServerTest, ReadTimeoutClosesSlowRequest) {
  ServerOptions options;
  options.read_timeout = 150ms;
  ServerFixture f(Echo, options);
  Client c;
  ASSERT_FALSE(c.Connect(f.port()));
  ASSERT_FALSE(c.WriteRaw("GET / HTTP/1.1\r\nHost: x\r\n"));  // never finished
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ClosedByPeer());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
}

TEST(HttpServerTest, MaxConnectionsQueuesTheRest) {
  ServerOptions options;
  options.max_connections = 2;
  ServerFixture f([](const Request&) { return Response::Text("ok"); }, options);
  auto a = std::make_unique<Client>();
  Client b;
  ASSERT_FALSE(a->Connect(f.port()));
  ASSERT_FALSE(b.Connect(f.port()));
  EXPECT_EQ(a->Get("/").body(), "ok");
  EXPECT_EQ(b.Get("/").body(), "ok");

  // The third connection completes in the kernel but is not served...
  Client c;
  ASSERT_FALSE(c.Connect(f.port()));
  bhttp::request<bhttp::string_body> req(bhttp::verb::get, "/", 11);
  ASSERT_FALSE(c.Send(req));
  ClientResponse res;
  EXPECT_EQ(c.Read(&res, false, 300ms), beast::error::timeout);
  // ...until one of the others goes away. (The timed-out read closed c's stream, so use a new
  // client for the check.)
  Client d;
  ASSERT_FALSE(d.Connect(f.port()));
  a.reset();
  EXPECT_EQ(d.Get("/").body(), "ok");
}

TEST(HttpServerTest, ListenAddressForms) {
  Server server(ServerOptions{}, Echo);
  absl::StatusOr<int> any = server.Listen(":0");
  ASSERT_TRUE(any.ok()) << any.status();
  EXPECT_GT(*any, 0);
  absl::StatusOr<int> local = server.Listen("localhost:0");
  EXPECT_TRUE(local.ok()) << local.status();
  ASSERT_TRUE(server.Start().ok());
  // ":PORT" listens on IPv4 too.
  Client c;
  ASSERT_FALSE(c.Connect(*any));
  EXPECT_THAT(c.Get("/").body(), HasSubstr("remote=127.0.0.1:"));
  absl::StatusOr<int> v6 = server.Listen("[::1]:0");
  if (v6.ok()) {
    EXPECT_GT(*v6, 0);
  } else {
    EXPECT_THAT(std::string(v6.status().message()), HasSubstr("[::1]:0"));  // no IPv6 here
  }
  EXPECT_FALSE(server.Start().ok());  // twice
  server.Stop();
  EXPECT_FALSE(server.Listen("127.0.0.1:0").ok());  // after Stop
}

TEST(HttpServerTest, BadListenAddresses) {
  Server server(ServerOptions{}, Echo);
  struct Case {
    const char* address;
    const char* message;
  } cases[] = {
      {"9090", "missing port"},
      {"", "missing port"},
      {"localhost:", "bad port \"\""},
      {":http", "bad port \"http\""},
      {":65536", "bad port \"65536\""},
      {":-1", "bad port"},
      {"::1:9090", "IPv6 address must be in brackets"},
      {"[::1", "missing ']'"},
      {"[::1]9090", "missing port"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<int> r = server.Listen(c.address);
    ASSERT_FALSE(r.ok()) << c.address;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.message)) << c.address;
    EXPECT_THAT(std::string(r.status().message()),
                HasSubstr(std::string("invalid listen address \"") + c.address + "\""));
  }
}

TEST(HttpServerTest, PortInUseIsAnError) {
  Server first(ServerOptions{}, Echo);
  absl::StatusOr<int> port = first.Listen("127.0.0.1:0");
  ASSERT_TRUE(port.ok());
  Server second(ServerOptions{}, Echo);
  std::string address = "127.0.0.1:" + std::to_string(*port);
  absl::StatusOr<int> again = second.Listen(address);
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(std::string(again.status().message()),
              HasSubstr("listen on \"" + address + "\": bind: Address already in use"));
}

// --- TLS ---

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

// A self-signed P-256 certificate for cn, valid for localhost and 127.0.0.1.
KeyPair MakeSelfSigned(const std::string& cn) {
  static std::atomic<long> serial{1};
  KeyPair out;
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, x);
  out.cert_pem = BioToString(cert_bio);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.key_pem = BioToString(key_bio);
  BIO_free(cert_bio);
  BIO_free(key_bio);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

std::string WriteTemp(const std::string& name, const std::string& content) {
  std::string path =
      testing::TempDir() + "/http_server_test_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path) << content;
  return path;
}

class HttpTlsTest : public testing::Test {
 protected:
  void SetUp() override {
    server_keys_ = MakeSelfSigned("localhost");
    tls_.cert_file = WriteTemp("server.crt", server_keys_.cert_pem);
    tls_.key_file = WriteTemp("server.key", server_keys_.key_pem);
  }
  void TearDown() override {
    for (const std::string& f : {tls_.cert_file, tls_.key_file}) std::remove(f.c_str());
  }

  // A client context that trusts only the test's server certificate.
  ssl::context ClientContext() {
    ssl::context ctx(ssl::context::tls_client);
    ctx.add_certificate_authority(asio::buffer(server_keys_.cert_pem));
    ctx.set_verify_mode(ssl::verify_peer);
    return ctx;
  }

  error_code Handshake(TlsClient& c) {
    c.stream().set_verify_callback(ssl::host_name_verification("localhost"));
    SSL_set_tlsext_host_name(c.stream().native_handle(), "localhost");
    c.Lowest().expires_after(kClientTimeout);
    error_code result;
    c.stream().async_handshake(ssl::stream_base::client, [&](error_code ec) { result = ec; });
    c.Run();
    return result;
  }

  KeyPair server_keys_;
  TlsConfig tls_;
};

TEST_F(HttpTlsTest, ServesHttpsWithSelfSignedCertificate) {
  Server server(ServerOptions{}, Echo);
  absl::StatusOr<int> port = server.Listen("127.0.0.1:0", &tls_);
  ASSERT_TRUE(port.ok()) << port.status();
  ASSERT_TRUE(server.Start().ok());

  ssl::context ctx = ClientContext();
  TlsClient c(ctx);
  ASSERT_FALSE(c.Connect(*port));
  error_code ec = Handshake(c);
  ASSERT_FALSE(ec) << ec.message();
  ClientResponse res = c.Get("/secure?x=1");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_THAT(res.body(), HasSubstr("path=/secure\n"));
  EXPECT_THAT(res.body(), HasSubstr("param x=1\n"));
  EXPECT_THAT(res.body(), HasSubstr("tls=1\n"));
  // Keep-alive works over TLS too.
  EXPECT_EQ(c.Get("/again").result_int(), 200);

  // Plain HTTP on the TLS port gets no HTTP response.
  std::string out = RawExchange(*port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(out, Not(HasSubstr("HTTP/1.1")));
}

TEST_F(HttpTlsTest, MinVersionIsEnforced) {
  tls_.min_version = TlsVersion::kTls13;
  Server server(ServerOptions{}, Echo);
  absl::StatusOr<int> port = server.Listen("127.0.0.1:0", &tls_);
  ASSERT_TRUE(port.ok()) << port.status();
  ASSERT_TRUE(server.Start().ok());
  ssl::context ctx = ClientContext();
  SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  TlsClient c(ctx);
  ASSERT_FALSE(c.Connect(*port));
  EXPECT_TRUE(Handshake(c));

  ssl::context ctx13 = ClientContext();
  TlsClient ok(ctx13);
  ASSERT_FALSE(ok.Connect(*port));
  EXPECT_FALSE(Handshake(ok));
  EXPECT_EQ(std::string(SSL_get_version(ok.stream().native_handle())), "TLSv1.3");
}

TEST_F(HttpTlsTest, CipherSuitesByIanaOrOpenSslName) {
  tls_.cipher_suites = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                        "TLS_AES_128_GCM_SHA256"};
  Server server(ServerOptions{}, Echo);
  absl::StatusOr<int> port = server.Listen("127.0.0.1:0", &tls_);
  ASSERT_TRUE(port.ok()) << port.status();
  ASSERT_TRUE(server.Start().ok());
  ssl::context ctx = ClientContext();
  SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  TlsClient c(ctx);
  ASSERT_FALSE(c.Connect(*port));
  ASSERT_FALSE(Handshake(c));
  std::string cipher = SSL_get_cipher_name(c.stream().native_handle());
  EXPECT_TRUE(cipher == "ECDHE-ECDSA-AES128-GCM-SHA256" ||
              cipher == "ECDHE-ECDSA-AES256-GCM-SHA384")
      << cipher;

  tls_.cipher_suites = {"TLS_NO_SUCH_SUITE"};
  Server bad(ServerOptions{}, Echo);
  absl::StatusOr<int> r = bad.Listen("127.0.0.1:0", &tls_);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("unknown TLS cipher suite \"TLS_NO_SUCH_SUITE\""));
}

TEST_F(HttpTlsTest, ClientCertificatesAreVerifiedAndNamed) {
  KeyPair client_keys = MakeSelfSigned("front-proxy-client");
  tls_.client_ca_file = WriteTemp("client-ca.crt", client_keys.cert_pem);
  tls_.require_client_cert = true;
  Server server(ServerOptions{},
                [](const Request& r) { return Response::Text("cn=" + r.peer_common_name); });
  absl::StatusOr<int> port = server.Listen("127.0.0.1:0", &tls_);
  ASSERT_TRUE(port.ok()) << port.status();
  ASSERT_TRUE(server.Start().ok());

  {
    ssl::context ctx = ClientContext();  // no client certificate
    TlsClient c(ctx);
    ASSERT_FALSE(c.Connect(*port));
    error_code ec = Handshake(c);
    // TLS 1.3 reports the refusal on the first read rather than in the handshake.
    if (!ec) {
      bhttp::request<bhttp::string_body> req(bhttp::verb::get, "/", 11);
      c.Send(req);
      ClientResponse res;
      ec = c.Read(&res);
    }
    EXPECT_TRUE(ec);
  }
  {
    ssl::context ctx = ClientContext();
    ctx.use_certificate(asio::buffer(client_keys.cert_pem), ssl::context::pem);
    ctx.use_private_key(asio::buffer(client_keys.key_pem), ssl::context::pem);
    TlsClient c(ctx);
    ASSERT_FALSE(c.Connect(*port));
    ASSERT_FALSE(Handshake(c));
    EXPECT_EQ(c.Get("/").body(), "cn=front-proxy-client");
  }
  std::remove(tls_.client_ca_file.c_str());
}

TEST_F(HttpTlsTest, BadCertificateFilesFailListen) {
  Server server(ServerOptions{}, Echo);
  TlsConfig missing = tls_;
  missing.cert_file = "/nonexistent/server.crt";
  absl::StatusOr<int> r = server.Listen("127.0.0.1:0", &missing);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("cannot read TLS certificate \"/nonexistent/server.crt\""));

  TlsConfig garbage = tls_;
  garbage.key_file = WriteTemp("garbage.key", "not a key\n");
  r = server.Listen("127.0.0.1:0", &garbage);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("load TLS key \"" + garbage.key_file));
  std::remove(garbage.key_file.c_str());

  TlsConfig mismatch = tls_;
  KeyPair other = MakeSelfSigned("other");
  mismatch.key_file = WriteTemp("other.key", other.key_pem);
  r = server.Listen("127.0.0.1:0", &mismatch);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("does not match certificate"));
  std::remove(mismatch.key_file.c_str());

  EXPECT_TRUE(ParseTlsVersion("VersionTLS12").ok());
  EXPECT_EQ(*ParseTlsVersion("1.3"), TlsVersion::kTls13);
  EXPECT_FALSE(ParseTlsVersion("VersionTLS10").ok());
}

}  // namespace
}  // namespace http
