// Internal to scrape/: strict YAML decoding helpers shared by the configuration loader
// (config.cc) and file-based discovery (file_sd.cc). Not part of the module's API; yaml-cpp
// types stay out of every public header.
#ifndef METRICS_ADAPTER_SCRAPE_CONFIG_INTERNAL_H_
#define METRICS_ADAPTER_SCRAPE_CONFIG_INTERNAL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "scrape/config.h"
#include "tsdb/labels.h"
#include "yaml-cpp/yaml.h"

namespace scrape::internal {

// Decoding with messages of the form "<source>:<line>: <where>: <what>". Every accessor checks
// the node's type before reading it, so no yaml-cpp exception escapes for any input.
struct YamlContext {
  std::string source;

  // The 1-based line of node, or 0 when unknown.
  static int Line(const YAML::Node& node);

  // Parses text (the first document); a syntax error names the line.
  absl::Status Parse(std::string_view text, YAML::Node* root) const;

  absl::Status Error(const YAML::Node& node, std::string_view where,
                     std::string_view message) const;
  absl::Status ErrorAtLine(int line, std::string_view where, std::string_view message) const;
  absl::Status UnknownField(const YAML::Node& key_node, std::string_view where,
                            std::string_view key) const;

  // Calls fn(key, key_node, value) for each pair of a mapping; non-string and duplicate keys
  // are errors. Stops at the first error.
  absl::Status ForEachField(const YAML::Node& map, std::string_view where,
                            const std::function<absl::Status(const std::string&, const YAML::Node&,
                                                             const YAML::Node&)>& fn) const;

  // Typed values, as Go's yaml.v2 decodes them: null gives the zero value; booleans and integers
  // must be plain (unquoted) YAML 1.1 scalars; a string takes any scalar's text.
  absl::Status GetString(const YAML::Node& v, const YAML::Node& key, std::string_view where,
                         std::string_view field, std::string* out) const;
  absl::Status GetBool(const YAML::Node& v, const YAML::Node& key, std::string_view where,
                       std::string_view field, bool* out) const;
  absl::Status GetUint(const YAML::Node& v, const YAML::Node& key, std::string_view where,
                       std::string_view field, uint64_t* out) const;
  // A Prometheus duration; null gives 0.
  absl::Status GetDuration(const YAML::Node& v, const YAML::Node& key, std::string_view where,
                           std::string_view field, int64_t* out_ms) const;
  absl::Status GetStringList(const YAML::Node& v, const YAML::Node& key, std::string_view where,
                             std::string_view field, std::vector<std::string>* out) const;
  absl::Status GetParams(const YAML::Node& v, const YAML::Node& key, std::string_view where,
                         std::string_view field,
                         std::map<std::string, std::vector<std::string>>* out) const;
  // A mapping of label names (validated) to values; validate_values also requires UTF-8.
  absl::Status GetLabels(const YAML::Node& v, const YAML::Node& key, std::string_view where,
                         std::string_view field, bool validate_values, tsdb::Labels* out) const;
};

// One target group ({targets: [...], labels: {...}}) in strict YAML. Leaves group->source alone.
absl::Status DecodeTargetGroupYaml(const YamlContext& ctx, const YAML::Node& node,
                                   std::string_view where, TargetGroup* group);

bool IsValidUtf8String(std::string_view s);

// Go's filepath.Join(dir, path) for relative paths; absolute or empty paths are returned as is,
// and so is path when dir is empty.
std::string JoinPath(std::string_view dir, const std::string& path);

}  // namespace scrape::internal

#endif  // METRICS_ADAPTER_SCRAPE_CONFIG_INTERNAL_H_
