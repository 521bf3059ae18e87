// histogram_quantile and histogram_fraction over classic histograms (`le`-labelled buckets).
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "promql/functions/functions.h"

namespace promql::functions {

namespace {

// Go's strconv.ParseFloat for bucket bounds: decimal/hex floats, Inf/Infinity/NaN with signs,
// underscores not allowed.
bool ParseLe(std::string_view s, double* out) {
  if (s.empty()) return false;
  std::string str(s);
  std::string body = absl::AsciiStrToLower(str);
  std::string_view b = body;
  bool neg = false;
  if (!b.empty() && (b[0] == '+' || b[0] == '-')) {
    neg = b[0] == '-';
    b.remove_prefix(1);
  }
  if (b == "inf" || b == "infinity") {
    *out = neg ? -INFINITY : INFINITY;
    return true;
  }
  if (b == "nan") {
    *out = NAN;
    return true;
  }
  for (char c : b) {
    if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == '+' ||
          c == '-' || c == 'x' || c == 'p')) {
      return false;
    }
  }
  if (std::isspace(static_cast<unsigned char>(str[0]))) return false;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(str.c_str(), &end);
  if (end == str.c_str() || *end != '\0') return false;
  *out = v;
  return true;
}

bool AlmostEqual(double a, double b, double epsilon) {
  constexpr double kMinNormal = 2.2250738585072014e-308;
  if (a == b) return true;
  double diff = std::fabs(a - b);
  double sum = std::fabs(a) + std::fabs(b);
  if (a == 0 || b == 0 || sum < kMinNormal) return diff < epsilon * kMinNormal;
  return diff / std::min(sum, std::numeric_limits<double>::max()) < epsilon;
}

// Sorts, merges equal bounds and forces monotonic counts. Returns whether monotonicity had to be
// forced.
bool PrepareBuckets(std::vector<Bucket>& b) {
  std::stable_sort(b.begin(), b.end(),
                   [](const Bucket& x, const Bucket& y) { return x.upper < y.upper; });
  std::vector<Bucket> merged;
  for (const Bucket& x : b) {
    if (!merged.empty() && merged.back().upper == x.upper) {
      merged.back().count += x.count;
    } else {
      merged.push_back(x);
    }
  }
  b = std::move(merged);
  bool forced = false;
  double prev = b[0].count;
  for (size_t i = 1; i < b.size(); ++i) {
    double curr = b[i].count;
    if (curr == prev) continue;
    if (AlmostEqual(prev, curr, 1e-12)) {
      b[i].count = prev;
      continue;
    }
    if (curr < prev) {
      b[i].count = prev;
      forced = true;
      continue;
    }
    prev = curr;
  }
  return forced;
}

}  // namespace

double BucketQuantile(double q, std::vector<Bucket> b, bool* forced) {
  *forced = false;
  if (std::isnan(q)) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::stable_sort(b.begin(), b.end(),
                   [](const Bucket& x, const Bucket& y) { return x.upper < y.upper; });
  if (!std::isinf(b.back().upper) || b.back().upper < 0) return NAN;
  bool f = PrepareBuckets(b);
  if (b.size() < 2) return NAN;
  double observations = b.back().count;
  if (observations == 0) return NAN;
  *forced = f;
  double rank = q * observations;
  size_t n = b.size() - 1;
  size_t idx = 0;
  {
    size_t lo = 0, hi = n;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (!(b[mid].count >= rank)) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    idx = lo;
  }
  if (idx == b.size() - 1) return b[b.size() - 2].upper;
  if (idx == 0 && b[0].upper <= 0) return b[0].upper;
  double start = 0, end = b[idx].upper, count = b[idx].count;
  if (idx > 0) {
    start = b[idx - 1].upper;
    count -= b[idx - 1].count;
    rank -= b[idx - 1].count;
  }
  return start + (end - start) * (rank / count);
}

double BucketFraction(double lower, double upper, std::vector<Bucket> b) {
  if (b.empty()) return NAN;
  std::stable_sort(b.begin(), b.end(),
                   [](const Bucket& x, const Bucket& y) { return x.upper < y.upper; });
  if (!std::isinf(b.back().upper) || b.back().upper < 0) return NAN;
  PrepareBuckets(b);
  double count = b.back().count;
  if (count == 0 || std::isnan(lower) || std::isnan(upper)) return NAN;
  if (lower >= upper) return 0;
  double rank = 0, lower_rank = 0, upper_rank = 0;
  bool lower_set = false, upper_set = false;
  double prev_upper = -INFINITY, prev_count = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    double lo = prev_upper, hi = b[i].upper, cnt = b[i].count - prev_count;
    prev_upper = b[i].upper;
    prev_count = b[i].count;
    if (i == 0 && lo <= 0 && hi >= 0) lo = 0;
    auto interpolate = [&](double v) {
      if (std::isinf(lo)) return rank + cnt;
      if (std::isinf(hi)) return rank;
      return rank + cnt * (v - lo) / (hi - lo);
    };
    if (!lower_set && lo >= lower) {
      lower_rank = rank;
      lower_set = true;
    }
    if (!upper_set && lo >= upper) {
      upper_rank = rank;
      upper_set = true;
    }
    if (lower_set && upper_set) break;
    if (!lower_set && lo < lower && hi > lower) {
      lower_rank = interpolate(lower);
      lower_set = true;
    }
    if (!upper_set && lo < upper && hi > upper) {
      upper_rank = interpolate(upper);
      upper_set = true;
    }
    if (lower_set && upper_set) break;
    rank += cnt;
  }
  if (!lower_set || lower_rank > count) lower_rank = count;
  if (!upper_set || upper_rank > count) upper_rank = count;
  return (upper_rank - lower_rank) / count;
}

BucketIndex IndexBuckets(const Value& input) {
  BucketIndex index;
  const size_t n = input.series.size();
  index.le.resize(n);
  index.group.resize(n, -1);
  absl::flat_hash_map<std::string, int> group_of;
  std::string key;
  for (size_t si = 0; si < n; ++si) {
    const Labels& l = input.series[si].labels;
    if (!ParseLe(l.Get("le"), &index.le[si])) continue;
    key.clear();
    for (const tsdb::Label& x : l) {
      if (x.name == "le") continue;
      absl::StrAppend(&key, x.name, "\xff", x.value, "\xff");
    }
    auto [it, inserted] = group_of.try_emplace(key, static_cast<int>(index.metrics.size()));
    if (inserted) index.metrics.push_back(l.Without("le"));
    index.group[si] = it->second;
  }
  return index;
}

std::vector<BucketGroup> GroupBuckets(Evaluator& ev, const Expr& arg, const Value& input,
                                      const BucketIndex& index,
                                      const std::vector<std::pair<int, double>>& samples) {
  std::vector<BucketGroup> groups;
  // Position in `groups` of each of the index's groups seen at this step: groups come out in the
  // order their first bucket appears in `samples`.
  absl::flat_hash_map<int, size_t> position;
  for (const auto& [si, v] : samples) {
    const int g = index.group[si];
    if (g < 0) {
      const Labels& l = input.series[si].labels;
      std::string msg = absl::StrCat("bucket label \"le\" is missing or has a malformed value of ",
                                     eval::GoQuote(l.Get("le")));
      if (!l.MetricName().empty()) {
        absl::StrAppend(&msg, " for metric name ", eval::GoQuote(l.MetricName()));
      }
      ev.ctx().Warn(msg, arg.pos);
      continue;
    }
    auto [it, inserted] = position.try_emplace(g, groups.size());
    if (inserted) groups.push_back({&index.metrics[g], {}});
    groups[it->second].buckets.push_back({index.le[si], v});
  }
  return groups;
}

void MonotonicityInfo(Evaluator& ev, const Labels& metric, const Expr& arg) {
  std::string msg =
      "input to histogram_quantile needed to be fixed for monotonicity (see "
      "https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)";
  if (!metric.MetricName().empty()) {
    absl::StrAppend(&msg, " for metric name ", eval::GoQuote(metric.MetricName()));
  }
  ev.ctx().Info(msg, arg.pos);
}

}  // namespace promql::functions
