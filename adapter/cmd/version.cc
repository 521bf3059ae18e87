#include <iostream>
#include <string>
#include <vector>

#include "adapter/cli/flags.h"
#include "adapter/cmd/commands.h"

namespace adapter {

int RunVersion(std::vector<std::string> args) {
  cli::FlagSet flags("metrics-adapter version", "Prints the version of metrics-adapter.");
  absl::StatusOr<std::vector<std::string>> rest = flags.Parse(args);
  if (!rest.ok()) {
    std::cerr << "Error: " << rest.status().message() << "\n";
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  if (!rest->empty()) {
    std::cerr << "Error: version takes no arguments, got \"" << rest->front() << "\"\n";
    return 2;
  }
  std::cout << "metrics-adapter " << kVersion << "\n";
  return 0;
}

}  // namespace adapter
