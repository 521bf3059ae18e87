// The plain listener's routes of `metrics-adapter serve`, against a stand-in database.
#include <cstdint>
#include <memory>
#include <string>

#include "adapter/cmd/commands.h"
#include "adapter/cmd/self_metrics.h"
#include "adapter/http/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tsdb/db.h"

namespace adapter {
namespace {

using ::testing::HasSubstr;

class StatsOnlyDB : public tsdb::DB {
 public:
  std::unique_ptr<tsdb::Appender> NewAppender() override { return nullptr; }
  std::unique_ptr<tsdb::Querier> NewQuerier(int64_t, int64_t) override { return nullptr; }
  absl::Status Checkpoint() override { return absl::OkStatus(); }
  void ApplyRetention() override {}
  absl::Status SyncWal() override { return absl::OkStatus(); }
  absl::Status Close() override { return absl::OkStatus(); }
  const tsdb::Stats& stats() const override { return stats_; }
  int64_t MinTime() const override { return tsdb::kMaxTime; }
  int64_t MaxTime() const override { return tsdb::kMinTime; }
  tsdb::HeadCardinality Cardinality(size_t) const override { return {}; }

  tsdb::Stats stats_;
};

http::Response Call(const http::Router& router, const std::string& method,
                    const std::string& path) {
  http::Request req;
  req.method = method;
  req.path = path;
  req.target = path;
  return router(req);
}

TEST(ServeRouterTest, HealthyAlways) {
  ServeContext ctx;
  http::Router router = BuildServeRouter(&ctx);
  http::Response res = Call(router, "GET", "/-/healthy");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "metrics-adapter is Healthy.\n");
  EXPECT_EQ(Call(router, "HEAD", "/-/healthy").status, 200);
  EXPECT_EQ(Call(router, "POST", "/-/healthy").status, 405);
}

TEST(ServeRouterTest, ReadyOnceStorageIsOpen) {
  ServeContext ctx;
  http::Router router = BuildServeRouter(&ctx);
  EXPECT_EQ(Call(router, "GET", "/-/ready").status, 503);
  StatsOnlyDB db;
  ctx.db.store(&db);
  http::Response res = Call(router, "GET", "/-/ready");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "metrics-adapter is Ready.\n");
  ctx.db.store(nullptr);
  EXPECT_EQ(Call(router, "GET", "/-/ready").status, 503);
}

TEST(ServeRouterTest, MetricsIncludeStorageStatsOnceOpen) {
  ServeContext ctx;
  http::Router router = BuildServeRouter(&ctx);
  http::Response early = Call(router, "GET", "/metrics");
  EXPECT_EQ(early.status, 200);
  EXPECT_EQ(early.content_type, kTextFormatContentType);
  EXPECT_THAT(early.body, HasSubstr("metrics_adapter_build_info{version=\"" +
                                    std::string(kVersion) + "\"} 1\n"));
  EXPECT_THAT(early.body, HasSubstr("process_open_fds "));
  EXPECT_THAT(early.body, ::testing::Not(HasSubstr("metrics_adapter_tsdb_")));

  StatsOnlyDB db;
  db.stats_.series = 42;
  db.stats_.rejected_duplicate = 9;
  ctx.db.store(&db);
  http::Response res = Call(router, "GET", "/metrics");
  EXPECT_THAT(res.body, HasSubstr("\nmetrics_adapter_tsdb_head_series 42\n"));
  EXPECT_THAT(res.body,
              HasSubstr("\nmetrics_adapter_tsdb_samples_rejected_total{reason=\"duplicate\"} 9\n"));
  EXPECT_EQ(Call(router, "GET", "/nothing").status, 404);
}

}  // namespace
}  // namespace adapter
