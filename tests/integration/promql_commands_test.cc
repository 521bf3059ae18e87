// End-to-end tests of `metrics-adapter promql-test` and `metrics-adapter query` with the real
// binary (MA_BINARY).
#include <sys/wait.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"
#include "tsdb/db.h"

namespace {

using ::testing::HasSubstr;

using CmdResult = testsupport::RunResult;
using testsupport::ShellQuote;

class PromqlCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = testsupport::BinaryPath();
    if (binary_.empty()) GTEST_SKIP() << "MA_BINARY is not set";
    dir_ = testsupport::MakeTempDir("ma-promql-cmd");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  CmdResult Exec(const std::string& args) {
    return testsupport::RunShell(ShellQuote(binary_) + " " + args, dir_);
  }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  std::string binary_;
  std::string dir_;
};

TEST_F(PromqlCommandsTest, PromqlTestPassesAndFails) {
  std::string good = Write("good.test", R"(load 1m
    m{job="a"} 0+1x5

eval instant at 5m m
    m{job="a"} 5

eval range from 0 to 2m step 1m sum(m)
    {} 0 1 2
)");
  CmdResult ok = Exec("promql-test " + ShellQuote(good));
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("2 passed, 0 failed"));

  std::string bad = Write("bad.test", R"(load 1m
    m 1

eval instant at 0 m
    m 2
)");
  CmdResult fail = Exec("promql-test " + ShellQuote(bad));
  EXPECT_EQ(fail.exit_code, 1);
  EXPECT_THAT(fail.out, HasSubstr("FAIL bad.test:4: m"));
  EXPECT_THAT(fail.out, HasSubstr("0 passed, 1 failed"));

  // A known failure does not fail the run; listing a passing eval does.
  std::string known = Write("known.txt", "bad.test:4 expected to fail\n");
  CmdResult k = Exec("promql-test --known-failures " + ShellQuote(known) + " " + ShellQuote(bad));
  EXPECT_EQ(k.exit_code, 0) << k.out;
  EXPECT_THAT(k.out, HasSubstr("1 known failures"));
  std::string stale = Write("stale.txt", "good.test:4\n");
  EXPECT_EQ(
      Exec("promql-test --known-failures " + ShellQuote(stale) + " " + ShellQuote(good)).exit_code,
      1);

  // --evals restricts the evals; loads still run.
  std::string sel = Write("sel.txt", "good.test:7\n");
  CmdResult s = Exec("promql-test --evals " + ShellQuote(sel) + " " + ShellQuote(good));
  EXPECT_THAT(s.out, HasSubstr("1 passed, 0 failed"));

  EXPECT_EQ(Exec("promql-test").exit_code, 2);
  EXPECT_EQ(Exec("promql-test " + ShellQuote(dir_ + "/missing.test")).exit_code, 1);
}

TEST_F(PromqlCommandsTest, QueryEvaluatesOverAStorageDirectory) {
  const std::string storage = dir_ + "/data";
  {
    tsdb::DBOptions o;
    o.retention_ms = 0;
    auto db = tsdb::DB::Open(storage, o);
    ASSERT_TRUE(db.ok()) << db.status();
    auto app = (*db)->NewAppender();
    for (int i = 0; i <= 2; ++i) {
      ASSERT_TRUE(app->Append(0, {{"__name__", "m"}, {"i", "a"}}, i * 60000, i).ok());
      ASSERT_TRUE(app->Append(0, {{"__name__", "m"}, {"i", "b"}}, i * 60000, 10 * i).ok());
    }
    ASSERT_TRUE(app->Commit().ok());
    ASSERT_TRUE((*db)->Close().ok());
  }
  CmdResult inst = Exec("query 'sum(m)' --time 120 --storage-path " + ShellQuote(storage));
  EXPECT_EQ(inst.exit_code, 0) << inst.err;
  EXPECT_EQ(inst.out, "{} => 22 @[120000]\n");

  CmdResult range = Exec("query 'm{i=\"a\"}' --start 0 --end 120 --step 1m --storage-path " +
                         ShellQuote(storage));
  EXPECT_EQ(range.exit_code, 0) << range.err;
  EXPECT_EQ(range.out, "m{i=\"a\"} =>\n0 @[0]\n1 @[60000]\n2 @[120000]\n");

  CmdResult bad = Exec("query 'sum(' --time 0 --storage-path " + ShellQuote(storage));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("parse error"));
  EXPECT_EQ(Exec("query --storage-path " + ShellQuote(storage)).exit_code, 2);
}

}  // namespace
