// Runs PromQL test scripts (script.h) against the engine, as Prometheus' promqltest runner does:
// one fresh storage per file (and per `clear`), loads in file order, and for every selected eval
// the main query plus, for instant evals, the `@` variants (the expression rewritten so that
// every selector gets `@ T`, run at -10T, 0, T/5, T, 10T) and the range-mode cross-check (a range
// query T-1m..T+1m step 1m whose point at T must match too). Results are compared with a relative
// tolerance of 1e-6 (see AlmostEqual).
#ifndef METRICS_ADAPTER_PROMQL_PROMQLTEST_RUNNER_H_
#define METRICS_ADAPTER_PROMQL_PROMQLTEST_RUNNER_H_

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "promql/engine.h"

namespace promql::promqltest {

// Prometheus' test comparison of floats: StaleNaN only equals StaleNaN, NaN equals NaN, exact
// equality, and otherwise |e-a| / min(|e|+|a|, DBL_MAX) < 1e-6 (absolute near zero).
bool AlmostEqual(double expected, double actual);

struct RunOptions {
  // When non-null, only evals whose "file.test:line" (file base name, 1-based line of the eval
  // header) is in the set run; loads and clears always run.
  const std::set<std::string>* selection = nullptr;
  // Evals ("file.test:line") known to fail: their failure is counted in known_failed instead of
  // failed; if one passes, that is a failure (the list is out of date).
  const std::set<std::string>* known_failures = nullptr;
  EngineOptions engine;
  bool at_variants = true;  // FORMAT §6.2 step 2
  bool range_check = true;  // FORMAT §6.2 step 3
  // Parent of the per-file temporary storage directories ($TMPDIR or /tmp when empty).
  std::string temp_dir;
};

struct EvalFailure {
  std::string file;  // base name
  int line = 0;
  std::string expr;
  std::string expected;
  std::string got;
};

struct RunStats {
  int passed = 0;
  int failed = 0;
  int known_failed = 0;
  std::vector<EvalFailure> failures;
  std::vector<EvalFailure> known;  // failures of evals listed in known_failures
};

// Runs one script text; file names the script in failures and selection keys. An invalid script
// or a failing load is an error (the evals that could not run are not counted).
absl::Status RunScript(std::string_view file, std::string_view text, const RunOptions& options,
                       RunStats* stats);
// Reads and runs a file.
absl::Status RunScriptFile(const std::string& path, const RunOptions& options, RunStats* stats);

// Reads a selection list: one "file.test:line" per line (anything after the first blank on a
// line is a remark); blank lines and '#' comments are ignored.
absl::StatusOr<std::set<std::string>> ReadSelection(const std::string& path);

}  // namespace promql::promqltest

#endif  // METRICS_ADAPTER_PROMQL_PROMQLTEST_RUNNER_H_
