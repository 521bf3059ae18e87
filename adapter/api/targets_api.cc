#include "adapter/api/targets_api.h"

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "adapter/api/json.h"
#include "promql/parser/parser.h"
#include "tsdb/duration.h"
#include "tsdb/matcher.h"

namespace api {

std::string FormatRfc3339Nano(int64_t unix_ns) {
  if (unix_ns == 0) return "0001-01-01T00:00:00Z";
  int64_t secs = unix_ns / 1'000'000'000;
  int64_t nanos = unix_ns % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --secs;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&t, &tm);
  std::string out = absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (nanos != 0) {
    std::string frac = absl::StrFormat("%09d", nanos);
    while (frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  out += "Z";
  return out;
}

namespace {

// The targets with their pools by name, as Prometheus lists them; the targets of a pool keep
// their order. Empty without a source.
scrape::TargetsSnapshot SnapshotByPool(const TargetsSource& source) {
  scrape::TargetsSnapshot snapshot;
  if (source) snapshot = source();
  const auto by_pool = [](const auto& a, const auto& b) { return a.scrape_pool < b.scrape_pool; };
  std::stable_sort(snapshot.active.begin(), snapshot.active.end(), by_pool);
  std::stable_sort(snapshot.dropped.begin(), snapshot.dropped.end(), by_pool);
  return snapshot;
}

}  // namespace

http::Response TargetsHandler(const TargetsSource& source, const http::Request& request) {
  if (auto denied = http::CheckMethod(request, {"GET", "HEAD"})) return *denied;
  std::string state = absl::AsciiStrToLower(request.Get("state"));
  const bool show_active = state.empty() || state == "any" || state == "active";
  const bool show_dropped = state.empty() || state == "any" || state == "dropped";
  const std::string pool = request.Get("scrapePool");

  const scrape::TargetsSnapshot snapshot = SnapshotByPool(source);

  std::string body = "{\"status\":\"success\",\"data\":{\"activeTargets\":[";
  bool first = true;
  if (show_active) {
    for (const scrape::ActiveTargetInfo& a : snapshot.active) {
      if (!pool.empty() && a.scrape_pool != pool) continue;
      if (!first) body += ',';
      first = false;
      body += "{\"discoveredLabels\":";
      AppendLabelsObject(a.target.discovered, &body);
      body += ",\"labels\":";
      AppendLabelsObject(a.target.public_labels, &body);
      body += ",\"scrapePool\":";
      AppendJsonString(a.scrape_pool, &body);
      body += ",\"scrapeUrl\":";
      AppendJsonString(a.target.url, &body);
      body += ",\"globalUrl\":";
      AppendJsonString(a.target.url, &body);
      body += ",\"lastError\":";
      AppendJsonString(a.status.last_error, &body);
      body += ",\"lastScrape\":";
      AppendJsonString(FormatRfc3339Nano(a.status.last_scrape_unix_ns), &body);
      body += ",\"lastScrapeDuration\":";
      body += FormatSampleValue(a.status.last_scrape_duration_s);
      body += ",\"health\":";
      AppendJsonString(scrape::TargetHealthName(a.status.health), &body);
      body += ",\"scrapeInterval\":";
      AppendJsonString(tsdb::FormatDurationMs(a.target.interval_ms), &body);
      body += ",\"scrapeTimeout\":";
      AppendJsonString(tsdb::FormatDurationMs(a.target.timeout_ms), &body);
      body += '}';
    }
  }
  body += "],\"droppedTargets\":[";
  first = true;
  if (show_dropped) {
    for (const scrape::DroppedTargetInfo& d : snapshot.dropped) {
      if (!pool.empty() && d.scrape_pool != pool) continue;
      if (!first) body += ',';
      first = false;
      body += "{\"discoveredLabels\":";
      AppendLabelsObject(d.discovered, &body);
      body += '}';
    }
  }
  body += "]}}";
  return http::Response::Json(std::move(body));
}

http::Response TargetMetadataHandler(const TargetsSource& source, const http::Request& request) {
  if (auto denied = http::CheckMethod(request, {"GET", "HEAD"})) return *denied;
  int64_t limit = -1;
  if (const std::string s = request.Get("limit"); !s.empty() && !absl::SimpleAtoi(s, &limit)) {
    return BadDataResponse("limit must be a number");
  }
  std::vector<tsdb::LabelMatcher> matchers;
  const std::string match_target = request.Get("match_target");
  if (!match_target.empty()) {
    absl::StatusOr<std::vector<tsdb::LabelMatcher>> parsed =
        promql::ParseMetricSelector(match_target);
    if (!parsed.ok()) {
      return BadDataResponse(absl::StrCat("invalid parameter \"match_target\": ",
                                          std::string(parsed.status().message())));
    }
    matchers = *std::move(parsed);
  }
  const std::string metric = request.Get("metric");

  const scrape::TargetsSnapshot snapshot = SnapshotByPool(source);
  std::string body = R"({"status":"success","data":[)";
  int64_t entries = 0;
  const auto append = [&](const scrape::ActiveTargetInfo& t, const std::string* family,
                          const scrape::MetricMetadata& m) {
    if (entries++ > 0) body += ',';
    body += "{\"target\":";
    AppendLabelsObject(t.target.public_labels, &body);
    if (family != nullptr) {
      body += ",\"metric\":";
      AppendJsonString(*family, &body);
    }
    body += ",\"type\":";
    AppendJsonString(scrape::textparse::MetricTypeName(m.type), &body);
    body += ",\"help\":";
    AppendJsonString(m.help, &body);
    body += ",\"unit\":";
    AppendJsonString(m.unit, &body);
    body += '}';
  };
  for (const scrape::ActiveTargetInfo& t : snapshot.active) {
    if (limit >= 0 && entries >= limit) break;
    const bool selected = std::all_of(matchers.begin(), matchers.end(), [&](const auto& m) {
      return m.Matches(t.target.public_labels.Get(m.name()));
    });
    if (!selected || t.metadata == nullptr) continue;
    const std::map<std::string, scrape::MetricMetadata> table = t.metadata->Snapshot();
    if (metric.empty()) {
      for (const auto& [family, m] : table) append(t, &family, m);
    } else if (auto it = table.find(metric); it != table.end()) {
      append(t, nullptr, it->second);
    }
  }
  body += "]}";
  return http::Response::Json(std::move(body));
}

namespace {

class ScrapeMetadataSource final : public MetadataSource {
 public:
  explicit ScrapeMetadataSource(std::function<const scrape::MetadataStore*()> store)
      : store_(std::move(store)) {}

  std::map<std::string, std::vector<MetricMetadata>> ListMetadata(
      std::string_view metric) const override {
    std::map<std::string, std::vector<MetricMetadata>> out;
    const scrape::MetadataStore* store = store_ ? store_() : nullptr;
    if (store == nullptr) return out;
    for (auto& [family, entries] : store->ListMetadata(metric)) {
      std::vector<MetricMetadata>& list = out[family];
      for (const scrape::MetricMetadata& m : entries) {
        list.push_back(
            MetricMetadata{std::string(scrape::textparse::MetricTypeName(m.type)), m.help, m.unit});
      }
    }
    return out;
  }

 private:
  std::function<const scrape::MetadataStore*()> store_;
};

}  // namespace

std::shared_ptr<const MetadataSource> NewScrapeMetadataSource(
    std::function<const scrape::MetadataStore*()> store) {
  return std::make_shared<ScrapeMetadataSource>(std::move(store));
}

http::Response ScrapePoolsHandler(const TargetsSource& source, const http::Request& request) {
  if (auto denied = http::CheckMethod(request, {"GET", "HEAD"})) return *denied;
  std::vector<std::string> pools;
  if (source) pools = source().pools;
  std::sort(pools.begin(), pools.end());
  std::string body = "{\"status\":\"success\",\"data\":{\"scrapePools\":[";
  for (size_t i = 0; i < pools.size(); ++i) {
    if (i > 0) body += ',';
    AppendJsonString(pools[i], &body);
  }
  body += "]}}";
  return http::Response::Json(std::move(body));
}

void RegisterTargetsApi(http::Router* router, TargetsSource source) {
  router->Handle("/api/v1/scrape_pools", [source](const http::Request& request) {
    return ScrapePoolsHandler(source, request);
  });
  router->Handle("/api/v1/targets", [source](const http::Request& request) {
    return TargetsHandler(source, request);
  });
  router->Handle("/api/v1/targets/metadata",
                 [source = std::move(source)](const http::Request& request) {
                   return TargetMetadataHandler(source, request);
                 });
}

}  // namespace api
