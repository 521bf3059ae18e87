// libFuzzer target: the rule template engine must turn any text into a template or an error,
// and execute any template to output or an error, without crashing, hanging or exhausting the
// stack (nesting is bounded at Parse, execution by a step and byte budget); every error names
// a line:column inside the text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "adapter/rules/template.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

// An error message starts with "<line>:<col>: " and the position lies inside the text.
void CheckPosition(std::string_view msg, std::string_view text) {
  size_t colon1 = msg.find(':');
  Check(colon1 != std::string_view::npos && colon1 > 0);
  size_t colon2 = msg.find(':', colon1 + 1);
  Check(colon2 != std::string_view::npos && colon2 > colon1 + 1);
  Check(msg.substr(colon2, 2) == ": " && msg.size() > colon2 + 2);
  size_t line = 0, col = 0;
  for (char c : msg.substr(0, colon1)) {
    Check(c >= '0' && c <= '9');
    line = line * 10 + static_cast<size_t>(c - '0');
  }
  for (char c : msg.substr(colon1 + 1, colon2 - colon1 - 1)) {
    Check(c >= '0' && c <= '9');
    col = col * 10 + static_cast<size_t>(c - '0');
  }
  Check(line >= 1 && col >= 1);
  size_t lines = 1;
  for (char c : text) lines += c == '\n';
  Check(line <= lines);
  Check(col <= text.size() + 1);
}

const std::vector<std::string>& Fields() {
  static const std::vector<std::string> fields = {"Series",  "LabelMatchers", "LabelValuesByName",
                                                  "GroupBy", "GroupBySlice",  "Group",
                                                  "Resource"};
  return fields;
}

const rules::TemplateData& Data() {
  static const rules::TemplateData data = {
      {"Series", std::string("http_requests_total")},
      {"LabelMatchers", std::string("namespace=\"somens\",pod=~\"p1|p2\"")},
      {"LabelValuesByName",
       std::map<std::string, std::string>{{"namespace", "somens"}, {"pod", "p1|p2"}}},
      {"GroupBy", std::string("pod,container")},
      {"GroupBySlice", std::vector<std::string>{"pod", "container"}},
      {"Resource", std::string("pod")},
      // "Group" is declared but absent: it renders as "".
  };
  return data;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<rules::Template> t = rules::Template::Parse(text, Fields());
  if (!t.ok()) {
    Check(t.status().code() == absl::StatusCode::kInvalidArgument);
    CheckPosition(std::string(t.status().message()), text);
    return 0;
  }
  Check(t->text() == text);
  absl::StatusOr<std::string> out = t->Execute(Data());
  if (!out.ok()) {
    Check(t->text() == text);
    CheckPosition(std::string(out.status().message()), text);
  }
  // Execution is deterministic, including on a copy.
  rules::Template copy = *t;
  absl::StatusOr<std::string> again = copy.Execute(Data());
  Check(again.ok() == out.ok());
  if (out.ok()) Check(*again == *out);
  return 0;
}
