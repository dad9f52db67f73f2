// toksmith._native._eval: the compiled per-batch reductions of the streamed evaluation pass.
//
// The streamed pass (toksmith/evaluate/stream.py) reduces every encoded batch to per-document sums.
// Two of its steps walk every token or every byte and cost more in numpy than the reduction is worth:
//   * round_trip: does each document's token bytes, end to end, equal the document's UTF-8 bytes?
//     (numpy reference: Encoded._round_trip_numpy in toksmith/evaluate/encoded.py)
//   * count_overlaps: how many tokens overlap each byte span [start, end) (a word, a digit run)?
//     (numpy reference: two searchsorted calls, Encoded._tokens_in_numpy)
//   * flatten_ids: an encode_batch result (lists of ids) as one int32 array and offsets
//     (reference: encoded._flatten_numpy)
// The first two read plain arrays and release the GIL, so the encoder thread keeps running beside them.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace py = pybind11;

namespace {

template <typename T>
using Arr = py::array_t<T, py::array::c_style | py::array::forcecast>;

// Documents whose tokens spell exactly their bytes. The id i decodes to buf[start[i], start[i] + length[i]);
// with strip_space (a SentencePiece dummy prefix), the first token of a document loses a leading space.
// text holds the documents end to end, document d at [doc_start[d], doc_start[d] + doc_bytes[d]).
py::array_t<bool> round_trip(Arr<int32_t> ids, Arr<int64_t> doc_tok, Arr<int64_t> start, Arr<int64_t> length,
                             Arr<uint8_t> buf, Arr<uint8_t> text, Arr<int64_t> doc_start, Arr<int64_t> doc_bytes,
                             bool strip_space) {
  const int64_t n = doc_bytes.size();
  if (doc_tok.size() != n + 1 || doc_start.size() != n) throw std::invalid_argument("round_trip: document arrays disagree");
  if (start.size() != length.size()) throw std::invalid_argument("round_trip: vocabulary arrays disagree");
  const int64_t V = start.size(), T = ids.size(), B = buf.size(), N = text.size();
  const int32_t* id = ids.data();
  const int64_t *dt = doc_tok.data(), *st = start.data(), *ln = length.data();
  const int64_t *ds = doc_start.data(), *db = doc_bytes.data();
  const uint8_t *bf = buf.data(), *tx = text.data();
  py::array_t<bool> out(n);
  bool* ok = out.mutable_data();
  {
    py::gil_scoped_release release;
    for (int64_t d = 0; d < n; ++d) {
      bool good = dt[d] <= dt[d + 1] && dt[d + 1] <= T && ds[d] >= 0 && ds[d] + db[d] <= N;
      int64_t pos = good ? ds[d] : 0;
      const int64_t end = good ? ds[d] + db[d] : 0;
      for (int64_t k = good ? dt[d] : 0; good && k < dt[d + 1]; ++k) {
        const int64_t t = id[k];
        if (t < 0 || t >= V || st[t] < 0 || st[t] + ln[t] > B) {
          good = false;
          break;
        }
        int64_t a = st[t], len = ln[t];
        if (strip_space && k == dt[d] && len > 0 && bf[a] == 0x20) {
          ++a;
          --len;
        }
        if (len > end - pos || std::memcmp(bf + a, tx + pos, size_t(len)) != 0) {
          good = false;
          break;
        }
        pos += len;
      }
      ok[d] = good && pos == end;
    }
  }
  return out;
}

// Tokens overlapping each span: #(token starts < end) - #(token ends <= start). ts and te are sorted (tokens
// in text order); spans sorted by start and by end are answered in one merge, others by binary search.
py::array_t<int64_t> count_overlaps(Arr<int64_t> ts, Arr<int64_t> te, Arr<int64_t> starts, Arr<int64_t> ends) {
  const int64_t m = ts.size(), n = starts.size();
  if (te.size() != m || ends.size() != n) throw std::invalid_argument("count_overlaps: array lengths disagree");
  const int64_t *a = ts.data(), *b = te.data(), *s = starts.data(), *e = ends.data();
  py::array_t<int64_t> out(n);
  int64_t* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    int64_t i = 0, j = 0;  // i: tokens starting before e[k]; j: tokens ending at or before s[k]
    for (int64_t k = 0; k < n; ++k) {
      if (k == 0 || e[k] < e[k - 1]) {
        i = std::lower_bound(a, a + m, e[k]) - a;
      } else {
        while (i < m && a[i] < e[k]) ++i;
      }
      if (k == 0 || s[k] < s[k - 1]) {
        j = std::upper_bound(b, b + m, s[k]) - b;
      } else {
        while (j < m && b[j] <= s[k]) ++j;
      }
      o[k] = i - j;
    }
  }
  return out;
}

// The ids of an encode_batch result (a list of lists of ints) end to end, and each list's offset: what
// numpy's fromiter over chain.from_iterable does, without an iterator step per id.
py::tuple flatten_ids(py::list lists) {
  const Py_ssize_t n = PyList_GET_SIZE(lists.ptr());
  py::array_t<int64_t> offsets(n + 1);
  int64_t* off = offsets.mutable_data();
  off[0] = 0;
  for (Py_ssize_t d = 0; d < n; ++d) {
    PyObject* item = PyList_GET_ITEM(lists.ptr(), d);
    if (!PyList_Check(item)) throw std::invalid_argument("flatten_ids: every item must be a list of ints");
    off[d + 1] = off[d] + PyList_GET_SIZE(item);
  }
  py::array_t<int32_t> ids(off[n]);
  int32_t* out = ids.mutable_data();
  for (Py_ssize_t d = 0; d < n; ++d) {
    PyObject* item = PyList_GET_ITEM(lists.ptr(), d);
    const Py_ssize_t k = PyList_GET_SIZE(item);
    for (Py_ssize_t i = 0; i < k; ++i) {
      const long v = PyLong_AsLong(PyList_GET_ITEM(item, i));
      if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
      if (v < INT32_MIN || v > INT32_MAX) throw std::overflow_error("flatten_ids: id out of int32 range");
      *out++ = int32_t(v);
    }
  }
  return py::make_tuple(ids, offsets);
}

}  // namespace

PYBIND11_MODULE(_eval, m) {
  m.doc() = "Compiled per-batch reductions of the streamed evaluation pass (round trip, span overlaps).";
  m.def("round_trip", &round_trip, py::arg("ids"), py::arg("doc_tok"), py::arg("start"), py::arg("length"),
        py::arg("buf"), py::arg("text"), py::arg("doc_start"), py::arg("doc_bytes"), py::arg("strip_space"),
        "Per document: its tokens' bytes end to end equal its UTF-8 bytes (releases the GIL).");
  m.def("flatten_ids", &flatten_ids, py::arg("lists"),
        "(int32 ids end to end, int64 offsets) of a list of lists of ids, as encode_batch returns them.");
  m.def("count_overlaps", &count_overlaps, py::arg("ts"), py::arg("te"), py::arg("starts"), py::arg("ends"),
        "Per span [start, end): the tokens [ts, te) overlapping it; ts and te sorted (releases the GIL).");
}
