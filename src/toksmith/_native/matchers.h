// matchers.h: character classes, the preset pre-tokenizer matchers and the number-mode split.
// Part of toksmith._native._bpe; included once, by bpe.cpp (everything is internal to that one module).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

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

}  // namespace
