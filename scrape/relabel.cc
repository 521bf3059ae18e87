#include "scrape/relabel.h"

#include <locale.h>
#include <openssl/evp.h>
#include <wctype.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <cwctype>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "re2/re2.h"

namespace scrape {

namespace internal {

// A replacement (or target label) template, parsed once: literal text and group references.
struct TemplatePiece {
  std::string literal;  // used when group < 0
  int group = -1;       // index of the capturing group to insert
};

struct Template {
  std::vector<TemplatePiece> pieces;
  bool has_vars = false;       // contains a "$" (Prometheus' test for the fast path)
  std::string literal_result;  // the expansion when no piece refers to a group
  bool is_literal = true;      // no piece refers to a group
  int max_group = 0;           // the largest group referred to (0 when none)
};

struct CompiledRule {
  std::unique_ptr<RE2> re;
  bool default_regex = false;  // regex == "(.*)": a match is the whole value, unless it has '\n'
  int num_groups = 0;          // capturing groups of re, plus one for the whole match
  Template target;             // replace: target_label
  Template replacement;        // replace, labelmap
};

}  // namespace internal

namespace {

using internal::CompiledRule;
using internal::Template;
using internal::TemplatePiece;

constexpr std::string_view kDefaultRegex = "(.*)";
constexpr std::string_view kDefaultReplacement = "$1";
constexpr std::string_view kDefaultSeparator = ";";

struct ActionName {
  RelabelAction action;
  std::string_view name;
};
constexpr ActionName kActionNames[] = {
    {RelabelAction::kReplace, "replace"},     {RelabelAction::kKeep, "keep"},
    {RelabelAction::kDrop, "drop"},           {RelabelAction::kKeepEqual, "keepequal"},
    {RelabelAction::kDropEqual, "dropequal"}, {RelabelAction::kHashMod, "hashmod"},
    {RelabelAction::kLabelMap, "labelmap"},   {RelabelAction::kLabelDrop, "labeldrop"},
    {RelabelAction::kLabelKeep, "labelkeep"}, {RelabelAction::kLowercase, "lowercase"},
    {RelabelAction::kUppercase, "uppercase"},
};

// Never a null pointer: a participating empty group must stay distinguishable from a group that
// did not participate (data() == nullptr).
re2::StringPiece SP(std::string_view s) {
  return s.data() != nullptr ? re2::StringPiece(s.data(), s.size()) : re2::StringPiece("", 0);
}

bool HasNewline(std::string_view s) {
  return !s.empty() && std::memchr(s.data(), '\n', s.size()) != nullptr;
}

// Go's \w: ASCII letters, digits and '_'.
bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Prometheus' relabelTarget: a label name in which "$name" and "${name}" references may stand for
// any part, i.e. ^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$. Equivalently: the string is a
// sequence of tokens (a letter or '_', a reference, or a digit) that does not start with a digit.
bool IsValidLabelNameTemplate(std::string_view s) {
  if (s.empty()) return false;
  size_t i = 0;
  bool first = true;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '$') {
      size_t j = i + 1;
      if (j < s.size() && s[j] == '{') {
        size_t k = j + 1;
        while (k < s.size() && IsWordChar(s[k])) ++k;
        if (k == j + 1 || k >= s.size() || s[k] != '}') return false;
        i = k + 1;
      } else {
        size_t k = j;
        while (k < s.size() && IsWordChar(s[k])) ++k;
        if (k == j) return false;
        i = k;
      }
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
      ++i;
    } else if (c >= '0' && c <= '9') {
      if (first) return false;
      ++i;
    } else {
      return false;
    }
    first = false;
  }
  return true;
}

// The name of a group reference after "$" or "${", as Go's regexp.extract scans it: the longest
// run of Unicode letters, decimal digits and '_'. Returns its length in bytes.
size_t ScanRefName(std::string_view s) {
  // Non-ASCII letters are rare in templates; RE2 knows the Unicode classes Go uses.
  static const RE2* const kName = new RE2("[\\p{L}\\p{Nd}_]+");
  re2::StringPiece match;
  if (!kName->Match(SP(s), 0, s.size(), RE2::ANCHOR_START, &match, 1)) return 0;
  return match.size();
}

// Parses a Go regexp.Expand template against re's groups.
Template ParseTemplate(std::string_view tmpl, const RE2& re) {
  Template out;
  out.has_vars = tmpl.find('$') != std::string_view::npos;
  const int num_groups = re.NumberOfCapturingGroups();
  const std::map<std::string, int>& named = re.NamedCapturingGroups();
  std::string literal;
  auto flush = [&]() {
    if (!literal.empty()) {
      out.pieces.push_back(TemplatePiece{std::move(literal), -1});
      literal.clear();
    }
  };
  size_t i = 0;
  while (i < tmpl.size()) {
    const size_t dollar = tmpl.find('$', i);
    if (dollar == std::string_view::npos) {
      literal.append(tmpl.substr(i));
      break;
    }
    literal.append(tmpl.substr(i, dollar - i));
    std::string_view rest = tmpl.substr(dollar + 1);
    if (!rest.empty() && rest[0] == '$') {  // "$$" is a literal "$"
      literal.push_back('$');
      i = dollar + 2;
      continue;
    }
    const bool brace = !rest.empty() && rest[0] == '{';
    std::string_view after = brace ? rest.substr(1) : rest;
    const size_t name_len = ScanRefName(after);
    bool ok = name_len > 0;
    size_t consumed = (brace ? 1 : 0) + name_len;
    if (ok && brace) {
      if (name_len >= after.size() || after[name_len] != '}') {
        ok = false;
      } else {
        ++consumed;
      }
    }
    if (!ok) {  // malformed: the "$" is kept as text
      literal.push_back('$');
      i = dollar + 1;
      continue;
    }
    const std::string_view name = after.substr(0, name_len);
    // A number when all ASCII digits, below 1e8 and without a leading zero; a name otherwise.
    int num = 0;
    for (char c : name) {
      if (c < '0' || c > '9' || num >= 100000000) {
        num = -1;
        break;
      }
      num = num * 10 + (c - '0');
    }
    if (name.size() > 1 && name[0] == '0') num = -1;
    int group = -1;
    if (num >= 0) {
      if (num <= num_groups) group = num;
    } else if (auto it = named.find(std::string(name)); it != named.end()) {
      group = it->second;
    }
    if (group >= 0) {
      flush();
      out.pieces.push_back(TemplatePiece{"", group});
      out.is_literal = false;
      out.max_group = std::max(out.max_group, group);
    }
    // A reference to a group that does not exist expands to nothing.
    i = dollar + 1 + consumed;
  }
  flush();
  if (out.is_literal) {
    for (const TemplatePiece& p : out.pieces) out.literal_result += p.literal;
  }
  return out;
}

void Expand(const Template& t, const re2::StringPiece* groups, int ngroups, std::string* out) {
  out->clear();
  if (t.is_literal) {
    out->assign(t.literal_result);
    return;
  }
  for (const TemplatePiece& p : t.pieces) {
    if (p.group < 0) {
      out->append(p.literal);
    } else if (p.group < ngroups && groups[p.group].data() != nullptr) {
      out->append(groups[p.group].data(), groups[p.group].size());
    }
  }
}

// Whether the anchored regex of rule matches s.
bool FullMatches(const CompiledRule& rule, std::string_view s) {
  if (rule.default_regex) return !HasNewline(s);
  return rule.re->Match(SP(s), 0, s.size(), RE2::UNANCHORED, nullptr, 0);
}

// Matches s and fills groups[0..n) (n = max group needed + 1). False when it does not match.
bool MatchGroups(const CompiledRule& rule, std::string_view s, re2::StringPiece* groups, int n) {
  if (rule.default_regex) {
    if (HasNewline(s)) return false;
    for (int i = 0; i < n; ++i) groups[i] = i <= 1 ? SP(s) : re2::StringPiece();
    return true;
  }
  return rule.re->Match(SP(s), 0, s.size(), RE2::UNANCHORED, groups, n);
}

// Case mapping as Go's strings.ToLower/ToUpper: ASCII directly, other code points through the
// C library's Unicode tables (the C.UTF-8 locale, not the process locale); invalid UTF-8 bytes
// become U+FFFD as in Go.
locale_t Utf8Locale() {
  static const locale_t loc = [] {
    locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{nullptr});
    if (l == locale_t{nullptr}) l = newlocale(LC_CTYPE_MASK, "C.utf8", locale_t{nullptr});
    return l;
  }();
  return loc;
}

// Decodes one UTF-8 sequence at s[i]; returns the code point and sets *len, or returns -1 with
// *len = 1 for an invalid byte (Go's RuneError with width 1).
int32_t DecodeRune(std::string_view s, size_t i, size_t* len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  *len = 1;
  if (b0 < 0x80) return b0;
  int n;
  int32_t cp;
  int32_t min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (i + n > s.size()) return -1;
  for (int k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  *len = static_cast<size_t>(n);
  return cp;
}

void AppendRune(int32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void MapCase(std::string_view s, bool upper, std::string* out) {
  out->clear();
  out->reserve(s.size());
  const locale_t loc = Utf8Locale();
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (static_cast<unsigned char>(c) < 0x80) {
      out->push_back(upper ? absl::ascii_toupper(c) : absl::ascii_tolower(c));
      ++i;
      continue;
    }
    size_t len;
    int32_t cp = DecodeRune(s, i, &len);
    i += len;
    if (cp < 0) {
      cp = 0xFFFD;
    } else if (loc != locale_t{nullptr}) {
      const wint_t mapped = upper ? towupper_l(static_cast<wint_t>(cp), loc)
                                  : towlower_l(static_cast<wint_t>(cp), loc);
      if (mapped <= 0x10FFFF && !(mapped >= 0xD800 && mapped <= 0xDFFF)) {
        cp = static_cast<int32_t>(mapped);
      }
    }
    AppendRune(cp, out);
  }
}

// Prometheus' relabel.Config.Validate, plus what its YAML decoding checks.
absl::Status Validate(const RelabelRule& r) {
  const std::string_view action = RelabelActionName(r.action);
  using A = RelabelAction;
  for (const std::string& name : r.source_labels) {
    if (!tsdb::IsValidLabelName(name)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s is not a valid label name", absl::StrFormat("\"%s\"", name)));
    }
  }
  if (r.action == A::kHashMod && r.modulus == 0) {
    return absl::InvalidArgumentError(
        "relabel configuration for hashmod requires non-zero modulus");
  }
  const bool needs_target = r.action == A::kReplace || r.action == A::kHashMod ||
                            r.action == A::kLowercase || r.action == A::kUppercase ||
                            r.action == A::kKeepEqual || r.action == A::kDropEqual;
  if (needs_target && r.target_label.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "relabel configuration for %s action requires 'target_label' value", action));
  }
  auto invalid_target = [&]() {
    return absl::InvalidArgumentError(
        absl::StrFormat("\"%s\" is invalid 'target_label' for %s action", r.target_label, action));
  };
  if ((r.action == A::kReplace || r.action == A::kLowercase || r.action == A::kUppercase) &&
      !IsValidLabelNameTemplate(r.target_label)) {
    return invalid_target();
  }
  if ((r.action == A::kKeepEqual || r.action == A::kDropEqual || r.action == A::kHashMod) &&
      !tsdb::IsValidLabelName(r.target_label)) {
    return invalid_target();
  }
  if ((r.action == A::kLowercase || r.action == A::kUppercase || r.action == A::kKeepEqual ||
       r.action == A::kDropEqual) &&
      r.replacement != kDefaultReplacement) {
    return absl::InvalidArgumentError(
        absl::StrFormat("'replacement' can not be set for %s action", action));
  }
  if (r.action == A::kLabelMap && !IsValidLabelNameTemplate(r.replacement)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("\"%s\" is invalid 'replacement' for %s action", r.replacement, action));
  }
  if ((r.action == A::kKeepEqual || r.action == A::kDropEqual) &&
      (r.regex != kDefaultRegex || r.modulus != 0 || r.separator != kDefaultSeparator ||
       r.replacement != kDefaultReplacement)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s action requires only 'source_labels' and `target_label`, and no other fields", action));
  }
  if ((r.action == A::kLabelDrop || r.action == A::kLabelKeep) &&
      (!r.source_labels.empty() || !r.target_label.empty() || r.modulus != 0 ||
       r.separator != kDefaultSeparator || r.replacement != kDefaultReplacement)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s action requires only 'regex', and no other fields", action));
  }
  return absl::OkStatus();
}

// The joined values of the source labels. Returns a view of the single value when there is one
// source label (no copy); otherwise joins into *buf.
std::string_view SourceValue(const RelabelRule& rule, const LabelBuilder& lb, std::string* buf) {
  const auto& src = rule.source_labels;
  if (src.size() == 1) return lb.Get(src[0]);
  buf->clear();
  for (size_t i = 0; i < src.size(); ++i) {
    if (i > 0) buf->append(rule.separator);
    buf->append(lb.Get(src[i]));
  }
  return *buf;
}

// Scratch space reused across rules and calls on one thread.
struct Scratch {
  std::string joined;
  std::string value_copy;
  std::string target;
  std::string result;
  std::vector<re2::StringPiece> groups;
  std::vector<tsdb::Label> pending;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

// Applies one compiled rule; false when the series is dropped.
bool Apply(const RelabelRule& rule, const CompiledRule& c, LabelBuilder* lb, Scratch& s) {
  using A = RelabelAction;
  switch (rule.action) {
    case A::kLabelDrop:
    case A::kLabelKeep: {
      const bool drop_matching = rule.action == A::kLabelDrop;
      // Collect first: deleting changes the builder being iterated.
      s.pending.clear();
      for (const tsdb::Label& l : lb->pairs()) {
        if (FullMatches(c, l.name) == drop_matching) s.pending.push_back(tsdb::Label{l.name, ""});
      }
      for (const tsdb::Label& l : s.pending) lb->Del(l.name);
      return true;
    }
    case A::kLabelMap: {
      // Every label present when the rule starts is considered once, with its value then.
      s.pending.clear();
      const int n = c.replacement.max_group + 1;
      s.groups.resize(static_cast<size_t>(n));
      for (const tsdb::Label& l : lb->pairs()) {
        if (!MatchGroups(c, l.name, s.groups.data(), n)) continue;
        Expand(c.replacement, s.groups.data(), n, &s.result);
        s.pending.push_back(tsdb::Label{s.result, l.value});
      }
      for (const tsdb::Label& l : s.pending) {
        // A name that is not a valid label name (e.g. "$1" expanding to "" or to a name that
        // starts with a digit) is skipped rather than stored.
        if (tsdb::IsValidLabelName(l.name)) lb->Set(l.name, l.value);
      }
      return true;
    }
    default:
      break;
  }

  std::string_view val = SourceValue(rule, *lb, &s.joined);
  switch (rule.action) {
    case A::kDrop:
      return !FullMatches(c, val);
    case A::kKeep:
      return FullMatches(c, val);
    case A::kDropEqual:
      return lb->Get(rule.target_label) != val;
    case A::kKeepEqual:
      return lb->Get(rule.target_label) == val;
    case A::kReplace: {
      const int n = std::max(c.target.max_group, c.replacement.max_group) + 1;
      s.groups.resize(static_cast<size_t>(n));
      if (!MatchGroups(c, val, s.groups.data(), n)) return true;  // no match: no change
      // val may point into the builder, which Set below mutates: expand before mutating.
      Expand(c.target, s.groups.data(), n, &s.target);
      if (!tsdb::IsValidLabelName(s.target)) return true;
      Expand(c.replacement, s.groups.data(), n, &s.result);
      if (s.result.empty()) {
        // Prometheus 2.42 deletes the label named by the unexpanded target_label (so a templated
        // target such as "${1}" deletes nothing).
        lb->Del(rule.target_label);
      } else {
        lb->Set(s.target, s.result);
      }
      return true;
    }
    case A::kLowercase:
    case A::kUppercase:
      MapCase(val, rule.action == A::kUppercase, &s.result);
      lb->Set(rule.target_label, s.result);
      return true;
    case A::kHashMod: {
      const uint64_t mod = HashModSum64(val) % rule.modulus;
      lb->Set(rule.target_label, absl::StrCat(mod));
      return true;
    }
    default:
      return true;
  }
}

}  // namespace

std::string_view RelabelActionName(RelabelAction action) {
  for (const ActionName& a : kActionNames) {
    if (a.action == action) return a.name;
  }
  return "unknown";
}

absl::StatusOr<RelabelAction> ParseRelabelAction(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(absl::string_view(name.data(), name.size()));
  for (const ActionName& a : kActionNames) {
    if (a.name == lower) return a.action;
  }
  return absl::InvalidArgumentError(absl::StrFormat("unknown relabel action \"%s\"", name));
}

absl::Status RelabelRule::Compile() {
  compiled_.reset();
  if (absl::Status st = Validate(*this); !st.ok()) return st;
  auto c = std::make_shared<CompiledRule>();
  RE2::Options options;
  options.set_log_errors(false);
  // The same text Prometheus compiles, so that a regex such as "a)|(b" behaves as it does there.
  const std::string anchored = absl::StrCat("^(?:", regex, ")$");
  c->re = std::make_unique<RE2>(anchored, options);
  if (!c->re->ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("invalid regex \"%s\": %s", regex, c->re->error()));
  }
  c->default_regex = regex == kDefaultRegex;
  c->num_groups = c->re->NumberOfCapturingGroups() + 1;
  c->target = ParseTemplate(target_label, *c->re);
  c->replacement = ParseTemplate(replacement, *c->re);
  compiled_ = std::move(c);
  return absl::OkStatus();
}

bool RelabelRule::Matches(std::string_view s) const {
  return compiled_ != nullptr && FullMatches(*compiled_, s);
}

absl::Status CompileRelabelRules(std::vector<RelabelRule>* rules) {
  for (size_t i = 0; i < rules->size(); ++i) {
    if (absl::Status st = (*rules)[i].Compile(); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("relabel rule ", i, ": ", st.message()));
    }
  }
  return absl::OkStatus();
}

namespace {
struct NameLess {
  bool operator()(const tsdb::Label& l, std::string_view name) const { return l.name < name; }
};
}  // namespace

void LabelBuilder::Reset(const tsdb::Labels& labels) {
  labels_.assign(labels.begin(), labels.end());
}

void LabelBuilder::Reset(const std::vector<tsdb::Label>& sorted_unique_non_empty) {
  labels_.assign(sorted_unique_non_empty.begin(), sorted_unique_non_empty.end());
}

std::string_view LabelBuilder::Get(std::string_view name) const {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name, NameLess());
  if (it != labels_.end() && it->name == name) return it->value;
  return {};
}

void LabelBuilder::Set(std::string_view name, std::string_view value) {
  if (value.empty()) {
    Del(name);
    return;
  }
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name, NameLess());
  if (it != labels_.end() && it->name == name) {
    it->value.assign(value.data(), value.size());
    return;
  }
  labels_.insert(it, tsdb::Label{std::string(name), std::string(value)});
}

void LabelBuilder::Del(std::string_view name) {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name, NameLess());
  if (it != labels_.end() && it->name == name) labels_.erase(it);
}

bool Relabel(const std::vector<RelabelRule>& rules, LabelBuilder* labels) {
  Scratch& scratch = ThreadScratch();
  for (const RelabelRule& rule : rules) {
    if (rule.compiled_ == nullptr) continue;
    if (!Apply(rule, *rule.compiled_, labels, scratch)) return false;
  }
  return true;
}

bool Relabel(const std::vector<RelabelRule>& rules, tsdb::Labels* labels) {
  if (rules.empty()) return true;
  thread_local LabelBuilder builder;
  builder.Reset(*labels);
  if (!Relabel(rules, &builder)) return false;
  *labels = builder.Labels();
  return true;
}

std::string ExpandTemplate(std::string_view tmpl,
                           const std::vector<std::optional<std::string_view>>& groups,
                           const std::vector<std::string>& names) {
  // Build a regex with the same group layout so that ParseTemplate resolves names as for a rule.
  std::string pattern;
  for (size_t i = 1; i < groups.size(); ++i) {
    const std::string& name = i < names.size() ? names[i] : std::string();
    if (!name.empty()) {
      absl::StrAppend(&pattern, "(?P<", name, ">)");
    } else {
      pattern += "()";
    }
  }
  RE2::Options options;
  options.set_log_errors(false);
  RE2 re(pattern, options);
  std::vector<re2::StringPiece> pieces;
  pieces.reserve(groups.size());
  for (const auto& g : groups) pieces.push_back(g ? SP(*g) : re2::StringPiece());
  std::string out;
  if (!re.ok()) return out;
  Template t = ParseTemplate(tmpl, re);
  Expand(t, pieces.data(), static_cast<int>(pieces.size()), &out);
  return out;
}

uint64_t HashModSum64(std::string_view s) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(s.data(), s.size(), digest, &len, EVP_md5(), nullptr) != 1 || len != 16) {
    return 0;
  }
  uint64_t v = 0;
  for (int i = 8; i < 16; ++i) v = (v << 8) | digest[i];
  return v;
}

}  // namespace scrape
