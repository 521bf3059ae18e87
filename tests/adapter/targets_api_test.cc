// /api/v1/targets in Prometheus' JSON shape, and /api/v1/metadata's source from the scraper.
#include "adapter/api/targets_api.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

scrape::TargetsSnapshot Snapshot() {
  scrape::TargetsSnapshot s;
  scrape::ActiveTargetInfo a;
  a.scrape_pool = "node";
  a.target.labels = tsdb::Labels({{"__address__", "h:9100"},
                                  {"__metrics_path__", "/metrics"},
                                  {"__scheme__", "http"},
                                  {"instance", "h:9100"},
                                  {"job", "node"}});
  a.target.public_labels = tsdb::Labels({{"instance", "h:9100"}, {"job", "node"}});
  a.target.discovered = tsdb::Labels({{"__address__", "h:9100"}, {"job", "node"}});
  a.target.url = "http://h:9100/metrics";
  a.target.interval_ms = 15000;
  a.target.timeout_ms = 10000;
  a.status.health = scrape::TargetHealth::kDown;
  a.status.last_error = "server returned HTTP status 500 Internal Server Error";
  a.status.last_scrape_unix_ns = 1700000000123456789;
  a.status.last_scrape_duration_s = 0.0125;
  s.active.push_back(a);
  scrape::ActiveTargetInfo b = a;
  b.scrape_pool = "app";
  b.target.url = "http://a:1/m";
  b.status = scrape::TargetStatus{};  // never scraped
  s.active.push_back(b);
  s.dropped.push_back({"node", tsdb::Labels({{"__address__", "x:1"}, {"job", "node"}})});
  return s;
}

http::Request Get(const std::string& query = "") {
  http::Request r;
  r.method = "GET";
  r.path = "/api/v1/targets";
  if (!query.empty()) {
    size_t eq = query.find('=');
    r.params.emplace_back(query.substr(0, eq), query.substr(eq + 1));
  }
  return r;
}

TEST(TargetsApiTest, PrometheusShape) {
  http::Response r = TargetsHandler(Snapshot, Get());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  // Pools by name: "app" first.
  EXPECT_EQ(
      r.body,
      "{\"status\":\"success\",\"data\":{\"activeTargets\":["
      "{\"discoveredLabels\":{\"__address__\":\"h:9100\",\"job\":\"node\"},"
      "\"labels\":{\"instance\":\"h:9100\",\"job\":\"node\"},\"scrapePool\":\"app\","
      "\"scrapeUrl\":\"http://a:1/m\",\"globalUrl\":\"http://a:1/m\",\"lastError\":\"\","
      "\"lastScrape\":\"0001-01-01T00:00:00Z\",\"lastScrapeDuration\":0,\"health\":\"unknown\","
      "\"scrapeInterval\":\"15s\",\"scrapeTimeout\":\"10s\"},"
      "{\"discoveredLabels\":{\"__address__\":\"h:9100\",\"job\":\"node\"},"
      "\"labels\":{\"instance\":\"h:9100\",\"job\":\"node\"},\"scrapePool\":\"node\","
      "\"scrapeUrl\":\"http://h:9100/metrics\",\"globalUrl\":\"http://h:9100/metrics\","
      "\"lastError\":\"server returned HTTP status 500 Internal Server Error\","
      "\"lastScrape\":\"2023-11-14T22:13:20.123456789Z\",\"lastScrapeDuration\":0.0125,"
      "\"health\":\"down\",\"scrapeInterval\":\"15s\",\"scrapeTimeout\":\"10s\"}],"
      "\"droppedTargets\":[{\"discoveredLabels\":{\"__address__\":\"x:1\",\"job\":\"node\"}}]}}");
}

TEST(TargetsApiTest, StateAndPoolFilters) {
  http::Response active = TargetsHandler(Snapshot, Get("state=active"));
  EXPECT_THAT(active.body, HasSubstr("\"droppedTargets\":[]"));
  EXPECT_THAT(active.body, HasSubstr("\"scrapePool\":\"node\""));
  http::Response dropped = TargetsHandler(Snapshot, Get("state=Dropped"));
  EXPECT_THAT(dropped.body, HasSubstr("\"activeTargets\":[]"));
  EXPECT_THAT(dropped.body, HasSubstr("x:1"));
  http::Response pool = TargetsHandler(Snapshot, Get("scrapePool=app"));
  EXPECT_THAT(pool.body, HasSubstr("\"scrapePool\":\"app\""));
  EXPECT_THAT(pool.body, Not(HasSubstr("\"scrapePool\":\"node\"")));
  EXPECT_THAT(pool.body, HasSubstr("\"droppedTargets\":[]"));
  // No scraping: empty lists.
  EXPECT_EQ(TargetsHandler(nullptr, Get()).body,
            "{\"status\":\"success\",\"data\":{\"activeTargets\":[],\"droppedTargets\":[]}}");
  http::Request post = Get();
  post.method = "POST";
  EXPECT_EQ(TargetsHandler(Snapshot, post).status, 405);
}

TEST(TargetsApiTest, ScrapePoolsSortedWithOrWithoutTargets) {
  auto source = [] {
    scrape::TargetsSnapshot s = Snapshot();
    s.pools = {"node", "app", "empty \"job\""};
    return s;
  };
  http::Response r = ScrapePoolsHandler(source, Get());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "{\"status\":\"success\",\"data\":{\"scrapePools\":"
            "[\"app\",\"empty \\\"job\\\"\",\"node\"]}}");
  // No scraping: no pools.
  EXPECT_EQ(ScrapePoolsHandler(nullptr, Get()).body,
            "{\"status\":\"success\",\"data\":{\"scrapePools\":[]}}");
  http::Request post = Get();
  post.method = "POST";
  EXPECT_EQ(ScrapePoolsHandler(source, post).status, 405);
}

TEST(TargetsApiTest, Rfc3339Nano) {
  EXPECT_EQ(FormatRfc3339Nano(0), "0001-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339Nano(1700000000000000000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatRfc3339Nano(1700000000100000000), "2023-11-14T22:13:20.1Z");
  EXPECT_EQ(FormatRfc3339Nano(1700000000000000001), "2023-11-14T22:13:20.000000001Z");
}

class FakeStore : public scrape::MetadataStore {
 public:
  std::map<std::string, std::vector<scrape::MetricMetadata>> ListMetadata(
      std::string_view metric) const override {
    std::map<std::string, std::vector<scrape::MetricMetadata>> out;
    if (metric.empty() || metric == "up") {
      out["up"] = {{scrape::textparse::MetricType::kGauge, "Up.", ""},
                   {scrape::textparse::MetricType::kUnknown, "", ""}};
    }
    return out;
  }
};

TEST(TargetsApiTest, MetadataSourceFromTheScraper) {
  FakeStore store;
  auto source = NewScrapeMetadataSource([&] { return &store; });
  auto all = source->ListMetadata("");
  ASSERT_EQ(all["up"].size(), 2u);
  EXPECT_EQ(all["up"][0], (MetricMetadata{"gauge", "Up.", ""}));
  EXPECT_EQ(all["up"][1].type, "unknown");
  EXPECT_TRUE(source->ListMetadata("other").empty());
  auto none = NewScrapeMetadataSource([]() -> const scrape::MetadataStore* { return nullptr; });
  EXPECT_TRUE(none->ListMetadata("").empty());
}

// Two targets with metadata: node (announced node_load1 and up) and app (announced up).
scrape::TargetsSnapshot SnapshotWithMetadata() {
  scrape::TargetsSnapshot s = Snapshot();
  auto node = std::make_shared<scrape::TargetMetadata>();
  node->BeginScrape();
  node->SetType("up", scrape::textparse::MetricType::kGauge);
  node->SetHelp("up", "Whether \"up\".");
  node->SetType("node_load1", scrape::textparse::MetricType::kGauge);
  node->SetUnit("node_load1", "load");
  node->EndScrape();
  auto app = std::make_shared<scrape::TargetMetadata>();
  app->BeginScrape();
  app->SetType("up", scrape::textparse::MetricType::kCounter);
  app->EndScrape();
  s.active[0].metadata = node;
  s.active[1].metadata = app;
  s.active[1].target.public_labels = tsdb::Labels({{"instance", "a:1"}, {"job", "app"}});
  return s;
}

http::Request MetadataRequest(const std::vector<std::pair<std::string, std::string>>& params) {
  http::Request r;
  r.method = "GET";
  r.path = "/api/v1/targets/metadata";
  for (const auto& p : params) r.params.push_back(p);
  return r;
}

TEST(TargetsApiTest, TargetMetadataInPrometheusShape) {
  // Pools by name (app before node), each target's families by name.
  EXPECT_EQ(TargetMetadataHandler(SnapshotWithMetadata, MetadataRequest({})).body,
            R"({"status":"success","data":[)"
            R"({"target":{"instance":"a:1","job":"app"},"metric":"up","type":"counter",)"
            R"("help":"","unit":""},)"
            R"({"target":{"instance":"h:9100","job":"node"},"metric":"node_load1","type":"gauge",)"
            R"("help":"","unit":"load"},)"
            R"({"target":{"instance":"h:9100","job":"node"},"metric":"up","type":"gauge",)"
            R"("help":"Whether \"up\".","unit":""}]})");
  // One family: the "metric" field is left out.
  EXPECT_EQ(
      TargetMetadataHandler(SnapshotWithMetadata, MetadataRequest({{"metric", "node_load1"}})).body,
      R"({"status":"success","data":[{"target":{"instance":"h:9100","job":"node"},)"
      R"("type":"gauge","help":"","unit":"load"}]})");
  // match_target selects targets by their labels.
  EXPECT_THAT(TargetMetadataHandler(SnapshotWithMetadata,
                                    MetadataRequest({{"match_target", "{job=~\"no.*\"}"}}))
                  .body,
              Not(HasSubstr("\"app\"")));
  // The limit is checked before each target, whose entries then all go in.
  const std::string one =
      TargetMetadataHandler(SnapshotWithMetadata, MetadataRequest({{"limit", "1"}})).body;
  EXPECT_THAT(one, HasSubstr("\"job\":\"app\""));
  EXPECT_THAT(one, Not(HasSubstr("\"job\":\"node\"")));
  EXPECT_EQ(TargetMetadataHandler(SnapshotWithMetadata, MetadataRequest({{"limit", "0"}})).body,
            R"({"status":"success","data":[]})");
  // Bad parameters.
  http::Response bad =
      TargetMetadataHandler(SnapshotWithMetadata, MetadataRequest({{"limit", "x"}}));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body,
            R"({"status":"error","errorType":"bad_data","error":"limit must be a number"})");
  bad = TargetMetadataHandler(SnapshotWithMetadata, MetadataRequest({{"match_target", "{job="}}));
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body,
              HasSubstr(R"("error":"invalid parameter \"match_target\": 1:6: parse error)"));
  EXPECT_EQ(TargetMetadataHandler(nullptr, MetadataRequest({})).body,
            R"({"status":"success","data":[]})");
}

}  // namespace
}  // namespace api
