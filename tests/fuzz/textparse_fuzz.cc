// libFuzzer target: the exposition-format parser must turn any input into entries or an error,
// in both formats, without crashing, hanging or reading out of bounds; and its outputs must be
// consistent (views inside their bounds, errors with a position).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "scrape/textparse/parser.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void Run(std::string_view input, scrape::textparse::Format format) {
  using scrape::textparse::EntryType;
  scrape::textparse::Parser parser(input, format);
  // Each call consumes at least one line, so this bound is never reached by a correct parser.
  const size_t max_calls = input.size() + 2;
  for (size_t i = 0; i <= max_calls; ++i) {
    Check(i < max_calls);
    absl::StatusOr<EntryType> type = parser.Next();
    if (!type.ok()) {
      Check(parser.error_line() >= 1 && parser.error_column() >= 1);
      Check(!parser.error_what().empty());
      Check(!parser.Next().ok());  // errors are sticky
      return;
    }
    const scrape::textparse::Entry& e = parser.entry();
    Check(e.type == *type);
    if (*type == EntryType::kEOF) {
      Check(parser.Next().ok());
      return;
    }
    Check(e.line >= 1);
    if (*type == EntryType::kSeries) {
      Check(!e.name.empty());
      Check(e.series_text.substr(0, e.name.size()) == e.name);
      for (const auto& l : e.labels) {
        Check(!l.name.empty());
        size_t sum = 0;
        for (char c : l.value) sum += static_cast<unsigned char>(c);  // touch every byte
        Check(sum <= 255 * l.value.size());
      }
      tsdb::Labels labels = scrape::textparse::ToLabels(e);
      Check(labels.MetricName() == e.name);
      Check(labels.Validate().ok());
      if (e.exemplar) {
        for (const auto& l : e.exemplar->labels) Check(!l.name.empty());
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Run(input, scrape::textparse::Format::kPrometheusText);
  Run(input, scrape::textparse::Format::kOpenMetrics);
  return 0;
}
