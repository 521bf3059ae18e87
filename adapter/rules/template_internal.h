// Internals of the rule template engine (template.cc), shared with its Go-fmt printing code
// (template_format.cc). Not part of the public API: include adapter/rules/template.h instead.
#ifndef METRICS_ADAPTER_ADAPTER_RULES_TEMPLATE_INTERNAL_H_
#define METRICS_ADAPTER_ADAPTER_RULES_TEMPLATE_INTERNAL_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "adapter/rules/template.h"

namespace rules::template_internal {

// The root data ("." at the top, "$"): behaves like the Go struct prometheus-adapter passes,
// whose fields are the declared names in declared order.
struct Root {
  const TemplateData* data = nullptr;
  const std::vector<std::string>* fields = nullptr;
};

// A value during execution. Lists, maps and the root point into the data given to Execute,
// which outlives the execution.
struct Value {
  enum class Kind { kNil, kBool, kInt, kFloat, kString, kList, kMap, kRoot };
  Kind kind = Kind::kNil;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  const std::vector<std::string>* list = nullptr;
  const std::map<std::string, std::string>* map = nullptr;
  const Root* root = nullptr;

  static Value Nil() { return Value(); }
  static Value Bool(bool v) {
    Value r;
    r.kind = Kind::kBool;
    r.b = v;
    return r;
  }
  static Value Int(int64_t v) {
    Value r;
    r.kind = Kind::kInt;
    r.i = v;
    return r;
  }
  static Value Float(double v) {
    Value r;
    r.kind = Kind::kFloat;
    r.f = v;
    return r;
  }
  static Value String(std::string v) {
    Value r;
    r.kind = Kind::kString;
    r.s = std::move(v);
    return r;
  }
  static Value List(const std::vector<std::string>* v) {
    Value r;
    r.kind = Kind::kList;
    r.list = v;
    return r;
  }
  static Value Map(const std::map<std::string, std::string>* v) {
    Value r;
    r.kind = Kind::kMap;
    r.map = v;
    return r;
  }
  static Value RootValue(const Root* v) {
    Value r;
    r.kind = Kind::kRoot;
    r.root = v;
    return r;
  }
};

// Converts a field value of the data.
Value FromTemplateValue(const TemplateValue& v);

// Go's type name of v, as fmt prints it in "%!d(string=x)": string, int, float64, bool,
// []string, map[string]string, struct, or "<nil>".
std::string GoTypeName(const Value& v);

// fmt.Sprint(v): how a value is written to the output.
std::string PrintValue(const Value& v);
// fmt.Sprint(args...): spaces between operands when neither side is a string.
std::string Sprint(const std::vector<Value>& args);
// fmt.Sprintln(args...): spaces between all operands, then a newline.
std::string Sprintln(const std::vector<Value>& args);
// fmt.Sprintf(format, args...) for the verbs %v %s %d %q %x %X %o %O %b %c %U %t %e %E %f %F
// %g %G and %%, flags "+-# 0", width and precision (digits or "*"). Errors are written inline
// the way Go does: "%!d(string=a)", "%!s(MISSING)", "%!(EXTRA int=1)", "%!(NOVERB)".
std::string Sprintf(std::string_view format, const std::vector<Value>& args);
// strconv.Quote.
std::string GoQuote(std::string_view s);
// url.QueryEscape.
std::string QueryEscape(std::string_view s);

// Appends rune r as UTF-8; a surrogate or a value above U+10FFFF becomes U+FFFD.
void AppendRune(std::string& out, uint32_t r);

}  // namespace rules::template_internal

#endif  // METRICS_ADAPTER_ADAPTER_RULES_TEMPLATE_INTERNAL_H_
