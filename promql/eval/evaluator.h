// The evaluator behind promql::Engine (engine.h); internal to promql/.
//
// Evaluation model (the one Prometheus uses): every node is evaluated once over all steps of the
// evaluator's time range [start, end] (interval apart) and yields a Value:
//   - an instant vector as series whose points sit at step timestamps (a series has no point at
//     a step where it has no value);
//   - a scalar as one value per step;
//   - a string;
//   - a range vector (only at the top of an instant query) as series of raw samples.
// An instant query is a range evaluation with one step. Selectors fetch each series' samples
// once per evaluation; subqueries evaluate their inner expression with a nested evaluator over
// their own, absolutely aligned steps.
//
// Names are removed late, as Prometheus does with delayed name removal: operations that drop the
// metric name only set Series::drop_name, and the engine strips __name__ (and __type__, __unit__)
// from flagged series at the very end.
//
// Errors are thrown as EvalError inside the evaluator and turned into absl::Status by the engine;
// nothing throws across the engine's API.
#ifndef METRICS_ADAPTER_PROMQL_EVAL_EVALUATOR_H_
#define METRICS_ADAPTER_PROMQL_EVAL_EVALUATOR_H_

#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "promql/engine.h"
#include "promql/parser/ast.h"
#include "promql/value.h"
#include "tsdb/labels.h"
#include "tsdb/stale.h"
#include "tsdb/storage.h"
#include "tsdb/text_escape.h"

namespace promql::eval {

// One series of an evaluated node.
struct Series {
  Labels labels;
  std::vector<tsdb::Sample> points;  // ascending time
  bool drop_name = false;            // strip __name__/__type__/__unit__ at the end
};

struct Value {
  ValueType type = ValueType::kVector;
  std::vector<Series> series;   // kVector, kMatrix
  std::vector<double> scalars;  // kScalar: one per step
  std::string str;              // kString
};

// Thrown inside the evaluator; caught by the engine.
struct EvalError {
  absl::Status status;
};
[[noreturn]] void Throw(absl::Status status);
[[noreturn]] void ThrowExec(const std::string& message);  // an "execution" error (Internal code)

// State shared by all evaluators of one query.
struct QueryContext {
  const QuerierFactory* querier = nullptr;
  EngineOptions options;
  std::string_view query;  // text, for annotation positions
  int64_t query_start = 0, query_end = 0, query_step = 0;
  bool range_query = false;
  std::chrono::steady_clock::time_point deadline;

  // Samples currently held in memory (Prometheus' currentSamples, approximately).
  int64_t samples = 0;
  int64_t peak_samples = 0;

  std::vector<std::string> warnings;
  std::vector<std::string> infos;
  std::set<std::string> seen_annotations;

  void Warn(std::string_view message, const PositionRange& pos);
  void Info(std::string_view message, const PositionRange& pos);
  // Throws DeadlineExceeded when the query ran out of time. Cheap: looks at the clock only every
  // few hundred calls.
  void CheckDeadline();
  // The same, looking at the clock now.
  void CheckDeadlineNow() const;
  // Accounts for n more samples in memory; throws when over the limit.
  void AddSamples(int64_t n);
  void ReleaseSamples(int64_t n) { samples -= n; }

 private:
  int deadline_calls_ = 0;
};

// Collects per-step output samples into series keyed by label set, and rejects two samples with
// the same labels at one step ("vector cannot contain metrics with the same labelset"). Series
// come out in order of first appearance.
class SeriesBuilder {
 public:
  explicit SeriesBuilder(size_t expected_series = 0);
  void Add(int step, const Labels& labels, bool drop_name, int64_t t, double v);
  // The index of the series with these labels, created (without points) on first use; callers
  // that see the same output series at every step cache it and use AddAt.
  size_t Index(const Labels& labels, bool drop_name);
  void AddAt(size_t index, int step, int64_t t, double v);
  const Labels& LabelsAt(size_t index) const { return out_[index].labels; }
  // The series that got at least one point.
  std::vector<Series> Finish();
  size_t size() const { return out_.size(); }

 private:
  std::unordered_multimap<uint64_t, size_t> index_;
  std::vector<Series> out_;
  std::vector<int> last_step_;
};

// A range-vector argument: every series' samples covering all windows of the evaluation, and how
// a step time maps to its window.
struct RangeInput {
  std::vector<Series> series;  // samples without stale markers
  int64_t range_ms = 0;
  int64_t offset_ms = 0;
  std::optional<int64_t> at_ms;
  bool anchored = false;
  bool smoothed = false;
  bool from_subquery = false;
  PositionRange pos;  // of the argument
  const Expr* expr = nullptr;
  // For a matrix selector, the series are not read up front: ForEachRangeSeries streams them from
  // the storage over [select_mint, select_maxt], and `series` stays empty.
  const VectorSelector* selector = nullptr;
  int64_t select_mint = 0, select_maxt = 0;

  int64_t Ref(int64_t ts) const { return (at_ms ? *at_ms : ts) - offset_ms; }
};

class Evaluator {
 public:
  Evaluator(QueryContext* ctx, int64_t start, int64_t end, int64_t interval);

  // Evaluates e over all steps.
  Value Eval(const Expr& e);

  int64_t start() const { return start_; }
  int64_t end() const { return end_; }
  int64_t interval() const { return interval_; }
  int num_steps() const { return num_steps_; }
  int64_t StepTime(int i) const { return start_ + static_cast<int64_t>(i) * interval_; }
  // The step index of t (which must be a step time).
  int StepIndex(int64_t t) const { return static_cast<int>((t - start_) / interval_); }
  QueryContext& ctx() { return *ctx_; }

  // Evaluates a scalar-typed expression to one value per step.
  std::vector<double> EvalScalar(const Expr& e);
  // Evaluates a matrix-typed argument (matrix selector or subquery, parentheses allowed); a
  // matrix selector's series are read by ForEachRangeSeries.
  RangeInput EvalRange(const Expr& e);
  // Calls fn for each series of the range argument in order, with its samples (stale markers
  // removed; series left without samples are skipped). A matrix selector's series are read from
  // the storage a piece at a time, so only one piece is held decoded; fn may take the series'
  // contents.
  void ForEachRangeSeries(RangeInput& in, absl::FunctionRef<void(Series&)> fn);
  // The samples of the vector selector's series over [mint, maxt], as stored (stale markers
  // included).
  std::vector<Series> Select(const VectorSelector& vs, int64_t mint, int64_t maxt);
  // The same, streamed: fn is called for each series in order while only a piece of the
  // selection is held decoded (with hints, perhaps less than all of it). With count_samples, the
  // piece's samples count towards the query's sample limit while fn works on it (as a range
  // function's windows do in Prometheus; an instant selector counts only the points it outputs). fn
  // may take the series' contents.
  void SelectEach(const VectorSelector& vs, int64_t mint, int64_t maxt,
                  const tsdb::SelectHints& hints, bool count_samples,
                  absl::FunctionRef<void(Series&)> fn);

  // Per-step view of an instant vector: for each step, (series index, value) pairs.
  using StepSamples = std::vector<std::vector<std::pair<int, double>>>;
  StepSamples ByStep(const Value& v) const;

 private:
  Value EvalNode(const Expr& e);
  Value EvalVectorSelector(const VectorSelector& vs);
  Value EvalSmoothedSelector(const VectorSelector& vs, int64_t min_ref, int64_t max_ref);
  Value EvalMatrixTop(const Expr& e);
  Value EvalUnary(const UnaryExpr& u);
  Value EvalBinary(const BinaryExpr& b);
  Value EvalAggregate(const AggregateExpr& a);
  Value EvalCall(const CallExpr& c);
  Value EvalSubqueryInner(const SubqueryExpr& sq, int64_t* inner_start, int64_t* inner_end,
                          int64_t* inner_interval);

  QueryContext* ctx_;
  int64_t start_, end_, interval_;
  int num_steps_;
};

// Binary operators (binary.cc).
Value EvalBinaryOp(Evaluator& ev, const BinaryExpr& b, Value lhs, Value rhs);
// Aggregations (aggregate.cc).
Value EvalAggregation(Evaluator& ev, const AggregateExpr& a, Value input,
                      const std::vector<double>* param, const std::string* string_param);
// Function calls (functions/*.cc).
Value EvalFunction(Evaluator& ev, const CallExpr& c);

// Helpers shared by the evaluator parts.
using tsdb::IsStaleNaN;
// Prometheus' label set text: {__name__="x", a="b"} (all labels inside the braces, Go quoting).
std::string LabelsString(const Labels& l);
// Go's strconv.Quote for messages (tsdb/text_escape.h).
using tsdb::GoQuote;
// Go's strconv.FormatFloat(v, 'f', -1, 64), with +Inf/-Inf/NaN.
std::string FormatFloatF(double v);
// Go's %g formatting of a float64 (shortest representation, exponent when large/small).
std::string FormatFloatG(double v);
// Labels without __name__, __type__ and __unit__.
Labels DropMetricName(const Labels& l);
// Merges series with equal label sets (as dropping metric names makes them) into one, unless two
// of them have a point at the same time: then the result would be ambiguous, and this throws
// "vector cannot contain metrics with the same labelset". Keeps the order of first appearance.
std::vector<Series> MergeSameLabelsets(std::vector<Series> in);
// Prometheus' quantile of values (the "quantile" aggregation and quantile_over_time): sorts
// them, NaN first, and interpolates between the two nearest ranks. NaN for no values or a NaN q,
// -Inf for q < 0, +Inf for q > 1.
double Quantile(double q, std::vector<double>& values);
// Smallest i in [0, n) with pred(i), or n; pred must be false then true over [0, n).
template <typename Pred>
size_t SearchFirst(size_t n, Pred pred) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (pred(mid)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}
// Neumaier-compensated summation step (Prometheus' kahansum.Inc).
inline void KahanInc(double inc, double* sum, double* c) {
  double t = *sum + inc;
  if (std::isinf(t)) {
    *c = 0;
  } else if (std::fabs(*sum) >= std::fabs(inc)) {
    *c += (*sum - t) + inc;
  } else {
    *c += (inc - t) + *sum;
  }
  *sum = t;
}
// The samples of an anchored/smoothed range (mint, maxt] with points added at both ends (the
// sample at or before the start, or for smoothed ranges the interpolated boundary values).
std::vector<tsdb::Sample> ExtendFloats(const std::vector<tsdb::Sample>& f, int64_t mint,
                                       int64_t maxt, bool smoothed);
// Unwraps parentheses.
const Expr& Unparen(const Expr& e);

}  // namespace promql::eval

#endif  // METRICS_ADAPTER_PROMQL_EVAL_EVALUATOR_H_
