// The pieces of a rule that turn Prometheus series into API metrics and back (prometheus-adapter's
// pkg/naming): the metric name filters and namer, and the label <-> resource converter. Shared by
// the configuration loader (which compiles them to validate a rule) and the registry.
#ifndef METRICS_ADAPTER_ADAPTER_RULES_NAMING_H_
#define METRICS_ADAPTER_ADAPTER_RULES_NAMING_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "adapter/k8s/resources.h"
#include "adapter/rules/template.h"

namespace re2 {
class RE2;
}

namespace rules {

// Compiles `pattern` as Go's regexp.Compile would (RE2 syntax). The error text follows Go's
// "error parsing regexp: <what>: `<where>`" shape as far as RE2 tells.
absl::StatusOr<std::shared_ptr<const re2::RE2>> CompileRegex(std::string_view pattern);

// Go's Regexp.MatchString: unanchored search.
bool RegexMatches(const re2::RE2& re, std::string_view text);

// One seriesFilters entry.
class SeriesFilter {
 public:
  // Exactly one of is / is_not must be non-empty.
  static absl::StatusOr<SeriesFilter> Create(std::string_view is, std::string_view is_not);
  bool Passes(std::string_view metric_name) const;

 private:
  std::shared_ptr<const re2::RE2> re_;
  bool want_match_ = true;
};

// name.matches / name.as: filters metric names (the implicit `is: matches` filter) and computes
// the API name with Go's Regexp.ExpandString semantics: "$1", "${1}", "$name", "${name}", "$$"
// for a literal "$"; a "$" not followed by a valid reference is kept literally. Only the
// expansion of `as` is the name (not the rest of the metric name).
class MetricNamer {
 public:
  // matches "" means ".*"; as "" means "$0" (no group) or "$1" (one group), an error with more.
  // References in `as` to groups `matches` does not have are errors (Go would expand them to "").
  static absl::StatusOr<MetricNamer> Create(std::string_view matches, std::string_view as);

  // The API name for a metric name, nullopt when `matches` does not match it.
  std::optional<std::string> NameFor(std::string_view metric_name) const;

  const std::string& as() const { return as_; }

 private:
  std::shared_ptr<const re2::RE2> re_;
  std::string as_;
};

// Go's regexp.QuoteMeta: escapes \.+*?()|[]{}^$ so the text matches literally in RE2 syntax.
std::string QuoteRegex(std::string_view text);

// The label-name <-> resource association of one rule (prometheus-adapter's ResourceConverter):
// overrides first, then the template.
class ResourceConverter {
 public:
  // `overrides`: label -> resolved resource, in file order. `label_template` may be empty (no
  // template). Fails when the template does not parse or renders to an empty label pattern.
  static absl::StatusOr<ResourceConverter> Create(
      std::string_view label_template,
      std::vector<std::pair<std::string, k8s::GroupResource>> overrides);

  // The resource a label names: the override for it, else the template's match resolved through
  // the mapper (group from the template or "" = any group); nullopt for labels naming no known
  // resource.
  std::optional<k8s::ResourceInfo> ResourceForLabel(std::string_view label,
                                                    const k8s::ResourceMapper& mapper) const;

  // The label that names objects of `resource` (normalized): the first override for it, else the
  // template rendered with .Group (dots and dashes replaced by "_") and .Resource (the singular).
  // Errors when neither applies or the label comes out empty.
  absl::StatusOr<std::string> LabelForResource(const k8s::GroupResource& resource,
                                               const k8s::ResourceMapper& mapper) const;

  bool has_template() const { return label_template_.has_value(); }

 private:
  std::optional<Template> label_template_;
  std::shared_ptr<const re2::RE2> label_regex_;  // the template as ^...$ with (.+?) groups
  int group_index_ = 0;                          // capture group of .Group, 0 if none
  int resource_index_ = 0;                       // capture group of .Resource, 0 if none
  std::vector<std::pair<std::string, k8s::GroupResource>> overrides_;
};

}  // namespace rules

#endif  // METRICS_ADAPTER_ADAPTER_RULES_NAMING_H_
