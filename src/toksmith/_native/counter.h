// counter.h: Counter, distinct pre-tokens (or SuperBPE chunks) of streamed text.
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

#include "hash_table.h"
#include "matchers.h"

namespace py = pybind11;

namespace {

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

}  // namespace
