// The PromQL lexer. Internal to the parser (promql/parser/parser.cc), exposed for tests.
//
// Like Prometheus' lexer (promql/parser/lex.go) it is stateful: it tracks open braces (inside
// which keywords are plain identifiers and only matcher operators exist), open brackets (inside
// which a duration expression is read) and the parenthesis depth (to report an unclosed '(' at
// the end of input). Errors come back as a kError token whose text is Prometheus' message and
// whose position is where the offending token starts; after an error the lexer only returns
// kEOF. Comments (`# ...` to the end of the line) are skipped.
#ifndef METRICS_ADAPTER_PROMQL_PARSER_LEXER_H_
#define METRICS_ADAPTER_PROMQL_PARSER_LEXER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace promql::parser {

enum class TokenType {
  kEOF,
  kError,
  kIdentifier,        // foo, also keywords (see Keyword)
  kMetricIdentifier,  // foo:bar (contains a colon)
  kNumber,            // 1, 0x1f, 1e3, .5, Inf, NaN
  kDuration,          // 5m, 1h30m
  kString,            // "...", '...', `...` (text includes the quotes)
  kLeftParen,
  kRightParen,
  kLeftBrace,
  kRightBrace,
  kLeftBracket,
  kRightBracket,
  kComma,
  kColon,
  kEql,       // =
  kEqlRegex,  // =~
  kNeqRegex,  // !~
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kEqlc,  // ==
  kNeq,   // !=
  kLss,
  kLte,
  kGtr,
  kGte,
  kTrimUpper,  // </
  kTrimLower,  // >/
  kAt,
};

// Words with a meaning outside braces. The lexer recognises them case-insensitively (as
// Prometheus does); whether one acts as a keyword or a metric/label name is up to the parser.
enum class Keyword {
  kNone,
  // Operators.
  kAnd,
  kOr,
  kUnless,
  kAtan2,
  // Aggregators.
  kSum,
  kAvg,
  kCount,
  kMin,
  kMax,
  kGroup,
  kStddev,
  kStdvar,
  kTopk,
  kBottomk,
  kCountValues,
  kQuantile,
  kLimitk,
  kLimitRatio,
  // Keywords.
  kOffset,
  kSmoothed,
  kAnchored,
  kBy,
  kWithout,
  kOn,
  kIgnoring,
  kGroupLeft,
  kGroupRight,
  kBool,
  kFill,
  kFillLeft,
  kFillRight,
  // Preprocessors.
  kStart,
  kEnd,
  kStep,
};

bool IsAggregatorKeyword(Keyword k);
bool IsOperatorKeyword(Keyword k);  // and, or, unless, atan2

struct Token {
  TokenType type = TokenType::kEOF;
  int pos = 0;            // byte offset of the first character
  std::string_view text;  // the token's text in the input (for kError: empty)
  Keyword keyword = Keyword::kNone;
  std::string error;  // kError only: the message

  int end() const { return pos + static_cast<int>(text.size()); }
};

// Prometheus' description of a token in "unexpected ..." messages: `<op:*>`, `<aggr:sum>`,
// `<by>`, `identifier "foo"`, `number "1"`, `string "\"x\""`, `"("`, `end of input`.
std::string DescribeToken(const Token& tok);

class Lexer {
 public:
  explicit Lexer(std::string_view input) : input_(input) {}

  // Returns the next token (comments skipped).
  Token Next();

  std::string_view input() const { return input_; }

 private:
  Token LexStatement();
  Token LexInsideBraces();
  Token LexInsideBrackets();
  Token LexNumberOrDuration();
  Token LexString(char quote);
  Token LexWord(bool allow_colon);
  bool ScanNumber();
  bool AcceptRemainingDuration();
  void SkipComment();

  Token Emit(TokenType type);
  Token Error(std::string message);

  // Rune-level helpers over bytes; next() returns -1 at the end of input.
  int NextRune();
  int PeekRune();
  void Backup() { pos_ -= width_; }
  bool Accept(std::string_view valid);
  bool Is(std::string_view valid);

  std::string_view input_;
  int pos_ = 0;
  int start_ = 0;
  int width_ = 0;
  int paren_depth_ = 0;
  bool brace_open_ = false;
  bool bracket_open_ = false;
  bool got_colon_ = false;
  bool got_duration_ = false;     // inside brackets: something precedes a :
  bool last_was_number_ = false;  // inside brackets: the previous token was a number/duration
  bool done_ = false;             // after an error or EOF
};

// Go-style string quoting as Prometheus' %q does it (strconv.Quote): "a\"b\n".
std::string GoQuote(std::string_view s);
// Go's %q for a single rune: 'a', '\n', '\x00'.
std::string GoQuoteRune(int rune);

// Unquotes a PromQL string literal (with its quotes), interpreting Go escapes in "..." and '...'
// and nothing in `...`. The lexer has validated the escapes already.
absl::StatusOr<std::string> UnquoteString(std::string_view quoted);

// Prometheus' model.ParseDuration: "1h30m", "500ms", "1y2w3d", "0". Units in strictly decreasing
// order; returns milliseconds. Errors: `not a valid duration string: "5m1h"`,
// `unknown unit "hs" in duration "5y1hs"`, `duration out of range`.
absl::StatusOr<int64_t> ParseDurationMs(std::string_view text);

// Parses a number token's text as Prometheus does (ParseInt with base prefix, then ParseFloat;
// underscores between digits allowed). Error text: `error parsing number: ...`.
absl::StatusOr<double> ParseNumber(std::string_view text);

}  // namespace promql::parser

#endif  // METRICS_ADAPTER_PROMQL_PARSER_LEXER_H_
