// The PromQL abstract syntax tree, as produced by ParseExpr() (promql/parser/parser.h).
//
// Shape: plain structs. Every node derives from Expr, carries its ExprKind and the byte range of
// its text in the query, and owns its children through std::unique_ptr. Dispatch on kind() and
// downcast with As<T>() (or static_cast), e.g.
//
//   switch (e.kind()) {
//     case ExprKind::kBinary: { const auto& b = e.As<BinaryExpr>(); ... }
//   }
//
// The tree follows Prometheus' parser (promql/parser/ast.go) closely so that its semantics carry
// over one to one:
//   - offset and @ live on the VectorSelector (also inside a MatrixSelector) and on SubqueryExpr;
//   - a MatrixSelector always wraps a VectorSelector;
//   - `-<number literal>` is folded into the literal; other unary minus/plus become UnaryExpr;
//   - parentheses are kept as ParenExpr (the printer reproduces them);
//   - a BinaryExpr between two instant vectors always has `matching` set (set operators get
//     many-to-many cardinality); between a vector and a scalar it has no matching.
// The parser has type-checked the tree: argument types of calls and aggregations, operand types
// of binary operators, and so on, hold as Prometheus' parser guarantees them.
//
// Durations: time fields are int64 milliseconds. Where the query wrote a range, step or offset as
// an arithmetic expression (`[5m+1m]`, `offset -(2*1m)`, `[step()]`), the node keeps that
// expression (DurationExpr) for printing; when it is constant the parser also stores its value in
// the *_ms field. When it depends on the query (step(), range(), ...) the *_ms field is 0 until
// ResolveDurations() fills it in; the engine calls that before evaluating.
#ifndef METRICS_ADAPTER_PROMQL_PARSER_AST_H_
#define METRICS_ADAPTER_PROMQL_PARSER_AST_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "promql/value.h"
#include "tsdb/matcher.h"

namespace promql {

struct FunctionInfo;  // promql/parser/functions.h

// A byte range [start, end) in the query text, zero-based.
struct PositionRange {
  int start = 0;
  int end = 0;
};

// Converts a byte offset into Prometheus' "line:col" form: line is 1-based; col is 1-based on
// the first line and counts from the preceding '\n' on later lines (as Prometheus does).
// Offsets outside [0, size] give "invalid position"; an empty query gives "unknown position".
std::string PositionToLineCol(std::string_view query, int offset);
// The same as numbers; returns {0, 0} for offsets outside the query.
std::pair<int, int> PositionToLineColPair(std::string_view query, int offset);

enum class ExprKind {
  kNumberLiteral,
  kStringLiteral,
  kVectorSelector,
  kMatrixSelector,
  kSubquery,
  kParen,
  kUnary,
  kBinary,
  kAggregate,
  kCall,
  // Never produced by the parser: the engine may wrap sub-trees whose value does not depend on
  // the evaluation time. The printer prints the wrapped expression.
  kStepInvariant,
};

enum class BinaryOp {
  kAdd,        // +
  kSub,        // -
  kMul,        // *
  kDiv,        // /
  kMod,        // %
  kPow,        // ^
  kAtan2,      // atan2
  kEql,        // ==
  kNeq,        // !=
  kGtr,        // >
  kLss,        // <
  kGte,        // >=
  kLte,        // <=
  kAnd,        // and
  kOr,         // or
  kUnless,     // unless
  kTrimUpper,  // </  (native-histogram trim; parsed, float engines may reject it)
  kTrimLower,  // >/
};
std::string_view BinaryOpName(BinaryOp op);  // "+", "==", "and", ...
bool IsComparisonOp(BinaryOp op);            // == != > < >= <=
bool IsSetOp(BinaryOp op);                   // and or unless

enum class UnaryOp { kMinus, kPlus };

enum class AggregateOp {
  kSum,
  kAvg,
  kCount,
  kMin,
  kMax,
  kGroup,
  kStddev,
  kStdvar,
  kTopk,         // param: scalar k
  kBottomk,      // param: scalar k
  kCountValues,  // param: string label name
  kQuantile,     // param: scalar phi
  kLimitk,       // param: scalar k (experimental)
  kLimitRatio,   // param: scalar ratio (experimental)
};
std::string_view AggregateOpName(AggregateOp op);  // lower case: "sum", "count_values", ...
// Whether the aggregation takes a parameter before the vector argument.
bool AggregateOpHasParam(AggregateOp op);

// `@ start()` / `@ end()`.
enum class AtModifier { kNone, kStart, kEnd };

// An arithmetic expression over durations, as allowed in `[...]`, `offset` and subquery steps
// (Prometheus' DurationExpr). Leaves are numbers (seconds) or duration literals.
struct DurationExpr {
  enum class Op {
    kNumber,  // leaf: value_seconds (is_duration_literal says it was written as e.g. `5m`)
    kAdd,     // lhs + rhs
    kSub,     // lhs - rhs
    kMul,
    kDiv,
    kMod,
    kPow,
    kNeg,    // -lhs
    kPlus,   // +lhs
    kStep,   // step(): the query step (0 for instant queries)
    kRange,  // range(): end - start of the query (0 for instant queries)
    kMinOf,  // min_of(lhs, rhs)
    kMaxOf,  // max_of(lhs, rhs)
  };
  Op op = Op::kNumber;
  double value_seconds = 0;  // kNumber only
  bool is_duration_literal = false;
  std::unique_ptr<DurationExpr> lhs;
  std::unique_ptr<DurationExpr> rhs;
  bool wrapped = false;  // written in parentheses
  PositionRange pos;

  // True when no leaf is step()/range(), so Evaluate() needs no query context.
  bool IsConstant() const;
  // Value in seconds. step_seconds/range_seconds feed step() and range().
  double Evaluate(double step_seconds, double range_seconds) const;
  std::unique_ptr<DurationExpr> Clone() const;
};

class Expr {
 public:
  virtual ~Expr() = default;
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;

  ExprKind kind() const { return kind_; }
  // The type the expression evaluates to (checked by the parser).
  virtual ValueType type() const = 0;
  // Deep copy.
  virtual std::unique_ptr<Expr> Clone() const = 0;

  template <typename T>
  T& As() {
    return static_cast<T&>(*this);
  }
  template <typename T>
  const T& As() const {
    return static_cast<const T&>(*this);
  }
  template <typename T>
  bool Is() const {
    return kind_ == T::kKind;
  }

  // Byte range of the node in the query. For a BinaryExpr it spans both operands; for a
  // MatrixSelector from the selector to the closing ']'; for a subquery to the end of its last
  // modifier; for calls and aggregations the whole call.
  PositionRange pos;

 protected:
  explicit Expr(ExprKind kind) : kind_(kind) {}

 private:
  ExprKind kind_;
};

using ExprPtr = std::unique_ptr<Expr>;

struct NumberLiteral final : Expr {
  static constexpr ExprKind kKind = ExprKind::kNumberLiteral;
  NumberLiteral() : Expr(kKind) {}
  ValueType type() const override { return ValueType::kScalar; }
  std::unique_ptr<Expr> Clone() const override;

  double value = 0;
  bool is_duration = false;  // written as a duration (`5m`): value is in seconds; printed so
};

struct StringLiteral final : Expr {
  static constexpr ExprKind kKind = ExprKind::kStringLiteral;
  StringLiteral() : Expr(kKind) {}
  ValueType type() const override { return ValueType::kString; }
  std::unique_ptr<Expr> Clone() const override;

  std::string value;  // unescaped
};

struct VectorSelector final : Expr {
  static constexpr ExprKind kKind = ExprKind::kVectorSelector;
  VectorSelector() : Expr(kKind) {}
  ValueType type() const override { return ValueType::kVector; }
  std::unique_ptr<Expr> Clone() const override;

  // The metric name as written before the braces or as a lone quoted string inside them; empty
  // when the name was given only through a __name__ matcher (or not at all).
  std::string name;
  // All matchers, in query order, including `__name__="<name>"` for a written name (appended
  // last, as Prometheus does). Regexes are already compiled (and validated).
  std::vector<tsdb::LabelMatcher> matchers;

  // `offset`, as written (negative allowed). offset_expr is set when it was an expression.
  int64_t original_offset_ms = 0;
  std::unique_ptr<DurationExpr> offset_expr;
  // The offset to apply during evaluation. The parser sets it to original_offset_ms; the engine
  // may rewrite it (Prometheus folds @ and subquery offsets into it).
  int64_t offset_ms = 0;
  // `@ <timestamp>` in milliseconds (seconds in the query, rounded to ms), or @ start()/end().
  std::optional<int64_t> timestamp_ms;
  AtModifier at = AtModifier::kNone;

  // `anchored` / `smoothed` modifiers (Prometheus 3.7 extended range selectors). On a
  // MatrixSelector they are recorded on its inner VectorSelector.
  bool anchored = false;
  bool smoothed = false;

  // Set by the parser for the second argument of info(): the selector need not contain a
  // matcher that rejects the empty string.
  bool bypass_empty_matcher_check = false;
};

struct MatrixSelector final : Expr {
  static constexpr ExprKind kKind = ExprKind::kMatrixSelector;
  MatrixSelector() : Expr(kKind) {}
  ValueType type() const override { return ValueType::kMatrix; }
  std::unique_ptr<Expr> Clone() const override;

  VectorSelector& selector() { return vector_selector->As<VectorSelector>(); }
  const VectorSelector& selector() const { return vector_selector->As<VectorSelector>(); }

  std::unique_ptr<Expr> vector_selector;  // always a VectorSelector (holds offset, @, anchored)
  int64_t range_ms = 0;
  std::unique_ptr<DurationExpr> range_expr;  // set when the range was written as an expression
};

struct SubqueryExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kSubquery;
  SubqueryExpr() : Expr(kKind) {}
  ValueType type() const override { return ValueType::kMatrix; }
  std::unique_ptr<Expr> Clone() const override;

  std::unique_ptr<Expr> expr;
  int64_t range_ms = 0;
  std::unique_ptr<DurationExpr> range_expr;
  // 0 when omitted (`[1h:]`): the engine uses its default evaluation interval.
  int64_t step_ms = 0;
  std::unique_ptr<DurationExpr> step_expr;

  int64_t original_offset_ms = 0;
  std::unique_ptr<DurationExpr> offset_expr;
  int64_t offset_ms = 0;  // as in VectorSelector
  std::optional<int64_t> timestamp_ms;
  AtModifier at = AtModifier::kNone;
};

struct ParenExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kParen;
  ParenExpr() : Expr(kKind) {}
  ValueType type() const override { return expr->type(); }
  std::unique_ptr<Expr> Clone() const override;

  std::unique_ptr<Expr> expr;
};

struct UnaryExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kUnary;
  UnaryExpr() : Expr(kKind) {}
  ValueType type() const override { return expr->type(); }
  std::unique_ptr<Expr> Clone() const override;

  UnaryOp op = UnaryOp::kMinus;
  std::unique_ptr<Expr> expr;  // scalar or instant vector
};

enum class MatchCardinality { kOneToOne, kManyToOne, kOneToMany, kManyToMany };
std::string_view MatchCardinalityName(MatchCardinality card);  // "one-to-one", ...

// How the two vectors of a binary operation are matched (Prometheus' VectorMatching).
struct VectorMatching {
  MatchCardinality card = MatchCardinality::kOneToOne;
  // The labels of on(...) (on == true) or ignoring(...) (on == false).
  std::vector<std::string> matching_labels;
  bool on = false;
  // The extra labels of group_left(...)/group_right(...), taken from the "one" side.
  std::vector<std::string> include;
  // fill()/fill_left()/fill_right() modifiers (Prometheus 3.10): the value used for a missing
  // left (fill_lhs) or right (fill_rhs) operand; fill(v) sets both.
  std::optional<double> fill_lhs;
  std::optional<double> fill_rhs;
  // Which modifiers were written, for printing: fill(v) vs. fill_left(v) fill_right(v).
  bool fill_both_written = false;
  // Whether on()/ignoring() was written at all (`ignoring()` prints, a bare op does not).
  bool matching_written = false;
};

struct BinaryExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kBinary;
  BinaryExpr() : Expr(kKind) {}
  // Scalar when both sides are scalars, otherwise vector.
  ValueType type() const override;
  std::unique_ptr<Expr> Clone() const override;

  BinaryOp op = BinaryOp::kAdd;
  std::unique_ptr<Expr> lhs;
  std::unique_ptr<Expr> rhs;
  // Set iff both operands are instant vectors.
  std::optional<VectorMatching> matching;
  // `bool` modifier of a comparison: return 0/1 instead of filtering.
  bool return_bool = false;
};

struct AggregateExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kAggregate;
  AggregateExpr() : Expr(kKind) {}
  ValueType type() const override { return ValueType::kVector; }
  std::unique_ptr<Expr> Clone() const override;

  AggregateOp op = AggregateOp::kSum;
  std::unique_ptr<Expr> expr;         // the instant vector aggregated over
  std::unique_ptr<Expr> param;        // topk/bottomk/quantile/limitk/limit_ratio: scalar;
                                      // count_values: string; null otherwise
  std::vector<std::string> grouping;  // labels of by(...)/without(...), as written
  bool without = false;
};

struct CallExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kCall;
  CallExpr() : Expr(kKind) {}
  ValueType type() const override;
  std::unique_ptr<Expr> Clone() const override;

  const FunctionInfo* func = nullptr;  // never null after parsing; points into the static table
  std::vector<std::unique_ptr<Expr>> args;
};

struct StepInvariantExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kStepInvariant;
  StepInvariantExpr() : Expr(kKind) {}
  ValueType type() const override { return expr->type(); }
  std::unique_ptr<Expr> Clone() const override;

  std::unique_ptr<Expr> expr;
};

// Prints the expression as PromQL in Prometheus' canonical form (its Expr.String()): e.g.
// `sum by (job) (rate(http_requests_total{code=~"5.."}[5m] offset 1m))`, `a + on (x) group_left ()
// b`. The text parses back to an equal tree (positions aside).
std::string ToString(const Expr& expr);
std::string ToString(const DurationExpr& expr);
// The expression formatted over several lines as Prometheus' /api/v1/format_query does: one line
// while its text fits 100 characters, otherwise operands and arguments on lines of their own,
// indented two spaces per level.
std::string Prettify(const Expr& expr);
// Prometheus' duration text: "1h30m", "500ms", "0s"; negative values get a leading '-'.
std::string FormatDuration(int64_t ms);

// The direct children of e, in query order (args of calls; param before expr of aggregations;
// the selector of a matrix selector...). Pointers stay valid while the tree is unchanged.
std::vector<Expr*> Children(Expr& e);
std::vector<const Expr*> Children(const Expr& e);

// The owning slots of the direct children, in the same order as Children(); lets a rewrite
// replace a child (e.g. wrap it in a StepInvariantExpr).
std::vector<std::unique_ptr<Expr>*> ChildSlots(Expr& e);

// Depth-first pre-order walk. The callback gets the node and the path of its ancestors (root
// first); returning false skips the node's children.
void Inspect(const Expr& root,
             const std::function<bool(const Expr& node, const std::vector<const Expr*>& path)>& f);
// The same over a mutable tree (the callback may modify the node's own fields, and may replace
// its children before they are visited).
void InspectMutable(Expr& root,
                    const std::function<bool(Expr& node, const std::vector<Expr*>& path)>& f);

// The query-dependent values feeding step() and range() in duration expressions.
struct DurationContext {
  int64_t step_ms = 0;   // 0 for instant queries
  int64_t range_ms = 0;  // end - start; 0 for instant queries
};
// Fills range_ms/step_ms/original_offset_ms/offset_ms of every node whose duration was written
// as a non-constant expression (step(), range()). Fails (InvalidArgument, with the position) when
// a resulting range or step is not positive, as Prometheus does at query preparation.
absl::Status ResolveDurations(Expr& root, const DurationContext& ctx, std::string_view query);

}  // namespace promql

#endif  // METRICS_ADAPTER_PROMQL_PARSER_AST_H_
