#include "scrape/target_labels.h"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "scrape/config_internal.h"
#include "scrape/relabel.h"
#include "tsdb/duration.h"

namespace scrape {
namespace {

constexpr std::string_view kAddressLabel = "__address__";
constexpr std::string_view kSchemeLabel = "__scheme__";
constexpr std::string_view kMetricsPathLabel = "__metrics_path__";
constexpr std::string_view kScrapeIntervalLabel = "__scrape_interval__";
constexpr std::string_view kScrapeTimeoutLabel = "__scrape_timeout__";
constexpr std::string_view kParamPrefix = "__param_";
constexpr std::string_view kMetaPrefix = "__meta_";
constexpr std::string_view kReservedPrefix = "__";

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// Whether Go's net.SplitHostPort accepts s: "host:port" with no other ':' in host, or
// "[host]:port"; no stray brackets. The port may be empty or anything.
bool SplitsHostPort(std::string_view s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return false;  // missing port
  size_t j = 0;
  size_t k = 0;
  if (s[0] == '[') {
    const size_t end = s.find(']');
    if (end == std::string_view::npos) return false;  // missing ']'
    if (end + 1 != colon) return false;               // missing port, or too many colons
    j = 1;
    k = end + 1;
  } else if (s.substr(0, colon).find(':') != std::string_view::npos) {
    return false;  // too many colons
  }
  if (s.substr(j).find('[') != std::string_view::npos) return false;
  if (s.substr(k).find(']') != std::string_view::npos) return false;
  return true;
}

// Prometheus adds a default port when the address has none and adding one makes it valid.
bool NeedsPort(std::string_view addr) {
  if (SplitsHostPort(addr)) return false;
  return SplitsHostPort(absl::StrCat(absl::string_view(addr.data(), addr.size()), ":1234"));
}

// Go's url.QueryEscape.
void QueryEscape(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out->push_back(ch);
    } else if (c == ' ') {
      out->push_back('+');
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    }
  }
}

// Go's url.URL.EscapedPath for a path without a RawPath: escapes what shouldEscape(encodePath)
// escapes.
void PathEscape(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      std::string_view("-_.~$&+,/:;=@").find(ch) != std::string_view::npos;
    if (keep) {
      out->push_back(ch);
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    }
  }
}

}  // namespace

absl::StatusOr<PopulatedTarget> PopulateTargetLabels(const tsdb::Labels& target,
                                                     const ScrapeConfig& config) {
  PopulatedTarget out;
  LabelBuilder lb(target);
  const std::string interval = tsdb::FormatDurationMs(config.scrape_interval_ms);
  const std::string timeout = tsdb::FormatDurationMs(config.scrape_timeout_ms);
  const std::pair<std::string_view, std::string_view> defaults[] = {
      {"job", config.job_name},       {kScrapeIntervalLabel, interval},
      {kScrapeTimeoutLabel, timeout}, {kMetricsPathLabel, config.metrics_path},
      {kSchemeLabel, config.scheme},
  };
  for (const auto& [name, value] : defaults) {
    if (target.Get(name).empty()) lb.Set(name, value);
  }
  for (const auto& [name, values] : config.params) {
    if (!values.empty()) {
      lb.Set(absl::StrCat(absl::string_view(kParamPrefix.data(), kParamPrefix.size()), name),
             values[0]);
    }
  }
  out.discovered = lb.Labels();

  if (!Relabel(config.relabel_configs, &lb)) {
    out.dropped = true;
    return out;
  }

  std::string addr(lb.Get(kAddressLabel));
  if (addr.empty()) return absl::InvalidArgumentError("no address");
  if (NeedsPort(addr)) {
    const std::string_view scheme = lb.Get(kSchemeLabel);
    if (scheme == "http" || scheme.empty()) {
      addr += ":80";
    } else if (scheme == "https") {
      addr += ":443";
    } else {
      return absl::InvalidArgumentError(absl::StrFormat("invalid scheme: \"%s\"", config.scheme));
    }
    lb.Set(kAddressLabel, addr);
  }
  if (absl::Status st = CheckTargetAddress(addr); !st.ok()) return st;

  const std::string interval_text(lb.Get(kScrapeIntervalLabel));
  absl::StatusOr<int64_t> interval_ms = tsdb::ParseDurationMs(interval_text);
  if (!interval_ms.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("error parsing scrape interval: ",
                                                   std::string(interval_ms.status().message())));
  }
  if (*interval_ms == 0) return absl::InvalidArgumentError("scrape interval cannot be 0");
  const std::string timeout_text(lb.Get(kScrapeTimeoutLabel));
  absl::StatusOr<int64_t> timeout_ms = tsdb::ParseDurationMs(timeout_text);
  if (!timeout_ms.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("error parsing scrape timeout: ", std::string(timeout_ms.status().message())));
  }
  if (*timeout_ms == 0) return absl::InvalidArgumentError("scrape timeout cannot be 0");
  if (*timeout_ms > *interval_ms) {
    return absl::InvalidArgumentError(
        absl::StrFormat("scrape timeout cannot be greater than scrape interval (\"%s\" > \"%s\")",
                        timeout_text, interval_text));
  }

  // Meta labels go; the other "__" labels say how to scrape and stay until the series are built.
  std::vector<std::string> meta;
  for (const tsdb::Label& l : lb.pairs()) {
    if (StartsWith(l.name, kMetaPrefix)) meta.push_back(l.name);
  }
  for (const std::string& name : meta) lb.Del(name);

  if (lb.Get("instance").empty()) lb.Set("instance", addr);

  for (const tsdb::Label& l : lb.pairs()) {
    if (!internal::IsValidUtf8String(l.value)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("invalid label value for \"%s\": \"%s\"", l.name, l.value));
    }
  }
  out.labels = lb.TakeLabels();
  out.scrape_interval_ms = *interval_ms;
  out.scrape_timeout_ms = *timeout_ms;
  return out;
}

std::vector<PopulatedTarget> TargetsFromGroup(const TargetGroup& group, const ScrapeConfig& config,
                                              std::vector<std::string>* errors) {
  std::vector<PopulatedTarget> out;
  out.reserve(group.targets.size());
  for (size_t i = 0; i < group.targets.size(); ++i) {
    const tsdb::Labels& t = group.targets[i];
    std::vector<tsdb::Label> merged(t.begin(), t.end());
    for (const tsdb::Label& l : group.labels) {
      if (t.Get(l.name).empty()) merged.push_back(l);
    }
    absl::StatusOr<PopulatedTarget> p =
        PopulateTargetLabels(tsdb::Labels(std::move(merged)), config);
    if (!p.ok()) {
      if (errors != nullptr) {
        errors->push_back(absl::StrFormat("instance %d in group %s: %s", i, group.source,
                                          std::string(p.status().message())));
      }
      continue;
    }
    out.push_back(*std::move(p));
  }
  return out;
}

tsdb::Labels PublicTargetLabels(const tsdb::Labels& labels) {
  std::vector<tsdb::Label> out;
  out.reserve(labels.size());
  for (const tsdb::Label& l : labels) {
    if (!StartsWith(l.name, kReservedPrefix)) out.push_back(l);
  }
  return tsdb::Labels::FromSorted(std::move(out));
}

std::string TargetScrapeURL(const tsdb::Labels& labels, const ScrapeConfig& config) {
  std::map<std::string, std::vector<std::string>> params = config.params;
  for (const tsdb::Label& l : labels) {
    if (!StartsWith(l.name, kParamPrefix)) continue;
    std::vector<std::string>& v = params[l.name.substr(kParamPrefix.size())];
    if (v.empty()) {
      v.push_back(l.value);
    } else {
      v[0] = l.value;
    }
  }
  std::string url = absl::StrCat(std::string(labels.Get(kSchemeLabel)), "://",
                                 std::string(labels.Get(kAddressLabel)));
  const std::string_view path = labels.Get(kMetricsPathLabel);
  if (!path.empty() && path[0] != '/') url += '/';
  PathEscape(path, &url);
  std::string query;
  for (const auto& [name, values] : params) {
    for (const std::string& v : values) {
      if (!query.empty()) query += '&';
      QueryEscape(name, &query);
      query += '=';
      QueryEscape(v, &query);
    }
  }
  if (!query.empty()) absl::StrAppend(&url, "?", query);
  return url;
}

}  // namespace scrape
