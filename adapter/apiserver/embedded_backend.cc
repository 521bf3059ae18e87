#include <algorithm>
#include <map>
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
    // Names and label names only: the index answers both without copying any samples.
    std::unique_ptr<tsdb::Querier> querier = db->NewQuerier(since, until);
    absl::StatusOr<std::vector<std::string>> names = querier->LabelValues("__name__", *matchers);
    if (!names.ok()) return names.status();
    std::vector<DiscoveredMetric> out;
    out.reserve(names->size());
    for (std::string& name : *names) {
      std::vector<tsdb::LabelMatcher> of_metric = *matchers;
      absl::StatusOr<tsdb::LabelMatcher> is_name =
          tsdb::LabelMatcher::Make(tsdb::LabelMatcher::Type::kEqual, "__name__", name);
      if (!is_name.ok()) return is_name.status();
      of_metric.push_back(*std::move(is_name));
      absl::StatusOr<std::vector<std::string>> label_names = querier->LabelNames(of_metric);
      if (!label_names.ok()) return label_names.status();
      DiscoveredMetric& metric = out.emplace_back();
      metric.name = std::move(name);
      for (std::string& l : *label_names) {
        if (l != "__name__") metric.label_names.push_back(std::move(l));
      }
    }
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
  std::function<tsdb::DB*()> db_;
  promql::EngineOptions options_;
};

}  // namespace

std::unique_ptr<QueryBackend> NewEmbeddedBackend(std::function<tsdb::DB*()> db,
                                                 promql::EngineOptions options) {
  return std::make_unique<EmbeddedBackend>(std::move(db), options);
}

}  // namespace apiserver
