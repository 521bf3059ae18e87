#include "adapter/cli/duration.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cli {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

TEST(DurationParseTest, AcceptsEveryUnit) {
  EXPECT_EQ(*ParseDurationMs("500ms"), 500);
  EXPECT_EQ(*ParseDurationMs("15s"), 15 * kSecond);
  EXPECT_EQ(*ParseDurationMs("5m"), 5 * kMinute);
  EXPECT_EQ(*ParseDurationMs("2h"), 2 * kHour);
  EXPECT_EQ(*ParseDurationMs("1d"), kDay);
  EXPECT_EQ(*ParseDurationMs("1w"), 7 * kDay);
  EXPECT_EQ(*ParseDurationMs("1y"), 365 * kDay);
}

TEST(DurationParseTest, AcceptsCompoundsLargestUnitFirst) {
  EXPECT_EQ(*ParseDurationMs("1h30m"), kHour + 30 * kMinute);
  EXPECT_EQ(*ParseDurationMs("1s500ms"), 1500);
  EXPECT_EQ(*ParseDurationMs("1y2w3d4h5m6s7ms"),
            365 * kDay + 14 * kDay + 3 * kDay + 4 * kHour + 5 * kMinute + 6 * kSecond + 7);
  // Not canonical, but valid: a unit need not be carried over.
  EXPECT_EQ(*ParseDurationMs("90m"), 90 * kMinute);
}

TEST(DurationParseTest, ZeroForms) {
  EXPECT_EQ(*ParseDurationMs("0"), 0);
  EXPECT_EQ(*ParseDurationMs("0s"), 0);
  EXPECT_EQ(*ParseDurationMs("0ms"), 0);
}

TEST(DurationParseTest, BareNumberNeedsUnit) {
  absl::StatusOr<int64_t> d = ParseDurationMs("15");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("\"15\""));
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("missing unit"));
  EXPECT_FALSE(ParseDurationMs("1h30").ok());
}

TEST(DurationParseTest, RejectsMalformed) {
  for (const char* bad : {"", "abc", "h", "1x", "1.5h", "-1s", "+1s", " 1s", "1s ", "1 s", "1hh",
                          "1H", "1mss", "ms"}) {
    EXPECT_FALSE(ParseDurationMs(bad).ok()) << "accepted \"" << bad << "\"";
  }
  EXPECT_THAT(std::string(ParseDurationMs("").status().message()), HasSubstr("empty"));
  EXPECT_THAT(std::string(ParseDurationMs("3x").status().message()),
              HasSubstr("unknown unit \"x\""));
  EXPECT_THAT(std::string(ParseDurationMs("abc").status().message()),
              HasSubstr("expected a number at offset 0"));
}

TEST(DurationParseTest, RejectsUnitsOutOfOrderOrRepeated) {
  EXPECT_THAT(std::string(ParseDurationMs("1m1h").status().message()), HasSubstr("out of order"));
  EXPECT_FALSE(ParseDurationMs("1s1s").ok());
  EXPECT_FALSE(ParseDurationMs("1ms1s").ok());
  EXPECT_FALSE(ParseDurationMs("1d1y").ok());
}

TEST(DurationParseTest, RejectsOverflow) {
  EXPECT_THAT(std::string(ParseDurationMs("99999999999999999999ms").status().message()),
              HasSubstr("too large"));
  EXPECT_FALSE(ParseDurationMs("300000000y").ok());
  EXPECT_FALSE(ParseDurationMs("292471208y1y").ok());
  // The largest value fits exactly.
  EXPECT_EQ(*ParseDurationMs("9223372036854775807ms"), std::numeric_limits<int64_t>::max());
  EXPECT_FALSE(ParseDurationMs("9223372036854775807s").ok());
}

TEST(DurationFormatTest, CanonicalSpelling) {
  EXPECT_EQ(FormatDurationMs(0), "0s");
  EXPECT_EQ(FormatDurationMs(500), "500ms");
  EXPECT_EQ(FormatDurationMs(1500), "1s500ms");
  EXPECT_EQ(FormatDurationMs(15 * kSecond), "15s");
  EXPECT_EQ(FormatDurationMs(90 * kMinute), "1h30m");
  EXPECT_EQ(FormatDurationMs(24 * kHour), "1d");
  EXPECT_EQ(FormatDurationMs(8 * kDay), "1w1d");
  EXPECT_EQ(FormatDurationMs(365 * kDay), "1y");
  EXPECT_EQ(FormatDurationMs(-kHour), "-1h");
  EXPECT_EQ(FormatDurationMs(std::numeric_limits<int64_t>::min()).substr(0, 1), "-");
}

TEST(DurationFormatTest, RoundTrips) {
  for (int64_t ms : {int64_t{1}, int64_t{999}, int64_t{61001}, 3 * kDay + 7, 400 * kDay + kSecond,
                     std::numeric_limits<int64_t>::max()}) {
    absl::StatusOr<int64_t> back = ParseDurationMs(FormatDurationMs(ms));
    ASSERT_TRUE(back.ok()) << FormatDurationMs(ms) << ": " << back.status();
    EXPECT_EQ(*back, ms);
  }
}

}  // namespace
}  // namespace cli
