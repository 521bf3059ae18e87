#include "scrape/metadata.h"

#include <algorithm>
#include <string>
#include <string_view>

namespace scrape {
namespace {

absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

TargetMetadata::Entry* TargetMetadata::Touch(std::string_view family) {
  // Only the writer changes the map, so it may look without the lock.
  auto it = entries_.find(AV(family));
  if (it == entries_.end()) {
    std::lock_guard lock(mu_);
    it = entries_.try_emplace(std::string(family)).first;
  }
  it->second.last_iter = iter_;
  return &it->second;
}

void TargetMetadata::SetType(std::string_view family, textparse::MetricType type) {
  Entry* e = Touch(family);
  if (e->meta.type != type) {
    std::lock_guard lock(mu_);
    e->meta.type = type;
  }
}

void TargetMetadata::SetHelp(std::string_view family, std::string_view help) {
  Entry* e = Touch(family);
  if (e->meta.help != help) {
    std::lock_guard lock(mu_);
    e->meta.help.assign(help);
  }
}

void TargetMetadata::SetUnit(std::string_view family, std::string_view unit) {
  Entry* e = Touch(family);
  if (e->meta.unit != unit) {
    std::lock_guard lock(mu_);
    e->meta.unit.assign(unit);
  }
}

void TargetMetadata::EndScrape() {
  bool stale = false;
  for (const auto& [name, e] : entries_) {
    if (e.last_iter != iter_) {
      stale = true;
      break;
    }
  }
  if (!stale) return;
  std::lock_guard lock(mu_);
  absl::erase_if(entries_, [this](const auto& kv) { return kv.second.last_iter != iter_; });
}

std::map<std::string, MetricMetadata> TargetMetadata::Snapshot() const {
  std::lock_guard lock(mu_);
  std::map<std::string, MetricMetadata> out;
  for (const auto& [name, e] : entries_) out.emplace(name, e.meta);
  return out;
}

void TargetMetadata::AppendTo(std::string_view metric,
                              std::map<std::string, std::vector<MetricMetadata>>* out) const {
  std::lock_guard lock(mu_);
  auto add = [out](const std::string& name, const MetricMetadata& meta) {
    std::vector<MetricMetadata>& list = (*out)[name];
    if (std::find(list.begin(), list.end(), meta) == list.end()) list.push_back(meta);
  };
  if (!metric.empty()) {
    auto it = entries_.find(AV(metric));
    if (it != entries_.end()) add(it->first, it->second.meta);
    return;
  }
  // Sorted, so that the order of distinct entries does not depend on hashing.
  std::vector<const std::pair<const std::string, Entry>*> sorted;
  sorted.reserve(entries_.size());
  for (const auto& kv : entries_) sorted.push_back(&kv);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  for (const auto* kv : sorted) add(kv->first, kv->second.meta);
}

size_t TargetMetadata::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace scrape
