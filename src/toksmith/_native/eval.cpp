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
//   * word_spans: UAX #29 words from per-character property bytes (reference: words._spans_numpy)
// The first two read plain arrays and release the GIL, so the encoder thread keeps running beside them.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

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

// UAX #29 words of a text given its property bytes (Word_Break class in bits 0-4, then the bits `pict`,
// `alnum`, `efz`): the rules WB3-WB16 as toksmith/evaluate/words.py applies them in numpy (its `_spans`
// is the reference). `pairs` (K x K) says for a class pair 0 break, 1 no break, 2 depends on the
// neighbours, 3 regional-indicator pair; `flags` (K) marks each class's role in the neighbour rules.
enum : uint16_t { F_AHL = 1, F_MIDLET = 2, F_MIDNUM = 4, F_NEWLINE = 8, F_HEBREW = 16, F_DQ = 32,
                  F_NUMERIC = 64, F_WSEG = 128, F_RI = 256, F_ZWJ = 512 };

py::tuple word_spans(Arr<uint8_t> props, Arr<uint8_t> pairs, Arr<uint16_t> flags, int pict, int alnum, int efz) {
  const int64_t n = props.size(), K = flags.size();
  if (pairs.size() != K * K) throw std::invalid_argument("word_spans: pair table must be K x K");
  const uint8_t *p = props.data(), *pt = pairs.data();
  const uint16_t* fl = flags.data();
  std::vector<int64_t> starts, ends;
  {
    py::gil_scoped_release release;
    // WB4: Extend/Format/ZWJ attach to what precedes them, except right after sot or a newline: the
    // skeleton keeps every other character (and those), and the pair rules read skeleton neighbours.
    // (Without Extend/Format/ZWJ, the common case, the skeleton is every character and is not built.)
    bool any_efz = false;
    for (int64_t j = 0; j < n && !any_efz; ++j) any_efz = p[j] & efz;
    std::vector<int64_t> skel;
    if (any_efz) {
      skel.reserve(size_t(n));
      for (int64_t j = 0; j < n; ++j)
        if (!(p[j] & efz) || j == 0 || (fl[p[j - 1] & 31] & F_NEWLINE)) skel.push_back(j);
    }
    const int64_t m = any_efz ? int64_t(skel.size()) : n;
    auto at = [&](int64_t k) -> int64_t { return any_efz ? skel[size_t(k)] : k; };
    auto cls = [&](int64_t k) -> int { return (k < 0 || k >= m) ? 0 : (p[at(k)] & 31); };
    auto has = [&](int c, uint16_t f) -> bool { return fl[c] & f; };
    std::vector<uint8_t> boundary(size_t(n) + 1, 0);
    boundary[0] = boundary[size_t(n)] = 1;
    int64_t ri_run = 0;  // regional indicators so far in the current run (skeleton order)
    std::vector<int64_t> special;  // without Extend/Format/ZWJ: the pairs the table alone does not decide
    if (!any_efz) {
      for (int64_t j = 1; j < n; ++j) {
        const uint8_t code = pt[(p[j - 1] & 31) * K + (p[j] & 31)];
        boundary[size_t(j)] = code == 0;
        if (code >= 2) special.push_back(j);
      }
    }
    const size_t visits = any_efz ? size_t(m) : special.size();
    for (size_t v = 0; v < visits; ++v) {
      const int64_t k = any_efz ? int64_t(v) : special[v];
      const int R = cls(k);
      if (any_efz) {
        ri_run = has(R, F_RI) ? ri_run + 1 : 0;
      } else {  // the regional indicators ending at k (runs are short)
        ri_run = 0;
        for (int64_t i = k; i >= 0 && has(cls(i), F_RI); --i) ++ri_run;
      }
      if (k == 0) continue;
      const int L = cls(k - 1);
      const uint8_t code = pt[L * K + R];
      bool nobreak = code == 1;
      if (code == 2) {
        const int LL = cls(k - 2), RR = cls(k + 1);
        const bool adjacent = at(k) - at(k - 1) == 1;
        nobreak = (has(L, F_WSEG) && has(R, F_WSEG) && adjacent)                       // WB3d
                  || (has(L, F_AHL) && has(R, F_MIDLET) && has(RR, F_AHL))             // WB6
                  || (has(LL, F_AHL) && has(L, F_MIDLET) && has(R, F_AHL))             // WB7
                  || (has(L, F_HEBREW) && has(R, F_DQ) && has(RR, F_HEBREW))           // WB7b
                  || (has(LL, F_HEBREW) && has(L, F_DQ) && has(R, F_HEBREW))           // WB7c
                  || (has(LL, F_NUMERIC) && has(L, F_MIDNUM) && has(R, F_NUMERIC))     // WB11
                  || (has(L, F_NUMERIC) && has(R, F_MIDNUM) && has(RR, F_NUMERIC));    // WB12
      } else if (code == 3) {
        nobreak = ri_run % 2 == 0;  // WB15/16: regional indicators pair up from the start of the run
      }
      const int64_t j = at(k);
      if (any_efz && (fl[p[j - 1] & 31] & F_ZWJ) && (p[j] & pict)) nobreak = true;  // WB3c
      boundary[size_t(j)] = !nobreak;
    }
    // words: segments between boundaries that hold a letter or a number
    int64_t a = 0;
    bool word = false;
    for (int64_t j = 0; j < n; ++j) {
      if (j > a && boundary[size_t(j)]) {
        if (word) {
          starts.push_back(a);
          ends.push_back(j);
        }
        a = j;
        word = false;
      }
      word |= bool(p[j] & alnum);
    }
    if (n > 0 && word) {
      starts.push_back(a);
      ends.push_back(n);
    }
  }
  py::array_t<int64_t> s(int64_t(starts.size())), e(int64_t(ends.size()));
  std::copy(starts.begin(), starts.end(), s.mutable_data());
  std::copy(ends.begin(), ends.end(), e.mutable_data());
  return py::make_tuple(s, e);
}

}  // namespace

PYBIND11_MODULE(_eval, m) {
  m.doc() = "Compiled per-batch reductions of the streamed evaluation pass (round trip, span overlaps).";
  m.def("round_trip", &round_trip, py::arg("ids"), py::arg("doc_tok"), py::arg("start"), py::arg("length"),
        py::arg("buf"), py::arg("text"), py::arg("doc_start"), py::arg("doc_bytes"), py::arg("strip_space"),
        "Per document: its tokens' bytes end to end equal its UTF-8 bytes (releases the GIL).");
  m.def("word_spans", &word_spans, py::arg("props"), py::arg("pairs"), py::arg("flags"), py::arg("pict"),
        py::arg("alnum"), py::arg("efz"), "UAX #29 word (start, end) offsets from property bytes (releases the GIL).");
  m.def("flatten_ids", &flatten_ids, py::arg("lists"),
        "(int32 ids end to end, int64 offsets) of a list of lists of ids, as encode_batch returns them.");
  m.def("count_overlaps", &count_overlaps, py::arg("ts"), py::arg("te"), py::arg("starts"), py::arg("ends"),
        "Per span [start, end): the tokens [ts, te) overlapping it; ts and te sorted (releases the GIL).");
}
