// A pull parser for the two text exposition formats: the Prometheus text format 0.0.4 and
// OpenMetrics 1.0 text. Used by the scraper on every scrape and by bulk import, so the hot path
// makes no heap allocation per sample: names, label values and help texts are string_views into
// the input (or, when a label value holds escapes, into a buffer owned by the parser and reused).
//
// Usage:
//
//   scrape::textparse::Parser parser(body, scrape::textparse::Format::kOpenMetrics);
//   while (true) {
//     absl::StatusOr<EntryType> type = parser.Next();
//     if (!type.ok()) return type.status();  // "line 12, column 18: expected '=' after ..."
//     if (*type == EntryType::kEOF) break;
//     if (*type == EntryType::kSeries) Use(parser.entry());
//   }
//
// Acceptance follows Prometheus' parsers (model/textparse as of v2.42, the version promtool's
// `tsdb create-blocks-from openmetrics` uses), with these deliberate differences:
//   * Duplicate label names in one line are a parse error; Prometheus notices them only when
//     appending the sample, and not at all in exemplars.
//   * Label values may not contain a raw line feed (it must be written as \n) in either format.
//   * The text format accepts a last line without a trailing newline and negative timestamps.
//   * A text-format label list needs commas between pairs (Prometheus tolerates their absence);
//     a trailing comma is accepted as Prometheus does.
//   * OpenMetrics timestamps are converted to milliseconds exactly from their decimal digits
//     (digits past the millisecond are cut off, i.e. truncated toward zero, as Prometheus does),
//     so "1.001" is 1001 ms where float arithmetic can give 1000.
// As in Prometheus, OpenMetrics input is held to its exact layout (single spaces, no blank or free
// comment lines, "# EOF" last), exemplars are allowed only on samples named *_total or *_bucket,
// a UNIT must be a suffix of its family name, and family structure is not enforced (a TYPE line
// after samples of that name, or a counter sample without "_total", is accepted); Entry::family
// reports which family a sample belongs to.
// Errors name the 1-based line and column (columns count bytes) and what was expected.
#ifndef METRICS_ADAPTER_SCRAPE_TEXTPARSE_PARSER_H_
#define METRICS_ADAPTER_SCRAPE_TEXTPARSE_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/labels.h"

namespace scrape::textparse {

enum class Format {
  kPrometheusText,  // text/plain; version=0.0.4
  kOpenMetrics,     // application/openmetrics-text; version=1.0.0
};

enum class EntryType {
  kHelp,     // # HELP name text
  kType,     // # TYPE name type
  kUnit,     // # UNIT name unit (OpenMetrics only)
  kComment,  // any other '#' line (text format only; OpenMetrics allows no free comments)
  kSeries,   // one sample
  kEOF,      // end of the exposition: "# EOF" in OpenMetrics, the end of input in the text format
};

enum class MetricType {
  kUnknown,  // "unknown" in OpenMetrics, "untyped" in the text format, or no TYPE line
  kCounter,
  kGauge,
  kHistogram,
  kGaugeHistogram,
  kSummary,
  kInfo,
  kStateset,
};

// The name used in TYPE lines ("untyped" is spelled "unknown").
std::string_view MetricTypeName(MetricType type);

// The rules of the given format for the name in a TYPE line; nullopt when not a type there.
std::optional<MetricType> ParseMetricType(std::string_view text, Format format);

struct LabelPair {
  std::string_view name;
  std::string_view value;  // unescaped
};

struct Exemplar {
  std::span<const LabelPair> labels;
  double value = 0;
  std::optional<int64_t> timestamp_ms;
};

// The current entry. Every view stays valid until the next call to Next() (views into the input
// stay valid as long as the input does, but callers should not rely on which is which).
struct Entry {
  EntryType type = EntryType::kEOF;
  int line = 0;  // 1-based line of the entry

  // kHelp, kType, kUnit: the metric family name. kSeries: the sample name, with its suffix.
  std::string_view name;
  // kHelp: the help text, unescaped. kUnit: the unit (may be empty). kComment: the text after '#'
  // without leading blanks.
  std::string_view text;
  // kType: the declared type. kSeries: the type of the family the sample belongs to.
  MetricType metric_type = MetricType::kUnknown;

  // kSeries only:
  // The family the sample belongs to: the name of the preceding HELP/TYPE/UNIT lines when the
  // sample name is that name plus a suffix its type allows (e.g. "_bucket" for a histogram,
  // "_total" for a counter), otherwise the sample name itself (with type kUnknown).
  std::string_view family;
  // The labels in input order, without the metric name.
  std::span<const LabelPair> labels;
  double value = 0;
  // Milliseconds since the Unix epoch. The text format writes integer milliseconds, OpenMetrics
  // float seconds (converted here).
  std::optional<int64_t> timestamp_ms;
  std::optional<Exemplar> exemplar;
  // The raw bytes of the name and the label list as written ("foo{a=\"b\"}"): a cheap key that
  // identifies the series within one input (different spellings of one label set get different
  // keys; ToLabels() gives the canonical form).
  std::string_view series_text;
  // The column (1-based) right after the value, where a timestamp would start; used by callers
  // that require timestamps to point at the spot.
  int value_end_column = 0;
};

class Parser {
 public:
  // input must outlive the parser and every view it hands out.
  Parser(std::string_view input, Format format);

  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Advances to the next entry and returns its type. Blank lines (text format) are skipped.
  // After kEOF every call returns kEOF again; after an error every call returns the same error.
  // For OpenMetrics, reaching the end of input without "# EOF", or anything after "# EOF", is an
  // error.
  absl::StatusOr<EntryType> Next();

  const Entry& entry() const { return entry_; }
  Format format() const { return format_; }

  // Where and what the last error was (0 / empty before any error); Next()'s status message is
  // "line L, column C: what".
  int error_line() const { return error_line_; }
  int error_column() const { return error_column_; }
  const std::string& error_what() const { return error_what_; }

 private:
  struct Line;  // the line being parsed, defined in parser.cc

  absl::Status Fail(int line, size_t offset_in_line, std::string what);
  absl::Status ParseLine(Line& line, bool* produced);
  absl::Status ParseMetaLine(Line& line);
  absl::Status ParseSeriesLine(Line& line);
  absl::Status ParseLabels(Line& line, size_t& pos, std::vector<LabelPair>& out, bool exemplar);
  absl::Status ParseQuotedValue(Line& line, size_t& pos, std::string_view label,
                                std::string_view* value);
  absl::Status CheckDuplicates(Line& line, std::span<const LabelPair> labels,
                               bool with_metric_name);
  void ResolveFamily();

  std::string_view input_;
  Format format_;
  size_t pos_ = 0;
  int line_no_ = 0;
  bool done_ = false;
  absl::Status error_;
  int error_line_ = 0;
  int error_column_ = 0;
  std::string error_what_;

  Entry entry_;
  std::vector<LabelPair> labels_;
  std::vector<LabelPair> exemplar_labels_;
  std::vector<std::string_view> name_scratch_;  // for duplicate checks of long label lists
  std::string unescaped_;  // unescaped label values and help texts of the current line

  // The family declared by the latest HELP/TYPE/UNIT line or implied by the latest sample.
  std::string_view family_;
  MetricType family_type_ = MetricType::kUnknown;
};

// Parses a sample value as Prometheus does: decimal floats with optional exponent, and
// (case-insensitive) "NaN", "Inf", "+Inf", "-Inf", "Infinity". No hex, no '_', no "+NaN".
// Overflow is an error; underflow gives 0 or a subnormal.
std::optional<double> ParseValue(std::string_view text);

// The labels of a kSeries entry as tsdb::Labels, with __name__ set to the sample name. Empty
// values are dropped, as tsdb::Labels does.
tsdb::Labels ToLabels(const Entry& entry);
// The same, appended to *out (not sorted), reusing its capacity.
void AppendLabels(const Entry& entry, std::vector<tsdb::Label>* out);

}  // namespace scrape::textparse

#endif  // METRICS_ADAPTER_SCRAPE_TEXTPARSE_PARSER_H_
