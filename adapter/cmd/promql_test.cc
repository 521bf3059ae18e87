// metrics-adapter promql-test [--evals LIST] [--known-failures LIST] FILE...: runs Prometheus'
// PromQL test scripts against the engine (promql/promqltest/runner.h) and prints every failure
// (file:line, expression, expected, got) and "N passed, M failed". Exit code 0 only when nothing
// failed (known failures aside), 1 otherwise, 2 for usage errors.
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "adapter/cli/flags.h"
#include "adapter/cmd/commands.h"
#include "promql/engine.h"
#include "promql/promqltest/runner.h"

namespace adapter {

int RunPromqlTest(const std::vector<std::string>& args) {
  cli::FlagSet flags("metrics-adapter promql-test",
                     "Runs PromQL test scripts (Prometheus' promqltest format) against the query "
                     "engine. Exits 0 only when every selected eval passes.");
  flags.set_args_usage("FILE...");
  std::string evals;
  std::string known;
  bool no_at_variants = false;
  bool no_range_check = false;
  bool quiet = false;
  int64_t lookback_ms = 0;
  flags.String("evals", &evals, "",
               "File listing the evals to run, one \"file.test:line\" per line (the line of the "
               "eval command); loads and clears always run. Default: all evals.");
  flags.String("known-failures", &known, "",
               "File listing evals known to fail (same format as --evals; text after the eval "
               "is a remark). They are reported but do not fail the run; one that passes does.");
  flags.Bool("no-at-variants", &no_at_variants, false, "Skip the '@' variants of instant evals.");
  flags.Bool("no-range-check", &no_range_check, false,
             "Skip the range-mode cross-check of instant evals.");
  flags.Bool("quiet", &quiet, false, "Print only the summary line and failure locations.");
  flags.Duration("query.lookback-delta", &lookback_ms, promql::kDefaultLookbackDeltaMs,
                 "Lookback delta of the engine.");
  std::vector<std::string> files;
  if (std::optional<int> exit_code = flags.ParseCommand(args, &files)) return *exit_code;
  if (files.empty()) {
    std::cerr << "Error: promql-test needs at least one FILE\n";
    return 2;
  }
  promql::promqltest::RunOptions options;
  std::set<std::string> selection;
  if (!evals.empty()) {
    auto sel = promql::promqltest::ReadSelection(evals);
    if (!sel.ok()) {
      std::cerr << "Error: " << sel.status().message() << "\n";
      return 2;
    }
    selection = std::move(*sel);
    options.selection = &selection;
  }
  std::set<std::string> known_set;
  if (!known.empty()) {
    auto k = promql::promqltest::ReadSelection(known);
    if (!k.ok()) {
      std::cerr << "Error: " << k.status().message() << "\n";
      return 2;
    }
    known_set = std::move(*k);
    options.known_failures = &known_set;
  }
  options.at_variants = !no_at_variants;
  options.range_check = !no_range_check;
  options.engine.lookback_delta_ms = lookback_ms;
  options.engine.max_samples = 50'000'000;
  options.engine.timeout_ms = 100'000;

  promql::promqltest::RunStats stats;
  int file_errors = 0;
  for (const std::string& f : files) {
    absl::Status st = promql::promqltest::RunScriptFile(f, options, &stats);
    if (!st.ok()) {
      ++file_errors;
      std::cout << "ERROR " << st.message() << "\n";
    }
  }
  for (const auto& fl : stats.failures) {
    if (quiet) {
      std::cout << "FAIL " << fl.file << ":" << fl.line << ": " << fl.expr << "\n";
      continue;
    }
    std::cout << "FAIL " << fl.file << ":" << fl.line << ": " << fl.expr << "\n"
              << "  expected: " << fl.expected << "\n"
              << "  got: " << fl.got << "\n";
  }
  for (const auto& fl : stats.known) {
    std::cout << "KNOWN " << fl.file << ":" << fl.line << ": " << fl.expr << "\n";
  }
  std::cout << stats.passed << " passed, " << stats.failed << " failed";
  if (stats.known_failed > 0) std::cout << ", " << stats.known_failed << " known failures";
  if (file_errors > 0) std::cout << ", " << file_errors << " file error(s)";
  std::cout << "\n";
  return stats.failed == 0 && file_errors == 0 ? 0 : 1;
}

}  // namespace adapter
