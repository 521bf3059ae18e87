// libFuzzer target: label-selector parsing must turn any input into a selector or an error with
// an offset inside the input, without crashing; a parsed selector's String() must parse again
// to the same requirements (and the same String()); Matches and ToJson must work on whatever
// parsed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "adapter/k8s/selector.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

// The byte offset in "... (at offset N)".
std::optional<size_t> ErrorOffset(std::string_view message) {
  constexpr std::string_view kMarker = " (at offset ";
  size_t at = message.rfind(kMarker);
  if (at == std::string_view::npos || message.back() != ')') return std::nullopt;
  size_t v = 0;
  for (size_t i = at + kMarker.size(); i + 1 < message.size(); ++i) {
    if (message[i] < '0' || message[i] > '9') return std::nullopt;
    v = v * 10 + static_cast<size_t>(message[i] - '0');
  }
  return v;
}

std::optional<std::string_view> Lookup(std::string_view key) {
  static const std::map<std::string, std::string, std::less<>> kLabels = {
      {"app", "web"}, {"tier", "frontend"}, {"n", "42"},           {"neg", "-7"},
      {"empty", ""},  {"in", "notin"},      {"example.com/k", "v"}};
  auto it = kLabels.find(key);
  if (it == kLabels.end()) return std::nullopt;
  return std::string_view(it->second);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<k8s::LabelSelector> parsed = k8s::LabelSelector::Parse(input);
  if (!parsed.ok()) {
    std::string message(parsed.status().message());
    std::optional<size_t> offset = ErrorOffset(message);
    Check(offset.has_value() && *offset <= input.size());
    return 0;
  }
  const k8s::LabelSelector& s = *parsed;
  for (size_t i = 0; i < s.requirements().size(); ++i) {
    const k8s::Requirement& r = s.requirements()[i];
    Check(!r.key.empty());
    if (i > 0) Check(s.requirements()[i - 1].key <= r.key);
  }
  std::string text = s.String();
  absl::StatusOr<k8s::LabelSelector> again = k8s::LabelSelector::Parse(text);
  Check(again.ok());
  Check(again->requirements() == s.requirements());
  Check(again->String() == text);
  Check(s.empty() == text.empty());

  bool matches = s.Matches(Lookup);
  Check(again->Matches(Lookup) == matches);
  Check(s.Matches([](std::string_view) -> std::optional<std::string_view> {
    return std::nullopt;
  }) == again->Matches([](std::string_view) -> std::optional<std::string_view> {
    return std::nullopt;
  }));

  std::string json = s.ToJson();
  Check(s.empty() ? json == "null" : (json.front() == '{' && json.back() == '}'));
  for (char c : json)
    Check(static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f);
  return 0;
}
