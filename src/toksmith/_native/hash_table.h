// hash_table.h: 64-bit hashing and a byte-string -> count table in a flat arena.
// Part of toksmith._native._bpe; included once, by bpe.cpp (everything is internal to that one module).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

// ------------------------------------------------------------------------------------------------
// hashing and a byte-string -> count table in a flat arena
// ------------------------------------------------------------------------------------------------

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

inline uint64_t hash_bytes(const char* p, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t(n) * 0x100000001B3ULL);
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = mix64(h ^ v) + 0x632BE59BD9B4E019ULL;
    p += 8;
    n -= 8;
  }
  uint64_t v = 0;
  std::memcpy(&v, p, n);
  return mix64(h ^ v ^ (uint64_t(n) << 59));
}

struct BytesTable {
  std::vector<char> arena;
  std::vector<uint64_t> off;
  std::vector<uint32_t> len;
  std::vector<uint64_t> cnt;
  std::vector<uint32_t> hsh;
  std::vector<uint32_t> slots;  // 0 = empty, else index + 1
  uint64_t mask = 0;

  BytesTable() { reset(); }

  void reset() {
    std::vector<char>().swap(arena);
    std::vector<uint64_t>().swap(off);
    std::vector<uint32_t>().swap(len);
    std::vector<uint64_t>().swap(cnt);
    std::vector<uint32_t>().swap(hsh);
    slots.assign(1024, 0);
    mask = 1023;
  }

  size_t size() const { return cnt.size(); }

  size_t memory() const {
    return arena.capacity() + off.capacity() * 8 + len.capacity() * 4 + cnt.capacity() * 8 +
           hsh.capacity() * 4 + slots.capacity() * 4;
  }

  void grow() {
    size_t cap = slots.size() * 2;
    std::vector<uint32_t> ns(cap, 0);
    uint64_t m = cap - 1;
    for (uint32_t k = 0; k < cnt.size(); ++k) {
      uint64_t s = hsh[k] & m;
      while (ns[s]) s = (s + 1) & m;
      ns[s] = k + 1;
    }
    slots.swap(ns);
    mask = m;
  }

  uint32_t add(const char* p, size_t n, uint64_t c) {
    uint32_t h = uint32_t(hash_bytes(p, n) >> 32);
    uint64_t s = h & mask;
    while (uint32_t e = slots[s]) {
      --e;
      if (hsh[e] == h && len[e] == n && std::memcmp(arena.data() + off[e], p, n) == 0) {
        cnt[e] += c;
        return e;
      }
      s = (s + 1) & mask;
    }
    if (cnt.size() >= 0xFFFFFFF0u) throw std::runtime_error("more than 4 billion distinct pre-tokens");
    uint32_t k = uint32_t(cnt.size());
    slots[s] = k + 1;
    off.push_back(arena.size());
    arena.insert(arena.end(), p, p + n);
    len.push_back(uint32_t(n));
    cnt.push_back(c);
    hsh.push_back(h);
    if (cnt.size() * 2 > slots.size()) grow();
    return k;
  }

  std::string key(size_t k) const { return std::string(arena.data() + off[k], len[k]); }
};

}  // namespace
