#include "tests/kubeclient/fake_api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace kubetest {
namespace {

bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

const char* Phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 410:
      return "Gone";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string Whole(const FakeAnswer& a) {
  return "HTTP/1.1 " + std::to_string(a.status) + " " + Phrase(a.status) +
         "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
         std::to_string(a.body.size()) + "\r\n\r\n" + a.body;
}

std::string Chunk(const std::string& data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

}  // namespace

bool Eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

FakeApi::FakeApi() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listen_fd_, 64);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  handler_ = [](const FakeRequest&) { return FakeAnswer{404, R"({"kind":"Status"})"}; };
  acceptor_ = std::thread([this] { Accept(); });
}

FakeApi::~FakeApi() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  cv_.notify_all();
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> connections;
  {
    std::lock_guard<std::mutex> lock(mu_);
    connections.swap(connections_);
  }
  for (std::thread& t : connections) t.join();
}

void FakeApi::SetHandler(Handler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  handler_ = std::move(handler);
}

void FakeApi::QueueWatchAnswer(FakeAnswer answer) {
  std::lock_guard<std::mutex> lock(mu_);
  watch_answers_.push_back(std::move(answer));
}

void FakeApi::Send(const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  if (streams_.empty()) return;
  streams_.back()->lines.push_back(line + "\n");
  cv_.notify_all();
}

void FakeApi::EndWatch() {
  std::lock_guard<std::mutex> lock(mu_);
  if (streams_.empty()) return;
  streams_.back()->end = true;
  cv_.notify_all();
}

void FakeApi::DropWatch() {
  std::lock_guard<std::mutex> lock(mu_);
  if (streams_.empty()) return;
  streams_.back()->drop = true;
  cv_.notify_all();
}

bool FakeApi::WaitForWatches(int n, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return static_cast<int>(streams_.size()) >= n; });
}

int FakeApi::watch_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(streams_.size());
}

std::vector<FakeRequest> FakeApi::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::vector<std::string> FakeApi::WatchTargets() const {
  std::vector<std::string> out;
  for (const FakeRequest& r : requests()) {
    if (r.target.find("watch=true") != std::string::npos) out.push_back(r.target);
  }
  return out;
}

void FakeApi::Accept() {
  while (true) {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    std::lock_guard<std::mutex> lock(mu_);
    if (fd < 0 || stopping_) {
      if (fd >= 0) ::close(fd);
      return;
    }
    open_fds_.push_back(fd);
    connections_.emplace_back([this, fd] { Serve(fd); });
  }
}

void FakeApi::Serve(int fd) {
  std::string data;
  char buf[4096];
  size_t header_end;
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  auto finish = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
    ::close(fd);
  };
  if (header_end == std::string::npos) return finish();
  FakeRequest req;
  std::string head = data.substr(0, header_end);
  size_t line_end = head.find("\r\n");
  std::string first = head.substr(0, line_end);
  size_t sp1 = first.find(' ');
  size_t sp2 = first.find(' ', sp1 + 1);
  req.method = first.substr(0, sp1);
  req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    std::string field = head.substr(pos, end - pos);
    size_t colon = field.find(':');
    if (colon != std::string::npos) {
      std::string name = field.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t v = colon + 1;
      while (v < field.size() && field[v] == ' ') ++v;
      req.headers[name] = field.substr(v);
    }
    pos = end + 2;
  }
  req.body = data.substr(header_end + 4);
  if (auto it = req.headers.find("content-length"); it != req.headers.end()) {
    size_t want = std::stoul(it->second);
    while (req.body.size() < want) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      req.body.append(buf, static_cast<size_t>(n));
    }
  }
  const bool watch = req.target.find("watch=true") != std::string::npos;
  Handler handler;
  std::shared_ptr<Stream> stream;
  FakeAnswer canned;
  bool use_canned = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(req);
    handler = handler_;
    if (watch && !watch_answers_.empty()) {
      canned = watch_answers_.front();
      watch_answers_.pop_front();
      use_canned = true;
    } else if (watch) {
      stream = std::make_shared<Stream>();
      stream->fd = fd;
      streams_.push_back(stream);
    }
  }
  cv_.notify_all();
  if (!watch || use_canned) {
    WriteAll(fd, Whole(use_canned ? canned : handler(req)));
    return finish();
  }
  WriteAll(fd,
           "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: "
           "chunked\r\n\r\n");
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock,
             [&] { return stopping_ || stream->end || stream->drop || !stream->lines.empty(); });
    if (stopping_ || stream->drop) break;
    if (!stream->lines.empty()) {
      std::string line = std::move(stream->lines.front());
      stream->lines.pop_front();
      lock.unlock();
      WriteAll(fd, Chunk(line));
      lock.lock();
      continue;
    }
    if (stream->end) {
      lock.unlock();
      WriteAll(fd, "0\r\n\r\n");
      lock.lock();
      break;
    }
  }
  stream->done = true;
  lock.unlock();
  ::shutdown(fd, SHUT_RDWR);
  finish();
}

}  // namespace kubetest
