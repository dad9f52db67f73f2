// toksmith._native._bpe: the compiled hot loops of BPE training.
//
// Two parts:
//   * Counter: streams text through a hand-written matcher for each preset pre-tokenizer regex
//     (gpt2, cl100k, o200k, superbpe-stage2, with the number-mode split in front) and counts distinct
//     pre-tokens (or, for SuperBPE stage 2, distinct chunks stored as sequences of stage-1 pre-token ids)
//     in a flat byte arena with 64-bit counts. The matchers reproduce the leftmost-first, greedy,
//     backtracking semantics of the regexes in toksmith/train/pretokenize.py; the character classes come
//     from a table that Python builds with the `regex` module itself, so both agree on Unicode.
//   * Trainer: merge learning on the table of unique words: symbols in one int32 arena, pair counts in
//     an open-addressing map, occurrence lists (word indices) in a pooled linked list, a lazy max-heap,
//     and in-place merges that update only the pairs next to each merged occurrence (no rescan).
//
// Tie-break (identical in toksmith/train/reference.py): the pair with the highest count wins; among
// equal counts, the pair whose left token is older wins, then the one whose right token is older. Token
// age is the id: the 256 bytes in byte order, then learned tokens in the order merges created them.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace py = pybind11;

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

// ------------------------------------------------------------------------------------------------
// character classes and the preset matchers
// ------------------------------------------------------------------------------------------------

enum : uint8_t { F_L = 1, F_N = 2, F_S = 4, F_U = 8, F_W = 16 };
// F_U: [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]   F_W: [\p{Ll}\p{Lm}\p{Lo}\p{M}]   (o200k's two letter classes)

std::vector<uint8_t> g_cls;

inline uint32_t decode(const uint8_t* s, size_t i, size_t& next) {
  uint8_t b = s[i];
  if (b < 0x80) {
    next = i + 1;
    return b;
  }
  if (b < 0xE0) {
    next = i + 2;
    return (uint32_t(b & 0x1F) << 6) | (s[i + 1] & 0x3F);
  }
  if (b < 0xF0) {
    next = i + 3;
    return (uint32_t(b & 0x0F) << 12) | (uint32_t(s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
  }
  next = i + 4;
  return (uint32_t(b & 0x07) << 18) | (uint32_t(s[i + 1] & 0x3F) << 12) | (uint32_t(s[i + 2] & 0x3F) << 6) |
         (s[i + 3] & 0x3F);
}

inline uint8_t cls_at(const uint8_t* s, size_t i, size_t& next) {
  uint32_t c = decode(s, i, next);
  return c < g_cls.size() ? g_cls[c] : 0;
}

inline bool is_o(uint8_t f) { return !(f & (F_L | F_N | F_S)); }
inline bool is_l(uint8_t f) { return f & F_L; }
inline bool is_n(uint8_t f) { return f & F_N; }
inline bool is_u(uint8_t f) { return f & F_U; }
inline bool is_w(uint8_t f) { return f & F_W; }

template <class P>
inline size_t run(const uint8_t* s, size_t n, size_t i, P pred, size_t max_chars = SIZE_MAX, size_t* count = nullptr) {
  size_t k = 0;
  while (i < n && k < max_chars) {
    size_t nx;
    if (!pred(cls_at(s, i, nx))) break;
    i = nx;
    ++k;
  }
  if (count) *count = k;
  return i;
}

// \s+(?!\S)|\s+  at a whitespace character
inline size_t ws_tail(const uint8_t* s, size_t n, size_t i) {
  size_t j = i, last = i;
  int k = 0;
  while (j < n) {
    size_t nj;
    if (!(cls_at(s, j, nj) & F_S)) break;
    last = j;
    j = nj;
    ++k;
  }
  if (j == n) return j;
  if (k >= 2) return last;
  return j;
}

// 's|'t|'re|'ve|'m|'ll|'d (case-insensitive variant also folds U+017F LONG S to s); 0 if none
inline size_t contraction(const uint8_t* s, size_t n, size_t i, bool ci) {
  if (i + 1 >= n || s[i] != '\'') return 0;
  auto low = [&](size_t p, size_t& np) -> uint32_t {
    uint32_t c = decode(s, p, np);
    if (ci) {
      if (c >= 'A' && c <= 'Z') c += 32;
      if (c == 0x17F) c = 's';
    }
    return c;
  };
  size_t j;
  uint32_t c1 = low(i + 1, j);
  if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return j;
  if ((c1 == 'r' || c1 == 'v' || c1 == 'l') && j < n) {
    size_t k;
    uint32_t c2 = low(j, k);
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return k;
  }
  return 0;
}

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
size_t m_gpt2(const uint8_t* s, size_t n, size_t i) {
  if (s[i] == '\'') {
    size_t e = contraction(s, n, i, false);
    if (e) return e;
  }
  size_t nx;
  uint8_t f = cls_at(s, i, nx);
  if (s[i] == ' ' && nx < n) {
    size_t nn;
    uint8_t g = cls_at(s, nx, nn);
    if (is_l(g)) return run(s, n, nx, is_l);
    if (is_n(g)) return run(s, n, nx, is_n);
    if (is_o(g)) return run(s, n, nx, is_o);
  }
  if (is_l(f)) return run(s, n, i, is_l);
  if (is_n(f)) return run(s, n, i, is_n);
  if (is_o(f)) return run(s, n, i, is_o);
  return ws_tail(s, n, i);
}

inline size_t crlf_tail(const uint8_t* s, size_t n, size_t e, bool slash) {
  while (e < n && (s[e] == '\r' || s[e] == '\n' || (slash && s[e] == '/'))) ++e;
  return e;
}

// \s*[\r\n]+ at a whitespace character; 0 if the run holds no \r or \n
inline size_t ws_newline(const uint8_t* s, size_t n, size_t i) {
  size_t j = i, p = SIZE_MAX;
  while (j < n) {
    size_t nj;
    if (!(cls_at(s, j, nj) & F_S)) break;
    if (s[j] == '\r' || s[j] == '\n') p = j;
    j = nj;
  }
  return p == SIZE_MAX ? 0 : p + 1;
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
size_t m_cl100k(const uint8_t* s, size_t n, size_t i) {
  if (s[i] == '\'') {
    size_t e = contraction(s, n, i, true);
    if (e) return e;
  }
  size_t nx, nn;
  uint8_t f = cls_at(s, i, nx);
  if (!(f & (F_L | F_N)) && s[i] != '\r' && s[i] != '\n' && nx < n && is_l(cls_at(s, nx, nn)))
    return run(s, n, nx, is_l);
  if (is_l(f)) return run(s, n, i, is_l);
  if (is_n(f)) return run(s, n, i, is_n, 3);
  if (s[i] == ' ' && nx < n && is_o(cls_at(s, nx, nn))) return crlf_tail(s, n, run(s, n, nx, is_o), false);
  if (is_o(f)) return crlf_tail(s, n, run(s, n, i, is_o), false);
  size_t e = ws_newline(s, n, i);
  if (e) return e;
  return ws_tail(s, n, i);
}

// [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|...)? from `start`; 0 on failure
size_t o200k_alt1(const uint8_t* s, size_t n, size_t start) {
  if (start >= n) return 0;
  size_t e = run(s, n, start, is_u);
  size_t end = 0, ne;
  if (e < n && is_w(cls_at(s, e, ne))) {
    end = run(s, n, e, is_w);
  } else {
    size_t k = start, last_end = 0;
    while (k < e) {
      size_t nk;
      if (is_w(cls_at(s, k, nk))) last_end = nk;
      k = nk;
    }
    if (!last_end) return 0;
    end = last_end;
  }
  size_t c = contraction(s, n, end, true);
  return c ? c : end;
}

// [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|...)? from `start`; 0 on failure
size_t o200k_alt2(const uint8_t* s, size_t n, size_t start) {
  if (start >= n) return 0;
  size_t e = run(s, n, start, is_u);
  if (e == start) return 0;
  e = run(s, n, e, is_w);
  size_t c = contraction(s, n, e, true);
  return c ? c : e;
}

size_t m_o200k(const uint8_t* s, size_t n, size_t i) {
  size_t nx, nn;
  uint8_t f = cls_at(s, i, nx);
  bool pre = !(f & (F_L | F_N)) && s[i] != '\r' && s[i] != '\n';
  size_t e;
  if (pre && (e = o200k_alt1(s, n, nx))) return e;
  if ((e = o200k_alt1(s, n, i))) return e;
  if (pre && (e = o200k_alt2(s, n, nx))) return e;
  if ((e = o200k_alt2(s, n, i))) return e;
  if (is_n(f)) return run(s, n, i, is_n, 3);
  if (s[i] == ' ' && nx < n && is_o(cls_at(s, nx, nn))) return crlf_tail(s, n, run(s, n, nx, is_o), true);
  if (is_o(f)) return crlf_tail(s, n, run(s, n, i, is_o), true);
  e = ws_newline(s, n, i);
  if (e) return e;
  return ws_tail(s, n, i);
}

// \p{N}{1,3}| ?[^\s\p{L}\p{N}]{2,}|\s+(?=\s)   (used with Split "Isolated": gaps are pieces too); 0 = no match
size_t m_stage2(const uint8_t* s, size_t n, size_t i) {
  size_t nx, k;
  uint8_t f = cls_at(s, i, nx);
  if (is_n(f)) return run(s, n, i, is_n, 3);
  if (s[i] == ' ' && nx < n) {
    size_t e = run(s, n, nx, is_o, SIZE_MAX, &k);
    if (k >= 2) return e;
  }
  if (is_o(f)) {
    size_t e = run(s, n, i, is_o, SIZE_MAX, &k);
    if (k >= 2) return e;
    return 0;
  }
  if (f & F_S) {
    size_t j = i, last = i;
    k = 0;
    while (j < n) {
      size_t nj;
      if (!(cls_at(s, j, nj) & F_S)) break;
      last = j;
      j = nj;
      ++k;
    }
    if (k >= 2) return last;
  }
  return 0;
}

enum class Preset { GPT2, CL100K, O200K, STAGE2 };
enum class Numbers { NONE, SINGLE, L2R3, R2L3 };

Preset parse_preset(const std::string& p) {
  if (p == "gpt2") return Preset::GPT2;
  if (p == "cl100k") return Preset::CL100K;
  if (p == "o200k") return Preset::O200K;
  if (p == "superbpe-stage2") return Preset::STAGE2;
  throw std::invalid_argument("unknown preset '" + p + "'");
}

Numbers parse_numbers(const std::string& p) {
  if (p.empty() || p == "none") return Numbers::NONE;
  if (p == "single") return Numbers::SINGLE;
  if (p == "l2r3") return Numbers::L2R3;
  if (p == "r2l3") return Numbers::R2L3;
  throw std::invalid_argument("unknown number mode '" + p + "'");
}

inline size_t match_full(Preset p, const uint8_t* s, size_t n, size_t i) {
  switch (p) {
    case Preset::GPT2:
      return m_gpt2(s, n, i);
    case Preset::CL100K:
      return m_cl100k(s, n, i);
    case Preset::O200K:
      return m_o200k(s, n, i);
    default:
      throw std::logic_error("not a full-coverage preset");
  }
}

// Pieces of the number-mode Split ("Isolated"), then of the main preset inside each piece.
template <class Emit>
void split_numbers(Numbers mode, const uint8_t* s, size_t a, size_t b, Emit emit) {
  if (mode == Numbers::NONE) {
    if (a < b) emit(a, b);
    return;
  }
  size_t gap = a, i = a;
  while (i < b) {
    size_t nx;
    if (!is_n(cls_at(s, i, nx))) {
      i = nx;
      continue;
    }
    size_t m;
    size_t e = run(s, b, i, is_n, SIZE_MAX, &m);
    if (gap < i) emit(gap, i);
    size_t first = mode == Numbers::SINGLE ? 1 : mode == Numbers::L2R3 ? 3 : (m % 3 ? m % 3 : 3);
    size_t group = mode == Numbers::SINGLE ? 1 : 3;
    size_t p = i;
    size_t take = first;
    while (p < e) {
      size_t q = run(s, e, p, is_n, take);
      emit(p, q);
      p = q;
      take = group;
    }
    i = gap = e;
  }
  if (gap < b) emit(gap, b);
}

template <class Emit>
void split_main(Preset preset, const uint8_t* s, size_t a, size_t b, Emit emit) {
  if (preset != Preset::STAGE2) {
    size_t i = a;
    while (i < b) {
      size_t e = match_full(preset, s, b, i);
      emit(i, e);
      i = e;
    }
    return;
  }
  size_t gap = a, i = a;
  while (i < b) {
    size_t e = m_stage2(s, b, i);
    if (e) {
      if (gap < i) emit(gap, i);
      emit(i, e);
      i = gap = e;
    } else {
      size_t nx;
      decode(s, i, nx);
      i = nx;
    }
  }
  if (gap < b) emit(gap, b);
}

template <class Emit>
void pretokenize(Preset preset, Numbers numbers, const uint8_t* s, size_t n, Emit emit) {
  split_numbers(numbers, s, 0, n, [&](size_t a, size_t b) { split_main(preset, s, a, b, emit); });
}

// ------------------------------------------------------------------------------------------------
// Counter
// ------------------------------------------------------------------------------------------------

class Counter {
 public:
  // preset: the pre-tokenizer whose pieces are counted; inner: for preset superbpe-stage2, the stage-1
  // preset used to store each chunk as a sequence of stage-1 pre-token ids.
  Counter(const std::string& preset, const std::string& numbers, const std::string& inner)
      : preset_(parse_preset(preset)), numbers_(parse_numbers(numbers)) {
    chunked_ = preset_ == Preset::STAGE2;
    if (chunked_) {
      inner_ = parse_preset(inner.empty() ? "gpt2" : inner);
      if (inner_ == Preset::STAGE2) throw std::invalid_argument("stage-1 preset cannot be superbpe-stage2");
    }
    if (g_cls.empty()) throw std::runtime_error("character table not set (call set_char_table first)");
  }

  void add_texts(const py::list& texts) {
    std::vector<std::pair<const char*, Py_ssize_t>> bufs;
    bufs.reserve(texts.size());
    for (auto h : texts) {
      Py_ssize_t n = 0;
      const char* p = PyUnicode_AsUTF8AndSize(h.ptr(), &n);
      if (!p) throw py::error_already_set();
      bufs.emplace_back(p, n);
    }
    py::gil_scoped_release release;
    for (auto& b : bufs) add_one(reinterpret_cast<const uint8_t*>(b.first), size_t(b.second));
  }

  void add_counts(const std::vector<py::bytes>& keys, const std::vector<uint64_t>& counts) {
    if (chunked_) throw std::invalid_argument("add_counts is for pre-token counters");
    if (keys.size() != counts.size()) throw std::invalid_argument("keys and counts differ in length");
    for (size_t k = 0; k < keys.size(); ++k) {
      char* p;
      Py_ssize_t n;
      PyBytes_AsStringAndSize(keys[k].ptr(), &p, &n);
      table_.add(p, size_t(n), counts[k]);
    }
  }

  void merge(Counter& other) {
    if (other.chunked_ != chunked_) throw std::invalid_argument("cannot merge counters of different kinds");
    py::gil_scoped_release release;
    if (!chunked_) {
      for (size_t k = 0; k < other.table_.size(); ++k)
        table_.add(other.table_.arena.data() + other.table_.off[k], other.table_.len[k], other.table_.cnt[k]);
    } else {
      std::vector<uint32_t> remap(other.table_.size());
      for (size_t k = 0; k < other.table_.size(); ++k)
        remap[k] = table_.add(other.table_.arena.data() + other.table_.off[k], other.table_.len[k], 0);
      std::vector<uint32_t> ids;
      for (size_t k = 0; k < other.chunks_.size(); ++k) {
        const uint32_t* p = reinterpret_cast<const uint32_t*>(other.chunks_.arena.data() + other.chunks_.off[k]);
        size_t m = other.chunks_.len[k] / 4;
        ids.resize(m);
        for (size_t j = 0; j < m; ++j) ids[j] = remap[p[j]];
        chunks_.add(reinterpret_cast<const char*>(ids.data()), m * 4, other.chunks_.cnt[k]);
      }
    }
    other.clear();
  }

  void clear() {
    table_.reset();
    chunks_.reset();
  }

  size_t distinct() const { return chunked_ ? chunks_.size() : table_.size(); }
  size_t distinct_pretokens() const { return table_.size(); }
  size_t memory() const { return table_.memory() + chunks_.memory(); }
  bool chunked() const { return chunked_; }

  // (bytes, count) of every distinct unit (pre-token, or chunk bytes for stage 2), sorted by bytes.
  std::vector<std::pair<py::bytes, uint64_t>> items() const {
    std::vector<std::pair<std::string, uint64_t>> out;
    size_t n = distinct();
    out.reserve(n);
    for (size_t k = 0; k < n; ++k) out.emplace_back(unit_bytes(k), unit_count(k));
    std::sort(out.begin(), out.end());
    std::vector<std::pair<py::bytes, uint64_t>> res;
    res.reserve(n);
    for (auto& e : out) res.emplace_back(py::bytes(e.first), e.second);
    return res;
  }

  std::string unit_bytes(size_t k) const {
    if (!chunked_) return table_.key(k);
    std::string s;
    const uint32_t* p = reinterpret_cast<const uint32_t*>(chunks_.arena.data() + chunks_.off[k]);
    size_t m = chunks_.len[k] / 4;
    for (size_t j = 0; j < m; ++j) s.append(table_.arena.data() + table_.off[p[j]], table_.len[p[j]]);
    return s;
  }
  uint64_t unit_count(size_t k) const { return chunked_ ? chunks_.cnt[k] : table_.cnt[k]; }

 private:
  void add_one(const uint8_t* s, size_t n) {
    if (!chunked_) {
      pretokenize(preset_, numbers_, s, n,
                  [&](size_t a, size_t b) { table_.add(reinterpret_cast<const char*>(s + a), b - a, 1); });
      return;
    }
    pretokenize(preset_, numbers_, s, n, [&](size_t a, size_t b) {
      ids_.clear();
      split_main(inner_, s, a, b, [&](size_t p, size_t q) {
        ids_.push_back(table_.add(reinterpret_cast<const char*>(s + p), q - p, 1));
      });
      chunks_.add(reinterpret_cast<const char*>(ids_.data()), ids_.size() * 4, 1);
    });
  }

  Preset preset_;
  Preset inner_ = Preset::GPT2;
  Numbers numbers_;
  bool chunked_ = false;
  BytesTable table_;
  BytesTable chunks_;
  std::vector<uint32_t> ids_;

  friend class Trainer;
};

// ------------------------------------------------------------------------------------------------
// Trainer
// ------------------------------------------------------------------------------------------------

struct HeapEntry {
  int64_t count;
  int32_t a, b;
};

class Trainer {
 public:
  Trainer() { init_alphabet(); }

  static Trainer* from_counter(Counter& c) {
    auto* t = new Trainer();
    size_t n = c.distinct();
    t->wcnt_.reserve(n);
    t->woff_.reserve(n + 1);
    for (size_t k = 0; k < n; ++k) {
      if (!c.chunked_) {
        t->add_word(c.table_.arena.data() + c.table_.off[k], c.table_.len[k], c.table_.cnt[k]);
      } else {
        std::string w = c.unit_bytes(k);
        t->add_word(w.data(), w.size(), c.chunks_.cnt[k]);
      }
    }
    c.clear();
    t->init_pairs();
    return t;
  }

  static Trainer* from_words(const std::vector<py::bytes>& words, const std::vector<uint64_t>& counts) {
    if (words.size() != counts.size()) throw std::invalid_argument("words and counts differ in length");
    auto* t = new Trainer();
    for (size_t k = 0; k < words.size(); ++k) {
      char* p;
      Py_ssize_t n;
      PyBytes_AsStringAndSize(words[k].ptr(), &p, &n);
      t->add_word(p, size_t(n), counts[k]);
    }
    t->init_pairs();
    return t;
  }

  void set_filters(int max_words, int max_chars, const std::vector<py::bytes>& forbidden, int64_t min_frequency) {
    max_words_ = max_words;
    max_chars_ = max_chars;
    forbidden_.clear();
    for (auto& f : forbidden) forbidden_.push_back(std::string(f));
    min_freq_ = std::max<int64_t>(min_frequency, 1);
  }

  // Apply the given merges in order, whatever their counts (extend/resume, SuperBPE stage 2).
  void replay(const std::vector<std::pair<py::bytes, py::bytes>>& merges) {
    for (auto& m : merges) {
      std::string a(m.first), b(m.second);
      auto ia = tok_id_.find(a), ib = tok_id_.find(b);
      if (ia == tok_id_.end() || ib == tok_id_.end())
        throw std::invalid_argument("merge of unknown tokens at position " + std::to_string(merges_.size()));
      uint32_t p = pair_find(ia->second, ib->second);
      if (p != NONE && done_[p]) continue;
      apply_merge(ia->second, ib->second, p);
    }
  }

  // Learn up to `max_merges` merges, stopping early when the vocabulary holds `max_tokens` tokens or
  // no pair is left at min_frequency. Returns the number of merges learned.
  int64_t step(int64_t max_merges, int64_t max_tokens) {
    py::gil_scoped_release release;
    int64_t done = 0;
    while (done < max_merges && int64_t(tok_.size()) < max_tokens) {
      if (!learn_one()) break;
      ++done;
    }
    return done;
  }

  std::vector<std::pair<py::bytes, py::bytes>> merges() const {
    std::vector<std::pair<py::bytes, py::bytes>> out;
    out.reserve(merges_.size());
    for (auto& m : merges_) out.emplace_back(py::bytes(tok_[m.first]), py::bytes(tok_[m.second]));
    return out;
  }

  size_t n_tokens() const { return tok_.size(); }
  size_t n_merges() const { return merges_.size(); }
  size_t n_words() const { return wcnt_.size(); }
  size_t n_pairs() const { return pkey_.size(); }

  size_t memory() const {
    return sym_.capacity() * 4 + woff_.capacity() * 8 + wcnt_.capacity() * 8 + wlen_.capacity() * 4 +
           mark_.capacity() * 4 + pkey_.capacity() * 8 + pcnt_.capacity() * 8 + phead_.capacity() * 4 +
           plast_.capacity() * 4 + done_.capacity() + pslots_.capacity() * 4 + ow_.capacity() * 4 +
           onext_.capacity() * 4 + heap_.capacity() * sizeof(HeapEntry);
  }

 private:
  static constexpr uint32_t NONE = 0xFFFFFFFFu;

  void init_alphabet() {
    for (int b = 0; b < 256; ++b) {
      tok_.push_back(std::string(1, char(b)));
      tok_id_[tok_.back()] = b;
    }
  }

  void add_word(const char* p, size_t n, uint64_t c) {
    if (n == 0 || c == 0) return;
    woff_.push_back(sym_.size());
    for (size_t i = 0; i < n; ++i) sym_.push_back(int32_t(uint8_t(p[i])));
    wlen_.push_back(int32_t(n));
    wcnt_.push_back(c);
  }

  // --- pair map ---
  uint32_t pair_find(int32_t a, int32_t b) const {
    uint64_t key = (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
    uint64_t s = mix64(key) & pmask_;
    while (uint32_t e = pslots_[s]) {
      if (pkey_[e - 1] == key) return e - 1;
      s = (s + 1) & pmask_;
    }
    return NONE;
  }

  uint32_t pair_get(int32_t a, int32_t b) {
    uint64_t key = (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
    uint64_t s = mix64(key) & pmask_;
    while (uint32_t e = pslots_[s]) {
      if (pkey_[e - 1] == key) return e - 1;
      s = (s + 1) & pmask_;
    }
    uint32_t k = uint32_t(pkey_.size());
    pslots_[s] = k + 1;
    pkey_.push_back(key);
    pcnt_.push_back(0);
    phead_.push_back(-1);
    plast_.push_back(-1);
    done_.push_back(0);
    touched_flag_.push_back(0);
    if (pkey_.size() * 2 > pslots_.size()) pair_grow();
    return k;
  }

  void pair_grow() {
    size_t cap = pslots_.size() * 2;
    std::vector<uint32_t> ns(cap, 0);
    uint64_t m = cap - 1;
    for (uint32_t k = 0; k < pkey_.size(); ++k) {
      uint64_t s = mix64(pkey_[k]) & m;
      while (ns[s]) s = (s + 1) & m;
      ns[s] = k + 1;
    }
    pslots_.swap(ns);
    pmask_ = m;
  }

  void occ_push(uint32_t p, int32_t w) {
    if (plast_[p] == w) return;
    plast_[p] = w;
    int32_t node;
    if (free_ >= 0) {
      node = free_;
      free_ = onext_[node];
    } else {
      node = int32_t(ow_.size());
      ow_.push_back(0);
      onext_.push_back(-1);
    }
    ow_[node] = w;
    onext_[node] = phead_[p];
    phead_[p] = node;
  }

  void init_pairs() {
    pslots_.assign(1 << 16, 0);
    pmask_ = (1 << 16) - 1;
    mark_.assign(wcnt_.size(), -1);
    for (size_t w = 0; w < wcnt_.size(); ++w) {
      const int32_t* s = sym_.data() + woff_[w];
      for (int32_t i = 0; i + 1 < wlen_[w]; ++i) {
        uint32_t p = pair_get(s[i], s[i + 1]);
        pcnt_[p] += int64_t(wcnt_[w]);
        occ_push(p, int32_t(w));
      }
    }
    heap_.reserve(pkey_.size());
    for (uint32_t p = 0; p < pkey_.size(); ++p)
      if (pcnt_[p] > 0) heap_.push_back({pcnt_[p], int32_t(pkey_[p] >> 32), int32_t(uint32_t(pkey_[p]))});
    std::make_heap(heap_.begin(), heap_.end(), Less{this});
  }

  struct Less {
    const Trainer* t;  // unused by the order itself; kept so the comparator can look at tokens
    bool operator()(const HeapEntry& x, const HeapEntry& y) const {
      if (x.count != y.count) return x.count < y.count;
      if (x.a != y.a) return x.a > y.a;
      return x.b > y.b;
    }
  };

  bool allowed(const std::string& t) const {
    if (max_chars_ > 0) {
      int chars = 0;
      for (unsigned char c : t) chars += (c & 0xC0) != 0x80;
      if (chars > max_chars_) return false;
    }
    if (max_words_ > 0) {
      int words = 0;
      bool in = false;
      for (unsigned char c : t) {
        bool ws = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\x0b' || c == '\x0c';
        if (!ws && !in) ++words;
        in = !ws;
      }
      if (words > max_words_) return false;
    }
    for (auto& f : forbidden_)
      if (!f.empty() && t.find(f) != std::string::npos) return false;
    return true;
  }

  bool learn_one() {
    Less less{this};
    while (!heap_.empty()) {
      HeapEntry top = heap_.front();
      std::pop_heap(heap_.begin(), heap_.end(), less);
      heap_.pop_back();
      uint32_t p = pair_find(top.a, top.b);
      if (p == NONE || done_[p]) continue;
      int64_t actual = pcnt_[p];
      if (actual <= 0) continue;
      if (actual != top.count) {
        heap_.push_back({actual, top.a, top.b});
        std::push_heap(heap_.begin(), heap_.end(), less);
        continue;
      }
      if (actual < min_freq_) {
        heap_.push_back(top);
        std::push_heap(heap_.begin(), heap_.end(), less);
        return false;
      }
      if (!allowed(tok_[top.a] + tok_[top.b])) {
        done_[p] = 1;
        continue;
      }
      apply_merge(top.a, top.b, p);
      return true;
    }
    return false;
  }

  inline void dec(int32_t a, int32_t b, int64_t c) {
    uint32_t p = pair_find(a, b);
    if (p != NONE) pcnt_[p] -= c;
  }

  inline void inc(int32_t a, int32_t b, int64_t c, int32_t w) {
    uint32_t p = pair_get(a, b);
    pcnt_[p] += c;
    occ_push(p, w);
    if (!touched_flag_[p]) {
      touched_flag_[p] = 1;
      touched_.push_back(p);
    }
  }

  void apply_merge(int32_t a, int32_t b, uint32_t p) {
    std::string merged = tok_[a] + tok_[b];
    int32_t x;
    auto it = tok_id_.find(merged);
    if (it != tok_id_.end()) {
      x = it->second;
    } else {
      x = int32_t(tok_.size());
      tok_.push_back(merged);
      tok_id_.emplace(std::move(merged), x);
    }
    merges_.emplace_back(a, b);
    ++step_;
    if (p == NONE) return;
    done_[p] = 1;
    int32_t node = phead_[p];
    while (node >= 0) {
      int32_t w = ow_[node];
      int32_t next = onext_[node];
      if (mark_[w] != step_) {
        mark_[w] = step_;
        merge_word(w, a, b, x);
      }
      onext_[node] = free_;
      free_ = node;
      node = next;
    }
    phead_[p] = -1;
    plast_[p] = -1;
    pcnt_[p] = 0;
    Less less{this};
    for (uint32_t q : touched_) {
      touched_flag_[q] = 0;
      if (pcnt_[q] > 0 && !done_[q]) {
        heap_.push_back({pcnt_[q], int32_t(pkey_[q] >> 32), int32_t(uint32_t(pkey_[q]))});
        std::push_heap(heap_.begin(), heap_.end(), less);
      }
    }
    touched_.clear();
  }

  void merge_word(int32_t w, int32_t a, int32_t b, int32_t x) {
    int32_t* s = sym_.data() + woff_[w];
    int32_t n = wlen_[w];
    int64_t c = int64_t(wcnt_[w]);
    int32_t out = 0, i = 0;
    while (i < n) {
      if (i + 1 < n && s[i] == a && s[i + 1] == b) {
        if (out > 0) {
          dec(s[out - 1], a, c);
          inc(s[out - 1], x, c, w);
        }
        if (i + 2 < n) {
          dec(b, s[i + 2], c);
          inc(x, s[i + 2], c, w);
        }
        s[out++] = x;
        i += 2;
      } else {
        s[out++] = s[i++];
      }
    }
    wlen_[w] = out;
  }

  // words
  std::vector<int32_t> sym_;
  std::vector<uint64_t> woff_;
  std::vector<int32_t> wlen_;
  std::vector<uint64_t> wcnt_;
  std::vector<int32_t> mark_;
  // tokens and merges
  std::vector<std::string> tok_;
  std::unordered_map<std::string, int32_t> tok_id_;
  std::vector<std::pair<int32_t, int32_t>> merges_;
  int32_t step_ = 0;
  // pairs
  std::vector<uint64_t> pkey_;
  std::vector<int64_t> pcnt_;
  std::vector<int32_t> phead_;
  std::vector<int32_t> plast_;
  std::vector<uint8_t> done_;
  std::vector<uint8_t> touched_flag_;
  std::vector<uint32_t> touched_;
  std::vector<uint32_t> pslots_;
  uint64_t pmask_ = 0;
  // occurrence pool
  std::vector<int32_t> ow_;
  std::vector<int32_t> onext_;
  int32_t free_ = -1;
  std::vector<HeapEntry> heap_;
  // filters
  int max_words_ = 0;
  int max_chars_ = 0;
  std::vector<std::string> forbidden_;
  int64_t min_freq_ = 1;
};

std::vector<py::bytes> py_pretokenize(const std::string& preset, const std::string& numbers, py::str text) {
  if (g_cls.empty()) throw std::runtime_error("character table not set (call set_char_table first)");
  Preset p = parse_preset(preset);
  Numbers m = parse_numbers(numbers);
  Py_ssize_t n = 0;
  const char* s = PyUnicode_AsUTF8AndSize(text.ptr(), &n);
  if (!s) throw py::error_already_set();
  std::vector<py::bytes> out;
  pretokenize(p, m, reinterpret_cast<const uint8_t*>(s), size_t(n),
              [&](size_t a, size_t b) { out.emplace_back(s + a, b - a); });
  return out;
}

}  // namespace

PYBIND11_MODULE(_bpe, m) {
  m.doc() = "Compiled BPE training core: preset pre-token counting and incremental merge learning.";
  m.def(
      "set_char_table",
      [](py::bytes table) {
        std::string t(table);
        if (t.size() != 0x110000) throw std::invalid_argument("character table must have 0x110000 entries");
        g_cls.assign(t.begin(), t.end());
      },
      "Install the per-code-point class flags (L=1, N=2, whitespace=4, o200k upper=8, o200k lower=16).");
  m.def("has_char_table", []() { return !g_cls.empty(); });
  m.def("pretokenize", &py_pretokenize, py::arg("preset"), py::arg("numbers"), py::arg("text"),
        "Pre-tokens (UTF-8 bytes) of `text` under a preset and number mode.");

  py::class_<Counter>(m, "Counter")
      .def(py::init<const std::string&, const std::string&, const std::string&>(), py::arg("preset"),
           py::arg("numbers") = "", py::arg("inner") = "")
      .def("add_texts", &Counter::add_texts, "Count the pre-tokens of each text (releases the GIL).")
      .def("add_counts", &Counter::add_counts)
      .def("merge", &Counter::merge, "Add another counter's counts into this one and empty it.")
      .def("clear", &Counter::clear)
      .def_property_readonly("distinct", &Counter::distinct)
      .def_property_readonly("distinct_pretokens", &Counter::distinct_pretokens)
      .def_property_readonly("memory", &Counter::memory)
      .def_property_readonly("chunked", &Counter::chunked)
      .def("items", &Counter::items);

  py::class_<Trainer>(m, "Trainer")
      .def_static("from_counter", &Trainer::from_counter, py::return_value_policy::take_ownership,
                  "Build from a counter (which is emptied).")
      .def_static("from_words", &Trainer::from_words, py::return_value_policy::take_ownership)
      .def("set_filters", &Trainer::set_filters, py::arg("max_words"), py::arg("max_chars"), py::arg("forbidden"),
           py::arg("min_frequency"))
      .def("replay", &Trainer::replay)
      .def("step", &Trainer::step, py::arg("max_merges"), py::arg("max_tokens"))
      .def("merges", &Trainer::merges)
      .def_property_readonly("n_tokens", &Trainer::n_tokens)
      .def_property_readonly("n_merges", &Trainer::n_merges)
      .def_property_readonly("n_words", &Trainer::n_words)
      .def_property_readonly("n_pairs", &Trainer::n_pairs)
      .def_property_readonly("memory", &Trainer::memory);
}
