// libFuzzer target: the PromQL parser must turn any input into an expression or an error with a
// position, without crashing, hanging or reading out of bounds. Whatever parses must print (in
// the canonical form) to text that parses again and prints identically, and deep copies must
// print the same. The match[] selector and series-description entry points get the same input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "promql/parser/ast.h"
#include "promql/parser/parser.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

bool HasPosition(const absl::Status& status) {
  // "<line>:<col>: parse error: ..." or "unknown position: parse error: ..."
  return std::string(status.message()).find(": parse error: ") != std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto expr = promql::ParseExpr(input);
  if (!expr.ok()) {
    Check(expr.status().code() == absl::StatusCode::kInvalidArgument);
    Check(HasPosition(expr.status()));
  } else {
    const promql::Expr& e = **expr;
    Check(e.pos.start >= 0 && e.pos.start <= e.pos.end &&
          e.pos.end <= static_cast<int>(input.size()));
    const std::string printed = promql::ToString(e);
    auto again = promql::ParseExpr(printed);
    if (!again.ok()) {
      std::fprintf(stderr, "printed form does not parse: %s -> %s: %s\n",
                   std::string(input).c_str(), printed.c_str(),
                   std::string(again.status().message()).c_str());
      std::abort();
    }
    Check(promql::ToString(**again) == printed);
    // The multi-line form of /api/v1/format_query parses back to the same expression too.
    const std::string pretty = promql::Prettify(e);
    auto pretty_again = promql::ParseExpr(pretty);
    if (!pretty_again.ok() || promql::ToString(**pretty_again) != printed) {
      std::fprintf(stderr, "prettified form does not parse back: %s -> %s\n",
                   std::string(input).c_str(), pretty.c_str());
      std::abort();
    }
    auto copy = e.Clone();
    Check(promql::ToString(*copy) == printed);
    promql::Inspect(e, [&](const promql::Expr& n, const std::vector<const promql::Expr*>&) {
      Check(n.pos.start >= 0 && n.pos.start <= n.pos.end &&
            n.pos.end <= static_cast<int>(input.size()));
      return true;
    });
    (void)promql::ResolveDurations(*copy, {.step_ms = 15000, .range_ms = 3600000}, input);
  }

  auto matchers = promql::ParseMetricSelector(input);
  if (!matchers.ok()) Check(HasPosition(matchers.status()));
  auto labels = promql::ParseMetric(input);
  if (!labels.ok()) Check(HasPosition(labels.status()));
  return 0;
}
