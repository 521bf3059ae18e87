// Aggregation operators: sum, avg, count, min, max, group, stddev, stdvar, quantile, topk,
// bottomk, limitk, limit_ratio and count_values, with by/without grouping.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "promql/eval/evaluator.h"
#include "tsdb/utf8.h"

namespace promql::eval {

namespace {

// The grouping key of a series: the values of the by() labels, or every label except the
// without() labels and __name__.
std::string GroupingKey(const Labels& l, const std::vector<std::string>& grouping, bool without) {
  std::string key;
  for (const tsdb::Label& x : l) {
    bool listed = std::binary_search(grouping.begin(), grouping.end(), x.name);
    bool include = without ? (!listed && x.name != "__name__") : listed;
    if (!include) continue;
    key += x.name;
    key += '\xff';
    key += x.value;
    key += '\xff';
  }
  return key;
}

Labels GroupingLabels(const Labels& l, const std::vector<std::string>& grouping, bool without) {
  std::vector<tsdb::Label> out;
  for (const tsdb::Label& x : l) {
    bool listed = std::binary_search(grouping.begin(), grouping.end(), x.name);
    bool include = without ? (!listed && x.name != "__name__") : listed;
    if (include) out.push_back(x);
  }
  return Labels::FromSorted(std::move(out));
}

using tsdb::IsValidUtf8;

// --- heaps as Go's container/heap builds them (the selected set and order depend on it) ---

struct HeapElem {
  int series;
  double v;
};

template <typename Less>
void HeapUp(std::vector<HeapElem>& h, int j, Less less) {
  while (true) {
    int i = (j - 1) / 2;
    if (i == j || !less(h[j], h[i])) break;
    std::swap(h[i], h[j]);
    j = i;
  }
}

template <typename Less>
bool HeapDown(std::vector<HeapElem>& h, int i0, int n, Less less) {
  int i = i0;
  while (true) {
    int j1 = 2 * i + 1;
    if (j1 >= n || j1 < 0) break;
    int j = j1;
    int j2 = j1 + 1;
    if (j2 < n && less(h[j2], h[j1])) j = j2;
    if (!less(h[j], h[i])) break;
    std::swap(h[i], h[j]);
    i = j;
  }
  return i > i0;
}

template <typename Less>
void HeapPush(std::vector<HeapElem>& h, HeapElem e, Less less) {
  h.push_back(e);
  HeapUp(h, static_cast<int>(h.size()) - 1, less);
}

template <typename Less>
void HeapFix(std::vector<HeapElem>& h, int i, Less less) {
  if (!HeapDown(h, i, static_cast<int>(h.size()), less)) HeapUp(h, i, less);
}

bool ByValueLess(const HeapElem& a, const HeapElem& b) {
  if (std::isnan(a.v)) return true;
  return a.v < b.v;
}
bool ByReverseValueLess(const HeapElem& a, const HeapElem& b) {
  if (std::isnan(a.v)) return true;
  return a.v > b.v;
}

// XXH64 with seed 0 (the hash Prometheus' labels.Hash uses).
uint64_t XXH64(std::string_view in) {
  constexpr uint64_t kP1 = 11400714785074694791ULL, kP2 = 14029467366897019727ULL,
                     kP3 = 1609587929392839161ULL, kP4 = 9650029242287828579ULL,
                     kP5 = 2870177450012600261ULL;
  auto rotl = [](uint64_t x, int r) { return (x << r) | (x >> (64 - r)); };
  auto read64 = [](const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  auto read32 = [](const char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return static_cast<uint64_t>(v);
  };
  auto round = [&](uint64_t acc, uint64_t input) {
    acc += input * kP2;
    acc = rotl(acc, 31);
    return acc * kP1;
  };
  auto merge = [&](uint64_t acc, uint64_t val) {
    acc ^= round(0, val);
    return acc * kP1 + kP4;
  };
  const char* p = in.data();
  const char* end = p + in.size();
  uint64_t h;
  if (in.size() >= 32) {
    uint64_t v1 = kP1 + kP2, v2 = kP2, v3 = 0, v4 = 0 - kP1;
    while (p + 32 <= end) {
      v1 = round(v1, read64(p));
      v2 = round(v2, read64(p + 8));
      v3 = round(v3, read64(p + 16));
      v4 = round(v4, read64(p + 24));
      p += 32;
    }
    h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
    h = merge(h, v1);
    h = merge(h, v2);
    h = merge(h, v3);
    h = merge(h, v4);
  } else {
    h = kP5;
  }
  h += in.size();
  while (p + 8 <= end) {
    h ^= round(0, read64(p));
    h = rotl(h, 27) * kP1 + kP4;
    p += 8;
  }
  if (p + 4 <= end) {
    h ^= read32(p) * kP1;
    h = rotl(h, 23) * kP2 + kP3;
    p += 4;
  }
  while (p < end) {
    h ^= static_cast<uint64_t>(static_cast<unsigned char>(*p)) * kP5;
    h = rotl(h, 11) * kP1;
    ++p;
  }
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

// A deterministic offset in [0, 1) for limit_ratio: the label set's hash as Prometheus computes
// it, so that the same series are sampled.
double RatioOffset(const Labels& l) {
  std::string b;
  for (const tsdb::Label& x : l) {
    b += x.name;
    b += '\xff';
    b += x.value;
    b += '\xff';
  }
  return static_cast<double>(XXH64(b)) / static_cast<double>(std::numeric_limits<uint64_t>::max());
}

bool AddRatioSample(double ratio, const Labels& l) {
  double off = RatioOffset(l);
  return (ratio >= 0 && off < ratio) || (ratio < 0 && off >= 1.0 + ratio);
}

struct Group {
  bool seen = false;
  double value = 0;
  double mean = 0;
  double kahan = 0;
  double count = 0;
  bool incremental_mean = false;
  bool drop_name = false;
  std::vector<double> values;  // quantile
  std::vector<HeapElem> heap;  // topk/bottomk/limitk/limit_ratio
};

// The running state of sum, avg, count, min, max, group, stddev, stdvar and quantile over one
// group's samples at one step, fed the samples in series order: Start with the first, Add the
// others, then Result. Prometheus' arithmetic, so that results agree to the bit.
void GroupStart(Group& g, AggregateOp op, double f, bool drop_name) {
  g = Group();
  g.seen = true;
  g.value = f;
  g.mean = f;
  g.count = 1;
  g.drop_name = drop_name;
  switch (op) {
    case AggregateOp::kStddev:
    case AggregateOp::kStdvar:
      g.value = (std::isnan(f) || std::isinf(f)) ? NAN : 0;
      break;
    case AggregateOp::kQuantile:
      g.values.assign(1, f);
      break;
    case AggregateOp::kGroup:
      g.value = 1;
      break;
    default:
      break;
  }
}

void GroupAdd(Group& g, AggregateOp op, double f, bool drop_name) {
  if (drop_name) g.drop_name = true;
  switch (op) {
    case AggregateOp::kSum:
      KahanInc(f, &g.value, &g.kahan);
      break;
    case AggregateOp::kAvg: {
      g.count++;
      if (!g.incremental_mean) {
        double nv = g.value, nc = g.kahan;
        KahanInc(f, &nv, &nc);
        if (!std::isinf(nv)) {
          g.value = nv;
          g.kahan = nc;
          break;
        }
        g.incremental_mean = true;
        g.mean = g.value / (g.count - 1);
        g.kahan /= g.count - 1;
      }
      double q = (g.count - 1) / g.count;
      double m = q * g.mean, c = q * g.kahan;
      KahanInc(f / g.count, &m, &c);
      g.mean = m;
      g.kahan = c;
      break;
    }
    case AggregateOp::kGroup:
      break;
    case AggregateOp::kMax:
      if (g.value < f || std::isnan(g.value)) g.value = f;
      break;
    case AggregateOp::kMin:
      if (g.value > f || std::isnan(g.value)) g.value = f;
      break;
    case AggregateOp::kCount:
      g.count++;
      break;
    case AggregateOp::kStddev:
    case AggregateOp::kStdvar: {
      g.count++;
      double delta = f - g.mean;
      g.mean += delta / g.count;
      g.value += delta * (f - g.mean);
      break;
    }
    case AggregateOp::kQuantile:
      g.values.push_back(f);
      break;
    default:
      break;
  }
}

// q: the quantile's parameter at this step (unused by the others).
double GroupResult(Group& g, AggregateOp op, double q) {
  switch (op) {
    case AggregateOp::kAvg:
      return g.incremental_mean ? g.mean + g.kahan : g.value / g.count + g.kahan / g.count;
    case AggregateOp::kCount:
      return g.count;
    case AggregateOp::kStdvar:
      return g.value / g.count;
    case AggregateOp::kStddev:
      return std::sqrt(g.value / g.count);
    case AggregateOp::kQuantile:
      return Quantile(q, g.values);
    case AggregateOp::kSum:
      return g.value + g.kahan;
    default:
      return g.value;
  }
}

Value CountValues(Evaluator& ev, const AggregateExpr& a, const Value& input,
                  const std::string& label) {
  if (label.empty() || !IsValidUtf8(label)) {
    ThrowExec(absl::StrCat("invalid label name ", GoQuote(label)));
  }
  std::vector<std::string> grouping = a.grouping;
  std::sort(grouping.begin(), grouping.end());
  if (!a.without) {
    grouping.push_back(label);
    std::sort(grouping.begin(), grouping.end());
  }
  auto steps = ev.ByStep(input);
  SeriesBuilder builder;
  for (int i = 0; i < ev.num_steps(); ++i) {
    ev.ctx().CheckDeadline();
    std::vector<std::pair<Labels, int>> groups;
    std::unordered_map<std::string, size_t> index;
    for (const auto& [si, v] : steps[i]) {
      Labels metric = input.series[si].labels.With(label, FormatFloatF(v));
      std::string key = GroupingKey(metric, grouping, a.without);
      auto it = index.find(key);
      if (it == index.end()) {
        index.emplace(key, groups.size());
        groups.push_back({GroupingLabels(metric, grouping, a.without), 1});
      } else {
        ++groups[it->second].second;
      }
    }
    for (const auto& [labels, count] : groups) {
      builder.Add(i, labels, false, ev.StepTime(i), count);
    }
  }
  Value out;
  out.type = ValueType::kVector;
  out.series = builder.Finish();
  return out;
}

}  // namespace

Value EvalAggregation(Evaluator& ev, const AggregateExpr& a, Value input,
                      const std::vector<double>* param, const std::string* string_param) {
  if (a.op == AggregateOp::kCountValues) {
    return CountValues(ev, a, input, string_param ? *string_param : std::string());
  }
  std::vector<std::string> grouping = a.grouping;
  std::sort(grouping.begin(), grouping.end());
  const AggregateOp op = a.op;
  const bool k_op = op == AggregateOp::kTopk || op == AggregateOp::kBottomk ||
                    op == AggregateOp::kLimitk || op == AggregateOp::kLimitRatio;

  // Group assignment.
  std::vector<int> group_of(input.series.size());
  std::vector<Labels> group_labels;
  {
    std::unordered_map<std::string, int> index;
    for (size_t si = 0; si < input.series.size(); ++si) {
      std::string key = GroupingKey(input.series[si].labels, grouping, a.without);
      auto [it, inserted] = index.emplace(key, static_cast<int>(index.size()));
      if (inserted && !k_op) {
        group_labels.push_back(GroupingLabels(input.series[si].labels, grouping, a.without));
      }
      group_of[si] = it->second;
    }
    if (k_op) group_labels.resize(index.size());
  }
  const size_t num_groups = group_labels.size();

  // Parameter checks over all steps.
  double pmin = INFINITY, pmax = -INFINITY;
  bool pnan = false;
  if (param) {
    for (double p : *param) {
      if (std::isnan(p)) {
        pnan = true;
        continue;
      }
      pmin = std::min(pmin, p);
      pmax = std::max(pmax, p);
    }
  }
  Value out;
  out.type = ValueType::kVector;
  const PositionRange ppos = a.param ? a.param->pos : a.pos;
  switch (op) {
    case AggregateOp::kTopk:
    case AggregateOp::kBottomk:
    case AggregateOp::kLimitk:
      if (!pnan && pmax < 1) return out;
      if (param && param->empty()) return out;
      if (pnan) ThrowExec("Parameter value is NaN");
      if (pmin <= -9223372036854775808.0) {
        ThrowExec(absl::StrCat("Scalar value ", FormatFloatG(pmin), " underflows int64"));
      }
      if (pmax >= 9223372036854774784.0) {
        ThrowExec(absl::StrCat("Scalar value ", FormatFloatG(pmax), " overflows int64"));
      }
      break;
    case AggregateOp::kLimitRatio:
      if (!pnan && pmax == 0 && pmin == 0) return out;
      if (pnan) ThrowExec("Ratio value is NaN");
      if (pmax > 1.0) {
        ev.ctx().Warn(absl::StrCat("ratio value should be between -1 and 1, got ",
                                   FormatFloatG(pmax), ", capping to 1"),
                      ppos);
      }
      if (pmin < -1.0) {
        ev.ctx().Warn(absl::StrCat("ratio value should be between -1 and 1, got ",
                                   FormatFloatG(pmin), ", capping to -1"),
                      ppos);
      }
      break;
    case AggregateOp::kQuantile:
      if (pnan) ev.ctx().Warn("quantile value should be between 0 and 1, got NaN", ppos);
      if (pmax > 1) {
        ev.ctx().Warn(
            absl::StrCat("quantile value should be between 0 and 1, got ", FormatFloatG(pmax)),
            ppos);
      }
      if (pmin < 0) {
        ev.ctx().Warn(
            absl::StrCat("quantile value should be between 0 and 1, got ", FormatFloatG(pmin)),
            ppos);
      }
      break;
    default:
      break;
  }

  std::vector<Group> groups(num_groups);
  const int n = ev.num_steps();

  if (k_op) {
    auto steps = ev.ByStep(input);
    SeriesBuilder builder(input.series.size());
    std::vector<int64_t> out_index(input.series.size(), -1);
    for (int i = 0; i < n; ++i) {
      ev.ctx().CheckDeadline();
      for (Group& g : groups) {
        g.seen = false;
        g.heap.clear();
      }
      double fparam = param ? (*param)[i] : 0;
      int64_t k = 0;
      double r = 0;
      if (op == AggregateOp::kLimitRatio) {
        if (fparam == 0) continue;
        r = std::clamp(fparam, -1.0, 1.0);
      } else {
        k = std::min(static_cast<int64_t>(fparam), static_cast<int64_t>(input.series.size()));
        if (k < 1) continue;
      }
      for (const auto& [si, v] : steps[i]) {
        Group& g = groups[group_of[si]];
        HeapElem e{si, v};
        if (!g.seen) {
          g.seen = true;
          switch (op) {
            case AggregateOp::kLimitRatio:
              if (AddRatioSample(r, input.series[si].labels)) HeapPush(g.heap, e, ByValueLess);
              break;
            case AggregateOp::kLimitk:
              g.heap.push_back(e);
              break;
            case AggregateOp::kTopk:
              HeapPush(g.heap, e, ByValueLess);
              break;
            case AggregateOp::kBottomk:
              HeapPush(g.heap, e, ByReverseValueLess);
              break;
            default:
              break;
          }
          continue;
        }
        switch (op) {
          case AggregateOp::kTopk:
            if (static_cast<int64_t>(g.heap.size()) < k) {
              HeapPush(g.heap, e, ByValueLess);
            } else if (g.heap[0].v < v || (std::isnan(g.heap[0].v) && !std::isnan(v))) {
              g.heap[0] = e;
              if (k > 1) HeapFix(g.heap, 0, ByValueLess);
            }
            break;
          case AggregateOp::kBottomk:
            if (static_cast<int64_t>(g.heap.size()) < k) {
              HeapPush(g.heap, e, ByReverseValueLess);
            } else if (g.heap[0].v > v || (std::isnan(g.heap[0].v) && !std::isnan(v))) {
              g.heap[0] = e;
              if (k > 1) HeapFix(g.heap, 0, ByReverseValueLess);
            }
            break;
          case AggregateOp::kLimitk:
            if (static_cast<int64_t>(g.heap.size()) < k) HeapPush(g.heap, e, ByValueLess);
            break;
          case AggregateOp::kLimitRatio:
            if (AddRatioSample(r, input.series[si].labels)) HeapPush(g.heap, e, ByValueLess);
            break;
          default:
            break;
        }
      }
      for (Group& g : groups) {
        if (!g.seen) continue;
        if (op == AggregateOp::kTopk && g.heap.size() > 1) {
          std::stable_sort(g.heap.begin(), g.heap.end(),
                           [](const HeapElem& x, const HeapElem& y) { return ByValueLess(y, x); });
        } else if (op == AggregateOp::kBottomk && g.heap.size() > 1) {
          std::stable_sort(g.heap.begin(), g.heap.end(), [](const HeapElem& x, const HeapElem& y) {
            return ByReverseValueLess(y, x);
          });
        }
        for (const HeapElem& e : g.heap) {
          if (out_index[e.series] < 0) {
            const Series& s = input.series[e.series];
            out_index[e.series] = static_cast<int64_t>(builder.Index(s.labels, s.drop_name));
          }
          builder.AddAt(static_cast<size_t>(out_index[e.series]), i, ev.StepTime(i), e.v);
        }
      }
    }
    out.series = builder.Finish();
    return out;
  }

  std::vector<Series> result(num_groups);
  for (size_t g = 0; g < num_groups; ++g) {
    result[g].labels = std::move(group_labels[g]);
    if (num_groups <= 1024) result[g].points.reserve(static_cast<size_t>(n));
  }
  size_t points = 0;
  for (const Series& s : input.series) points += s.points.size();
  if (op != AggregateOp::kQuantile &&
      static_cast<uint64_t>(num_groups) * static_cast<uint64_t>(n) <= points / 4) {
    // Few groups for many input points (sum, or a few by() labels, over a range): one state per
    // group and step, fed series by series, is cheaper than regrouping every point by step
    // first. Each state still sees its samples in series order, as below.
    std::vector<Group> state(num_groups * static_cast<size_t>(n));
    for (size_t si = 0; si < input.series.size(); ++si) {
      if ((si & 255) == 255) ev.ctx().CheckDeadline();
      const Series& s = input.series[si];
      Group* row = &state[static_cast<size_t>(group_of[si]) * static_cast<size_t>(n)];
      int i = -1;
      for (const tsdb::Sample& p : s.points) {
        // Points usually sit at consecutive steps: the next step is tried before dividing.
        i = i + 1 < n && ev.StepTime(i + 1) == p.t ? i + 1 : ev.StepIndex(p.t);
        if (i < 0 || i >= n) continue;  // as ByStep
        Group& g = row[i];
        if (g.seen) {
          GroupAdd(g, op, p.v, s.drop_name);
        } else {
          GroupStart(g, op, p.v, s.drop_name);
        }
      }
    }
    for (size_t gi = 0; gi < num_groups; ++gi) {
      for (int i = 0; i < n; ++i) {
        Group& g = state[gi * static_cast<size_t>(n) + static_cast<size_t>(i)];
        if (!g.seen) continue;
        result[gi].points.push_back({ev.StepTime(i), GroupResult(g, op, 0)});
        result[gi].drop_name = g.drop_name;
      }
    }
  } else {
    auto steps = ev.ByStep(input);
    for (int i = 0; i < n; ++i) {
      ev.ctx().CheckDeadline();
      for (Group& g : groups) g.seen = false;
      for (const auto& [si, f] : steps[i]) {
        Group& g = groups[group_of[si]];
        if (g.seen) {
          GroupAdd(g, op, f, input.series[si].drop_name);
        } else {
          GroupStart(g, op, f, input.series[si].drop_name);
        }
      }
      for (size_t gi = 0; gi < num_groups; ++gi) {
        Group& g = groups[gi];
        if (!g.seen) continue;
        result[gi].points.push_back(
            {ev.StepTime(i), GroupResult(g, op, param ? (*param)[i] : NAN)});
        result[gi].drop_name = g.drop_name;
      }
    }
  }
  int64_t total = 0;
  for (Series& s : result) {
    if (s.points.empty()) continue;
    total += static_cast<int64_t>(s.points.size());
    out.series.push_back(std::move(s));
  }
  ev.ctx().AddSamples(total);
  return out;
}

}  // namespace promql::eval
