// toksmith._native._draft: the best-first growth of a dynamic draft tree from the adjacency matrix M.
//
// Each decoding step grows up to N nodes (128 on a GPU) under the root and the suffix chain, best first
// by path probability from M (toksmith/decoding/draft.py, `_grow`, is the pure-Python reference; the
// two give the same tree, node for node). On a GPU a small model's step is bound by kernel launches, so
// this host work adds to every step (benchmarks/draft_speed.py: 0.53 ms a 128-node tree in Python, 0.25 here).
//
// M's rows: the dense table and probs (one row per token), and for order 2 / 3 the dicts of pair /
// triple rows keyed by (prev * V + token) and ((prev2 * V + prev) * V + token), as AdjacencyMatrix
// holds them. A node's row is looked up by its token and the two tokens before it (its parent's and
// grandparent's; above the root, prev and prev2), exactly as `AdjacencyMatrix.successors_probs`.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <map>
#include <queue>
#include <stdexcept>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace {

struct Row {
  std::vector<int64_t> succ;
  std::vector<double> prob;  // the stored float32 probabilities, widened exactly (as Python's float())
};

struct Candidate {
  double score;
  int64_t seq;
  int64_t node;
  int64_t rank;
  bool operator<(const Candidate& o) const {  // priority_queue pops the largest: best score, then first queued
    if (score != o.score) return score < o.score;
    return seq > o.seq;
  }
};

class Matrix {
 public:
  Matrix(py::array_t<int64_t, py::array::c_style> table, py::array_t<float, py::array::c_style> probs, int order,
         py::dict pairs, py::dict pair_probs, py::dict triples, py::dict triple_probs)
      : table_(std::move(table)), probs_(std::move(probs)), order_(order), pairs_(std::move(pairs)),
        pair_probs_(std::move(pair_probs)), triples_(std::move(triples)), triple_probs_(std::move(triple_probs)) {
    if (table_.ndim() != 2 || probs_.ndim() != 2 || table_.shape(0) != probs_.shape(0) ||
        table_.shape(1) != probs_.shape(1))
      throw std::invalid_argument("grow: M's table and probabilities disagree in shape");
    vocab_ = table_.shape(0);
    k_ = table_.shape(1);
  }

  Row row(int64_t token, int64_t prev, int64_t prev2) const {
    if (token < 0 || token >= vocab_) throw std::out_of_range("grow: token outside M's vocabulary");
    if (prev >= 0) {
      if (prev2 >= 0 && order_ == 3 && py::len(triples_)) {
        Row r;
        if (lookup(triples_, triple_probs_, (prev2 * vocab_ + prev) * vocab_ + token, r)) return r;
      }
      if (order_ >= 2 && py::len(pairs_)) {
        Row r;
        if (lookup(pairs_, pair_probs_, prev * vocab_ + token, r)) return r;
      }
    }
    Row r;
    const int64_t* s = table_.data(token, 0);
    const float* p = probs_.data(token, 0);
    r.succ.assign(s, s + k_);
    r.prob.assign(p, p + k_);
    return r;
  }

 private:
  static bool lookup(const py::dict& rows, const py::dict& probs, int64_t key, Row& out) {
    py::int_ k(key);
    PyObject* hit = PyDict_GetItem(rows.ptr(), k.ptr());  // borrowed; nullptr when absent
    if (hit == nullptr) return false;
    auto succ = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(hit);
    if (!succ) throw py::error_already_set();
    auto prob = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(probs[k]);
    if (!prob) throw py::error_already_set();
    if (prob.size() < succ.size()) throw std::invalid_argument("grow: a row of M has fewer probabilities than successors");
    out.succ.assign(succ.data(), succ.data() + succ.size());
    out.prob.assign(prob.data(), prob.data() + prob.size());
    return true;
  }

  py::array_t<int64_t, py::array::c_style> table_;
  py::array_t<float, py::array::c_style> probs_;
  int order_;
  py::dict pairs_, pair_probs_, triples_, triple_probs_;
  int64_t vocab_ = 0, k_ = 0;
};

// Grow `budget` new nodes under the seeds; returns (tokens, parents, sources, scores) of the whole tree.
// The tree comes in as parallel lists (node 0 the root, parents before children); seed_nodes and
// seed_scores in the order their first candidates are queued.
py::tuple grow(std::vector<int64_t> tokens, std::vector<int64_t> parents, std::vector<int64_t> sources,
               std::vector<double> scores, const std::vector<int64_t>& seed_nodes,
               const std::vector<double>& seed_scores, int64_t budget, int64_t prev, int64_t prev2,
               int64_t recycle_source, const Matrix& m) {
  const size_t n0 = tokens.size();
  if (n0 == 0 || parents.size() != n0 || sources.size() != n0 || scores.size() != n0)
    throw std::invalid_argument("grow: the tree's lists disagree in length");
  if (seed_nodes.size() != seed_scores.size()) throw std::invalid_argument("grow: seeds and scores disagree");
  std::vector<std::unordered_map<int64_t, int64_t>> children(n0);
  for (size_t i = 1; i < n0; ++i) {
    if (parents[i] < 0 || parents[i] >= static_cast<int64_t>(i)) throw std::invalid_argument("grow: parents before children");
    children[parents[i]][tokens[i]] = static_cast<int64_t>(i);
  }
  std::vector<Row> rows(n0);
  std::vector<bool> has_row(n0, false);
  std::vector<double> base(n0, -1.0);  // -1: not a seed or grown node yet
  std::map<std::pair<int64_t, int64_t>, double> offered;
  std::priority_queue<Candidate> heap;
  int64_t seq = 0;

  auto context = [&](int64_t node) -> std::pair<int64_t, int64_t> {
    int64_t up = parents[node];
    if (up < 0) return {prev, prev2};
    int64_t upup = parents[up];
    return {tokens[up], upup >= 0 ? tokens[upup] : prev};
  };
  auto offer = [&](int64_t node, int64_t rank) {
    if (!has_row[node]) {
      auto [a, b] = context(node);
      rows[node] = m.row(tokens[node], a, b);
      has_row[node] = true;
    }
    const Row& row = rows[node];
    if (rank < static_cast<int64_t>(row.succ.size())) {
      double score = base[node] * row.prob[rank];
      auto key = std::make_pair(node, rank);
      auto it = offered.find(key);
      if (it == offered.end() || score > it->second) {
        offered[key] = score;
        heap.push({score, seq++, node, rank});
      }
    }
  };

  for (size_t i = 0; i < seed_nodes.size(); ++i) {
    int64_t s = seed_nodes[i];
    if (s < 0 || s >= static_cast<int64_t>(n0)) throw std::invalid_argument("grow: a seed outside the tree");
    base[s] = seed_scores[i];
  }
  for (int64_t s : seed_nodes) offer(s, 0);
  int64_t added = 0;
  while (!heap.empty() && added < budget) {
    Candidate c = heap.top();
    heap.pop();
    if (c.score < offered[{c.node, c.rank}]) continue;  // stale: offered again with a higher score
    int64_t token = rows[c.node].succ[c.rank];
    int64_t node;
    auto hit = children[c.node].find(token);
    if (hit != children[c.node].end()) {
      node = hit->second;
      sources[node] |= recycle_source;
    } else {
      node = static_cast<int64_t>(tokens.size());
      tokens.push_back(token);
      parents.push_back(c.node);
      sources.push_back(recycle_source);
      scores.push_back(0.0);
      children.emplace_back();
      rows.emplace_back();
      has_row.push_back(false);
      base.push_back(-1.0);
      children[c.node][token] = node;
      ++added;
    }
    offer(c.node, c.rank + 1);
    if (c.score > base[node]) {
      base[node] = scores[node] = c.score;
      offer(node, 0);
    }
  }
  return py::make_tuple(tokens, parents, sources, scores);
}

}  // namespace

PYBIND11_MODULE(_draft, mod) {
  mod.doc() = "Best-first growth of dynamic draft trees from the adjacency matrix (reference: decoding/draft.py)";
  py::class_<Matrix>(mod, "Matrix")
      .def(py::init<py::array_t<int64_t, py::array::c_style>, py::array_t<float, py::array::c_style>, int, py::dict,
                    py::dict, py::dict, py::dict>(),
           py::arg("table"), py::arg("probs"), py::arg("order"), py::arg("pairs"), py::arg("pair_probs"),
           py::arg("triples"), py::arg("triple_probs"));
  mod.def("grow", &grow, py::arg("tokens"), py::arg("parents"), py::arg("sources"), py::arg("scores"),
          py::arg("seed_nodes"), py::arg("seed_scores"), py::arg("budget"), py::arg("prev"), py::arg("prev2"),
          py::arg("recycle_source"), py::arg("m"));
}
