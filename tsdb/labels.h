// Labels: the identity of a series, a set of name/value pairs sorted by name, including
// "__name__" for the metric name. As in Prometheus, a label with an empty value is the same as an
// absent label, so Labels never hold empty values.
#ifndef METRICS_ADAPTER_TSDB_LABELS_H_
#define METRICS_ADAPTER_TSDB_LABELS_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tsdb {

inline constexpr std::string_view kMetricNameLabel = "__name__";

struct Label {
  std::string name;
  std::string value;

  friend bool operator==(const Label&, const Label&) = default;
  friend auto operator<=>(const Label&, const Label&) = default;
};

class Labels {
 public:
  Labels() = default;
  // Sorts the pairs by name and drops empty values. Does not validate: see Validate().
  // Duplicate names keep the last occurrence.
  Labels(std::initializer_list<Label> labels);
  explicit Labels(std::vector<Label> labels);
  // Takes pairs already sorted by unique name with no empty value, as stored series have them;
  // skips the normalisation.
  static Labels FromSorted(std::vector<Label> labels) {
    Labels out;
    out.labels_ = std::move(labels);
    return out;
  }

  // Checks names (legacy Prometheus charset: [a-zA-Z_][a-zA-Z0-9_]*, the metric name also ':'),
  // UTF-8 values and that a metric name is present when required. The error names the label.
  absl::Status Validate(bool require_metric_name = true) const;

  // The value of name, or "" when absent.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const { return !Get(name).empty(); }
  std::string_view MetricName() const { return Get(kMetricNameLabel); }

  // Returns a copy with name set to value (removed when value is empty).
  Labels With(std::string_view name, std::string_view value) const;
  Labels Without(std::string_view name) const;

  // A stable 64-bit hash of the pairs (xxhash-like quality; not persisted).
  uint64_t Hash() const;

  // Prometheus' text form: name{a="b", c="d"} with escaped values; {a="b"} without a name.
  std::string ToString() const;

  size_t size() const { return labels_.size(); }
  bool empty() const { return labels_.empty(); }
  const Label& operator[](size_t i) const { return labels_[i]; }
  std::vector<Label>::const_iterator begin() const { return labels_.begin(); }
  std::vector<Label>::const_iterator end() const { return labels_.end(); }
  const std::vector<Label>& pairs() const { return labels_; }

  friend bool operator==(const Labels&, const Labels&) = default;
  friend auto operator<=>(const Labels& a, const Labels& b) { return a.labels_ <=> b.labels_; }

 private:
  void Normalize();
  std::vector<Label> labels_;
};

bool IsValidLabelName(std::string_view name);
bool IsValidMetricName(std::string_view name);

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_LABELS_H_
