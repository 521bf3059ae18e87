// Postings: sorted lists of series refs, one per label pair, and the set operations that turn label
// matchers into a list of series. Internal to tsdb/.
#ifndef METRICS_ADAPTER_TSDB_INDEX_POSTINGS_H_
#define METRICS_ADAPTER_TSDB_INDEX_POSTINGS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace tsdb {

using PostingsList = std::vector<uint64_t>;  // strictly increasing series refs

PostingsList Intersect(const PostingsList& a, const PostingsList& b);
// Union of many lists (k-way merge via pairwise merging of the smallest first).
PostingsList Union(std::vector<const PostingsList*> lists);
// Elements of a not in b.
PostingsList Subtract(const PostingsList& a, const PostingsList& b);

// The in-memory inverted index: label name -> label value -> postings. The strings are owned by the
// caller (interned) and must outlive the index. Not thread-safe: the head guards it.
// One line of a PostingsStats ranking.
struct PostingsStat {
  std::string name;
  uint64_t count = 0;

  friend bool operator==(const PostingsStat&, const PostingsStat&) = default;
};

// The index's largest cardinalities, each ranking by count, largest first (ties by name), at most
// `limit` entries. Value bytes count each distinct value once, as the symbol table stores it
// (and as Prometheus 2.42 reports memoryInBytesByLabelName).
struct PostingsStats {
  std::vector<PostingsStat> series_by_metric;      // values of the metric label, by series
  std::vector<PostingsStat> values_by_label;       // label names, by number of distinct values
  std::vector<PostingsStat> value_bytes_by_label;  // label names, by bytes of their values
  std::vector<PostingsStat> series_by_pair;        // "name=value", by series
  uint64_t label_pairs = 0;                        // distinct name=value pairs
};

class MemPostings {
 public:
  using Values = absl::btree_map<std::string_view, PostingsList>;

  // Adds ref (greater than any ref added before) under name=value and under the all-series list.
  void Add(uint64_t ref, std::string_view name, std::string_view value);
  void AddToAll(uint64_t ref) { all_.push_back(ref); }
  // Removes the given refs everywhere; empty lists and names disappear.
  void Remove(const absl::flat_hash_set<uint64_t>& refs);

  const PostingsList& All() const { return all_; }
  // Postings of name=value, or an empty list.
  const PostingsList& Get(std::string_view name, std::string_view value) const;
  // The sorted values of name with their postings, or nullptr when no series has name.
  const Values* ValuesOf(std::string_view name) const;
  // Calls fn for every label name (unsorted).
  void ForEachName(const std::function<void(std::string_view)>& fn) const;
  // The rankings of PostingsStats; metric_label names the label whose values are metrics.
  PostingsStats Stats(std::string_view metric_label, size_t limit) const;

 private:
  absl::flat_hash_map<std::string_view, Values> index_;
  PostingsList all_;
};

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_INDEX_POSTINGS_H_
