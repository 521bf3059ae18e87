// Binary operators: scalar/scalar, vector/scalar and vector/vector with Prometheus' vector
// matching (on/ignoring, group_left/group_right, fill modifiers, set operators).
#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "promql/eval/evaluator.h"

namespace promql::eval {

namespace {

bool ChangesMetricSchema(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kPow:
    case BinaryOp::kMod:
    case BinaryOp::kAtan2:
      return true;
    default:
      return false;
  }
}

// The float result of op and whether a comparison keeps the element. For comparisons the value
// is the left operand.
std::pair<double, bool> ElemBinop(BinaryOp op, double l, double r) {
  switch (op) {
    case BinaryOp::kAdd:
      return {l + r, true};
    case BinaryOp::kSub:
      return {l - r, true};
    case BinaryOp::kMul:
      return {l * r, true};
    case BinaryOp::kDiv:
      return {l / r, true};
    case BinaryOp::kPow:
      return {std::pow(l, r), true};
    case BinaryOp::kMod:
      return {std::fmod(l, r), true};
    case BinaryOp::kAtan2:
      return {std::atan2(l, r), true};
    case BinaryOp::kEql:
      return {l, l == r};
    case BinaryOp::kNeq:
      return {l, l != r};
    case BinaryOp::kGtr:
      return {l, l > r};
    case BinaryOp::kLss:
      return {l, l < r};
    case BinaryOp::kGte:
      return {l, l >= r};
    case BinaryOp::kLte:
      return {l, l <= r};
    default:
      return {0, false};
  }
}

bool IsTrimOp(BinaryOp op) { return op == BinaryOp::kTrimUpper || op == BinaryOp::kTrimLower; }

void TrimInfo(Evaluator& ev, const BinaryExpr& b) {
  std::string op(BinaryOpName(b.op));
  ev.ctx().Info(absl::StrCat("incompatible sample types encountered for binary operator \"", op,
                             "\": float ", op, " float"),
                b.pos);
}

// Labels of l kept by on(names) or left after ignoring(names) (which also drops __name__).
Labels MatchLabels(const Labels& l, bool on, const std::vector<std::string>& names) {
  std::vector<tsdb::Label> out;
  for (const tsdb::Label& x : l) {
    bool listed = std::find(names.begin(), names.end(), x.name) != names.end();
    if (on ? listed : (!listed && x.name != "__name__")) out.push_back(x);
  }
  return Labels::FromSorted(std::move(out));
}

// The join signature of a series.
std::string Signature(const Labels& l, const VectorMatching& m) {
  std::string sig;
  for (const tsdb::Label& x : l) {
    bool listed = std::find(m.matching_labels.begin(), m.matching_labels.end(), x.name) !=
                  m.matching_labels.end();
    bool include = m.on ? listed : (!listed && x.name != "__name__");
    if (!include) continue;
    sig += x.name;
    sig += '\xff';
    sig += x.value;
    sig += '\xff';
  }
  return sig;
}

Labels ResultMetric(const Labels& lhs, const Labels& rhs, BinaryOp op, const VectorMatching& m) {
  std::vector<tsdb::Label> out;
  out.reserve(lhs.size());
  bool drop = ChangesMetricSchema(op);
  for (const tsdb::Label& x : lhs) {
    if (drop && (x.name == "__name__" || x.name == "__type__" || x.name == "__unit__")) continue;
    if (m.card == MatchCardinality::kOneToOne) {
      bool listed = std::find(m.matching_labels.begin(), m.matching_labels.end(), x.name) !=
                    m.matching_labels.end();
      if (m.on ? !listed : listed) continue;
    }
    out.push_back(x);
  }
  Labels result = Labels::FromSorted(std::move(out));
  for (const std::string& ln : m.include) {
    std::string_view v = rhs.Get(ln);
    result = result.With(ln, v);  // an empty value removes the label
  }
  return result;
}

Value ScalarScalar(Evaluator& ev, const BinaryExpr& b, const Value& lhs, const Value& rhs) {
  Value out;
  out.type = ValueType::kScalar;
  out.scalars.resize(ev.num_steps());
  for (int i = 0; i < ev.num_steps(); ++i) {
    double l = lhs.scalars[i], r = rhs.scalars[i];
    auto [v, keep] = ElemBinop(b.op, l, r);
    if (IsComparisonOp(b.op)) v = keep ? 1 : 0;
    out.scalars[i] = v;
  }
  return out;
}

Value VectorScalar(Evaluator& ev, const BinaryExpr& b, Value vec, const std::vector<double>& sc,
                   bool swap) {
  Value out;
  out.type = ValueType::kVector;
  if (IsTrimOp(b.op)) {
    bool any = false;
    for (const Series& s : vec.series) any = any || !s.points.empty();
    if (any) TrimInfo(ev, b);
    return out;
  }
  const bool cmp = IsComparisonOp(b.op);
  const bool drop = ChangesMetricSchema(b.op) || b.return_bool;
  int64_t total = 0;
  for (Series& s : vec.series) {
    ev.ctx().CheckDeadline();
    std::vector<tsdb::Sample> pts;
    pts.reserve(s.points.size());
    for (const tsdb::Sample& p : s.points) {
      double lf = p.v, rf = sc[ev.StepIndex(p.t)];
      if (swap) std::swap(lf, rf);
      auto [v, keep] = ElemBinop(b.op, lf, rf);
      if (cmp && swap) v = rf;
      if (b.return_bool) {
        v = keep ? 1 : 0;
        keep = true;
      }
      if (keep) pts.push_back({p.t, v});
    }
    if (pts.empty()) continue;
    Series o;
    o.labels = std::move(s.labels);
    o.drop_name = s.drop_name || drop;
    o.points = std::move(pts);
    total += static_cast<int64_t>(o.points.size());
    out.series.push_back(std::move(o));
  }
  ev.ctx().AddSamples(total);
  return out;
}

struct Elem {
  const Labels* labels;
  double v;
  bool drop_name;
  int series;  // index into its side's series; -1 for a fill value
};

Value VectorVector(Evaluator& ev, const BinaryExpr& b, Value lhs, const Value& rhs) {
  const VectorMatching& m = *b.matching;
  Value out;
  out.type = ValueType::kVector;
  const int n = ev.num_steps();
  // Signature ordinals for both sides.
  std::unordered_map<std::string, int> sig_ord;
  auto ordinals = [&](const Value& v) {
    std::vector<int> ord(v.series.size());
    for (size_t i = 0; i < v.series.size(); ++i) {
      auto [it, inserted] =
          sig_ord.emplace(Signature(v.series[i].labels, m), static_cast<int>(sig_ord.size()));
      ord[i] = it->second;
    }
    return ord;
  };
  std::vector<int> lord = ordinals(lhs);
  std::vector<int> rord = ordinals(rhs);
  const int num_sigs = static_cast<int>(sig_ord.size());
  auto lsteps = ev.ByStep(lhs);
  auto rsteps = ev.ByStep(rhs);
  SeriesBuilder builder(std::max(lhs.series.size(), rhs.series.size()));

  if (IsSetOp(b.op)) {
    std::vector<int> mark(num_sigs, -1);
    std::vector<int64_t> lcache(lhs.series.size(), -1), rcache(rhs.series.size(), -1);
    for (int i = 0; i < n; ++i) {
      ev.ctx().CheckDeadline();
      int64_t t = ev.StepTime(i);
      const auto& L = lsteps[i];
      const auto& R = rsteps[i];
      auto emit = [&](const Value& side, const std::pair<int, double>& e) {
        std::vector<int64_t>& cache = &side == &lhs ? lcache : rcache;
        if (cache[e.first] < 0) {
          const Series& s = side.series[e.first];
          cache[e.first] = static_cast<int64_t>(builder.Index(s.labels, s.drop_name));
        }
        builder.AddAt(static_cast<size_t>(cache[e.first]), i, t, e.second);
      };
      switch (b.op) {
        case BinaryOp::kAnd:
          if (L.empty() || R.empty()) break;
          for (const auto& e : R) mark[rord[e.first]] = i;
          for (const auto& e : L) {
            if (mark[lord[e.first]] == i) emit(lhs, e);
          }
          break;
        case BinaryOp::kOr:
          for (const auto& e : L) {
            mark[lord[e.first]] = i;
            emit(lhs, e);
          }
          for (const auto& e : R) {
            if (mark[rord[e.first]] != i) emit(rhs, e);
          }
          break;
        case BinaryOp::kUnless:
          if (!R.empty()) {
            for (const auto& e : R) mark[rord[e.first]] = i;
          }
          for (const auto& e : L) {
            if (R.empty() || mark[lord[e.first]] != i) emit(lhs, e);
          }
          break;
        default:
          break;
      }
    }
    out.series = builder.Finish();
    return out;
  }

  if (IsTrimOp(b.op)) {
    for (int i = 0; i < n; ++i) {
      if (!lsteps[i].empty() && !rsteps[i].empty()) {
        TrimInfo(ev, b);
        break;
      }
    }
    return out;
  }

  const bool one_to_many = m.card == MatchCardinality::kOneToMany;
  const Value& many = one_to_many ? rhs : lhs;
  const Value& one = one_to_many ? lhs : rhs;
  const std::vector<int>& many_ord = one_to_many ? rord : lord;
  const std::vector<int>& one_ord = one_to_many ? lord : rord;
  // As Prometheus applies them after swapping the sides for group_right: the right fill value
  // stands in for a missing "one" side, the left one for a missing "many" side.
  const std::optional<double> fill_many = m.fill_lhs;
  const std::optional<double> fill_one = m.fill_rhs;
  const bool has_fill = m.fill_lhs.has_value() || m.fill_rhs.has_value();

  // (many-side series, one-side series) -> output series in the builder.
  std::unordered_map<uint64_t, size_t> out_cache;
  std::vector<int> right_at(num_sigs, -1);    // step stamp
  std::vector<int> right_idx(num_sigs, -1);   // index into the one side's step samples
  std::vector<int> matched_at(num_sigs, -1);  // one-to-one: matched at this step
  std::vector<std::unordered_set<uint64_t>> matched_sets;
  if (m.card != MatchCardinality::kOneToOne) matched_sets.resize(num_sigs);
  std::vector<int> matched_sets_at(num_sigs, -1);

  for (int i = 0; i < n; ++i) {
    ev.ctx().CheckDeadline();
    int64_t t = ev.StepTime(i);
    const auto& Lm = one_to_many ? rsteps[i] : lsteps[i];  // "many" side at this step
    const auto& Ro = one_to_many ? lsteps[i] : rsteps[i];  // "one" side
    if (Lm.empty() && Ro.empty()) continue;
    if ((Lm.empty() || Ro.empty()) && !has_fill) continue;
    for (size_t k = 0; k < Ro.size(); ++k) {
      int sig = one_ord[Ro[k].first];
      if (right_at[sig] == i) {
        const Labels& a = one.series[Ro[k].first].labels;
        const Labels& c = one.series[Ro[right_idx[sig]].first].labels;
        std::string sa = LabelsString(a), sc = LabelsString(c);
        if (sc < sa) std::swap(sa, sc);
        ThrowExec(absl::StrCat(
            "found duplicate series for the match group ",
            LabelsString(MatchLabels(a, m.on, m.matching_labels)), " on the ",
            one_to_many ? "left" : "right", " hand-side of the operation: [", sa, ", ", sc,
            "];many-to-many matching not allowed: matching labels must be unique on one side"));
      }
      right_at[sig] = i;
      right_idx[sig] = static_cast<int>(k);
    }
    auto do_op = [&](const Elem& ls, const Elem& rs, int sig) {
      double fl = ls.v, fr = rs.v;
      if (one_to_many) std::swap(fl, fr);
      auto [v, keep] = ElemBinop(b.op, fl, fr);
      if (b.return_bool) v = keep ? 1 : 0;
      size_t out_idx;
      if (ls.series >= 0 && rs.series >= 0) {
        uint64_t key = (static_cast<uint64_t>(ls.series) << 32) | static_cast<uint32_t>(rs.series);
        auto it = out_cache.find(key);
        if (it == out_cache.end()) {
          it = out_cache
                   .emplace(key, builder.Index(ResultMetric(*ls.labels, *rs.labels, b.op, m),
                                               b.return_bool || ls.drop_name))
                   .first;
        }
        out_idx = it->second;
      } else {
        out_idx = builder.Index(ResultMetric(*ls.labels, *rs.labels, b.op, m),
                                b.return_bool || ls.drop_name);
      }
      if (m.card == MatchCardinality::kOneToOne) {
        if (matched_at[sig] == i) {
          ThrowExec(
              "multiple matches for labels: many-to-one matching must be explicit "
              "(group_left/group_right)");
        }
        matched_at[sig] = i;
      } else {
        if (matched_sets_at[sig] != i) {
          matched_sets[sig].clear();
          matched_sets_at[sig] = i;
        }
        matched_at[sig] = i;
        // Output series are unique by label set, so their index identifies the labels.
        if (!matched_sets[sig].insert(out_idx).second) {
          ThrowExec("multiple matches for labels: grouping labels must ensure unique matches");
        }
      }
      if (!keep && !b.return_bool) return;
      builder.AddAt(out_idx, i, t, v);
    };
    for (const auto& e : Lm) {
      int sig = many_ord[e.first];
      Elem ls{&many.series[e.first].labels, e.second, many.series[e.first].drop_name, e.first};
      if (right_at[sig] == i) {
        const auto& r = Ro[right_idx[sig]];
        Elem rs{&one.series[r.first].labels, r.second, one.series[r.first].drop_name, r.first};
        do_op(ls, rs, sig);
      } else if (fill_one) {
        Labels fl = MatchLabels(*ls.labels, m.on, m.matching_labels);
        Elem rs{&fl, *fill_one, false, -1};
        do_op(ls, rs, sig);
      }
    }
    if (fill_many) {
      for (const auto& r : Ro) {
        int sig = one_ord[r.first];
        if (matched_at[sig] == i) continue;
        Labels fl = MatchLabels(one.series[r.first].labels, m.on, m.matching_labels);
        Elem ls{&fl, *fill_many, false, -1};
        Elem rs{&one.series[r.first].labels, r.second, one.series[r.first].drop_name, r.first};
        do_op(ls, rs, sig);
      }
    }
  }
  out.series = builder.Finish();
  int64_t total = 0;
  for (const Series& s : out.series) total += static_cast<int64_t>(s.points.size());
  ev.ctx().AddSamples(total);
  return out;
}

}  // namespace

Value EvalBinaryOp(Evaluator& ev, const BinaryExpr& b, Value lhs, Value rhs) {
  const bool ls = lhs.type == ValueType::kScalar, rs = rhs.type == ValueType::kScalar;
  if (ls && rs) return ScalarScalar(ev, b, lhs, rhs);
  if (!ls && rs) return VectorScalar(ev, b, std::move(lhs), rhs.scalars, false);
  if (ls && !rs) return VectorScalar(ev, b, std::move(rhs), lhs.scalars, true);
  if (!b.matching) {
    VectorMatching m;
    m.card = IsSetOp(b.op) ? MatchCardinality::kManyToMany : MatchCardinality::kOneToOne;
    BinaryExpr copy;
    copy.op = b.op;
    copy.return_bool = b.return_bool;
    copy.pos = b.pos;
    copy.matching = m;
    return VectorVector(ev, copy, std::move(lhs), rhs);
  }
  return VectorVector(ev, b, std::move(lhs), rhs);
}

}  // namespace promql::eval
