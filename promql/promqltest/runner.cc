#include "promql/promqltest/runner.h"

#include <stdlib.h>

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "promql/parser/ast.h"
#include "promql/parser/functions.h"
#include "promql/parser/parser.h"
#include "promql/promqltest/script.h"
#include "re2/re2.h"
#include "tsdb/db.h"

namespace promql::promqltest {

namespace {

constexpr double kEpsilon = 1e-6;
constexpr double kMinNormal = 2.2250738585072014e-308;

std::string FormatFloat(double v) {
  if (IsStaleNaN(v)) return "stale";
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string FormatMs(int64_t ms) {
  if (ms % 1000 == 0) return absl::StrCat(ms / 1000, "s");
  return absl::StrCat(ms, "ms");
}

std::string Truncate(std::string s) {
  constexpr size_t kMax = 4000;
  if (s.size() > kMax) {
    s.resize(kMax);
    s += "\n    ...";
  }
  return s;
}

// --- description of values for failure messages ---

std::string DescribeSlots(const std::vector<SlotValue>& values) {
  std::vector<std::string> parts;
  for (const SlotValue& v : values) {
    switch (v.kind) {
      case SlotValue::Kind::kOmitted:
        parts.push_back("_");
        break;
      case SlotValue::Kind::kFloat:
        parts.push_back(FormatFloat(v.v));
        break;
      case SlotValue::Kind::kHistogram:
        parts.push_back("{{" + v.histogram + "}}");
        break;
    }
  }
  return absl::StrJoin(parts, " ");
}

std::string DescribeExpected(const EvalCmd& cmd) {
  if (cmd.expect_fail) {
    switch (cmd.fail.match) {
      case AnnotationExpect::Match::kAny:
        return "an error";
      case AnnotationExpect::Match::kMsg:
        return "error \"" + cmd.fail.text + "\"";
      case AnnotationExpect::Match::kRegex:
        return "error matching /" + cmd.fail.text + "/";
    }
  }
  if (cmd.expect_string) return "string \"" + *cmd.expect_string + "\"";
  if (cmd.expect_scalar) return "scalar " + FormatFloat(*cmd.expect_scalar);
  if (cmd.series.empty()) return "empty result";
  std::string out;
  for (const SeriesLine& s : cmd.series) {
    absl::StrAppend(&out, "\n    ", s.labels.ToString(), " ", DescribeSlots(s.values));
  }
  return out;
}

std::string DescribeResult(const QueryResult& r) {
  switch (r.type()) {
    case ValueType::kScalar:
      return "scalar " + FormatFloat(std::get<Scalar>(r.value).v);
    case ValueType::kString:
      return "string \"" + std::get<String>(r.value).v + "\"";
    case ValueType::kVector: {
      const Vector& v = std::get<Vector>(r.value);
      if (v.empty()) return "empty vector";
      std::string out;
      for (const VectorSample& s : v) {
        absl::StrAppend(&out, "\n    ", s.labels.ToString(), " ", FormatFloat(s.v));
      }
      return out;
    }
    case ValueType::kMatrix: {
      const Matrix& m = std::get<Matrix>(r.value);
      if (m.empty()) return "empty matrix";
      std::string out;
      for (const MatrixSeries& s : m) {
        absl::StrAppend(&out, "\n    ", s.labels.ToString(), " ");
        std::vector<std::string> pts;
        for (const tsdb::Sample& p : s.samples) {
          pts.push_back(absl::StrCat(FormatFloat(p.v), "@", FormatMs(p.t)));
        }
        absl::StrAppend(&out, absl::StrJoin(pts, " "));
      }
      return out;
    }
  }
  return "?";
}

// --- comparison ---

// Checks a vector/matrix/scalar/string result against the expectation lines. Returns "" when it
// matches, else what differs. For matrices, point i of an expected line is at start + i*step.
std::string CompareResult(const EvalCmd& cmd, const QueryResult& r, int64_t start, int64_t step,
                          bool check_sorted) {
  if (cmd.expect_string) {
    if (r.type() != ValueType::kString) return "expected a string result";
    if (std::get<String>(r.value).v != *cmd.expect_string) return "string differs";
    return "";
  }
  if (cmd.expect_scalar) {
    if (r.type() != ValueType::kScalar) return "expected a scalar result";
    double got = std::get<Scalar>(r.value).v;
    if (!AlmostEqual(*cmd.expect_scalar, got)) {
      return absl::StrCat("expected scalar ", FormatFloat(*cmd.expect_scalar), ", got ",
                          FormatFloat(got));
    }
    return "";
  }
  std::map<tsdb::Labels, size_t> expected;  // labels -> index in cmd.series
  for (size_t i = 0; i < cmd.series.size(); ++i) expected[cmd.series[i].labels] = i;
  switch (r.type()) {
    case ValueType::kScalar:
      return "expected a vector or matrix, got a scalar";
    case ValueType::kString:
      return "expected a vector or matrix, got a string";
    case ValueType::kVector: {
      if (cmd.range_vector) return "expected a range vector, got an instant vector";
      const Vector& v = std::get<Vector>(r.value);
      std::set<tsdb::Labels> seen;
      for (size_t k = 0; k < v.size(); ++k) {
        const VectorSample& s = v[k];
        auto it = expected.find(s.labels);
        if (it == expected.end()) return absl::StrCat("unexpected series ", s.labels.ToString());
        if (!seen.insert(s.labels).second) {
          return absl::StrCat("series ", s.labels.ToString(), " returned twice");
        }
        const SeriesLine& e = cmd.series[it->second];
        if (cmd.ordered && it->second != k) {
          return absl::StrCat("series ", s.labels.ToString(), " at position ", k + 1,
                              ", expected at ", it->second + 1);
        }
        if (e.values.size() != 1 || e.values[0].kind != SlotValue::Kind::kFloat) {
          return absl::StrCat("series ", s.labels.ToString(),
                              ": expected a histogram or no value, got a float");
        }
        if (!AlmostEqual(e.values[0].v, s.v)) {
          return absl::StrCat("series ", s.labels.ToString(), ": expected ",
                              FormatFloat(e.values[0].v), ", got ", FormatFloat(s.v));
        }
      }
      if (seen.size() != expected.size()) {
        for (const SeriesLine& e : cmd.series) {
          if (!seen.count(e.labels)) return absl::StrCat("missing series ", e.labels.ToString());
        }
      }
      return "";
    }
    case ValueType::kMatrix: {
      const Matrix& m = std::get<Matrix>(r.value);
      if (check_sorted) {
        for (size_t k = 1; k < m.size(); ++k) {
          if (!(m[k - 1].labels < m[k].labels)) {
            return absl::StrCat("matrix not sorted: ", m[k - 1].labels.ToString(), " before ",
                                m[k].labels.ToString());
          }
        }
      }
      std::set<tsdb::Labels> seen;
      for (const MatrixSeries& s : m) {
        auto it = expected.find(s.labels);
        if (it == expected.end()) return absl::StrCat("unexpected series ", s.labels.ToString());
        if (!seen.insert(s.labels).second) {
          return absl::StrCat("series ", s.labels.ToString(), " returned twice");
        }
        const SeriesLine& e = cmd.series[it->second];
        std::vector<tsdb::Sample> want;
        for (size_t i = 0; i < e.values.size(); ++i) {
          const SlotValue& sv = e.values[i];
          if (sv.kind == SlotValue::Kind::kHistogram) {
            return absl::StrCat("series ", s.labels.ToString(), ": expected histogram points");
          }
          if (sv.kind == SlotValue::Kind::kFloat) {
            want.push_back({start + static_cast<int64_t>(i) * step, sv.v});
          }
        }
        if (want.size() != s.samples.size()) {
          return absl::StrCat("series ", s.labels.ToString(), ": expected ", want.size(),
                              " points, got ", s.samples.size());
        }
        for (size_t i = 0; i < want.size(); ++i) {
          if (want[i].t != s.samples[i].t) {
            return absl::StrCat("series ", s.labels.ToString(), ": expected a point at ",
                                FormatMs(want[i].t), ", got one at ", FormatMs(s.samples[i].t));
          }
          if (!AlmostEqual(want[i].v, s.samples[i].v)) {
            return absl::StrCat("series ", s.labels.ToString(), " at ", FormatMs(want[i].t),
                                ": expected ", FormatFloat(want[i].v), ", got ",
                                FormatFloat(s.samples[i].v));
          }
        }
      }
      if (seen.size() != expected.size()) {
        for (const SeriesLine& e : cmd.series) {
          if (!seen.count(e.labels)) return absl::StrCat("missing series ", e.labels.ToString());
        }
      }
      return "";
    }
  }
  return "unknown result type";
}

bool MatchText(const AnnotationExpect& e, const std::string& text) {
  switch (e.match) {
    case AnnotationExpect::Match::kAny:
      return true;
    case AnnotationExpect::Match::kMsg:
      return text == e.text;
    case AnnotationExpect::Match::kRegex:
      return RE2::PartialMatch(text, RE2(e.text));
  }
  return false;
}

std::string CheckAnnotationKind(const std::string& kind, bool checked, bool expect_none,
                                const std::vector<AnnotationExpect>& want,
                                const std::vector<std::string>& got) {
  if (!checked) return "";
  if (expect_none) {
    if (!got.empty()) {
      return absl::StrCat("unexpected ", kind, " annotations: ", absl::StrJoin(got, "; "));
    }
    return "";
  }
  if (got.empty()) return absl::StrCat("expected ", kind, " annotations, got none");
  for (const AnnotationExpect& e : want) {
    bool any = false;
    for (const std::string& g : got) any = any || MatchText(e, g);
    if (!any) {
      return absl::StrCat("no ", kind, " annotation matches \"", e.text,
                          "\"; got: ", absl::StrJoin(got, "; "));
    }
  }
  for (const std::string& g : got) {
    bool any = false;
    for (const AnnotationExpect& e : want) any = any || MatchText(e, g);
    if (!any) return absl::StrCat("unexpected ", kind, " annotation: ", g);
  }
  return "";
}

std::string CheckAnnotations(const EvalCmd& cmd, const Annotations& a) {
  std::string w =
      CheckAnnotationKind("warning", cmd.warn_checked, cmd.expect_no_warn, cmd.warns, a.warnings);
  if (!w.empty()) return w;
  return CheckAnnotationKind("info", cmd.info_checked, cmd.expect_no_info, cmd.infos, a.infos);
}

// Handles the error/no-error part. Returns "" to continue comparing, "ok" when done and passed,
// or a failure text.
std::string CheckError(const EvalCmd& cmd, const absl::StatusOr<QueryResult>& r) {
  if (!r.ok()) {
    std::string msg(r.status().message());
    if (!cmd.expect_fail) return "unexpected error: " + msg;
    if (!MatchText(cmd.fail, msg)) return "error \"" + msg + "\" does not match";
    return "ok";
  }
  if (cmd.expect_fail) return "expected an error, the query succeeded";
  return "";
}

struct Outcome {
  bool ok = true;
  std::string got;
  std::string why;
};

Outcome Fail(std::string why, const absl::StatusOr<QueryResult>& r) {
  Outcome o;
  o.ok = false;
  o.why = std::move(why);
  o.got = r.ok() ? DescribeResult(*r) : "error: " + std::string(r.status().message());
  return o;
}

// --- the per-file run ---

class FileRunner {
 public:
  FileRunner(std::string file, const RunOptions& options, RunStats* stats)
      : file_(std::move(file)), options_(options), stats_(stats) {}
  ~FileRunner() { CloseDB(); }

  absl::Status Run(const Script& script) {
    if (absl::Status st = OpenDB(); !st.ok()) return st;
    for (const Command& c : script.commands) {
      switch (c.kind) {
        case Command::Kind::kClear:
          CloseDB();
          if (absl::Status st = OpenDB(); !st.ok()) return st;
          break;
        case Command::Kind::kLoad:
          if (absl::Status st = Load(c.load); !st.ok()) return st;
          break;
        case Command::Kind::kEval:
          if (options_.selection != nullptr &&
              !options_.selection->count(absl::StrCat(file_, ":", c.eval.line))) {
            break;
          }
          Eval(c.eval);
          break;
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status OpenDB() {
    std::string base = options_.temp_dir;
    if (base.empty()) {
      const char* t = std::getenv("TMPDIR");
      base = t != nullptr && *t != '\0' ? t : "/tmp";
    }
    std::string tmpl = base + "/promql-test-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return absl::InternalError("cannot create a temporary directory under " + base);
    }
    dir_ = tmpl;
    tsdb::DBOptions o;
    o.disable_wal = true;
    o.retention_ms = std::numeric_limits<int64_t>::max() / 4;
    auto db = tsdb::DB::Open(dir_, o);
    if (!db.ok()) return db.status();
    db_ = std::move(*db);
    tsdb::DB* raw = db_.get();
    engine_ = std::make_unique<Engine>(
        [raw](int64_t mint, int64_t maxt) { return raw->NewQuerier(mint, maxt); }, options_.engine);
    return absl::OkStatus();
  }

  void CloseDB() {
    engine_.reset();
    if (db_) {
      (void)db_->Close();
      db_.reset();
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

  absl::Status Load(const LoadCmd& load) {
    auto app = db_->NewAppender();
    for (const SeriesLine& s : load.series) {
      tsdb::SeriesRef ref = 0;
      for (size_t i = 0; i < s.values.size(); ++i) {
        if (s.values[i].kind != SlotValue::Kind::kFloat) continue;
        int64_t t = static_cast<int64_t>(i) * load.step_ms;
        auto r = app->Append(ref, s.labels, t, s.values[i].v);
        if (!r.ok()) {
          return absl::InvalidArgumentError(absl::StrCat(
              file_, ":", s.line, ": load failed: ", std::string(r.status().message())));
        }
        ref = *r;
      }
    }
    if (absl::Status st = app->Commit(); !st.ok()) {
      return absl::InternalError(
          absl::StrCat(file_, ":", load.line, ": load failed: ", std::string(st.message())));
    }
    return absl::OkStatus();
  }

  void Record(const EvalCmd& cmd, const Outcome& o, const std::string& context) {
    if (o.ok) return;
    EvalFailure f;
    f.file = file_;
    f.line = cmd.line;
    f.expr = context.empty() ? cmd.expr : absl::StrCat(cmd.expr, "  [", context, "]");
    f.expected = Truncate(DescribeExpected(cmd));
    f.got = Truncate(o.got + (o.why.empty() ? "" : "\n    (" + o.why + ")"));
    stats_->failures.push_back(std::move(f));
  }

  void Eval(const EvalCmd& cmd) {
    size_t before = stats_->failures.size();
    bool ok = cmd.range ? EvalRange(cmd) : EvalInstant(cmd);
    const bool known = options_.known_failures != nullptr &&
                       options_.known_failures->count(absl::StrCat(file_, ":", cmd.line)) > 0;
    if (known) {
      if (ok) {
        ++stats_->failed;
        EvalFailure f;
        f.file = file_;
        f.line = cmd.line;
        f.expr = cmd.expr;
        f.expected = "a failure (listed as a known failure)";
        f.got = "a pass: remove it from the known failures";
        stats_->failures.push_back(std::move(f));
      } else {
        ++stats_->known_failed;
        for (size_t i = before; i < stats_->failures.size(); ++i) {
          stats_->known.push_back(std::move(stats_->failures[i]));
        }
        stats_->failures.resize(before);
      }
      return;
    }
    if (ok) {
      ++stats_->passed;
    } else {
      ++stats_->failed;
    }
  }

  bool EvalRange(const EvalCmd& cmd) {
    auto r = engine_->RangeQuery(cmd.expr, cmd.start_ms, cmd.end_ms, cmd.step_ms);
    Outcome o = Check(cmd, r, cmd.start_ms, cmd.step_ms, true);
    Record(cmd, o, "");
    return o.ok;
  }

  Outcome Check(const EvalCmd& cmd, const absl::StatusOr<QueryResult>& r, int64_t start,
                int64_t step, bool check_annotations) {
    std::string e = CheckError(cmd, r);
    if (e == "ok") return {};
    if (!e.empty()) return Fail(e, r);
    if (check_annotations) {
      std::string a = CheckAnnotations(cmd, r->annotations);
      if (!a.empty()) return Fail(a, r);
    }
    std::string c = CompareResult(cmd, *r, start, step, /*check_sorted=*/cmd.range);
    if (!c.empty()) return Fail(c, r);
    return {};
  }

  // The main instant query, or one @ variant: query text `expr` at t.
  bool RunInstantOne(const EvalCmd& cmd, const std::string& expr, int64_t t, bool range_check,
                     const std::string& context) {
    auto r = engine_->InstantQuery(expr, t);
    int64_t start = cmd.range_vector ? cmd.rv_start_ms : t;
    int64_t step = cmd.range_vector ? cmd.rv_step_ms : 0;
    Outcome o = Check(cmd, r, start, step, true);
    if (!o.ok) {
      Record(cmd, o, context);
      return false;
    }
    if (!r.ok() || !range_check) return true;
    // Range-mode cross-check.
    auto rr = engine_->RangeQuery(expr, t - 60000, t + 60000, 60000);
    if (!rr.ok()) {
      Record(cmd, Fail("range-mode query failed", rr), absl::StrCat(context, " range mode"));
      return false;
    }
    if (rr->type() != ValueType::kMatrix) {
      Record(cmd, Fail("range-mode query did not return a matrix", rr),
             absl::StrCat(context, " range mode"));
      return false;
    }
    const Matrix& m = std::get<Matrix>(rr->value);
    for (size_t k = 1; k < m.size(); ++k) {
      if (!(m[k - 1].labels < m[k].labels)) {
        Record(cmd, Fail("range-mode matrix not sorted", rr), absl::StrCat(context, " range mode"));
        return false;
      }
    }
    QueryResult at_t;
    if (r->type() == ValueType::kScalar) {
      double v = NAN;
      bool found = false;
      for (const MatrixSeries& s : m) {
        for (const tsdb::Sample& p : s.samples) {
          if (p.t == t && !found) {
            v = p.v;
            found = true;
          }
        }
      }
      at_t.value = Scalar{t, v};
    } else {
      Vector vec;
      for (const MatrixSeries& s : m) {
        for (const tsdb::Sample& p : s.samples) {
          if (p.t == t) {
            vec.push_back({s.labels, p.t, p.v});
            break;
          }
        }
      }
      at_t.value = std::move(vec);
    }
    std::string c = CompareResult(cmd, at_t, t, 0, false);
    if (!c.empty()) {
      Outcome o2;
      o2.ok = false;
      o2.why = c;
      o2.got = DescribeResult(at_t);
      Record(cmd, o2, absl::StrCat(context, " range mode"));
      return false;
    }
    return true;
  }

  bool EvalInstant(const EvalCmd& cmd) {
    int64_t t = cmd.range_vector ? cmd.rv_end_ms : cmd.start_ms;
    static const RE2 kRangeUnsafe(R"(\b(start|end|range|step)\s*\(\s*\))");
    bool range_check = options_.range_check && !cmd.expect_fail && !cmd.expect_string &&
                       !cmd.range_vector && !cmd.ordered &&
                       !RE2::PartialMatch(cmd.expr, kRangeUnsafe);
    if (!RunInstantOne(cmd, cmd.expr, t, range_check, "")) return false;
    if (!options_.at_variants) return true;
    // @ variants.
    auto parsed = ParseExpr(cmd.expr);
    if (!parsed.ok()) {
      Outcome o;
      o.ok = false;
      o.got = "parse error: " + std::string(parsed.status().message());
      Record(cmd, o, "@ variants");
      return false;
    }
    Expr& root = **parsed;
    bool unsafe = false;
    InspectMutable(root, [&](Expr& node, const std::vector<Expr*>& path) {
      for (const Expr* p : path) {
        if (p->kind() == ExprKind::kSubquery && p->As<SubqueryExpr>().timestamp_ms.has_value()) {
          return true;
        }
      }
      switch (node.kind()) {
        case ExprKind::kVectorSelector: {
          auto& vs = node.As<VectorSelector>();
          if (!vs.timestamp_ms) {
            vs.timestamp_ms = t;
            vs.at = AtModifier::kNone;
          }
          break;
        }
        case ExprKind::kSubquery: {
          auto& sq = node.As<SubqueryExpr>();
          if (!sq.timestamp_ms) {
            sq.timestamp_ms = t;
            sq.at = AtModifier::kNone;
          }
          break;
        }
        case ExprKind::kCall: {
          static const std::set<std::string_view> kUnsafe = {
              "time",          "timestamp",    "predict_linear",
              "days_in_month", "day_of_month", "day_of_week",
              "day_of_year",   "hour",         "minute",
              "month",         "year",         "start",
              "end",           "range",        "step"};
          const auto& call = node.As<CallExpr>();
          if (call.func != nullptr && kUnsafe.count(call.func->name)) unsafe = true;
          break;
        }
        default:
          break;
      }
      return true;
    });
    if (unsafe) return true;
    std::string text = ToString(root);
    std::vector<int64_t> times = {-10 * t, 0, t / 5, t, 10 * t};
    if (t == 0) times = {-1000, 0, 1000};
    for (int64_t at : times) {
      if (!RunInstantOne(cmd, text, at, range_check,
                         absl::StrCat("@ variant \"", text, "\" at ", FormatMs(at)))) {
        return false;
      }
    }
    return true;
  }

  std::string file_;
  const RunOptions& options_;
  RunStats* stats_;
  std::string dir_;
  std::unique_ptr<tsdb::DB> db_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace

bool AlmostEqual(double e, double a) {
  if (IsStaleNaN(e) || IsStaleNaN(a)) return IsStaleNaN(e) && IsStaleNaN(a);
  if (std::isnan(e) && std::isnan(a)) return true;
  if (e == a) return true;
  double diff = std::fabs(e - a);
  double sum = std::fabs(e) + std::fabs(a);
  if (e == 0 || a == 0 || sum < kMinNormal) return diff < kEpsilon * kMinNormal;
  return diff / std::min(sum, DBL_MAX) < kEpsilon;
}

absl::Status RunScript(std::string_view file, std::string_view text, const RunOptions& options,
                       RunStats* stats) {
  auto script = ParseScript(text);
  if (!script.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(file), ": ", std::string(script.status().message())));
  }
  FileRunner runner(std::string(file), options, stats);
  return runner.Run(*script);
}

absl::Status RunScriptFile(const std::string& path, const RunOptions& options, RunStats* stats) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string base = std::filesystem::path(path).filename().string();
  return RunScript(base, ss.str(), options, stats);
}

absl::StatusOr<std::set<std::string>> ReadSelection(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read " + path);
  std::set<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    size_t a = line.find_first_not_of(" \t\r");
    if (a == std::string::npos || line[a] == '#') continue;
    size_t b = line.find_first_of(" \t\r", a);
    out.insert(line.substr(a, b == std::string::npos ? std::string::npos : b - a));
  }
  return out;
}

}  // namespace promql::promqltest
