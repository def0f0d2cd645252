// dense_rows for AVX2, one row at a time: 64-column panels (8 ymm accumulators, enough to hide
// the FMA latency), then 32 (even and odd p in separate accumulators), then a masked tail.
// Intrinsics on raw pointers only (BUILD-NOTES: nothing inline is shared with generic code).
#if !defined(__AVX2__) || !defined(__FMA__)
#error "dense_rows_avx2.cc needs -mavx2 -mfma (set per file in CMakeLists.txt)"
#endif

#include <immintrin.h>

#include <cstddef>

#include "core/nn/dense_rows.h"

namespace mlpstream {

namespace {

void panel64(const float* x, const float* w, const float* b, int k, int n, float* y, int j0) {
  __m256 acc[8];
#pragma GCC unroll 8
  for (int v = 0; v < 8; ++v) acc[v] = _mm256_loadu_ps(b + j0 + 8 * v);
  const float* wp = w + j0;
  for (int p = 0; p < k; ++p, wp += n) {
    const __m256 xv = _mm256_set1_ps(x[p]);
#pragma GCC unroll 8
    for (int v = 0; v < 8; ++v) acc[v] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(wp + 8 * v), acc[v]);
  }
#pragma GCC unroll 8
  for (int v = 0; v < 8; ++v) _mm256_storeu_ps(y + j0 + 8 * v, acc[v]);
}

void panel32(const float* x, const float* w, const float* b, int k, int n, float* y, int j0) {
  const float* wp = w + j0;
  __m256 a0 = _mm256_loadu_ps(b + j0), a1 = _mm256_loadu_ps(b + j0 + 8);
  __m256 a2 = _mm256_loadu_ps(b + j0 + 16), a3 = _mm256_loadu_ps(b + j0 + 24);
  __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps();
  int p = 0;
  for (; p + 2 <= k; p += 2, wp += 2 * static_cast<std::ptrdiff_t>(n)) {
    const __m256 x0 = _mm256_set1_ps(x[p]);
    const __m256 x1 = _mm256_set1_ps(x[p + 1]);
    a0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(wp), a0);
    a1 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(wp + 8), a1);
    a2 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(wp + 16), a2);
    a3 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(wp + 24), a3);
    c0 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(wp + n), c0);
    c1 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(wp + n + 8), c1);
    c2 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(wp + n + 16), c2);
    c3 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(wp + n + 24), c3);
  }
  if (p < k) {
    const __m256 x0 = _mm256_set1_ps(x[p]);
    a0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(wp), a0);
    a1 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(wp + 8), a1);
    a2 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(wp + 16), a2);
    a3 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(wp + 24), a3);
  }
  _mm256_storeu_ps(y + j0, _mm256_add_ps(a0, c0));
  _mm256_storeu_ps(y + j0 + 8, _mm256_add_ps(a1, c1));
  _mm256_storeu_ps(y + j0 + 16, _mm256_add_ps(a2, c2));
  _mm256_storeu_ps(y + j0 + 24, _mm256_add_ps(a3, c3));
}

// Columns [j0, n), fewer than 32: whole vectors, the last one masked (maskload never faults on
// the lanes it leaves out).
void tail(const float* x, const float* w, const float* b, int k, int n, float* y, int j0) {
  const int rest = n - j0;
  const int vectors = (rest + 7) / 8;
  const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256 acc[4];
  __m256i mask[4];
  for (int v = 0; v < 4; ++v) {
    mask[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(rest - 8 * v), index);
    acc[v] = _mm256_maskload_ps(b + j0 + 8 * v, mask[v]);
  }
  const float* wp = w + j0;
  for (int p = 0; p < k; ++p, wp += n) {
    const __m256 xv = _mm256_set1_ps(x[p]);
    for (int v = 0; v < vectors; ++v) acc[v] = _mm256_fmadd_ps(xv, _mm256_maskload_ps(wp + 8 * v, mask[v]), acc[v]);
  }
  for (int v = 0; v < vectors; ++v) _mm256_maskstore_ps(y + j0 + 8 * v, mask[v], acc[v]);
}

}  // namespace

void dense_rows_avx2(const float* x, int ldx, int rows, const float* w, const float* b, int k, int n, float* y,
                     int ldy) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<std::ptrdiff_t>(r) * ldx;
    float* yr = y + static_cast<std::ptrdiff_t>(r) * ldy;
    int j = 0;
    for (; j + 64 <= n; j += 64) panel64(xr, w, b, k, n, yr, j);
    for (; j + 32 <= n; j += 32) panel32(xr, w, b, k, n, yr, j);
    if (j < n) tail(xr, w, b, k, n, yr, j);
  }
}

}  // namespace mlpstream
