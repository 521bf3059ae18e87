#include "scrape/file_sd.h"

#include <glob.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "boost/json.hpp"
#include "scrape/config_internal.h"

namespace scrape {
namespace {

namespace json = boost::json;

enum class FileFormat { kJson, kYaml, kUnknown };

FileFormat FormatOf(std::string_view path) {
  const size_t slash = path.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = base.rfind('.');
  if (dot == std::string_view::npos) return FileFormat::kUnknown;
  const std::string ext =
      absl::AsciiStrToLower(absl::string_view(base.data() + dot, base.size() - dot));
  if (ext == ".json") return FileFormat::kJson;
  if (ext == ".yml" || ext == ".yaml") return FileFormat::kYaml;
  return FileFormat::kUnknown;
}

// Go's encoding/json matches object keys to field names case-insensitively.
bool KeyIs(std::string_view key, std::string_view field) {
  return absl::EqualsIgnoreCase(absl::string_view(key.data(), key.size()),
                                absl::string_view(field.data(), field.size()));
}

const char* JsonKind(const json::value& v) {
  switch (v.kind()) {
    case json::kind::object:
      return "object";
    case json::kind::array:
      return "array";
    case json::kind::string:
      return "string";
    case json::kind::bool_:
      return "bool";
    case json::kind::null:
      return "null";
    default:
      return "number";
  }
}

absl::StatusOr<std::vector<TargetGroup>> ParseJson(std::string_view content,
                                                   const std::string& path) {
  auto fail = [&](const std::string& msg) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: %s", path, msg));
  };
  boost::system::error_code ec;
  json::stream_parser parser;
  size_t consumed = 0;
  try {
    consumed = parser.write_some(content.data(), content.size(), ec);
    if (!ec && consumed < content.size()) {
      return fail(absl::StrFormat("byte %d: invalid character after top-level value", consumed));
    }
    if (!ec) parser.finish(ec);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  if (ec) {
    return fail(absl::StrFormat("byte %d: invalid JSON: %s", consumed, ec.message()));
  }
  const json::value root = parser.release();
  if (root.is_null()) return std::vector<TargetGroup>();
  if (!root.is_array()) {
    return fail(absl::StrFormat("expected a list of target groups, got %s", JsonKind(root)));
  }
  std::vector<TargetGroup> groups;
  const json::array& items = root.as_array();
  for (size_t i = 0; i < items.size(); ++i) {
    const json::value& item = items[i];
    if (item.is_null()) return fail(absl::StrFormat("nil target group item found (index %d)", i));
    if (!item.is_object()) {
      return fail(absl::StrFormat("group %d: expected an object, got %s", i, JsonKind(item)));
    }
    TargetGroup group;
    std::vector<tsdb::Label> labels;
    for (const auto& kv : item.as_object()) {
      const std::string_view key(kv.key().data(), kv.key().size());
      const json::value& v = kv.value();
      if (KeyIs(key, "targets")) {
        group.targets.clear();
        if (v.is_null()) continue;
        if (!v.is_array()) {
          return fail(
              absl::StrFormat("group %d: targets: expected a list, got %s", i, JsonKind(v)));
        }
        for (const json::value& t : v.as_array()) {
          if (t.is_null()) {
            group.targets.push_back(tsdb::Labels());
            continue;
          }
          if (!t.is_string()) {
            return fail(
                absl::StrFormat("group %d: targets: expected a string, got %s", i, JsonKind(t)));
          }
          group.targets.push_back(tsdb::Labels({tsdb::Label{
              "__address__", std::string(t.as_string().data(), t.as_string().size())}}));
        }
      } else if (KeyIs(key, "labels")) {
        labels.clear();
        if (v.is_null()) continue;
        if (!v.is_object()) {
          return fail(
              absl::StrFormat("group %d: labels: expected an object, got %s", i, JsonKind(v)));
        }
        for (const auto& lv : v.as_object()) {
          const std::string name(lv.key().data(), lv.key().size());
          if (!tsdb::IsValidLabelName(name)) {
            return fail(absl::StrFormat("group %d: \"%s\" is not a valid label name", i, name));
          }
          if (lv.value().is_null()) continue;
          if (!lv.value().is_string()) {
            return fail(absl::StrFormat("group %d: label %s: expected a string, got %s", i, name,
                                        JsonKind(lv.value())));
          }
          const json::string& s = lv.value().as_string();
          labels.push_back(tsdb::Label{name, std::string(s.data(), s.size())});
        }
      } else {
        return fail(absl::StrFormat("group %d: unknown field \"%s\"", i, key));
      }
    }
    group.labels = tsdb::Labels(std::move(labels));
    groups.push_back(std::move(group));
  }
  return groups;
}

absl::StatusOr<std::vector<TargetGroup>> ParseYaml(std::string_view content,
                                                   const std::string& path) {
  internal::YamlContext ctx{path};
  YAML::Node root;
  if (absl::Status st = ctx.Parse(content, &root); !st.ok()) return st;
  std::vector<TargetGroup> groups;
  if (root.IsNull()) return groups;
  if (!root.IsSequence()) return ctx.Error(root, "", "expected a list of target groups");
  size_t i = 0;
  for (const YAML::Node& item : root) {
    if (item.IsNull()) {
      return ctx.Error(item, "", absl::StrFormat("nil target group item found (index %d)", i));
    }
    TargetGroup group;
    if (absl::Status st =
            internal::DecodeTargetGroupYaml(ctx, item, absl::StrFormat("group %d", i), &group);
        !st.ok()) {
      return st;
    }
    groups.push_back(std::move(group));
    ++i;
  }
  return groups;
}

}  // namespace

bool IsValidFileSDPattern(std::string_view name) {
  // ^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return false;
  const std::string_view ext = name.substr(dot + 1);
  static constexpr std::string_view kExts[] = {"json", "yml", "yaml", "JSON", "YML", "YAML"};
  if (std::find(std::begin(kExts), std::end(kExts), ext) == std::end(kExts)) return false;
  const std::string_view stem = name.substr(0, dot);
  const size_t star = stem.find('*');
  if (star == std::string_view::npos) return true;
  // Everything after the first '*' (itself included) must hold no '/'; a second '*' is allowed
  // there, as the pattern's [^/]* allows it.
  return stem.find('/', star) == std::string_view::npos;
}

absl::StatusOr<std::vector<TargetGroup>> ParseFileSD(std::string_view content,
                                                     const std::string& path) {
  absl::StatusOr<std::vector<TargetGroup>> groups;
  switch (FormatOf(path)) {
    case FileFormat::kJson:
      groups = ParseJson(content, path);
      break;
    case FileFormat::kYaml:
      try {
        groups = ParseYaml(content, path);
      } catch (const std::exception& e) {
        return absl::InvalidArgumentError(absl::StrFormat("%s: %s", path, e.what()));
      }
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: unknown file extension (want .json, .yml or .yaml)", path));
  }
  if (!groups.ok()) return groups.status();
  for (size_t i = 0; i < groups->size(); ++i) {
    TargetGroup& g = (*groups)[i];
    g.source = absl::StrCat(path, ":", i);
    g.labels = g.labels.With(kFileSDPathLabel, path);
  }
  return groups;
}

absl::StatusOr<std::vector<TargetGroup>> ReadFileSD(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    const std::string msg = absl::StrFormat("open %s: %s", path, std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(msg);
    if (err == EACCES) return absl::PermissionDeniedError(msg);
    return absl::UnavailableError(msg);
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return absl::UnavailableError(absl::StrFormat("read %s: I/O error", path));
  return ParseFileSD(buf.str(), path);
}

std::vector<std::string> ExpandFileSDPatterns(const std::vector<std::string>& patterns) {
  std::vector<std::string> out;
  for (const std::string& pattern : patterns) {
    glob_t g;
    std::memset(&g, 0, sizeof(g));
    // No GLOB_BRACE/GLOB_TILDE: only the '*', '?' and '[...]' of Go's filepath.Glob.
    if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
    }
    globfree(&g);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace scrape
