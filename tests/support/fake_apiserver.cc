#include "tests/support/fake_apiserver.h"

#include <chrono>
#include <cstdlib>
#include <thread>
#include <utility>

namespace testsupport {
namespace {

int ReadPort(const std::string& path) {
  std::string text = ReadFileText(path);
  return text.empty() ? 0 : std::atoi(text.c_str());
}

}  // namespace

FakeApiServer::FakeApiServer(const std::string& dir, FakeApiServerOptions options) : dir_(dir) {
  WriteFileText(dir_ + "/fixtures.json", options.fixtures_json);
  WriteFileText(dir_ + "/policy.json", options.policy_json);
  std::vector<std::string> argv = {"python3",
                                   SourceRoot() + "/tests/fake_apiserver/fake_apiserver.py",
                                   "--cert-dir",
                                   cert_dir(),
                                   "--port-file",
                                   dir_ + "/apiserver.port",
                                   "--control-port-file",
                                   dir_ + "/apiserver.control-port",
                                   "--kubeconfig-out",
                                   kubeconfig(),
                                   "--fixtures",
                                   dir_ + "/fixtures.json",
                                   "--policy",
                                   dir_ + "/policy.json",
                                   "--bookmark-interval",
                                   "0.5",
                                   "--log",
                                   dir_ + "/apiserver-requests.log"};
  for (const std::string& t : options.tokens) {
    argv.push_back("--token");
    argv.push_back(t);
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  process_ = std::make_unique<ChildProcess>(argv, dir_ + "/apiserver.log");
  // The port file is written last, when everything (certificates, kubeconfig) is ready.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    port_ = ReadPort(dir_ + "/apiserver.port");
    if (port_ > 0) {
      control_port_ = ReadPort(dir_ + "/apiserver.control-port");
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

FakeApiServer::~FakeApiServer() = default;

std::string FakeApiServer::log() const { return ReadFileText(dir_ + "/apiserver.log"); }

HttpResult FakeApiServer::Control(const std::string& method, const std::string& target,
                                  const std::string& body) const {
  return HttpRequestWithBody(control_port_, method, target, body, std::chrono::seconds(10));
}

bool FakeApiServer::Apply(const std::string& object_json) const {
  HttpResult r = Control("POST", "/fake/objects", object_json);
  return r.status == 200 || r.status == 201;
}

bool FakeApiServer::Delete(const std::string& api_version, const std::string& kind,
                           const std::string& ns, const std::string& name) const {
  HttpResult r = Control("DELETE", "/fake/objects?apiVersion=" + api_version + "&kind=" + kind +
                                       "&namespace=" + ns + "&name=" + name);
  return r.status == 200;
}

}  // namespace testsupport
