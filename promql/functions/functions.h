// PromQL function implementations (internal to promql/). EvalFunction (evaluator.h) dispatches
// here by name.
#ifndef METRICS_ADAPTER_PROMQL_FUNCTIONS_FUNCTIONS_H_
#define METRICS_ADAPTER_PROMQL_FUNCTIONS_FUNCTIONS_H_

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "promql/eval/evaluator.h"

namespace promql::functions {

using eval::Evaluator;
using eval::Series;
using eval::Value;

// One call of a range-vector function: the samples of one series in the window of one step.
struct RangeCall {
  std::span<const tsdb::Sample> w;  // ascending, no stale markers, never empty
  int64_t ts = 0;                   // the evaluation step
  int64_t range_start = 0;          // window (range_start, range_end]
  int64_t range_end = 0;
  int64_t range_ms = 0;
  const std::vector<double>* args = nullptr;  // the scalar arguments at this step, in order
  bool anchored = false;
  bool smoothed = false;
  const Labels* labels = nullptr;
  Evaluator* ev = nullptr;
  const CallExpr* call = nullptr;
  int matrix_arg = 0;
  // For counter functions: the indices k (into the series' samples, of which w starts at
  // w_offset) where samples[k].v < samples[k - 1].v, ascending; null when not computed. Lets
  // rate/increase find the resets of each window without scanning it.
  const std::vector<uint32_t>* resets = nullptr;
  size_t w_offset = 0;
};

using RangeFunction = std::optional<double> (*)(const RangeCall&);
// The range-vector function called name, or nullptr.
RangeFunction LookupRangeFunction(std::string_view name);

// Classic histograms (histogram.cc): the `le`-labelled buckets of one step, grouped by their
// other labels.
struct Bucket {
  double upper;
  double count;
};
struct BucketGroup {
  const Labels* metric;  // the series' labels without `le` (owned by the BucketIndex)
  std::vector<Bucket> buckets;
};
// What grouping needs of each series of an input vector, worked out once for all steps: its
// parsed `le` and its group (the other labels), -1 when `le` is missing or malformed.
struct BucketIndex {
  std::vector<double> le;
  std::vector<int> group;
  std::vector<Labels> metrics;  // per group
};
BucketIndex IndexBuckets(const Value& input);
// Groups the step's samples; warns (at arg's position) about a missing or malformed `le`.
std::vector<BucketGroup> GroupBuckets(Evaluator& ev, const Expr& arg, const Value& input,
                                      const BucketIndex& index,
                                      const std::vector<std::pair<int, double>>& samples);
// Prometheus' BucketQuantile; *forced tells whether bucket counts had to be made monotonic.
double BucketQuantile(double q, std::vector<Bucket> buckets, bool* forced);
// The fraction of observations between lower and upper.
double BucketFraction(double lower, double upper, std::vector<Bucket> buckets);
// The info annotation for forced monotonicity.
void MonotonicityInfo(Evaluator& ev, const Labels& metric, const Expr& arg);

}  // namespace promql::functions

#endif  // METRICS_ADAPTER_PROMQL_FUNCTIONS_FUNCTIONS_H_
