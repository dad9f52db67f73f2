// trainer.h: Trainer, incremental merge learning over the table of unique words.
// Part of toksmith._native._bpe; included once, by bpe.cpp (everything is internal to that one module).
#pragma once

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

#include "counter.h"
#include "hash_table.h"

namespace py = pybind11;

namespace {

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

}  // namespace
