#include "tsdb/index/postings.h"

#include <algorithm>
#include <iterator>

namespace tsdb {

PostingsList Intersect(const PostingsList& a, const PostingsList& b) {
  const PostingsList& small = a.size() <= b.size() ? a : b;
  const PostingsList& large = a.size() <= b.size() ? b : a;
  PostingsList out;
  if (small.empty()) return out;
  out.reserve(small.size());
  // Galloping pays off when the lists differ a lot in size; a linear merge otherwise.
  if (large.size() / small.size() > 16) {
    auto it = large.begin();
    for (uint64_t ref : small) {
      it = std::lower_bound(it, large.end(), ref);
      if (it == large.end()) break;
      if (*it == ref) out.push_back(ref);
    }
  } else {
    std::set_intersection(small.begin(), small.end(), large.begin(), large.end(),
                          std::back_inserter(out));
  }
  return out;
}

PostingsList Union(std::vector<const PostingsList*> lists) {
  std::erase_if(lists, [](const PostingsList* l) { return l->empty(); });
  if (lists.empty()) return {};
  if (lists.size() == 1) return *lists[0];
  size_t total = 0;
  for (const PostingsList* l : lists) total += l->size();
  // Concatenate, sort and dedupe: simpler than a heap merge and faster for the many short lists a
  // regex over label values produces.
  PostingsList out;
  out.reserve(total);
  for (const PostingsList* l : lists) out.insert(out.end(), l->begin(), l->end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

PostingsList Subtract(const PostingsList& a, const PostingsList& b) {
  PostingsList out;
  out.reserve(a.size());
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

void MemPostings::Add(uint64_t ref, std::string_view name, std::string_view value) {
  PostingsList& list = index_[name][value];
  // Refs normally arrive in increasing order; replay of a checkpoint may not guarantee it.
  if (list.empty() || list.back() < ref) {
    list.push_back(ref);
  } else {
    auto it = std::lower_bound(list.begin(), list.end(), ref);
    if (it == list.end() || *it != ref) list.insert(it, ref);
  }
}

void MemPostings::Remove(const absl::flat_hash_set<uint64_t>& refs) {
  if (refs.empty()) return;
  auto drop = [&refs](uint64_t r) { return refs.contains(r); };
  std::erase_if(all_, drop);
  for (auto name_it = index_.begin(); name_it != index_.end();) {
    Values& values = name_it->second;
    for (auto it = values.begin(); it != values.end();) {
      std::erase_if(it->second, drop);
      if (it->second.empty()) {
        it = values.erase(it);
      } else {
        ++it;
      }
    }
    if (values.empty()) {
      index_.erase(name_it++);
    } else {
      ++name_it;
    }
  }
}

const PostingsList& MemPostings::Get(std::string_view name, std::string_view value) const {
  static const PostingsList kEmpty;
  auto n = index_.find(name);
  if (n == index_.end()) return kEmpty;
  auto v = n->second.find(value);
  if (v == n->second.end()) return kEmpty;
  return v->second;
}

const MemPostings::Values* MemPostings::ValuesOf(std::string_view name) const {
  auto n = index_.find(name);
  return n == index_.end() ? nullptr : &n->second;
}

namespace {

// Keeps the `limit` largest of the stats pushed, for a ranking over many more candidates than
// it shows.
class TopStats {
 public:
  explicit TopStats(size_t limit) : limit_(limit) {}
  void Push(std::string_view name, uint64_t count) {
    if (limit_ == 0) return;
    if (heap_.size() == limit_ && !Before(count, name, heap_.front())) return;
    if (heap_.size() == limit_) {
      std::pop_heap(heap_.begin(), heap_.end(), Ranks);
      heap_.pop_back();
    }
    heap_.push_back(PostingsStat{std::string(name), count});
    std::push_heap(heap_.begin(), heap_.end(), Ranks);
  }
  std::vector<PostingsStat> Take() {
    std::sort_heap(heap_.begin(), heap_.end(), Ranks);
    return std::move(heap_);
  }

 private:
  static bool Before(uint64_t count, std::string_view name, const PostingsStat& b) {
    return count != b.count ? count > b.count : name < b.name;
  }
  // A heap under this order has the lowest-ranked entry on top; sort_heap puts the best first.
  static bool Ranks(const PostingsStat& a, const PostingsStat& b) {
    return Before(a.count, a.name, b);
  }

  size_t limit_;
  std::vector<PostingsStat> heap_;
};

}  // namespace

PostingsStats MemPostings::Stats(std::string_view metric_label, size_t limit) const {
  TopStats metrics(limit), labels(limit), bytes(limit), pairs(limit);
  PostingsStats out;
  std::string pair;
  for (const auto& [name, values] : index_) {
    labels.Push(name, values.size());
    out.label_pairs += values.size();
    uint64_t size = 0;
    for (const auto& [value, refs] : values) {
      if (name == metric_label) metrics.Push(value, refs.size());
      pair.assign(name).append("=").append(value);
      pairs.Push(pair, refs.size());
      size += value.size();
    }
    bytes.Push(name, size);
  }
  out.series_by_metric = metrics.Take();
  out.values_by_label = labels.Take();
  out.value_bytes_by_label = bytes.Take();
  out.series_by_pair = pairs.Take();
  return out;
}

void MemPostings::ForEachName(const std::function<void(std::string_view)>& fn) const {
  for (const auto& [name, values] : index_) fn(name);
}

}  // namespace tsdb
