#include "tsdb/index/symbols.h"

#include <cstring>

namespace tsdb {

std::string_view SymbolTable::Intern(std::string_view s) {
  auto it = set_.find(s);
  if (it != set_.end()) return *it;
  char* dst;
  if (s.size() > kBlockBytes / 4) {
    // Large strings get their own allocation so they do not waste the rest of a block.
    blocks_.insert(blocks_.begin(), std::make_unique<char[]>(s.size()));
    arena_bytes_ += s.size();
    dst = blocks_.front().get();
  } else {
    if (block_used_ + s.size() > kBlockBytes) {
      blocks_.push_back(std::make_unique<char[]>(kBlockBytes));
      block_used_ = 0;
      arena_bytes_ += kBlockBytes;
    }
    dst = blocks_.back().get() + block_used_;
    block_used_ += s.size();
  }
  if (!s.empty()) std::memcpy(dst, s.data(), s.size());
  std::string_view interned(dst, s.size());
  set_.insert(interned);
  return interned;
}

}  // namespace tsdb
