// Fake scrape targets for the scraper's tests: a well-behaved exporter on the project's HTTP
// server whose answer a test sets, raw TCP servers for targets that do not speak HTTP properly,
// and a closed port.
#ifndef METRICS_ADAPTER_TESTS_SCRAPE_FAKE_TARGET_H_
#define METRICS_ADAPTER_TESTS_SCRAPE_FAKE_TARGET_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapter/http/server.h"
#include "gtest/gtest.h"

namespace scrape_test_support {

using namespace std::chrono_literals;

inline bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

inline std::string Gzip(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// A well-behaved exporter whose answer the test sets.
class FakeExporter {
 public:
  struct Reply {
    int status = 200;
    std::string content_type = "text/plain; version=0.0.4; charset=utf-8";
    std::string body;
    bool gzip = false;
  };

  FakeExporter() {
    http::ServerOptions options;
    options.threads = 2;
    server_ = std::make_unique<http::Server>(options, [this](const http::Request& req) {
      std::lock_guard lock(mu_);
      requests_.push_back(req);
      http::Response res;
      res.status = reply_.status;
      res.content_type = reply_.content_type;
      if (reply_.gzip) {
        res.body = Gzip(reply_.body);
        res.AddHeader("Content-Encoding", "gzip");
      } else {
        res.body = reply_.body;
      }
      return res;
    });
    port_ = *server_->Listen("127.0.0.1:0");
    EXPECT_TRUE(server_->Start().ok());
  }
  ~FakeExporter() { server_->Stop(100ms); }

  void Set(Reply reply) {
    std::lock_guard lock(mu_);
    reply_ = std::move(reply);
  }
  void SetBody(std::string body) {
    std::lock_guard lock(mu_);
    reply_.body = std::move(body);
  }
  std::vector<http::Request> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  int port() const { return port_; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  std::mutex mu_;
  Reply reply_;
  std::vector<http::Request> requests_;
  std::unique_ptr<http::Server> server_;
  int port_ = 0;
};

// A TCP listener that hands every connection to a function of the raw socket (on its own thread).
class RawServer {
 public:
  explicit RawServer(std::function<void(int fd, const std::atomic<bool>& stop)> serve)
      : serve_(std::move(serve)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 16);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] {
      while (true) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0 || stop_.load()) {
          if (c >= 0) close(c);
          return;
        }
        std::lock_guard lock(mu_);
        conns_.emplace_back([this, c] {
          serve_(c, stop_);
          close(c);
        });
      }
    });
  }
  ~RawServer() {
    stop_.store(true);
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    acceptor_.join();
    std::lock_guard lock(mu_);
    for (auto& t : conns_) t.join();
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  std::function<void(int, const std::atomic<bool>&)> serve_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
};

inline void SleepUnlessStopped(const std::atomic<bool>& stop, std::chrono::milliseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  while (!stop.load() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
}

// A port nothing listens on.
inline std::string ClosedAddress() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
}

}  // namespace scrape_test_support

#endif  // METRICS_ADAPTER_TESTS_SCRAPE_FAKE_TARGET_H_
