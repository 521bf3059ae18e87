// The PromQL function table: every function Prometheus 3.x knows, with the argument and return
// types its parser checks. The engine implements them by name; the parser only type-checks.
#ifndef METRICS_ADAPTER_PROMQL_PARSER_FUNCTIONS_H_
#define METRICS_ADAPTER_PROMQL_PARSER_FUNCTIONS_H_

#include <span>
#include <string_view>
#include <vector>

#include "promql/value.h"

namespace promql {

struct FunctionInfo {
  std::string_view name;
  // Types of the arguments, as Prometheus lists them.
  std::vector<ValueType> arg_types;
  // Prometheus' Variadic: 0 means exactly arg_types.size() arguments. Otherwise the last entry of
  // arg_types is optional: at least arg_types.size() - 1 arguments, and at most
  // arg_types.size() - 1 + variadic (variadic > 0) or any number (variadic == -1); extra
  // arguments take the type of the last entry. E.g. round: {vector, scalar}, variadic 1 -> 1..2
  // args; label_join: {vector, string, string, string}, variadic -1 -> 3 or more.
  int variadic = 0;
  ValueType return_type = ValueType::kVector;
  // Prometheus gates it behind --enable-feature=promql-experimental-functions.
  bool experimental = false;

  // Argument count bounds; MaxArgs() is -1 for unlimited.
  int MinArgs() const;
  int MaxArgs() const;
  // The expected type of argument i (i < MaxArgs() or MaxArgs() == -1).
  ValueType ArgType(int i) const;
};

// The function called name (case-sensitive, as in Prometheus), or nullptr.
const FunctionInfo* LookupFunction(std::string_view name);
// All functions, sorted by name.
std::span<const FunctionInfo> AllFunctions();

}  // namespace promql

#endif  // METRICS_ADAPTER_PROMQL_PARSER_FUNCTIONS_H_
