// libFuzzer target: the scrape configuration loader and the relabelling engine. Any input must
// load or give an error naming the source, without crashing or hanging; every rule that compiles
// must relabel any label set into a well-formed one (sorted, unique names, no empty values), the
// same through tsdb::Labels and through a reused LabelBuilder; target labels must build or fail
// cleanly.
//
// The input is read two ways:
//   1. as a whole, as a scrape configuration file (YAML);
//   2. as fields separated by NUL bytes, for one rule and a label set:
//        action \0 source,labels \0 separator \0 target \0 regex \0 replacement \0 modulus
//        \0 name=value \0 name=value ...
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "scrape/config.h"
#include "scrape/relabel.h"
#include "scrape/target_labels.h"
#include "tsdb/labels.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckWellFormed(const tsdb::Labels& labels) {
  for (size_t i = 0; i < labels.size(); ++i) {
    Check(!labels[i].value.empty());
    if (i > 0) Check(labels[i - 1].name < labels[i].name);
  }
}

// Applies rules both ways and checks they agree.
void ApplyAndCheck(const std::vector<scrape::RelabelRule>& rules, const tsdb::Labels& in,
                   scrape::LabelBuilder* builder) {
  tsdb::Labels through_labels = in;
  const bool kept = scrape::Relabel(rules, &through_labels);
  builder->Reset(in);
  const bool kept_builder = scrape::Relabel(rules, builder);
  Check(kept == kept_builder);
  if (kept) {
    CheckWellFormed(through_labels);
    Check(builder->Labels() == through_labels);
  } else {
    Check(through_labels == in);  // unchanged when dropped
  }
}

const std::vector<tsdb::Labels>& FixedLabelSets() {
  static const auto* sets = new std::vector<tsdb::Labels>{
      tsdb::Labels(),
      tsdb::Labels({{"__name__", "up"}, {"job", "j"}, {"instance", "h:1"}}),
      tsdb::Labels({{"__address__", "10.0.0.1:9100"},
                    {"__meta_kubernetes_pod_label_app", "web"},
                    {"__meta_x", "a\nb"},
                    {"a", "A"},
                    {"b", "ÉaB"}}),
  };
  return *sets;
}

void FuzzConfig(std::string_view input) {
  absl::StatusOr<scrape::Config> config = scrape::LoadConfigString(input, "fuzz.yml");
  if (!config.ok()) {
    Check(std::string(config.status().message()).rfind("fuzz.yml", 0) == 0);
    return;
  }
  scrape::LabelBuilder builder;
  for (const scrape::ScrapeConfig& sc : config->scrape_configs) {
    Check(sc.scrape_interval_ms > 0 && sc.scrape_timeout_ms > 0);
    Check(sc.scrape_timeout_ms <= sc.scrape_interval_ms);
    for (const scrape::RelabelRule& r : sc.relabel_configs) Check(r.compiled());
    for (const scrape::RelabelRule& r : sc.metric_relabel_configs) Check(r.compiled());
    for (const tsdb::Labels& set : FixedLabelSets()) {
      ApplyAndCheck(sc.relabel_configs, set, &builder);
      ApplyAndCheck(sc.metric_relabel_configs, set, &builder);
    }
    for (const scrape::TargetGroup& g : sc.static_configs) {
      std::vector<std::string> errors;
      for (const scrape::PopulatedTarget& t : scrape::TargetsFromGroup(g, sc, &errors)) {
        CheckWellFormed(t.discovered);
        if (t.dropped) continue;
        CheckWellFormed(t.labels);
        Check(t.labels.Has("__address__") && t.labels.Has("instance"));
        Check(t.scrape_timeout_ms > 0 && t.scrape_timeout_ms <= t.scrape_interval_ms);
        (void)scrape::TargetScrapeURL(t.labels, sc);
        for (const tsdb::Label& l : scrape::PublicTargetLabels(t.labels)) {
          Check(l.name.rfind("__", 0) != 0);
        }
      }
      for (const std::string& e : errors) Check(!e.empty());
    }
  }
}

void FuzzRule(std::string_view input) {
  std::vector<std::string> f = absl::StrSplit(absl::string_view(input.data(), input.size()), '\0');
  if (f.size() < 7) return;
  scrape::RelabelRule rule;
  absl::StatusOr<scrape::RelabelAction> action = scrape::ParseRelabelAction(f[0]);
  if (!action.ok()) return;
  rule.action = *action;
  if (!f[1].empty()) rule.source_labels = absl::StrSplit(f[1], ',');
  rule.separator = f[2];
  rule.target_label = f[3];
  rule.regex = f[4];
  rule.replacement = f[5];
  uint64_t modulus = 0;
  if (absl::SimpleAtoi(f[6], &modulus)) rule.modulus = modulus;
  std::vector<tsdb::Label> pairs;
  for (size_t i = 7; i < f.size(); ++i) {
    const size_t eq = f[i].find('=');
    if (eq == std::string::npos) continue;
    pairs.push_back(tsdb::Label{f[i].substr(0, eq), f[i].substr(eq + 1)});
  }
  const tsdb::Labels in(std::move(pairs));
  if (!rule.Compile().ok()) {
    Check(!rule.compiled());
    return;
  }
  std::vector<scrape::RelabelRule> rules = {rule,
                                            rule};  // twice: the second sees the first's output
  scrape::LabelBuilder builder;
  ApplyAndCheck(rules, in, &builder);
  for (const tsdb::Labels& set : FixedLabelSets()) ApplyAndCheck(rules, set, &builder);
  (void)rule.Matches(f[4]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  FuzzConfig(input);
  FuzzRule(input);
  return 0;
}
