#include "promql/eval/evaluator.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "promql/parser/functions.h"

namespace promql::eval {

namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

[[noreturn]] void Throw(absl::Status status) { throw EvalError{std::move(status)}; }
[[noreturn]] void ThrowExec(const std::string& message) {
  throw EvalError{absl::InternalError(message)};
}

const Expr& Unparen(const Expr& e) {
  const Expr* p = &e;
  while (p->kind() == ExprKind::kParen || p->kind() == ExprKind::kStepInvariant) {
    p = p->kind() == ExprKind::kParen ? p->As<ParenExpr>().expr.get()
                                      : p->As<StepInvariantExpr>().expr.get();
  }
  return *p;
}

std::vector<Series> MergeSameLabelsets(std::vector<Series> in) {
  std::unordered_multimap<uint64_t, size_t> index;
  std::vector<Series> out;
  out.reserve(in.size());
  for (Series& s : in) {
    const uint64_t h = s.labels.Hash();
    size_t found = SIZE_MAX;
    auto range = index.equal_range(h);
    for (auto it = range.first; it != range.second; ++it) {
      if (out[it->second].labels == s.labels) found = it->second;
    }
    if (found == SIZE_MAX) {
      index.emplace(h, out.size());
      out.push_back(std::move(s));
      continue;
    }
    Series& base = out[found];
    base.points.insert(base.points.end(), s.points.begin(), s.points.end());
    std::stable_sort(base.points.begin(), base.points.end(),
                     [](const tsdb::Sample& a, const tsdb::Sample& b) { return a.t < b.t; });
    for (size_t i = 1; i < base.points.size(); ++i) {
      if (base.points[i].t == base.points[i - 1].t) {
        ThrowExec("vector cannot contain metrics with the same labelset");
      }
    }
  }
  return out;
}

double Quantile(double q, std::vector<double>& values) {
  if (values.empty() || std::isnan(q)) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::stable_sort(values.begin(), values.end(), [](double a, double b) {
    if (std::isnan(a)) return true;
    return a < b;
  });
  const double n = static_cast<double>(values.size());
  const double rank = q * (n - 1);
  const double lower = std::max(0.0, std::floor(rank));
  const double upper = std::min(n - 1, lower + 1);
  const double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower)] * (1 - weight) +
         values[static_cast<size_t>(upper)] * weight;
}

Labels DropMetricName(const Labels& l) {
  std::vector<tsdb::Label> out;
  out.reserve(l.size());
  for (const tsdb::Label& x : l) {
    if (x.name == "__name__" || x.name == "__type__" || x.name == "__unit__") continue;
    out.push_back(x);
  }
  return Labels::FromSorted(std::move(out));
}

// --- formatting helpers ---

namespace {

bool IsLegacyLabelName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string LabelsString(const Labels& l) {
  std::string out = "{";
  bool first = true;
  for (const tsdb::Label& x : l) {
    if (!first) out += ", ";
    first = false;
    out += IsLegacyLabelName(x.name) ? x.name : GoQuote(x.name);
    out += "=";
    out += GoQuote(x.value);
  }
  out += "}";
  return out;
}

std::string FormatFloatF(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

std::string FormatFloatG(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  // Shortest round-trip digits in scientific form, then laid out as Go's %g does.
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // e.g. "-1.2345e+06"
  size_t epos = sci.find('e');
  std::string mant = sci.substr(0, epos);
  int exp = std::atoi(sci.c_str() + epos + 1);
  bool neg = mant[0] == '-';
  if (neg) mant.erase(0, 1);
  std::string digits;
  for (char c : mant) {
    if (c != '.') digits += c;
  }
  std::string out;
  if (exp < -4 || exp >= 21) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += "e";
    out += exp < 0 ? "-" : "+";
    int a = std::abs(exp);
    if (a < 10) out += "0";
    out += std::to_string(a);
  } else if (exp < 0) {
    out = "0." + std::string(-exp - 1, '0') + digits;
  } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
    out = digits + std::string(exp + 1 - digits.size(), '0');
  } else {
    out = digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
  }
  return neg ? "-" + out : out;
}

// --- QueryContext ---

void QueryContext::Warn(std::string_view message, const PositionRange& pos) {
  std::string text = absl::StrCat("PromQL warning: ", std::string(message), " (",
                                  PositionToLineCol(query, pos.start), ")");
  if (seen_annotations.insert(text).second) warnings.push_back(std::move(text));
}

void QueryContext::Info(std::string_view message, const PositionRange& pos) {
  std::string text = absl::StrCat("PromQL info: ", std::string(message), " (",
                                  PositionToLineCol(query, pos.start), ")");
  if (seen_annotations.insert(text).second) infos.push_back(std::move(text));
}

void QueryContext::CheckDeadline() {
  if (++deadline_calls_ < 16) return;
  deadline_calls_ = 0;
  CheckDeadlineNow();
}

void QueryContext::CheckDeadlineNow() const {
  if (std::chrono::steady_clock::now() > deadline) {
    Throw(absl::DeadlineExceededError("query timed out in expression evaluation"));
  }
}

void QueryContext::AddSamples(int64_t n) {
  samples += n;
  peak_samples = std::max(peak_samples, samples);
  if (options.max_samples > 0 && samples > options.max_samples) {
    ThrowExec("query processing would load too many samples into memory in query execution");
  }
}

// --- SeriesBuilder ---

SeriesBuilder::SeriesBuilder(size_t expected_series) {
  out_.reserve(expected_series);
  last_step_.reserve(expected_series);
}

size_t SeriesBuilder::Index(const Labels& labels, bool drop_name) {
  uint64_t h = labels.Hash();
  auto range = index_.equal_range(h);
  for (auto it = range.first; it != range.second; ++it) {
    if (out_[it->second].labels == labels) return it->second;
  }
  index_.emplace(h, out_.size());
  Series s;
  s.labels = labels;
  s.drop_name = drop_name;
  out_.push_back(std::move(s));
  last_step_.push_back(-1);
  return out_.size() - 1;
}

void SeriesBuilder::AddAt(size_t i, int step, int64_t t, double v) {
  if (last_step_[i] == step) ThrowExec("vector cannot contain metrics with the same labelset");
  last_step_[i] = step;
  out_[i].points.push_back({t, v});
}

void SeriesBuilder::Add(int step, const Labels& labels, bool drop_name, int64_t t, double v) {
  AddAt(Index(labels, drop_name), step, t, v);
}

std::vector<Series> SeriesBuilder::Finish() {
  std::erase_if(out_, [](const Series& s) { return s.points.empty(); });
  return std::move(out_);
}

// --- Evaluator ---

Evaluator::Evaluator(QueryContext* ctx, int64_t start, int64_t end, int64_t interval)
    : ctx_(ctx), start_(start), end_(end), interval_(interval > 0 ? interval : 1) {
  // Every step holds at least one value (a scalar), so more steps than the sample limit cannot
  // be evaluated; this also keeps the step count within an int.
  uint64_t steps =
      end_ < start_ ? 0
                    : (static_cast<uint64_t>(end_) - static_cast<uint64_t>(start_)) / interval_ + 1;
  int64_t limit = ctx_->options.max_samples > 0 ? ctx_->options.max_samples : int64_t{1} << 30;
  if (steps > static_cast<uint64_t>(std::min<int64_t>(limit, int64_t{1} << 30))) {
    ThrowExec("query processing would load too many samples into memory in query execution");
  }
  num_steps_ = static_cast<int>(steps);
}

Evaluator::StepSamples Evaluator::ByStep(const Value& v) const {
  StepSamples out(num_steps_);
  // A series' points usually sit at consecutive steps: the next step is tried before dividing.
  auto index_of = [this](int64_t t, int prev) {
    const int next = prev + 1;
    if (next >= 0 && next < num_steps_ && StepTime(next) == t) return next;
    return StepIndex(t);
  };
  // Sizes first: growing thousands of per-step vectors one sample at a time costs more than that.
  // Dense input (most series at most steps) reserves a slot per series at every step; otherwise
  // the points per step are counted.
  size_t total = 0;
  for (const Series& s : v.series) total += s.points.size();
  if (static_cast<uint64_t>(num_steps_) * v.series.size() <= 2 * static_cast<uint64_t>(total)) {
    for (auto& step : out) step.reserve(v.series.size());
  } else {
    std::vector<uint32_t> counts(num_steps_, 0);
    for (const Series& s : v.series) {
      int idx = -2;
      for (const tsdb::Sample& p : s.points) {
        idx = index_of(p.t, idx);
        if (idx >= 0 && idx < num_steps_) ++counts[idx];
      }
    }
    for (int i = 0; i < num_steps_; ++i) out[i].reserve(counts[i]);
  }
  for (size_t si = 0; si < v.series.size(); ++si) {
    int idx = -2;
    for (const tsdb::Sample& p : v.series[si].points) {
      idx = index_of(p.t, idx);
      if (idx >= 0 && idx < num_steps_) out[idx].push_back({static_cast<int>(si), p.v});
    }
  }
  return out;
}

namespace {

// Series decoded at a time by streamed selections: enough for the storage to spread a piece over
// its read workers, few enough that a selection of many thousands of series is not held whole.
constexpr size_t kSeriesPerSelectPiece = 1024;

}  // namespace

void Evaluator::SelectEach(const VectorSelector& vs, int64_t mint, int64_t maxt,
                           const tsdb::SelectHints& hints, bool count_samples,
                           absl::FunctionRef<void(Series&)> fn) {
  if (maxt < mint) return;
  std::unique_ptr<tsdb::Querier> q = (*ctx_->querier)(mint, maxt);
  if (q == nullptr) ThrowExec("storage is not available");
  // fn runs inside the storage's stream; an evaluation error is carried out of it as a status
  // and thrown again here rather than unwinding through the storage.
  std::optional<EvalError> failed;
  absl::Status st =
      q->SelectSamplesInPieces(vs.matchers, hints, ctx_->deadline, kSeriesPerSelectPiece,
                               [&](std::vector<tsdb::SeriesSamples>& piece) {
                                 int64_t held = 0;
                                 if (count_samples) {
                                   for (const tsdb::SeriesSamples& s : piece)
                                     held += static_cast<int64_t>(s.samples.size());
                                 }
                                 try {
                                   ctx_->AddSamples(held);
                                   for (tsdb::SeriesSamples& s : piece) {
                                     ctx_->CheckDeadline();
                                     Series series;
                                     series.labels = std::move(s.labels);
                                     series.points = std::move(s.samples);
                                     fn(series);
                                   }
                                 } catch (EvalError& e) {
                                   failed = std::move(e);
                                   return absl::CancelledError("evaluation failed");
                                 }
                                 ctx_->ReleaseSamples(held);
                                 return absl::OkStatus();
                               });
  if (failed) throw std::move(*failed);
  if (!st.ok()) {
    if (absl::IsDeadlineExceeded(st)) ctx_->CheckDeadlineNow();
    Throw(st);
  }
}

std::vector<Series> Evaluator::Select(const VectorSelector& vs, int64_t mint, int64_t maxt) {
  std::vector<Series> out;
  SelectEach(vs, mint, maxt, tsdb::SelectHints(), false,
             [&](Series& s) { out.push_back(std::move(s)); });
  return out;
}

void Evaluator::ForEachRangeSeries(RangeInput& in, absl::FunctionRef<void(Series&)> fn) {
  if (in.selector == nullptr) {
    for (Series& s : in.series) fn(s);
    return;
  }
  SelectEach(*in.selector, in.select_mint, in.select_maxt, tsdb::SelectHints(), true,
             [&](Series& s) {
               std::erase_if(s.points, [](const tsdb::Sample& p) { return IsStaleNaN(p.v); });
               if (!s.points.empty()) fn(s);
             });
}

std::vector<double> Evaluator::EvalScalar(const Expr& e) {
  Value v = Eval(e);
  if (v.type != ValueType::kScalar) ThrowExec("expected a scalar expression");
  return std::move(v.scalars);
}

namespace {

int64_t CountSamples(const Value& v) {
  switch (v.type) {
    case ValueType::kScalar:
      return static_cast<int64_t>(v.scalars.size());
    case ValueType::kString:
      return 0;
    default: {
      int64_t n = 0;
      for (const Series& s : v.series) n += static_cast<int64_t>(s.points.size());
      return n;
    }
  }
}

}  // namespace

Value Evaluator::Eval(const Expr& e) {
  // Once a node is evaluated, what its children held is released: only its own result stays in
  // memory (as Prometheus accounts for it).
  const int64_t before = ctx_->samples;
  Value v = EvalNode(e);
  ctx_->samples = before;
  ctx_->AddSamples(CountSamples(v));
  return v;
}

Value Evaluator::EvalNode(const Expr& e) {
  ctx_->CheckDeadline();
  switch (e.kind()) {
    case ExprKind::kNumberLiteral: {
      Value v;
      v.type = ValueType::kScalar;
      v.scalars.assign(num_steps_, e.As<NumberLiteral>().value);
      return v;
    }
    case ExprKind::kStringLiteral: {
      Value v;
      v.type = ValueType::kString;
      v.str = e.As<StringLiteral>().value;
      return v;
    }
    case ExprKind::kParen:
      return Eval(*e.As<ParenExpr>().expr);
    case ExprKind::kStepInvariant:
      return Eval(*e.As<StepInvariantExpr>().expr);
    case ExprKind::kVectorSelector:
      return EvalVectorSelector(e.As<VectorSelector>());
    case ExprKind::kMatrixSelector:
    case ExprKind::kSubquery:
      return EvalMatrixTop(e);
    case ExprKind::kUnary:
      return EvalUnary(e.As<UnaryExpr>());
    case ExprKind::kBinary:
      return EvalBinary(e.As<BinaryExpr>());
    case ExprKind::kAggregate:
      return EvalAggregate(e.As<AggregateExpr>());
    case ExprKind::kCall:
      return EvalFunction(*this, e.As<CallExpr>());
  }
  ThrowExec("unhandled expression");
}

Value Evaluator::EvalVectorSelector(const VectorSelector& vs) {
  const int64_t lookback = ctx_->options.lookback_delta_ms;
  const int64_t offset = vs.offset_ms;
  int64_t min_ref = vs.timestamp_ms ? *vs.timestamp_ms - offset : start_ - offset;
  int64_t max_ref = vs.timestamp_ms ? *vs.timestamp_ms - offset : end_ - offset;
  Value out;
  out.type = ValueType::kVector;
  if (num_steps_ == 0) return out;
  if (vs.smoothed) return EvalSmoothedSelector(vs, min_ref, max_ref);
  int64_t total = 0;
  // At a single time (an instant query, or `@`) only each series' newest sample in the
  // lookback window counts, which the storage may hand over without decoding the rest.
  tsdb::SelectHints hints;
  hints.newest_only = min_ref == max_ref;
  SelectEach(vs, min_ref - lookback + 1, max_ref, hints, false, [&](Series& s) {
    Series o;
    o.labels = std::move(s.labels);
    const auto& pts = s.points;
    // A sample fills at most the steps of one lookback window; sparse series over long ranges
    // must not reserve a point per step.
    o.points.reserve(static_cast<size_t>(std::min<int64_t>(
        num_steps_, static_cast<int64_t>(pts.size()) * (lookback / interval_ + 1))));
    size_t j = 0;
    for (int i = 0; i < num_steps_; ++i) {
      int64_t ts = StepTime(i);
      int64_t ref = vs.timestamp_ms ? *vs.timestamp_ms - offset : ts - offset;
      while (j < pts.size() && pts[j].t <= ref) ++j;
      if (j == 0) continue;
      const tsdb::Sample& p = pts[j - 1];
      if (p.t <= ref - lookback || IsStaleNaN(p.v)) continue;
      o.points.push_back({ts, p.v});
    }
    if (!o.points.empty()) {
      total += static_cast<int64_t>(o.points.size());
      out.series.push_back(std::move(o));
    }
  });
  ctx_->AddSamples(total);
  return out;
}

// `x smoothed`: the value at each step interpolated linearly between the samples around it
// (within the lookback delta on either side); the last value is carried forward.
Value Evaluator::EvalSmoothedSelector(const VectorSelector& vs, int64_t min_ref, int64_t max_ref) {
  const int64_t lookback = ctx_->options.lookback_delta_ms;
  const int64_t offset = vs.offset_ms;
  Value out;
  int64_t total = 0;
  SelectEach(
      vs, min_ref - lookback + 1, max_ref + lookback, tsdb::SelectHints(), false, [&](Series& s) {
        std::erase_if(s.points, [](const tsdb::Sample& p) { return IsStaleNaN(p.v); });
        const auto& f = s.points;
        Series o;
        o.labels = std::move(s.labels);
        for (int i = 0; i < num_steps_; ++i) {
          int64_t ts = StepTime(i);
          int64_t ref = vs.timestamp_ms ? *vs.timestamp_ms - offset : ts - offset;
          // Samples in (ref - lookback, ref + lookback].
          auto lo = std::upper_bound(f.begin(), f.end(), ref - lookback,
                                     [](int64_t t, const tsdb::Sample& p) { return t < p.t; });
          auto hi = std::upper_bound(f.begin(), f.end(), ref + lookback,
                                     [](int64_t t, const tsdb::Sample& p) { return t < p.t; });
          if (lo >= hi) continue;
          auto it = std::lower_bound(lo, hi, ref,
                                     [](const tsdb::Sample& p, int64_t t) { return p.t < t; });
          if (it != hi && it->t == ref) {
            o.points.push_back({ts, it->v});
          } else if (it != lo && it != hi) {
            const tsdb::Sample& a = *(it - 1);
            const tsdb::Sample& b = *it;
            double v =
                a.v + (b.v - a.v) * static_cast<double>(ref - a.t) / static_cast<double>(b.t - a.t);
            o.points.push_back({ts, v});
          } else if (it != lo) {
            o.points.push_back({ts, (it - 1)->v});
          }
        }
        if (!o.points.empty()) {
          total += static_cast<int64_t>(o.points.size());
          out.series.push_back(std::move(o));
        }
      });
  ctx_->AddSamples(total);
  return out;
}

RangeInput Evaluator::EvalRange(const Expr& expr) {
  const Expr& e = Unparen(expr);
  RangeInput in;
  in.expr = &e;
  in.pos = expr.pos;
  const int64_t lookback = ctx_->options.lookback_delta_ms;
  if (e.kind() == ExprKind::kMatrixSelector) {
    const auto& ms = e.As<MatrixSelector>();
    const VectorSelector& vs = ms.selector();
    in.range_ms = ms.range_ms;
    in.offset_ms = vs.offset_ms;
    in.at_ms = vs.timestamp_ms;
    in.anchored = vs.anchored;
    in.smoothed = vs.smoothed;
    int64_t min_ref = in.Ref(start_);
    int64_t max_ref = in.Ref(end_);
    int64_t mint = min_ref - in.range_ms + 1;
    int64_t maxt = max_ref;
    if (in.anchored || in.smoothed) mint -= lookback;
    if (in.smoothed) maxt += lookback;
    if (num_steps_ == 0) return in;
    in.selector = &vs;
    in.select_mint = mint;
    in.select_maxt = maxt;
    return in;
  }
  if (e.kind() != ExprKind::kSubquery) ThrowExec("expected a range vector argument");
  const auto& sq = e.As<SubqueryExpr>();
  in.range_ms = sq.range_ms;
  in.offset_ms = sq.offset_ms;
  in.at_ms = sq.timestamp_ms;
  in.from_subquery = true;
  int64_t is, ie, ii;
  Value v = EvalSubqueryInner(sq, &is, &ie, &ii);
  if (v.type == ValueType::kScalar) {
    Series s;
    for (size_t i = 0; i < v.scalars.size(); ++i) {
      s.points.push_back({is + static_cast<int64_t>(i) * ii, v.scalars[i]});
    }
    if (!s.points.empty()) in.series.push_back(std::move(s));
  } else {
    in.series = std::move(v.series);
  }
  return in;
}

Value Evaluator::EvalSubqueryInner(const SubqueryExpr& sq, int64_t* inner_start, int64_t* inner_end,
                                   int64_t* inner_interval) {
  int64_t interval = sq.step_ms > 0 ? sq.step_ms : ctx_->options.default_subquery_step_ms;
  if (interval <= 0) interval = 60000;
  int64_t min_ref = (sq.timestamp_ms ? *sq.timestamp_ms : start_) - sq.offset_ms;
  int64_t max_ref = (sq.timestamp_ms ? *sq.timestamp_ms : end_) - sq.offset_ms;
  int64_t lower = min_ref - sq.range_ms;
  int64_t s = (FloorDiv(lower, interval) + 1) * interval;
  *inner_start = s;
  *inner_end = max_ref;
  *inner_interval = interval;
  Evaluator inner(ctx_, s, max_ref, interval);
  if (inner.num_steps() == 0) {
    Value v;
    v.type = sq.expr->type() == ValueType::kScalar ? ValueType::kScalar : ValueType::kVector;
    return v;
  }
  return inner.Eval(*sq.expr);
}

std::vector<tsdb::Sample> ExtendFloats(const std::vector<tsdb::Sample>& f, int64_t mint,
                                       int64_t maxt, bool smoothed) {
  std::vector<tsdb::Sample> out;
  if (f.empty()) return out;
  size_t last = f.size() - 1;
  size_t first = SearchFirst(last, [&](size_t i) { return f[i].t > mint; });
  first = first == 0 ? 0 : first - 1;
  if (smoothed) last = SearchFirst(last, [&](size_t i) { return f[i].t >= maxt; });
  if (f[last].t <= mint) return out;
  auto interp = [](const tsdb::Sample& a, const tsdb::Sample& b, int64_t t) {
    return a.v + (b.v - a.v) * static_cast<double>(t - a.t) / static_cast<double>(b.t - a.t);
  };
  double left = f[first].v;
  if (smoothed && f[first].t < mint && first + 1 < f.size())
    left = interp(f[first], f[first + 1], mint);
  double right = f[last].v;
  if (smoothed && last > 0 && f[last].t > maxt) right = interp(f[last - 1], f[last], maxt);
  size_t a = first, b = last + 1;  // [a, b)
  if (f[first].t <= mint) ++a;
  if (f[last].t >= maxt) --b;
  out.push_back({mint, left});
  for (size_t i = a; i < b; ++i) out.push_back(f[i]);
  out.push_back({maxt, right});
  return out;
}

Value Evaluator::EvalMatrixTop(const Expr& e) {
  RangeInput in = EvalRange(e);
  Value out;
  out.type = ValueType::kMatrix;
  int64_t ref = in.Ref(start_);
  int64_t lo = ref - in.range_ms;
  ForEachRangeSeries(in, [&](Series& s) {
    Series o;
    o.labels = std::move(s.labels);
    o.drop_name = s.drop_name;
    if (in.anchored || in.smoothed) {
      o.points = ExtendFloats(s.points, lo, ref, in.smoothed);
    } else {
      for (const tsdb::Sample& p : s.points) {
        if (p.t > lo && p.t <= ref) o.points.push_back(p);
      }
    }
    if (!o.points.empty()) out.series.push_back(std::move(o));
  });
  return out;
}

Value Evaluator::EvalUnary(const UnaryExpr& u) {
  Value v = Eval(*u.expr);
  if (u.op != UnaryOp::kMinus) return v;
  if (v.type == ValueType::kScalar) {
    for (double& x : v.scalars) x = -x;
    return v;
  }
  for (Series& s : v.series) {
    s.drop_name = true;
    for (tsdb::Sample& p : s.points) p.v = -p.v;
  }
  return v;
}

Value Evaluator::EvalBinary(const BinaryExpr& b) {
  Value lhs = Eval(*b.lhs);
  Value rhs = Eval(*b.rhs);
  return EvalBinaryOp(*this, b, std::move(lhs), std::move(rhs));
}

Value Evaluator::EvalAggregate(const AggregateExpr& a) {
  std::vector<double> param;
  std::string str_param;
  bool has_param = false, has_str = false;
  if (a.param) {
    const Expr& p = Unparen(*a.param);
    if (p.type() == ValueType::kString) {
      Value sv = Eval(p);
      str_param = sv.str;
      has_str = true;
    } else {
      param = EvalScalar(p);
      has_param = true;
    }
  }
  Value input = Eval(*a.expr);
  return EvalAggregation(*this, a, std::move(input), has_param ? &param : nullptr,
                         has_str ? &str_param : nullptr);
}

}  // namespace promql::eval
