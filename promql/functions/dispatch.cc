// Function calls: dispatch by name, functions over instant vectors and scalars, label functions,
// and the driver for range-vector functions (range.cc holds their math).
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "promql/functions/functions.h"
#include "promql/parser/functions.h"
#include "re2/re2.h"
#include "tsdb/utf8.h"

namespace promql::eval {

namespace {

using functions::LookupRangeFunction;
using functions::RangeCall;
using functions::RangeFunction;

using tsdb::IsValidUtf8;

bool IsValidLabelName(std::string_view s) { return !s.empty() && IsValidUtf8(s); }

std::string StringArg(const CallExpr& c, size_t i) {
  const Expr& e = Unparen(*c.args[i]);
  if (e.kind() != ExprKind::kStringLiteral) ThrowExec("expected a string literal argument");
  return e.As<StringLiteral>().value;
}

// Labels that absent()/absent_over_time() return: the equality matchers (not on __name__) of a
// selector argument; a label given twice is dropped.
Labels AbsentLabels(const Expr& arg) {
  const Expr& e = Unparen(arg);
  const VectorSelector* vs = nullptr;
  if (e.kind() == ExprKind::kVectorSelector) vs = &e.As<VectorSelector>();
  if (e.kind() == ExprKind::kMatrixSelector) vs = &e.As<MatrixSelector>().selector();
  if (vs == nullptr) return Labels();
  std::map<std::string, std::string> set;
  std::map<std::string, bool> has;
  for (const tsdb::LabelMatcher& m : vs->matchers) {
    if (m.name() == "__name__") continue;
    if (m.type() == tsdb::LabelMatcher::Type::kEqual && !has[m.name()]) {
      set[m.name()] = m.value();
      has[m.name()] = true;
    } else {
      set.erase(m.name());
    }
  }
  std::vector<tsdb::Label> out;
  out.reserve(set.size());
  for (auto& [k, v] : set) out.push_back({k, v});
  return Labels(std::move(out));
}

// Go's regexp.Expand for a replacement template.
std::string ExpandTemplate(std::string_view tmpl, const re2::RE2& re,
                           const std::vector<re2::StringPiece>& groups) {
  std::string out;
  const auto& names = re.NamedCapturingGroups();
  size_t i = 0;
  while (i < tmpl.size()) {
    size_t d = tmpl.find('$', i);
    if (d == std::string_view::npos) {
      out.append(tmpl.substr(i));
      break;
    }
    out.append(tmpl.substr(i, d - i));
    i = d + 1;
    if (i < tmpl.size() && tmpl[i] == '$') {
      out += '$';
      ++i;
      continue;
    }
    // extract
    size_t j = i;
    bool brace = false;
    if (j < tmpl.size() && tmpl[j] == '{') {
      brace = true;
      ++j;
    }
    size_t name_start = j;
    while (j < tmpl.size()) {
      unsigned char c = tmpl[j];
      if (std::isalnum(c) || c == '_' || c >= 0x80) {
        ++j;
      } else {
        break;
      }
    }
    std::string_view name = tmpl.substr(name_start, j - name_start);
    bool ok = !name.empty();
    if (ok && brace) {
      if (j < tmpl.size() && tmpl[j] == '}') {
        ++j;
      } else {
        ok = false;
      }
    }
    if (!ok) {
      out += '$';
      continue;
    }
    i = j;
    bool numeric =
        std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (numeric) {
      if (name.size() > 9) continue;
      int num = std::stoi(std::string(name));
      if (num < static_cast<int>(groups.size()) && groups[num].data() != nullptr) {
        out.append(groups[num].data(), groups[num].size());
      }
    } else {
      auto it = names.find(std::string(name));
      if (it != names.end() && it->second < static_cast<int>(groups.size()) &&
          groups[it->second].data() != nullptr) {
        out.append(groups[it->second].data(), groups[it->second].size());
      }
    }
  }
  return out;
}

Value LabelReplace(Evaluator& ev, const CallExpr& c) {
  std::string dst = StringArg(c, 1);
  std::string repl = StringArg(c, 2);
  std::string src = StringArg(c, 3);
  std::string regex = StringArg(c, 4);
  re2::RE2::Options opts;
  opts.set_log_errors(false);
  re2::RE2 re("^(?s:" + regex + ")$", opts);
  if (!re.ok()) ThrowExec("invalid regular expression in label_replace(): " + regex);
  if (!IsValidLabelName(dst)) {
    ThrowExec("invalid destination label name in label_replace(): " + dst);
  }
  Value v = ev.Eval(*c.args[0]);
  const int ngroups = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> groups(ngroups);
  for (Series& s : v.series) {
    std::string src_val(s.labels.Get(src));
    if (!re.Match(src_val, 0, src_val.size(), re2::RE2::UNANCHORED, groups.data(), ngroups)) {
      continue;
    }
    std::string res = ExpandTemplate(repl, re, groups);
    s.labels = s.labels.With(dst, res);
    if (dst == "__name__") s.drop_name = false;
  }
  v.series = eval::MergeSameLabelsets(std::move(v.series));
  return v;
}

Value LabelJoin(Evaluator& ev, const CallExpr& c) {
  std::string dst = StringArg(c, 1);
  std::string sep = StringArg(c, 2);
  std::vector<std::string> srcs;
  for (size_t i = 3; i < c.args.size(); ++i) {
    std::string s = StringArg(c, i);
    if (!IsValidLabelName(s)) ThrowExec("invalid source label name in label_join(): " + s);
    srcs.push_back(std::move(s));
  }
  if (!IsValidLabelName(dst)) ThrowExec("invalid destination label name in label_join(): " + dst);
  Value v = ev.Eval(*c.args[0]);
  for (Series& s : v.series) {
    std::vector<std::string> vals;
    vals.reserve(srcs.size());
    for (const std::string& src : srcs) vals.emplace_back(s.labels.Get(src));
    s.labels = s.labels.With(dst, absl::StrJoin(vals, sep));
    if (dst == "__name__") s.drop_name = false;
  }
  v.series = eval::MergeSameLabelsets(std::move(v.series));
  return v;
}

Value TimestampOfSelector(Evaluator& ev, const VectorSelector& vs) {
  const int64_t lookback = ev.ctx().options.lookback_delta_ms;
  const int64_t offset = vs.offset_ms;
  auto ref_of = [&](int64_t ts) { return (vs.timestamp_ms ? *vs.timestamp_ms : ts) - offset; };
  Value out;
  if (ev.num_steps() == 0) return out;
  const int64_t min_ref = ref_of(ev.start()), max_ref = ref_of(ev.end());
  tsdb::SelectHints hints;  // as for the selector itself (Evaluator::EvalVectorSelector)
  hints.newest_only = min_ref == max_ref;
  int64_t total = 0;
  ev.SelectEach(vs, min_ref - lookback + 1, max_ref, hints, false, [&](Series& s) {
    Series o;
    o.labels = std::move(s.labels);
    o.drop_name = true;
    size_t j = 0;
    for (int i = 0; i < ev.num_steps(); ++i) {
      int64_t ts = ev.StepTime(i);
      int64_t ref = ref_of(ts);
      while (j < s.points.size() && s.points[j].t <= ref) ++j;
      if (j == 0) continue;
      const tsdb::Sample& p = s.points[j - 1];
      if (p.t <= ref - lookback || IsStaleNaN(p.v)) continue;
      o.points.push_back({ts, static_cast<double>(p.t) / 1000});
    }
    if (!o.points.empty()) {
      total += static_cast<int64_t>(o.points.size());
      out.series.push_back(std::move(o));
    }
  });
  ev.ctx().AddSamples(total);
  return out;
}

// --- info() ---

// The time at which info() looks up info series for step ts: the evaluation time shifted by the
// offsets (and pinned by the @ modifiers) on the path to the first vector selector of expr.
struct InfoTime {
  std::optional<int64_t> at;
  int64_t offset = 0;
  int64_t Ref(int64_t ts) const { return (at ? *at : ts) - offset; }
};

InfoTime InfoRefTime(const Expr& root) {
  InfoTime t;
  const Expr* found = nullptr;
  std::vector<const Expr*> path;
  Inspect(root, [&](const Expr& node, const std::vector<const Expr*>& p) {
    if (found != nullptr) return false;
    if (node.kind() == ExprKind::kVectorSelector) {
      found = &node;
      path = p;
      return false;
    }
    return true;
  });
  if (found == nullptr) return t;
  for (const Expr* n : path) {
    if (n->kind() != ExprKind::kSubquery) continue;
    const auto& sq = n->As<SubqueryExpr>();
    if (sq.timestamp_ms) {
      t.at = *sq.timestamp_ms;
      t.offset = sq.offset_ms;
    } else {
      t.offset += sq.offset_ms;
    }
  }
  const auto& vs = found->As<VectorSelector>();
  if (vs.timestamp_ms) {
    t.at = *vs.timestamp_ms;
    t.offset = vs.offset_ms;
  } else {
    t.offset += vs.offset_ms;
  }
  return t;
}

Value InfoFunction(Evaluator& ev, const CallExpr& c) {
  static const std::vector<std::string> kIdentifying = {"instance", "job"};
  Value base = ev.Eval(*c.args[0]);
  // Data label matchers by label name, and the matchers on __name__.
  std::map<std::string, std::vector<const tsdb::LabelMatcher*>> data_matchers;
  std::vector<const tsdb::LabelMatcher*> name_matchers;
  std::vector<tsdb::LabelMatcher> default_name;
  if (c.args.size() > 1) {
    const Expr& sel = Unparen(*c.args[1]);
    if (sel.kind() != ExprKind::kVectorSelector) ThrowExec("info() expects a label selector");
    for (const tsdb::LabelMatcher& m : sel.As<VectorSelector>().matchers) {
      data_matchers[m.name()].push_back(&m);
      if (m.name() == "__name__") name_matchers.push_back(&m);
    }
  } else {
    default_name.push_back(
        *tsdb::LabelMatcher::Make(tsdb::LabelMatcher::Type::kEqual, "__name__", "target_info"));
    name_matchers.push_back(&default_name[0]);
  }
  // Info series among the base series are passed through unchanged: those whose name matches
  // every __name__ matcher, at least one of which is positive.
  bool any_positive = false;
  for (const auto* m : name_matchers) {
    any_positive = any_positive || m->type() == tsdb::LabelMatcher::Type::kEqual ||
                   m->type() == tsdb::LabelMatcher::Type::kRegexMatch;
  }
  std::vector<bool> ignore(base.series.size(), false);
  for (size_t i = 0; i < base.series.size(); ++i) {
    if (!any_positive) break;
    std::string_view name = base.series[i].labels.MetricName();
    bool all = true;
    for (const auto* m : name_matchers) all = all && m->Matches(name);
    ignore[i] = all;
  }
  // Identifying label values of the base series.
  std::map<std::string, std::set<std::string>> id_values;
  for (size_t i = 0; i < base.series.size(); ++i) {
    if (ignore[i]) continue;
    for (const std::string& l : kIdentifying) {
      std::string_view v = base.series[i].labels.Get(l);
      if (!v.empty()) id_values[l].insert(std::string(v));
    }
  }
  bool has_name_matcher = data_matchers.count("__name__") > 0;
  data_matchers.erase("__name__");

  const InfoTime it = InfoRefTime(*c.args[0]);
  const int64_t lookback = ev.ctx().options.lookback_delta_ms;
  // Info series, sampled at each step's reference time; the value is the sample's timestamp.
  std::vector<Series> info;
  if (!id_values.empty() && ev.num_steps() > 0) {
    VectorSelector vs;
    if (!has_name_matcher) {
      vs.matchers.push_back(default_name.empty()
                                ? *tsdb::LabelMatcher::Make(tsdb::LabelMatcher::Type::kEqual,
                                                            "__name__", "target_info")
                                : default_name[0]);
    }
    for (const auto& [name, vals] : id_values) {
      std::vector<std::string> quoted;
      for (const std::string& v : vals) quoted.push_back(re2::RE2::QuoteMeta(v));
      auto m = tsdb::LabelMatcher::Make(tsdb::LabelMatcher::Type::kRegexMatch, name,
                                        absl::StrJoin(quoted, "|"));
      if (!m.ok()) Throw(m.status());
      vs.matchers.push_back(*m);
    }
    if (c.args.size() > 1) {
      for (const tsdb::LabelMatcher& m : Unparen(*c.args[1]).As<VectorSelector>().matchers) {
        vs.matchers.push_back(m);
      }
    }
    // Only negative __name__ matchers: they narrow down the info metrics (names ending in
    // _info), they do not turn every other metric into one.
    if (has_name_matcher && !any_positive) {
      vs.matchers.push_back(
          *tsdb::LabelMatcher::Make(tsdb::LabelMatcher::Type::kRegexMatch, "__name__", ".+_info"));
    }
    std::vector<Series> raw = ev.Select(vs, it.Ref(ev.start()) - lookback + 1, it.Ref(ev.end()));
    for (Series& s : raw) {
      Series o;
      o.labels = std::move(s.labels);
      size_t j = 0;
      for (int i = 0; i < ev.num_steps(); ++i) {
        int64_t ts = ev.StepTime(i);
        int64_t ref = it.Ref(ts);
        while (j < s.points.size() && s.points[j].t <= ref) ++j;
        if (j == 0) continue;
        const tsdb::Sample& p = s.points[j - 1];
        if (p.t <= ref - lookback || IsStaleNaN(p.v)) continue;
        o.points.push_back({ts, static_cast<double>(p.t)});
      }
      if (!o.points.empty()) info.push_back(std::move(o));
    }
  }
  // Signatures: info metric name plus the identifying labels present.
  auto signature = [&](std::string_view name, const Labels& l) {
    std::string sig(name);
    for (const std::string& id : kIdentifying) {
      std::string_view v = l.Get(id);
      if (v.empty()) continue;
      absl::StrAppend(&sig, "\xff", id, "\xff", std::string(v));
    }
    return sig;
  };
  std::set<std::string> info_names;
  for (const Series& s : info) info_names.insert(std::string(s.labels.MetricName()));
  std::vector<std::string> info_sigs;
  info_sigs.reserve(info.size());
  for (const Series& s : info) info_sigs.push_back(signature(s.labels.MetricName(), s.labels));
  std::vector<std::vector<std::pair<std::string, std::string>>> base_sigs(base.series.size());
  for (size_t i = 0; i < base.series.size(); ++i) {
    for (const std::string& n : info_names) {
      base_sigs[i].push_back({n, signature(n, base.series[i].labels)});
    }
  }
  bool all_match_empty = true;
  for (const auto& [name, ms] : data_matchers) {
    for (const auto* m : ms) all_match_empty = all_match_empty && m->MatchesEmpty();
  }

  auto base_steps = ev.ByStep(base);
  Value info_value;
  info_value.series = std::move(info);
  auto info_steps = ev.ByStep(info_value);
  SeriesBuilder builder(base.series.size());
  std::unordered_map<std::string, std::pair<int, int64_t>> by_sig;  // sig -> (info series, t)
  for (int i = 0; i < ev.num_steps(); ++i) {
    ev.ctx().CheckDeadline();
    if (base_steps[i].empty()) continue;
    by_sig.clear();
    for (const auto& [si, t] : info_steps[i]) {
      const std::string& sig = info_sigs[si];
      int64_t orig = static_cast<int64_t>(t);
      auto found = by_sig.find(sig);
      if (found == by_sig.end()) {
        by_sig.emplace(sig, std::make_pair(si, orig));
      } else if (found->second.second < orig) {
        found->second = {si, orig};
      } else if (found->second.second == orig) {
        ThrowExec(absl::StrCat("found duplicate series for info metric: existing ",
                               LabelsString(info_value.series[found->second.first].labels), " @ ",
                               found->second.second, ", new ",
                               LabelsString(info_value.series[si].labels), " @ ", orig));
      }
    }
    for (const auto& [bi, v] : base_steps[i]) {
      const Series& bs = base.series[bi];
      if (ignore[bi]) {
        builder.Add(i, bs.labels, bs.drop_name, ev.StepTime(i), v);
        continue;
      }
      std::map<std::string, std::string> added;
      int seen = 0;
      for (const auto& [name, sig] : base_sigs[bi]) {
        auto found = by_sig.find(sig);
        if (found == by_sig.end()) continue;
        ++seen;
        for (const tsdb::Label& l : info_value.series[found->second.first].labels) {
          if (l.name == "__name__") continue;
          if (!data_matchers.empty() && !data_matchers.count(l.name)) continue;
          auto a = added.find(l.name);
          if (a != added.end() && a->second != l.value) {
            ThrowExec("conflicting label: " + l.name);
          }
          if (bs.labels.Has(l.name)) continue;
          added[l.name] = l.value;
        }
      }
      if (seen == 0 && !all_match_empty) continue;
      Labels out = bs.labels;
      for (const auto& [n, val] : added) out = out.With(n, val);
      builder.Add(i, out, bs.drop_name, ev.StepTime(i), v);
    }
  }
  Value out;
  out.series = builder.Finish();
  return out;
}

// --- range-vector functions ---

Value RangeFunctionCall(Evaluator& ev, const CallExpr& c, size_t matrix_arg) {
  std::string_view name = c.func->name;
  RangeFunction fn = LookupRangeFunction(name);
  if (fn == nullptr)
    ThrowExec(absl::StrCat("function \"", std::string(name), "\" is not supported"));
  {
    const Expr& a = Unparen(*c.args[matrix_arg]);
    if (a.kind() == ExprKind::kMatrixSelector) {
      const VectorSelector& vs = a.As<MatrixSelector>().selector();
      static const std::vector<std::string_view> kAnchored = {"changes", "delta", "increase",
                                                              "rate", "resets"};
      static const std::vector<std::string_view> kSmoothed = {"delta", "increase", "rate"};
      if (vs.anchored && std::find(kAnchored.begin(), kAnchored.end(), name) == kAnchored.end()) {
        ThrowExec(absl::StrCat(
            "anchored modifier can only be used with: changes, delta, increase, rate, resets - "
            "not with ",
            std::string(name)));
      }
      if (vs.smoothed && std::find(kSmoothed.begin(), kSmoothed.end(), name) == kSmoothed.end()) {
        ThrowExec(absl::StrCat(
            "smoothed modifier can only be used with: delta, increase, rate - not with ",
            std::string(name)));
      }
    }
  }
  std::vector<std::vector<double>> scalar_args;
  for (size_t i = 0; i < c.args.size(); ++i) {
    if (i == matrix_arg) continue;
    scalar_args.push_back(ev.EvalScalar(*c.args[i]));
  }
  RangeInput in = ev.EvalRange(*c.args[matrix_arg]);
  const int64_t lookback = ev.ctx().options.lookback_delta_ms;
  const bool drop = name != "last_over_time" && name != "first_over_time";
  const bool counter_check = name == "rate" || name == "increase";
  std::vector<double> argv(scalar_args.size());
  // rate and increase add up a window's counter resets; with many steps per series the windows
  // overlap, so the resets are found once per series instead of once per window.
  const bool index_resets = counter_check && !in.anchored && !in.smoothed && ev.num_steps() > 1;
  std::vector<uint32_t> resets;
  Value out;
  int64_t total = 0;
  ev.ForEachRangeSeries(in, [&](Series& s) {
    ev.ctx().CheckDeadline();
    Series o;
    o.drop_name = s.drop_name || drop;
    const auto& pts = s.points;
    const size_t n = pts.size();
    if (index_resets) {
      resets.clear();
      for (size_t k = 1; k < n; ++k) {
        if (pts[k].v < pts[k - 1].v) resets.push_back(static_cast<uint32_t>(k));
      }
    }
    size_t lo = 0, hi = 0;
    // The fields that stay the same for all steps of the series.
    RangeCall rc;
    rc.range_ms = in.range_ms;
    rc.args = &argv;
    rc.anchored = in.anchored;
    rc.smoothed = in.smoothed;
    rc.labels = &s.labels;
    rc.ev = &ev;
    rc.call = &c;
    rc.matrix_arg = static_cast<int>(matrix_arg);
    if (index_resets) rc.resets = &resets;
    // A sample is in the windows of at most range/interval + 1 steps (more with lookback).
    o.points.reserve(static_cast<size_t>(std::min<int64_t>(
        ev.num_steps(),
        static_cast<int64_t>(n) *
            ((in.range_ms + 2 * lookback) / std::max<int64_t>(ev.interval(), 1) + 1))));
    for (int i = 0; i < ev.num_steps(); ++i) {
      if ((i & 255) == 255) ev.ctx().CheckDeadline();
      int64_t ts = ev.StepTime(i);
      int64_t ref = in.Ref(ts);
      int64_t wmin = ref - in.range_ms, wmax = ref;
      if (in.anchored || in.smoothed) wmin -= lookback;
      if (in.smoothed) wmax += lookback;
      while (hi < n && pts[hi].t <= wmax) ++hi;
      while (lo < n && pts[lo].t <= wmin) ++lo;
      if (lo >= hi) continue;
      for (size_t k = 0; k < argv.size(); ++k) argv[k] = scalar_args[k][i];
      rc.w = std::span<const tsdb::Sample>(pts.data() + lo, hi - lo);
      rc.ts = ts;
      rc.range_start = ref - in.range_ms;
      rc.range_end = ref;
      rc.w_offset = lo;
      std::optional<double> v = fn(rc);
      if (v) o.points.push_back({ts, *v});
    }
    if (o.points.empty()) return;
    if (counter_check) {
      std::string_view metric = s.labels.MetricName();
      auto ends = [&](std::string_view suf) {
        return metric.size() >= suf.size() && metric.substr(metric.size() - suf.size()) == suf;
      };
      if (!metric.empty() && !ends("_total") && !ends("_sum") && !ends("_count") &&
          !ends("_bucket")) {
        ev.ctx().Info(absl::StrCat("metric might not be a counter, name does not end in "
                                   "_total/_sum/_count/_bucket: ",
                                   GoQuote(metric)),
                      c.args[matrix_arg]->pos);
      }
    }
    o.labels = std::move(s.labels);
    total += static_cast<int64_t>(o.points.size());
    out.series.push_back(std::move(o));
  });
  ev.ctx().AddSamples(total);
  if (name == "absent_over_time") {
    const int steps = ev.num_steps();
    std::vector<bool> found(steps, false);
    int count = 0;
    for (const Series& s : out.series) {
      if (static_cast<int>(s.points.size()) == steps) return Value();
      for (const tsdb::Sample& p : s.points) {
        int idx = ev.StepIndex(p.t);
        if (!found[idx]) {
          found[idx] = true;
          ++count;
        }
      }
    }
    Value res;
    if (count == steps) return res;
    Series a;
    a.labels = AbsentLabels(*c.args[0]);
    a.drop_name = true;
    for (int i = 0; i < steps; ++i) {
      if (!found[i]) a.points.push_back({ev.StepTime(i), 1});
    }
    res.series.push_back(std::move(a));
    return res;
  }
  return out;
}

// --- instant-vector and scalar functions ---

double Sgn(double v) {
  if (v < 0) return -1;
  if (v > 0) return 1;
  return v;
}

using MathFn = double (*)(double);

const std::map<std::string, MathFn, std::less<>>& MathFunctions() {
  static const auto* m = new std::map<std::string, MathFn, std::less<>>{
      {"abs", [](double v) { return std::fabs(v); }},
      {"ceil", [](double v) { return std::ceil(v); }},
      {"floor", [](double v) { return std::floor(v); }},
      {"exp", [](double v) { return std::exp(v); }},
      {"sqrt", [](double v) { return std::sqrt(v); }},
      {"ln", [](double v) { return std::log(v); }},
      {"log2", [](double v) { return std::log2(v); }},
      {"log10", [](double v) { return std::log10(v); }},
      {"sin", [](double v) { return std::sin(v); }},
      {"cos", [](double v) { return std::cos(v); }},
      {"tan", [](double v) { return std::tan(v); }},
      {"asin", [](double v) { return std::asin(v); }},
      {"acos", [](double v) { return std::acos(v); }},
      {"atan", [](double v) { return std::atan(v); }},
      {"sinh", [](double v) { return std::sinh(v); }},
      {"cosh", [](double v) { return std::cosh(v); }},
      {"tanh", [](double v) { return std::tanh(v); }},
      {"asinh", [](double v) { return std::asinh(v); }},
      {"acosh", [](double v) { return std::acosh(v); }},
      {"atanh", [](double v) { return std::atanh(v); }},
      {"rad", [](double v) { return v * M_PI / 180; }},
      {"deg", [](double v) { return v * 180 / M_PI; }},
      {"sgn", Sgn},
  };
  return *m;
}

// Civil date of a Unix time (seconds), UTC.
struct Civil {
  int64_t year;
  int month;  // 1..12
  int day;    // 1..31
  int hour, minute;
  int weekday;  // 0 = Sunday
  int yday;     // 1..366
};

Civil ToCivil(int64_t secs) {
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  Civil c;
  c.hour = static_cast<int>(rem / 3600);
  c.minute = static_cast<int>((rem % 3600) / 60);
  c.weekday = static_cast<int>(((days % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = c.month <= 2 ? y + 1 : y;
  bool leap = (c.year % 4 == 0 && c.year % 100 != 0) || c.year % 400 == 0;
  static const int kCum[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  c.yday = kCum[c.month - 1] + c.day + (leap && c.month > 2 ? 1 : 0);
  return c;
}

int DaysInMonth(int64_t year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

using DateFn = double (*)(const Civil&);

const std::map<std::string, DateFn, std::less<>>& DateFunctions() {
  static const auto* m = new std::map<std::string, DateFn, std::less<>>{
      {"days_in_month", [](const Civil& c) { return double(DaysInMonth(c.year, c.month)); }},
      {"day_of_month", [](const Civil& c) { return double(c.day); }},
      {"day_of_week", [](const Civil& c) { return double(c.weekday); }},
      {"day_of_year", [](const Civil& c) { return double(c.yday); }},
      {"hour", [](const Civil& c) { return double(c.hour); }},
      {"minute", [](const Civil& c) { return double(c.minute); }},
      {"month", [](const Civil& c) { return double(c.month); }},
      {"year", [](const Civil& c) { return double(c.year); }},
  };
  return *m;
}

// Go's int64(f) conversion on amd64: out-of-range and NaN give math.MinInt64.
int64_t GoInt64(double f) {
  if (std::isnan(f) || f >= 9223372036854775808.0 || f < -9223372036854775808.0) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(f);
}

// Maps every point of every series through f; the result drops the metric name.
template <typename F>
Value MapPoints(Evaluator& ev, Value v, F f) {
  Value out;
  int64_t total = 0;
  for (Series& s : v.series) {
    Series o;
    o.labels = std::move(s.labels);
    o.drop_name = true;
    o.points.reserve(s.points.size());
    for (const tsdb::Sample& p : s.points) {
      std::optional<double> r = f(p, ev.StepIndex(p.t));
      if (r) o.points.push_back({p.t, *r});
    }
    if (o.points.empty()) continue;
    total += static_cast<int64_t>(o.points.size());
    out.series.push_back(std::move(o));
  }
  ev.ctx().AddSamples(total);
  return out;
}

// Prometheus' labels.FormatOpenMetricsFloat: integers get a ".0".
std::string OpenMetricsFloat(double v) {
  std::string s = FormatFloatF(v);
  if (std::isfinite(v) && s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

Value ScalarValue(std::vector<double> v) {
  Value out;
  out.type = ValueType::kScalar;
  out.scalars = std::move(v);
  return out;
}

bool NatLess(std::string_view a, std::string_view b);

std::vector<std::string_view> Chunkify(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    bool digit = s[i] >= '0' && s[i] <= '9';
    size_t j = i;
    while (j < s.size() && ((s[j] >= '0' && s[j] <= '9') == digit)) ++j;
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool ParseAtoi(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// facette/natsort's Compare: natural order of strings.
bool NatLess(std::string_view a, std::string_view b) {
  auto ca = Chunkify(a), cb = Chunkify(b);
  for (size_t i = 0; i < ca.size(); ++i) {
    if (i >= cb.size()) return false;
    int64_t ai, bi;
    bool an = ParseAtoi(ca[i], &ai), bn = ParseAtoi(cb[i], &bi);
    if (an && bn) {
      if (ai == bi) {
        if (i == ca.size() - 1) return true;
        if (i == cb.size() - 1) return false;
        continue;
      }
      return ai < bi;
    }
    if (ca[i] == cb[i]) {
      if (i == ca.size() - 1) return true;
      if (i == cb.size() - 1) return false;
      continue;
    }
    return ca[i] < cb[i];
  }
  return false;
}

Value SortFunction(Evaluator& ev, const CallExpr& c, Value v) {
  std::string_view name = c.func->name;
  if (ev.ctx().range_query) {
    ev.ctx().Warn(
        "sort is ineffective for range queries since results are always ordered by labels", c.pos);
  }
  std::vector<std::string> labels;
  for (size_t i = 1; i < c.args.size(); ++i) labels.push_back(StringArg(c, i));
  auto steps = ev.ByStep(v);
  SeriesBuilder builder(v.series.size());
  for (int i = 0; i < ev.num_steps(); ++i) {
    auto& st = steps[i];
    if (name == "sort") {
      std::stable_sort(st.begin(), st.end(), [](const auto& x, const auto& y) {
        return !std::isnan(x.second) && (std::isnan(y.second) || x.second < y.second);
      });
    } else if (name == "sort_desc") {
      std::stable_sort(st.begin(), st.end(), [](const auto& x, const auto& y) {
        return !std::isnan(x.second) && (std::isnan(y.second) || x.second > y.second);
      });
    } else {
      const bool desc = name == "sort_by_label_desc";
      std::stable_sort(st.begin(), st.end(), [&](const auto& x, const auto& y) {
        const Labels& a = v.series[x.first].labels;
        const Labels& b = v.series[y.first].labels;
        for (const std::string& l : labels) {
          std::string_view la = a.Get(l), lb = b.Get(l);
          if (la == lb) continue;
          bool less = NatLess(la, lb);
          return desc ? !less : less;
        }
        return desc ? b < a : a < b;
      });
    }
    for (const auto& [si, val] : st) {
      builder.Add(i, v.series[si].labels, v.series[si].drop_name, ev.StepTime(i), val);
    }
  }
  Value out;
  out.series = builder.Finish();
  return out;
}

Value InstantFunctionCall(Evaluator& ev, const CallExpr& c) {
  std::string name(c.func->name);
  const int n = ev.num_steps();
  std::vector<Value> args;
  args.reserve(c.args.size());
  for (const auto& a : c.args) args.push_back(ev.Eval(*a));

  if (auto it = MathFunctions().find(name); it != MathFunctions().end()) {
    MathFn f = it->second;
    return MapPoints(ev, std::move(args[0]),
                     [f](const tsdb::Sample& p, int) -> std::optional<double> { return f(p.v); });
  }
  if (auto it = DateFunctions().find(name); it != DateFunctions().end()) {
    DateFn f = it->second;
    if (args.empty()) {
      Value out;
      Series s;
      for (int i = 0; i < n; ++i) {
        int64_t ts = ev.StepTime(i);
        s.points.push_back({ts, f(ToCivil(ts / 1000))});
      }
      if (!s.points.empty()) out.series.push_back(std::move(s));
      return out;
    }
    return MapPoints(ev, std::move(args[0]), [f](const tsdb::Sample& p, int) {
      return std::optional<double>(f(ToCivil(GoInt64(p.v))));
    });
  }
  if (name == "clamp" || name == "clamp_min" || name == "clamp_max") {
    std::vector<double> lo(n, -INFINITY), hi(n, INFINITY);
    if (name == "clamp") {
      lo = args[1].scalars;
      hi = args[2].scalars;
    } else if (name == "clamp_min") {
      lo = args[1].scalars;
    } else {
      hi = args[1].scalars;
    }
    return MapPoints(ev, std::move(args[0]),
                     [&](const tsdb::Sample& p, int i) -> std::optional<double> {
                       if (hi[i] < lo[i]) return std::nullopt;
                       return std::max(lo[i], std::min(hi[i], p.v));
                     });
  }
  if (name == "round") {
    std::vector<double> to(n, 1);
    if (args.size() > 1) to = args[1].scalars;
    return MapPoints(ev, std::move(args[0]), [&](const tsdb::Sample& p, int i) {
      double inv = 1.0 / to[i];
      return std::optional<double>(std::floor(p.v * inv + 0.5) / inv);
    });
  }
  if (name == "timestamp") {
    return MapPoints(ev, std::move(args[0]), [](const tsdb::Sample& p, int) {
      return std::optional<double>(static_cast<double>(p.t) / 1000);
    });
  }
  if (name == "vector") {
    Value out;
    Series s;
    for (int i = 0; i < n; ++i) {
      if ((i & 1023) == 1023) ev.ctx().CheckDeadline();
      s.points.push_back({ev.StepTime(i), args[0].scalars[i]});
    }
    if (!s.points.empty()) out.series.push_back(std::move(s));
    return out;
  }
  if (name == "scalar") {
    std::vector<double> out(n, NAN);
    std::vector<int> count(n, 0);
    for (const Series& s : args[0].series) {
      for (const tsdb::Sample& p : s.points) {
        int i = ev.StepIndex(p.t);
        out[i] = ++count[i] == 1 ? p.v : NAN;
      }
    }
    return ScalarValue(std::move(out));
  }
  if (name == "time") {
    std::vector<double> out(n);
    for (int i = 0; i < n; ++i) out[i] = static_cast<double>(ev.StepTime(i)) / 1000;
    return ScalarValue(std::move(out));
  }
  if (name == "pi") return ScalarValue(std::vector<double>(n, M_PI));
  if (name == "start" || name == "end" || name == "range" || name == "step") {
    const QueryContext& q = ev.ctx();
    double v = 0;
    if (name == "start") v = static_cast<double>(q.query_start) / 1000;
    if (name == "end") v = static_cast<double>(q.query_end) / 1000;
    if (name == "range") v = static_cast<double>(q.query_end - q.query_start) / 1000;
    if (name == "step") v = static_cast<double>(q.query_step) / 1000;
    return ScalarValue(std::vector<double>(n, v));
  }
  if (name == "min_of" || name == "max_of") {
    std::vector<double> out(n);
    for (int i = 0; i < n; ++i) {
      double acc = args[0].scalars[i];
      for (size_t k = 1; k < args.size(); ++k) {
        double x = args[k].scalars[i];
        if (std::isnan(x) || std::isnan(acc)) {
          acc = NAN;
        } else {
          acc = name == "min_of" ? std::min(acc, x) : std::max(acc, x);
        }
      }
      out[i] = acc;
    }
    return ScalarValue(std::move(out));
  }
  if (name == "absent") {
    std::vector<bool> present(n, false);
    for (const Series& s : args[0].series) {
      for (const tsdb::Sample& p : s.points) present[ev.StepIndex(p.t)] = true;
    }
    Value out;
    Series s;
    s.labels = AbsentLabels(*c.args[0]);
    for (int i = 0; i < n; ++i) {
      if (!present[i]) s.points.push_back({ev.StepTime(i), 1});
    }
    if (!s.points.empty()) out.series.push_back(std::move(s));
    return out;
  }
  if (name == "sort" || name == "sort_desc" || name == "sort_by_label" ||
      name == "sort_by_label_desc") {
    return SortFunction(ev, c, std::move(args[0]));
  }
  if (name == "histogram_quantile" || name == "histogram_fraction" ||
      name == "histogram_quantiles") {
    const bool fraction = name == "histogram_fraction";
    const bool multi = name == "histogram_quantiles";
    const size_t vec_idx = fraction ? 2 : (multi ? 0 : 1);
    const Value& input = args[vec_idx];
    const Expr& vec_arg = *c.args[vec_idx];
    std::string qlabel = multi ? StringArg(c, 1) : std::string();
    std::vector<size_t> q_idx;
    if (multi) {
      for (size_t k = 2; k < args.size(); ++k) q_idx.push_back(k);
    } else if (!fraction) {
      q_idx.push_back(0);
    }
    auto steps = ev.ByStep(input);
    const functions::BucketIndex bucket_index = functions::IndexBuckets(input);
    SeriesBuilder builder;
    for (int i = 0; i < n; ++i) {
      for (size_t k : q_idx) {
        double q = args[k].scalars[i];
        if (std::isnan(q) || q < 0 || q > 1) {
          ev.ctx().Warn(
              absl::StrCat("quantile value should be between 0 and 1, got ", FormatFloatG(q)),
              c.args[k]->pos);
        }
      }
      if (steps[i].empty()) continue;
      auto groups = functions::GroupBuckets(ev, vec_arg, input, bucket_index, steps[i]);
      const int64_t t = ev.StepTime(i);
      if (fraction) {
        for (auto& g : groups) {
          if (g.buckets.empty()) continue;
          double v = functions::BucketFraction(args[0].scalars[i], args[1].scalars[i],
                                               std::move(g.buckets));
          builder.Add(i, *g.metric, true, t, v);
        }
        continue;
      }
      for (size_t k : q_idx) {
        double q = args[k].scalars[i];
        for (auto& g : groups) {
          if (g.buckets.empty()) continue;
          bool forced = false;
          double v = functions::BucketQuantile(q, g.buckets, &forced);
          if (forced) functions::MonotonicityInfo(ev, *g.metric, multi ? vec_arg : *c.args[1]);
          if (multi) {
            builder.Add(i, g.metric->With(qlabel, OpenMetricsFloat(q)), true, t, v);
          } else {
            builder.Add(i, *g.metric, true, t, v);
          }
        }
      }
    }
    Value out;
    out.series = builder.Finish();
    return out;
  }
  if (name == "histogram_count" || name == "histogram_sum" || name == "histogram_avg" ||
      name == "histogram_stddev" || name == "histogram_stdvar") {
    return Value();  // float samples are ignored; native histograms are not stored
  }
  ThrowExec(absl::StrCat("function \"", name, "\" is not supported"));
}

}  // namespace

Value EvalFunction(Evaluator& ev, const CallExpr& c) {
  std::string_view name = c.func->name;
  if (name == "label_replace") return LabelReplace(ev, c);
  if (name == "label_join") return LabelJoin(ev, c);
  if (name == "info") return InfoFunction(ev, c);
  if (name == "timestamp") {
    const Expr& a = Unparen(*c.args[0]);
    if (a.kind() == ExprKind::kVectorSelector) {
      return TimestampOfSelector(ev, a.As<VectorSelector>());
    }
  }
  for (size_t i = 0; i < c.args.size(); ++i) {
    if (Unparen(*c.args[i]).type() == ValueType::kMatrix) return RangeFunctionCall(ev, c, i);
  }
  return InstantFunctionCall(ev, c);
}

}  // namespace promql::eval
