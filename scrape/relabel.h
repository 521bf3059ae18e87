// Relabelling: the rules of `relabel_configs` (applied to a target's labels before it is scraped)
// and `metric_relabel_configs` (applied to every scraped series before it is stored), with
// Prometheus' semantics as of v2.42 (the comparison peer; the edge cases below were checked
// against a running Prometheus 2.42).
//
// A rule reads the values of its source_labels joined with separator (an absent label reads as
// ""), matches them against regex, compiled exactly as Prometheus compiles it, "^(?:" + regex +
// ")$" (so '.' does not match '\n', and a regex such as "a)|(b" is not anchored at both ends, as
// in Prometheus), and then, by action:
//
//   replace    on a match, expands target_label with the match (so "$1" or "${name}" may appear
//              in it); if that is not a valid label name, nothing changes; otherwise the label is
//              set to replacement expanded with the match; an empty expansion deletes the label
//              named by the *unexpanded* target_label (Prometheus 2.42: a templated target such as
//              "${1}" then deletes nothing). No match: nothing changes.
//   keep/drop  keeps (drops) the series when the value matches, drops (keeps) it otherwise.
//   keepequal  keeps the series only if the value equals the value of target_label.
//   dropequal  drops the series if the value equals the value of target_label.
//   hashmod    sets target_label to (last 8 bytes of MD5(value) as a big-endian uint64) % modulus,
//              in decimal.
//   labelmap   for every label present when the rule starts whose name matches regex, also sets
//              the label named by replacement expanded with the match of the name (e.g. regex
//              "__meta_(.+)", replacement "$1"), with the label's value at the start.
//              Deviation: a resulting name that is not a valid label name (e.g. "1") is skipped;
//              Prometheus 2.42 stores it.
//   labeldrop  deletes every label whose name matches regex.
//   labelkeep  deletes every label whose name does not match regex.
//   lowercase  sets target_label to the value in lower case (Unicode simple case mapping, as Go's
//   uppercase  strings.ToLower/ToUpper: "É" <-> "é", "ß" stays); an empty value deletes it.
//
// Expansion follows Go's regexp.Expand: "$1", "${1}", "$name", "${name}" refer to groups ("$name"
// takes the longest run of letters, digits and '_', so "$1x" is the group named "1x", which does
// not exist, and expands to ""; write "${1}x"); "$$" is a literal "$"; a reference to a group that
// does not exist or did not participate expands to "" (also "$01": no leading zeros); a "$" not
// followed by a valid reference is kept literally ("$ {1}", "${1 }").
//
// Labels never hold empty values: setting a label to "" deletes it, as everywhere in tsdb::Labels.
//
// Speed: metric_relabel_configs run for every new series of every scrape, so rules are compiled
// once (regex, replacement and target templates pre-parsed; the default regex "(.*)" needs no
// regex engine at all) and applied to a LabelBuilder that callers can reuse across series without
// reallocating; a single-source rule reads its value without copying.
//
// Thread safety: a RelabelRule is immutable after Compile and may be shared by any number of
// threads (RE2 matching is thread-safe). A LabelBuilder belongs to one thread at a time.
#ifndef METRICS_ADAPTER_SCRAPE_RELABEL_H_
#define METRICS_ADAPTER_SCRAPE_RELABEL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/labels.h"

namespace re2 {
class RE2;
}

namespace scrape {

enum class RelabelAction {
  kReplace,
  kKeep,
  kDrop,
  kKeepEqual,
  kDropEqual,
  kHashMod,
  kLabelMap,
  kLabelDrop,
  kLabelKeep,
  kLowercase,
  kUppercase,
};

// "replace", "keep", ... as written in the configuration.
std::string_view RelabelActionName(RelabelAction action);
// Parses an action name case-insensitively as Prometheus does ("Replace" == "replace").
// Error: `unknown relabel action "foo"`.
absl::StatusOr<RelabelAction> ParseRelabelAction(std::string_view name);

namespace internal {
struct CompiledRule;
}

// One relabelling rule. Fill the public fields (their defaults are Prometheus'), then call
// Compile() once; Relabel() treats a rule that was not compiled (or whose Compile failed) as a
// no-op. Copies share the compiled state, so copying a compiled rule is cheap and keeps it
// compiled; changing a field after Compile requires compiling again.
struct RelabelRule {
  std::vector<std::string> source_labels;
  std::string separator = ";";
  std::string target_label;
  // As written in the configuration, without anchors (see the top of this file).
  std::string regex = "(.*)";
  uint64_t modulus = 0;
  std::string replacement = "$1";
  RelabelAction action = RelabelAction::kReplace;

  // Validates the rule as Prometheus' relabel.Config.Validate does (e.g. "relabel configuration
  // for replace action requires 'target_label' value", "labeldrop action requires only 'regex',
  // and no other fields", invalid source label names, a regex RE2 cannot compile) and compiles it.
  // Errors are InvalidArgument with Prometheus' wording.
  absl::Status Compile();
  bool compiled() const { return compiled_ != nullptr; }

  // Whether the (compiled) anchored regex matches s entirely. False when not compiled.
  bool Matches(std::string_view s) const;

  std::shared_ptr<const internal::CompiledRule> compiled_;
};

// Compiles every rule; the first error is returned prefixed with the rule's index.
absl::Status CompileRelabelRules(std::vector<RelabelRule>* rules);

// A mutable label set for relabelling (and for building a series' labels in the scrape loop):
// a vector kept sorted by name, with no empty values. Reset() reuses the capacity, so one builder
// per scrape loop makes relabelling allocation-free for label sets that fit the previous ones.
class LabelBuilder {
 public:
  LabelBuilder() = default;
  explicit LabelBuilder(const tsdb::Labels& labels) { Reset(labels); }

  void Reset(const tsdb::Labels& labels);
  void Reset(const std::vector<tsdb::Label>& sorted_unique_non_empty);
  void Clear() { labels_.clear(); }

  // The value of name, or "" when absent. Valid until the next mutation.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const { return !Get(name).empty(); }
  // Sets name to value; an empty value deletes the label.
  void Set(std::string_view name, std::string_view value);
  void Del(std::string_view name);

  size_t size() const { return labels_.size(); }
  const std::vector<tsdb::Label>& pairs() const { return labels_; }

  // The current labels, sorted by name with no empty value.
  tsdb::Labels Labels() const { return tsdb::Labels::FromSorted(labels_); }
  // Moves the labels out; the builder is empty afterwards.
  tsdb::Labels TakeLabels() { return tsdb::Labels::FromSorted(std::move(labels_)); }

 private:
  std::vector<tsdb::Label> labels_;  // sorted by name, unique, no empty value
};

// Applies rules in order to *labels. Returns false when a rule drops the series (or target);
// *labels is then unspecified. Rules that are not compiled are skipped.
bool Relabel(const std::vector<RelabelRule>& rules, LabelBuilder* labels);
// Convenience form on tsdb::Labels; *labels is left unchanged when the series is dropped.
bool Relabel(const std::vector<RelabelRule>& rules, tsdb::Labels* labels);

// Expands a Go regexp.Expand template against the submatches of a match: groups[i] is group i's
// text or nullopt when it did not participate; names[i] is group i's name ("" when unnamed).
// Exposed for tests and for callers that build their own templates.
std::string ExpandTemplate(std::string_view tmpl,
                           const std::vector<std::optional<std::string_view>>& groups,
                           const std::vector<std::string>& names);

// Prometheus' hashmod value: the last 8 bytes of MD5(s) read as a big-endian uint64.
uint64_t HashModSum64(std::string_view s);

}  // namespace scrape

#endif  // METRICS_ADAPTER_SCRAPE_RELABEL_H_
