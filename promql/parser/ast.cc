#include "promql/parser/ast.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "promql/parser/functions.h"
#include "promql/parser/lexer.h"
#include "tsdb/labels.h"

namespace promql {
namespace {

using parser::GoQuote;

bool IsLegacyLabelName(std::string_view s) { return tsdb::IsValidLabelName(s); }

std::string FormatLabelName(std::string_view name) {
  if (IsLegacyLabelName(name)) return std::string(name);
  return GoQuote(name);
}

std::string FormatLabelList(const std::vector<std::string>& labels) {
  std::vector<std::string> parts;
  parts.reserve(labels.size());
  for (const std::string& l : labels) parts.push_back(FormatLabelName(l));
  return absl::StrJoin(parts, ", ");
}

// Go's fmt %v for float64 (strconv 'g' with the shortest precision): shortest round-trip digits,
// exponent form when the decimal exponent is below -4 or at least 6 ("1e+06", "123456").
std::string FormatGoFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  // sci looks like "-1.2345e+06".
  std::string out;
  if (sci.front() == '-') {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  const size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exp = 0;
  std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+' ? 1 : 0), sci.data() + sci.size(), exp);
  if (exp < -4 || exp >= 6) {
    out.push_back(digits[0]);
    if (digits.size() > 1) {
      out.push_back('.');
      out.append(digits.substr(1));
    }
    absl::StrAppend(&out, absl::StrFormat("e%c%02d", exp < 0 ? '-' : '+', std::abs(exp)));
    return out;
  }
  if (exp >= 0) {
    const size_t int_len = static_cast<size_t>(exp) + 1;
    if (digits.size() <= int_len) {
      out.append(digits);
      out.append(int_len - digits.size(), '0');
    } else {
      out.append(digits.substr(0, int_len));
      out.push_back('.');
      out.append(digits.substr(int_len));
    }
  } else {
    out.append("0.");
    out.append(static_cast<size_t>(-exp - 1), '0');
    out.append(digits);
  }
  return out;
}

// Seconds to milliseconds the way the parser converts duration values.
bool SecondsToMs(double seconds, int64_t* ms) {
  if (!std::isfinite(seconds)) return false;
  const double v = std::round(seconds * 1000.0);
  // Prometheus keeps durations in nanoseconds (time.Duration); stay within that range.
  if (std::fabs(v) > 9223372036854.0) return false;
  *ms = static_cast<int64_t>(v);
  return true;
}

std::string FormatSignedDuration(int64_t ms) {
  if (ms < 0) return "-" + FormatDuration(-ms);
  return FormatDuration(ms);
}

std::string FormatMatcher(const tsdb::LabelMatcher& m) {
  std::string_view op = "=";
  switch (m.type()) {
    case tsdb::LabelMatcher::Type::kEqual:
      op = "=";
      break;
    case tsdb::LabelMatcher::Type::kNotEqual:
      op = "!=";
      break;
    case tsdb::LabelMatcher::Type::kRegexMatch:
      op = "=~";
      break;
    case tsdb::LabelMatcher::Type::kRegexNoMatch:
      op = "!~";
      break;
  }
  return absl::StrCat(FormatLabelName(m.name()), absl::string_view(op.data(), op.size()),
                      GoQuote(m.value()));
}

// Names that cannot be written bare as a metric name in front of the braces.
bool NeedsNameMatcher(std::string_view name) {
  if (!tsdb::IsValidMetricName(name)) return true;
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "on" || lower == "ignoring" || lower == "group_left" || lower == "group_right" ||
         lower == "bool" || lower == "atan2" || lower == "inf" || lower == "nan";
}

std::string AtString(const std::optional<int64_t>& ts, AtModifier at) {
  if (ts.has_value()) return absl::StrFormat(" @ %.3f", static_cast<double>(*ts) / 1000.0);
  if (at == AtModifier::kStart) return " @ start()";
  if (at == AtModifier::kEnd) return " @ end()";
  return "";
}

std::string OffsetString(int64_t original_offset_ms, const DurationExpr* expr) {
  if (expr != nullptr) return " offset " + ToString(*expr);
  if (original_offset_ms > 0) return " offset " + FormatDuration(original_offset_ms);
  if (original_offset_ms < 0) return " offset -" + FormatDuration(-original_offset_ms);
  return "";
}

std::string SelectorBody(const VectorSelector& vs) {
  std::vector<std::string> matchers;
  bool name_skipped = false;
  for (const tsdb::LabelMatcher& m : vs.matchers) {
    if (!vs.name.empty() && !name_skipped && m.name() == tsdb::kMetricNameLabel &&
        m.type() == tsdb::LabelMatcher::Type::kEqual && m.value() == vs.name) {
      name_skipped = true;
      continue;
    }
    matchers.push_back(FormatMatcher(m));
  }
  std::sort(matchers.begin(), matchers.end());
  std::string name = vs.name;
  if (!name.empty() && NeedsNameMatcher(name)) {
    if (tsdb::IsValidMetricName(name)) {
      matchers.insert(matchers.begin(), absl::StrCat("__name__=", GoQuote(name)));
    } else {
      matchers.insert(matchers.begin(), GoQuote(name));
    }
    name.clear();
  }
  if (matchers.empty()) return name.empty() ? "{}" : name;
  return absl::StrCat(name, "{", absl::StrJoin(matchers, ","), "}");
}

std::string ModifierSuffix(const VectorSelector& vs) {
  std::string out = AtString(vs.timestamp_ms, vs.at);
  out += OffsetString(vs.original_offset_ms, vs.offset_expr.get());
  if (vs.anchored) out += " anchored";
  if (vs.smoothed) out += " smoothed";
  return out;
}

std::string_view DurationOpName(DurationExpr::Op op) {
  switch (op) {
    case DurationExpr::Op::kAdd:
      return "+";
    case DurationExpr::Op::kSub:
      return "-";
    case DurationExpr::Op::kMul:
      return "*";
    case DurationExpr::Op::kDiv:
      return "/";
    case DurationExpr::Op::kMod:
      return "%";
    case DurationExpr::Op::kPow:
      return "^";
    default:
      return "?";
  }
}

std::unique_ptr<DurationExpr> CloneDur(const std::unique_ptr<DurationExpr>& d) {
  return d ? d->Clone() : nullptr;
}

std::unique_ptr<Expr> CloneExpr(const std::unique_ptr<Expr>& e) { return e ? e->Clone() : nullptr; }

}  // namespace

std::pair<int, int> PositionToLineColPair(std::string_view query, int offset) {
  if (offset < 0 || offset > static_cast<int>(query.size())) return {0, 0};
  int line = 1;
  int last_break = -1;
  for (int i = 0; i < offset; ++i) {
    if (query[static_cast<size_t>(i)] == '\n') {
      last_break = i;
      ++line;
    }
  }
  return {line, offset - last_break};
}

std::string PositionToLineCol(std::string_view query, int offset) {
  if (query.empty()) return "unknown position";
  if (offset < 0 || offset > static_cast<int>(query.size())) return "invalid position";
  auto [line, col] = PositionToLineColPair(query, offset);
  return absl::StrCat(line, ":", col);
}

std::string_view BinaryOpName(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kPow:
      return "^";
    case BinaryOp::kAtan2:
      return "atan2";
    case BinaryOp::kEql:
      return "==";
    case BinaryOp::kNeq:
      return "!=";
    case BinaryOp::kGtr:
      return ">";
    case BinaryOp::kLss:
      return "<";
    case BinaryOp::kGte:
      return ">=";
    case BinaryOp::kLte:
      return "<=";
    case BinaryOp::kAnd:
      return "and";
    case BinaryOp::kOr:
      return "or";
    case BinaryOp::kUnless:
      return "unless";
    case BinaryOp::kTrimUpper:
      return "</";
    case BinaryOp::kTrimLower:
      return ">/";
  }
  return "?";
}

bool IsComparisonOp(BinaryOp op) {
  return op == BinaryOp::kEql || op == BinaryOp::kNeq || op == BinaryOp::kGtr ||
         op == BinaryOp::kLss || op == BinaryOp::kGte || op == BinaryOp::kLte;
}

bool IsSetOp(BinaryOp op) {
  return op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kUnless;
}

std::string_view AggregateOpName(AggregateOp op) {
  switch (op) {
    case AggregateOp::kSum:
      return "sum";
    case AggregateOp::kAvg:
      return "avg";
    case AggregateOp::kCount:
      return "count";
    case AggregateOp::kMin:
      return "min";
    case AggregateOp::kMax:
      return "max";
    case AggregateOp::kGroup:
      return "group";
    case AggregateOp::kStddev:
      return "stddev";
    case AggregateOp::kStdvar:
      return "stdvar";
    case AggregateOp::kTopk:
      return "topk";
    case AggregateOp::kBottomk:
      return "bottomk";
    case AggregateOp::kCountValues:
      return "count_values";
    case AggregateOp::kQuantile:
      return "quantile";
    case AggregateOp::kLimitk:
      return "limitk";
    case AggregateOp::kLimitRatio:
      return "limit_ratio";
  }
  return "?";
}

bool AggregateOpHasParam(AggregateOp op) {
  return op == AggregateOp::kTopk || op == AggregateOp::kBottomk ||
         op == AggregateOp::kCountValues || op == AggregateOp::kQuantile ||
         op == AggregateOp::kLimitk || op == AggregateOp::kLimitRatio;
}

std::string_view MatchCardinalityName(MatchCardinality card) {
  switch (card) {
    case MatchCardinality::kOneToOne:
      return "one-to-one";
    case MatchCardinality::kManyToOne:
      return "many-to-one";
    case MatchCardinality::kOneToMany:
      return "one-to-many";
    case MatchCardinality::kManyToMany:
      return "many-to-many";
  }
  return "?";
}

// ---- DurationExpr ----

bool DurationExpr::IsConstant() const {
  if (op == Op::kStep || op == Op::kRange) return false;
  if (lhs && !lhs->IsConstant()) return false;
  if (rhs && !rhs->IsConstant()) return false;
  return true;
}

double DurationExpr::Evaluate(double step_seconds, double range_seconds) const {
  auto l = [&] { return lhs ? lhs->Evaluate(step_seconds, range_seconds) : 0.0; };
  auto r = [&] { return rhs ? rhs->Evaluate(step_seconds, range_seconds) : 0.0; };
  switch (op) {
    case Op::kNumber:
      return value_seconds;
    case Op::kAdd:
      return l() + r();
    case Op::kSub:
      return l() - r();
    case Op::kMul:
      return l() * r();
    case Op::kDiv:
      return l() / r();
    case Op::kMod:
      return std::fmod(l(), r());
    case Op::kPow:
      return std::pow(l(), r());
    case Op::kNeg:
      return -l();
    case Op::kPlus:
      return l();
    case Op::kStep:
      return step_seconds;
    case Op::kRange:
      return range_seconds;
    case Op::kMinOf:
      return std::min(l(), r());
    case Op::kMaxOf:
      return std::max(l(), r());
  }
  return 0;
}

std::unique_ptr<DurationExpr> DurationExpr::Clone() const {
  auto out = std::make_unique<DurationExpr>();
  out->op = op;
  out->value_seconds = value_seconds;
  out->is_duration_literal = is_duration_literal;
  out->lhs = CloneDur(lhs);
  out->rhs = CloneDur(rhs);
  out->wrapped = wrapped;
  out->pos = pos;
  return out;
}

// ---- Types and clones ----

ValueType BinaryExpr::type() const {
  if (lhs->type() == ValueType::kScalar && rhs->type() == ValueType::kScalar) {
    return ValueType::kScalar;
  }
  return ValueType::kVector;
}

ValueType CallExpr::type() const { return func ? func->return_type : ValueType::kVector; }

std::unique_ptr<Expr> NumberLiteral::Clone() const {
  auto out = std::make_unique<NumberLiteral>();
  out->pos = pos;
  out->value = value;
  out->is_duration = is_duration;
  return out;
}

std::unique_ptr<Expr> StringLiteral::Clone() const {
  auto out = std::make_unique<StringLiteral>();
  out->pos = pos;
  out->value = value;
  return out;
}

std::unique_ptr<Expr> VectorSelector::Clone() const {
  auto out = std::make_unique<VectorSelector>();
  out->pos = pos;
  out->name = name;
  out->matchers = matchers;
  out->original_offset_ms = original_offset_ms;
  out->offset_expr = CloneDur(offset_expr);
  out->offset_ms = offset_ms;
  out->timestamp_ms = timestamp_ms;
  out->at = at;
  out->anchored = anchored;
  out->smoothed = smoothed;
  out->bypass_empty_matcher_check = bypass_empty_matcher_check;
  return out;
}

std::unique_ptr<Expr> MatrixSelector::Clone() const {
  auto out = std::make_unique<MatrixSelector>();
  out->pos = pos;
  out->vector_selector = CloneExpr(vector_selector);
  out->range_ms = range_ms;
  out->range_expr = CloneDur(range_expr);
  return out;
}

std::unique_ptr<Expr> SubqueryExpr::Clone() const {
  auto out = std::make_unique<SubqueryExpr>();
  out->pos = pos;
  out->expr = CloneExpr(expr);
  out->range_ms = range_ms;
  out->range_expr = CloneDur(range_expr);
  out->step_ms = step_ms;
  out->step_expr = CloneDur(step_expr);
  out->original_offset_ms = original_offset_ms;
  out->offset_expr = CloneDur(offset_expr);
  out->offset_ms = offset_ms;
  out->timestamp_ms = timestamp_ms;
  out->at = at;
  return out;
}

std::unique_ptr<Expr> ParenExpr::Clone() const {
  auto out = std::make_unique<ParenExpr>();
  out->pos = pos;
  out->expr = CloneExpr(expr);
  return out;
}

std::unique_ptr<Expr> UnaryExpr::Clone() const {
  auto out = std::make_unique<UnaryExpr>();
  out->pos = pos;
  out->op = op;
  out->expr = CloneExpr(expr);
  return out;
}

std::unique_ptr<Expr> BinaryExpr::Clone() const {
  auto out = std::make_unique<BinaryExpr>();
  out->pos = pos;
  out->op = op;
  out->lhs = CloneExpr(lhs);
  out->rhs = CloneExpr(rhs);
  out->matching = matching;
  out->return_bool = return_bool;
  return out;
}

std::unique_ptr<Expr> AggregateExpr::Clone() const {
  auto out = std::make_unique<AggregateExpr>();
  out->pos = pos;
  out->op = op;
  out->expr = CloneExpr(expr);
  out->param = CloneExpr(param);
  out->grouping = grouping;
  out->without = without;
  return out;
}

std::unique_ptr<Expr> CallExpr::Clone() const {
  auto out = std::make_unique<CallExpr>();
  out->pos = pos;
  out->func = func;
  for (const auto& a : args) out->args.push_back(CloneExpr(a));
  return out;
}

std::unique_ptr<Expr> StepInvariantExpr::Clone() const {
  auto out = std::make_unique<StepInvariantExpr>();
  out->pos = pos;
  out->expr = CloneExpr(expr);
  return out;
}

// ---- Printing ----

std::string FormatDuration(int64_t ms) {
  if (ms < 0) return "-" + FormatDuration(-ms);
  if (ms == 0) return "0s";
  std::string out;
  auto unit = [&](std::string_view name, int64_t mult, bool exact) {
    if (exact && ms % mult != 0) return;
    const int64_t v = ms / mult;
    if (v > 0) {
      absl::StrAppend(&out, v, absl::string_view(name.data(), name.size()));
      ms -= v * mult;
    }
  };
  unit("y", 1000LL * 60 * 60 * 24 * 365, true);
  unit("w", 1000LL * 60 * 60 * 24 * 7, true);
  unit("d", 1000LL * 60 * 60 * 24, false);
  unit("h", 1000LL * 60 * 60, false);
  unit("m", 1000LL * 60, false);
  unit("s", 1000LL, false);
  unit("ms", 1, false);
  return out;
}

std::string ToString(const DurationExpr& d) {
  std::string s;
  switch (d.op) {
    case DurationExpr::Op::kNumber: {
      int64_t ms = 0;
      if (d.is_duration_literal && SecondsToMs(d.value_seconds, &ms) &&
          static_cast<double>(ms) == d.value_seconds * 1000.0) {
        s = FormatSignedDuration(ms);
      } else {
        s = FormatGoFloat(d.value_seconds);
      }
      break;
    }
    case DurationExpr::Op::kAdd:
    case DurationExpr::Op::kSub:
    case DurationExpr::Op::kMul:
    case DurationExpr::Op::kDiv:
    case DurationExpr::Op::kMod:
    case DurationExpr::Op::kPow: {
      const std::string_view op = DurationOpName(d.op);
      std::string lhs = d.lhs ? ToString(*d.lhs) : "";
      // "+Inf ^ x" would parse back as +(Inf ^ x).
      if (d.op == DurationExpr::Op::kPow && lhs == "+Inf") lhs = "Inf";
      s = absl::StrCat(lhs, " ", absl::string_view(op.data(), op.size()), " ",
                       d.rhs ? ToString(*d.rhs) : "");
      break;
    }
    case DurationExpr::Op::kNeg:
      s = "-" + (d.lhs ? ToString(*d.lhs) : "");
      break;
    case DurationExpr::Op::kPlus:
      s = "+" + (d.lhs ? ToString(*d.lhs) : "");
      break;
    case DurationExpr::Op::kStep:
      s = "step()";
      break;
    case DurationExpr::Op::kRange:
      s = "range()";
      break;
    case DurationExpr::Op::kMinOf:
    case DurationExpr::Op::kMaxOf:
      s = absl::StrCat(d.op == DurationExpr::Op::kMinOf ? "min_of(" : "max_of(",
                       d.lhs ? ToString(*d.lhs) : "", ", ", d.rhs ? ToString(*d.rhs) : "", ")");
      break;
  }
  if (d.wrapped) return "(" + s + ")";
  return s;
}

namespace {

// The operator of a binary expression with its modifiers: "+", "> bool", "* on (a) group_left (b)".
std::string BinaryOperatorText(const BinaryExpr& b) {
  const std::string_view op = BinaryOpName(b.op);
  std::string out(op);
  if (b.return_bool) out += " bool";
  if (b.matching.has_value()) {
    const VectorMatching& m = *b.matching;
    const bool grouped =
        m.card == MatchCardinality::kManyToOne || m.card == MatchCardinality::kOneToMany;
    if (m.on || !m.matching_labels.empty() || grouped) {
      absl::StrAppend(&out, m.on ? " on (" : " ignoring (", FormatLabelList(m.matching_labels),
                      ")");
      if (grouped) {
        absl::StrAppend(&out,
                        m.card == MatchCardinality::kManyToOne ? " group_left (" : " group_right (",
                        FormatLabelList(m.include), ")");
      }
    }
    if (m.fill_lhs.has_value() && m.fill_rhs.has_value() && m.fill_both_written) {
      absl::StrAppend(&out, " fill(", FormatGoFloat(*m.fill_lhs), ")");
    } else {
      if (m.fill_lhs.has_value()) {
        absl::StrAppend(&out, " fill_left(", FormatGoFloat(*m.fill_lhs), ")");
      }
      if (m.fill_rhs.has_value()) {
        absl::StrAppend(&out, " fill_right(", FormatGoFloat(*m.fill_rhs), ")");
      }
    }
  }
  return out;
}

// An aggregation up to its opening parenthesis: "sum", "sum by (job) ", "topk without (a) ".
std::string AggregatePrefix(const AggregateExpr& a) {
  std::string out(AggregateOpName(a.op));
  if (a.without) {
    absl::StrAppend(&out, " without (", FormatLabelList(a.grouping), ") ");
  } else if (!a.grouping.empty()) {
    absl::StrAppend(&out, " by (", FormatLabelList(a.grouping), ") ");
  }
  return out;
}

// What follows a subquery's expression: "[1h:5m] @ 100.000 offset 1m".
std::string SubquerySuffix(const SubqueryExpr& sq) {
  const std::string range = sq.range_expr ? ToString(*sq.range_expr) : FormatDuration(sq.range_ms);
  std::string step;
  if (sq.step_expr) {
    step = ToString(*sq.step_expr);
  } else if (sq.step_ms != 0) {
    step = FormatDuration(sq.step_ms);
  }
  return absl::StrCat("[", range, ":", step, "]", AtString(sq.timestamp_ms, sq.at),
                      OffsetString(sq.original_offset_ms, sq.offset_expr.get()));
}

}  // namespace

std::string ToString(const Expr& expr) {
  switch (expr.kind()) {
    case ExprKind::kNumberLiteral: {
      const auto& n = expr.As<NumberLiteral>();
      int64_t ms = 0;
      if (n.is_duration && SecondsToMs(n.value, &ms) &&
          static_cast<double>(ms) == n.value * 1000.0) {
        return FormatSignedDuration(ms);
      }
      return FormatGoFloat(n.value);
    }
    case ExprKind::kStringLiteral:
      return GoQuote(expr.As<StringLiteral>().value);
    case ExprKind::kVectorSelector: {
      const auto& vs = expr.As<VectorSelector>();
      return SelectorBody(vs) + ModifierSuffix(vs);
    }
    case ExprKind::kMatrixSelector: {
      const auto& ms = expr.As<MatrixSelector>();
      const VectorSelector& vs = ms.selector();
      const std::string range =
          ms.range_expr ? ToString(*ms.range_expr) : FormatDuration(ms.range_ms);
      return absl::StrCat(SelectorBody(vs), "[", range, "]", ModifierSuffix(vs));
    }
    case ExprKind::kSubquery: {
      const auto& sq = expr.As<SubqueryExpr>();
      return ToString(*sq.expr) + SubquerySuffix(sq);
    }
    case ExprKind::kParen:
      return "(" + ToString(*expr.As<ParenExpr>().expr) + ")";
    case ExprKind::kUnary: {
      const auto& u = expr.As<UnaryExpr>();
      return (u.op == UnaryOp::kMinus ? "-" : "+") + ToString(*u.expr);
    }
    case ExprKind::kBinary: {
      const auto& b = expr.As<BinaryExpr>();
      std::string lhs = ToString(*b.lhs);
      // "+Inf ^ x" would parse back as +(Inf ^ x).
      if (b.op == BinaryOp::kPow && lhs == "+Inf") lhs = "Inf";
      return absl::StrCat(lhs, " ", BinaryOperatorText(b), " ", ToString(*b.rhs));
    }
    case ExprKind::kAggregate: {
      const auto& a = expr.As<AggregateExpr>();
      std::string out = AggregatePrefix(a);
      out += "(";
      if (a.param) absl::StrAppend(&out, ToString(*a.param), ", ");
      absl::StrAppend(&out, ToString(*a.expr), ")");
      return out;
    }
    case ExprKind::kCall: {
      const auto& c = expr.As<CallExpr>();
      std::vector<std::string> args;
      for (const auto& a : c.args) args.push_back(ToString(*a));
      const std::string_view name = c.func ? c.func->name : std::string_view("unknown");
      return absl::StrCat(absl::string_view(name.data(), name.size()), "(",
                          absl::StrJoin(args, ", "), ")");
    }
    case ExprKind::kStepInvariant:
      return ToString(*expr.As<StepInvariantExpr>().expr);
  }
  return "";
}

// Prometheus' prettier (its Node.Pretty): an expression whose one-line form is longer than
// kMaxLineChars is split over lines, its operands indented by two spaces per level; shorter ones
// stay on one line. The quirks are Prometheus' own: the length test ignores the indent, and a
// subquery that fits is not indented.
namespace {

constexpr size_t kMaxLineChars = 100;

std::string Indent(int level) { return std::string(static_cast<size_t>(level) * 2, ' '); }

std::string PrettyAt(const Expr& expr, int level) {
  // Nodes whose layout does not depend on their own length.
  if (expr.kind() == ExprKind::kStepInvariant) {
    return PrettyAt(*expr.As<StepInvariantExpr>().expr, level);
  }
  if (expr.kind() == ExprKind::kUnary) {
    const auto& u = expr.As<UnaryExpr>();
    const std::string child = PrettyAt(*u.expr, level);
    return absl::StrCat(Indent(level), u.op == UnaryOp::kMinus ? "-" : "+",
                        absl::StripAsciiWhitespace(child));
  }
  std::string line = ToString(expr);
  const bool split = line.size() > kMaxLineChars;
  if (expr.kind() == ExprKind::kSubquery) {
    if (!split) return line;
    const auto& sq = expr.As<SubqueryExpr>();
    return PrettyAt(*sq.expr, level) + SubquerySuffix(sq);
  }
  if (!split) return Indent(level) + line;
  switch (expr.kind()) {
    case ExprKind::kParen:
      return absl::StrCat(Indent(level), "(\n", PrettyAt(*expr.As<ParenExpr>().expr, level + 1),
                          "\n", Indent(level), ")");
    case ExprKind::kBinary: {
      const auto& b = expr.As<BinaryExpr>();
      std::string lhs = PrettyAt(*b.lhs, level + 1);
      // As in ToString: "+Inf ^ x" would parse back as +(Inf ^ x).
      if (b.op == BinaryOp::kPow && lhs == Indent(level + 1) + "+Inf")
        lhs = Indent(level + 1) + "Inf";
      return absl::StrCat(lhs, "\n", Indent(level), BinaryOperatorText(b), "\n",
                          PrettyAt(*b.rhs, level + 1));
    }
    case ExprKind::kAggregate: {
      const auto& a = expr.As<AggregateExpr>();
      std::string out = absl::StrCat(Indent(level), AggregatePrefix(a), "(\n");
      if (a.param) absl::StrAppend(&out, PrettyAt(*a.param, level + 1), ",\n");
      absl::StrAppend(&out, PrettyAt(*a.expr, level + 1), "\n", Indent(level), ")");
      return out;
    }
    case ExprKind::kCall: {
      const auto& c = expr.As<CallExpr>();
      std::vector<std::string> args;
      for (const auto& a : c.args) args.push_back(PrettyAt(*a, level + 1));
      const std::string_view name = c.func ? c.func->name : std::string_view("unknown");
      return absl::StrCat(Indent(level), absl::string_view(name.data(), name.size()), "(\n",
                          absl::StrJoin(args, ",\n"), "\n", Indent(level), ")");
    }
    default:  // selectors and literals are never split
      return Indent(level) + line;
  }
}

}  // namespace

std::string Prettify(const Expr& expr) { return PrettyAt(expr, 0); }

// ---- Traversal ----

std::vector<std::unique_ptr<Expr>*> ChildSlots(Expr& e) {
  std::vector<std::unique_ptr<Expr>*> out;
  auto add = [&](std::unique_ptr<Expr>& p) {
    if (p) out.push_back(&p);
  };
  switch (e.kind()) {
    case ExprKind::kNumberLiteral:
    case ExprKind::kStringLiteral:
    case ExprKind::kVectorSelector:
      break;
    case ExprKind::kMatrixSelector:
      add(e.As<MatrixSelector>().vector_selector);
      break;
    case ExprKind::kSubquery:
      add(e.As<SubqueryExpr>().expr);
      break;
    case ExprKind::kParen:
      add(e.As<ParenExpr>().expr);
      break;
    case ExprKind::kUnary:
      add(e.As<UnaryExpr>().expr);
      break;
    case ExprKind::kBinary:
      add(e.As<BinaryExpr>().lhs);
      add(e.As<BinaryExpr>().rhs);
      break;
    case ExprKind::kAggregate:
      add(e.As<AggregateExpr>().param);
      add(e.As<AggregateExpr>().expr);
      break;
    case ExprKind::kCall:
      for (auto& a : e.As<CallExpr>().args) add(a);
      break;
    case ExprKind::kStepInvariant:
      add(e.As<StepInvariantExpr>().expr);
      break;
  }
  return out;
}

std::vector<Expr*> Children(Expr& e) {
  std::vector<Expr*> out;
  for (auto* slot : ChildSlots(e)) out.push_back(slot->get());
  return out;
}

std::vector<const Expr*> Children(const Expr& e) {
  std::vector<const Expr*> out;
  for (auto* slot : ChildSlots(const_cast<Expr&>(e))) out.push_back(slot->get());
  return out;
}

namespace {

void InspectRec(const Expr& node, std::vector<const Expr*>& path,
                const std::function<bool(const Expr&, const std::vector<const Expr*>&)>& f) {
  if (!f(node, path)) return;
  path.push_back(&node);
  for (const Expr* c : Children(node)) InspectRec(*c, path, f);
  path.pop_back();
}

void InspectMutableRec(Expr& node, std::vector<Expr*>& path,
                       const std::function<bool(Expr&, const std::vector<Expr*>&)>& f) {
  if (!f(node, path)) return;
  path.push_back(&node);
  for (auto* slot : ChildSlots(node)) {
    if (*slot) InspectMutableRec(**slot, path, f);
  }
  path.pop_back();
}

}  // namespace

void Inspect(const Expr& root,
             const std::function<bool(const Expr& node, const std::vector<const Expr*>& path)>& f) {
  std::vector<const Expr*> path;
  InspectRec(root, path, f);
}

void InspectMutable(Expr& root,
                    const std::function<bool(Expr& node, const std::vector<Expr*>& path)>& f) {
  std::vector<Expr*> path;
  InspectMutableRec(root, path, f);
}

// ---- Duration resolution ----

absl::Status ResolveDurations(Expr& root, const DurationContext& ctx, std::string_view query) {
  const double step_s = static_cast<double>(ctx.step_ms) / 1000.0;
  const double range_s = static_cast<double>(ctx.range_ms) / 1000.0;
  absl::Status status;
  auto fail = [&](const DurationExpr& d, std::string_view msg) {
    if (status.ok()) {
      status = absl::InvalidArgumentError(
          absl::StrCat(PositionToLineCol(query, d.pos.start),
                       ": parse error: ", absl::string_view(msg.data(), msg.size())));
    }
  };
  // Evaluates d into *ms; positive requires > 0.
  auto eval = [&](const DurationExpr& d, bool positive, int64_t* ms) {
    int64_t v = 0;
    if (!SecondsToMs(d.Evaluate(step_s, range_s), &v)) {
      fail(d, "duration out of range");
      return;
    }
    if (positive && v <= 0) {
      fail(d, "duration must be greater than 0");
      return;
    }
    *ms = v;
  };
  InspectMutable(root, [&](Expr& node, const std::vector<Expr*>&) {
    if (!status.ok()) return false;
    switch (node.kind()) {
      case ExprKind::kVectorSelector: {
        auto& vs = node.As<VectorSelector>();
        if (vs.offset_expr) {
          eval(*vs.offset_expr, false, &vs.original_offset_ms);
          vs.offset_ms = vs.original_offset_ms;
        }
        break;
      }
      case ExprKind::kMatrixSelector: {
        auto& m = node.As<MatrixSelector>();
        if (m.range_expr) eval(*m.range_expr, true, &m.range_ms);
        break;
      }
      case ExprKind::kSubquery: {
        auto& sq = node.As<SubqueryExpr>();
        if (sq.range_expr) eval(*sq.range_expr, true, &sq.range_ms);
        if (sq.step_expr) eval(*sq.step_expr, true, &sq.step_ms);
        if (sq.offset_expr) {
          eval(*sq.offset_expr, false, &sq.original_offset_ms);
          sq.offset_ms = sq.original_offset_ms;
        }
        break;
      }
      default:
        break;
    }
    return true;
  });
  return status;
}

}  // namespace promql
