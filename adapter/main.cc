// metrics-adapter <command> [flags]: dispatches to the subcommands of adapter/cmd/commands.h.
#include <iostream>
#include <string>
#include <vector>

#include "adapter/cmd/commands.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>&);
};

constexpr Command kCommands[] = {
    {"serve", "Run the server: store samples and serve them over HTTP.", adapter::RunServe},
    {"import", "Import samples into a storage directory.", adapter::RunImport},
    {"version", "Print the version.", adapter::RunVersion},
    {"check-config", "Validate configuration files.", adapter::RunCheckConfig},
    {"query", "Evaluate a PromQL expression over a storage directory.", adapter::RunQuery},
    {"explain", "Show how one Kubernetes metrics API request is answered.", adapter::RunExplain},
    {"promql-test", "Run PromQL test scripts against the query engine.", adapter::RunPromqlTest},
};

std::string Usage() {
  std::string out =
      "metrics-adapter: Prometheus-compatible metrics storage and Kubernetes metrics API server.\n"
      "\n"
      "Usage:\n"
      "  metrics-adapter <command> [flags]\n"
      "\n"
      "Commands:\n";
  for (const Command& c : kCommands) {
    std::string name = c.name;
    name.resize(13, ' ');
    out += "  " + name + c.summary + "\n";
  }
  out += "  help         Show help for a command.\n";
  out += "\nRun 'metrics-adapter <command> --help' for the flags of a command.\n";
  return out;
}

const Command* Find(const std::string& name) {
  for (const Command& c : kCommands) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

int UnknownCommand(const std::string& name) {
  std::cerr << "Error: unknown command \"" << name << "\"\n\n" << Usage();
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << Usage();
    return 2;
  }
  const std::string command = args.front();
  args.erase(args.begin());
  if (command == "-h" || command == "--help") {
    std::cout << Usage();
    return 0;
  }
  if (command == "--version") return adapter::RunVersion({});
  if (command == "help") {
    if (args.empty()) {
      std::cout << Usage();
      return 0;
    }
    if (args[0] == "help") {
      std::cout << Usage();
      return 0;
    }
    const Command* c = Find(args[0]);
    if (c == nullptr) return UnknownCommand(args[0]);
    return c->run({"--help"});
  }
  const Command* c = Find(command);
  if (c == nullptr) return UnknownCommand(command);
  return c->run(args);
}
