// The checks `promtool check config` makes beyond loading the file, for
// `metrics-adapter check-config`: what the server would only discover later, target by target.
//
//   * every static target builds its labels without error (PopulateTargetLabels: "no address",
//     an address with '/', bad __scrape_interval__ after relabelling, ...);
//   * every file_sd file that exists parses and its targets build; a pattern that matches no file
//     is a warning, as in promtool;
//   * tls_config cert_file and key_file come in pairs and exist; bearer_token_file /
//     authorization credentials_file exist.
#ifndef METRICS_ADAPTER_SCRAPE_CONFIG_CHECK_H_
#define METRICS_ADAPTER_SCRAPE_CONFIG_CHECK_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "scrape/config.h"

namespace scrape {

// Returns the first error (InvalidArgument or NotFound), naming the job; appends warnings to
// *warnings when not null.
absl::Status CheckConfigDeep(const Config& config, std::vector<std::string>* warnings);

}  // namespace scrape

#endif  // METRICS_ADAPTER_SCRAPE_CONFIG_CHECK_H_
