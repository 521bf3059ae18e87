// SymbolTable: interns label names and values so each distinct string is stored once. Interned
// strings never move and live as long as the table. Not thread-safe: the head guards it.
#ifndef METRICS_ADAPTER_TSDB_INDEX_SYMBOLS_H_
#define METRICS_ADAPTER_TSDB_INDEX_SYMBOLS_H_

#include <memory>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace tsdb {

class SymbolTable {
 public:
  // Returns the interned copy of s.
  std::string_view Intern(std::string_view s);
  size_t size() const { return set_.size(); }
  // Bytes held by the arena (for memory accounting).
  size_t ArenaBytes() const { return arena_bytes_; }

 private:
  static constexpr size_t kBlockBytes = 64 * 1024;
  absl::flat_hash_set<std::string_view> set_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t block_used_ = kBlockBytes;
  size_t arena_bytes_ = 0;
};

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_INDEX_SYMBOLS_H_
