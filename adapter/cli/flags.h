// FlagSet: command-line flags in the style of Kubernetes components (spf13/pflag).
//
//   --name=value   --name value   (a value may not start with "--")
//   --flag  --flag=true  --flag=false        (bool flags never take the next argument)
//   --list=a,b --list c                      (string lists: comma-separated, repeatable)
//   --                                       (everything after it is positional)
//   -h, --help                               (see help_requested())
//
// Flags and positional arguments may be interleaved. A flag given twice takes its last value
// (string lists accumulate). Only long flags exist, besides -h.
//
// Typical use in a subcommand:
//
//   cli::FlagSet flags("metrics-adapter serve", "Runs the server.");
//   std::string path;
//   flags.String("storage-path", &path, "data", "Where the database lives.");
//   std::vector<std::string> positional;
//   if (std::optional<int> exit_code = flags.ParseCommand(argv_rest, &positional)) {
//     return *exit_code;  // --help (0) or a usage error (2), already printed
//   }
#ifndef METRICS_ADAPTER_ADAPTER_CLI_FLAGS_H_
#define METRICS_ADAPTER_ADAPTER_CLI_FLAGS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace cli {

class FlagSet {
 public:
  // command names the command in messages and in Usage(), e.g. "metrics-adapter serve";
  // summary is a paragraph printed at the top of Usage().
  explicit FlagSet(std::string command, std::string summary = "");

  FlagSet(const FlagSet&) = delete;
  FlagSet& operator=(const FlagSet&) = delete;

  // Registration: each writes the default into *target at once; Parse overwrites it when the
  // flag is given. Targets must outlive the FlagSet's Parse. Names are given without "--" and
  // must be unique (a duplicate registration replaces the earlier one).
  void String(std::string name, std::string* target, const std::string& default_value,
              std::string help);
  void Int(std::string name, int* target, int default_value, std::string help);
  void Int64(std::string name, int64_t* target, int64_t default_value, std::string help);
  void Bool(std::string name, bool* target, bool default_value, std::string help);
  // A finite decimal number, e.g. Kubernetes' --client-qps 5 or 2.5.
  void Double(std::string name, double* target, double default_value, std::string help);
  // A Prometheus duration (adapter/cli/duration.h), stored in milliseconds.
  void Duration(std::string name, int64_t* target_ms, int64_t default_ms, std::string help);
  // The first occurrence on the command line replaces the default, later ones append.
  void StringList(std::string name, std::vector<std::string>* target,
                  std::vector<std::string> default_value, std::string help);

  // Parses args (without the program and command names) and returns the positional arguments
  // in order. Errors (InvalidArgument), e.g.:
  //   unknown flag --foo (see 'metrics-adapter serve --help')
  //   invalid value "abc" for --retention: invalid duration "abc": ...
  //   flag --storage-path needs a value
  // When -h or --help appears anywhere before "--", nothing else is looked at: Parse returns
  // an empty list, help_requested() becomes true and the caller should print Usage() and exit 0.
  // Targets of flags parsed before an error may already hold their new values.
  absl::StatusOr<std::vector<std::string>> Parse(const std::vector<std::string>& args);

  // Parse as a subcommand does it: on an error prints "Error: ..." to stderr and returns 2; on
  // --help prints Usage() to stdout and returns 0; otherwise stores the positional arguments and
  // returns nullopt (the command goes on).
  std::optional<int> ParseCommand(const std::vector<std::string>& args,
                                  std::vector<std::string>* positional);

  // Describes the positional arguments on the usage line, e.g. "FILE..." gives
  // "metrics-adapter import [flags] FILE...".
  void set_args_usage(std::string text) { args_usage_ = std::move(text); }

  bool help_requested() const { return help_requested_; }
  // Whether the last Parse set the flag explicitly.
  bool Changed(const std::string& name) const;

  // The help text: usage line, summary and every flag (sorted by name) with its type, help and
  // non-empty default.
  std::string Usage() const;

 private:
  enum class Type { kString, kInt, kInt64, kBool, kDouble, kDuration, kStringList };
  struct Flag {
    Type type;
    void* target;
    std::string default_text;  // as shown in Usage(); empty = not shown
    std::string help;
    bool changed = false;
  };

  void Add(std::string name, Type type, void* target, std::string default_text, std::string help);
  // Stores text into flag's target; the error explains why text is not a valid value.
  absl::Status Set(Flag& flag, const std::string& text);

  std::string command_;
  std::string summary_;
  std::string args_usage_;
  std::map<std::string, Flag> flags_;
  bool help_requested_ = false;
};

}  // namespace cli

#endif  // METRICS_ADAPTER_ADAPTER_CLI_FLAGS_H_
