#include "adapter/cli/flags.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "adapter/cli/duration.h"

namespace cli {
namespace {

// Go's strconv.ParseBool, which pflag uses.
bool ParseBool(const std::string& text, bool* out) {
  for (const char* t : {"1", "t", "T", "true", "TRUE", "True"}) {
    if (text == t) {
      *out = true;
      return true;
    }
  }
  for (const char* f : {"0", "f", "F", "false", "FALSE", "False"}) {
    if (text == f) {
      *out = false;
      return true;
    }
  }
  return false;
}

std::vector<std::string> SplitList(const std::string& text) {
  if (text.empty()) return {};
  return absl::StrSplit(text, ',');
}

}  // namespace

FlagSet::FlagSet(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

void FlagSet::Add(std::string name, Type type, void* target, std::string default_text,
                  std::string help) {
  flags_[std::move(name)] = Flag{type, target, std::move(default_text), std::move(help)};
}

void FlagSet::String(std::string name, std::string* target, const std::string& default_value,
                     std::string help) {
  *target = default_value;
  Add(std::move(name), Type::kString, target,
      default_value.empty() ? "" : absl::StrCat("\"", default_value, "\""), std::move(help));
}

void FlagSet::Int(std::string name, int* target, int default_value, std::string help) {
  *target = default_value;
  Add(std::move(name), Type::kInt, target, default_value == 0 ? "" : absl::StrCat(default_value),
      std::move(help));
}

void FlagSet::Int64(std::string name, int64_t* target, int64_t default_value, std::string help) {
  *target = default_value;
  Add(std::move(name), Type::kInt64, target, default_value == 0 ? "" : absl::StrCat(default_value),
      std::move(help));
}

void FlagSet::Bool(std::string name, bool* target, bool default_value, std::string help) {
  *target = default_value;
  Add(std::move(name), Type::kBool, target, default_value ? "true" : "", std::move(help));
}

void FlagSet::Double(std::string name, double* target, double default_value, std::string help) {
  *target = default_value;
  Add(std::move(name), Type::kDouble, target, default_value == 0 ? "" : absl::StrCat(default_value),
      std::move(help));
}

void FlagSet::Duration(std::string name, int64_t* target_ms, int64_t default_ms, std::string help) {
  *target_ms = default_ms;
  Add(std::move(name), Type::kDuration, target_ms,
      default_ms == 0 ? "" : FormatDurationMs(default_ms), std::move(help));
}

void FlagSet::StringList(std::string name, std::vector<std::string>* target,
                         std::vector<std::string> default_value, std::string help) {
  std::string shown =
      default_value.empty() ? "" : absl::StrCat("[", absl::StrJoin(default_value, ","), "]");
  *target = std::move(default_value);
  Add(std::move(name), Type::kStringList, target, std::move(shown), std::move(help));
}

absl::Status FlagSet::Set(Flag& flag, const std::string& text) {
  switch (flag.type) {
    case Type::kString:
      *static_cast<std::string*>(flag.target) = text;
      break;
    case Type::kInt: {
      int v;
      if (!absl::SimpleAtoi(text, &v)) {
        return absl::InvalidArgumentError("expected an integer between -2147483648 and 2147483647");
      }
      *static_cast<int*>(flag.target) = v;
      break;
    }
    case Type::kInt64: {
      int64_t v;
      if (!absl::SimpleAtoi(text, &v)) {
        return absl::InvalidArgumentError("expected a 64-bit integer");
      }
      *static_cast<int64_t*>(flag.target) = v;
      break;
    }
    case Type::kBool: {
      bool v;
      if (!ParseBool(text, &v)) return absl::InvalidArgumentError("expected true or false");
      *static_cast<bool*>(flag.target) = v;
      break;
    }
    case Type::kDouble: {
      double v;
      if (!absl::SimpleAtod(text, &v) || !std::isfinite(v)) {
        return absl::InvalidArgumentError("expected a number");
      }
      *static_cast<double*>(flag.target) = v;
      break;
    }
    case Type::kDuration: {
      absl::StatusOr<int64_t> ms = ParseDurationMs(text);
      if (!ms.ok()) {
        // Drop the 'invalid duration "abc": ' prefix: the caller quotes the value already.
        absl::string_view why = ms.status().message();
        absl::ConsumePrefix(&why, absl::StrCat("invalid duration \"", text, "\": "));
        return absl::InvalidArgumentError(absl::StrCat("not a duration: ", why));
      }
      *static_cast<int64_t*>(flag.target) = *ms;
      break;
    }
    case Type::kStringList: {
      auto* list = static_cast<std::vector<std::string>*>(flag.target);
      if (!flag.changed) list->clear();
      for (std::string& item : SplitList(text)) list->push_back(std::move(item));
      break;
    }
  }
  flag.changed = true;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> FlagSet::Parse(const std::vector<std::string>& args) {
  help_requested_ = false;
  for (auto& [name, flag] : flags_) flag.changed = false;

  for (const std::string& arg : args) {
    if (arg == "--") break;
    if (arg == "-h" || arg == "--help" || absl::StartsWith(arg, "--help=")) {
      help_requested_ = true;
      return std::vector<std::string>{};
    }
  }

  const std::string see = absl::StrCat(" (see '", command_, " --help')");
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional.insert(positional.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);  // includes "-", conventionally stdin
      continue;
    }
    if (arg[1] != '-') {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", arg, see));
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    auto it = flags_.find(name);
    if (name.empty() || it == flags_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, see));
    }
    Flag& flag = it->second;
    if (!has_value) {
      if (flag.type == Type::kBool) {
        value = "true";
      } else if (i + 1 < args.size() && !absl::StartsWith(args[i + 1], "--")) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
    }
    if (absl::Status s = Set(flag, value); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid value \"", value, "\" for --", name, ": ", s.message()));
    }
  }
  return positional;
}

bool FlagSet::Changed(const std::string& name) const {
  auto it = flags_.find(name);
  return it != flags_.end() && it->second.changed;
}

std::string FlagSet::Usage() const {
  struct Row {
    std::string left;
    std::string right;
  };
  std::vector<Row> rows;
  rows.push_back({"  -h, --help", absl::StrCat("Show this help for ", command_, ".")});
  for (const auto& [name, flag] : flags_) {
    std::string left = absl::StrCat("      --", name);
    switch (flag.type) {
      case Type::kString:
        left += " string";
        break;
      case Type::kInt:
      case Type::kInt64:
        left += " int";
        break;
      case Type::kBool:
        break;
      case Type::kDouble:
        left += " float";
        break;
      case Type::kDuration:
        left += " duration";
        break;
      case Type::kStringList:
        left += " strings";
        break;
    }
    std::string right = flag.help;
    if (!flag.default_text.empty()) absl::StrAppend(&right, " (default ", flag.default_text, ")");
    rows.push_back({std::move(left), std::move(right)});
  }
  size_t width = 0;
  for (const Row& row : rows) width = std::max(width, row.left.size());
  width += 3;

  std::string out = absl::StrCat("Usage:\n  ", command_, " [flags]", args_usage_.empty() ? "" : " ",
                                 args_usage_, "\n\n");
  if (!summary_.empty()) absl::StrAppend(&out, summary_, "\n\n");
  out += "Flags:\n";
  // Continuation lines of a multi-line help text line up with its first line.
  std::string indent = "\n";
  indent.append(width, ' ');
  for (const Row& row : rows) {
    out += row.left;
    out.append(width - row.left.size(), ' ');
    out += absl::StrReplaceAll(row.right, {{"\n", indent}});
    out += '\n';
  }
  return out;
}

std::optional<int> FlagSet::ParseCommand(const std::vector<std::string>& args,
                                         std::vector<std::string>* positional) {
  absl::StatusOr<std::vector<std::string>> parsed = Parse(args);
  if (!parsed.ok()) {
    std::cerr << "Error: " << parsed.status().message() << "\n";
    return 2;
  }
  if (help_requested()) {
    std::cout << Usage();
    return 0;
  }
  *positional = *std::move(parsed);
  return std::nullopt;
}

}  // namespace cli
