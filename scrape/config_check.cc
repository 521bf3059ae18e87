#include "scrape/config_check.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "scrape/file_sd.h"
#include "scrape/target_labels.h"

namespace scrape {
namespace {

absl::Status CheckExists(const std::string& path, const std::string& what) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(
        absl::StrFormat("error checking %s \"%s\": %s", what, path, std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status CheckGroups(const std::vector<TargetGroup>& groups, const ScrapeConfig& sc,
                         const std::string& where) {
  for (const TargetGroup& g : groups) {
    std::vector<std::string> errors;
    TargetsFromGroup(g, sc, &errors);
    if (!errors.empty()) {
      return absl::InvalidArgumentError(absl::StrFormat("%s: %s", where, errors.front()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckConfigDeep(const Config& config, std::vector<std::string>* warnings) {
  for (const ScrapeConfig& sc : config.scrape_configs) {
    const std::string where = absl::StrFormat("scrape config \"%s\"", sc.job_name);
    const TLSConfig& tls = sc.tls_config;
    if (!tls.cert_file.empty() && tls.key_file.empty()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: client cert file \"%s\" specified without client key file", where, tls.cert_file));
    }
    if (!tls.key_file.empty() && tls.cert_file.empty()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: client key file \"%s\" specified without client cert file", where, tls.key_file));
    }
    if (!tls.cert_file.empty()) {
      if (absl::Status st = CheckExists(tls.cert_file, "client cert file"); !st.ok()) return st;
      if (absl::Status st = CheckExists(tls.key_file, "client key file"); !st.ok()) return st;
    }
    if (sc.has_authorization && !sc.authorization.credentials_file.empty()) {
      if (absl::Status st = CheckExists(sc.authorization.credentials_file,
                                        "authorization credentials or bearer token file");
          !st.ok()) {
        return st;
      }
    }
    if (absl::Status st = CheckGroups(sc.static_configs, sc, where); !st.ok()) return st;
    for (const FileSDConfig& fc : sc.file_sd_configs) {
      for (const std::string& pattern : fc.files) {
        const std::vector<std::string> files = ExpandFileSDPatterns({pattern});
        if (files.empty() && warnings != nullptr) {
          warnings->push_back(absl::StrFormat(
              "file \"%s\" for file_sd in scrape job \"%s\" does not exist", pattern, sc.job_name));
        }
        for (const std::string& file : files) {
          absl::StatusOr<std::vector<TargetGroup>> groups = ReadFileSD(file);
          if (!groups.ok()) {
            return absl::InvalidArgumentError(
                absl::StrFormat("%s: checking SD file \"%s\": %s", where, file,
                                std::string(groups.status().message())));
          }
          if (absl::Status st = CheckGroups(*groups, sc, where); !st.ok()) return st;
        }
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace scrape
