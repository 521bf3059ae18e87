#include "tests/support/sample_apps.h"

#include <utility>

namespace testsupport {

SampleApps::SampleApps(const std::string& dir, std::vector<SampleAppSpec> specs)
    : specs_(std::move(specs)) {
  const std::string app = SourceRoot() + "/examples/sample_app.py";
  for (const SampleAppSpec& spec : specs_) {
    const int port = FreePort();
    std::vector<std::string> argv = {
        "python3", app, "--port", std::to_string(port), "--rps", std::to_string(spec.rps)};
    argv.insert(argv.end(), spec.args.begin(), spec.args.end());
    ports_.push_back(port);
    processes_.push_back(std::make_unique<ChildProcess>(argv, dir + "/" + spec.pod + ".log"));
  }
}

std::string SampleApps::StaticScrapeConfig() const {
  std::string out =
      "global: {scrape_interval: 1s, scrape_timeout: 900ms}\n"
      "scrape_configs:\n"
      "  - job_name: sample-app\n"
      "    static_configs:\n";
  for (size_t i = 0; i < specs_.size(); ++i) {
    out += "      - targets: ['127.0.0.1:" + std::to_string(ports_[i]) + "']\n";
    out += "        labels: {namespace: default, pod: " + specs_[i].pod + ", node: demo-node}\n";
  }
  return out;
}

std::string DemoRulesWithShortWindows() {
  std::string rules = ReadFileText(SourceRoot() + "/examples/rules.yaml");
  for (size_t at = rules.find("[1m]"); at != std::string::npos; at = rules.find("[1m]", at)) {
    rules.replace(at, 4, "[5s]");
  }
  return rules;
}

}  // namespace testsupport
