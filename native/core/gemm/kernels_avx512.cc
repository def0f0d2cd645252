// AVX-512 kernels (compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma on this file only).
// Intrinsics on raw pointers; every helper has internal linkage, and nothing from
// activation_math.h or other shared inline code is included, so no AVX-512 instruction can
// reach a generic caller through a merged inline function.
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__AVX512VL__) || \
    !defined(__FMA__)
#error "kernels_avx512.cc needs -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma (set per file in CMakeLists.txt)"
#endif

// GCC 12's avx512fintrin.h builds _mm512_max_ps and friends on _mm512_undefined_ps(), which
// -Wmaybe-uninitialized reports once inlined (GCC bug 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "core/gemm/kernels.h"
#include "core/gemm/kernels_isa.h"

namespace mlpstream::avx512 {

// Block sizes of sgemm_ukernel_12x32_avx512 (Zen 4/5 and Skylake-X class: 32 zmm, L1d 32-48 KiB,
// L2 1-2 MiB per core, L3 >= 16 MiB shared). Measured here (Zen 5, 1 thread) against
// MC 144-384 x KC 192-512: this row was the best or within noise of it on n = 512..2048.
//   MR 12, NR 32: 24 accumulators + 2 B vectors + 1 broadcast of the 32 registers; 24
//                 independent FMAs per k keep both FMA pipes (4-cycle latency) busy, and 12
//                 rows waste little on the batch of 128 (11 slivers for 128 rows).
//   KC 256: loop 4. The KC x NR micro-panel of B is 256 * 32 * 4 = 32 KiB in L1 (48 KiB) with
//           the 12 KiB A sliver streaming past; k = 784 runs as 4 balanced blocks of 196.
//   MC 192: loop 3. The packed MC x KC block of A is 192 KiB, a fifth of the 1 MiB L2, leaving
//           room for the B panels passing through and the C tiles; 16 slivers of 12 rows.
//   NC 4096: loop 5. The KC x NC block of B is 4 MiB, a share of L3 that two cores can hold.
const GemmBlocking kGemmBlocking = {/*mr=*/12, /*nr=*/32, /*mc=*/192, /*kc=*/256, /*nc=*/4096};

namespace {

using Index = std::ptrdiff_t;

// ---- vector math (internal) ----

// e^x, |rel err| ~ 2 ulp; x is clamped to [-87.3, 88.7] (results saturate at ~1e-38 and ~3e38).
inline __m512 exp_ps(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.33654f)), _mm512_set1_ps(88.72283f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

// log(x) for x > 0 (Cephes logf): ~1 ulp.
inline __m512 log_ps(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  __m512 e = _mm512_getexp_ps(x);                                       // floor(log2 x)
  __m512 m = _mm512_getmant_ps(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);  // [1, 2)
  const __mmask16 big = _mm512_cmp_ps_mask(m, _mm512_set1_ps(1.41421356f), _CMP_GT_OQ);
  m = _mm512_mask_mul_ps(m, big, m, _mm512_set1_ps(0.5f));
  e = _mm512_mask_add_ps(e, big, e, one);
  const __m512 f = _mm512_sub_ps(m, one);
  const __m512 z = _mm512_mul_ps(f, f);
  __m512 p = _mm512_set1_ps(7.0376836292e-2f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.1514610310e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.1676998740e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.2420140846e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.4249322787e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.6668057665e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.0000714765e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-2.4999993993e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(3.3333331174e-1f));
  __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, f), z);
  y = _mm512_fmadd_ps(e, _mm512_set1_ps(-2.12194440e-4f), y);
  y = _mm512_fnmadd_ps(z, _mm512_set1_ps(0.5f), y);
  __m512 r = _mm512_add_ps(f, y);
  return _mm512_fmadd_ps(e, _mm512_set1_ps(0.693359375f), r);
}

inline __m512 sigmoid_ps(__m512 z) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(one, _mm512_add_ps(one, exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), z))));
}

// tanh: odd polynomial below |x| = 0.625 (Cephes tanhf), 1 - 2 / (e^{2|x|} + 1) above.
inline __m512 tanh_ps(__m512 x) {
  const __m512 ax = _mm512_abs_ps(x);
  const __m512 z = _mm512_mul_ps(x, x);
  __m512 p = _mm512_set1_ps(-5.70498872745e-3f);
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(2.06390887954e-2f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-5.37397155531e-2f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(1.33314422036e-1f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-3.33332819422e-1f));
  const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x, x);
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 e = exp_ps(_mm512_add_ps(ax, ax));
  __m512 large = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
  // copy x's sign onto the large-|x| branch
  large = _mm512_castsi512_ps(_mm512_or_si512(
      _mm512_castps_si512(large), _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN))));
  const __mmask16 use_small = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_LT_OQ);
  return _mm512_mask_blend_ps(use_small, large, small);
}

inline __m512 activate_ps(ActivationSpec f, __m512 z) {
  switch (f.kind) {
    case Activation::kSigmoid: return sigmoid_ps(z);
    case Activation::kTanh: return tanh_ps(z);
    case Activation::kRelu: return _mm512_max_ps(z, _mm512_setzero_ps());
    case Activation::kLeakyRelu: {
      const __mmask16 pos = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_GT_OQ);
      return _mm512_mask_blend_ps(pos, _mm512_mul_ps(z, _mm512_set1_ps(f.leaky_slope)), z);
    }
    case Activation::kLinear:
    case Activation::kSoftmax: break;
  }
  return z;
}

// f'(z) written through y = f(z), as scalar::derivative_from_output.
inline __m512 derivative_ps(ActivationSpec f, __m512 y) {
  const __m512 one = _mm512_set1_ps(1.0f);
  switch (f.kind) {
    case Activation::kSigmoid: return _mm512_mul_ps(y, _mm512_sub_ps(one, y));
    case Activation::kTanh: return _mm512_fnmadd_ps(y, y, one);
    case Activation::kRelu: {
      const __mmask16 pos = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ);
      return _mm512_maskz_mov_ps(pos, one);
    }
    case Activation::kLeakyRelu: {
      const __mmask16 pos = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ);
      return _mm512_mask_blend_ps(pos, _mm512_set1_ps(f.leaky_slope), one);
    }
    case Activation::kLinear:
    case Activation::kSoftmax: break;
  }
  return one;
}

inline __mmask16 tail_mask(std::size_t n) { return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1u); }

// ---- GEMM micro-kernel ----

// Finishes one row of a tile: alpha, beta*C, epilogue, masked store.
inline void store_row(float* c, __m512 v0, __m512 v1, __mmask16 m0, __mmask16 m1, const GemmTileArgs& args, int i) {
  if (args.alpha != 1.0f) {
    const __m512 alpha = _mm512_set1_ps(args.alpha);
    v0 = _mm512_mul_ps(v0, alpha);
    v1 = _mm512_mul_ps(v1, alpha);
  }
  if (args.beta != 0.0f) {
    const __m512 beta = _mm512_set1_ps(args.beta);
    v0 = _mm512_fmadd_ps(beta, _mm512_maskz_loadu_ps(m0, c), v0);
    v1 = _mm512_fmadd_ps(beta, _mm512_maskz_loadu_ps(m1, c + 16), v1);
  }
  if (args.epilogue == Epilogue::Kind::kBiasActivation) {
    if (args.bias != nullptr) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, args.bias));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, args.bias + 16));
    }
    v0 = activate_ps(args.activation, v0);
    v1 = activate_ps(args.activation, v1);
  } else if (args.epilogue == Epilogue::Kind::kActivationGrad) {
    const float* y = args.act + static_cast<Index>(i) * args.ld_act;
    v0 = _mm512_mul_ps(v0, derivative_ps(args.activation, _mm512_maskz_loadu_ps(m0, y)));
    v1 = _mm512_mul_ps(v1, derivative_ps(args.activation, _mm512_maskz_loadu_ps(m1, y + 16)));
  }
  _mm512_mask_storeu_ps(c, m0, v0);
  _mm512_mask_storeu_ps(c + 16, m1, v1);
}

#define MLP_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define MLP_DECL(i) __m512 c##i##a = _mm512_setzero_ps(), c##i##b = _mm512_setzero_ps();
#define MLP_FMA(i, A)                                   \
  {                                                     \
    const __m512 av = _mm512_set1_ps(A);                \
    c##i##a = _mm512_fmadd_ps(av, b0, c##i##a);          \
    if (!kHalf) c##i##b = _mm512_fmadd_ps(av, b1, c##i##b); \
  }
#define MLP_FMA_PACKED(i) MLP_FMA(i, a[i])
#define MLP_FMA_ROWS(i) MLP_FMA(i, ar##i[pa])
#define MLP_ROWPTR(i) const float* ar##i = a + (i < mr ? i : mr - 1) * rs_a;
#define MLP_STORE(i) \
  if (i < mr) store_row(c + static_cast<Index>(i) * ldc, c##i##a, c##i##b, m0, m1, args, i);
#define MLP_SPILL(i)                    \
  _mm512_store_ps(buf + i * 32, c##i##a); \
  if (!kHalf) _mm512_store_ps(buf + i * 32 + 16, c##i##b);
#define MLP_PREFETCH_A(i) _mm_prefetch(reinterpret_cast<const char*>(ar##i + pa + 32), _MM_HINT_T0);
#define MLP_PREFETCH_C(i)                                                                    \
  if (i < mr) {                                                                              \
    _mm_prefetch(reinterpret_cast<const char*>(c + static_cast<Index>(i) * ldc), _MM_HINT_T0);      \
    _mm_prefetch(reinterpret_cast<const char*>(c + static_cast<Index>(i) * ldc + 31), _MM_HINT_T0); \
  }

// kHalf: the panel has at most 16 columns (the 10 outputs of a classifier layer), so only the
// first vector of each row is computed: half the FMAs of a full tile, same chain per element.
template <bool kPackedA, bool kHalf>
inline void ukernel_12x32(int k, const float* a, Index rs_a, Index cs_a, const float* b, Index rs_b, float* c,
                          Index ldc, int mr, int nr, const GemmTileArgs& args) {
  const __mmask16 m0 = tail_mask(static_cast<std::size_t>(nr));
  const __mmask16 m1 = nr > 16 ? tail_mask(static_cast<std::size_t>(nr - 16)) : __mmask16(0);
  MLP_ROWS(MLP_DECL)
  // The tile of C is read (beta, later k-blocks) and written at the end: start its lines on
  // their way now, so the stores do not wait on L2/L3 misses after the products.
  if (!args.transpose_c) {
    MLP_ROWS(MLP_PREFETCH_C)
  }
  if (kPackedA) {
    (void)rs_a;
    (void)cs_a;
#pragma GCC unroll 4
    for (int p = 0; p < k; ++p) {
      const __m512 b0 = _mm512_maskz_loadu_ps(m0, b);
      const __m512 b1 = kHalf ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m1, b + 16);
      MLP_ROWS(MLP_FMA_PACKED)
      a += 12;
      b += rs_b;
    }
  } else {
    MLP_ROWS(MLP_ROWPTR)
    Index pa = 0;
    // In place, A and B come from wherever the last step left them (L3, or DRAM for a fresh
    // batch): prefetch B's rows 8 ahead, and A's rows (one line of each of the 12 every 16 k
    // when A's rows are contiguous; the line 8 k ahead otherwise).
    const Index ahead_b = 8 * rs_b;
    for (int p = 0; p < k; ++p) {
      _mm_prefetch(reinterpret_cast<const char*>(b + ahead_b), _MM_HINT_T0);
      if (!kHalf) _mm_prefetch(reinterpret_cast<const char*>(b + ahead_b + 16), _MM_HINT_T0);
      if (cs_a != 1) {
        _mm_prefetch(reinterpret_cast<const char*>(ar0 + pa + 8 * cs_a), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(ar11 + pa + 8 * cs_a), _MM_HINT_T0);
      } else if ((p & 15) == 0) {
        MLP_ROWS(MLP_PREFETCH_A)
      }
      const __m512 b0 = _mm512_maskz_loadu_ps(m0, b);
      const __m512 b1 = kHalf ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m1, b + 16);
      MLP_ROWS(MLP_FMA_ROWS)
      pa += cs_a;
      b += rs_b;
    }
  }
  if (args.transpose_c) {
    // Tile of C^T: spill it, then gather each tile column (a row segment of C) and finish it
    // exactly as a row of a normal tile.
    alignas(64) float buf[12 * 32];
    MLP_ROWS(MLP_SPILL)
    const __mmask16 rows = tail_mask(static_cast<std::size_t>(mr));
    const __m512i idx = _mm512_setr_epi32(0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 0, 0, 0, 0);
    for (int j = 0; j < nr; ++j) {
      const __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), rows, idx, buf + j, 4);
      store_row(c + static_cast<Index>(j) * ldc, v, _mm512_setzero_ps(), rows, __mmask16(0), args, j);
    }
    return;
  }
  MLP_ROWS(MLP_STORE)
}

}  // namespace

void sgemm_ukernel_12x32_avx512(int k, const float* a, Index rs_a, Index cs_a, const float* b, Index rs_b, float* c,
                                Index ldc, int mr, int nr, const GemmTileArgs& args) {
  const bool packed = args.a_packed;  // (an unpacked A may have the same strides, but not 12 readable rows)
  if (nr <= 16) {
    if (packed) ukernel_12x32<true, true>(k, a, rs_a, cs_a, b, rs_b, c, ldc, mr, nr, args);
    else ukernel_12x32<false, true>(k, a, rs_a, cs_a, b, rs_b, c, ldc, mr, nr, args);
  } else {
    if (packed) ukernel_12x32<true, false>(k, a, rs_a, cs_a, b, rs_b, c, ldc, mr, nr, args);
    else ukernel_12x32<false, false>(k, a, rs_a, cs_a, b, rs_b, c, ldc, mr, nr, args);
  }
}

// ---- element-wise ----

void activation_forward(ActivationSpec f, const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, activate_ps(f, _mm512_maskz_loadu_ps(m, x + i)));
  }
}

void activation_backward(ActivationSpec f, const float* y, const float* dy, float* dx, std::size_t n) {
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 d = derivative_ps(f, _mm512_maskz_loadu_ps(m, y + i));
    _mm512_mask_storeu_ps(dx + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dy + i), d));
  }
}

namespace {

// Row max and sum of exp(z - max) over cols floats; writes exp(z - max) to y when y != null.
inline void row_max_sumexp(const float* z, float* y, int cols, float* max_out, float* sum_out) {
  const std::size_t n = static_cast<std::size_t>(cols);
  __m512 mx = _mm512_set1_ps(-__builtin_inff());
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    mx = _mm512_mask_max_ps(mx, m, mx, _mm512_maskz_loadu_ps(m, z + i));
  }
  const float max = _mm512_reduce_max_ps(mx);
  const __m512 vmax = _mm512_set1_ps(max);
  __m512 sum = _mm512_setzero_ps();
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 e = exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, z + i), vmax));
    sum = _mm512_mask_add_ps(sum, m, sum, e);
    if (y != nullptr) _mm512_mask_storeu_ps(y + i, m, e);
  }
  *max_out = max;
  *sum_out = _mm512_reduce_add_ps(sum);
}

}  // namespace

void softmax_rows(const float* z, int ld_z, float* y, int ld_y, int rows, int cols) {
  const std::size_t n = static_cast<std::size_t>(cols);
  for (int r = 0; r < rows; ++r) {
    const float* zr = z + static_cast<Index>(r) * ld_z;
    float* yr = y + static_cast<Index>(r) * ld_y;
    float max, sum;
    row_max_sumexp(zr, yr, cols, &max, &sum);
    const __m512 inv = _mm512_set1_ps(1.0f / sum);
    for (std::size_t i = 0; i < n; i += 16) {
      const __mmask16 m = tail_mask(n - i);
      _mm512_mask_storeu_ps(yr + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, yr + i), inv));
    }
  }
}

void log_softmax_rows(const float* z, int ld_z, float* y, int ld_y, int rows, int cols) {
  const std::size_t n = static_cast<std::size_t>(cols);
  for (int r = 0; r < rows; ++r) {
    const float* zr = z + static_cast<Index>(r) * ld_z;
    float* yr = y + static_cast<Index>(r) * ld_y;
    float max, sum;
    row_max_sumexp(zr, nullptr, cols, &max, &sum);
    const __m512 shift = _mm512_add_ps(_mm512_set1_ps(max), log_ps(_mm512_set1_ps(sum)));
    for (std::size_t i = 0; i < n; i += 16) {
      const __mmask16 m = tail_mask(n - i);
      _mm512_mask_storeu_ps(yr + i, m, _mm512_sub_ps(_mm512_maskz_loadu_ps(m, zr + i), shift));
    }
  }
}

void column_sums(const float* x, int ld, int rows, int cols, float* out) {
  const std::size_t n = static_cast<std::size_t>(cols);
  std::size_t c0 = 0;
  for (; c0 + 64 <= n; c0 += 64) {  // four vectors of columns at a time
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    for (int r = 0; r < rows; ++r) {
      const float* xr = x + static_cast<Index>(r) * ld + c0;
      s0 = _mm512_add_ps(s0, _mm512_loadu_ps(xr));
      s1 = _mm512_add_ps(s1, _mm512_loadu_ps(xr + 16));
      s2 = _mm512_add_ps(s2, _mm512_loadu_ps(xr + 32));
      s3 = _mm512_add_ps(s3, _mm512_loadu_ps(xr + 48));
    }
    _mm512_storeu_ps(out + c0, s0);
    _mm512_storeu_ps(out + c0 + 16, s1);
    _mm512_storeu_ps(out + c0 + 32, s2);
    _mm512_storeu_ps(out + c0 + 48, s3);
  }
  for (; c0 < n; c0 += 16) {
    const __mmask16 m = tail_mask(n - c0);
    __m512 s = _mm512_setzero_ps();
    for (int r = 0; r < rows; ++r) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, x + static_cast<Index>(r) * ld + c0));
    _mm512_mask_storeu_ps(out + c0, m, s);
  }
}

double sum_squares(const float* x, std::size_t n) {
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  for (std::size_t i = 0; i < n; i += 16) {
    const __m512 v = _mm512_maskz_loadu_ps(tail_mask(n - i), x + i);
    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    s0 = _mm512_fmadd_pd(lo, lo, s0);
    s1 = _mm512_fmadd_pd(hi, hi, s1);
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

// ---- optimizer updates ----

void sgd_update(float* params, const float* grads, float* velocity, std::size_t n, const OptimizerStep& s) {
  const __m512 lr = _mm512_set1_ps(s.learning_rate);
  const __m512 wd = _mm512_set1_ps(s.weight_decay);
  const __m512 mu = _mm512_set1_ps(s.momentum);
  const bool momentum = s.momentum != 0.0f && velocity != nullptr;
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    __m512 p = _mm512_maskz_loadu_ps(m, params + i);
    const __m512 g = _mm512_fmadd_ps(wd, p, _mm512_maskz_loadu_ps(m, grads + i));
    if (!momentum) {
      p = _mm512_fnmadd_ps(lr, g, p);
    } else {
      const __m512 v = _mm512_fmadd_ps(mu, _mm512_maskz_loadu_ps(m, velocity + i), g);
      _mm512_mask_storeu_ps(velocity + i, m, v);
      p = _mm512_fnmadd_ps(lr, s.nesterov ? _mm512_fmadd_ps(mu, v, g) : v, p);
    }
    _mm512_mask_storeu_ps(params + i, m, p);
  }
}

void adam_update(float* params, const float* grads, float* mom, float* vel, std::size_t n, const OptimizerStep& s) {
  const __m512 b1 = _mm512_set1_ps(s.beta1), one_b1 = _mm512_set1_ps(1.0f - s.beta1);
  const __m512 b2 = _mm512_set1_ps(s.beta2), one_b2 = _mm512_set1_ps(1.0f - s.beta2);
  const __m512 step = _mm512_set1_ps(s.step_size);
  const __m512 inv_bias2 = _mm512_set1_ps(1.0f / s.bias2_sqrt);
  const __m512 eps = _mm512_set1_ps(s.epsilon);
  const __m512 wd = _mm512_set1_ps(s.weight_decay);
  const __m512 decay = _mm512_set1_ps(1.0f - s.learning_rate * s.weight_decay);
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail_mask(n - i);
    __m512 p = _mm512_maskz_loadu_ps(k, params + i);
    __m512 g = _mm512_maskz_loadu_ps(k, grads + i);
    if (s.decoupled) {
      p = _mm512_mul_ps(p, decay);
    } else {
      g = _mm512_fmadd_ps(wd, p, g);
    }
    const __m512 m = _mm512_fmadd_ps(b1, _mm512_maskz_loadu_ps(k, mom + i), _mm512_mul_ps(one_b1, g));
    const __m512 v = _mm512_fmadd_ps(b2, _mm512_maskz_loadu_ps(k, vel + i), _mm512_mul_ps(one_b2, _mm512_mul_ps(g, g)));
    _mm512_mask_storeu_ps(mom + i, k, m);
    _mm512_mask_storeu_ps(vel + i, k, v);
    const __m512 denom = _mm512_fmadd_ps(_mm512_sqrt_ps(v), inv_bias2, eps);
    p = _mm512_sub_ps(p, _mm512_div_ps(_mm512_mul_ps(step, m), denom));
    _mm512_mask_storeu_ps(params + i, k, p);
  }
}

void rmsprop_update(float* params, const float* grads, float* sq, std::size_t n, const OptimizerStep& s) {
  const __m512 lr = _mm512_set1_ps(s.learning_rate);
  const __m512 wd = _mm512_set1_ps(s.weight_decay);
  const __m512 rho = _mm512_set1_ps(s.rho), one_rho = _mm512_set1_ps(1.0f - s.rho);
  const __m512 eps = _mm512_set1_ps(s.epsilon);
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 k = tail_mask(n - i);
    __m512 p = _mm512_maskz_loadu_ps(k, params + i);
    const __m512 g = _mm512_fmadd_ps(wd, p, _mm512_maskz_loadu_ps(k, grads + i));
    const __m512 q = _mm512_fmadd_ps(rho, _mm512_maskz_loadu_ps(k, sq + i), _mm512_mul_ps(one_rho, _mm512_mul_ps(g, g)));
    _mm512_mask_storeu_ps(sq + i, k, q);
    p = _mm512_sub_ps(p, _mm512_div_ps(_mm512_mul_ps(lr, g), _mm512_add_ps(_mm512_sqrt_ps(q), eps)));
    _mm512_mask_storeu_ps(params + i, k, p);
  }
}

// ---- FMA peak probe: 24 independent accumulators, as many as the micro-kernel keeps ----

double fma_peak(std::int64_t iterations, float* sink) {
  __m512 acc[24];
  for (int i = 0; i < 24; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (std::int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < 24; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  }
  __m512 s = acc[0];
  for (int i = 1; i < 24; ++i) s = _mm512_add_ps(s, acc[i]);
  *sink = _mm512_reduce_add_ps(s);
  return static_cast<double>(iterations) * 24.0 * 16.0 * 2.0;
}

}  // namespace mlpstream::avx512
