// GET /api/v1/targets: the scrape targets and their health, in Prometheus' JSON shape, so that
// users (and Grafana, promtool, scripts) can see why a target is down:
//
//   {"status":"success","data":{
//     "activeTargets":[{"discoveredLabels":{...},"labels":{...},"scrapePool":"node",
//        "scrapeUrl":"http://10.0.0.1:9100/metrics","globalUrl":"http://10.0.0.1:9100/metrics",
//        "lastError":"","lastScrape":"2024-05-01T12:00:00.123456789Z","lastScrapeDuration":0.0123,
//        "health":"up","scrapeInterval":"15s","scrapeTimeout":"10s"}, ...],
//     "droppedTargets":[{"discoveredLabels":{...}}, ...]}}
//
// Parameters: state=active|dropped|any (default any; the other list is then empty), scrapePool
// (only that pool). A target not scraped yet has health "unknown" and lastScrape
// "0001-01-01T00:00:00Z" (Go's zero time). Times are UTC. globalUrl equals scrapeUrl.
#ifndef METRICS_ADAPTER_ADAPTER_API_TARGETS_API_H_
#define METRICS_ADAPTER_ADAPTER_API_TARGETS_API_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "adapter/api/query_api.h"
#include "adapter/http/server.h"
#include "scrape/manager.h"
#include "scrape/metadata.h"

namespace api {

// Where the targets come from: the scrape manager's Targets(), or nullopt-like empty snapshot
// when scraping is off. Called once per request; must be thread-safe.
using TargetsSource = std::function<scrape::TargetsSnapshot()>;

// The handler of /api/v1/targets (GET and HEAD).
http::Response TargetsHandler(const TargetsSource& source, const http::Request& request);

// GET /api/v1/targets/metadata: the metadata each active target announced, in Prometheus' shape:
//   {"status":"success","data":[{"target":{"instance":"...","job":"..."},"metric":"up",
//     "type":"gauge","help":"...","unit":""}, ...]}
// Parameters: match_target (a series selector over the targets' labels), metric (only that family;
// the "metric" field is then left out, as Prometheus does), limit (Prometheus' rule: checked before
// each target, whose entries are then all added). Targets in /api/v1/targets order, each target's
// families by name.
http::Response TargetMetadataHandler(const TargetsSource& source, const http::Request& request);

// GET /api/v1/scrape_pools: the names of the configured scrape pools (jobs), sorted, whether or not
// they have targets: {"status":"success","data":{"scrapePools":["app","node"]}}.
http::Response ScrapePoolsHandler(const TargetsSource& source, const http::Request& request);

// Registers /api/v1/targets, /api/v1/targets/metadata and /api/v1/scrape_pools on router.
void RegisterTargetsApi(http::Router* router, TargetsSource source);

// /api/v1/metadata from the scraper: the metadata of every target, read through store() at each
// request (null: none). Types are spelled as Prometheus spells them ("counter", "unknown", ...).
std::shared_ptr<const MetadataSource> NewScrapeMetadataSource(
    std::function<const scrape::MetadataStore*()> store);

// Go's time.Time.Format(time.RFC3339Nano) in UTC for unix nanoseconds, e.g.
// "2024-05-01T12:00:00.1234Z"; 0 gives Go's zero time "0001-01-01T00:00:00Z".
std::string FormatRfc3339Nano(int64_t unix_ns);

}  // namespace api

#endif  // METRICS_ADAPTER_ADAPTER_API_TARGETS_API_H_
