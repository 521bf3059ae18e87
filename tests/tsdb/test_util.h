// Shared helpers for the storage tests.
#ifndef METRICS_ADAPTER_TESTS_TSDB_TEST_UTIL_H_
#define METRICS_ADAPTER_TESTS_TSDB_TEST_UTIL_H_

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tsdb/db.h"
#include "tsdb/matcher.h"

namespace tsdb::testing {

// A fresh directory under the test's temporary directory, removed at destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/ma-test-XXXXXX";
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline LabelMatcher Eq(const std::string& n, const std::string& v) {
  return *LabelMatcher::Make(LabelMatcher::Type::kEqual, n, v);
}
inline LabelMatcher Neq(const std::string& n, const std::string& v) {
  return *LabelMatcher::Make(LabelMatcher::Type::kNotEqual, n, v);
}
inline LabelMatcher Re(const std::string& n, const std::string& v) {
  return *LabelMatcher::Make(LabelMatcher::Type::kRegexMatch, n, v);
}
inline LabelMatcher Nre(const std::string& n, const std::string& v) {
  return *LabelMatcher::Make(LabelMatcher::Type::kRegexNoMatch, n, v);
}

// All samples of every series selected by matchers in [mint, maxt], keyed by the series' text form.
inline std::map<std::string, std::vector<Sample>> ReadAll(DB& db,
                                                          const std::vector<LabelMatcher>& matchers,
                                                          int64_t mint = kMinTime,
                                                          int64_t maxt = kMaxTime) {
  std::map<std::string, std::vector<Sample>> out;
  auto q = db.NewQuerier(mint, maxt);
  auto series = q->Select(matchers);
  EXPECT_TRUE(series.ok()) << series.status();
  if (!series.ok()) return out;
  for (const auto& s : *series) {
    auto& samples = out[s->labels().ToString()];
    auto it = s->Iterator();
    while (it->Next()) samples.push_back(it->At());
  }
  return out;
}

}  // namespace tsdb::testing

#endif  // METRICS_ADAPTER_TESTS_TSDB_TEST_UTIL_H_
