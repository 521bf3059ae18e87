#include <iostream>
#include <string>
#include <vector>

#include "adapter/cli/flags.h"
#include "adapter/cmd/commands.h"

namespace adapter {

int RunVersion(const std::vector<std::string>& args) {
  cli::FlagSet flags("metrics-adapter version", "Prints the version of metrics-adapter.");
  std::vector<std::string> rest;
  if (std::optional<int> exit_code = flags.ParseCommand(args, &rest)) return *exit_code;
  if (!rest.empty()) {
    std::cerr << "Error: version takes no arguments, got \"" << rest.front() << "\"\n";
    return 2;
  }
  std::cout << "metrics-adapter " << kVersion << "\n";
  return 0;
}

}  // namespace adapter
