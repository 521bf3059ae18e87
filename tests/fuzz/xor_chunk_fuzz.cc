// libFuzzer target: the XOR chunk decoder. Its bulk path (XorIterator::AppendRange, which reads
// several fields of a sample from one window of the stream) must agree with the sample-by-sample
// path (Next) on any bytes, well-formed or damaged: the same samples in the window, the same stop,
// the same error. The first input byte picks what the rest is:
//   even: a time window (two 8-byte integers) and then raw chunk bytes;
//   odd:  a time window and then samples (8 bytes of timestamp step, 8 bytes of value bits) that
//         are appended to a chunk first, which must then decode to exactly those samples.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tsdb/chunk/xor_chunk.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

uint64_t Take64(std::string_view* in) {
  uint64_t x = 0;
  const size_t n = std::min<size_t>(8, in->size());
  std::memcpy(&x, in->data(), n);
  in->remove_prefix(n);
  return x;
}

bool SameBits(const tsdb::Sample& a, const tsdb::Sample& b) {
  return a.t == b.t && std::bit_cast<uint64_t>(a.v) == std::bit_cast<uint64_t>(b.v);
}

// An independent, bit-at-a-time reading of the XOR layout (Prometheus' chunkenc format): the
// samples up to the end or the first damage, and whether it stopped at damage. Written plainly,
// without the decoder's fast paths, as the oracle for both of them.
struct Reference {
  std::vector<tsdb::Sample> samples;
  bool damaged = false;
};

Reference ReferenceDecode(std::string_view bytes) {
  Reference out;
  if (bytes.size() < 2) {
    out.damaged = true;
    return out;
  }
  const int total =
      (static_cast<unsigned char>(bytes[0]) << 8) | static_cast<unsigned char>(bytes[1]);
  size_t pos = 16;  // in bits, from the start of bytes
  auto bit = [&](uint64_t* b) {
    if (pos >= bytes.size() * 8) return false;
    *b = (static_cast<unsigned char>(bytes[pos / 8]) >> (7 - pos % 8)) & 1;
    ++pos;
    return true;
  };
  auto bits = [&](int n, uint64_t* v) {
    *v = 0;
    for (int i = 0; i < n; ++i) {
      uint64_t b;
      if (!bit(&b)) return false;
      *v = (*v << 1) | b;
    }
    return true;
  };
  auto uvarint = [&](uint64_t* v) {
    *v = 0;
    for (int i = 0; i < 10; ++i) {
      uint64_t byte;
      if (!bits(8, &byte)) return false;
      if (i == 9 && byte > 1) return false;
      *v |= (byte & 0x7f) << (7 * i);
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  };
  int64_t t = 0;
  uint64_t delta = 0, v = 0;
  int leading = -1, trailing = 0;
  auto value = [&]() {
    uint64_t b;
    if (!bit(&b)) return false;
    if (b == 0) return true;
    if (!bit(&b)) return false;
    if (b == 1) {
      uint64_t header;
      if (!bits(11, &header)) return false;
      const int lead = static_cast<int>(header >> 6);
      const int sig = (header & 63) == 0 ? 64 : static_cast<int>(header & 63);
      if (lead + sig > 64) return false;
      leading = lead;
      trailing = 64 - lead - sig;
    } else if (leading < 0) {
      return false;
    }
    uint64_t x;
    if (!bits(64 - leading - trailing, &x)) return false;
    v ^= x << trailing;
    return true;
  };
  for (int i = 0; i < total; ++i) {
    uint64_t next_delta;
    if (i == 0) {
      uint64_t zigzag;
      if (!uvarint(&zigzag) || !bits(64, &v)) break;
      t = static_cast<int64_t>(zigzag >> 1) ^ -static_cast<int64_t>(zigzag & 1);
      out.samples.push_back({t, std::bit_cast<double>(v)});
      continue;
    }
    if (i == 1) {
      if (!uvarint(&next_delta)) break;
    } else {
      int ones = 0;
      uint64_t b = 1;
      while (ones < 4 && bit(&b) && b == 1) ++ones;
      if (ones < 4 && b == 1) break;  // the stream ended inside the prefix
      static constexpr int kWidth[] = {0, 14, 17, 20, 64};
      uint64_t dod = 0;
      if (ones > 0) {
        if (!bits(kWidth[ones], &dod)) break;
        const int n = kWidth[ones];
        if (n < 64 && dod > (uint64_t{1} << (n - 1))) dod -= uint64_t{1} << n;
      }
      next_delta = delta + dod;
    }
    const auto next_t = static_cast<int64_t>(static_cast<uint64_t>(t) + next_delta);
    if (next_t <= t || !value()) break;
    t = next_t;
    delta = next_delta;
    out.samples.push_back({t, std::bit_cast<double>(v)});
  }
  out.damaged = out.samples.size() < static_cast<size_t>(total);
  return out;
}

// Decodes `bytes` both ways over [mint, maxt] and checks that they agree with each other and
// with the reference reading; returns what the sample-by-sample path decoded.
std::vector<tsdb::Sample> CheckBothPaths(std::string_view bytes, int64_t mint, int64_t maxt) {
  tsdb::XorIterator slow(bytes);
  std::vector<tsdb::Sample> all;
  while (slow.Next()) all.push_back(slow.At());
  const Reference ref = ReferenceDecode(bytes);
  Check(all.size() == ref.samples.size());
  for (size_t i = 0; i < all.size(); ++i) Check(SameBits(all[i], ref.samples[i]));
  Check(slow.status().ok() == !ref.damaged);

  // What AppendRange must give: the samples in the window up to the first one past maxt.
  std::vector<tsdb::Sample> want;
  size_t past = all.size();
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].t > maxt) {
      past = i;
      break;
    }
    if (all[i].t >= mint) want.push_back(all[i]);
  }

  tsdb::XorIterator fast(bytes);
  std::vector<tsdb::Sample> got;
  const bool stopped_past = fast.AppendRange(mint, maxt, &got);
  Check(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) Check(SameBits(got[i], want[i]));
  Check(stopped_past == (past < all.size()));
  if (stopped_past) {
    // The first sample past the window is current, and iteration goes on from it.
    Check(SameBits(fast.At(), all[past]));
    for (size_t i = past + 1; i < all.size(); ++i) {
      Check(fast.Next());
      Check(SameBits(fast.At(), all[i]));
    }
    Check(!fast.Next());
  }
  Check(fast.status() == slow.status());
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const bool encode = (in[0] & 1) != 0;
  in.remove_prefix(1);
  auto mint = static_cast<int64_t>(Take64(&in));
  auto maxt = static_cast<int64_t>(Take64(&in));
  if (mint > maxt) std::swap(mint, maxt);  // AppendRange's precondition
  if (!encode) {
    CheckBothPaths(in, mint, maxt);
    return 0;
  }
  tsdb::XorChunk chunk;
  std::vector<tsdb::Sample> appended;
  uint64_t t = 0;
  while (in.size() >= 16 && appended.size() < 400) {
    const uint64_t step = Take64(&in);
    const double v = std::bit_cast<double>(Take64(&in));
    // Steps of every size, from 1 ms to ones that need the widest timestamp encoding.
    const uint64_t next = t + 1 + (step >> (step % 64));
    if (!appended.empty() && static_cast<int64_t>(next) <= static_cast<int64_t>(t)) break;
    if (!chunk.Append(static_cast<int64_t>(next), v)) break;
    t = next;
    appended.push_back({static_cast<int64_t>(next), v});
  }
  const std::vector<tsdb::Sample> decoded = CheckBothPaths(chunk.bytes(), mint, maxt);
  Check(decoded.size() == appended.size());
  for (size_t i = 0; i < decoded.size(); ++i) Check(SameBits(decoded[i], appended[i]));
  return 0;
}
