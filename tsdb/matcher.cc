#include "tsdb/matcher.h"

#include <re2/re2.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tsdb {
namespace {

// True when s has no regex metacharacters, so it matches only itself.
bool IsLiteral(std::string_view s) {
  return s.find_first_of(".+*?()[]{}^$|\\") == std::string_view::npos;
}

std::string Quote(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

LabelMatcher::LabelMatcher(Type type, std::string name, std::string value)
    : type_(type), name_(std::move(name)), value_(std::move(value)) {}

absl::StatusOr<LabelMatcher> LabelMatcher::Make(Type type, std::string name, std::string value) {
  LabelMatcher m(type, std::move(name), std::move(value));
  if (type == Type::kRegexMatch || type == Type::kRegexNoMatch) {
    // Prometheus anchors the expression at both ends and lets '.' match newlines.
    RE2::Options options;
    options.set_dot_nl(true);
    options.set_log_errors(false);
    auto re = std::make_shared<RE2>(absl::StrCat("^(?:", m.value_, ")$"), options);
    if (!re->ok()) {
      return absl::InvalidArgumentError(absl::StrCat("invalid regular expression for label ",
                                                     m.name_, " ", Quote(m.value_), ": ",
                                                     re->error()));
    }
    m.re_ = std::move(re);
    if (type == Type::kRegexMatch) {
      std::vector<std::string> parts = absl::StrSplit(m.value_, '|');
      bool all_literal = true;
      for (const std::string& p : parts) all_literal = all_literal && IsLiteral(p);
      if (all_literal) m.set_matches_ = std::move(parts);
    }
  }
  m.matches_empty_ = m.Matches("");
  return m;
}

bool LabelMatcher::Matches(std::string_view value) const {
  switch (type_) {
    case Type::kEqual:
      return value == value_;
    case Type::kNotEqual:
      return value != value_;
    case Type::kRegexMatch:
      return RE2::FullMatch(value, *re_);
    case Type::kRegexNoMatch:
      return !RE2::FullMatch(value, *re_);
  }
  return false;
}

bool LabelMatcher::PossibleMatchRange(std::string* min, std::string* max) const {
  if (type_ != Type::kRegexMatch || !re_) return false;
  return re_->PossibleMatchRange(min, max, 32);
}

std::string LabelMatcher::ToString() const {
  const char* op = "=";
  switch (type_) {
    case Type::kEqual:
      op = "=";
      break;
    case Type::kNotEqual:
      op = "!=";
      break;
    case Type::kRegexMatch:
      op = "=~";
      break;
    case Type::kRegexNoMatch:
      op = "!~";
      break;
  }
  return absl::StrCat(name_, op, Quote(value_));
}

}  // namespace tsdb
