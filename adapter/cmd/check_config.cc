// `metrics-adapter check-config --scrape-config FILE`: validates a scrape configuration (the
// Prometheus format, see scrape/config.h) as `promtool check config` does: the file must load, and
// what promtool checks beyond loading must hold too (static and file_sd targets build their labels,
// TLS client certificates come with their keys, credential files exist; see
// scrape/config_check.h).
//
// Output, per file: "FILE: OK: N scrape configs" on stdout, or the error on stderr (it names the
// file and, for a parse error, the line); warnings (a file_sd pattern matching no file, sections
// of prometheus.yml that are ignored) go to stderr. Exit status: 0 when every file is valid, 1
// when one is not, 2 for a usage error. More kinds of configuration (e.g. the adapter's rules) get
// flags of their own next to --scrape-config.
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "adapter/cli/flags.h"
#include "adapter/cmd/commands.h"
#include "scrape/config.h"
#include "scrape/config_check.h"

namespace adapter {
namespace {

// Prefixes message with "path: " unless it already starts with the path.
std::string Located(const std::string& path, std::string message) {
  if (absl::StartsWith(message, path + ":")) return message;
  return path + ": " + message;
}

bool CheckScrapeConfig(const std::string& path) {
  absl::StatusOr<scrape::Config> config = scrape::LoadConfigFile(path);
  if (!config.ok()) {
    std::cerr << Located(path, std::string(config.status().message())) << "\n";
    return false;
  }
  std::vector<std::string> warnings;
  absl::Status deep = scrape::CheckConfigDeep(*config, &warnings);
  for (const std::string& w : warnings) std::cerr << path << ": warning: " << w << "\n";
  if (!config->ignored_fields.empty()) {
    std::cerr << path << ": note: ignored (not used by metrics-adapter): "
              << absl::StrJoin(config->ignored_fields, ", ") << "\n";
  }
  if (!deep.ok()) {
    std::cerr << Located(path, std::string(deep.message())) << "\n";
    return false;
  }
  const size_t n = config->scrape_configs.size();
  std::cout << path << ": OK: " << n << " scrape configs\n";
  return true;
}

}  // namespace

int RunCheckConfig(std::vector<std::string> args) {
  cli::FlagSet flags("metrics-adapter check-config",
                     "Validates configuration files without starting anything, as `promtool check "
                     "config` does for Prometheus. Exits 1 when a file is invalid.");
  std::vector<std::string> scrape_configs;
  flags.StringList("scrape-config", &scrape_configs, {},
                   "A scrape configuration file (Prometheus' prometheus.yml format) to check; "
                   "may be repeated.");
  std::vector<std::string> positional;
  if (std::optional<int> exit_code = flags.ParseCommand(args, &positional)) return *exit_code;
  if (!positional.empty()) {
    std::cerr << "Error: check-config takes no arguments, got \"" << positional.front()
              << "\" (use --scrape-config FILE)\n";
    return 2;
  }
  if (scrape_configs.empty()) {
    std::cerr << "Error: nothing to check: give --scrape-config FILE\n";
    return 2;
  }
  bool ok = true;
  for (const std::string& path : scrape_configs) ok = CheckScrapeConfig(path) && ok;
  return ok ? 0 : 1;
}

}  // namespace adapter
