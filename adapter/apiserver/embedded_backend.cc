#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "adapter/apiserver/backend.h"
#include "promql/parser/parser.h"
#include "tsdb/db.h"

namespace apiserver {
namespace {

class EmbeddedBackend : public QueryBackend {
 public:
  EmbeddedBackend(std::function<tsdb::DB*()> db, promql::EngineOptions options)
      : db_(std::move(db)), options_(options) {}

  absl::StatusOr<promql::QueryResult> Query(const std::string& expr, int64_t t) const override {
    tsdb::DB* db = db_();
    if (db == nullptr) return absl::UnavailableError("the storage is not open");
    promql::Engine engine([db](int64_t mint, int64_t maxt) { return db->NewQuerier(mint, maxt); },
                          options_);
    return engine.InstantQuery(expr, t);
  }

  absl::StatusOr<std::vector<DiscoveredMetric>> DiscoverSeries(std::string_view series_query,
                                                               int64_t since,
                                                               int64_t until) const override {
    tsdb::DB* db = db_();
    if (db == nullptr) return absl::UnavailableError("the storage is not open");
    absl::StatusOr<std::vector<tsdb::LabelMatcher>> matchers =
        promql::ParseMetricSelector(series_query);
    if (!matchers.ok()) return matchers.status();
    std::unique_ptr<tsdb::Querier> querier = db->NewQuerier(since, until);
    absl::StatusOr<std::vector<std::unique_ptr<tsdb::SeriesData>>> series =
        querier->Select(*matchers);
    if (!series.ok()) return series.status();
    // Series come sorted by labels, hence grouped by metric name.
    std::vector<DiscoveredMetric> out;
    std::set<std::string_view> names;
    for (const std::unique_ptr<tsdb::SeriesData>& s : *series) {
      const tsdb::Labels& labels = s->labels();
      std::string_view metric = labels.Get("__name__");
      if (metric.empty()) continue;
      if (out.empty() || out.back().name != metric) {
        Finish(&names, out.empty() ? nullptr : &out.back());
        out.push_back(DiscoveredMetric{std::string(metric), {}});
      }
      for (const tsdb::Label& l : labels) {
        if (l.name != "__name__") names.insert(l.name);
      }
    }
    Finish(&names, out.empty() ? nullptr : &out.back());
    return out;
  }

  absl::StatusOr<std::vector<std::string>> LabelValues(std::string_view label, int64_t since,
                                                       int64_t until) const override {
    tsdb::DB* db = db_();
    if (db == nullptr) return absl::UnavailableError("the storage is not open");
    std::unique_ptr<tsdb::Querier> querier = db->NewQuerier(since, until);
    return querier->LabelValues(label, {});
  }

 private:
  static void Finish(std::set<std::string_view>* names, DiscoveredMetric* metric) {
    if (metric != nullptr) metric->label_names.assign(names->begin(), names->end());
    names->clear();
  }

  std::function<tsdb::DB*()> db_;
  promql::EngineOptions options_;
};

}  // namespace

std::unique_ptr<QueryBackend> NewEmbeddedBackend(std::function<tsdb::DB*()> db,
                                                 promql::EngineOptions options) {
  return std::make_unique<EmbeddedBackend>(std::move(db), options);
}

}  // namespace apiserver
