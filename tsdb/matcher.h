// LabelMatcher: one condition on a label value (=, !=, =~, !~) with Prometheus semantics: regular
// expressions are RE2, fully anchored, and an absent label matches as the empty string, so a
// matcher that accepts "" also selects series without that label.
#ifndef METRICS_ADAPTER_TSDB_MATCHER_H_
#define METRICS_ADAPTER_TSDB_MATCHER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace re2 {
class RE2;
}

namespace tsdb {

class LabelMatcher {
 public:
  enum class Type { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

  // Fails with a message naming the label and the regex error for an invalid regex.
  static absl::StatusOr<LabelMatcher> Make(Type type, std::string name, std::string value);

  bool Matches(std::string_view value) const;
  bool MatchesEmpty() const { return matches_empty_; }

  Type type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }
  // For regex matchers: [min, max] bounds every matching string lies within, when RE2 can tell
  // (e.g. from a literal prefix). Used to range-scan sorted label values.
  bool PossibleMatchRange(std::string* min, std::string* max) const;
  // For =~ matchers made of literal alternatives ("a|b|c"): the alternatives; empty otherwise.
  const std::vector<std::string>& SetMatches() const { return set_matches_; }

  // Prometheus' text form: name="value", name=~"re", ...
  std::string ToString() const;

 private:
  LabelMatcher(Type type, std::string name, std::string value);
  Type type_;
  std::string name_;
  std::string value_;
  std::shared_ptr<const re2::RE2> re_;
  std::vector<std::string> set_matches_;
  bool matches_empty_ = false;
};

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_MATCHER_H_
