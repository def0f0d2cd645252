// AVX2 + FMA kernels (compiled with -mavx2 -mfma on this file only). Intrinsics on raw
// pointers; every helper has internal linkage, and nothing from activation_math.h or other
// shared inline code is included, so no AVX instruction can reach a generic caller.
#if !defined(__AVX2__) || !defined(__FMA__)
#error "kernels_avx2.cc needs -mavx2 -mfma (set per file in CMakeLists.txt)"
#endif

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "core/gemm/kernels.h"
#include "core/gemm/kernels_isa.h"

namespace mlpstream::avx2 {

// Block sizes of sgemm_ukernel_6x16_avx2 (Haswell .. Zen 3 class: 16 ymm, L1d 32 KiB, L2 256 KiB - 1 MiB).
//   MR 6, NR 16: 12 accumulators + 2 B vectors + 1 broadcast of 16 registers; 12 independent
//                FMAs per k cover 2 FMA pipes x 4-5 cycles latency.
//   KC 256: the KC x NR micro-panel of B is 256 * 16 * 4 = 16 KiB, half of a 32 KiB L1, beside
//           the 6 KiB A sliver streaming past.
//   MC 120: the packed MC x KC block of A is 120 KiB, under half of a 256 KiB L2; 20 slivers.
//   NC 4096: the KC x NC block of B is 4 MiB, a share of L3.
const GemmBlocking kGemmBlocking = {/*mr=*/6, /*nr=*/16, /*mc=*/120, /*kc=*/256, /*nc=*/4096};

namespace {

using Index = std::ptrdiff_t;

// ---- vector math (internal) ----

inline __m256 exp_ps(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33654f)), _mm256_set1_ps(88.3762626647949f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n through the exponent field (n in [-126, 127] after the clamp)
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// log(x) for normal x > 0 (Cephes logf).
inline __m256 log_ps(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256i bits = _mm256_castps_si256(x);
  __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127)));
  __m256 m = _mm256_castsi256_ps(
      _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f800000)));
  const __m256 big = _mm256_cmp_ps(m, _mm256_set1_ps(1.41421356f), _CMP_GT_OQ);
  m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5f)), big);
  e = _mm256_add_ps(e, _mm256_and_ps(big, one));
  const __m256 f = _mm256_sub_ps(m, one);
  const __m256 z = _mm256_mul_ps(f, f);
  __m256 p = _mm256_set1_ps(7.0376836292e-2f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.1514610310e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.1676998740e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.2420140846e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.4249322787e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.6668057665e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.0000714765e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-2.4999993993e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(3.3333331174e-1f));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, f), z);
  y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), y);
  y = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), y);
  const __m256 r = _mm256_add_ps(f, y);
  return _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), r);
}

inline __m256 sigmoid_ps(__m256 z) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), z))));
}

inline __m256 tanh_ps(__m256 x) {
  const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32(INT32_MIN));
  const __m256 ax = _mm256_andnot_ps(sign, x);
  const __m256 z = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = exp_ps(_mm256_add_ps(ax, ax));
  __m256 large = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
  large = _mm256_or_ps(large, _mm256_and_ps(x, sign));
  return _mm256_blendv_ps(large, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
}

inline __m256 activate_ps(ActivationSpec f, __m256 z) {
  switch (f.kind) {
    case Activation::kSigmoid: return sigmoid_ps(z);
    case Activation::kTanh: return tanh_ps(z);
    case Activation::kRelu: return _mm256_max_ps(z, _mm256_setzero_ps());
    case Activation::kLeakyRelu: {
      const __m256 pos = _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_GT_OQ);
      return _mm256_blendv_ps(_mm256_mul_ps(z, _mm256_set1_ps(f.leaky_slope)), z, pos);
    }
    case Activation::kLinear:
    case Activation::kSoftmax: break;
  }
  return z;
}

inline __m256 derivative_ps(ActivationSpec f, __m256 y) {
  const __m256 one = _mm256_set1_ps(1.0f);
  switch (f.kind) {
    case Activation::kSigmoid: return _mm256_mul_ps(y, _mm256_sub_ps(one, y));
    case Activation::kTanh: return _mm256_fnmadd_ps(y, y, one);
    case Activation::kRelu: return _mm256_and_ps(_mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GT_OQ), one);
    case Activation::kLeakyRelu:
      return _mm256_blendv_ps(_mm256_set1_ps(f.leaky_slope), one, _mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GT_OQ));
    case Activation::kLinear:
    case Activation::kSoftmax: break;
  }
  return one;
}

// Lane mask for the first n (< 8 or more) lanes.
inline __m256i tail_mask(std::size_t n) {
  const int k = n >= 8 ? 8 : static_cast<int>(n);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline __m256 load_n(const float* p, std::size_t n) {
  return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, tail_mask(n));
}
inline void store_n(float* p, __m256 v, std::size_t n) {
  if (n >= 8) _mm256_storeu_ps(p, v);
  else _mm256_maskstore_ps(p, tail_mask(n), v);
}

// ---- GEMM micro-kernel ----

inline void store_row(float* c, __m256 v0, __m256 v1, std::size_t nr, const GemmTileArgs& args, int i) {
  const std::size_t n1 = nr > 8 ? nr - 8 : 0;
  if (args.alpha != 1.0f) {
    const __m256 alpha = _mm256_set1_ps(args.alpha);
    v0 = _mm256_mul_ps(v0, alpha);
    v1 = _mm256_mul_ps(v1, alpha);
  }
  if (args.beta != 0.0f) {
    const __m256 beta = _mm256_set1_ps(args.beta);
    v0 = _mm256_fmadd_ps(beta, load_n(c, nr), v0);
    if (n1 > 0) v1 = _mm256_fmadd_ps(beta, load_n(c + 8, n1), v1);
  }
  if (args.epilogue == Epilogue::Kind::kBiasActivation) {
    if (args.bias != nullptr) {
      v0 = _mm256_add_ps(v0, load_n(args.bias, nr));
      if (n1 > 0) v1 = _mm256_add_ps(v1, load_n(args.bias + 8, n1));
    }
    v0 = activate_ps(args.activation, v0);
    if (n1 > 0) v1 = activate_ps(args.activation, v1);
  } else if (args.epilogue == Epilogue::Kind::kActivationGrad) {
    const float* y = args.act + static_cast<Index>(i) * args.ld_act;
    v0 = _mm256_mul_ps(v0, derivative_ps(args.activation, load_n(y, nr)));
    if (n1 > 0) v1 = _mm256_mul_ps(v1, derivative_ps(args.activation, load_n(y + 8, n1)));
  }
  store_n(c, v0, nr);
  if (n1 > 0) store_n(c + 8, v1, n1);
}

#define MLP_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define MLP_DECL(i) __m256 c##i##a = _mm256_setzero_ps(), c##i##b = _mm256_setzero_ps();
#define MLP_FMA(i, A)                                   \
  {                                                     \
    const __m256 av = _mm256_broadcast_ss(&(A));        \
    c##i##a = _mm256_fmadd_ps(av, b0, c##i##a);          \
    if (!kHalf) c##i##b = _mm256_fmadd_ps(av, b1, c##i##b); \
  }
#define MLP_FMA_PACKED(i) MLP_FMA(i, a[i])
#define MLP_FMA_ROWS(i) MLP_FMA(i, ar##i[pa])
#define MLP_ROWPTR(i) const float* ar##i = a + (i < mr ? i : mr - 1) * rs_a;
#define MLP_STORE(i) \
  if (i < mr) store_row(c + static_cast<Index>(i) * ldc, c##i##a, c##i##b, static_cast<std::size_t>(nr), args, i);

#define MLP_SPILL(i)                    \
  _mm256_store_ps(buf + i * 16, c##i##a); \
  if (!kHalf) _mm256_store_ps(buf + i * 16 + 8, c##i##b);

// kFull: all 16 columns of B are readable; otherwise the loads are masked to nr columns.
// kHalf: at most 8 columns, so only the first vector of each row is computed.
template <bool kPackedA, bool kFull, bool kHalf>
inline void ukernel_6x16(int k, const float* a, Index rs_a, Index cs_a, const float* b, Index rs_b, float* c,
                         Index ldc, int mr, int nr, const GemmTileArgs& args) {
  const __m256i m0 = tail_mask(static_cast<std::size_t>(nr));
  const __m256i m1 = tail_mask(nr > 8 ? static_cast<std::size_t>(nr - 8) : 0);
  MLP_ROWS(MLP_DECL)
  if (kPackedA) {
    (void)rs_a;
    (void)cs_a;
    for (int p = 0; p < k; ++p) {
      const __m256 b0 = kFull ? _mm256_loadu_ps(b) : _mm256_maskload_ps(b, m0);
      const __m256 b1 = kHalf ? _mm256_setzero_ps() : kFull ? _mm256_loadu_ps(b + 8) : _mm256_maskload_ps(b + 8, m1);
      MLP_ROWS(MLP_FMA_PACKED)
      a += 6;
      b += rs_b;
    }
  } else {
    MLP_ROWS(MLP_ROWPTR)
    Index pa = 0;
    for (int p = 0; p < k; ++p) {
      const __m256 b0 = kFull ? _mm256_loadu_ps(b) : _mm256_maskload_ps(b, m0);
      const __m256 b1 = kHalf ? _mm256_setzero_ps() : kFull ? _mm256_loadu_ps(b + 8) : _mm256_maskload_ps(b + 8, m1);
      MLP_ROWS(MLP_FMA_ROWS)
      pa += cs_a;
      b += rs_b;
    }
  }
  if (args.transpose_c) {
    // Tile of C^T: spill it, then gather each tile column (a row segment of C) and finish it
    // exactly as a row of a normal tile.
    alignas(32) float buf[6 * 16];
    MLP_ROWS(MLP_SPILL)
    const __m256i idx = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 0, 0);
    const __m256i rows = tail_mask(static_cast<std::size_t>(mr));
    for (int j = 0; j < nr; ++j) {
      const __m256 v = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), buf + j, idx, _mm256_castsi256_ps(rows), 4);
      store_row(c + static_cast<Index>(j) * ldc, v, _mm256_setzero_ps(), static_cast<std::size_t>(mr), args, j);
    }
    return;
  }
  MLP_ROWS(MLP_STORE)
}

}  // namespace

void sgemm_ukernel_6x16_avx2(int k, const float* a, Index rs_a, Index cs_a, const float* b, Index rs_b, float* c,
                             Index ldc, int mr, int nr, const GemmTileArgs& args) {
  // A packed panel of B is zero-padded, so all 16 columns are readable.
  const bool full = nr == 16 || args.b_padded;
  const bool packed = args.a_packed;  // (an unpacked A may have the same strides, but not 6 readable rows)
  if (nr <= 8) {
    if (packed) ukernel_6x16<true, false, true>(k, a, rs_a, cs_a, b, rs_b, c, ldc, mr, nr, args);
    else ukernel_6x16<false, false, true>(k, a, rs_a, cs_a, b, rs_b, c, ldc, mr, nr, args);
  } else if (packed) {
    if (full) ukernel_6x16<true, true, false>(k, a, rs_a, cs_a, b, rs_b, c, ldc, mr, nr, args);
    else ukernel_6x16<true, false, false>(k, a, rs_a, cs_a, b, rs_b, c, ldc, mr, nr, args);
  } else {
    if (full) ukernel_6x16<false, true, false>(k, a, rs_a, cs_a, b, rs_b, c, ldc, mr, nr, args);
    else ukernel_6x16<false, false, false>(k, a, rs_a, cs_a, b, rs_b, c, ldc, mr, nr, args);
  }
}

// ---- element-wise ----

void activation_forward(ActivationSpec f, const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; i += 8) store_n(y + i, activate_ps(f, load_n(x + i, n - i)), n - i);
}

void activation_backward(ActivationSpec f, const float* y, const float* dy, float* dx, std::size_t n) {
  for (std::size_t i = 0; i < n; i += 8) {
    const __m256 d = derivative_ps(f, load_n(y + i, n - i));
    store_n(dx + i, _mm256_mul_ps(load_n(dy + i, n - i), d), n - i);
  }
}

namespace {

inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

inline void row_max_sumexp(const float* z, float* y, int cols, float* max_out, float* sum_out) {
  const std::size_t n = static_cast<std::size_t>(cols);
  const __m256 ninf = _mm256_set1_ps(-__builtin_inff());
  __m256 mx = ninf;
  for (std::size_t i = 0; i < n; i += 8) {
    const __m256 v = load_n(z + i, n - i);
    mx = _mm256_max_ps(mx, n - i >= 8 ? v : _mm256_blendv_ps(ninf, v, _mm256_castsi256_ps(tail_mask(n - i))));
  }
  const float max = hmax(mx);
  const __m256 vmax = _mm256_set1_ps(max);
  __m256 sum = _mm256_setzero_ps();
  for (std::size_t i = 0; i < n; i += 8) {
    __m256 e = exp_ps(_mm256_sub_ps(load_n(z + i, n - i), vmax));
    if (n - i < 8) e = _mm256_and_ps(e, _mm256_castsi256_ps(tail_mask(n - i)));
    sum = _mm256_add_ps(sum, e);
    if (y != nullptr) store_n(y + i, e, n - i);
  }
  *max_out = max;
  *sum_out = hsum(sum);
}

}  // namespace

void softmax_rows(const float* z, int ld_z, float* y, int ld_y, int rows, int cols) {
  const std::size_t n = static_cast<std::size_t>(cols);
  for (int r = 0; r < rows; ++r) {
    const float* zr = z + static_cast<Index>(r) * ld_z;
    float* yr = y + static_cast<Index>(r) * ld_y;
    float max, sum;
    row_max_sumexp(zr, yr, cols, &max, &sum);
    const __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (std::size_t i = 0; i < n; i += 8) store_n(yr + i, _mm256_mul_ps(load_n(yr + i, n - i), inv), n - i);
  }
}

void log_softmax_rows(const float* z, int ld_z, float* y, int ld_y, int rows, int cols) {
  const std::size_t n = static_cast<std::size_t>(cols);
  for (int r = 0; r < rows; ++r) {
    const float* zr = z + static_cast<Index>(r) * ld_z;
    float* yr = y + static_cast<Index>(r) * ld_y;
    float max, sum;
    row_max_sumexp(zr, nullptr, cols, &max, &sum);
    const __m256 shift = _mm256_add_ps(_mm256_set1_ps(max), log_ps(_mm256_set1_ps(sum)));
    for (std::size_t i = 0; i < n; i += 8) store_n(yr + i, _mm256_sub_ps(load_n(zr + i, n - i), shift), n - i);
  }
}

void column_sums(const float* x, int ld, int rows, int cols, float* out) {
  const std::size_t n = static_cast<std::size_t>(cols);
  std::size_t c0 = 0;
  for (; c0 + 32 <= n; c0 += 32) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    for (int r = 0; r < rows; ++r) {
      const float* xr = x + static_cast<Index>(r) * ld + c0;
      s0 = _mm256_add_ps(s0, _mm256_loadu_ps(xr));
      s1 = _mm256_add_ps(s1, _mm256_loadu_ps(xr + 8));
      s2 = _mm256_add_ps(s2, _mm256_loadu_ps(xr + 16));
      s3 = _mm256_add_ps(s3, _mm256_loadu_ps(xr + 24));
    }
    _mm256_storeu_ps(out + c0, s0);
    _mm256_storeu_ps(out + c0 + 8, s1);
    _mm256_storeu_ps(out + c0 + 16, s2);
    _mm256_storeu_ps(out + c0 + 24, s3);
  }
  for (; c0 < n; c0 += 8) {
    __m256 s = _mm256_setzero_ps();
    for (int r = 0; r < rows; ++r) s = _mm256_add_ps(s, load_n(x + static_cast<Index>(r) * ld + c0, n - c0));
    store_n(out + c0, s, n - c0);
  }
}

double sum_squares(const float* x, std::size_t n) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  for (std::size_t i = 0; i < n; i += 8) {
    __m256 v = load_n(x + i, n - i);
    const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    s0 = _mm256_fmadd_pd(lo, lo, s0);
    s1 = _mm256_fmadd_pd(hi, hi, s1);
  }
  const __m256d s = _mm256_add_pd(s0, s1);
  __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
  h = _mm_add_sd(h, _mm_unpackhi_pd(h, h));
  return _mm_cvtsd_f64(h);
}

// ---- optimizer updates ----

void sgd_update(float* params, const float* grads, float* velocity, std::size_t n, const OptimizerStep& s) {
  const __m256 lr = _mm256_set1_ps(s.learning_rate);
  const __m256 wd = _mm256_set1_ps(s.weight_decay);
  const __m256 mu = _mm256_set1_ps(s.momentum);
  const bool momentum = s.momentum != 0.0f && velocity != nullptr;
  for (std::size_t i = 0; i < n; i += 8) {
    const std::size_t left = n - i;
    __m256 p = load_n(params + i, left);
    const __m256 g = _mm256_fmadd_ps(wd, p, load_n(grads + i, left));
    if (!momentum) {
      p = _mm256_fnmadd_ps(lr, g, p);
    } else {
      const __m256 v = _mm256_fmadd_ps(mu, load_n(velocity + i, left), g);
      store_n(velocity + i, v, left);
      p = _mm256_fnmadd_ps(lr, s.nesterov ? _mm256_fmadd_ps(mu, v, g) : v, p);
    }
    store_n(params + i, p, left);
  }
}

void adam_update(float* params, const float* grads, float* mom, float* vel, std::size_t n, const OptimizerStep& s) {
  const __m256 b1 = _mm256_set1_ps(s.beta1), one_b1 = _mm256_set1_ps(1.0f - s.beta1);
  const __m256 b2 = _mm256_set1_ps(s.beta2), one_b2 = _mm256_set1_ps(1.0f - s.beta2);
  const __m256 step = _mm256_set1_ps(s.step_size);
  const __m256 inv_bias2 = _mm256_set1_ps(1.0f / s.bias2_sqrt);
  const __m256 eps = _mm256_set1_ps(s.epsilon);
  const __m256 wd = _mm256_set1_ps(s.weight_decay);
  const __m256 decay = _mm256_set1_ps(1.0f - s.learning_rate * s.weight_decay);
  for (std::size_t i = 0; i < n; i += 8) {
    const std::size_t left = n - i;
    __m256 p = load_n(params + i, left);
    __m256 g = load_n(grads + i, left);
    if (s.decoupled) {
      p = _mm256_mul_ps(p, decay);
    } else {
      g = _mm256_fmadd_ps(wd, p, g);
    }
    const __m256 m = _mm256_fmadd_ps(b1, load_n(mom + i, left), _mm256_mul_ps(one_b1, g));
    const __m256 v = _mm256_fmadd_ps(b2, load_n(vel + i, left), _mm256_mul_ps(one_b2, _mm256_mul_ps(g, g)));
    store_n(mom + i, m, left);
    store_n(vel + i, v, left);
    const __m256 denom = _mm256_fmadd_ps(_mm256_sqrt_ps(v), inv_bias2, eps);
    p = _mm256_sub_ps(p, _mm256_div_ps(_mm256_mul_ps(step, m), denom));
    store_n(params + i, p, left);
  }
}

void rmsprop_update(float* params, const float* grads, float* sq, std::size_t n, const OptimizerStep& s) {
  const __m256 lr = _mm256_set1_ps(s.learning_rate);
  const __m256 wd = _mm256_set1_ps(s.weight_decay);
  const __m256 rho = _mm256_set1_ps(s.rho), one_rho = _mm256_set1_ps(1.0f - s.rho);
  const __m256 eps = _mm256_set1_ps(s.epsilon);
  for (std::size_t i = 0; i < n; i += 8) {
    const std::size_t left = n - i;
    __m256 p = load_n(params + i, left);
    const __m256 g = _mm256_fmadd_ps(wd, p, load_n(grads + i, left));
    const __m256 q = _mm256_fmadd_ps(rho, load_n(sq + i, left), _mm256_mul_ps(one_rho, _mm256_mul_ps(g, g)));
    store_n(sq + i, q, left);
    p = _mm256_sub_ps(p, _mm256_div_ps(_mm256_mul_ps(lr, g), _mm256_add_ps(_mm256_sqrt_ps(q), eps)));
    store_n(params + i, p, left);
  }
}

// ---- FMA peak probe: 12 independent accumulators, as many as the micro-kernel keeps ----

double fma_peak(std::int64_t iterations, float* sink) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (std::int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  }
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  *sink = hsum(s);
  return static_cast<double>(iterations) * 12.0 * 8.0 * 2.0;
}

}  // namespace mlpstream::avx2
