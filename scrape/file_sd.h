// File-based service discovery (file_sd_configs): reading the target files. Watching and
// re-reading them (every refresh_interval, and on change) is the scrape manager's job; this file
// offers what it needs: expanding the configured patterns and parsing one file.
//
// A file holds a list of target groups, in JSON when its name ends in ".json" and in YAML when it
// ends in ".yml" or ".yaml" (case-insensitively), as Prometheus decides:
//
//   [ { "targets": ["host:9100", ...], "labels": { "name": "value", ... } }, ... ]
//
//   - targets: [host:9100]
//     labels: {env: prod}
//
// As in Prometheus (discovery/file as of v2.42): YAML is strict (unknown keys are errors), JSON
// ignores unknown keys; label names must be valid; a null group is an error; each group gets the
// label "__meta_filepath" with the file's path and the source "<path>:<index>"; an empty file is an
// empty list.
#ifndef METRICS_ADAPTER_SCRAPE_FILE_SD_H_
#define METRICS_ADAPTER_SCRAPE_FILE_SD_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "scrape/config.h"

namespace scrape {

inline constexpr std::string_view kFileSDPathLabel = "__meta_filepath";

// Reads and parses one target file. Errors name the file (and line for YAML, byte offset for
// JSON): NotFound when it does not exist, InvalidArgument when it is malformed.
absl::StatusOr<std::vector<TargetGroup>> ReadFileSD(const std::string& path);

// Parses the content of a target file; path chooses the format (by extension) and is used for
// "__meta_filepath", the sources and messages.
absl::StatusOr<std::vector<TargetGroup>> ParseFileSD(std::string_view content,
                                                     const std::string& path);

// The files matching the configured patterns (a '*' glob is allowed in the last path element),
// sorted, without duplicates. A pattern matching nothing contributes nothing (no error), as in
// Prometheus.
std::vector<std::string> ExpandFileSDPatterns(const std::vector<std::string>& patterns);

// Whether name is acceptable in file_sd_configs.files (Prometheus' pattern
// ^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$).
bool IsValidFileSDPattern(std::string_view name);

}  // namespace scrape

#endif  // METRICS_ADAPTER_SCRAPE_FILE_SD_H_
