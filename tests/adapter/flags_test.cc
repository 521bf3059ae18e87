#include "adapter/cli/flags.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A flag set with one flag of every kind, as a subcommand would register them.
struct TestFlags {
  TestFlags() : set("metrics-adapter serve", "Runs the server.") {
    set.String("storage-path", &path, "data", "Where the database lives.");
    set.Int("secure-port", &port, 6443, "HTTPS port; 0 disables it.");
    set.Int64("big", &big, 0, "A 64-bit number.");
    set.Bool("verbose", &verbose, false, "Log more.");
    set.Bool("color", &color, true, "Use colors.");
    set.Duration("retention", &retention_ms, 24 * 3600 * 1000, "How long to keep samples.");
    set.StringList("tag", &tags, {"a", "b"}, "Tags.");
  }
  absl::StatusOr<std::vector<std::string>> Parse(std::vector<std::string> args) {
    return set.Parse(args);
  }
  std::string Error(std::vector<std::string> args) {
    absl::StatusOr<std::vector<std::string>> r = set.Parse(args);
    if (r.ok()) return "OK";
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(r.status().message());
  }

  FlagSet set;
  std::string path;
  int port = -1;
  int64_t big = -1;
  bool verbose = true;
  bool color = false;
  int64_t retention_ms = -1;
  std::vector<std::string> tags;
};

TEST(FlagSetTest, DefaultsAreWrittenAtRegistration) {
  TestFlags f;
  EXPECT_EQ(f.path, "data");
  EXPECT_EQ(f.port, 6443);
  EXPECT_EQ(f.big, 0);
  EXPECT_FALSE(f.verbose);
  EXPECT_TRUE(f.color);
  EXPECT_EQ(f.retention_ms, 24 * 3600 * 1000);
  EXPECT_THAT(f.tags, ElementsAre("a", "b"));
  ASSERT_TRUE(f.Parse({}).ok());
  EXPECT_EQ(f.path, "data");
  EXPECT_FALSE(f.set.Changed("storage-path"));
}

TEST(FlagSetTest, DoubleFlagsTakeDecimalsAndRefuseOtherText) {
  FlagSet set("metrics-adapter serve");
  double qps = 0;
  set.Double("client-qps", &qps, 5, "Requests per second.");
  EXPECT_EQ(qps, 5);
  ASSERT_TRUE(set.Parse({"--client-qps=2.5"}).ok());
  EXPECT_EQ(qps, 2.5);
  for (const char* bad : {"abc", "inf", "nan", ""}) {
    absl::StatusOr<std::vector<std::string>> r = set.Parse({std::string("--client-qps=") + bad});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("--client-qps")) << bad;
  }
  EXPECT_THAT(set.Usage(), HasSubstr("--client-qps float"));
  EXPECT_THAT(set.Usage(), HasSubstr("(default 5)"));
}

TEST(FlagSetTest, EqualsAndSeparateValueForms) {
  TestFlags f;
  auto rest = f.Parse({"--storage-path=/var/lib/x", "--secure-port", "0", "--retention", "1h30m",
                       "--big=-9000000000"});
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_THAT(*rest, IsEmpty());
  EXPECT_EQ(f.path, "/var/lib/x");
  EXPECT_EQ(f.port, 0);
  EXPECT_EQ(f.retention_ms, 90 * 60 * 1000);
  EXPECT_EQ(f.big, -9000000000LL);
  EXPECT_TRUE(f.set.Changed("storage-path"));
  EXPECT_TRUE(f.set.Changed("secure-port"));
  EXPECT_FALSE(f.set.Changed("verbose"));
}

TEST(FlagSetTest, ValuesMayContainEqualsAndBeEmptyOrNegative) {
  TestFlags f;
  ASSERT_TRUE(f.Parse({"--storage-path=a=b", "--secure-port", "-1"}).ok());
  EXPECT_EQ(f.path, "a=b");
  EXPECT_EQ(f.port, -1);
  ASSERT_TRUE(f.Parse({"--storage-path="}).ok());
  EXPECT_EQ(f.path, "");
}

TEST(FlagSetTest, BoolForms) {
  TestFlags f;
  ASSERT_TRUE(f.Parse({"--verbose", "--color=false"}).ok());
  EXPECT_TRUE(f.verbose);
  EXPECT_FALSE(f.color);
  ASSERT_TRUE(f.Parse({"--verbose=false", "--color=true"}).ok());
  EXPECT_FALSE(f.verbose);
  EXPECT_TRUE(f.color);
  ASSERT_TRUE(f.Parse({"--verbose=1", "--color=0"}).ok());
  EXPECT_TRUE(f.verbose);
  EXPECT_FALSE(f.color);
  // A bool flag never takes the next argument: "false" is positional.
  auto rest = f.Parse({"--verbose", "false"});
  ASSERT_TRUE(rest.ok());
  EXPECT_TRUE(f.verbose);
  EXPECT_THAT(*rest, ElementsAre("false"));
  EXPECT_EQ(f.Error({"--verbose=yes"}),
            "invalid value \"yes\" for --verbose: expected true or false");
}

TEST(FlagSetTest, PositionalArgumentsInterleavedAndAfterDoubleDash) {
  TestFlags f;
  auto rest = f.Parse({"a", "--verbose", "b", "-", "--", "--storage-path=x", "-h"});
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_THAT(*rest, ElementsAre("a", "b", "-", "--storage-path=x", "-h"));
  EXPECT_EQ(f.path, "data");
  EXPECT_FALSE(f.set.help_requested());
}

TEST(FlagSetTest, LastValueWinsAndListsAccumulate) {
  TestFlags f;
  ASSERT_TRUE(f.Parse({"--storage-path=a", "--storage-path=b", "--tag=x,y", "--tag", "z"}).ok());
  EXPECT_EQ(f.path, "b");
  EXPECT_THAT(f.tags, ElementsAre("x", "y", "z"));  // the default was replaced, not extended
  ASSERT_TRUE(f.Parse({"--tag="}).ok());
  EXPECT_THAT(f.tags, IsEmpty());
}

TEST(FlagSetTest, UnknownFlag) {
  TestFlags f;
  EXPECT_EQ(f.Error({"--foo"}), "unknown flag --foo (see 'metrics-adapter serve --help')");
  EXPECT_EQ(f.Error({"--foo=1"}), "unknown flag --foo (see 'metrics-adapter serve --help')");
  EXPECT_EQ(f.Error({"-x"}), "unknown flag -x (see 'metrics-adapter serve --help')");
  EXPECT_THAT(f.Error({"---verbose"}), HasSubstr("unknown flag"));
  EXPECT_THAT(f.Error({"--="}), HasSubstr("unknown flag"));
}

TEST(FlagSetTest, MissingValue) {
  TestFlags f;
  EXPECT_EQ(f.Error({"--storage-path"}), "flag --storage-path needs a value");
  // The next argument is a flag, not a value.
  EXPECT_EQ(f.Error({"--storage-path", "--verbose"}), "flag --storage-path needs a value");
  EXPECT_EQ(f.Error({"--retention"}), "flag --retention needs a value");
}

TEST(FlagSetTest, InvalidValues) {
  TestFlags f;
  EXPECT_THAT(f.Error({"--retention=abc"}),
              HasSubstr("invalid value \"abc\" for --retention: not a duration: "));
  EXPECT_THAT(f.Error({"--retention", "15"}),
              HasSubstr("invalid value \"15\" for --retention: not a duration: missing unit"));
  EXPECT_THAT(f.Error({"--secure-port=http"}),
              HasSubstr("invalid value \"http\" for --secure-port: expected an integer"));
  EXPECT_THAT(f.Error({"--secure-port=99999999999"}),
              HasSubstr("invalid value \"99999999999\" for --secure-port"));
  EXPECT_THAT(f.Error({"--big=1.5"}), HasSubstr("invalid value \"1.5\" for --big"));
}

TEST(FlagSetTest, HelpWinsOverEverythingBeforeDoubleDash) {
  for (const char* help : {"-h", "--help"}) {
    TestFlags f;
    auto rest = f.Parse({"--foo", "--retention=bad", help, "positional"});
    ASSERT_TRUE(rest.ok()) << rest.status();
    EXPECT_TRUE(f.set.help_requested());
    EXPECT_THAT(*rest, IsEmpty());
    // A later Parse without it clears the request.
    ASSERT_TRUE(f.Parse({}).ok());
    EXPECT_FALSE(f.set.help_requested());
  }
}

TEST(FlagSetTest, UsageListsFlagsWithTypesAndDefaults) {
  TestFlags f;
  f.set.set_args_usage("[DIR]");
  std::string usage = f.set.Usage();
  EXPECT_THAT(usage, HasSubstr("Usage:\n  metrics-adapter serve [flags] [DIR]\n"));
  EXPECT_THAT(usage, HasSubstr("Runs the server."));
  EXPECT_THAT(usage, HasSubstr("-h, --help"));
  EXPECT_THAT(usage, HasSubstr("--storage-path string"));
  EXPECT_THAT(usage, HasSubstr("Where the database lives. (default \"data\")"));
  EXPECT_THAT(usage, HasSubstr("--retention duration"));
  EXPECT_THAT(usage, HasSubstr("How long to keep samples. (default 1d)"));
  EXPECT_THAT(usage, HasSubstr("--secure-port int"));
  EXPECT_THAT(usage, HasSubstr("(default 6443)"));
  EXPECT_THAT(usage, HasSubstr("--tag strings"));
  EXPECT_THAT(usage, HasSubstr("(default [a,b])"));
  EXPECT_THAT(usage, HasSubstr("Use colors. (default true)"));
  // Zero defaults are not shown.
  EXPECT_THAT(usage, HasSubstr("Log more.\n"));
  EXPECT_THAT(usage, HasSubstr("A 64-bit number.\n"));
  // Sorted by name.
  EXPECT_LT(usage.find("--big"), usage.find("--color"));
  EXPECT_LT(usage.find("--storage-path"), usage.find("--tag"));
}

}  // namespace
}  // namespace cli
