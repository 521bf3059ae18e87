#include "tsdb/labels.h"

#include <algorithm>
#include <tuple>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "tsdb/utf8.h"

namespace tsdb {
namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

void AppendEscaped(std::string* out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '"':
        out->append("\\\"");
        break;
      case '\n':
        out->append("\\n");
        break;
      default:
        out->push_back(c);
    }
  }
}

}  // namespace

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(), IsNameChar);
}

bool IsValidMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [](char c) { return IsNameChar(c) || c == ':'; });
}

Labels::Labels(std::initializer_list<Label> labels) : labels_(labels) { Normalize(); }
Labels::Labels(std::vector<Label> labels) : labels_(std::move(labels)) { Normalize(); }

void Labels::Normalize() {
  std::stable_sort(labels_.begin(), labels_.end(),
                   [](const Label& a, const Label& b) { return a.name < b.name; });
  // Keep the last of equal names, then drop empty values.
  std::vector<Label> out;
  out.reserve(labels_.size());
  for (auto& l : labels_) {
    if (!out.empty() && out.back().name == l.name) {
      out.back() = std::move(l);
    } else {
      out.push_back(std::move(l));
    }
  }
  std::erase_if(out, [](const Label& l) { return l.value.empty(); });
  labels_ = std::move(out);
}

absl::Status Labels::Validate(bool require_metric_name) const {
  bool has_name = false;
  for (const Label& l : labels_) {
    if (l.name == kMetricNameLabel) {
      has_name = true;
      if (!IsValidMetricName(l.value)) {
        return absl::InvalidArgumentError(absl::StrCat("invalid metric name \"", l.value, "\""));
      }
      continue;
    }
    if (!IsValidLabelName(l.name)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid label name \"", l.name, "\""));
    }
    if (size_t at = FindInvalidUtf8(l.value); at != std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("label ", l.name, ": value is not valid UTF-8 at byte ", at));
    }
  }
  if (require_metric_name && !has_name) {
    return absl::InvalidArgumentError(absl::StrCat("series ", ToString(), " has no metric name"));
  }
  return absl::OkStatus();
}

std::string_view Labels::Get(std::string_view name) const {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it != labels_.end() && it->name == name) return it->value;
  return {};
}

Labels Labels::With(std::string_view name, std::string_view value) const {
  std::vector<Label> copy = labels_;
  copy.push_back({std::string(name), std::string(value)});
  return Labels(std::move(copy));
}

Labels Labels::Without(std::string_view name) const {
  Labels out;
  out.labels_.reserve(labels_.size());
  for (const Label& l : labels_) {
    if (l.name != name) out.labels_.push_back(l);
  }
  return out;
}

uint64_t Labels::Hash() const {
  size_t h = 0;
  for (const Label& l : labels_) {
    h = absl::Hash<std::tuple<size_t, std::string_view, std::string_view>>{}(
        std::make_tuple(h, std::string_view(l.name), std::string_view(l.value)));
  }
  return static_cast<uint64_t>(h);
}

std::string Labels::ToString() const {
  std::string out(MetricName());
  out.push_back('{');
  bool first = true;
  for (const Label& l : labels_) {
    if (l.name == kMetricNameLabel) continue;
    if (!first) out.append(", ");
    first = false;
    absl::StrAppend(&out, l.name, "=\"");
    AppendEscaped(&out, l.value);
    out.push_back('"');
  }
  out.push_back('}');
  if (out.size() > 2 && out.ends_with("{}") && !MetricName().empty()) out.resize(out.size() - 2);
  return out;
}

}  // namespace tsdb
