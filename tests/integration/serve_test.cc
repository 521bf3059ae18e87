// The real binary: `serve` comes up ready on its storage, exposes health and self-metrics, shuts
// down cleanly on SIGTERM flushing the WAL, and serves the same data after a restart.
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace {

using namespace std::chrono_literals;
using testsupport::ChildProcess;
using testsupport::HttpGet;

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = testsupport::BinaryPath();
    if (binary_.empty()) GTEST_SKIP() << "MA_BINARY is not set";
    char tmpl[] = "/tmp/ma-serve-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<ChildProcess> StartServe(int port) {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{binary_, "serve", "--storage-path", dir_ + "/data",
                                 "--http-listen-address", "127.0.0.1:" + std::to_string(port),
                                 "--secure-port", "0"},
        dir_ + "/serve.log");
  }
  std::string Log() {
    std::ifstream in(dir_ + "/serve.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string binary_;
  std::string dir_;
};

TEST_F(ServeTest, HealthMetricsAndGracefulShutdown) {
  // Some data first, through the import command.
  {
    std::ofstream f(dir_ + "/in.om");
    f << "# TYPE requests counter\n"
         "requests_total{code=\"200\"} 1 1700000000\n"
         "requests_total{code=\"200\"} 5 1700000015\n"
         "requests_total{code=\"500\"} 1 1700000000\n"
         "# EOF\n";
  }
  std::string import = binary_ + " import openmetrics " + dir_ + "/in.om --storage-path " + dir_ +
                       "/data >>" + dir_ + "/serve.log 2>&1";
  ASSERT_EQ(std::system(import.c_str()), 0) << Log();

  int port = testsupport::FreePort();
  auto serve = StartServe(port);
  ASSERT_TRUE(testsupport::WaitForHttp200(port, "/-/ready", 30s)) << Log();
  auto healthy = HttpGet(port, "/-/healthy");
  EXPECT_EQ(healthy.status, 200);
  auto metrics = HttpGet(port, "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("metrics_adapter_tsdb_head_series 2\n"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("process_resident_memory_bytes"), std::string::npos);
  EXPECT_EQ(HttpGet(port, "/no-such-path").status, 404);

  ASSERT_TRUE(serve->Signal(SIGTERM));
  EXPECT_EQ(serve->Wait(20s), 0) << Log();

  // A second run on the same storage serves the same series.
  int port2 = testsupport::FreePort();
  auto again = StartServe(port2);
  ASSERT_TRUE(testsupport::WaitForHttp200(port2, "/-/ready", 30s)) << Log();
  EXPECT_NE(HttpGet(port2, "/metrics").body.find("metrics_adapter_tsdb_head_series 2\n"),
            std::string::npos);
  ASSERT_TRUE(again->Signal(SIGINT));
  EXPECT_EQ(again->Wait(20s), 0) << Log();
}

TEST_F(ServeTest, UnusableStoragePathIsAClearErrorNotACrash) {
  std::ofstream(dir_ + "/file") << "x";
  int port = testsupport::FreePort();
  ChildProcess serve(
      {binary_, "serve", "--storage-path", dir_ + "/file/data", "--http-listen-address",
       "127.0.0.1:" + std::to_string(port), "--secure-port", "0"},
      dir_ + "/serve.log");
  EXPECT_EQ(serve.Wait(20s), 1) << Log();
  EXPECT_NE(Log().find(dir_ + "/file"), std::string::npos) << Log();
}

TEST_F(ServeTest, BadFlagsExitWithUsageError) {
  ChildProcess serve({binary_, "serve", "--retention", "forever"}, dir_ + "/serve.log");
  EXPECT_EQ(serve.Wait(10s), 2);
  EXPECT_NE(Log().find("--retention"), std::string::npos) << Log();
}

}  // namespace
