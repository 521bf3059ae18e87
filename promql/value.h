// The values a PromQL expression evaluates to, as Prometheus names them: scalar, string, instant
// vector and range vector (matrix). Float samples only for now.
#ifndef METRICS_ADAPTER_PROMQL_VALUE_H_
#define METRICS_ADAPTER_PROMQL_VALUE_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "tsdb/labels.h"
#include "tsdb/storage.h"

namespace promql {

using tsdb::Labels;

// One element of an instant vector.
struct VectorSample {
  Labels labels;
  int64_t t;  // milliseconds
  double v;
};
using Vector = std::vector<VectorSample>;

// One series of a range vector.
struct MatrixSeries {
  Labels labels;
  std::vector<tsdb::Sample> samples;  // ascending time
};
using Matrix = std::vector<MatrixSeries>;

struct Scalar {
  int64_t t;
  double v;
};

struct String {
  int64_t t;
  std::string v;
};

enum class ValueType { kScalar, kString, kVector, kMatrix };
std::string_view ValueTypeName(ValueType type);  // "scalar", "string", "vector", "matrix"
// As the documentation and error messages name the types: "scalar", "string", "instant vector",
// "range vector".
std::string_view DocumentedTypeName(ValueType type);

// Prometheus 3 annotations: non-fatal notes attached to a result. Text as Prometheus words it,
// e.g. "PromQL warning: metric might not be a counter, name does not end in
// _total/_sum/_count/_bucket: \"foo\" (1:6)".
struct Annotations {
  std::vector<std::string> warnings;
  std::vector<std::string> infos;
};

// The result of a query. Range queries always produce a Matrix.
struct QueryResult {
  std::variant<Scalar, String, Vector, Matrix> value;
  Annotations annotations;

  ValueType type() const { return static_cast<ValueType>(value.index()); }
};

}  // namespace promql

#endif  // METRICS_ADAPTER_PROMQL_VALUE_H_
