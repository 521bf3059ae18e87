// The query templates of prometheus-adapter rules: Go text/template with "<<" and ">>" as
// delimiters, e.g.
//   sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)
//
// A real template engine for the part of Go's language that rules use, with Go's semantics and
// output formatting:
//   actions      <<.Field>>  <<$>>  <<$var>>  <<$var := pipeline>>  <<$var = pipeline>>
//                <</* comment */>>  trim markers "<<- " and " ->>"
//   control      if / else if / else / end, range (over slices and maps, with "$i, $v :=" or
//                one variable, "." rebound to the element, else for empty), with / else / end,
//                break and continue inside range
//   pipelines    cmd | cmd (the previous value becomes the last argument); parenthesised
//                pipelines as arguments; string ("..." and `...`), integer and boolean literals
//   functions    index, len, eq, ne, lt, le, gt, ge, and, or, not, print, printf, println,
//                urlquery, join
// `join` takes the separator first, so both `<<join "," .GroupBySlice>>` and
// `<<.GroupBySlice | join ",">>` work. Printing follows Go's fmt: strings as they are, slices as
// "[a b]", maps as "map[k1:v1 k2:v2]" with sorted keys, booleans "true"/"false".
// A missing map key reads as "" (Go's zero value), both as `<<index .M "k">>` and as `<<.M.k>>`
// (where Go would print "<no value>"); `index` on a slice out of range is an execution error.
// Also as in current Go: `else with`, range over an integer, number literals in Go syntax
// (0x1F, 1_000, 'a', 1.5), `nil` as an argument of the print functions.
//
// Everything else (define, template, block, other functions, method calls, chained fields of
// non-maps) is rejected by Parse, as is a field not in the template's declared field set, so a
// rule cannot silently render a wrong query: rules are checked when the configuration loads.
// Parse checks field names where "." is the data (outside with/range bodies, and always after
// `$`); what needs the values' types (a field of a string such as `.Series.x`, a field of a range
// element) is an execution error. Nesting deeper than 100 (control structures and parentheses)
// is a parse error, so no input can exhaust the stack; an execution that takes more than a
// million steps or produces more than 16 MiB fails, so none can run away.
#ifndef METRICS_ADAPTER_ADAPTER_RULES_TEMPLATE_H_
#define METRICS_ADAPTER_ADAPTER_RULES_TEMPLATE_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace rules {

// A value a template sees as a field of "." (Go: string, []string, map[string]string).
using TemplateValue =
    std::variant<std::string, std::vector<std::string>, std::map<std::string, std::string>>;

// The fields of the data "." refers to, by name ("Series", "LabelMatchers", ...).
using TemplateData = std::map<std::string, TemplateValue, std::less<>>;

class Template {
 public:
  // Parses text. `fields` are the field names the template may use (".Series"); any other name
  // is an error. Errors give the 1-based line:column in text and say what is wrong:
  //   `1:14: function "toUpper" not defined`, `2:3: unexpected <<end>>`,
  //   `1:5: can't evaluate field Serie (known: GroupBy, LabelMatchers, Series)`.
  static absl::StatusOr<Template> Parse(std::string_view text,
                                        const std::vector<std::string>& fields);

  // Renders the template with data. Fields declared at Parse but absent from data render as
  // the empty string. Errors (index out of range, comparing incomparable values, a non-string
  // where join needs strings) name the line:column.
  absl::StatusOr<std::string> Execute(const TemplateData& data) const;

  // The source text given to Parse.
  const std::string& text() const;

  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;
  Template(const Template&);
  Template& operator=(const Template&);
  ~Template();

 private:
  struct Tree;
  explicit Template(std::shared_ptr<const Tree> tree);
  std::shared_ptr<const Tree> tree_;  // immutable once parsed; copies share it
};

}  // namespace rules

#endif  // METRICS_ADAPTER_ADAPTER_RULES_TEMPLATE_H_
