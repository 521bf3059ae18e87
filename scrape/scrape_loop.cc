#include "scrape/scrape_loop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tsdb/db.h"

namespace scrape {
namespace {

using Clock = std::chrono::steady_clock;

absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

constexpr std::string_view kExportedPrefix = "exported_";
// Prometheus' ScrapeTimestampTolerance, and the shortest interval it aligns timestamps for.
constexpr int64_t kTimestampToleranceNs = 2'000'000;
constexpr int64_t kMinAlignedIntervalNs = 100 * kTimestampToleranceNs;

int64_t UnixNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Floor division, for timestamps before 1970 too.
int64_t NsToMs(int64_t ns) { return ns >= 0 ? ns / 1'000'000 : -((-ns + 999'999) / 1'000'000); }

// A sorted label vector holds name (binary search).
bool SortedHas(const std::vector<tsdb::Label>& labels, std::string_view name) {
  auto it = std::lower_bound(labels.begin(), labels.end(), name,
                             [](const tsdb::Label& l, std::string_view n) { return l.name < n; });
  return it != labels.end() && it->name == name;
}

// Go's %.50s: at most 50 bytes.
std::string_view Cut50(std::string_view s) { return s.substr(0, std::min<size_t>(s.size(), 50)); }

// Go's strconv.FormatFloat(seconds, 'f', -1, 64) for a whole number of milliseconds.
std::string FormatSeconds(int64_t ms) {
  std::string out = absl::StrCat(ms / 1000);
  int64_t frac = ms % 1000;
  if (frac != 0) {
    std::string digits = absl::StrFormat("%03d", frac);
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    absl::StrAppend(&out, ".", digits);
  }
  return out;
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("unable to read ", AV(what), " ", path, ": cannot open the file"));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    return absl::FailedPreconditionError(
        absl::StrCat("unable to read ", AV(what), " ", path, ": read error"));
  }
  return std::string(absl::StripAsciiWhitespace(ss.str()));
}

uint64_t Fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

constexpr const char* kReportNames[5] = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                                         "scrape_samples_post_metric_relabeling",
                                         "scrape_series_added"};

}  // namespace

textparse::Format FormatForContentType(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  absl::string_view m = absl::StripAsciiWhitespace(AV(media));
  if (absl::EqualsIgnoreCase(m, "application/openmetrics-text")) {
    return textparse::Format::kOpenMetrics;
  }
  return textparse::Format::kPrometheusText;
}

std::string_view TargetHealthName(TargetHealth health) {
  switch (health) {
    case TargetHealth::kUp:
      return "up";
    case TargetHealth::kDown:
      return "down";
    case TargetHealth::kUnknown:
      break;
  }
  return "unknown";
}

uint64_t Target::Hash() const {
  uint64_t h = 14695981039346656037ULL;
  h = Fnv1a(h, absl::StrFormat("%016d", labels.Hash()));
  return Fnv1a(h, url);
}

// ---------------------------------------------------------------------------------------------
// ScrapeIngester

ScrapeIngester::ScrapeIngester(IngestSettings settings, std::shared_ptr<TargetMetadata> metadata)
    : settings_(std::move(settings)), metadata_(std::move(metadata)) {
  if (metadata_ == nullptr) metadata_ = std::make_shared<TargetMetadata>();
}

void ScrapeIngester::UpdateSettings(IngestSettings settings) { settings_ = std::move(settings); }

absl::StatusOr<bool> ScrapeIngester::BuildLabels(const textparse::Entry& entry, tsdb::Labels* out) {
  scratch_.clear();
  textparse::AppendLabels(entry, &scratch_);
  std::sort(scratch_.begin(), scratch_.end(),
            [](const tsdb::Label& a, const tsdb::Label& b) { return a.name < b.name; });
  // The parser refuses duplicate names, so the pairs are unique; empty values are left out.
  builder_.Reset(scratch_);

  const tsdb::Labels& target = settings_.target_labels;
  if (settings_.honor_labels) {
    for (const tsdb::Label& l : target) {
      if (!SortedHas(scratch_, l.name)) builder_.Set(l.name, l.value);
    }
  } else {
    std::vector<tsdb::Label> conflicts;
    for (const tsdb::Label& l : target) {
      std::string_view exposed = builder_.Get(l.name);
      if (!exposed.empty() && SortedHas(scratch_, l.name)) {
        conflicts.push_back(tsdb::Label{l.name, std::string(exposed)});
      }
    }
    for (const tsdb::Label& l : target) builder_.Set(l.name, l.value);
    if (!conflicts.empty()) {
      // Shorter names first; each gets "exported_" prefixes until the name is free.
      std::stable_sort(
          conflicts.begin(), conflicts.end(),
          [](const tsdb::Label& a, const tsdb::Label& b) { return a.name.size() < b.name.size(); });
      for (size_t i = 0; i < conflicts.size(); ++i) {
        std::string name = conflicts[i].name;
        while (true) {
          name = absl::StrCat(AV(kExportedPrefix), name);
          bool taken = SortedHas(scratch_, name) || target.Has(name);
          for (size_t j = 0; j < i && !taken; ++j) taken = conflicts[j].name == name;
          if (!taken) break;
        }
        conflicts[i].name = std::move(name);
      }
      for (const tsdb::Label& l : conflicts) builder_.Set(l.name, l.value);
    }
  }

  if (!settings_.metric_relabel_configs.empty() &&
      !Relabel(settings_.metric_relabel_configs, &builder_)) {
    return false;
  }
  if (builder_.size() == 0) return false;

  std::string_view metric = builder_.Get(tsdb::kMetricNameLabel);
  if (metric.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "line ", entry.line, ": missing metric name (__name__ label) after relabelling"));
  }
  tsdb::Labels labels = builder_.Labels();
  if (absl::Status st = labels.Validate(); !st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", entry.line, ": invalid metric name or label names: ", st.message()));
  }
  if (settings_.label_limit > 0 && labels.size() > settings_.label_limit) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("label_limit exceeded (metric: %s, number of labels: %d, limit: %d)",
                        Cut50(metric), labels.size(), settings_.label_limit));
  }
  if (settings_.label_name_length_limit > 0 || settings_.label_value_length_limit > 0) {
    for (const tsdb::Label& l : labels) {
      if (settings_.label_name_length_limit > 0 &&
          l.name.size() > settings_.label_name_length_limit) {
        return absl::ResourceExhaustedError(absl::StrFormat(
            "label_name_length_limit exceeded (metric: %s, label name: %s, length: %d, limit: "
            "%d)",
            Cut50(metric), Cut50(l.name), l.name.size(), settings_.label_name_length_limit));
      }
      if (settings_.label_value_length_limit > 0 &&
          l.value.size() > settings_.label_value_length_limit) {
        return absl::ResourceExhaustedError(absl::StrFormat(
            "label_value_length_limit exceeded (metric: %s, label name: %s, value: \"%s\", "
            "length: %d, limit: %d)",
            Cut50(metric), Cut50(l.name), absl::CHexEscape(AV(Cut50(l.value))), l.value.size(),
            settings_.label_value_length_limit));
      }
    }
  }
  *out = std::move(labels);
  return true;
}

namespace {

// Counts a refusal of the storage; false when the error is not a refusal (the scrape fails).
bool CountRejection(const absl::Status& st, IngestResult* result) {
  std::optional<tsdb::RejectReason> reason = tsdb::GetRejectReason(st);
  if (!reason) return false;
  switch (*reason) {
    case tsdb::RejectReason::kOutOfOrder:
      ++result->out_of_order;
      return true;
    case tsdb::RejectReason::kDuplicate:
      ++result->duplicate_timestamp;
      return true;
    case tsdb::RejectReason::kOutOfBounds:
      ++result->out_of_bounds;
      return true;
    case tsdb::RejectReason::kInvalidLabels:
      return false;
  }
  return false;
}

}  // namespace

IngestResult ScrapeIngester::Append(tsdb::Appender* app, std::string_view body,
                                    textparse::Format format, int64_t t) {
  IngestResult result;
  ++iter_;
  seen_ = 0;
  continued_ = 0;
  tracked_now_ = 0;
  failed_pending_ = false;
  metadata_->BeginScrape();
  textparse::Parser parser(body, format);
  const tsdb::Labels kNoLabels;
  uint64_t limited = 0;  // samples counted against sample_limit
  bool over_limit = false;

  while (true) {
    absl::StatusOr<textparse::EntryType> type = parser.Next();
    if (!type.ok()) {
      result.error = type.status();
      break;
    }
    if (*type == textparse::EntryType::kEOF) break;
    const textparse::Entry& e = parser.entry();
    switch (*type) {
      case textparse::EntryType::kHelp:
        metadata_->SetHelp(e.name, e.text);
        continue;
      case textparse::EntryType::kType:
        metadata_->SetType(e.name, e.metric_type);
        continue;
      case textparse::EntryType::kUnit:
        metadata_->SetUnit(e.name, e.text);
        continue;
      case textparse::EntryType::kSeries:
        break;
      default:
        continue;
    }
    ++result.total;
    int64_t ts = t;
    bool explicit_ts = false;
    if (settings_.honor_timestamps && e.timestamp_ms.has_value()) {
      ts = *e.timestamp_ms;
      explicit_ts = true;
    }

    auto it = cache_.find(AV(e.series_text));
    const bool cached = it != cache_.end();
    tsdb::SeriesRef ref = 0;
    tsdb::Labels labels;
    if (cached) {
      if (it->second.seen_iter != iter_) {
        it->second.seen_iter = iter_;
        ++seen_;
      }
      if (it->second.ref == 0) continue;  // dropped by relabelling
      ref = it->second.ref;
    } else {
      absl::StatusOr<bool> built = BuildLabels(e, &labels);
      if (!built.ok()) {
        result.error = built.status();
        break;
      }
      if (!*built) {
        CacheEntry dropped;
        dropped.seen_iter = iter_;
        cache_.emplace(std::string(e.series_text), dropped);
        ++seen_;
        continue;
      }
    }
    ++result.added;

    if (!IsStaleNaN(e.value) && settings_.sample_limit > 0 && ++limited > settings_.sample_limit) {
      // Keep parsing to count every sample, as Prometheus does, but append no more.
      over_limit = true;
    }
    if (over_limit) continue;

    if (cached && it->second.appended_iter == iter_) {
      ++result.duplicates_in_body;  // the first sample of the series wins
      continue;
    }

    absl::StatusOr<tsdb::SeriesRef> appended =
        app->Append(ref, cached ? kNoLabels : labels, ts, e.value);
    if (!appended.ok() && cached &&
        tsdb::GetRejectReason(appended.status()) == tsdb::RejectReason::kInvalidLabels) {
      // The storage no longer knows the ref (retention removed the series): look it up again.
      absl::StatusOr<bool> built = BuildLabels(e, &labels);
      if (!built.ok()) {
        result.error = built.status();
        break;
      }
      appended = app->Append(0, labels, ts, e.value);
      if (appended.ok()) it->second.ref = *appended;
    }
    if (!appended.ok()) {
      if (CountRejection(appended.status(), &result)) continue;
      result.error = absl::Status(appended.status().code(),
                                  absl::StrCat("line ", e.line, ": ", appended.status().message()));
      break;
    }
    if (!cached) {
      // Another spelling of a label set seen before gets its own entry with the same ref; the
      // storage keeps the first sample of a timestamp, so the first spelling wins there too.
      it = cache_.emplace(std::string(e.series_text), CacheEntry{}).first;
      it->second.ref = *appended;
      it->second.seen_iter = iter_;
      ++seen_;
      ++result.series_added;
    }
    CacheEntry& entry = it->second;
    if (last_success_iter_ != 0 && entry.tracked_iter == last_success_iter_) ++continued_;
    entry.appended_iter = iter_;
    if (!explicit_ts) {
      // Series with their own timestamps get no staleness markers, as in Prometheus.
      entry.prev_tracked_iter = entry.tracked_iter;
      entry.tracked_iter = iter_;
      ++tracked_now_;
    }
  }

  if (over_limit && result.error.ok()) {
    result.error = absl::ResourceExhaustedError("sample limit exceeded");
  }
  if (!result.error.ok()) {
    failed_pending_ = true;
    return result;
  }
  // Staleness markers for the series of the last successful scrape that this one did not
  // append, and the cache entries this scrape did not see dropped: one pass, skipped in the
  // steady state where the counts say there is nothing to do.
  if (continued_ != prev_tracked_ || seen_ != cache_.size()) {
    for (auto c = cache_.begin(); c != cache_.end();) {
      CacheEntry& entry = c->second;
      if (last_success_iter_ != 0 && entry.ref != 0 && entry.tracked_iter == last_success_iter_ &&
          entry.appended_iter != iter_) {
        AppendStale(app, entry.ref, t, &result);
      }
      if (entry.seen_iter != iter_) {
        cache_.erase(c++);
      } else {
        ++c;
      }
    }
  }
  seen_ = cache_.size();
  successful_size_ = cache_.size();
  prev_tracked_ = tracked_now_;
  last_success_iter_ = iter_;
  metadata_->EndScrape();
  return result;
}

void ScrapeIngester::AppendStale(tsdb::Appender* app, tsdb::SeriesRef ref, int64_t t,
                                 IngestResult* result) {
  const tsdb::Labels kNoLabels;
  absl::StatusOr<tsdb::SeriesRef> r = app->Append(ref, kNoLabels, t, StaleNaN());
  // Out of order or duplicate: the series came back elsewhere meanwhile; nothing to mark.
  if (r.ok()) ++result->stale_markers;
}

IngestResult ScrapeIngester::AppendFailure(tsdb::Appender* app, int64_t t) {
  IngestResult result;
  if (last_success_iter_ != 0) {
    for (auto c = cache_.begin(); c != cache_.end();) {
      CacheEntry& entry = c->second;
      // A failed Append of this iteration may have moved tracked_iter on; what counts is
      // whether the series was tracked by the last successful scrape.
      uint64_t tracked = failed_pending_ && entry.tracked_iter == iter_ ? entry.prev_tracked_iter
                                                                        : entry.tracked_iter;
      if (entry.ref != 0 && tracked == last_success_iter_) AppendStale(app, entry.ref, t, &result);
      ++c;
    }
  }
  // Forget what failed scrapes added if the cache grows out of bounds (a target with
  // ever-changing series whose scrapes keep failing).
  if (cache_.size() > 2 * successful_size_ + 1000) cache_.clear();
  // Nothing is tracked any more: the next successful scrape starts afresh.
  last_success_iter_ = 0;
  prev_tracked_ = 0;
  failed_pending_ = false;
  ++iter_;
  seen_ = 0;
  return result;
}

absl::Status ScrapeIngester::AppendReport(tsdb::Appender* app, int64_t t,
                                          const ScrapeReport& report) {
  const double values[5] = {report.up ? 1.0 : 0.0, report.duration_seconds,
                            static_cast<double>(report.samples_scraped),
                            static_cast<double>(report.samples_post_relabeling),
                            static_cast<double>(report.series_added)};
  absl::Status first_error;
  for (int i = 0; i < 5; ++i) {
    tsdb::Labels labels;
    if (report_refs_[i] == 0) {
      labels = settings_.target_labels.With(tsdb::kMetricNameLabel, kReportNames[i]);
    }
    absl::StatusOr<tsdb::SeriesRef> r = app->Append(report_refs_[i], labels, t, values[i]);
    if (!r.ok() && report_refs_[i] != 0 &&
        tsdb::GetRejectReason(r.status()) == tsdb::RejectReason::kInvalidLabels) {
      labels = settings_.target_labels.With(tsdb::kMetricNameLabel, kReportNames[i]);
      r = app->Append(0, labels, t, values[i]);
    }
    if (r.ok()) {
      report_refs_[i] = *r;
    } else if (first_error.ok() && !tsdb::GetRejectReason(r.status()).has_value()) {
      first_error = r.status();
    }
  }
  report_appended_ = true;
  return first_error;
}

IngestResult ScrapeIngester::AppendEndOfRun(tsdb::Appender* app, int64_t t) {
  IngestResult result = AppendFailure(app, t);
  if (report_appended_) {
    const tsdb::Labels kNoLabels;
    for (tsdb::SeriesRef ref : report_refs_) {
      if (ref == 0) continue;
      if (app->Append(ref, kNoLabels, t, StaleNaN()).ok()) ++result.stale_markers;
    }
    report_appended_ = false;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// ScrapeLoop

int64_t ScrapeLoop::OffsetNs(uint64_t hash, uint64_t seed, int64_t interval_ns,
                             int64_t now_unix_ns) {
  if (interval_ns <= 0) return 0;
  int64_t now_mod = now_unix_ns % interval_ns;
  if (now_mod < 0) now_mod += interval_ns;
  int64_t base = interval_ns - now_mod;
  int64_t offset = static_cast<int64_t>((hash ^ seed) % static_cast<uint64_t>(interval_ns));
  int64_t next = base + offset;
  if (next > interval_ns) next -= interval_ns;
  return next;
}

namespace {

IngestSettings SettingsFor(const Target& target, const ScrapeConfig& config) {
  IngestSettings s;
  s.target_labels = target.public_labels;
  s.honor_labels = config.honor_labels;
  s.honor_timestamps = config.honor_timestamps;
  s.sample_limit = config.sample_limit;
  s.label_limit = config.label_limit;
  s.label_name_length_limit = config.label_name_length_limit;
  s.label_value_length_limit = config.label_value_length_limit;
  s.metric_relabel_configs = config.metric_relabel_configs;
  return s;
}

}  // namespace

ScrapeLoop::ScrapeLoop(Target target, std::shared_ptr<const ScrapeConfig> config, Options options,
                       std::unique_ptr<ScrapeIngester> cache)
    : target_(std::move(target)), config_(std::move(config)), options_(std::move(options)) {
  if (cache != nullptr) {
    cache->UpdateSettings(SettingsFor(target_, *config_));
    ingester_ = std::move(cache);
  } else {
    ingester_ = std::make_unique<ScrapeIngester>(SettingsFor(target_, *config_));
  }
  metadata_ = ingester_->metadata();

  // How to reach the target: from the labels that say so, the query from the URL.
  std::string scheme(target_.labels.Get("__scheme__"));
  if (scheme.empty()) scheme = config_->scheme;
  std::string address(target_.labels.Get("__address__"));
  std::string path(target_.labels.Get("__metrics_path__"));
  if (path.empty()) path = config_->metrics_path;
  absl::StatusOr<Endpoint> endpoint = ParseEndpoint(scheme, address);
  request_template_.url = target_.url;
  // The request target is the URL after "scheme://address" (path already escaped there).
  const std::string prefix = absl::StrCat(scheme, "://", address);
  if (absl::StartsWith(target_.url, prefix)) {
    request_template_.target = target_.url.substr(prefix.size());
  } else {
    request_template_.target = path;
    if (size_t q = target_.url.find('?'); q != std::string::npos) {
      request_template_.target += target_.url.substr(q);
    }
  }
  if (request_template_.target.empty() || request_template_.target.front() != '/') {
    request_template_.target.insert(0, "/");
  }
  request_template_.host_header = address;
  request_template_.body_size_limit = config_->body_size_limit;
  request_template_.headers = {
      {"Accept", kScrapeAcceptHeader},
      {"X-Prometheus-Scrape-Timeout-Seconds", FormatSeconds(target_.timeout_ms)},
  };
  if (!endpoint.ok()) {
    setup_error_ = std::string(endpoint.status().message());
  }
  ClientConfig cc;
  if (endpoint.ok()) cc.endpoint = *endpoint;
  cc.tls.ca_file = config_->tls_config.ca_file;
  cc.tls.cert_file = config_->tls_config.cert_file;
  cc.tls.key_file = config_->tls_config.key_file;
  cc.tls.server_name = config_->tls_config.server_name;
  cc.tls.insecure_skip_verify = config_->tls_config.insecure_skip_verify;
  if (options_.http != nullptr) {
    absl::StatusOr<std::shared_ptr<ScrapeClient>> client = options_.http->NewClient(cc);
    if (client.ok()) {
      client_ = std::move(*client);
    } else if (setup_error_.empty()) {
      setup_error_ = std::string(client.status().message());
    }
  }
}

ScrapeLoop::~ScrapeLoop() {
  if (client_ != nullptr) client_->Close();
}

void ScrapeLoop::Start() {
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kNew) return;
    state_ = State::kRunning;
  }
  if (client_ == nullptr) return;  // the pool is stopped
  const int64_t interval_ns = target_.interval_ms * 1'000'000;
  const int64_t now_unix = UnixNowNs();
  const Clock::time_point now = Clock::now();
  int64_t offset = options_.start_immediately
                       ? 0
                       : OffsetNs(target_.Hash(), options_.jitter_seed, interval_ns, now_unix);
  next_tick_ = now + std::chrono::nanoseconds(offset);
  next_tick_unix_ns_ = now_unix + offset;
  client_->RunAt(next_tick_, [self = shared_from_this()] { self->OnTick(); });
}

void ScrapeLoop::ScheduleNext(Clock::time_point after) {
  const auto interval = std::chrono::milliseconds(target_.interval_ms);
  while (next_tick_ <= after) {
    next_tick_ += interval;
    next_tick_unix_ns_ += target_.interval_ms * 1'000'000;
  }
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kRunning) return;
  }
  client_->RunAt(next_tick_, [self = shared_from_this()] { self->OnTick(); });
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ScrapeLoop::AuthHeaders() const {
  std::vector<std::pair<std::string, std::string>> out;
  const ScrapeConfig& c = *config_;
  if (c.has_basic_auth) {
    std::string password = c.basic_auth.password;
    if (!c.basic_auth.password_file.empty()) {
      absl::StatusOr<std::string> p =
          ReadSecretFile(c.basic_auth.password_file, "basic auth password file");
      if (!p.ok()) return p.status();
      password = *p;
    }
    out.emplace_back("Authorization",
                     absl::StrCat("Basic ", absl::Base64Escape(absl::StrCat(c.basic_auth.username,
                                                                            ":", password))));
  } else if (c.has_authorization) {
    std::string credentials = c.authorization.credentials;
    if (!c.authorization.credentials_file.empty()) {
      absl::StatusOr<std::string> cr =
          ReadSecretFile(c.authorization.credentials_file, "authorization credentials file");
      if (!cr.ok()) return cr.status();
      credentials = *cr;
    }
    std::string type = c.authorization.type.empty() ? "Bearer" : c.authorization.type;
    out.emplace_back("Authorization", absl::StrCat(type, " ", credentials));
  }
  return out;
}

void ScrapeLoop::OnTick() {
  std::string forced;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kRunning) return;
    forced = forced_error_;
  }
  const Clock::time_point start = Clock::now();
  const int64_t start_unix = UnixNowNs();
  const int64_t interval_ns = target_.interval_ms * 1'000'000;
  int64_t append_ns = start_unix;
  if (interval_ns > kMinAlignedIntervalNs &&
      std::abs(start_unix - next_tick_unix_ns_) <= kTimestampToleranceNs) {
    append_ns = next_tick_unix_ns_;
  }
  const int64_t append_ms = NsToMs(append_ns);
  next_tick_ += std::chrono::milliseconds(target_.interval_ms);
  next_tick_unix_ns_ += interval_ns;

  absl::Status early;
  if (!forced.empty()) {
    early = absl::FailedPreconditionError(forced);
  } else if (!setup_error_.empty()) {
    early = absl::FailedPreconditionError(setup_error_);
  }
  FetchRequest request = request_template_;
  if (early.ok()) {
    absl::StatusOr<std::vector<std::pair<std::string, std::string>>> auth = AuthHeaders();
    if (!auth.ok()) {
      early = absl::FailedPreconditionError(
          absl::StrCat("Get \"", target_.url, "\": ", auth.status().message()));
    } else {
      for (auto& h : *auth) request.headers.push_back(std::move(h));
    }
  }
  if (!early.ok()) {
    OnFetched(early, start, start_unix, append_ms);
    return;
  }
  request.deadline = start + std::chrono::milliseconds(target_.timeout_ms);
  client_->Fetch(std::move(request), [self = shared_from_this(), start, start_unix,
                                      append_ms](absl::StatusOr<FetchResponse> response) {
    self->OnFetched(std::move(response), start, start_unix, append_ms);
  });
}

void ScrapeLoop::OnFetched(absl::StatusOr<FetchResponse> response, Clock::time_point start,
                           int64_t start_unix_ns, int64_t append_ms) {
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kRunning) return;  // abandoned
  }
  tsdb::DB* db = options_.db;
  std::unique_ptr<tsdb::Appender> app = db->NewAppender();
  IngestResult result;
  absl::Status error;
  if (response.ok()) {
    result = ingester_->Append(app.get(), response->body,
                               FormatForContentType(response->content_type), append_ms);
    if (!result.error.ok()) {
      error = result.error;
      app->Rollback();
      app = db->NewAppender();
      ingester_->AppendFailure(app.get(), append_ms);
    }
  } else {
    error = response.status();
    result = ingester_->AppendFailure(app.get(), append_ms);
  }
  ScrapeReport report;
  report.up = error.ok();
  report.duration_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  report.samples_scraped = result.total;
  report.samples_post_relabeling = result.added;
  report.series_added = result.series_added;
  absl::Status report_status = ingester_->AppendReport(app.get(), append_ms, report);
  absl::Status committed = app->Commit();
  if (options_.log) {
    if (!committed.ok()) {
      options_.log(absl::StrCat("scrape commit failed: ", committed.message()), target_);
    } else if (!report_status.ok()) {
      options_.log(absl::StrCat("appending the report series failed: ", report_status.message()),
                   target_);
    }
    if (result.out_of_order + result.duplicate_timestamp + result.out_of_bounds > 0) {
      options_.log(
          absl::StrFormat("samples refused by the storage: %d out of order, %d with a "
                          "duplicate timestamp, %d out of bounds",
                          result.out_of_order, result.duplicate_timestamp, result.out_of_bounds),
          target_);
    }
    if (result.duplicates_in_body > 0) {
      options_.log(absl::StrFormat("%d duplicate series in the scraped body (the first sample "
                                   "of each was kept)",
                                   result.duplicates_in_body),
                   target_);
    }
  }
  {
    std::lock_guard lock(status_mu_);
    status_.health = error.ok() ? TargetHealth::kUp : TargetHealth::kDown;
    status_.last_error = error.ok() ? "" : std::string(error.message());
    status_.last_scrape_unix_ns = start_unix_ns;
    status_.last_scrape_duration_s = report.duration_seconds;
    status_.last_samples = result.total;
    ++status_.scrapes;
    if (!error.ok()) ++status_.failed_scrapes;
  }
  ScheduleNext(Clock::now());
}

void ScrapeLoop::Stop() {
  {
    std::lock_guard lock(mu_);
    state_ = State::kStopped;
  }
  if (client_ != nullptr) client_->Close();
  finished_.store(true);
}

std::unique_ptr<ScrapeIngester> ScrapeLoop::TakeIngester() {
  std::lock_guard lock(mu_);
  if (state_ != State::kStopped) return nullptr;
  return std::move(ingester_);
}

void ScrapeLoop::Retire() {
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kRunning) {
      if (state_ == State::kNew) {
        state_ = State::kStopped;
        finished_.store(true);
      }
      return;
    }
    state_ = State::kRetiring;
  }
  if (client_ == nullptr) {
    finished_.store(true);
    return;
  }
  // Replaces the scheduled scrape; runs after a callback in progress.
  client_->RunAt(Clock::now(), [self = shared_from_this()] { self->BeginRetire(); });
}

void ScrapeLoop::BeginRetire() {
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kRetiring) return;
  }
  client_->CancelFetch();
  if (ingester_ == nullptr || !ingester_->has_series()) {
    {
      std::lock_guard lock(mu_);
      state_ = State::kStopped;
    }
    finished_.store(true);
    client_->Close();
    return;
  }
  // The markers carry the time of the next scrape that will not happen, and are written one
  // interval (and a bit) after it: by then a loop that took the target over has appended newer
  // samples, which make the markers out of order.
  const Clock::time_point now = Clock::now();
  const auto interval = std::chrono::milliseconds(target_.interval_ms);
  while (next_tick_ <= now) {
    next_tick_ += interval;
    next_tick_unix_ns_ += target_.interval_ms * 1'000'000;
  }
  const int64_t stale_ms = NsToMs(next_tick_unix_ns_);
  client_->RunAt(next_tick_ + interval + interval / 10,
                 [self = shared_from_this(), stale_ms] { self->WriteEndOfRun(stale_ms); });
}

void ScrapeLoop::WriteEndOfRun(int64_t stale_ms) {
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kRetiring) return;
    state_ = State::kStopped;
  }
  std::unique_ptr<tsdb::Appender> app = options_.db->NewAppender();
  ingester_->AppendEndOfRun(app.get(), stale_ms);
  absl::Status committed = app->Commit();
  if (!committed.ok() && options_.log) {
    options_.log(absl::StrCat("writing staleness markers failed: ", committed.message()), target_);
  }
  finished_.store(true);
  client_->Close();
}

void ScrapeLoop::SetForcedError(std::string error) {
  std::lock_guard lock(mu_);
  forced_error_ = std::move(error);
}

TargetStatus ScrapeLoop::status() const {
  std::lock_guard lock(status_mu_);
  return status_;
}

}  // namespace scrape
