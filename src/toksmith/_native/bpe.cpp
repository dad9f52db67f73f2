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
//
// Layout: hash_table.h (hashing, the byte-string table), matchers.h (character classes and preset
// matchers), counter.h (Counter), trainer.h (Trainer); this file holds the Python bindings.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "counter.h"
#include "matchers.h"
#include "trainer.h"

namespace py = pybind11;

namespace {

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
