// GEMM driver: the five loops of BLIS around one register-blocked micro-kernel per ISA.
//
//   loop 5 (jc, NC)  columns of C and B      a KC x NC block of B is packed once, stays in L3
//   loop 4 (pc, KC)  the reduction k         rank-KC updates; C accumulates across them in order
//   loop 3 (ic, MC)  rows of C and A         an MC x KC block of A is packed, stays in L2
//   loop 2 (jr, NR)  one micro-panel of B    KC x NR, stays in L1 while loop 1 sweeps A
//   loop 1 (ir, MR)  one micro-sliver of A   the micro-kernel: an MR x NR tile of C in registers
//
// Packing copies op(A) into MR-row slivers (column by column) and op(B) into NR-column panels
// (row by row), zero-padded at the edges, so the micro-kernel reads both with unit stride
// whatever the transposes. For small products the unpacked path skips packing: the micro-kernel
// reads A in place through (row stride, column stride), and B in place when it is not transposed.
//
// Threads split C into parts along n or m (whole micro-tiles), each part run by one task with
// its own packing buffers; k is never split and the k-blocks depend on k alone, so every C
// element is the same chain of multiply-adds for any thread count.
#include <algorithm>
#include <cstring>
#include <utility>

#include "core/gemm/activation_math.h"
#include "core/gemm/gemm.h"
#include "core/gemm/kernels.h"
#include "core/util/thread_pool.h"

namespace mlpstream {

void apply_epilogue_row(const Epilogue& epilogue, int row, int col0, float* c, int n) {
  switch (epilogue.kind) {
    case Epilogue::Kind::kNone: return;
    case Epilogue::Kind::kBiasActivation:
      for (int j = 0; j < n; ++j) {
        const float z = epilogue.bias != nullptr ? c[j] + epilogue.bias[col0 + j] : c[j];
        c[j] = scalar::activate(epilogue.activation, z);
      }
      return;
    case Epilogue::Kind::kActivationGrad: {
      const float* y = epilogue.act_output + static_cast<std::ptrdiff_t>(row) * epilogue.ld_act_output + col0;
      for (int j = 0; j < n; ++j) c[j] *= scalar::derivative_from_output(epilogue.activation, y[j]);
      return;
    }
  }
}

namespace {

// The plain loop for tiny products (see kGemmTinyMacs): one dot product per element, then the
// epilogue through the table's vector kernels (a scalar tanh or exp per element would cost
// more than the product).
void gemm_tiny(const KernelTable& kernels, bool ta, bool tb, int m, int n, int k, float alpha, const float* a,
               int lda, const float* b, int ldb, float beta, float* c, int ldc, const Epilogue& epilogue) {
  const std::ptrdiff_t a_row = ta ? 1 : lda;
  const std::ptrdiff_t a_col = ta ? lda : 1;
  const std::ptrdiff_t b_row = tb ? ldb : 1;
  const std::ptrdiff_t b_col = tb ? 1 : ldb;
  for (int i = 0; i < m; ++i) {
    float* ci = c + static_cast<std::ptrdiff_t>(i) * ldc;
    const float* ai = a + i * a_row;
    for (int j = 0; j < n; ++j) {
      const float* bj = b + j * b_row;
      float acc = 0.0f;
      for (int p = 0; p < k; ++p) acc += ai[p * a_col] * bj[p * b_col];
      ci[j] = beta == 0.0f ? alpha * acc : alpha * acc + beta * ci[j];
    }
    if (epilogue.kind == Epilogue::Kind::kBiasActivation && epilogue.bias != nullptr) {
      for (int j = 0; j < n; ++j) ci[j] += epilogue.bias[j];
    }
  }
  // One vector call over the whole block when it is contiguous (the tails of many 4-wide rows
  // cost more than the arithmetic).
  const bool whole = ldc == n && (epilogue.kind != Epilogue::Kind::kActivationGrad || epilogue.ld_act_output == n);
  const int rows = whole ? 1 : m;
  const std::size_t width = whole ? static_cast<std::size_t>(m) * static_cast<std::size_t>(n) : static_cast<std::size_t>(n);
  for (int i = 0; i < rows; ++i) {
    float* ci = c + static_cast<std::ptrdiff_t>(i) * ldc;
    switch (epilogue.kind) {
      case Epilogue::Kind::kNone: break;
      case Epilogue::Kind::kBiasActivation: kernels.activation_forward(epilogue.activation, ci, ci, width); break;
      case Epilogue::Kind::kActivationGrad:
        kernels.activation_backward(epilogue.activation,
                                    epilogue.act_output + static_cast<std::ptrdiff_t>(i) * epilogue.ld_act_output, ci, ci,
                                    width);
        break;
    }
  }
}

}  // namespace

void GemmWorkspace::reserve(int slots) {
  if (slots <= this->slots()) return;
  const std::size_t a_floats = gemm_packed_a_floats();
  const std::size_t b_floats = gemm_packed_b_floats();
  while (this->slots() < slots) {
    a_.emplace_back(a_floats);
    b_.emplace_back(b_floats);
  }
  ++allocations_;
}

namespace {

using Index = std::ptrdiff_t;

struct Problem {
  GemmUkernel ukernel;
  GemmBlocking blk;
  bool ta, tb;
  int m, n, k;
  float alpha, beta;
  const float* a;
  Index lda;
  const float* b;
  Index ldb;
  float* c;
  Index ldc;
  const Epilogue* epilogue;
  bool pack_a, pack_b;
  bool transpose_c;  // the problem is C^T = op(B)^T op(A)^T: m, n, a, b swapped; tiles stored transposed
  int kblocks;  // ceil(k / KC), at least 1
  int kc;       // balanced block depth: ceil(k / kblocks)
};

// dst[p*W + r] = src[r*ld + p] for r < rows (<= W), p < kc; zero for rows <= r < W. The
// transposing copy behind both packers, in 4 x 4 blocks of generic 16-byte vectors (SSE on
// x86-64, NEON on arm64).
typedef float V4 __attribute__((vector_size(16)));

inline V4 load4(const float* p) {
  V4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void store4(float* p, V4 v) { std::memcpy(p, &v, sizeof(v)); }

template <int W>
void pack_transposed(const float* src, Index ld, int rows, int kc, float* dst) {
  int r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* s0 = src + static_cast<Index>(r) * ld;
    const float* s1 = s0 + ld;
    const float* s2 = s1 + ld;
    const float* s3 = s2 + ld;
    int p = 0;
    for (; p + 4 <= kc; p += 4) {
      const V4 a = load4(s0 + p), b = load4(s1 + p), c = load4(s2 + p), d = load4(s3 + p);
      const V4 ab_lo = __builtin_shufflevector(a, b, 0, 4, 1, 5), ab_hi = __builtin_shufflevector(a, b, 2, 6, 3, 7);
      const V4 cd_lo = __builtin_shufflevector(c, d, 0, 4, 1, 5), cd_hi = __builtin_shufflevector(c, d, 2, 6, 3, 7);
      float* o = dst + static_cast<Index>(p) * W + r;
      store4(o, __builtin_shufflevector(ab_lo, cd_lo, 0, 1, 4, 5));
      store4(o + W, __builtin_shufflevector(ab_lo, cd_lo, 2, 3, 6, 7));
      store4(o + 2 * W, __builtin_shufflevector(ab_hi, cd_hi, 0, 1, 4, 5));
      store4(o + 3 * W, __builtin_shufflevector(ab_hi, cd_hi, 2, 3, 6, 7));
    }
    for (; p < kc; ++p) {
      float* o = dst + static_cast<Index>(p) * W + r;
      o[0] = s0[p];
      o[1] = s1[p];
      o[2] = s2[p];
      o[3] = s3[p];
    }
  }
  for (; r < rows; ++r) {
    const float* s = src + static_cast<Index>(r) * ld;
    for (int p = 0; p < kc; ++p) dst[static_cast<Index>(p) * W + r] = s[p];
  }
  for (; r < W; ++r) {
    for (int p = 0; p < kc; ++p) dst[static_cast<Index>(p) * W + r] = 0.0f;
  }
}

// dst[p*W + r] = src[p*ld + r] for r < cols (<= W), p < kc; zero for cols <= r < W.
template <int W>
void pack_copy(const float* src, Index ld, int cols, int kc, float* dst) {
  if (cols == W) {
    for (int p = 0; p < kc; ++p) std::memcpy(dst + static_cast<Index>(p) * W, src + p * ld, sizeof(float) * W);
    return;
  }
  for (int p = 0; p < kc; ++p) {
    float* o = dst + static_cast<Index>(p) * W;
    std::memcpy(o, src + p * ld, sizeof(float) * static_cast<std::size_t>(cols));
    for (int r = cols; r < W; ++r) o[r] = 0.0f;
  }
}

// op(A)[i0 .. i0+mc) x [p0 .. p0+kc) into MR-row slivers: sliver s, column p, row r at
// dst[s*MR*kc + p*MR + r]; rows past the edge are zero.
template <int MR>
void pack_a_fixed(const Problem& P, int i0, int mc, int p0, int kc, float* dst) {
  for (int s = 0; s < mc; s += MR) {
    const int rows = std::min(MR, mc - s);
    float* d = dst + static_cast<Index>(s) * kc;
    if (P.ta) {  // A stored k x m: each column of the sliver is contiguous
      pack_copy<MR>(P.a + static_cast<Index>(p0) * P.lda + i0 + s, P.lda, rows, kc, d);
    } else {  // A stored m x k
      pack_transposed<MR>(P.a + static_cast<Index>(i0 + s) * P.lda + p0, P.lda, rows, kc, d);
    }
  }
}

// op(B)[p0 .. p0+kc) x [j0 .. j0+nc) into NR-column panels: panel q, row p, column j at
// dst[q*NR*kc + p*NR + j]; columns past the edge are zero.
template <int NR>
void pack_b_fixed(const Problem& P, int p0, int kc, int j0, int nc, float* dst) {
  for (int q = 0; q < nc; q += NR) {
    const int cols = std::min(NR, nc - q);
    float* d = dst + static_cast<Index>(q) * kc;
    if (!P.tb) {  // B stored k x n: rows of the panel are contiguous
      pack_copy<NR>(P.b + static_cast<Index>(p0) * P.ldb + j0 + q, P.ldb, cols, kc, d);
    } else {  // B stored n x k
      pack_transposed<NR>(P.b + static_cast<Index>(j0 + q) * P.ldb + p0, P.ldb, cols, kc, d);
    }
  }
}

// Any other micro-tile shape (a new table): the same layouts with scalar loops.
void pack_generic(const float* src, Index rs, Index cs, int lines, int width, int kc, float* dst) {
  // dst[p*width + r] = src[r*rs + p*cs] for r < lines, zero up to width.
  for (int p = 0; p < kc; ++p) {
    for (int r = 0; r < width; ++r) {
      dst[static_cast<Index>(p) * width + r] = r < lines ? src[r * rs + p * cs] : 0.0f;
    }
  }
}

void pack_a(const Problem& P, int i0, int mc, int p0, int kc, float* dst) {
  switch (P.blk.mr) {
    case 4: return pack_a_fixed<4>(P, i0, mc, p0, kc, dst);
    case 6: return pack_a_fixed<6>(P, i0, mc, p0, kc, dst);
    case 12: return pack_a_fixed<12>(P, i0, mc, p0, kc, dst);
    default: break;
  }
  const int MR = P.blk.mr;
  for (int s = 0; s < mc; s += MR) {
    const float* src = P.ta ? P.a + static_cast<Index>(p0) * P.lda + i0 + s : P.a + static_cast<Index>(i0 + s) * P.lda + p0;
    pack_generic(src, P.ta ? 1 : P.lda, P.ta ? P.lda : 1, std::min(MR, mc - s), MR, kc, dst + static_cast<Index>(s) * kc);
  }
}

void pack_b(const Problem& P, int p0, int kc, int j0, int nc, float* dst) {
  switch (P.blk.nr) {
    case 8: return pack_b_fixed<8>(P, p0, kc, j0, nc, dst);
    case 16: return pack_b_fixed<16>(P, p0, kc, j0, nc, dst);
    case 32: return pack_b_fixed<32>(P, p0, kc, j0, nc, dst);
    default: break;
  }
  const int NR = P.blk.nr;
  for (int q = 0; q < nc; q += NR) {
    const float* src = P.tb ? P.b + static_cast<Index>(j0 + q) * P.ldb + p0 : P.b + static_cast<Index>(p0) * P.ldb + j0 + q;
    pack_generic(src, P.tb ? P.ldb : 1, P.tb ? 1 : P.ldb, std::min(NR, nc - q), NR, kc, dst + static_cast<Index>(q) * kc);
  }
}

// One part of C: rows [m0, m1), columns [n0, n1), with one slot's packing buffers.
void run_part(const Problem& P, int m0, int m1, int n0, int n1, float* abuf, float* bbuf) {
  const int MR = P.blk.mr, NR = P.blk.nr, MC = P.blk.mc, NC = P.blk.nc;
  const Epilogue& ep = *P.epilogue;
  for (int jc = n0; jc < n1; jc += NC) {  // loop 5
    const int nc = std::min(NC, n1 - jc);
    for (int kb = 0; kb < P.kblocks; ++kb) {  // loop 4
      const int p0 = kb * P.kc;
      const int kc = std::max(0, std::min(P.kc, P.k - p0));
      GemmTileArgs args;
      args.alpha = P.alpha;
      args.beta = kb == 0 ? P.beta : 1.0f;
      const bool last = kb == P.kblocks - 1;
      args.epilogue = last ? ep.kind : Epilogue::Kind::kNone;
      args.activation = ep.activation;
      args.ld_act = ep.ld_act_output;
      args.transpose_c = P.transpose_c;
      args.b_padded = P.pack_b;
      args.a_packed = P.pack_a;
      if (P.pack_b) pack_b(P, p0, kc, jc, nc, bbuf);
      for (int ic = m0; ic < m1; ic += MC) {  // loop 3
        const int mc = std::min(MC, m1 - ic);
        if (P.pack_a) pack_a(P, ic, mc, p0, kc, abuf);
        for (int jr = 0; jr < nc; jr += NR) {  // loop 2
          const int nr = std::min(NR, nc - jr);
          const int col = jc + jr;
          const float* bp;
          Index rs_b;
          if (P.pack_b) {
            bp = bbuf + static_cast<Index>(jr) * kc;
            rs_b = NR;
          } else {
            bp = P.b + static_cast<Index>(p0) * P.ldb + col;
            rs_b = P.ldb;
          }
          args.bias = nullptr;
          if (last && ep.kind == Epilogue::Kind::kBiasActivation && ep.bias != nullptr) {
            args.bias = P.transpose_c ? ep.bias : ep.bias + col;  // transposed: offset by row below
          }
          for (int ir = 0; ir < mc; ir += MR) {  // loop 1
            const int mr = std::min(MR, mc - ir);
            const int row = ic + ir;
            const float* ap;
            Index rs_a, cs_a;
            if (P.pack_a) {
              ap = abuf + static_cast<Index>(ir) * kc;
              rs_a = 1;
              cs_a = MR;
            } else if (P.ta) {
              ap = P.a + static_cast<Index>(p0) * P.lda + row;
              rs_a = 1;
              cs_a = P.lda;
            } else {
              ap = P.a + static_cast<Index>(row) * P.lda + p0;
              rs_a = P.lda;
              cs_a = 1;
            }
            float* ct;
            GemmTileArgs targs = args;
            if (!P.transpose_c) {
              ct = P.c + static_cast<Index>(row) * P.ldc + col;
              if (last && ep.kind == Epilogue::Kind::kActivationGrad) {
                targs.act = ep.act_output + static_cast<Index>(row) * ep.ld_act_output + col;
              }
            } else {  // tile (row, col) of C^T is the block (col, row) of C
              ct = P.c + static_cast<Index>(col) * P.ldc + row;
              if (args.bias != nullptr) targs.bias = args.bias + row;
              if (last && ep.kind == Epilogue::Kind::kActivationGrad) {
                targs.act = ep.act_output + static_cast<Index>(col) * ep.ld_act_output + row;
              }
            }
            P.ukernel(kc, ap, rs_a, cs_a, bp, rs_b, ct, P.ldc, mr, nr, targs);
          }
        }
      }
    }
  }
}

}  // namespace

GemmPath gemm_auto_path(const GemmBlocking& blk, Transpose trans_a, Transpose trans_b, int m, int n, int k) {
  (void)trans_b;
  (void)k;
  // Narrow C (a classifier layer's 10 outputs) with A stored k x m (the weight gradient X^T dY):
  // compute C^T so that m fills the vector lanes; both operands are then read in place.
  if (trans_a == Transpose::kYes && 2 * n <= blk.nr && m >= 2 * blk.nr && m <= blk.nc) return GemmPath::kTransposed;
  // Packing pays when the operands outgrow the caches: then the packed blocks are contiguous
  // (no TLB misses, no cache-set conflicts from power-of-two strides) and each is reused from
  // the cache level it was sized for. While A and B together fit in about 2 MiB (L2 and a
  // little L3: every training shape of the reference network, squares up to 512) the
  // micro-kernel reads them in place as fast, and the copies are saved.
  const double floats = static_cast<double>(m) * k + static_cast<double>(k) * n;
  if ((m <= blk.mc && n <= blk.nc) || floats <= static_cast<double>(1 << 19)) return GemmPath::kUnpacked;
  return GemmPath::kPacked;
}

void sgemm(const KernelTable& kernels, GemmWorkspace& workspace, ThreadPool* pool, Transpose trans_a,
           Transpose trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
           float beta, float* c, int ldc, const Epilogue& epilogue, GemmPath path) {
  if (m <= 0 || n <= 0) return;
  if (k < 0) k = 0;
  if (alpha == 0.0f) k = 0;  // BLAS: A and B are not read; C = beta * C (then the epilogue)
  // 64-bit: m * n * k of big layers exceeds 2^31, and long is 32 bits on Windows.
  if (path == GemmPath::kAuto && static_cast<std::int64_t>(m) * n * std::max(k, 1) <= kGemmTinyMacs) {
    gemm_tiny(kernels, trans_a == Transpose::kYes, trans_b == Transpose::kYes, m, n, k, alpha, a, lda, b, ldb, beta, c,
              ldc, epilogue);
    return;
  }
  Problem P;
  P.ukernel = kernels.gemm_ukernel;
  P.blk = kernels.gemm_blocking;
  P.ta = trans_a == Transpose::kYes;
  P.tb = trans_b == Transpose::kYes;
  P.m = m;
  P.n = n;
  P.k = k;
  P.alpha = alpha;
  P.beta = beta;
  P.a = a;
  P.lda = lda;
  P.b = b;
  P.ldb = ldb;
  P.c = c;
  P.ldc = ldc;
  P.epilogue = &epilogue;
  if (path == GemmPath::kAuto) path = gemm_auto_path(P.blk, trans_a, trans_b, m, n, k);
  P.transpose_c = path == GemmPath::kTransposed;
  if (P.transpose_c) {
    // C^T = op(B)^T op(A)^T: A' = op(B)^T is read in place; B' = op(A)^T is read in place when
    // A is stored k x m (rows of B' contiguous), else packed.
    std::swap(P.a, P.b);
    std::swap(P.lda, P.ldb);
    std::swap(P.m, P.n);
    const bool ta = P.ta;
    P.ta = !P.tb;
    P.tb = !ta;
    std::swap(m, n);
  }
  P.pack_a = path == GemmPath::kPacked;
  P.pack_b = path == GemmPath::kPacked || P.tb;
  P.kblocks = k == 0 ? 1 : (k + P.blk.kc - 1) / P.blk.kc;
  P.kc = k == 0 ? 0 : (k + P.kblocks - 1) / P.kblocks;

  // Parts: as many as threads, while each keeps enough work.
  const double flops = 2.0 * m * n * std::max(k, 1);
  const int threads = pool != nullptr ? pool->size() : 1;
  int parts = std::min(threads, std::max(1, static_cast<int>(flops / kGemmMinFlopsPerPart)));
  const int tiles_m = (m + P.blk.mr - 1) / P.blk.mr;
  const int tiles_n = (n + P.blk.nr - 1) / P.blk.nr;
  // Split n when it has the tiles for it and A (packed again by every part) is the smaller operand.
  const bool split_n = tiles_n >= parts && (n >= m || tiles_m < parts);
  const int tiles = std::max(split_n ? tiles_n : tiles_m, 1);
  parts = std::min(parts, tiles);
  const bool packing = P.pack_a || P.pack_b;
  int tasks = parts;
  if (packing) {
    // One packing slot per task; a task packs its own blocks. A workspace first used with
    // fewer threads grows here once (setThreads raised the count); the training loop reserves
    // its slots before the first step, so this never allocates inside a step.
    if (workspace.slots() < threads) workspace.reserve(threads);
    tasks = parts = std::min(parts, workspace.slots());
  } else if (parts > 1) {
    // Nothing to pack: hand out smaller pieces (about 4 per thread) so that a thread that
    // is descheduled (a busy machine) or slower holds up less; whoever is free takes the next.
    tasks = std::min(tiles, parts * 4);
  }
  auto part = [&](int task, int /*thread*/) {
    const int t0 = static_cast<int>(static_cast<long long>(tiles) * task / tasks);
    const int t1 = static_cast<int>(static_cast<long long>(tiles) * (task + 1) / tasks);
    float* abuf = P.pack_a ? workspace.packed_a(task) : nullptr;
    float* bbuf = P.pack_b ? workspace.packed_b(task) : nullptr;
    if (split_n) {
      run_part(P, 0, m, t0 * P.blk.nr, std::min(n, t1 * P.blk.nr), abuf, bbuf);
    } else {
      run_part(P, t0 * P.blk.mr, std::min(m, t1 * P.blk.mr), 0, n, abuf, bbuf);
    }
  };
  if (tasks <= 1 || pool == nullptr) {
    part(0, 0);
  } else {
    pool->parallel_for(tasks, part);
  }
}

}  // namespace mlpstream
