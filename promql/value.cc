#include "promql/value.h"

namespace promql {

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kString:
      return "string";
    case ValueType::kVector:
      return "vector";
    case ValueType::kMatrix:
      return "matrix";
  }
  return "unknown";
}

std::string_view DocumentedTypeName(ValueType type) {
  if (type == ValueType::kVector) return "instant vector";
  if (type == ValueType::kMatrix) return "range vector";
  return ValueTypeName(type);
}

}  // namespace promql
