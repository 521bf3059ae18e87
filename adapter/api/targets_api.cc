#include "adapter/api/targets_api.h"

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "adapter/api/json.h"
#include "tsdb/duration.h"

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

http::Response TargetsHandler(const TargetsSource& source, const http::Request& request) {
  if (auto denied = http::CheckMethod(request, {"GET", "HEAD"})) return *denied;
  std::string state = absl::AsciiStrToLower(request.Get("state"));
  const bool show_active = state.empty() || state == "any" || state == "active";
  const bool show_dropped = state.empty() || state == "any" || state == "dropped";
  const std::string pool = request.Get("scrapePool");

  scrape::TargetsSnapshot snapshot;
  if (source) snapshot = source();
  // Pools by name, as Prometheus lists them; the targets of a pool keep their order.
  std::stable_sort(snapshot.active.begin(), snapshot.active.end(),
                   [](const auto& a, const auto& b) { return a.scrape_pool < b.scrape_pool; });
  std::stable_sort(snapshot.dropped.begin(), snapshot.dropped.end(),
                   [](const auto& a, const auto& b) { return a.scrape_pool < b.scrape_pool; });

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

void RegisterTargetsApi(http::Router* router, TargetsSource source) {
  router->Handle("/api/v1/targets", [source = std::move(source)](const http::Request& request) {
    return TargetsHandler(source, request);
  });
}

}  // namespace api
