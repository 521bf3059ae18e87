// Test support: run the real metrics-adapter binary (and other programs) as child processes, and
// talk to them over loopback HTTP. Used by the integration tests.
#ifndef METRICS_ADAPTER_TESTS_SUPPORT_PROCESS_H_
#define METRICS_ADAPTER_TESTS_SUPPORT_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace testsupport {

// The binary under test (env MA_BINARY, set by ctest), or "" when unset.
std::string BinaryPath();

// The source tree (env MA_SOURCE_ROOT when set, else the tree the tests were built from).
std::string SourceRoot();

// A child process; killed (SIGKILL) and reaped on destruction if still running.
class ChildProcess {
 public:
  // Starts argv[0] with argv; stdout and stderr go to log_path (appended).
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool Signal(int sig);
  // Waits for exit; returns the exit code, 128+signal when killed, or -1 on timeout.
  int Wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// The outcome of RunShell.
struct RunResult {
  int exit_code = -1;  // -1 when the command did not exit normally
  std::string out;
  std::string err;
};

// s quoted for /bin/sh: 'it'\''s'.
std::string ShellQuote(const std::string& s);

// Runs a shell command line, capturing stdout and stderr in files under dir.
RunResult RunShell(const std::string& command, const std::string& dir);

// The whole contents of a file ("" when it cannot be read), and writing one.
std::string ReadFileText(const std::string& path);
void WriteFileText(const std::string& path, const std::string& text);

// A new directory under $TEST_TMPDIR (or /tmp) named prefix-XXXXXX.
std::string MakeTempDir(const std::string& prefix);

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

struct HttpResult {
  int status = 0;  // 0: no connection
  std::string body;
};
// One HTTP/1.1 request without a body to 127.0.0.1:port (Connection: close); a chunked answer
// is decoded. status 0 when there was no answer within timeout.
HttpResult HttpRequest(int port, const std::string& method, const std::string& target,
                       std::chrono::seconds timeout);
// As HttpRequest, sending body_text (none when empty) as a body of content_type.
HttpResult HttpRequestWithBody(int port, const std::string& method, const std::string& target,
                               const std::string& body_text, std::chrono::seconds timeout,
                               const std::string& content_type = "application/json");
// s percent-encoded for a URL query or form body (everything but A-Z a-z 0-9 - _ . ~).
std::string UrlEncode(const std::string& s);

// HttpRequest(port, "GET", target, 5 s).
HttpResult HttpGet(int port, const std::string& target);

// Polls GET target until it answers 200 or timeout passes.
bool WaitForHttp200(int port, const std::string& target, std::chrono::milliseconds timeout);

}  // namespace testsupport

#endif  // METRICS_ADAPTER_TESTS_SUPPORT_PROCESS_H_
