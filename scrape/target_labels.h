// A target's labels, built as Prometheus builds them (scrape/target.go PopulateLabels and
// TargetsFromGroup as of v2.42).
//
// From the discovered labels of one target (its own labels, then its group's labels where the
// target has none of that name):
//   1. set, unless already present: job, __scrape_interval__, __scrape_timeout__,
//      __metrics_path__, __scheme__ (from the scrape config);
//   2. set __param_<name> to the first value of each of the config's params;
//      => these are the "discovered labels" shown by /api/v1/targets;
//   3. apply relabel_configs; a dropped target ends here (no error);
//   4. an empty __address__ is an error ("no address");
//   5. an address without a port gets the scheme's default one (":80" for http, ":443" for
//      https), as Prometheus 2.42 does;
//   6. an address containing '/' is an error; __scrape_interval__ and __scrape_timeout__ must be
//      valid non-zero durations with the timeout not above the interval;
//   7. "__meta_*" labels are deleted;
//   8. instance defaults to __address__;
//   9. every value must be valid UTF-8.
// The result still holds __address__, __scheme__, __metrics_path__, __param_* and the scrape
// interval/timeout labels, which say how to scrape; PublicTargetLabels() drops every "__" label and
// gives the labels attached to the target's series (and shown as "labels" by /api/v1/targets).
#ifndef METRICS_ADAPTER_SCRAPE_TARGET_LABELS_H_
#define METRICS_ADAPTER_SCRAPE_TARGET_LABELS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "scrape/config.h"
#include "tsdb/labels.h"

namespace scrape {

struct PopulatedTarget {
  // The labels before relabelling (steps 1-2). Always set.
  tsdb::Labels discovered;
  // The labels after step 9; empty when dropped.
  tsdb::Labels labels;
  bool dropped = false;
  // Parsed from the final __scrape_interval__ / __scrape_timeout__ (0 when dropped).
  int64_t scrape_interval_ms = 0;
  int64_t scrape_timeout_ms = 0;
};

// Steps 1-9 for one target whose labels (target's and group's already merged) are `target`.
// An error (InvalidArgument) names the target, e.g. "no address", "\"a/b\" is not a valid
// hostname", "scrape timeout cannot be greater than scrape interval (\"20s\" > \"10s\")".
absl::StatusOr<PopulatedTarget> PopulateTargetLabels(const tsdb::Labels& target,
                                                     const ScrapeConfig& config);

// All targets of a group: merges each target's labels with the group's and calls
// PopulateTargetLabels. Targets in error are left out and their errors appended to *errors
// ("instance 2 in group 0: no address") when errors is not null. Dropped targets are returned
// (dropped == true), as Prometheus keeps them for /api/v1/targets.
std::vector<PopulatedTarget> TargetsFromGroup(const TargetGroup& group, const ScrapeConfig& config,
                                              std::vector<std::string>* errors);

// The labels of a target's series: `labels` without the "__"-prefixed ones.
tsdb::Labels PublicTargetLabels(const tsdb::Labels& labels);

// The URL to scrape: <__scheme__>://<__address__><__metrics_path__>?<query>, where the query is
// the config's params with each __param_<name> label replacing the first value of <name> (or
// adding it), encoded as Go's url.Values.Encode (sorted by name, query-escaped).
std::string TargetScrapeURL(const tsdb::Labels& labels, const ScrapeConfig& config);

}  // namespace scrape

#endif  // METRICS_ADAPTER_SCRAPE_TARGET_LABELS_H_
