// A hand-written recursive-descent (precedence-climbing) parser for PromQL, following the
// grammar, precedence and error texts of Prometheus' yacc parser (promql/parser/
// generated_parser.y, parse.go). Syntax errors and the errors Prometheus raises while reducing
// (offsets, ranges, aggregation arity, unknown functions) stop the parse at the first one; the
// type checks Prometheus runs after parsing (checkAST) are done by Check() in the same order, so
// the first error reported is the one Prometheus reports.
#include "promql/parser/parser.h"

#include <cmath>
#include <limits>
#include <unordered_map>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "promql/parser/functions.h"
#include "promql/parser/lexer.h"

namespace promql {
namespace parser {
namespace {

absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return out;
}

// Go's %f, including its spelling of infinities and NaN.
std::string GoFormatF(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return absl::StrFormat("%f", v);
}

bool IsSpaceChar(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

constexpr int kPrecOr = 1;
constexpr int kPrecAndUnless = 2;
constexpr int kPrecComparison = 3;
constexpr int kPrecAdd = 4;
constexpr int kPrecMul = 5;
constexpr int kPrecPow = 6;

struct BinOpInfo {
  BinaryOp op;
  int prec;
  bool right_assoc;
};

// A duration operand: a plain number/duration literal, or an expression.
struct DurValue {
  std::unique_ptr<DurationExpr> expr;  // null for a plain literal
  double seconds = 0;                  // the literal's value, or the constant expression's
  bool constant = true;
  PositionRange pos;
};

class Parser {
 public:
  Parser(std::string_view input, const ParseOptions& options)
      : input_(input), lexer_(input), options_(options) {
    Advance();
  }

  absl::StatusOr<std::unique_ptr<Expr>> ParseTop();
  absl::StatusOr<std::vector<tsdb::LabelMatcher>> ParseSelectorOnly();
  absl::StatusOr<tsdb::Labels> ParseMetricOnly();

 private:
  bool ok() const { return status_.ok(); }
  void Fail(int pos, std::string_view message) {
    if (!status_.ok()) return;
    status_ = absl::InvalidArgumentError(
        absl::StrCat(PositionToLineCol(input_, pos), ": parse error: ", A(message)));
  }
  void Unexpected(std::string_view context, std::string_view expected) {
    if (!ok() || cur_.type == TokenType::kError) return;
    std::string msg = "unexpected " + DescribeToken(cur_);
    if (!context.empty()) absl::StrAppend(&msg, " in ", A(context));
    if (!expected.empty()) absl::StrAppend(&msg, ", expected ", A(expected));
    Fail(cur_.pos, msg);
  }

  void Advance() {
    if (has_next_) {
      cur_ = std::move(next_);
      has_next_ = false;
    } else {
      cur_ = lexer_.Next();
    }
    if (cur_.type == TokenType::kError) Fail(cur_.pos, cur_.error);
  }
  const Token& PeekNext() {
    if (!has_next_) {
      next_ = lexer_.Next();
      has_next_ = true;
    }
    return next_;
  }
  bool IsKeyword(Keyword k) const {
    return cur_.type == TokenType::kIdentifier && cur_.keyword == k;
  }

  // Depth accounting: recursion depth of the parser, and height of the built trees.
  bool Enter() {
    if (++depth_ > options_.max_depth) {
      Fail(cur_.pos,
           absl::StrCat("expression nesting exceeds the maximum depth of ", options_.max_depth));
      return false;
    }
    return true;
  }
  void Leave() { --depth_; }
  int Height(const void* node) const {
    auto it = heights_.find(node);
    return it == heights_.end() ? 1 : it->second;
  }
  bool Track(const void* node, std::initializer_list<const void*> kids, int pos) {
    int h = 1;
    for (const void* k : kids) {
      if (k != nullptr) h = std::max(h, 1 + Height(k));
    }
    heights_[node] = h;
    if (h > options_.max_depth) {
      Fail(pos,
           absl::StrCat("expression nesting exceeds the maximum depth of ", options_.max_depth));
      return false;
    }
    return true;
  }

  // Expressions.
  std::unique_ptr<Expr> ParseExpr(int min_prec);
  std::unique_ptr<Expr> ParseUnary();
  std::unique_ptr<Expr> ParsePrimary();
  std::unique_ptr<Expr> ParsePostfix(std::unique_ptr<Expr> expr);
  std::unique_ptr<Expr> ParseIdentifierExpr();
  std::unique_ptr<Expr> ParseVectorSelector(bool with_name);
  bool ParseMatchers(VectorSelector* vs, int* end);
  bool AddMatcher(VectorSelector* vs, const std::string& name, TokenType op,
                  const std::string& value, int pos);
  std::unique_ptr<Expr> ParseAggregation();
  std::unique_ptr<Expr> ParseCall();
  bool ParseCallArgs(std::vector<std::unique_ptr<Expr>>* args, int* end);
  bool ParseGroupingLabels(std::vector<std::string>* labels, int* end);
  bool PeekBinaryOp(BinOpInfo* info) const;
  bool ParseBinModifiers(BinaryExpr* b);
  std::unique_ptr<Expr> ParseRangeOrSubquery(std::unique_ptr<Expr> expr);
  std::unique_ptr<Expr> ParseOffset(std::unique_ptr<Expr> expr);
  std::unique_ptr<Expr> ParseAt(std::unique_ptr<Expr> expr);
  std::unique_ptr<Expr> ParseAnchoredSmoothed(std::unique_ptr<Expr> expr);
  bool IsMetricNameToken(const Token& t) const;

  // Duration expressions.
  std::unique_ptr<DurationExpr> ParseDurExpr(int min_prec, std::string_view context);
  std::unique_ptr<DurationExpr> ParseDurUnary(std::string_view context);
  std::unique_ptr<DurationExpr> ParseDurPrimary(std::string_view context);
  std::unique_ptr<DurationExpr> ParseOffsetOperand();
  // At a leading + or -: the sign applied to what parse_operand reads after it (a number takes
  // it, anything else is wrapped in a unary node).
  std::unique_ptr<DurationExpr> ParseDurSigned(
      absl::FunctionRef<std::unique_ptr<DurationExpr>()> parse_operand);
  bool ToDurValue(std::unique_ptr<DurationExpr> d, DurValue* out);
  bool DurToMs(const DurValue& v, bool positive, int64_t* ms);

  // Type checks (Prometheus' checkAST).
  ValueType Check(Expr& e);
  void ExpectType(Expr& e, ValueType want, std::string_view context);
  bool CheckVectorSelector(VectorSelector& vs);

  std::string_view input_;
  Lexer lexer_;
  ParseOptions options_;
  Token cur_;
  Token next_;
  bool has_next_ = false;
  absl::Status status_;
  int depth_ = 0;
  std::unordered_map<const void*, int> heights_;
  int last_end_ = 0;  // end of the last consumed closing token
};

// ---------------------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Expr>> Parser::ParseTop() {
  if (!ok()) return status_;
  if (cur_.type == TokenType::kEOF) {
    Fail(0, "no expression found in input");
    return status_;
  }
  std::unique_ptr<Expr> e = ParseExpr(0);
  if (!ok()) return status_;
  if (cur_.type != TokenType::kEOF) {
    Unexpected("", "");
    return status_;
  }
  Check(*e);
  if (!ok()) return status_;
  return e;
}

bool Parser::PeekBinaryOp(BinOpInfo* info) const {
  switch (cur_.type) {
    case TokenType::kAdd:
      *info = {BinaryOp::kAdd, kPrecAdd, false};
      return true;
    case TokenType::kSub:
      *info = {BinaryOp::kSub, kPrecAdd, false};
      return true;
    case TokenType::kMul:
      *info = {BinaryOp::kMul, kPrecMul, false};
      return true;
    case TokenType::kDiv:
      *info = {BinaryOp::kDiv, kPrecMul, false};
      return true;
    case TokenType::kMod:
      *info = {BinaryOp::kMod, kPrecMul, false};
      return true;
    case TokenType::kPow:
      *info = {BinaryOp::kPow, kPrecPow, true};
      return true;
    case TokenType::kEqlc:
      *info = {BinaryOp::kEql, kPrecComparison, false};
      return true;
    case TokenType::kNeq:
      *info = {BinaryOp::kNeq, kPrecComparison, false};
      return true;
    case TokenType::kLss:
      *info = {BinaryOp::kLss, kPrecComparison, false};
      return true;
    case TokenType::kLte:
      *info = {BinaryOp::kLte, kPrecComparison, false};
      return true;
    case TokenType::kGtr:
      *info = {BinaryOp::kGtr, kPrecComparison, false};
      return true;
    case TokenType::kGte:
      *info = {BinaryOp::kGte, kPrecComparison, false};
      return true;
    case TokenType::kTrimUpper:
      *info = {BinaryOp::kTrimUpper, kPrecMul, false};
      return true;
    case TokenType::kTrimLower:
      *info = {BinaryOp::kTrimLower, kPrecMul, false};
      return true;
    case TokenType::kIdentifier:
      switch (cur_.keyword) {
        case Keyword::kAnd:
          *info = {BinaryOp::kAnd, kPrecAndUnless, false};
          return true;
        case Keyword::kUnless:
          *info = {BinaryOp::kUnless, kPrecAndUnless, false};
          return true;
        case Keyword::kOr:
          *info = {BinaryOp::kOr, kPrecOr, false};
          return true;
        case Keyword::kAtan2:
          *info = {BinaryOp::kAtan2, kPrecMul, false};
          return true;
        default:
          return false;
      }
    default:
      return false;
  }
}

std::unique_ptr<Expr> Parser::ParseExpr(int min_prec) {
  if (!Enter()) return nullptr;
  std::unique_ptr<Expr> lhs = ParseUnary();
  while (ok()) {
    BinOpInfo info;
    if (!PeekBinaryOp(&info) || info.prec < min_prec) break;
    Advance();
    if (!ok()) break;
    auto b = std::make_unique<BinaryExpr>();
    b->op = info.op;
    if (!ParseBinModifiers(b.get())) break;
    std::unique_ptr<Expr> rhs = ParseExpr(info.right_assoc ? info.prec : info.prec + 1);
    if (!ok()) break;
    b->pos = {lhs->pos.start, rhs->pos.end};
    b->lhs = std::move(lhs);
    b->rhs = std::move(rhs);
    if (!Track(b.get(), {b->lhs.get(), b->rhs.get()}, b->pos.start)) break;
    if (!options_.enable_binop_fill_modifiers &&
        (b->matching->fill_lhs.has_value() || b->matching->fill_rhs.has_value())) {
      Fail(b->pos.start, "binop fill modifiers are experimental and not enabled");
      break;
    }
    lhs = std::move(b);
  }
  Leave();
  if (!ok()) return nullptr;
  return lhs;
}

bool Parser::ParseBinModifiers(BinaryExpr* b) {
  VectorMatching vm;
  if (IsKeyword(Keyword::kBool)) {
    b->return_bool = true;
    Advance();
  }
  if (ok() && (IsKeyword(Keyword::kOn) || IsKeyword(Keyword::kIgnoring))) {
    vm.on = IsKeyword(Keyword::kOn);
    vm.matching_written = true;
    Advance();
    int end = 0;
    if (!ok() || !ParseGroupingLabels(&vm.matching_labels, &end)) return false;
    if (IsKeyword(Keyword::kGroupLeft) || IsKeyword(Keyword::kGroupRight)) {
      vm.card = IsKeyword(Keyword::kGroupLeft) ? MatchCardinality::kManyToOne
                                               : MatchCardinality::kOneToMany;
      Advance();
      if (ok() && cur_.type == TokenType::kLeftParen) {
        if (!ParseGroupingLabels(&vm.include, &end)) return false;
      }
    }
  }
  while (ok() &&
         (IsKeyword(Keyword::kFill) || IsKeyword(Keyword::kFillLeft) ||
          IsKeyword(Keyword::kFillRight)) &&
         PeekNext().type == TokenType::kLeftParen) {
    const Keyword kw = cur_.keyword;
    Advance();  // the keyword
    Advance();  // '('
    if (!ok()) return false;
    bool negative = false;
    while (cur_.type == TokenType::kAdd || cur_.type == TokenType::kSub) {
      if (cur_.type == TokenType::kSub) negative = !negative;
      Advance();
      if (!ok()) return false;
    }
    if (cur_.type != TokenType::kNumber) {
      Unexpected("fill modifier", "number");
      return false;
    }
    auto v = ParseNumber(cur_.text);
    if (!v.ok()) {
      Fail(cur_.pos, std::string(v.status().message()));
      return false;
    }
    const double value = negative ? -*v : *v;
    Advance();
    if (!ok()) return false;
    if (cur_.type != TokenType::kRightParen) {
      Unexpected("fill modifier", "\")\"");
      return false;
    }
    Advance();
    if (!ok()) return false;
    const bool lhs = kw == Keyword::kFill || kw == Keyword::kFillLeft;
    const bool rhs = kw == Keyword::kFill || kw == Keyword::kFillRight;
    if ((lhs && vm.fill_lhs.has_value()) || (rhs && vm.fill_rhs.has_value())) {
      Fail(cur_.pos, "fill modifier may not be set multiple times");
      return false;
    }
    if (lhs) vm.fill_lhs = value;
    if (rhs) vm.fill_rhs = value;
    if (kw == Keyword::kFill) vm.fill_both_written = true;
  }
  if (!ok()) return false;
  b->matching = std::move(vm);
  return true;
}

std::unique_ptr<Expr> Parser::ParseUnary() {
  if (!Enter()) return nullptr;
  std::unique_ptr<Expr> result;
  if (cur_.type == TokenType::kAdd || cur_.type == TokenType::kSub) {
    const Token op = cur_;
    Advance();
    std::unique_ptr<Expr> operand = ok() ? ParseExpr(kPrecPow) : nullptr;
    if (ok()) {
      if (operand->kind() == ExprKind::kNumberLiteral) {
        auto& n = operand->As<NumberLiteral>();
        if (op.type == TokenType::kSub) n.value = -n.value;
        n.pos.start = op.pos;
        result = std::move(operand);
      } else {
        auto u = std::make_unique<UnaryExpr>();
        u->op = op.type == TokenType::kSub ? UnaryOp::kMinus : UnaryOp::kPlus;
        u->pos = {op.pos, operand->pos.end};
        u->expr = std::move(operand);
        if (Track(u.get(), {u->expr.get()}, u->pos.start)) result = std::move(u);
      }
    }
  } else {
    std::unique_ptr<Expr> primary = ParsePrimary();
    if (ok()) result = ParsePostfix(std::move(primary));
  }
  Leave();
  if (!ok()) return nullptr;
  return result;
}

std::unique_ptr<Expr> Parser::ParsePrimary() {
  switch (cur_.type) {
    case TokenType::kNumber: {
      auto v = ParseNumber(cur_.text);
      if (!v.ok()) {
        Fail(cur_.pos, std::string(v.status().message()));
        return nullptr;
      }
      auto n = std::make_unique<NumberLiteral>();
      n->value = *v;
      n->pos = {cur_.pos, cur_.end()};
      last_end_ = cur_.end();
      Advance();
      return n;
    }
    case TokenType::kDuration: {
      auto ms = ParseDurationMs(cur_.text);
      if (!ms.ok()) {
        Fail(cur_.pos, std::string(ms.status().message()));
        return nullptr;
      }
      auto n = std::make_unique<NumberLiteral>();
      n->value = static_cast<double>(*ms) / 1000.0;
      n->is_duration = true;
      n->pos = {cur_.pos, cur_.end()};
      last_end_ = cur_.end();
      Advance();
      return n;
    }
    case TokenType::kString: {
      auto s = UnquoteString(cur_.text);
      if (!s.ok()) {
        Fail(cur_.pos, absl::StrCat("error unquoting string ", GoQuote(cur_.text), ": ",
                                    s.status().message()));
        return nullptr;
      }
      auto n = std::make_unique<StringLiteral>();
      n->value = std::move(*s);
      n->pos = {cur_.pos, cur_.end()};
      last_end_ = cur_.end();
      Advance();
      return n;
    }
    case TokenType::kLeftParen: {
      const int start = cur_.pos;
      Advance();
      if (!ok()) return nullptr;
      std::unique_ptr<Expr> inner = ParseExpr(0);
      if (!ok()) return nullptr;
      if (cur_.type != TokenType::kRightParen) {
        Unexpected("", "");
        return nullptr;
      }
      auto p = std::make_unique<ParenExpr>();
      p->pos = {start, cur_.end()};
      last_end_ = cur_.end();
      p->expr = std::move(inner);
      if (!Track(p.get(), {p->expr.get()}, start)) return nullptr;
      Advance();
      if (!ok()) return nullptr;
      return p;
    }
    case TokenType::kLeftBrace:
      return ParseVectorSelector(false);
    case TokenType::kIdentifier:
    case TokenType::kMetricIdentifier:
      return ParseIdentifierExpr();
    default:
      Unexpected("", "");
      return nullptr;
  }
}

bool Parser::IsMetricNameToken(const Token& t) const {
  if (t.type == TokenType::kMetricIdentifier) return true;
  if (t.type != TokenType::kIdentifier) return false;
  switch (t.keyword) {
    case Keyword::kOn:
    case Keyword::kIgnoring:
    case Keyword::kGroupLeft:
    case Keyword::kGroupRight:
    case Keyword::kBool:
    case Keyword::kAtan2:
      return false;
    default:
      return true;
  }
}

std::unique_ptr<Expr> Parser::ParseIdentifierExpr() {
  const Token& next = PeekNext();
  const bool next_paren = next.type == TokenType::kLeftParen;
  if (cur_.type == TokenType::kIdentifier && IsAggregatorKeyword(cur_.keyword)) {
    const bool next_modifier = next.type == TokenType::kIdentifier &&
                               (next.keyword == Keyword::kBy || next.keyword == Keyword::kWithout);
    if (next_paren || next_modifier) return ParseAggregation();
  }
  if (next_paren && cur_.type == TokenType::kIdentifier &&
      (cur_.keyword == Keyword::kNone || cur_.keyword == Keyword::kStart ||
       cur_.keyword == Keyword::kEnd || cur_.keyword == Keyword::kStep)) {
    return ParseCall();
  }
  if (!IsMetricNameToken(cur_)) {
    Unexpected("", "");
    return nullptr;
  }
  return ParseVectorSelector(true);
}

std::unique_ptr<Expr> Parser::ParseVectorSelector(bool with_name) {
  auto vs = std::make_unique<VectorSelector>();
  vs->pos.start = cur_.pos;
  int end = cur_.end();
  if (with_name) {
    vs->name = std::string(cur_.text);
    Advance();
    if (!ok()) return nullptr;
  }
  if (cur_.type == TokenType::kLeftBrace) {
    if (!ParseMatchers(vs.get(), &end)) return nullptr;
  }
  if (with_name) {
    auto m = tsdb::LabelMatcher::Make(tsdb::LabelMatcher::Type::kEqual,
                                      std::string(tsdb::kMetricNameLabel), vs->name);
    if (!m.ok()) {
      Fail(vs->pos.start, std::string(m.status().message()));
      return nullptr;
    }
    vs->matchers.push_back(std::move(*m));
  }
  vs->pos.end = end;
  last_end_ = end;
  return vs;
}

bool Parser::AddMatcher(VectorSelector* vs, const std::string& name, TokenType op,
                        const std::string& value, int pos) {
  tsdb::LabelMatcher::Type type = tsdb::LabelMatcher::Type::kEqual;
  switch (op) {
    case TokenType::kEql:
      type = tsdb::LabelMatcher::Type::kEqual;
      break;
    case TokenType::kNeq:
      type = tsdb::LabelMatcher::Type::kNotEqual;
      break;
    case TokenType::kEqlRegex:
      type = tsdb::LabelMatcher::Type::kRegexMatch;
      break;
    case TokenType::kNeqRegex:
      type = tsdb::LabelMatcher::Type::kRegexNoMatch;
      break;
    default:
      break;
  }
  auto m = tsdb::LabelMatcher::Make(type, name, value);
  if (!m.ok()) {
    Fail(pos, std::string(m.status().message()));
    return false;
  }
  vs->matchers.push_back(std::move(*m));
  return true;
}

bool Parser::ParseMatchers(VectorSelector* vs, int* end) {
  Advance();  // '{'
  auto is_match_op = [](const Token& t) {
    return t.type == TokenType::kEql || t.type == TokenType::kNeq ||
           t.type == TokenType::kEqlRegex || t.type == TokenType::kNeqRegex;
  };
  while (ok()) {
    if (cur_.type == TokenType::kRightBrace) {
      *end = cur_.end();
      Advance();
      return ok();
    }
    if (cur_.type == TokenType::kIdentifier || cur_.type == TokenType::kString) {
      const Token label = cur_;
      std::string label_name;
      if (label.type == TokenType::kString) {
        auto s = UnquoteString(label.text);
        if (!s.ok()) {
          Fail(label.pos, std::string(s.status().message()));
          return false;
        }
        label_name = std::move(*s);
      } else {
        label_name = std::string(label.text);
      }
      Advance();
      if (!ok()) return false;
      if (is_match_op(cur_)) {
        const TokenType op = cur_.type;
        Advance();
        if (!ok()) return false;
        if (cur_.type != TokenType::kString) {
          Unexpected("label matching", "string");
          return false;
        }
        auto value = UnquoteString(cur_.text);
        if (!value.ok()) {
          Fail(cur_.pos, std::string(value.status().message()));
          return false;
        }
        if (!AddMatcher(vs, label_name, op, *value, label.pos)) return false;
        Advance();
        if (!ok()) return false;
      } else if (label.type == TokenType::kString) {
        // A lone quoted string is the metric name.
        if (!AddMatcher(vs, std::string(tsdb::kMetricNameLabel), TokenType::kEql, label_name,
                        label.pos)) {
          return false;
        }
      } else {
        Unexpected("label matching", "label matching operator");
        return false;
      }
    } else {
      Unexpected("label matching", "identifier or \"}\"");
      return false;
    }
    if (cur_.type == TokenType::kComma) {
      Advance();
    } else if (cur_.type != TokenType::kRightBrace) {
      Unexpected("label matching", "\",\" or \"}\"");
      return false;
    }
  }
  return false;
}

bool Parser::ParseGroupingLabels(std::vector<std::string>* labels, int* end) {
  if (cur_.type != TokenType::kLeftParen) {
    Unexpected("grouping opts", "\"(\"");
    return false;
  }
  Advance();
  labels->clear();
  if (!ok()) return false;
  if (cur_.type == TokenType::kRightParen) {
    *end = cur_.end();
    Advance();
    return ok();
  }
  while (ok()) {
    if (cur_.type == TokenType::kIdentifier ||
        (cur_.type == TokenType::kNumber && !cur_.text.empty() &&
         absl::ascii_isalpha(static_cast<unsigned char>(cur_.text[0])))) {
      labels->push_back(std::string(cur_.text));  // a name, or "inf" and "nan" read as numbers
    } else if (cur_.type == TokenType::kString) {
      auto s = UnquoteString(cur_.text);
      if (!s.ok()) {
        Fail(cur_.pos, std::string(s.status().message()));
        return false;
      }
      labels->push_back(std::move(*s));
    } else {
      Unexpected("grouping opts", "label");
      return false;
    }
    Advance();
    if (!ok()) return false;
    if (cur_.type == TokenType::kComma) {
      Advance();
      if (ok() && cur_.type == TokenType::kRightParen) {
        *end = cur_.end();
        Advance();
        return ok();
      }
      continue;
    }
    if (cur_.type == TokenType::kRightParen) {
      *end = cur_.end();
      Advance();
      return ok();
    }
    Unexpected("grouping opts", "\",\" or \")\"");
    return false;
  }
  return false;
}

bool Parser::ParseCallArgs(std::vector<std::unique_ptr<Expr>>* args, int* end) {
  // cur_ is '('.
  Advance();
  if (!ok()) return false;
  if (cur_.type == TokenType::kRightParen) {
    *end = cur_.end();
    Advance();
    return ok();
  }
  while (ok()) {
    std::unique_ptr<Expr> e = ParseExpr(0);
    if (!ok()) return false;
    args->push_back(std::move(e));
    if (cur_.type == TokenType::kComma) {
      const Token comma = cur_;
      Advance();
      if (!ok()) return false;
      if (cur_.type == TokenType::kRightParen) {
        Fail(comma.pos, "trailing commas not allowed in function call args");
        return false;
      }
      continue;
    }
    if (cur_.type == TokenType::kRightParen) {
      *end = cur_.end();
      Advance();
      return ok();
    }
    Unexpected("", "");
    return false;
  }
  return false;
}

std::unique_ptr<Expr> Parser::ParseAggregation() {
  const Token op_tok = cur_;
  Advance();
  if (!ok()) return nullptr;
  auto agg = std::make_unique<AggregateExpr>();
  switch (op_tok.keyword) {
    case Keyword::kSum:
      agg->op = AggregateOp::kSum;
      break;
    case Keyword::kAvg:
      agg->op = AggregateOp::kAvg;
      break;
    case Keyword::kCount:
      agg->op = AggregateOp::kCount;
      break;
    case Keyword::kMin:
      agg->op = AggregateOp::kMin;
      break;
    case Keyword::kMax:
      agg->op = AggregateOp::kMax;
      break;
    case Keyword::kGroup:
      agg->op = AggregateOp::kGroup;
      break;
    case Keyword::kStddev:
      agg->op = AggregateOp::kStddev;
      break;
    case Keyword::kStdvar:
      agg->op = AggregateOp::kStdvar;
      break;
    case Keyword::kTopk:
      agg->op = AggregateOp::kTopk;
      break;
    case Keyword::kBottomk:
      agg->op = AggregateOp::kBottomk;
      break;
    case Keyword::kCountValues:
      agg->op = AggregateOp::kCountValues;
      break;
    case Keyword::kQuantile:
      agg->op = AggregateOp::kQuantile;
      break;
    case Keyword::kLimitk:
      agg->op = AggregateOp::kLimitk;
      break;
    case Keyword::kLimitRatio:
      agg->op = AggregateOp::kLimitRatio;
      break;
    default:
      break;
  }
  int end = op_tok.end();
  bool have_modifier = false;
  if (IsKeyword(Keyword::kBy) || IsKeyword(Keyword::kWithout)) {
    agg->without = IsKeyword(Keyword::kWithout);
    Advance();
    if (!ok() || !ParseGroupingLabels(&agg->grouping, &end)) return nullptr;
    have_modifier = true;
  }
  if (cur_.type != TokenType::kLeftParen) {
    Unexpected("aggregation", "");
    return nullptr;
  }
  std::vector<std::unique_ptr<Expr>> args;
  if (!ParseCallArgs(&args, &end)) return nullptr;
  if (!have_modifier && (IsKeyword(Keyword::kBy) || IsKeyword(Keyword::kWithout))) {
    agg->without = IsKeyword(Keyword::kWithout);
    Advance();
    if (!ok() || !ParseGroupingLabels(&agg->grouping, &end)) return nullptr;
  }
  agg->pos = {op_tok.pos, end};
  last_end_ = end;
  if (args.empty()) {
    Fail(op_tok.pos, "no arguments for aggregate expression provided");
    return nullptr;
  }
  size_t desired = 1;
  if (AggregateOpHasParam(agg->op)) {
    if (!options_.enable_experimental_functions &&
        (agg->op == AggregateOp::kLimitk || agg->op == AggregateOp::kLimitRatio)) {
      const std::string_view name = AggregateOpName(agg->op);
      Fail(op_tok.pos, absl::StrCat(A(name),
                                    "() is experimental and must be enabled with "
                                    "--enable-feature=promql-experimental-functions"));
      return nullptr;
    }
    desired = 2;
  }
  if (args.size() != desired) {
    Fail(op_tok.pos, absl::StrFormat("wrong number of arguments for aggregate expression provided, "
                                     "expected %d, got %d",
                                     desired, args.size()));
    return nullptr;
  }
  if (desired == 2) agg->param = std::move(args[0]);
  agg->expr = std::move(args.back());
  if (!Track(agg.get(), {agg->param.get(), agg->expr.get()}, agg->pos.start)) return nullptr;
  return agg;
}

std::unique_ptr<Expr> Parser::ParseCall() {
  const Token name = cur_;
  Advance();  // to '('
  if (!ok()) return nullptr;
  auto call = std::make_unique<CallExpr>();
  int end = name.end();
  if (!ParseCallArgs(&call->args, &end)) return nullptr;
  call->pos = {name.pos, end};
  last_end_ = end;
  call->func = LookupFunction(name.text);
  if (call->func == nullptr) {
    Fail(name.pos, "unknown function with name " + GoQuote(name.text));
    return nullptr;
  }
  if (call->func->experimental && !options_.enable_experimental_functions) {
    Fail(name.pos, absl::StrCat("function ", GoQuote(name.text), " is not enabled"));
    return nullptr;
  }
  int h = 1;
  for (const auto& a : call->args) h = std::max(h, 1 + Height(a.get()));
  heights_[call.get()] = h;
  if (h > options_.max_depth) {
    Fail(call->pos.start,
         absl::StrCat("expression nesting exceeds the maximum depth of ", options_.max_depth));
    return nullptr;
  }
  return call;
}

std::unique_ptr<Expr> Parser::ParsePostfix(std::unique_ptr<Expr> expr) {
  while (ok()) {
    if (cur_.type == TokenType::kLeftBracket) {
      expr = ParseRangeOrSubquery(std::move(expr));
    } else if (IsKeyword(Keyword::kOffset)) {
      expr = ParseOffset(std::move(expr));
    } else if (cur_.type == TokenType::kAt) {
      expr = ParseAt(std::move(expr));
    } else if (IsKeyword(Keyword::kAnchored) || IsKeyword(Keyword::kSmoothed)) {
      expr = ParseAnchoredSmoothed(std::move(expr));
    } else {
      break;
    }
  }
  if (!ok()) return nullptr;
  return expr;
}

bool Parser::ToDurValue(std::unique_ptr<DurationExpr> d, DurValue* out) {
  out->pos = d->pos;
  if (d->op == DurationExpr::Op::kNumber && !d->wrapped) {
    out->seconds = d->value_seconds;
    out->constant = true;
    out->expr = nullptr;
    return true;
  }
  if (!options_.enable_duration_expressions) {
    Fail(d->pos.start, "experimental duration expression is not enabled");
    return false;
  }
  out->constant = d->IsConstant();
  if (out->constant) out->seconds = d->Evaluate(0, 0);
  out->expr = std::move(d);
  return true;
}

bool Parser::DurToMs(const DurValue& v, bool positive, int64_t* ms) {
  if (!v.constant) {
    *ms = 0;
    return true;
  }
  const double scaled = std::round(v.seconds * 1000.0);
  if (!std::isfinite(scaled) || std::fabs(scaled) > 9223372036854.0) {
    Fail(v.pos.start, "duration out of range");
    return false;
  }
  *ms = static_cast<int64_t>(scaled);
  if (positive && *ms <= 0) {
    Fail(v.pos.start, "duration must be greater than 0");
    return false;
  }
  return true;
}

std::unique_ptr<Expr> Parser::ParseRangeOrSubquery(std::unique_ptr<Expr> expr) {
  const Token lb = cur_;
  Advance();
  if (!ok()) return nullptr;
  constexpr std::string_view kExpected = "number, duration, step(), or range()";
  if (cur_.type == TokenType::kRightBracket || cur_.type == TokenType::kColon) {
    Unexpected("subquery or range selector", kExpected);
    return nullptr;
  }
  DurValue range;
  {
    auto d = ParseDurExpr(0, "subquery or range selector");
    if (!ok() || !ToDurValue(std::move(d), &range)) return nullptr;
  }
  if (cur_.type == TokenType::kRightBracket) {
    const int rb_end = cur_.end();
    if (expr->kind() != ExprKind::kVectorSelector) {
      Fail(lb.pos, "ranges only allowed for vector selectors");
      return nullptr;
    }
    const auto& vs = expr->As<VectorSelector>();
    if (vs.original_offset_ms != 0 || vs.offset_expr) {
      Fail(lb.pos, "no offset modifiers allowed before range");
      return nullptr;
    }
    if (vs.timestamp_ms.has_value() || vs.at != AtModifier::kNone) {
      Fail(lb.pos, "no @ modifiers allowed before range");
      return nullptr;
    }
    auto m = std::make_unique<MatrixSelector>();
    if (!DurToMs(range, true, &m->range_ms)) return nullptr;
    m->range_expr = std::move(range.expr);
    m->pos = {expr->pos.start, rb_end};
    last_end_ = rb_end;
    m->vector_selector = std::move(expr);
    if (!Track(m.get(), {m->vector_selector.get()}, m->pos.start)) return nullptr;
    Advance();
    if (!ok()) return nullptr;
    return m;
  }
  if (cur_.type != TokenType::kColon) {
    Unexpected("subquery or range", "\":\" or \"]\"");
    return nullptr;
  }
  Advance();
  if (!ok()) return nullptr;
  auto sq = std::make_unique<SubqueryExpr>();
  if (!DurToMs(range, true, &sq->range_ms)) return nullptr;
  sq->range_expr = std::move(range.expr);
  if (cur_.type != TokenType::kRightBracket) {
    DurValue step;
    auto d = ParseDurExpr(0, "subquery selector");
    if (!ok() || !ToDurValue(std::move(d), &step)) return nullptr;
    if (!DurToMs(step, true, &sq->step_ms)) return nullptr;
    sq->step_expr = std::move(step.expr);
    if (cur_.type != TokenType::kRightBracket) {
      Unexpected("subquery selector", "\"]\"");
      return nullptr;
    }
  }
  sq->pos = {expr->pos.start, cur_.end()};
  last_end_ = cur_.end();
  sq->expr = std::move(expr);
  if (!Track(sq.get(), {sq->expr.get()}, sq->pos.start)) return nullptr;
  Advance();
  if (!ok()) return nullptr;
  return sq;
}

std::unique_ptr<Expr> Parser::ParseOffset(std::unique_ptr<Expr> expr) {
  Advance();  // 'offset'
  if (!ok()) return nullptr;
  DurValue off;
  {
    auto d = ParseOffsetOperand();
    if (!ok() || !ToDurValue(std::move(d), &off)) return nullptr;
  }
  int64_t* orig = nullptr;
  int64_t* eff = nullptr;
  std::unique_ptr<DurationExpr>* orig_expr = nullptr;
  int* end = nullptr;
  switch (expr->kind()) {
    case ExprKind::kVectorSelector: {
      auto& vs = expr->As<VectorSelector>();
      orig = &vs.original_offset_ms;
      eff = &vs.offset_ms;
      orig_expr = &vs.offset_expr;
      end = &vs.pos.end;
      break;
    }
    case ExprKind::kMatrixSelector: {
      auto& m = expr->As<MatrixSelector>();
      auto& vs = m.selector();
      orig = &vs.original_offset_ms;
      eff = &vs.offset_ms;
      orig_expr = &vs.offset_expr;
      end = &m.pos.end;
      break;
    }
    case ExprKind::kSubquery: {
      auto& sq = expr->As<SubqueryExpr>();
      orig = &sq.original_offset_ms;
      eff = &sq.offset_ms;
      orig_expr = &sq.offset_expr;
      end = &sq.pos.end;
      break;
    }
    default:
      Fail(expr->pos.start,
           "offset modifier must be preceded by an instant vector selector or range vector "
           "selector or a subquery");
      return nullptr;
  }
  if (*orig != 0 || *orig_expr) {
    Fail(expr->pos.start, "offset may not be set multiple times");
    return nullptr;
  }
  if (!DurToMs(off, false, orig)) return nullptr;
  *eff = *orig;
  *orig_expr = std::move(off.expr);
  *end = last_end_;
  return expr;
}

std::unique_ptr<Expr> Parser::ParseAt(std::unique_ptr<Expr> expr) {
  Advance();  // '@'
  if (!ok()) return nullptr;
  std::optional<int64_t> ts;
  AtModifier at = AtModifier::kNone;
  if (IsKeyword(Keyword::kStart) || IsKeyword(Keyword::kEnd)) {
    at = IsKeyword(Keyword::kStart) ? AtModifier::kStart : AtModifier::kEnd;
    Advance();
    if (!ok()) return nullptr;
    if (cur_.type != TokenType::kLeftParen) {
      Unexpected("@", "\"(\"");
      return nullptr;
    }
    Advance();
    if (!ok()) return nullptr;
    if (cur_.type != TokenType::kRightParen) {
      Unexpected("@", "\")\"");
      return nullptr;
    }
    last_end_ = cur_.end();
    Advance();
    if (!ok()) return nullptr;
  } else {
    bool negative = false;
    if (cur_.type == TokenType::kAdd || cur_.type == TokenType::kSub) {
      negative = cur_.type == TokenType::kSub;
      Advance();
      if (!ok()) return nullptr;
    }
    double seconds = 0;
    if (cur_.type == TokenType::kNumber) {
      auto v = ParseNumber(cur_.text);
      if (!v.ok()) {
        Fail(cur_.pos, std::string(v.status().message()));
        return nullptr;
      }
      seconds = *v;
    } else if (cur_.type == TokenType::kDuration) {
      auto ms = ParseDurationMs(cur_.text);
      if (!ms.ok()) {
        Fail(cur_.pos, std::string(ms.status().message()));
        return nullptr;
      }
      seconds = static_cast<double>(*ms) / 1000.0;
    } else {
      Unexpected("@", "timestamp");
      return nullptr;
    }
    if (negative) seconds = -seconds;
    last_end_ = cur_.end();
    Advance();
    if (!ok()) return nullptr;
    constexpr double kLimit = 9223372036854775807.0;
    if (!std::isfinite(seconds) || seconds >= kLimit || seconds <= -kLimit ||
        std::fabs(seconds * 1000.0) >= kLimit) {
      Fail(expr->pos.start, "timestamp out of bounds for @ modifier: " + GoFormatF(seconds));
      return nullptr;
    }
    ts = static_cast<int64_t>(std::round(seconds * 1000.0));
  }
  std::optional<int64_t>* ts_slot = nullptr;
  AtModifier* at_slot = nullptr;
  int* end = nullptr;
  switch (expr->kind()) {
    case ExprKind::kVectorSelector: {
      auto& vs = expr->As<VectorSelector>();
      ts_slot = &vs.timestamp_ms;
      at_slot = &vs.at;
      end = &vs.pos.end;
      break;
    }
    case ExprKind::kMatrixSelector: {
      auto& m = expr->As<MatrixSelector>();
      ts_slot = &m.selector().timestamp_ms;
      at_slot = &m.selector().at;
      end = &m.pos.end;
      break;
    }
    case ExprKind::kSubquery: {
      auto& sq = expr->As<SubqueryExpr>();
      ts_slot = &sq.timestamp_ms;
      at_slot = &sq.at;
      end = &sq.pos.end;
      break;
    }
    default:
      Fail(expr->pos.start,
           "@ modifier must be preceded by an instant vector selector or range vector selector "
           "or a subquery");
      return nullptr;
  }
  if (ts_slot->has_value() || *at_slot != AtModifier::kNone) {
    Fail(expr->pos.start, "@ <timestamp> may not be set multiple times");
    return nullptr;
  }
  *ts_slot = ts;
  *at_slot = at;
  *end = last_end_;
  return expr;
}

std::unique_ptr<Expr> Parser::ParseAnchoredSmoothed(std::unique_ptr<Expr> expr) {
  const bool anchored = IsKeyword(Keyword::kAnchored);
  const std::string_view name = anchored ? "anchored" : "smoothed";
  const int kw_end = cur_.end();
  Advance();
  if (!ok()) return nullptr;
  if (!options_.enable_extended_range_selectors) {
    Fail(expr->pos.start, absl::StrCat(A(name), " modifier is experimental and not enabled"));
    return nullptr;
  }
  VectorSelector* vs = nullptr;
  switch (expr->kind()) {
    case ExprKind::kVectorSelector:
      vs = &expr->As<VectorSelector>();
      break;
    case ExprKind::kMatrixSelector:
      vs = &expr->As<MatrixSelector>().selector();
      break;
    case ExprKind::kSubquery:
      Fail(expr->pos.start, absl::StrCat(A(name), " modifier is not supported for subqueries"));
      return nullptr;
    default:
      Fail(expr->pos.start, absl::StrCat(A(name), " modifier not implemented"));
      return nullptr;
  }
  if (anchored) {
    vs->anchored = true;
  } else {
    vs->smoothed = true;
  }
  if (vs->anchored && vs->smoothed) {
    Fail(expr->pos.start, "anchored and smoothed modifiers cannot be used together");
    return nullptr;
  }
  last_end_ = kw_end;
  return expr;
}

// ---- Duration expressions ----

std::unique_ptr<DurationExpr> Parser::ParseDurExpr(int min_prec, std::string_view context) {
  if (!Enter()) return nullptr;
  std::unique_ptr<DurationExpr> lhs = ParseDurUnary(context);
  while (ok()) {
    DurationExpr::Op op;
    int prec = 0;
    bool right = false;
    switch (cur_.type) {
      case TokenType::kAdd:
        op = DurationExpr::Op::kAdd;
        prec = kPrecAdd;
        break;
      case TokenType::kSub:
        op = DurationExpr::Op::kSub;
        prec = kPrecAdd;
        break;
      case TokenType::kMul:
        op = DurationExpr::Op::kMul;
        prec = kPrecMul;
        break;
      case TokenType::kDiv:
        op = DurationExpr::Op::kDiv;
        prec = kPrecMul;
        break;
      case TokenType::kMod:
        op = DurationExpr::Op::kMod;
        prec = kPrecMul;
        break;
      case TokenType::kPow:
        op = DurationExpr::Op::kPow;
        prec = kPrecPow;
        right = true;
        break;
      default:
        prec = 0;
        break;
    }
    if (prec == 0 || prec < min_prec) break;
    const Token op_tok = cur_;
    Advance();
    if (!ok()) break;
    std::unique_ptr<DurationExpr> rhs = ParseDurExpr(right ? prec : prec + 1, context);
    if (!ok()) break;
    if ((op == DurationExpr::Op::kDiv || op == DurationExpr::Op::kMod) && rhs->IsConstant() &&
        rhs->Evaluate(0, 0) == 0) {
      Fail(op_tok.pos, op == DurationExpr::Op::kDiv ? "division by zero" : "modulo by zero");
      break;
    }
    auto b = std::make_unique<DurationExpr>();
    b->op = op;
    b->pos = {lhs->pos.start, rhs->pos.end};
    b->lhs = std::move(lhs);
    b->rhs = std::move(rhs);
    if (!Track(b.get(), {b->lhs.get(), b->rhs.get()}, b->pos.start)) break;
    lhs = std::move(b);
  }
  Leave();
  if (!ok()) return nullptr;
  return lhs;
}

std::unique_ptr<DurationExpr> Parser::ParseDurUnary(std::string_view context) {
  if (cur_.type != TokenType::kAdd && cur_.type != TokenType::kSub) {
    return ParseDurPrimary(context);
  }
  return ParseDurSigned([&] { return ParseDurExpr(kPrecPow, context); });
}

std::unique_ptr<DurationExpr> Parser::ParseOffsetOperand() {
  if (cur_.type != TokenType::kAdd && cur_.type != TokenType::kSub) {
    return ParseDurPrimary("offset");
  }
  return ParseDurSigned([&] { return ParseOffsetOperand(); });
}

std::unique_ptr<DurationExpr> Parser::ParseDurSigned(
    absl::FunctionRef<std::unique_ptr<DurationExpr>()> parse_operand) {
  if (!Enter()) return nullptr;
  const Token op = cur_;
  Advance();
  std::unique_ptr<DurationExpr> operand = ok() ? parse_operand() : nullptr;
  std::unique_ptr<DurationExpr> result;
  if (ok()) {
    if (operand->op == DurationExpr::Op::kNumber && !operand->wrapped) {
      if (op.type == TokenType::kSub) operand->value_seconds = -operand->value_seconds;
      operand->pos.start = op.pos;
      result = std::move(operand);
    } else {
      auto u = std::make_unique<DurationExpr>();
      u->op = op.type == TokenType::kSub ? DurationExpr::Op::kNeg : DurationExpr::Op::kPlus;
      u->pos = {op.pos, operand->pos.end};
      u->lhs = std::move(operand);
      if (Track(u.get(), {u->lhs.get()}, u->pos.start)) result = std::move(u);
    }
  }
  Leave();
  if (!ok()) return nullptr;
  return result;
}

std::unique_ptr<DurationExpr> Parser::ParseDurPrimary(std::string_view context) {
  constexpr std::string_view kExpected = "number, duration, step(), or range()";
  auto d = std::make_unique<DurationExpr>();
  d->pos = {cur_.pos, cur_.end()};
  switch (cur_.type) {
    case TokenType::kNumber: {
      auto v = ParseNumber(cur_.text);
      if (!v.ok()) {
        Fail(cur_.pos, std::string(v.status().message()));
        return nullptr;
      }
      d->op = DurationExpr::Op::kNumber;
      d->value_seconds = *v;
      last_end_ = cur_.end();
      Advance();
      if (!ok()) return nullptr;
      return d;
    }
    case TokenType::kDuration: {
      auto ms = ParseDurationMs(cur_.text);
      if (!ms.ok()) {
        Fail(cur_.pos, std::string(ms.status().message()));
        return nullptr;
      }
      d->op = DurationExpr::Op::kNumber;
      d->value_seconds = static_cast<double>(*ms) / 1000.0;
      d->is_duration_literal = true;
      last_end_ = cur_.end();
      Advance();
      if (!ok()) return nullptr;
      return d;
    }
    case TokenType::kLeftParen: {
      const int start = cur_.pos;
      Advance();
      if (!ok()) return nullptr;
      std::unique_ptr<DurationExpr> inner = ParseDurExpr(0, context);
      if (!ok()) return nullptr;
      if (cur_.type != TokenType::kRightParen) {
        Unexpected(context, "\")\"");
        return nullptr;
      }
      inner->wrapped = true;
      inner->pos = {start, cur_.end()};
      last_end_ = cur_.end();
      Advance();
      if (!ok()) return nullptr;
      return inner;
    }
    case TokenType::kIdentifier: {
      const std::string word = Lower(cur_.text);
      const bool nullary = word == "step" || word == "range";
      const bool binary = word == "min_of" || word == "max_of" || word == "min" || word == "max";
      if (!nullary && !binary) break;
      const int start = cur_.pos;
      Advance();  // name
      if (!ok()) return nullptr;
      if (cur_.type != TokenType::kLeftParen) {
        Unexpected(context, kExpected);
        return nullptr;
      }
      Advance();  // '('
      if (!ok()) return nullptr;
      if (nullary) {
        d->op = word == "step" ? DurationExpr::Op::kStep : DurationExpr::Op::kRange;
      } else {
        d->op = (word == "min_of" || word == "min") ? DurationExpr::Op::kMinOf
                                                    : DurationExpr::Op::kMaxOf;
        d->lhs = ParseDurExpr(0, context);
        if (!ok()) return nullptr;
        if (cur_.type != TokenType::kComma) {
          Unexpected(context, "\",\"");
          return nullptr;
        }
        Advance();
        if (!ok()) return nullptr;
        d->rhs = ParseDurExpr(0, context);
        if (!ok()) return nullptr;
      }
      if (cur_.type != TokenType::kRightParen) {
        Unexpected(context, "\")\"");
        return nullptr;
      }
      d->pos = {start, cur_.end()};
      last_end_ = cur_.end();
      if (!Track(d.get(), {d->lhs.get(), d->rhs.get()}, start)) return nullptr;
      Advance();
      if (!ok()) return nullptr;
      return d;
    }
    default:
      break;
  }
  Unexpected(context, kExpected);
  return nullptr;
}

// ---- Type checks ----

void Parser::ExpectType(Expr& e, ValueType want, std::string_view context) {
  const ValueType t = Check(e);
  if (!ok()) return;
  if (t != want) {
    Fail(e.pos.start, absl::StrCat("expected type ", A(DocumentedTypeName(want)), " in ",
                                   A(context), ", got ", A(DocumentedTypeName(t))));
  }
}

bool Parser::CheckVectorSelector(VectorSelector& vs) {
  if (!vs.name.empty()) {
    for (size_t i = 0; i + 1 < vs.matchers.size(); ++i) {
      const auto& m = vs.matchers[i];
      if (m.name() == tsdb::kMetricNameLabel) {
        Fail(vs.pos.start, absl::StrCat("metric name must not be set twice: ", GoQuote(vs.name),
                                        " or ", GoQuote(m.value())));
        return false;
      }
    }
    return true;
  }
  if (!vs.bypass_empty_matcher_check) {
    bool not_empty = false;
    for (const auto& m : vs.matchers) {
      if (!m.MatchesEmpty()) {
        not_empty = true;
        break;
      }
    }
    if (!not_empty) {
      Fail(vs.pos.start, "vector selector must contain at least one non-empty matcher");
      return false;
    }
  }
  return true;
}

ValueType Parser::Check(Expr& e) {
  const ValueType typ = e.type();
  if (!ok()) return typ;
  switch (e.kind()) {
    case ExprKind::kAggregate: {
      auto& a = e.As<AggregateExpr>();
      ExpectType(*a.expr, ValueType::kVector, "aggregation expression");
      if (!ok()) break;
      switch (a.op) {
        case AggregateOp::kTopk:
        case AggregateOp::kBottomk:
        case AggregateOp::kQuantile:
        case AggregateOp::kLimitk:
        case AggregateOp::kLimitRatio:
          ExpectType(*a.param, ValueType::kScalar, "aggregation parameter");
          break;
        case AggregateOp::kCountValues:
          ExpectType(*a.param, ValueType::kString, "aggregation parameter");
          break;
        default:
          break;
      }
      break;
    }
    case ExprKind::kBinary: {
      auto& b = e.As<BinaryExpr>();
      const ValueType lt = Check(*b.lhs);
      if (!ok()) break;
      const ValueType rt = Check(*b.rhs);
      if (!ok()) break;
      auto op_pos = [&] {
        int p = b.lhs->pos.end;
        while (p < static_cast<int>(input_.size()) && IsSpaceChar(input_[static_cast<size_t>(p)])) {
          ++p;
        }
        return p;
      };
      if (b.return_bool && !IsComparisonOp(b.op)) {
        Fail(op_pos(), "bool modifier can only be used on comparison operators");
        break;
      }
      if (IsComparisonOp(b.op) && !b.return_bool && b.lhs->type() == ValueType::kScalar &&
          b.rhs->type() == ValueType::kScalar) {
        Fail(op_pos(), "comparisons between scalars must use BOOL modifier");
        break;
      }
      VectorMatching& vm = *b.matching;
      if (IsSetOp(b.op) && vm.card == MatchCardinality::kOneToOne) {
        vm.card = MatchCardinality::kManyToMany;
      }
      if (vm.on) {
        for (const std::string& l1 : vm.matching_labels) {
          for (const std::string& l2 : vm.include) {
            if (l1 == l2) {
              Fail(op_pos(), absl::StrCat("label ", GoQuote(l1),
                                          " must not occur in ON and GROUP clause at once"));
              return typ;
            }
          }
        }
      }
      if (lt != ValueType::kScalar && lt != ValueType::kVector) {
        Fail(b.lhs->pos.start,
             "binary expression must contain only scalar and instant vector types");
        break;
      }
      if (rt != ValueType::kScalar && rt != ValueType::kVector) {
        Fail(b.rhs->pos.start,
             "binary expression must contain only scalar and instant vector types");
        break;
      }
      const std::string_view op_name = BinaryOpName(b.op);
      if (lt != ValueType::kVector || rt != ValueType::kVector) {
        if (!vm.matching_labels.empty()) {
          Fail(b.pos.start, "vector matching only allowed between instant vectors");
          break;
        }
        if (vm.fill_lhs.has_value() || vm.fill_rhs.has_value()) {
          Fail(b.pos.start, "filling in missing series only allowed between instant vectors");
          break;
        }
        b.matching.reset();
      } else if (IsSetOp(b.op)) {
        if (vm.card == MatchCardinality::kOneToMany || vm.card == MatchCardinality::kManyToOne) {
          Fail(b.pos.start,
               absl::StrCat("no grouping allowed for ", GoQuote(op_name), " operation"));
          break;
        }
        if (vm.card != MatchCardinality::kManyToMany) {
          Fail(b.pos.start, "set operations must always be many-to-many");
          break;
        }
        if (vm.fill_lhs.has_value() || vm.fill_rhs.has_value()) {
          Fail(b.pos.start, "filling in missing series not allowed for set operators");
          break;
        }
      }
      if ((lt == ValueType::kScalar || rt == ValueType::kScalar) && IsSetOp(b.op)) {
        Fail(b.pos.start, absl::StrCat("set operator ", GoQuote(op_name),
                                       " not allowed in binary scalar expression"));
      }
      break;
    }
    case ExprKind::kCall: {
      auto& c = e.As<CallExpr>();
      const FunctionInfo& f = *c.func;
      const int nargs = static_cast<int>(f.arg_types.size());
      const int got = static_cast<int>(c.args.size());
      const std::string fname = GoQuote(f.name);
      if (f.variadic == 0) {
        if (nargs != got) {
          Fail(c.pos.start,
               absl::StrFormat("expected %d argument(s) in call to %s, got %d", nargs, fname, got));
          break;
        }
      } else {
        const int na = nargs - 1;
        if (na > got) {
          Fail(c.pos.start,
               absl::StrFormat("expected at least %d argument(s) in call to %s, got %d", na, fname,
                               got));
          break;
        }
        if (f.variadic > 0 && na + f.variadic < got) {
          Fail(c.pos.start, absl::StrFormat("expected at most %d argument(s) in call to %s, got %d",
                                            na + f.variadic, fname, got));
          break;
        }
      }
      if (f.name == "info" && got > 1) {
        Expr& second = *c.args[1];
        if (second.type() != ValueType::kVector) {
          Fail(c.pos.start,
               absl::StrCat("expected type instant vector in call to function \"info\", got ",
                            A(DocumentedTypeName(second.type()))));
          break;
        }
        if (second.kind() == ExprKind::kVectorSelector) {
          auto& vs = second.As<VectorSelector>();
          if (!vs.name.empty()) {
            Fail(second.pos.start, "expected label selectors only, got vector selector instead");
            break;
          }
          vs.bypass_empty_matcher_check = true;
        } else {
          Fail(second.pos.start, "expected label selectors only");
          break;
        }
      }
      for (int i = 0; i < got && ok(); ++i) {
        int k = i;
        if (k >= nargs) {
          if (f.variadic == 0) break;
          k = nargs - 1;
        }
        const ValueType t = Check(*c.args[static_cast<size_t>(i)]);
        if (!ok()) break;
        if (t != f.arg_types[static_cast<size_t>(k)]) {
          Fail(c.args[static_cast<size_t>(i)]->pos.start,
               absl::StrCat("expected type ",
                            A(DocumentedTypeName(f.arg_types[static_cast<size_t>(k)])),
                            " in call to function ", fname, ", got ", A(DocumentedTypeName(t))));
        }
      }
      break;
    }
    case ExprKind::kParen:
      Check(*e.As<ParenExpr>().expr);
      break;
    case ExprKind::kUnary: {
      const ValueType t = Check(*e.As<UnaryExpr>().expr);
      if (ok() && t != ValueType::kScalar && t != ValueType::kVector) {
        Fail(e.pos.start, absl::StrCat("unary expression only allowed on expressions of type "
                                       "scalar or instant vector, got ",
                                       GoQuote(DocumentedTypeName(t))));
      }
      break;
    }
    case ExprKind::kSubquery: {
      const ValueType t = Check(*e.As<SubqueryExpr>().expr);
      if (ok() && t != ValueType::kVector) {
        Fail(e.pos.start, absl::StrCat("subquery is only allowed on instant vector, got ",
                                       A(ValueTypeName(t)), " instead"));
      }
      break;
    }
    case ExprKind::kMatrixSelector:
      Check(*e.As<MatrixSelector>().vector_selector);
      break;
    case ExprKind::kVectorSelector:
      CheckVectorSelector(e.As<VectorSelector>());
      break;
    case ExprKind::kStepInvariant:
      Check(*e.As<StepInvariantExpr>().expr);
      break;
    case ExprKind::kNumberLiteral:
    case ExprKind::kStringLiteral:
      break;
  }
  return typ;
}

// ---- Selector-only entry points ----

absl::StatusOr<std::vector<tsdb::LabelMatcher>> Parser::ParseSelectorOnly() {
  if (!ok()) return status_;
  std::unique_ptr<Expr> e;
  if (cur_.type == TokenType::kLeftBrace) {
    e = ParseVectorSelector(false);
  } else if (IsMetricNameToken(cur_)) {
    e = ParseVectorSelector(true);
  } else {
    Unexpected("", "");
  }
  if (!ok()) return status_;
  if (cur_.type != TokenType::kEOF) {
    Unexpected("", "");
    return status_;
  }
  auto& vs = e->As<VectorSelector>();
  if (!CheckVectorSelector(vs)) return status_;
  return std::move(vs.matchers);
}

absl::StatusOr<tsdb::Labels> Parser::ParseMetricOnly() {
  if (!ok()) return status_;
  std::vector<tsdb::Label> labels;
  std::string name;
  bool has_name = false;
  if (cur_.type == TokenType::kIdentifier || cur_.type == TokenType::kMetricIdentifier ||
      (cur_.type == TokenType::kNumber && !cur_.text.empty() &&
       absl::ascii_isalpha(static_cast<unsigned char>(cur_.text[0])))) {
    name = std::string(cur_.text);
    has_name = true;
    Advance();
  }
  if (ok() && cur_.type == TokenType::kLeftBrace) {
    Advance();
    while (ok()) {
      if (cur_.type == TokenType::kRightBrace) {
        Advance();
        break;
      }
      if (cur_.type != TokenType::kIdentifier && cur_.type != TokenType::kString) {
        Unexpected("label set", "identifier or \"}\"");
        break;
      }
      const Token label = cur_;
      std::string label_name(label.text);
      if (label.type == TokenType::kString) {
        auto s = UnquoteString(label.text);
        if (!s.ok()) {
          Fail(label.pos, std::string(s.status().message()));
          break;
        }
        label_name = std::move(*s);
      }
      Advance();
      if (!ok()) break;
      if (cur_.type == TokenType::kEql) {
        Advance();
        if (!ok()) break;
        if (cur_.type != TokenType::kString) {
          Unexpected("label set", "string");
          break;
        }
        auto v = UnquoteString(cur_.text);
        if (!v.ok()) {
          Fail(cur_.pos, std::string(v.status().message()));
          break;
        }
        labels.push_back({std::move(label_name), std::move(*v)});
        Advance();
        if (!ok()) break;
      } else if (label.type == TokenType::kString) {
        if (has_name) {
          Fail(label.pos, absl::StrCat("metric name must not be set twice: ", GoQuote(name), " or ",
                                       GoQuote(label_name)));
          break;
        }
        name = std::move(label_name);
        has_name = true;
      } else {
        Unexpected("label set", "\"=\"");
        break;
      }
      if (cur_.type == TokenType::kComma) {
        Advance();
      } else if (cur_.type != TokenType::kRightBrace) {
        Unexpected("label set", "\",\" or \"}\"");
        break;
      }
    }
  }
  if (!ok()) return status_;
  if (cur_.type != TokenType::kEOF) {
    Unexpected("", "");
    return status_;
  }
  if (has_name) labels.push_back({std::string(tsdb::kMetricNameLabel), name});
  return tsdb::Labels(std::move(labels));
}

}  // namespace
}  // namespace parser

absl::StatusOr<std::unique_ptr<Expr>> ParseExpr(std::string_view input,
                                                const ParseOptions& options) {
  parser::Parser p(input, options);
  return p.ParseTop();
}

absl::StatusOr<std::vector<tsdb::LabelMatcher>> ParseMetricSelector(std::string_view input) {
  parser::Parser p(input, ParseOptions());
  return p.ParseSelectorOnly();
}

absl::StatusOr<tsdb::Labels> ParseMetric(std::string_view input) {
  parser::Parser p(input, ParseOptions());
  return p.ParseMetricOnly();
}

absl::StatusOr<int64_t> ParseDuration(std::string_view text) {
  return parser::ParseDurationMs(text);
}

}  // namespace promql
