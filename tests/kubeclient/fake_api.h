// A scripted stand-in for the Kubernetes API server in the kubeclient tests: plain HTTP on
// 127.0.0.1, a thread per connection, one request per connection. Ordinary requests are
// answered by a handler; watch requests (watch=true in the target) get either a queued canned
// answer (e.g. a 410 or 500) or a chunked stream fed line by line by the test, which can end it
// cleanly (last chunk) or drop the connection.
#ifndef METRICS_ADAPTER_TESTS_KUBECLIENT_FAKE_API_H_
#define METRICS_ADAPTER_TESTS_KUBECLIENT_FAKE_API_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace kubetest {

struct FakeRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct FakeAnswer {
  int status = 200;
  std::string body;
};

class FakeApi {
 public:
  using Handler = std::function<FakeAnswer(const FakeRequest&)>;

  FakeApi();
  ~FakeApi();

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void SetHandler(Handler handler);
  // The next watch request gets this answer instead of a stream.
  void QueueWatchAnswer(FakeAnswer answer);
  // Sends a line (a JSON event; the newline is added) on the latest watch stream.
  void Send(const std::string& line);
  // Ends the latest watch stream with the last chunk, or by closing the connection abruptly.
  void EndWatch();
  void DropWatch();

  // Waits until n watch streams have been opened (since the start); false on timeout.
  bool WaitForWatches(int n, std::chrono::milliseconds timeout = std::chrono::seconds(2));
  int watch_count() const;
  // Every request received, in order.
  std::vector<FakeRequest> requests() const;
  std::vector<std::string> WatchTargets() const;

 private:
  struct Stream {
    int fd = -1;
    std::deque<std::string> lines;
    bool end = false;
    bool drop = false;
    bool done = false;
  };

  void Accept();
  void Serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  Handler handler_;
  std::deque<FakeAnswer> watch_answers_;
  std::vector<std::shared_ptr<Stream>> streams_;
  std::vector<FakeRequest> requests_;
  std::vector<int> open_fds_;
  std::thread acceptor_;
  std::vector<std::thread> connections_;
};

// Polls cond every 5 ms until it holds or timeout passes.
bool Eventually(const std::function<bool()>& cond,
                std::chrono::milliseconds timeout = std::chrono::seconds(2));

}  // namespace kubetest

#endif  // METRICS_ADAPTER_TESTS_KUBECLIENT_FAKE_API_H_
