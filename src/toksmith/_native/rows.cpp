// toksmith._native._rows: a linear layer's forward for a few rows, y = x @ W^T + b, reading W once.
//
// A draft tree's forward on a CPU multiplies every weight matrix by a few rows (1 to 8). That is bound by
// memory bandwidth: the weights are read once whatever the row count, so a few rows should cost what one
// does. PyTorch's linear (MKL) does not get there on every CPU (toksmith/lm/skinny.py has the numbers);
// this kernel does: each weight row is streamed once, from every thread, into N dot products at once.
//
// Exactly the sums of torch.nn.functional.linear in another order, so values round differently (~1e-7
// relative). Each output is summed by one thread in one fixed order, so the result does not depend on the
// thread count: same inputs, same bits. The reference is torch.nn.functional.linear (tests/lm/test_skinny.py).
//
// One kernel source in GCC's vector extension, compiled three times: 16 lanes (AVX-512), 8 (AVX2 + FMA), and
// 4 (portable, any CPU); the widest the CPU runs is taken (`isa`, checked at run time). Threads: OpenMP's.
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#ifdef _OPENMP
#include <dlfcn.h>
#include <omp.h>
#endif

#if defined(__x86_64__) || defined(_M_X64)
#define TOKSMITH_X86 1
#endif

namespace py = pybind11;

namespace {

constexpr int kMaxRows = 8;

struct Problem {
  const float* x;  // n x in, contiguous
  const float* w;  // out x in, contiguous
  const float* b;  // out, or nullptr
  float* y;        // n x out, contiguous
  int64_t n, in, out;
};

// y[r, o0:o1] for N rows, R weight rows at a time in lanes of L floats. Each L floats of a weight row are
// loaded once and multiplied into the N rows' accumulators; R weight rows at once share each load of x.
// An output's sum is the same whatever R and the range: L lane sums in order, the lanes added pairwise
// (`sum`), then the tail of the row, then the bias. So neither R nor the thread count changes a bit.
template <int L>
struct Vector {  // L floats in one register (GCC's vector extension; an alias template would drop the attribute)
  typedef float type __attribute__((vector_size(4 * L)));
};
template <int L>
using Lanes = typename Vector<L>::type;

// The lanes of an accumulator summed pairwise (halves, then quarters, ...) in registers, in the caller's
// instruction set: through memory, a lane at a time, the sums took longer than the products themselves
// with few rows (a stored vector read back in pieces stalls).
template <int L>
__attribute__((always_inline)) inline float sum(const Lanes<L>& v) {
  if constexpr (L == 1) {
    float s;
    __builtin_memcpy(&s, &v, sizeof(s));
    return s;
  } else {
    Lanes<L / 2> lo, hi;
    __builtin_memcpy(&lo, &v, sizeof(lo));
    __builtin_memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof(lo), sizeof(hi));
    const Lanes<L / 2> half = lo + hi;  // lane l + lane l + L/2
    return sum<L / 2>(half);
  }
}

template <int N, int R, int L>
__attribute__((always_inline)) inline void block(const Problem& p, int64_t o) {
  const int64_t body = p.in / L * L;
  Lanes<L> acc[R][N] = {};
  for (int64_t i = 0; i < body; i += L) {
    Lanes<L> w[R];
#pragma GCC unroll 8
    for (int q = 0; q < R; ++q) __builtin_memcpy(&w[q], p.w + (o + q) * p.in + i, sizeof(w[q]));  // unaligned load
#pragma GCC unroll 8
    for (int r = 0; r < N; ++r) {
      Lanes<L> x;
      __builtin_memcpy(&x, p.x + r * p.in + i, sizeof(x));
#pragma GCC unroll 8
      for (int q = 0; q < R; ++q) acc[q][r] += w[q] * x;  // fused to one FMA where the target has it
    }
  }
#pragma GCC unroll 8
  for (int q = 0; q < R; ++q) {  // unrolled, so the accumulators stay in registers (indexed, they were spilled)
    const float* wo = p.w + (o + q) * p.in;
#pragma GCC unroll 8
    for (int r = 0; r < N; ++r) {
      float s = sum<L>(acc[q][r]);
      const float* xr = p.x + r * p.in;
      for (int64_t i = body; i < p.in; ++i) s += wo[i] * xr[i];
      p.y[r * p.out + o + q] = s + (p.b ? p.b[o + q] : 0.0f);
    }
  }
}

// R accumulators a row for each of N rows must fit the registers (32 vector registers with AVX-512, 16
// with AVX2): up to 24 of them, and at most 8 weight rows at once.
template <int N, int L>
__attribute__((always_inline)) inline void rows(const Problem& p, int64_t o0, int64_t o1) {
  constexpr int R = std::max(1, std::min(8, (L == 16 ? 24 : 12) / N));
  int64_t o = o0;
  for (; o + R <= o1; o += R) block<N, R, L>(p, o);
  for (; o < o1; ++o) block<N, 1, L>(p, o);
}

using Kernel = void (*)(const Problem&, int64_t, int64_t);

template <int N>
void rows_portable(const Problem& p, int64_t o0, int64_t o1) {
  rows<N, 4>(p, o0, o1);
}

#ifdef TOKSMITH_X86
template <int N>
__attribute__((target("avx2,fma"))) void rows_avx2(const Problem& p, int64_t o0, int64_t o1) {
  rows<N, 8>(p, o0, o1);
}

template <int N>
__attribute__((target("avx512f,fma"))) void rows_avx512(const Problem& p, int64_t o0, int64_t o1) {
  rows<N, 16>(p, o0, o1);
}
#endif

#define TOKSMITH_KERNELS(name) {name<1>, name<2>, name<3>, name<4>, name<5>, name<6>, name<7>, name<8>}
constexpr Kernel kPortable[kMaxRows] = TOKSMITH_KERNELS(rows_portable);
#ifdef TOKSMITH_X86
constexpr Kernel kAvx2[kMaxRows] = TOKSMITH_KERNELS(rows_avx2);
constexpr Kernel kAvx512[kMaxRows] = TOKSMITH_KERNELS(rows_avx512);
#endif

// The widest kernel this CPU runs: "avx512", "avx2" or "portable" (4 lanes).
std::string isa() {
#ifdef TOKSMITH_X86
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) return "avx512";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
#endif
  return "portable";
}

const Kernel* kernels(const std::string& name) {
#ifdef TOKSMITH_X86
  if (name == "avx512") return kAvx512;
  if (name == "avx2") return kAvx2;
#endif
  return kPortable;
}

// out = x @ weight.T (+ bias). The arguments are addresses of float32 C-contiguous buffers (x: rows x
// in_features, weight: out_features x in_features, bias: out_features or 0, out: rows x out_features): a
// forward calls this ~200 times, and converting tensors to arrays cost more than the product of a small
// layer. They are not checked here; toksmith.lm.skinny checks what it passes.
void linear(uintptr_t x, uintptr_t w, uintptr_t b, uintptr_t y, int64_t rows, int64_t in, int64_t out, int threads,
            const std::string& kernel) {
  if (rows < 1 || rows > kMaxRows) throw std::invalid_argument("rows.linear: 1 to 8 rows");
  if (in < 0 || out < 0 || !x || !w || !y) throw std::invalid_argument("rows.linear: no buffer or a negative size");
  static const std::string best = isa();
  if (kernel != best && kernel != "portable" && !(kernel == "avx2" && best == "avx512"))
    throw std::invalid_argument("rows.linear: this CPU has no " + kernel + " kernel");
  const Problem p{reinterpret_cast<const float*>(x), reinterpret_cast<const float*>(w),
                  reinterpret_cast<const float*>(b), reinterpret_cast<float*>(y), rows, in, out};
  const Kernel run = kernels(kernel)[rows - 1];
  // output rows split into contiguous ranges of about equal size, at least 64 rows each, one per thread of
  // the OpenMP runtime, which is torch's own when torch was imported first (the same soname): one team of
  // threads for PyTorch's operations and these, where two teams spinning between jobs each took the other's
  // cores (a one-row SmolLM2 forward took ~2x longer with a separate pool of threads).
  const int parts = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, out / 64)));
  py::gil_scoped_release release;
  if (parts == 1) {
    run(p, 0, out);
    return;
  }
#pragma omp parallel for num_threads(parts) schedule(static)
  for (int part = 0; part < parts; ++part) run(p, out * part / parts, out * (part + 1) / parts);
}

// The file of the OpenMP runtime this module resolved to: torch's own when torch was imported first.
std::string openmp_library() {
#ifdef _OPENMP
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&omp_get_max_threads), &info) && info.dli_fname) return info.dli_fname;
#endif
  return "";
}

}  // namespace

PYBIND11_MODULE(_rows, mod) {
  mod.doc() = "A linear layer's forward for 1 to 8 rows, reading each weight once on every thread (reference: "
              "torch.nn.functional.linear)";
  mod.attr("MAX_ROWS") = kMaxRows;
  mod.def("isa", &isa, "The widest kernel this CPU runs: 'avx512', 'avx2' or 'portable'.");
  mod.def("openmp_library", &openmp_library,
          "The file of the OpenMP runtime the kernel's threads come from ('' where it was built without OpenMP).");
  mod.def("linear", &linear, py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("out"), py::arg("rows"),
          py::arg("in_features"), py::arg("out_features"), py::arg("threads"), py::arg("kernel"),
          "out = x @ weight.T (+ bias) for 1 to 8 rows, over `threads` threads; buffers by address (float32, "
          "C-contiguous, unchecked; bias 0: none)");
}
