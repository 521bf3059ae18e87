#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "adapter/k8s/quantity.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8s {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

int64_t Milli(std::string_view text) {
  absl::StatusOr<int64_t> v = ParseMilli(text);
  EXPECT_TRUE(v.ok()) << text << ": " << v.status();
  return v.ok() ? *v : -424242;
}

std::string Error(std::string_view text) {
  absl::StatusOr<int64_t> v = ParseMilli(text);
  EXPECT_FALSE(v.ok()) << text << " parsed as " << (v.ok() ? *v : 0);
  return v.ok() ? "" : std::string(v.status().message());
}

TEST(K8sQuantityToMilliTest, TruncatesTowardZero) {
  EXPECT_EQ(ToMilli(0.016), 16);
  EXPECT_EQ(ToMilli(10.5), 10500);
  EXPECT_EQ(ToMilli(1.5), 1500);
  EXPECT_EQ(ToMilli(0.0), 0);
  EXPECT_EQ(ToMilli(-0.0), 0);
  EXPECT_EQ(ToMilli(0.0009), 0);
  EXPECT_EQ(ToMilli(0.0019), 1);
  EXPECT_EQ(ToMilli(-0.0019), -1);
  EXPECT_EQ(ToMilli(-2.5), -2500);
  EXPECT_EQ(ToMilli(1e15), int64_t{1000000000000000000});
}

TEST(K8sQuantityToMilliTest, RejectsWhatDoesNotFit) {
  EXPECT_EQ(ToMilli(std::nan("")), std::nullopt);
  EXPECT_EQ(ToMilli(std::numeric_limits<double>::infinity()), std::nullopt);
  EXPECT_EQ(ToMilli(-std::numeric_limits<double>::infinity()), std::nullopt);
  EXPECT_EQ(ToMilli(9.3e15), std::nullopt);  // 9.3e18 milli > INT64_MAX
  EXPECT_EQ(ToMilli(-9.3e15), std::nullopt);
  EXPECT_EQ(ToMilli(9223372036854775.808), std::nullopt);  // exactly 2^63 milli
  EXPECT_EQ(ToMilli(1e300), std::nullopt);
  EXPECT_EQ(ToMilli(-9223372036854775.808), kMin);  // -2^63 fits
  EXPECT_EQ(ToMilli(9.2e15), int64_t{9200000000000000000});
  EXPECT_EQ(ToMilli(std::numeric_limits<double>::denorm_min()), 0);
}

TEST(K8sQuantityFormatTest, MilliDecimalCanonical) {
  EXPECT_EQ(FormatMilliDecimal(0), "0");
  EXPECT_EQ(FormatMilliDecimal(16), "16m");
  EXPECT_EQ(FormatMilliDecimal(-16), "-16m");
  EXPECT_EQ(FormatMilliDecimal(10500), "10500m");
  EXPECT_EQ(FormatMilliDecimal(10000), "10");
  EXPECT_EQ(FormatMilliDecimal(1000), "1");
  EXPECT_EQ(FormatMilliDecimal(1500), "1500m");
  EXPECT_EQ(FormatMilliDecimal(1234000), "1234");
  EXPECT_EQ(FormatMilliDecimal(1500000), "1500");
  EXPECT_EQ(FormatMilliDecimal(1000000), "1k");
  EXPECT_EQ(FormatMilliDecimal(1500000000), "1500k");
  EXPECT_EQ(FormatMilliDecimal(1000000000), "1M");
  EXPECT_EQ(FormatMilliDecimal(1001000000), "1001k");
  EXPECT_EQ(FormatMilliDecimal(2000000000000), "2G");
  EXPECT_EQ(FormatMilliDecimal(-2000000000000), "-2G");
  EXPECT_EQ(FormatMilliDecimal(int64_t{3000000000000000}), "3T");
  EXPECT_EQ(FormatMilliDecimal(int64_t{1000000000000000000}), "1P");
  EXPECT_EQ(FormatMilliDecimal(int64_t{9000000000000000000}), "9P");
  EXPECT_EQ(FormatMilliDecimal(kMax), "9223372036854775807m");
  EXPECT_EQ(FormatMilliDecimal(kMin), "-9223372036854775808m");
}

TEST(K8sQuantityFormatTest, BinaryCanonical) {
  EXPECT_EQ(FormatBinary(0), "0");
  EXPECT_EQ(FormatBinary(3538944), "3456Ki");
  EXPECT_EQ(FormatBinary(1073741824), "1Gi");
  EXPECT_EQ(FormatBinary(1023), "1023");
  EXPECT_EQ(FormatBinary(1024), "1Ki");
  EXPECT_EQ(FormatBinary(1025), "1025");
  EXPECT_EQ(FormatBinary(1536), "1536");
  EXPECT_EQ(FormatBinary(1610612736), "1536Mi");
  EXPECT_EQ(FormatBinary(1500000), "1500000");  // no decimal suffix at 1024 and above
  EXPECT_EQ(FormatBinary(int64_t{1} << 40), "1Ti");
  EXPECT_EQ(FormatBinary(int64_t{5} << 50), "5Pi");
  EXPECT_EQ(FormatBinary(int64_t{7} << 60), "7Ei");
  EXPECT_EQ(FormatBinary(-2048), "-2Ki");
  EXPECT_EQ(FormatBinary(kMax), "9223372036854775807");
  EXPECT_EQ(FormatBinary(kMin), "-8Ei");
  // Below 1024 Kubernetes switches to DecimalSI.
  EXPECT_EQ(FormatBinary(1000), "1k");
  EXPECT_EQ(FormatBinary(5), "5");
  EXPECT_EQ(FormatBinary(-1000), "-1k");
  EXPECT_EQ(FormatBinary(-1023), "-1023");
}

TEST(K8sQuantityParseTest, PlainAndFractional) {
  EXPECT_EQ(Milli("0"), 0);
  EXPECT_EQ(Milli("1"), 1000);
  EXPECT_EQ(Milli("1.5"), 1500);
  EXPECT_EQ(Milli("+1.5"), 1500);
  EXPECT_EQ(Milli("-1.5"), -1500);
  EXPECT_EQ(Milli("1."), 1000);
  EXPECT_EQ(Milli(".5"), 500);
  EXPECT_EQ(Milli("007"), 7000);
  EXPECT_EQ(Milli("-0"), 0);
  EXPECT_EQ(Milli("0.000"), 0);
  EXPECT_EQ(Milli("10.500"), 10500);
}

TEST(K8sQuantityParseTest, Suffixes) {
  EXPECT_EQ(Milli("500m"), 500);
  EXPECT_EQ(Milli("16m"), 16);
  EXPECT_EQ(Milli("1k"), 1000000);
  EXPECT_EQ(Milli("1M"), 1000000000);
  EXPECT_EQ(Milli("2G"), 2000000000000);
  EXPECT_EQ(Milli("1T"), int64_t{1000000000000000});
  EXPECT_EQ(Milli("1P"), int64_t{1000000000000000000});
  EXPECT_EQ(Milli("2Ki"), 2048000);
  EXPECT_EQ(Milli("1.5Ki"), 1536000);
  EXPECT_EQ(Milli("1Mi"), int64_t{1048576000});
  EXPECT_EQ(Milli("3Gi"), int64_t{3} * 1073741824 * 1000);
  EXPECT_EQ(Milli("1Ti"), (int64_t{1} << 40) * 1000);
  EXPECT_EQ(Milli("1Pi"), (int64_t{1} << 50) * 1000);
  EXPECT_EQ(Milli("1000n"), 1);
  EXPECT_EQ(Milli("1000000u"), 1000);
  EXPECT_EQ(Milli("1e3"), 1000000);
  EXPECT_EQ(Milli("1E3"), 1000000);
  EXPECT_EQ(Milli("1e+3"), 1000000);
  EXPECT_EQ(Milli("1e-3"), 1);
  EXPECT_EQ(Milli("15e-1"), 1500);
  EXPECT_EQ(Milli("0.001e3"), 1000);
  EXPECT_EQ(Milli("9E-3"), 9);  // "E" followed by digits is an exponent, not exa
  EXPECT_EQ(Milli("9e15"), int64_t{9000000000000000000});
}

TEST(K8sQuantityParseTest, CanonicalRoundTrip) {
  for (int64_t milli : {int64_t{0}, int64_t{1}, int64_t{16}, int64_t{-16}, int64_t{999},
                        int64_t{1000}, int64_t{10500}, int64_t{1000000}, int64_t{1001000000},
                        int64_t{1500000000}, int64_t{9000000000000000000}, kMax, kMin}) {
    EXPECT_EQ(Milli(FormatMilliDecimal(milli)), milli) << milli;
  }
  for (int64_t bytes : {int64_t{1}, int64_t{1000}, int64_t{1023}, int64_t{3538944},
                        int64_t{1073741824}, int64_t{1} << 50}) {
    EXPECT_EQ(Milli(FormatBinary(bytes)), bytes * 1000) << bytes;
  }
}

TEST(K8sQuantityParseTest, RoundsAwayFromZero) {
  EXPECT_EQ(Milli("0.1m"), 1);
  EXPECT_EQ(Milli("0.9m"), 1);
  EXPECT_EQ(Milli("1.0001"), 1001);
  EXPECT_EQ(Milli("1.5m"), 2);
  EXPECT_EQ(Milli("-1.5m"), -2);
  EXPECT_EQ(Milli("-0.1m"), -1);
  EXPECT_EQ(Milli("1n"), 1);
  EXPECT_EQ(Milli("-1n"), -1);
  EXPECT_EQ(Milli("1e-30"), 1);
  EXPECT_EQ(Milli("0.0000000000000000000000000001"), 1);
  EXPECT_EQ(Milli("1.00000000000000000000000000000000001"), 1001);
  EXPECT_EQ(Milli("0.0001Ki"), 103);  // 102.4 milli
}

TEST(K8sQuantityParseTest, Int64Limits) {
  EXPECT_EQ(Milli("9223372036854775807m"), kMax);
  EXPECT_EQ(Milli("-9223372036854775808m"), kMin);
  EXPECT_EQ(Milli("9223372036854775.807"), kMax);
  EXPECT_EQ(Milli("9223372036854775806.1m"), kMax);
  EXPECT_EQ(Milli("9223372036854775807000u"), kMax);
  EXPECT_EQ(Milli("00000000000000000000000000009223372036854775807m"), kMax);
  EXPECT_THAT(Error("9223372036854775808m"), HasSubstr("out of range"));
  EXPECT_THAT(Error("9223372036854775807.1m"), HasSubstr("out of range"));
  EXPECT_THAT(Error("-9223372036854775809m"), HasSubstr("out of range"));
  EXPECT_THAT(Error("8Ei"), HasSubstr("out of range"));
  EXPECT_THAT(Error("1e100"), HasSubstr("out of range"));
  EXPECT_THAT(Error("99999999999999999999999999999"), HasSubstr("out of range"));
  EXPECT_THAT(Error("1E"), HasSubstr("out of range"));
}

TEST(K8sQuantityParseTest, RejectsMalformedText) {
  EXPECT_THAT(Error(""), HasSubstr("empty quantity"));
  EXPECT_THAT(Error("abc"), HasSubstr("invalid quantity \"abc\""));
  EXPECT_THAT(Error("m"), HasSubstr("expected a number"));
  EXPECT_THAT(Error("+"), HasSubstr("expected a number"));
  EXPECT_THAT(Error("."), HasSubstr("expected a number"));
  EXPECT_THAT(Error("-.m"), HasSubstr("expected a number"));
  EXPECT_THAT(Error(" 1"), HasSubstr("expected a number"));
  EXPECT_THAT(Error("1 "), HasSubstr("unexpected character at offset 1"));
  EXPECT_THAT(Error("1.5.5"), HasSubstr("unexpected character at offset 3"));
  EXPECT_THAT(Error("1,5"), HasSubstr("unexpected character"));
  EXPECT_THAT(Error("--1"), HasSubstr("expected a number"));
  EXPECT_THAT(Error("1kk"), HasSubstr("unknown suffix \"kk\""));
  EXPECT_THAT(Error("1KI"), HasSubstr("unexpected character at offset 2"));  // no capital I
  EXPECT_THAT(Error("1K"), HasSubstr("unknown suffix \"K\""));
  EXPECT_THAT(Error("1e"), HasSubstr("unknown suffix \"e\""));
  EXPECT_THAT(Error("1e+"), HasSubstr("unknown suffix \"e+\""));
  EXPECT_THAT(Error("1m5"), HasSubstr("unknown suffix \"m5\""));
  EXPECT_THAT(Error("1Ki5"), HasSubstr("unknown suffix"));
  EXPECT_THAT(Error("1e4294967296"), HasSubstr("unknown suffix"));  // exponent beyond int32
  EXPECT_THAT(Error("1x"), HasSubstr("unexpected character"));
  EXPECT_THAT(Error(std::string("1\0", 2)), HasSubstr("invalid quantity \"1\\x00\""));
}

}  // namespace
}  // namespace k8s
