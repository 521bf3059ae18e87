// Functions over range vectors: rate/increase/delta (with Prometheus' extrapolation), irate,
// idelta, deriv, predict_linear, resets, changes and the *_over_time family.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "promql/functions/functions.h"

namespace promql::functions {

namespace {

using eval::KahanInc;
using eval::Quantile;
using eval::SearchFirst;

double Interpolate(const tsdb::Sample& p1, const tsdb::Sample& p2, int64_t t, bool counter) {
  double y1 = p1.v, y2 = p2.v;
  if (counter && y2 < y1) y1 = 0;
  return y1 + (y2 - y1) * static_cast<double>(t - p1.t) / static_cast<double>(p2.t - p1.t);
}

std::optional<double> ExtendedRate(const RangeCall& c, bool counter, bool rate) {
  const auto& f = c.w;
  size_t last = f.size() - 1;
  size_t first = SearchFirst(last, [&](size_t i) { return f[i].t > c.range_start; });
  first = first == 0 ? 0 : first - 1;
  if (c.smoothed) last = SearchFirst(last, [&](size_t i) { return f[i].t >= c.range_end; });
  if (f[last].t <= c.range_start || f[first].t >= c.range_end) return std::nullopt;
  double left = f[first].v;
  if (c.smoothed && f[first].t < c.range_start && first + 1 < f.size()) {
    left = Interpolate(f[first], f[first + 1], c.range_start, counter);
  }
  double right = f[last].v;
  if (c.smoothed && last > 0 && f[last].t > c.range_end) {
    right = Interpolate(f[last - 1], f[last], c.range_end, counter);
  }
  double result = right - left;
  if (counter) {
    size_t a = first, b = last;
    if (f[a].t <= c.range_start) ++a;
    bool drop_last = f[b].t >= c.range_end;
    double correction = 0, prev = left;
    size_t end = drop_last ? b : b + 1;  // exclusive
    for (size_t i = a; i < end; ++i) {
      if (f[i].v < prev) correction += prev;
      prev = f[i].v;
    }
    if (right < prev) correction += prev;
    result += correction;
  }
  if (rate) result /= static_cast<double>(c.range_ms) / 1000.0;
  return result;
}

std::optional<double> ExtrapolatedRate(const RangeCall& c, bool counter, bool rate) {
  if (c.anchored || c.smoothed) return ExtendedRate(c, counter, rate);
  const auto& w = c.w;
  if (w.size() < 2) return std::nullopt;
  const size_t n1 = w.size() - 1;
  double result = w[n1].v - w[0].v;
  if (counter && c.resets != nullptr) {
    // The same additions in the same order as the scan below, from the precomputed resets.
    const size_t first = c.w_offset + 1, end = c.w_offset + w.size();
    auto it = std::lower_bound(c.resets->begin(), c.resets->end(), first);
    for (; it != c.resets->end() && *it < end; ++it) result += w[*it - c.w_offset - 1].v;
  } else if (counter) {
    for (size_t i = 1; i < w.size(); ++i) {
      if (w[i].v < w[i - 1].v) result += w[i - 1].v;
    }
  }
  double duration_to_start = static_cast<double>(w[0].t - c.range_start) / 1000;
  double duration_to_end = static_cast<double>(c.range_end - w[n1].t) / 1000;
  double sampled = static_cast<double>(w[n1].t - w[0].t) / 1000;
  double avg = sampled / static_cast<double>(n1);
  double threshold = avg * 1.1;
  if (duration_to_start >= threshold) duration_to_start = avg / 2;
  if (counter) {
    double to_zero = duration_to_start;
    if (result > 0 && w[0].v >= 0) to_zero = sampled * (w[0].v / result);
    if (to_zero < duration_to_start) duration_to_start = to_zero;
  }
  if (duration_to_end >= threshold) duration_to_end = avg / 2;
  double factor = (sampled + duration_to_start + duration_to_end) / sampled;
  if (rate) factor /= static_cast<double>(c.range_ms) / 1000.0;
  return result * factor;
}

std::optional<double> Rate(const RangeCall& c) { return ExtrapolatedRate(c, true, true); }
std::optional<double> Increase(const RangeCall& c) { return ExtrapolatedRate(c, true, false); }
std::optional<double> Delta(const RangeCall& c) { return ExtrapolatedRate(c, false, false); }

std::optional<double> InstantValue(const RangeCall& c, bool rate) {
  const auto& w = c.w;
  if (w.size() < 2) return std::nullopt;
  const tsdb::Sample& a = w[w.size() - 2];
  const tsdb::Sample& b = w[w.size() - 1];
  int64_t interval = b.t - a.t;
  if (interval == 0) return std::nullopt;
  double result = b.v;
  if (!rate || !(b.v < a.v)) result = b.v - a.v;
  if (rate) result /= static_cast<double>(interval) / 1000;
  return result;
}

std::optional<double> Irate(const RangeCall& c) { return InstantValue(c, true); }
std::optional<double> Idelta(const RangeCall& c) { return InstantValue(c, false); }

void LinearRegression(std::span<const tsdb::Sample> s, int64_t intercept_time, double* slope,
                      double* intercept) {
  double n = 0, sum_x = 0, cx = 0, sum_y = 0, cy = 0, sum_xy = 0, cxy = 0, sum_x2 = 0, cx2 = 0;
  double init_y = s[0].v;
  bool const_y = true;
  for (size_t i = 0; i < s.size(); ++i) {
    if (const_y && i > 0 && s[i].v != init_y) const_y = false;
    n += 1;
    double x = static_cast<double>(s[i].t - intercept_time) / 1e3;
    KahanInc(x, &sum_x, &cx);
    KahanInc(s[i].v, &sum_y, &cy);
    KahanInc(x * s[i].v, &sum_xy, &cxy);
    KahanInc(x * x, &sum_x2, &cx2);
  }
  if (const_y) {
    if (std::isinf(init_y)) {
      *slope = NAN;
      *intercept = NAN;
      return;
    }
    *slope = 0;
    *intercept = init_y;
    return;
  }
  sum_x += cx;
  sum_y += cy;
  sum_xy += cxy;
  sum_x2 += cx2;
  double cov_xy = sum_xy - sum_x * sum_y / n;
  double var_x = sum_x2 - sum_x * sum_x / n;
  *slope = cov_xy / var_x;
  *intercept = sum_y / n - *slope * sum_x / n;
}

std::optional<double> Deriv(const RangeCall& c) {
  if (c.w.size() < 2) return std::nullopt;
  double slope, intercept;
  LinearRegression(c.w, c.w[0].t, &slope, &intercept);
  return slope;
}

std::optional<double> PredictLinear(const RangeCall& c) {
  if (c.w.size() < 2 || c.args->empty()) return std::nullopt;
  double slope, intercept;
  LinearRegression(c.w, c.ts, &slope, &intercept);
  return slope * (*c.args)[0] + intercept;
}

// First sample index for anchored resets/changes; nullopt when nothing is in range.
std::optional<size_t> FirstSampleIndex(const RangeCall& c) {
  if (!c.anchored) return 0;
  const auto& f = c.w;
  if (f.empty() || f.back().t <= c.range_start) return std::nullopt;
  size_t i = SearchFirst(f.size() - 1, [&](size_t k) { return f[k].t > c.range_start; });
  return i == 0 ? 0 : i - 1;
}

std::optional<double> Resets(const RangeCall& c) {
  auto first = FirstSampleIndex(c);
  if (!first) return std::nullopt;
  int resets = 0;
  for (size_t i = *first + 1; i < c.w.size(); ++i) {
    if (c.w[i].v < c.w[i - 1].v) ++resets;
  }
  return resets;
}

std::optional<double> Changes(const RangeCall& c) {
  auto first = FirstSampleIndex(c);
  if (!first) return std::nullopt;
  int changes = 0;
  for (size_t i = *first + 1; i < c.w.size(); ++i) {
    double a = c.w[i - 1].v, b = c.w[i].v;
    if (a != b && !(std::isnan(a) && std::isnan(b))) ++changes;
  }
  return changes;
}

std::optional<double> AvgOverTime(const RangeCall& c) {
  const auto& w = c.w;
  double sum = w[0].v, count = 1, mean = 0, kahan = 0;
  bool incremental = false;
  for (size_t i = 1; i < w.size(); ++i) {
    count = static_cast<double>(i + 1);
    double f = w[i].v;
    if (!incremental) {
      double ns = sum, nc = kahan;
      KahanInc(f, &ns, &nc);
      if (!std::isinf(ns)) {
        sum = ns;
        kahan = nc;
        continue;
      }
      incremental = true;
      mean = sum / (count - 1);
      kahan /= count - 1;
    }
    double q = (count - 1) / count;
    double m = q * mean, cc = q * kahan;
    KahanInc(f / count, &m, &cc);
    mean = m;
    kahan = cc;
  }
  if (incremental) return mean + kahan;
  return sum / count + kahan / count;
}

std::optional<double> CountOverTime(const RangeCall& c) { return static_cast<double>(c.w.size()); }

std::optional<double> SumOverTime(const RangeCall& c) {
  double sum = 0, kahan = 0;
  for (const auto& p : c.w) KahanInc(p.v, &sum, &kahan);
  if (std::isinf(sum)) return sum;
  return sum + kahan;
}

template <typename Cmp>
std::optional<double> CompareOverTime(const RangeCall& c, Cmp cmp, bool ts) {
  double best = c.w[0].v;
  int64_t best_t = c.w[0].t;
  for (const auto& p : c.w) {
    if (cmp(p.v, best)) {
      best = p.v;
      best_t = p.t;
    }
  }
  return ts ? static_cast<double>(best_t) / 1000 : best;
}

std::optional<double> MaxOverTime(const RangeCall& c) {
  return CompareOverTime(
      c, [](double cur, double m) { return cur > m || std::isnan(m); }, false);
}
std::optional<double> MinOverTime(const RangeCall& c) {
  return CompareOverTime(
      c, [](double cur, double m) { return cur < m || std::isnan(m); }, false);
}
std::optional<double> TsOfMaxOverTime(const RangeCall& c) {
  return CompareOverTime(
      c, [](double cur, double m) { return cur >= m || std::isnan(m); }, true);
}
std::optional<double> TsOfMinOverTime(const RangeCall& c) {
  return CompareOverTime(
      c, [](double cur, double m) { return cur <= m || std::isnan(m); }, true);
}

std::optional<double> LastOverTime(const RangeCall& c) { return c.w.back().v; }
std::optional<double> FirstOverTime(const RangeCall& c) { return c.w.front().v; }
std::optional<double> TsOfLastOverTime(const RangeCall& c) {
  return static_cast<double>(c.w.back().t) / 1000;
}
std::optional<double> TsOfFirstOverTime(const RangeCall& c) {
  return static_cast<double>(c.w.front().t) / 1000;
}
std::optional<double> PresentOverTime(const RangeCall&) { return 1.0; }
std::optional<double> AbsentOverTime(const RangeCall&) { return 1.0; }

double Variance(const RangeCall& c) {
  double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
  for (const auto& p : c.w) {
    count++;
    double delta = p.v - (mean + cmean);
    KahanInc(delta / count, &mean, &cmean);
    KahanInc(delta * (p.v - (mean + cmean)), &aux, &caux);
  }
  return (aux + caux) / count;
}

std::optional<double> StdvarOverTime(const RangeCall& c) { return Variance(c); }
std::optional<double> StddevOverTime(const RangeCall& c) { return std::sqrt(Variance(c)); }

std::optional<double> QuantileOverTime(const RangeCall& c) {
  if (c.args->empty()) return std::nullopt;
  double q = (*c.args)[0];
  if (std::isnan(q) || q < 0 || q > 1) {
    c.ev->ctx().Warn(
        absl::StrCat("quantile value should be between 0 and 1, got ", eval::FormatFloatG(q)),
        c.call->args[0]->pos);
  }
  std::vector<double> values;
  values.reserve(c.w.size());
  for (const auto& p : c.w) values.push_back(p.v);
  return Quantile(q, values);
}

std::optional<double> MadOverTime(const RangeCall& c) {
  for (const auto& p : c.w) {
    if (std::isnan(p.v)) return NAN;
  }
  std::vector<double> values;
  values.reserve(c.w.size());
  for (const auto& p : c.w) values.push_back(p.v);
  double median = Quantile(0.5, values);
  values.clear();
  for (const auto& p : c.w) values.push_back(std::fabs(p.v - median));
  return Quantile(0.5, values);
}

std::optional<double> DoubleExponentialSmoothing(const RangeCall& c) {
  if (c.args->size() < 2) return std::nullopt;
  double sf = (*c.args)[0], tf = (*c.args)[1];
  if (sf <= 0 || sf >= 1) {
    eval::ThrowExec(absl::StrFormat("invalid smoothing factor. Expected: 0 < sf < 1, got: %f", sf));
  }
  if (tf <= 0 || tf >= 1) {
    eval::ThrowExec(absl::StrFormat("invalid trend factor. Expected: 0 < tf < 1, got: %f", tf));
  }
  const auto& w = c.w;
  if (w.size() < 2) return std::nullopt;
  double s0 = 0, s1 = w[0].v, b = w[1].v - w[0].v;
  for (size_t i = 1; i < w.size(); ++i) {
    double x = sf * w[i].v;
    // Trend at i-1.
    if (i - 1 != 0) b = tf * (s1 - s0) + (1 - tf) * b;
    double y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
}

}  // namespace

RangeFunction LookupRangeFunction(std::string_view name) {
  static const std::map<std::string, RangeFunction, std::less<>> kTable = {
      {"rate", Rate},
      {"increase", Increase},
      {"delta", Delta},
      {"irate", Irate},
      {"idelta", Idelta},
      {"deriv", Deriv},
      {"predict_linear", PredictLinear},
      {"resets", Resets},
      {"changes", Changes},
      {"avg_over_time", AvgOverTime},
      {"count_over_time", CountOverTime},
      {"sum_over_time", SumOverTime},
      {"min_over_time", MinOverTime},
      {"max_over_time", MaxOverTime},
      {"last_over_time", LastOverTime},
      {"first_over_time", FirstOverTime},
      {"ts_of_min_over_time", TsOfMinOverTime},
      {"ts_of_max_over_time", TsOfMaxOverTime},
      {"ts_of_last_over_time", TsOfLastOverTime},
      {"ts_of_first_over_time", TsOfFirstOverTime},
      {"present_over_time", PresentOverTime},
      {"absent_over_time", AbsentOverTime},
      {"stddev_over_time", StddevOverTime},
      {"stdvar_over_time", StdvarOverTime},
      {"quantile_over_time", QuantileOverTime},
      {"mad_over_time", MadOverTime},
      {"double_exponential_smoothing", DoubleExponentialSmoothing},
      {"holt_winters", DoubleExponentialSmoothing},
  };
  auto it = kTable.find(name);
  return it == kTable.end() ? nullptr : it->second;
}

}  // namespace promql::functions
