// Test support: the demo exporters (examples/sample_app.py) as child processes, and the scrape
// and rules files the end-to-end tests build around them.
#ifndef METRICS_ADAPTER_TESTS_SUPPORT_SAMPLE_APPS_H_
#define METRICS_ADAPTER_TESTS_SUPPORT_SAMPLE_APPS_H_

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace testsupport {

struct SampleAppSpec {
  std::string pod;  // the pod the app plays
  double rps = 1;   // simulated requests per second (http_requests_total)
  // Extra command-line arguments of sample_app.py, e.g. {"--steady-queue"}.
  std::vector<std::string> args;
};

// One sample_app.py process per spec on a free loopback port, logging to dir/<pod>.log; all
// are killed on destruction.
class SampleApps {
 public:
  SampleApps(const std::string& dir, std::vector<SampleAppSpec> specs);

  const std::vector<SampleAppSpec>& specs() const { return specs_; }
  int port(size_t i) const { return ports_[i]; }

  // A scrape configuration (1 s interval) with one static target per app, labelled
  // namespace=default, pod=<pod>, node=demo-node, as the demo rules expect.
  std::string StaticScrapeConfig() const;

 private:
  std::vector<SampleAppSpec> specs_;
  std::vector<int> ports_;
  std::vector<std::unique_ptr<ChildProcess>> processes_;
};

// examples/rules.yaml with rate windows of 5 s instead of a minute, so that with 1 s scrapes
// the windows fill within seconds. Empty when the file cannot be read.
std::string DemoRulesWithShortWindows();

}  // namespace testsupport

#endif  // METRICS_ADAPTER_TESTS_SUPPORT_SAMPLE_APPS_H_
