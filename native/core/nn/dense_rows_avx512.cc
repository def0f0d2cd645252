// dense_rows for AVX-512, one row at a time (a batch of up to 4 rows re-reads W from L2 per
// row, which costs less than the register pressure of sharing it). Column panels as wide as the
// registers allow, so W is read in order, row after row: 256 columns (16 zmm accumulators), then
// 128 (8), then 64 (4, with a second set for odd p to hide the FMA latency), then a masked tail.
// Intrinsics on raw pointers only (BUILD-NOTES: nothing inline is shared with generic code).
#if !defined(__AVX512F__) || !defined(__FMA__)
#error "dense_rows_avx512.cc needs -mavx512f -mfma (set per file in CMakeLists.txt)"
#endif

#include <immintrin.h>

#include <cstddef>

#include "core/nn/dense_rows.h"

namespace mlpstream {

namespace {

// Columns [j0, j0 + 16 * V), V >= 8 (enough independent accumulators to cover the latency).
template <int V>
void panel(const float* x, const float* w, const float* b, int k, int n, float* y, int j0) {
  __m512 acc[V];
#pragma GCC unroll 16
  for (int v = 0; v < V; ++v) acc[v] = _mm512_loadu_ps(b + j0 + 16 * v);
  const float* wp = w + j0;
  for (int p = 0; p < k; ++p, wp += n) {
    const __m512 xv = _mm512_set1_ps(x[p]);
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v) acc[v] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(wp + 16 * v), acc[v]);
  }
#pragma GCC unroll 16
  for (int v = 0; v < V; ++v) _mm512_storeu_ps(y + j0 + 16 * v, acc[v]);
}

// Columns [j0, j0 + 64): even and odd p into separate accumulators, summed at the end.
void panel64(const float* x, const float* w, const float* b, int k, int n, float* y, int j0) {
  const float* wp = w + j0;
  __m512 a0 = _mm512_loadu_ps(b + j0), a1 = _mm512_loadu_ps(b + j0 + 16);
  __m512 a2 = _mm512_loadu_ps(b + j0 + 32), a3 = _mm512_loadu_ps(b + j0 + 48);
  __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps(), c3 = _mm512_setzero_ps();
  int p = 0;
  for (; p + 2 <= k; p += 2, wp += 2 * static_cast<std::ptrdiff_t>(n)) {
    const __m512 x0 = _mm512_set1_ps(x[p]);
    const __m512 x1 = _mm512_set1_ps(x[p + 1]);
    a0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(wp), a0);
    a1 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(wp + 16), a1);
    a2 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(wp + 32), a2);
    a3 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(wp + 48), a3);
    c0 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(wp + n), c0);
    c1 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(wp + n + 16), c1);
    c2 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(wp + n + 32), c2);
    c3 = _mm512_fmadd_ps(x1, _mm512_loadu_ps(wp + n + 48), c3);
  }
  if (p < k) {
    const __m512 x0 = _mm512_set1_ps(x[p]);
    a0 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(wp), a0);
    a1 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(wp + 16), a1);
    a2 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(wp + 32), a2);
    a3 = _mm512_fmadd_ps(x0, _mm512_loadu_ps(wp + 48), a3);
  }
  _mm512_storeu_ps(y + j0, _mm512_add_ps(a0, c0));
  _mm512_storeu_ps(y + j0 + 16, _mm512_add_ps(a1, c1));
  _mm512_storeu_ps(y + j0 + 32, _mm512_add_ps(a2, c2));
  _mm512_storeu_ps(y + j0 + 48, _mm512_add_ps(a3, c3));
}

// Columns [j0, n), fewer than 64: whole vectors, the last one masked.
void tail(const float* x, const float* w, const float* b, int k, int n, float* y, int j0) {
  const int rest = n - j0;
  const int vectors = (rest + 15) / 16;
  __m512 acc[4];
  __mmask16 mask[4];
  for (int v = 0; v < 4; ++v) {
    const int lanes = rest - 16 * v;
    mask[v] = lanes >= 16 ? static_cast<__mmask16>(0xffff) : lanes > 0 ? static_cast<__mmask16>((1u << lanes) - 1u) : 0;
    acc[v] = _mm512_maskz_loadu_ps(mask[v], b + j0 + 16 * v);
  }
  const float* wp = w + j0;
  for (int p = 0; p < k; ++p, wp += n) {
    const __m512 xv = _mm512_set1_ps(x[p]);
    for (int v = 0; v < vectors; ++v) acc[v] = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(mask[v], wp + 16 * v), acc[v]);
  }
  for (int v = 0; v < vectors; ++v) _mm512_mask_storeu_ps(y + j0 + 16 * v, mask[v], acc[v]);
}

}  // namespace

void dense_rows_avx512(const float* x, int ldx, int rows, const float* w, const float* b, int k, int n, float* y,
                       int ldy) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<std::ptrdiff_t>(r) * ldx;
    float* yr = y + static_cast<std::ptrdiff_t>(r) * ldy;
    int j = 0;
    for (; j + 256 <= n; j += 256) panel<16>(xr, w, b, k, n, yr, j);
    for (; j + 128 <= n; j += 128) panel<8>(xr, w, b, k, n, yr, j);
    for (; j + 64 <= n; j += 64) panel64(xr, w, b, k, n, yr, j);
    if (j < n) tail(xr, w, b, k, n, yr, j);
  }
}

}  // namespace mlpstream
