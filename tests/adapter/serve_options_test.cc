#include "adapter/cmd/serve_options.h"

#include <string>
#include <vector>

#include "adapter/cli/flags.h"
#include "adapter/cmd/log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace adapter {
namespace {

using ::testing::HasSubstr;

absl::Status ParseServe(std::vector<std::string> args, ServeOptions* o) {
  cli::FlagSet flags("metrics-adapter serve");
  RegisterServeFlags(&flags, o);
  absl::StatusOr<std::vector<std::string>> rest = flags.Parse(args);
  if (!rest.ok()) return rest.status();
  return ValidateServeOptions(o);
}

TEST(ServeOptionsTest, Defaults) {
  ServeOptions o;
  ASSERT_TRUE(ParseServe({}, &o).ok());
  EXPECT_EQ(o.storage_path, "data");
  EXPECT_EQ(o.retention_ms, 24 * 3600 * 1000);
  EXPECT_EQ(o.wal_fsync, "1s");
  EXPECT_EQ(o.wal_fsync_interval_ms, 1000);
  EXPECT_EQ(o.listen_address, ":8080");
  EXPECT_EQ(o.secure_port, 6443);
  EXPECT_EQ(o.log_level, "info");
  EXPECT_EQ(o.query_read_workers, -1);
}

TEST(ServeOptionsTest, ExplicitValues) {
  ServeOptions o;
  ASSERT_TRUE(ParseServe({"--storage-path=/d", "--retention", "15d", "--wal-fsync=always",
                          "--http-listen-address=127.0.0.1:0", "--secure-port=0",
                          "--log-level=debug", "--query-read-workers=0"},
                         &o)
                  .ok());
  EXPECT_EQ(o.storage_path, "/d");
  EXPECT_EQ(o.retention_ms, 15LL * 24 * 3600 * 1000);
  EXPECT_EQ(o.wal_fsync_interval_ms, 0);
  EXPECT_EQ(o.listen_address, "127.0.0.1:0");
  EXPECT_EQ(o.secure_port, 0);
  EXPECT_EQ(o.query_read_workers, 0);
}

TEST(ServeOptionsTest, WalFsyncForms) {
  EXPECT_EQ(*ParseWalFsync("always"), 0);
  EXPECT_EQ(*ParseWalFsync("never"), -1);
  EXPECT_EQ(*ParseWalFsync("500ms"), 500);
  EXPECT_EQ(*ParseWalFsync("2m"), 120000);
  EXPECT_THAT(std::string(ParseWalFsync("0s").status().message()), HasSubstr("positive"));
  EXPECT_THAT(std::string(ParseWalFsync("sometimes").status().message()),
              HasSubstr("use \"always\", \"never\" or a duration"));
  EXPECT_FALSE(ParseWalFsync("5").ok());
}

TEST(ServeOptionsTest, InvalidValuesNameTheFlag) {
  ServeOptions o;
  EXPECT_THAT(std::string(ParseServe({"--wal-fsync=5"}, &o).message()),
              HasSubstr("invalid value \"5\" for --wal-fsync"));
  EXPECT_THAT(std::string(ParseServe({"--retention=0s"}, &o).message()),
              HasSubstr("for --retention: must be positive"));
  EXPECT_THAT(std::string(ParseServe({"--retention=1x"}, &o).message()),
              HasSubstr("invalid value \"1x\" for --retention"));
  EXPECT_THAT(std::string(ParseServe({"--secure-port=70000"}, &o).message()),
              HasSubstr("for --secure-port: not in 0..65535"));
  EXPECT_THAT(std::string(ParseServe({"--log-level=loud"}, &o).message()),
              HasSubstr("invalid value \"loud\" for --log-level"));
  EXPECT_THAT(std::string(ParseServe({"--storage-path="}, &o).message()),
              HasSubstr("--storage-path must not be empty"));
  EXPECT_THAT(std::string(ParseServe({"--storage-path"}, &o).message()),
              HasSubstr("flag --storage-path needs a value"));
  EXPECT_THAT(std::string(ParseServe({"--query-read-workers=-2"}, &o).message()),
              HasSubstr("invalid value \"-2\" for --query-read-workers"));
  EXPECT_THAT(std::string(ParseServe({"--query-read-workers=65"}, &o).message()),
              HasSubstr("for --query-read-workers: must be -1 (automatic) or 0 to 64"));
}

TEST(ServeLogTest, FormatsLogfmtLines) {
  // 2024-05-01T12:00:00.123Z
  EXPECT_EQ(FormatLogLine(1714564800123, LogLevel::kInfo, "storage open",
                          {{"path", "/var/lib/data"}, {"err", "a \"b\"\nc"}, {"empty", ""}}),
            "ts=2024-05-01T12:00:00.123Z level=info msg=\"storage open\" path=/var/lib/data "
            "err=\"a \\\"b\\\"\\nc\" empty=\"\"\n");
  EXPECT_EQ(FormatLogLine(5, LogLevel::kError, "x=y", {}),
            "ts=1970-01-01T00:00:00.005Z level=error msg=\"x=y\"\n");
  EXPECT_EQ(*ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_FALSE(ParseLogLevel("WARN").ok());
}

}  // namespace
}  // namespace adapter
