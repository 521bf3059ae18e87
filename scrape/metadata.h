// Metric metadata (the HELP, TYPE and UNIT lines of an exposition) as the scraper keeps it, per
// target, for /api/v1/metadata and for telling counters from gauges.
//
// TargetMetadata is one target's table, written by its scrape loop and read by API handlers on
// other threads; MetadataStore is the read interface the scrape manager offers over all targets.
#ifndef METRICS_ADAPTER_SCRAPE_METADATA_H_
#define METRICS_ADAPTER_SCRAPE_METADATA_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "scrape/textparse/parser.h"

namespace scrape {

struct MetricMetadata {
  textparse::MetricType type = textparse::MetricType::kUnknown;
  std::string help;
  std::string unit;

  friend bool operator==(const MetricMetadata&, const MetricMetadata&) = default;
};

// Read access to the metadata of every target. Thread-safe.
class MetadataStore {
 public:
  virtual ~MetadataStore() = default;
  // Every distinct metadata seen for each metric family (the name in the HELP/TYPE/UNIT lines),
  // over all targets, in target order; only family `metric` when it is not empty.
  virtual std::map<std::string, std::vector<MetricMetadata>> ListMetadata(
      std::string_view metric) const = 0;
};

// One target's metadata. The loop calls Begin/Set*/End during a scrape (one thread at a time);
// readers may call Snapshot/AppendTo concurrently.
class TargetMetadata {
 public:
  // Starts a scrape: Set calls follow for the families seen.
  void BeginScrape() { ++iter_; }
  void SetType(std::string_view family, textparse::MetricType type);
  void SetHelp(std::string_view family, std::string_view help);
  void SetUnit(std::string_view family, std::string_view unit);
  // Ends a successful scrape: families not seen in it are forgotten (a failed scrape keeps
  // everything, as Prometheus does).
  void EndScrape();

  // A copy of the table, by family name.
  std::map<std::string, MetricMetadata> Snapshot() const;
  // Adds this target's entries to out (family -> distinct entries), optionally only `metric`.
  void AppendTo(std::string_view metric,
                std::map<std::string, std::vector<MetricMetadata>>* out) const;
  size_t size() const;

 private:
  struct Entry {
    MetricMetadata meta;
    uint64_t last_iter = 0;  // touched only by the writer
  };
  Entry* Touch(std::string_view family);

  mutable std::mutex mu_;  // guards the map's structure and the meta fields
  absl::flat_hash_map<std::string, Entry> entries_;
  uint64_t iter_ = 0;
};

}  // namespace scrape

#endif  // METRICS_ADAPTER_SCRAPE_METADATA_H_
