// SeriesTable: owns the head's series and finds them by ref. Refs are handed out sequentially, so
// the table is a paged array indexed by ref: a lookup is two loads, and the refs of one commit,
// which are mostly ascending, hit neighbouring entries. A page is released once every series in it
// is gone, so memory follows the live series, not every ref ever handed out. Not thread-safe.
#ifndef METRICS_ADAPTER_TSDB_SERIES_TABLE_H_
#define METRICS_ADAPTER_TSDB_SERIES_TABLE_H_

#include <cstdint>
#include <memory>
#include <vector>

namespace tsdb {

template <typename T>
class SeriesTable {
 public:
  T* Get(uint64_t ref) const {
    uint64_t page = ref >> kPageBits;
    if (page >= pages_.size() || pages_[page] == nullptr) return nullptr;
    return pages_[page]->slots[ref & kPageMask].get();
  }

  // Stores value under ref, replacing nothing: ref must be free.
  T* Insert(uint64_t ref, std::unique_ptr<T> value) {
    uint64_t page = ref >> kPageBits;
    if (page >= pages_.size()) pages_.resize(page + 1);
    if (pages_[page] == nullptr) pages_[page] = std::make_unique<Page>();
    Page& p = *pages_[page];
    auto& slot = p.slots[ref & kPageMask];
    if (slot == nullptr) ++p.used, ++size_;
    slot = std::move(value);
    return slot.get();
  }

  void Erase(uint64_t ref) {
    uint64_t page = ref >> kPageBits;
    if (page >= pages_.size() || pages_[page] == nullptr) return;
    Page& p = *pages_[page];
    auto& slot = p.slots[ref & kPageMask];
    if (slot == nullptr) return;
    slot.reset();
    --size_;
    if (--p.used == 0) pages_[page].reset();
  }

  // Calls fn(ref, T&) for every entry in ref order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (uint64_t page = 0; page < pages_.size(); ++page) {
      if (pages_[page] == nullptr) continue;
      for (uint64_t i = 0; i < kPageSize; ++i) {
        if (T* v = pages_[page]->slots[i].get()) fn((page << kPageBits) | i, *v);
      }
    }
  }

  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kPageBits = 12;
  static constexpr uint64_t kPageSize = uint64_t{1} << kPageBits;
  static constexpr uint64_t kPageMask = kPageSize - 1;
  struct Page {
    std::unique_ptr<T> slots[kPageSize];
    uint32_t used = 0;
  };
  std::vector<std::unique_ptr<Page>> pages_;
  size_t size_ = 0;
};

}  // namespace tsdb

#endif  // METRICS_ADAPTER_TSDB_SERIES_TABLE_H_
