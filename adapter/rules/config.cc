#include "adapter/rules/config.h"

#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "adapter/rules/naming.h"
#include "adapter/rules/template.h"
#include "promql/parser/parser.h"
#include "tsdb/duration.h"
#include "yaml-cpp/yaml.h"

namespace rules {
namespace {

Position PositionOf(const YAML::Node& node) {
  YAML::Mark mark = node.Mark();
  if (mark.is_null()) return {};
  return {mark.line + 1, mark.column + 1};
}

const char* KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "nothing";
  }
}

// A value that may or may not have been given in the file.
struct Slot {
  YAML::Node node;
  bool set = false;
  void reset(const YAML::Node& n) {
    node.reset(n);
    set = true;
  }
  const YAML::Node& or_else(const YAML::Node& fallback) const { return set ? node : fallback; }
  bool IsNull() const { return node.IsNull(); }
  operator const YAML::Node&() const { return node; }  // NOLINT: used as the node it holds
};

// Reads one file: keeps the file name and builds "FILE:LINE:COL: PATH: message" errors.
class Loader {
 public:
  Loader(std::string_view filename, const k8s::ResourceMapper& mapper)
      : filename_(filename), mapper_(mapper) {}

  absl::Status Error(Position pos, std::string_view path, std::string_view message) const {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s:%d:%d: %s: %s", filename_, pos.line, pos.column, path, message));
  }
  absl::Status Error(const YAML::Node& node, std::string_view path,
                     std::string_view message) const {
    return Error(PositionOf(node), path, message);
  }
  absl::Status Error(const YAML::Node& node, std::string_view path,
                     const absl::Status& status) const {
    return Error(PositionOf(node), path, std::string(status.message()));
  }

  // Visits the entries of a mapping, rejecting duplicate and unknown keys. `fn(key, value)`
  // returns a status; `known` lists the allowed keys.
  absl::Status ForEachKey(const YAML::Node& map, std::string_view path,
                          const std::vector<std::string_view>& known,
                          const std::function<absl::Status(const std::string&, const YAML::Node&,
                                                           const YAML::Node&)>& fn) const {
    if (map.IsNull()) return absl::OkStatus();
    if (!map.IsMap()) {
      return Error(map, path.empty() ? std::string_view("config") : path,
                   absl::StrCat("expected a mapping, got ", KindName(map)));
    }
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;  // a copy: the iterator hands out temporaries
      const YAML::Node value = it->second;
      std::string_view parent = path.empty() ? std::string_view("config") : path;
      if (!key.IsScalar()) {
        return Error(key, parent,
                     absl::StrCat("mapping key must be a scalar, got ", KindName(key)));
      }
      const std::string& name = key.Scalar();
      std::string child = path.empty() ? name : absl::StrCat(std::string(path), ".", name);
      if (!seen.insert(name).second) {
        return Error(key, child, "duplicate key");
      }
      if (!known.empty() &&
          std::find(known.begin(), known.end(), std::string_view(name)) == known.end()) {
        std::string list;
        for (auto k : known) absl::StrAppend(&list, list.empty() ? "" : ", ", std::string(k));
        return Error(key, parent, absl::StrFormat("unknown field \"%s\" (known: %s)", name, list));
      }
      absl::Status st = fn(name, key, value);
      if (!st.ok()) return st;
    }
    return absl::OkStatus();
  }

  absl::Status ReadString(const YAML::Node& node, std::string_view path, std::string* out) const {
    if (node.IsNull()) {
      out->clear();
      return absl::OkStatus();
    }
    if (!node.IsScalar()) {
      return Error(node, path, absl::StrCat("expected a string, got ", KindName(node)));
    }
    *out = node.Scalar();
    return absl::OkStatus();
  }

  absl::Status ReadBool(const YAML::Node& node, std::string_view path,
                        std::optional<bool>* out) const {
    if (node.IsNull()) {
      out->reset();
      return absl::OkStatus();
    }
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
      return Error(node, path,
                   absl::StrCat("expected true or false, got ",
                                node.IsScalar() ? absl::StrCat("\"", node.Scalar(), "\"")
                                                : std::string(KindName(node))));
    }
    *out = value;
    return absl::OkStatus();
  }

  absl::Status CheckTemplate(const YAML::Node& node, std::string_view path, const std::string& text,
                             const std::vector<std::string>& fields) const {
    auto tmpl = Template::Parse(text, fields);
    if (!tmpl.ok()) {
      return Error(node, path, absl::StrCat("template: ", std::string(tmpl.status().message())));
    }
    return absl::OkStatus();
  }

  absl::Status ReadMapping(const YAML::Node& node, const std::string& path, ResourceMapping* out,
                           const std::vector<std::string_view>& known) const {
    return ForEachKey(
        node, path, known,
        [&](const std::string& key, const YAML::Node& key_node,
            const YAML::Node& value) -> absl::Status {
          std::string child = absl::StrCat(path, ".", key);
          if (key == "template") {
            if (auto st = ReadString(value, child, &out->label_template); !st.ok()) return st;
            if (!out->label_template.empty()) {
              auto conv = ResourceConverter::Create(out->label_template, {});
              if (!conv.ok()) return Error(value, child, conv.status());
            }
            return absl::OkStatus();
          }
          if (key == "namespaced") return ReadBool(value, child, &out->namespaced);
          // overrides
          return ForEachKey(
              value, child, {},
              [&](const std::string& label, const YAML::Node& lbl_node,
                  const YAML::Node& gr) -> absl::Status {
                std::string opath = absl::StrCat(child, ".", label);
                if (!IsValidLabelName(label)) {
                  return Error(lbl_node, opath,
                               absl::StrFormat("invalid label name \"%s\"", label));
                }
                ResourceOverride ov;
                ov.label = label;
                bool have_resource = false;
                auto st = ForEachKey(gr, opath, {"group", "resource"},
                                     [&](const std::string& k, const YAML::Node&,
                                         const YAML::Node& v) -> absl::Status {
                                       if (k == "group")
                                         return ReadString(v, opath + ".group", &ov.group);
                                       have_resource = true;
                                       return ReadString(v, opath + ".resource", &ov.resource);
                                     });
                if (!st.ok()) return st;
                if (!gr.IsMap() || !have_resource || ov.resource.empty()) {
                  return Error(gr, opath, "missing required field \"resource\"");
                }
                auto info = mapper_.Find(ov.resource, ov.group);
                if (!info) {
                  return Error(
                      gr, opath,
                      absl::StrFormat(
                          "unknown resource \"%s\"%s", ov.resource,
                          ov.group.empty() ? "" : absl::StrCat(" in group \"", ov.group, "\"")));
                }
                ov.resolved = info->group_resource;
                out->overrides.push_back(std::move(ov));
                return absl::OkStatus();
              });
        });
  }

  absl::Status ReadRule(const YAML::Node& node, const std::string& path,
                        DiscoveryRule* rule) const {
    rule->path = path;
    rule->position = PositionOf(node);
    if (!node.IsMap()) {
      return Error(node, path, absl::StrCat("expected a mapping, got ", KindName(node)));
    }
    Slot series_query_node, matches_node, as_node, metrics_query_node;
    auto st = ForEachKey(
        node, path, {"seriesQuery", "seriesFilters", "resources", "name", "metricsQuery"},
        [&](const std::string& key, const YAML::Node&, const YAML::Node& value) -> absl::Status {
          std::string child = absl::StrCat(path, ".", key);
          if (key == "seriesQuery") {
            series_query_node.reset(value);
            return ReadString(value, child, &rule->series_query);
          }
          if (key == "metricsQuery") {
            metrics_query_node.reset(value);
            return ReadString(value, child, &rule->metrics_query);
          }
          if (key == "resources") {
            return ReadMapping(value, child, &rule->resources,
                               {"template", "overrides", "namespaced"});
          }
          if (key == "name") {
            return ForEachKey(
                value, child, {"matches", "as"},
                [&](const std::string& k, const YAML::Node&, const YAML::Node& v) -> absl::Status {
                  if (k == "matches") {
                    matches_node.reset(v);
                    return ReadString(v, child + ".matches", &rule->name.matches);
                  }
                  as_node.reset(v);
                  return ReadString(v, child + ".as", &rule->name.as);
                });
          }
          // seriesFilters
          if (value.IsNull()) return absl::OkStatus();
          if (!value.IsSequence()) {
            return Error(value, child, absl::StrCat("expected a list, got ", KindName(value)));
          }
          for (size_t i = 0; i < value.size(); ++i) {
            std::string fpath = absl::StrFormat("%s[%d]", child, i);
            const YAML::Node entry = value[i];
            RegexFilter filter;
            Slot regex_node;
            auto fst = ForEachKey(
                entry, fpath, {"is", "isNot"},
                [&](const std::string& k, const YAML::Node&, const YAML::Node& v) -> absl::Status {
                  regex_node.reset(v);
                  return ReadString(v, absl::StrCat(fpath, ".", k),
                                    k == "is" ? &filter.is : &filter.is_not);
                });
            if (!fst.ok()) return fst;
            if (!entry.IsMap()) {
              return Error(entry, fpath, "expected a mapping with \"is\" or \"isNot\"");
            }
            auto compiled = SeriesFilter::Create(filter.is, filter.is_not);
            if (!compiled.ok()) {
              bool both_or_none = filter.is.empty() == filter.is_not.empty();
              std::string where =
                  both_or_none ? fpath : absl::StrCat(fpath, filter.is.empty() ? ".isNot" : ".is");
              return Error(both_or_none ? entry : regex_node.node, where, compiled.status());
            }
            rule->series_filters.push_back(std::move(filter));
          }
          return absl::OkStatus();
        });
    if (!st.ok()) return st;

    if (rule->series_query.empty()) {
      return Error(series_query_node.or_else(node), path + ".seriesQuery",
                   "missing required field");
    }
    if (auto sel = promql::ParseMetricSelector(rule->series_query); !sel.ok()) {
      return Error(series_query_node, path + ".seriesQuery",
                   absl::StrCat("invalid series selector: ", std::string(sel.status().message())));
    }
    if (rule->metrics_query.empty()) {
      return Error(metrics_query_node.or_else(node), path + ".metricsQuery",
                   "missing required field");
    }
    if (auto tst = CheckTemplate(metrics_query_node, path + ".metricsQuery", rule->metrics_query,
                                 QueryTemplateFields());
        !tst.ok()) {
      return tst;
    }
    auto namer = MetricNamer::Create(rule->name.matches, rule->name.as);
    if (!namer.ok()) {
      // Regex errors belong to `matches`, reference errors to `as`.
      bool regex_error = !CompileRegex(rule->name.matches.empty() ? ".*" : rule->name.matches).ok();
      if (regex_error) {
        return Error(matches_node, path + ".name.matches", namer.status());
      }
      if (rule->name.as.empty()) {
        return Error(matches_node.or_else(node), path + ".name.as", namer.status());
      }
      return Error(as_node, path + ".name.as", namer.status());
    }
    return absl::OkStatus();
  }

  absl::Status ReadRules(const YAML::Node& node, const std::string& path,
                         std::vector<DiscoveryRule>* out) const {
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsSequence()) {
      return Error(node, path, absl::StrCat("expected a list, got ", KindName(node)));
    }
    for (size_t i = 0; i < node.size(); ++i) {
      DiscoveryRule rule;
      if (auto st = ReadRule(node[i], absl::StrFormat("%s[%d]", path, i), &rule); !st.ok()) {
        return st;
      }
      out->push_back(std::move(rule));
    }
    return absl::OkStatus();
  }

  absl::Status ReadResourceRule(const YAML::Node& node, const std::string& path,
                                ResourceRule* rule) const {
    if (!node.IsMap()) {
      return Error(node, path, absl::StrCat("expected a mapping, got ", KindName(node)));
    }
    Slot container_node, node_node, label_node;
    auto st = ForEachKey(
        node, path, {"containerQuery", "nodeQuery", "resources", "containerLabel"},
        [&](const std::string& key, const YAML::Node&, const YAML::Node& value) -> absl::Status {
          std::string child = absl::StrCat(path, ".", key);
          if (key == "containerQuery") {
            container_node.reset(value);
            return ReadString(value, child, &rule->container_query);
          }
          if (key == "nodeQuery") {
            node_node.reset(value);
            return ReadString(value, child, &rule->node_query);
          }
          if (key == "containerLabel") {
            label_node.reset(value);
            return ReadString(value, child, &rule->container_label);
          }
          return ReadMapping(value, child, &rule->resources,
                             {"template", "overrides", "namespaced"});
        });
    if (!st.ok()) return st;
    struct Query {
      const char* key;
      const std::string* text;
      const Slot* node;
    };
    for (const Query& q : {Query{"containerQuery", &rule->container_query, &container_node},
                           Query{"nodeQuery", &rule->node_query, &node_node}}) {
      std::string child = absl::StrCat(path, ".", q.key);
      if (q.text->empty()) {
        return Error(q.node->or_else(node), child, "missing required field");
      }
      if (auto tst = CheckTemplate(*q.node, child, *q.text, QueryTemplateFields()); !tst.ok()) {
        return tst;
      }
    }
    if (!rule->container_label.empty() && !IsValidLabelName(rule->container_label)) {
      return Error(label_node, path + ".containerLabel",
                   absl::StrFormat("invalid label name \"%s\"", rule->container_label));
    }
    // The queries need labels for pods, nodes and namespaces.
    std::vector<std::pair<std::string, k8s::GroupResource>> overrides;
    for (const auto& ov : rule->resources.overrides) overrides.emplace_back(ov.label, ov.resolved);
    auto conv = ResourceConverter::Create(rule->resources.label_template, overrides);
    if (!conv.ok()) return Error(node, path + ".resources", conv.status());
    for (const char* resource : {"pods", "nodes", "namespaces"}) {
      auto info = mapper_.Find(resource, "");
      if (!info) continue;
      auto label = conv->LabelForResource(info->group_resource, mapper_);
      if (!label.ok()) {
        return Error(node, path + ".resources",
                     absl::StrCat(std::string(label.status().message()),
                                  " (add an override or a template)"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status ReadResourceRules(const YAML::Node& node, ResourceRules* out) const {
    const std::string path = "resourceRules";
    if (!node.IsMap()) {
      return Error(node, path, absl::StrCat("expected a mapping, got ", KindName(node)));
    }
    Slot cpu, memory, window;
    auto st = ForEachKey(
        node, path, {"cpu", "memory", "window"},
        [&](const std::string& key, const YAML::Node&, const YAML::Node& value) -> absl::Status {
          if (key == "cpu") cpu.reset(value);
          if (key == "memory") memory.reset(value);
          if (key == "window") window.reset(value);
          return absl::OkStatus();
        });
    if (!st.ok()) return st;
    if (!cpu.set || cpu.IsNull()) {
      return Error(cpu.or_else(node), path + ".cpu", "missing required field");
    }
    if (auto rst = ReadResourceRule(cpu, path + ".cpu", &out->cpu); !rst.ok()) return rst;
    if (!memory.set || memory.IsNull()) {
      return Error(memory.or_else(node), path + ".memory", "missing required field");
    }
    if (auto rst = ReadResourceRule(memory, path + ".memory", &out->memory); !rst.ok()) return rst;
    if (!window.set || window.IsNull()) {
      return Error(window.or_else(node), path + ".window", "missing required field");
    }
    if (auto wst = ReadString(window, path + ".window", &out->window); !wst.ok()) return wst;
    auto ms = tsdb::ParseDurationMs(out->window);
    if (!ms.ok()) return Error(window, path + ".window", ms.status());
    if (*ms <= 0) return Error(window, path + ".window", "window must be positive");
    out->window_ms = *ms;
    return absl::OkStatus();
  }

  absl::StatusOr<Config> Load(std::string_view yaml) const {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
      Position pos;
      if (!e.mark.is_null()) pos = {e.mark.line + 1, e.mark.column + 1};
      return absl::InvalidArgumentError(
          absl::StrFormat("%s:%d:%d: yaml: %s", filename_, pos.line, pos.column, e.msg));
    }
    Config config;
    config.filename = filename_;
    if (!root.IsDefined() || root.IsNull()) return config;
    auto st = ForEachKey(
        root, "", {"rules", "externalRules", "resourceRules"},
        [&](const std::string& key, const YAML::Node&, const YAML::Node& value) -> absl::Status {
          if (key == "rules") return ReadRules(value, "rules", &config.rules);
          if (key == "externalRules") {
            return ReadRules(value, "externalRules", &config.external_rules);
          }
          if (value.IsNull()) return absl::OkStatus();
          ResourceRules rr;
          if (auto rst = ReadResourceRules(value, &rr); !rst.ok()) return rst;
          config.resource_rules = std::move(rr);
          return absl::OkStatus();
        });
    if (!st.ok()) return st;
    return config;
  }

 private:
  std::string filename_;
  const k8s::ResourceMapper& mapper_;
};

}  // namespace

const std::vector<std::string>& QueryTemplateFields() {
  static const std::vector<std::string> kFields = {"Series", "LabelMatchers", "LabelValuesByName",
                                                   "GroupBy", "GroupBySlice"};
  return kFields;
}

const std::vector<std::string>& ResourceTemplateFields() {
  static const std::vector<std::string> kFields = {"Group", "Resource"};
  return kFields;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

absl::StatusOr<Config> ParseConfig(std::string_view yaml, std::string_view filename,
                                   const k8s::ResourceMapper& mapper) {
  try {
    return Loader(filename, mapper).Load(yaml);
  } catch (const std::exception& e) {
    // yaml-cpp reports some problems only while walking the tree.
    return absl::InvalidArgumentError(absl::StrFormat("%s: yaml: %s", filename, e.what()));
  }
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path, const k8s::ResourceMapper& mapper) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec(errno, std::generic_category());
    std::string message = absl::StrFormat("unable to read rules config %s: %s", path, ec.message());
    if (errno == ENOENT) return absl::NotFoundError(message);
    return absl::InvalidArgumentError(message);
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrFormat("unable to read rules config %s", path));
  }
  return ParseConfig(contents.str(), path, mapper);
}

}  // namespace rules
