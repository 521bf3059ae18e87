// The PromQL test-script language of Prometheus (`*.test` files of promql/promqltest/testdata):
// `load`, `clear` and `eval` commands with series lines and expectations. This file parses a
// script into commands; runner.h executes them against the engine.
//
// The language, as the upstream runner reads it (see tests/promql/testdata/README.md):
//   - lines are trimmed; a line starting with '#' counts as empty; an empty line ends a block;
//   - `load <step>` / `load_with_nhcb <step>` followed by series lines `metric{l="v"} <values>`
//     where values are `V`, `_`, `_xN` (N gaps), `VxN` (N+1 copies), `V+DxN` / `V-DxN` (N+1 values
//     by repeated addition), `stale`, and native-histogram values `{{...}}` (recognised, counted
//     as slots and not loaded: the storage holds floats only);
//   - `eval instant at <t> <expr>` / `eval range from <s> to <e> step <d> <expr>` followed by
//     expectation lines (`expect fail|warn|info|no_warn|no_info|ordered [msg: X | regex: R]`,
//     `expect range vector from .. to .. step ..`, `expect string "..."`, a scalar number, or
//     series lines); the deprecated `eval_fail`/`eval_warn`/`eval_info`/`eval_ordered` forms too;
//   - start-timestamp lines (`series@st ...`) are recognised and skipped: the storage keeps no
//     start timestamps.
#ifndef METRICS_ADAPTER_PROMQL_PROMQLTEST_SCRIPT_H_
#define METRICS_ADAPTER_PROMQL_PROMQLTEST_SCRIPT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tsdb/labels.h"
#include "tsdb/stale.h"

namespace promql::promqltest {

using tsdb::IsStaleNaN;
using tsdb::kStaleNaNBits;
using tsdb::StaleNaN;

// One slot of an expanded value sequence.
struct SlotValue {
  enum class Kind { kOmitted, kFloat, kHistogram };
  Kind kind = Kind::kOmitted;
  double v = 0;           // kFloat (may be the StaleNaN)
  std::string histogram;  // kHistogram: the text inside {{ }}, kept for messages
};

// A series line: labels and the values at slots 0, 1, 2, ...
struct SeriesLine {
  tsdb::Labels labels;
  std::vector<SlotValue> values;
  int line = 0;
};

// Parses "<series> <value sequence>" (the value sequence may be empty).
absl::StatusOr<SeriesLine> ParseSeriesLine(std::string_view text);
// Parses a value sequence alone.
absl::StatusOr<std::vector<SlotValue>> ParseValueSequence(std::string_view text);
// Prometheus duration syntax ("1m30s", "500ms", "0"); no sign. Milliseconds.
absl::StatusOr<int64_t> ParseTestDuration(std::string_view text);
// A PromQL string literal in double, single or back quotes, with Go escapes.
absl::StatusOr<std::string> UnquoteString(std::string_view quoted);
// The number of a scalar expectation line: Go integer syntax with base prefixes first, then a
// float (incl. Inf, NaN, hex floats). nullopt when the text is not entirely a number.
std::optional<double> ParseScalarLine(std::string_view text);

struct LoadCmd {
  int line = 0;
  int64_t step_ms = 0;
  bool with_nhcb = false;
  std::vector<SeriesLine> series;  // a series given twice: the later line wins
  int histogram_values = 0;        // {{...}} values seen (not loaded)
};

struct ClearCmd {
  int line = 0;
};

// An `expect warn|info|no_warn|no_info` or annotation-related requirement.
struct AnnotationExpect {
  enum class Match { kAny, kMsg, kRegex };
  Match match = Match::kAny;
  std::string text;  // message or regex
};

struct EvalCmd {
  int line = 0;
  std::string expr;
  int expr_line = 0;
  bool range = false;
  int64_t start_ms = 0;  // instant: the evaluation time
  int64_t end_ms = 0;
  int64_t step_ms = 0;

  // expect fail
  bool expect_fail = false;
  AnnotationExpect fail;  // kAny / kMsg / kRegex on the error text

  // Warnings and infos. *_checked says whether any line mentioned the kind at all.
  bool warn_checked = false;
  bool expect_no_warn = false;
  std::vector<AnnotationExpect> warns;
  bool info_checked = false;
  bool expect_no_info = false;
  std::vector<AnnotationExpect> infos;

  bool ordered = false;

  // expect range vector from .. to .. step .. (instant queries returning a matrix).
  bool range_vector = false;
  int64_t rv_start_ms = 0, rv_end_ms = 0, rv_step_ms = 0;

  std::optional<std::string> expect_string;
  std::optional<double> expect_scalar;
  std::vector<SeriesLine> series;  // in order of appearance
};

struct Command {
  enum class Kind { kLoad, kClear, kEval };
  Kind kind;
  LoadCmd load;
  ClearCmd clear;
  EvalCmd eval;
};

struct Script {
  std::vector<Command> commands;
};

// Parses a whole script. Errors name the line ("line 12: ...").
absl::StatusOr<Script> ParseScript(std::string_view text);

}  // namespace promql::promqltest

#endif  // METRICS_ADAPTER_PROMQL_PROMQLTEST_SCRIPT_H_
