// Test support: tests/fake_apiserver/fake_apiserver.py (a fake Kubernetes API server over
// HTTPS, see its README) as a child process, and its control API.
#ifndef METRICS_ADAPTER_TESTS_SUPPORT_FAKE_APISERVER_H_
#define METRICS_ADAPTER_TESTS_SUPPORT_FAKE_APISERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace testsupport {

struct FakeApiServerOptions {
  std::string fixtures_json = "[]";  // initial objects
  std::string policy_json = "[]";    // SubjectAccessReview rules
  // TOKEN=user[:group1,group2] bearer tokens known to TokenReview.
  std::vector<std::string> tokens;
  std::vector<std::string> extra_args;
};

class FakeApiServer {
 public:
  // Starts the server with its certificates in dir/certs (make_certs.sh) and waits up to 20 s
  // until it serves; ok() tells whether it did (log() says why not).
  FakeApiServer(const std::string& dir, FakeApiServerOptions options);
  ~FakeApiServer();

  bool ok() const { return port_ > 0 && control_port_ > 0; }
  int port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  // A kubeconfig for the cluster, current context "admin" (client certificate); context
  // "token" uses a bearer token.
  std::string kubeconfig() const { return dir_ + "/kubeconfig"; }
  std::string cert_dir() const { return dir_ + "/certs"; }
  std::string log() const;

  // The control API (plain HTTP): method, target ("/fake/objects"), JSON body.
  HttpResult Control(const std::string& method, const std::string& target,
                     const std::string& body = "") const;
  // Creates or replaces an object (watchers see ADDED or MODIFIED).
  bool Apply(const std::string& object_json) const;
  // Deletes an object (watchers see DELETED).
  bool Delete(const std::string& api_version, const std::string& kind, const std::string& ns,
              const std::string& name) const;

 private:
  std::string dir_;
  int port_ = 0;
  int control_port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace testsupport

#endif  // METRICS_ADAPTER_TESTS_SUPPORT_FAKE_APISERVER_H_
