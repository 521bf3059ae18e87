#include "adapter/rules/naming.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "re2/re2.h"

namespace rules {
namespace {

// Go's regexp/syntax error texts for RE2's error codes.
const char* RegexErrorText(RE2::ErrorCode code) {
  switch (code) {
    case RE2::ErrorBadEscape:
      return "invalid escape sequence";
    case RE2::ErrorBadCharClass:
      return "invalid character class";
    case RE2::ErrorBadCharRange:
      return "invalid character class range";
    case RE2::ErrorMissingBracket:
      return "missing closing ]";
    case RE2::ErrorMissingParen:
      return "missing closing )";
    case RE2::ErrorUnexpectedParen:
      return "unexpected )";
    case RE2::ErrorTrailingBackslash:
      return "trailing backslash at end of expression";
    case RE2::ErrorRepeatArgument:
      return "missing argument to repetition operator";
    case RE2::ErrorRepeatSize:
      return "invalid repeat count";
    case RE2::ErrorRepeatOp:
      return "invalid nested repetition operator";
    case RE2::ErrorBadPerlOp:
      return "invalid or unsupported Perl syntax";
    case RE2::ErrorBadUTF8:
      return "invalid UTF-8";
    case RE2::ErrorBadNamedCapture:
      return "invalid named capture";
    case RE2::ErrorPatternTooLarge:
      return "expression too large";
    default:
      return "internal error";
  }
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// One reference in an ExpandString template, as Go's regexp.extract reads it after a "$".
struct Reference {
  bool ok = false;
  std::string_view name;
  std::string_view text;  // as written after the "$": "1", "{name}"
  int num = -1;           // >= 0 for a group number
  size_t length = 0;      // bytes consumed after the "$"
};

Reference ExtractReference(std::string_view s) {
  Reference ref;
  size_t i = 0;
  bool brace = false;
  if (!s.empty() && s[0] == '{') {
    brace = true;
    i = 1;
  }
  size_t start = i;
  while (i < s.size() && IsNameChar(s[i])) ++i;
  if (i == start) return ref;
  ref.name = s.substr(start, i - start);
  if (brace) {
    if (i >= s.size() || s[i] != '}') return ref;
    ++i;
  }
  int num = 0;
  for (char c : ref.name) {
    if (c < '0' || c > '9' || num >= 100000000) {
      num = -1;
      break;
    }
    num = num * 10 + (c - '0');
  }
  if (ref.name.size() > 1 && ref.name[0] == '0') num = -1;
  ref.num = num;
  ref.length = i;
  ref.text = s.substr(0, i);
  ref.ok = true;
  return ref;
}

// Walks an ExpandString template: literal text goes to `literal`, references to `reference`.
template <typename LiteralFn, typename ReferenceFn>
void WalkTemplate(std::string_view tmpl, LiteralFn literal, ReferenceFn reference) {
  while (!tmpl.empty()) {
    size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    literal(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      literal("$");
      tmpl.remove_prefix(1);
      continue;
    }
    Reference ref = ExtractReference(tmpl);
    if (!ref.ok) {
      literal("$");
      continue;
    }
    reference(ref);
    tmpl.remove_prefix(ref.length);
  }
  literal(tmpl);
}

RE2::Options GoOptions() {
  RE2::Options options;
  options.set_log_errors(false);
  return options;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const re2::RE2>> CompileRegex(std::string_view pattern) {
  auto re =
      std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), GoOptions());
  if (!re->ok()) {
    std::string where = re->error_arg().empty() ? std::string(pattern) : re->error_arg();
    return absl::InvalidArgumentError(
        absl::StrFormat("error parsing regexp: %s: `%s`", RegexErrorText(re->error_code()), where));
  }
  return re;
}

bool RegexMatches(const re2::RE2& re, std::string_view text) {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), re);
}

absl::StatusOr<SeriesFilter> SeriesFilter::Create(std::string_view is, std::string_view is_not) {
  if (!is.empty() && !is_not.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot have both is (%s) and isNot (%s) in a single filter", is, is_not));
  }
  if (is.empty() && is_not.empty()) {
    return absl::InvalidArgumentError("must have either is or isNot");
  }
  auto re = CompileRegex(is.empty() ? is_not : is);
  if (!re.ok()) return re.status();
  SeriesFilter filter;
  filter.re_ = *std::move(re);
  filter.want_match_ = !is.empty();
  return filter;
}

bool SeriesFilter::Passes(std::string_view metric_name) const {
  return RegexMatches(*re_, metric_name) == want_match_;
}

absl::StatusOr<MetricNamer> MetricNamer::Create(std::string_view matches, std::string_view as) {
  auto re = CompileRegex(matches.empty() ? std::string_view(".*") : matches);
  if (!re.ok()) return re.status();
  const RE2& regex = **re;
  int groups = regex.NumberOfCapturingGroups();
  MetricNamer namer;
  namer.re_ = *re;
  if (as.empty()) {
    if (groups == 0) {
      namer.as_ = "$0";
    } else if (groups == 1) {
      namer.as_ = "$1";
    } else {
      return absl::InvalidArgumentError(absl::StrFormat(
          "must specify an 'as' value for name matcher %s with %d groups", matches, groups));
    }
    return namer;
  }
  namer.as_ = std::string(as);
  absl::Status status;
  const auto& named = regex.NamedCapturingGroups();
  WalkTemplate(
      as, [](std::string_view) {},
      [&](const Reference& ref) {
        if (!status.ok()) return;
        if (ref.num >= 0) {
          if (ref.num > groups) {
            status = absl::InvalidArgumentError(
                absl::StrFormat("$%s refers to group %d but %s has %d group%s", ref.text, ref.num,
                                matches.empty() ? std::string_view(".*") : matches, groups,
                                groups == 1 ? "" : "s"));
          }
          return;
        }
        if (named.find(std::string(ref.name)) == named.end()) {
          std::string hint;
          if (ref.name[0] >= '0' && ref.name[0] <= '9') {
            size_t digits = 0;
            while (digits < ref.name.size() && ref.name[digits] >= '0' && ref.name[digits] <= '9')
              ++digits;
            hint = absl::StrCat(" (Go reads \"$", std::string(ref.name), "\" as the group named \"",
                                std::string(ref.name), "\"; write \"${",
                                std::string(ref.name.substr(0, digits)), "}",
                                std::string(ref.name.substr(digits)), "\")");
          }
          status = absl::InvalidArgumentError(
              absl::StrFormat("$%s refers to no group named \"%s\" in %s%s", ref.text, ref.name,
                              matches.empty() ? std::string_view(".*") : matches, hint));
        }
      });
  if (!status.ok()) return status;
  return namer;
}

std::optional<std::string> MetricNamer::NameFor(std::string_view metric_name) const {
  const RE2& re = *re_;
  int n = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> groups(n);
  re2::StringPiece text(metric_name.data(), metric_name.size());
  if (!re.Match(text, 0, text.size(), RE2::UNANCHORED, groups.data(), n)) return std::nullopt;
  const auto& named = re.NamedCapturingGroups();
  std::string out;
  WalkTemplate(
      as_, [&](std::string_view lit) { out.append(lit); },
      [&](const Reference& ref) {
        int index = ref.num;
        if (index < 0) {
          auto it = named.find(std::string(ref.name));
          if (it == named.end()) return;
          index = it->second;
        }
        if (index < n && groups[index].data() != nullptr) {
          out.append(groups[index].data(), groups[index].size());
        }
      });
  return out;
}

std::string QuoteRegex(std::string_view text) {
  static constexpr std::string_view kSpecial = "\\.+*?()|[]{}^$";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (kSpecial.find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

absl::StatusOr<ResourceConverter> ResourceConverter::Create(
    std::string_view label_template,
    std::vector<std::pair<std::string, k8s::GroupResource>> overrides) {
  ResourceConverter conv;
  conv.overrides_ = std::move(overrides);
  if (label_template.empty()) return conv;
  auto tmpl = Template::Parse(label_template, {"Group", "Resource"});
  if (!tmpl.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unable to parse label template: ", std::string(tmpl.status().message())));
  }
  // Markers that cannot occur in a template's own text, replaced by the capture groups after
  // rendering so that the groups are numbered in the order they appear.
  static constexpr char kGroupMarker[] = "\x01G\x01";
  static constexpr char kResourceMarker[] = "\x01R\x01";
  auto rendered = tmpl->Execute(
      {{"Group", std::string(kGroupMarker)}, {"Resource", std::string(kResourceMarker)}});
  if (!rendered.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("unable to convert label template to matcher: ",
                                                   std::string(rendered.status().message())));
  }
  if (rendered->empty()) {
    return absl::InvalidArgumentError(
        "unable to convert label template to matcher: empty template");
  }
  std::string pattern = "^";
  int group = 0;
  for (size_t i = 0; i < rendered->size();) {
    std::string_view rest = std::string_view(*rendered).substr(i);
    if (rest.substr(0, 3) == kGroupMarker || rest.substr(0, 3) == kResourceMarker) {
      ++group;
      if (rest[1] == 'G') {
        if (conv.group_index_ == 0) conv.group_index_ = group;
      } else if (conv.resource_index_ == 0) {
        conv.resource_index_ = group;
      }
      pattern += "(.+?)";
      i += 3;
    } else {
      pattern.push_back(rest[0]);
      ++i;
    }
  }
  pattern += "$";
  auto re = CompileRegex(pattern);
  if (!re.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("unable to compile label template pattern ",
                                                   pattern, ": ",
                                                   std::string(re.status().message())));
  }
  conv.label_regex_ = *std::move(re);
  conv.label_template_ = *std::move(tmpl);
  return conv;
}

std::optional<k8s::ResourceInfo> ResourceConverter::ResourceForLabel(
    std::string_view label, const k8s::ResourceMapper& mapper) const {
  for (const auto& [lbl, gr] : overrides_) {
    if (lbl == label) return mapper.Find(gr.resource, gr.group);
  }
  if (!label_regex_ || resource_index_ == 0) return std::nullopt;
  const RE2& re = *label_regex_;
  int n = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> groups(n);
  re2::StringPiece text(label.data(), label.size());
  if (!re.Match(text, 0, text.size(), RE2::ANCHOR_BOTH, groups.data(), n)) return std::nullopt;
  std::string_view group;
  if (group_index_ > 0)
    group = std::string_view(groups[group_index_].data(), groups[group_index_].size());
  std::string_view resource(groups[resource_index_].data(), groups[resource_index_].size());
  return mapper.Find(resource, group);
}

absl::StatusOr<std::string> ResourceConverter::LabelForResource(
    const k8s::GroupResource& resource, const k8s::ResourceMapper& mapper) const {
  for (const auto& [lbl, gr] : overrides_) {
    if (gr == resource) return lbl;
  }
  std::string prefix =
      absl::StrCat("unable to convert resource ", resource.String(), " into label: ");
  if (!label_template_) {
    return absl::FailedPreconditionError(
        prefix + "no generic resource label form specified for this metric");
  }
  auto info = mapper.Find(resource.resource, resource.group);
  if (!info) {
    return absl::FailedPreconditionError(prefix + "unable to singularize resource " +
                                         resource.String());
  }
  std::string group = resource.group;
  std::replace(group.begin(), group.end(), '.', '_');
  std::replace(group.begin(), group.end(), '-', '_');
  auto label = label_template_->Execute({{"Group", group}, {"Resource", info->singular}});
  if (!label.ok())
    return absl::FailedPreconditionError(prefix + std::string(label.status().message()));
  if (label->empty()) {
    return absl::FailedPreconditionError(prefix + "empty label produced by label template");
  }
  return *std::move(label);
}

}  // namespace rules
