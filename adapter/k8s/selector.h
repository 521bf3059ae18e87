// Kubernetes label selectors (k8s.io/apimachinery/pkg/labels), as HPAs send them in the
// labelSelector and metricLabelSelector query parameters, and as LabelSelector objects
// ({"matchLabels":…,"matchExpressions":[…]}) appear in API replies.
//
// Syntax (labels.Parse): requirements separated by commas, whitespace allowed around tokens:
//   key=value  key==value  key!=value  key in (v1,v2)  key notin (v1,v2)  key  !key
//   key>N  key<N   (N an integer; accepted by the parser, as Kubernetes does)
// Keys are qualified names with an optional DNS-subdomain prefix ("app.kubernetes.io/name");
// values are empty or label values (<= 63 characters, [A-Za-z0-9] at both ends, [-_.A-Za-z0-9]
// inside). The empty string selects everything. One deliberate difference: Kubernetes' lexer
// stops at a NUL byte and ignores the rest of the text; here a NUL is part of the token and
// fails validation.
#ifndef METRICS_ADAPTER_ADAPTER_K8S_SELECTOR_H_
#define METRICS_ADAPTER_ADAPTER_K8S_SELECTOR_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace k8s {

enum class SelectorOp {
  kEquals,        // key=value
  kDoubleEquals,  // key==value
  kNotEquals,     // key!=value
  kIn,            // key in (a,b)
  kNotIn,         // key notin (a,b)
  kExists,        // key
  kDoesNotExist,  // !key
  kGreaterThan,   // key>N
  kLessThan,      // key<N
};

struct Requirement {
  std::string key;
  SelectorOp op = SelectorOp::kEquals;
  // Sorted and deduplicated for kIn/kNotIn; one value for the (in)equality and comparison
  // operators; empty for kExists/kDoesNotExist.
  std::vector<std::string> values;

  bool operator==(const Requirement&) const = default;
};

// Looks up a label of the object being matched: its value, or nullopt when the label is absent.
using LabelLookup = std::function<std::optional<std::string_view>(std::string_view key)>;

class LabelSelector {
 public:
  // The selector that selects everything.
  LabelSelector() = default;

  // Parses the text form. Errors name the offending requirement and the byte offset, e.g.
  // `unable to parse requirement: found 'in', expected: ',' or ')' (at offset 12)`.
  static absl::StatusOr<LabelSelector> Parse(std::string_view text);

  // Requirements sorted by key (stable for equal keys), as Kubernetes orders them.
  const std::vector<Requirement>& requirements() const { return requirements_; }
  bool empty() const { return requirements_.empty(); }

  // Kubernetes' Matches: every requirement holds. kNotEquals and kNotIn hold for an absent
  // label; kGreaterThan/kLessThan need a present label whose value parses as an integer.
  bool Matches(const LabelLookup& lookup) const;

  // The canonical text form (labels.Selector.String()): requirements in order, joined by ",",
  // "in"/"notin" with their sorted values in parentheses: "a=b,c in (x,y),!d".
  std::string String() const;

  // The LabelSelector object of the Kubernetes API as JSON: {"matchLabels":{...}} for
  // equality requirements and {"matchExpressions":[{"key","operator","values"}]} for the rest
  // (operators In, NotIn, Exists, DoesNotExist, Gt, Lt), either key left out when empty;
  // "null" for the empty selector. != becomes NotIn with its one value (same meaning); a
  // second equality on a key already in matchLabels becomes In with its one value, so that
  // the object selects exactly what the text does.
  std::string ToJson() const;

 private:
  std::vector<Requirement> requirements_;
};

}  // namespace k8s

#endif  // METRICS_ADAPTER_ADAPTER_K8S_SELECTOR_H_
