// PromQL parser entry points. The grammar, precedence, type checks and error texts follow
// Prometheus 3.x (promql/parser): errors are absl::InvalidArgumentError with messages like
//   "1:14: parse error: unexpected <op:*>"
//   "1:5: parse error: unclosed left parenthesis"
//   "1:1: parse error: expected type range vector in call to function \"rate\", got instant vector"
// i.e. "<line>:<col>: parse error: <what>" (see PositionToLineCol in ast.h). Never crashes or
// hangs on any input; nesting depth is bounded (deeper input is rejected with an error).
#ifndef METRICS_ADAPTER_PROMQL_PARSER_PARSER_H_
#define METRICS_ADAPTER_PROMQL_PARSER_PARSER_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "promql/parser/ast.h"
#include "tsdb/labels.h"
#include "tsdb/matcher.h"

namespace promql {

struct ParseOptions {
  // Experimental functions and aggregations (limitk, limit_ratio, info, sort_by_label, ...).
  // When false, using one fails with Prometheus' message
  // "function \"x\" is not enabled" / "limitk() is experimental and must be enabled with ...".
  bool enable_experimental_functions = true;
  // Arithmetic in ranges/offsets/steps (`[5m+1m]`, `offset step()`); plain numbers and durations
  // are always accepted.
  bool enable_duration_expressions = true;
  // `anchored` / `smoothed` range selector modifiers.
  bool enable_extended_range_selectors = true;
  // fill(), fill_left(), fill_right() binary operator modifiers.
  bool enable_binop_fill_modifiers = true;
  // Maximum nesting depth of the expression (parentheses, calls, operators); deeper input
  // fails with a parse error instead of exhausting the stack.
  int max_depth = 1000;
};

// Parses a PromQL expression. An empty or comment-only input is an error ("no expression found
// in input").
absl::StatusOr<std::unique_ptr<Expr>> ParseExpr(std::string_view input,
                                                const ParseOptions& options = ParseOptions());

// Parses a series selector as the HTTP API's match[] parameter takes it: `name`, `name{...}` or
// `{...}`, no range/offset/@. Returns its matchers (including __name__ for a written name).
// Like Prometheus, it rejects selectors whose every matcher matches the empty string.
absl::StatusOr<std::vector<tsdb::LabelMatcher>> ParseMetricSelector(std::string_view input);

// Parses a literal series description as the test scripts' load lines write it:
// `name`, `name{a="b", "c.d"="e"}`, `{__name__="x"}`, `{"my.metric", a="b"}` (only `=`).
// Returns the label set (sorted; empty values dropped).
absl::StatusOr<tsdb::Labels> ParseMetric(std::string_view input);

// Parses a Prometheus duration ("1h30m", "500ms", "1y2w3d", "0"). Units in decreasing order,
// each at most once. Returns milliseconds.
absl::StatusOr<int64_t> ParseDuration(std::string_view text);

}  // namespace promql

#endif  // METRICS_ADAPTER_PROMQL_PARSER_PARSER_H_
