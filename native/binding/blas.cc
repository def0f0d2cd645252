// The public mini-BLAS: sgemm on Float32Arrays. TypeScript validates sizes against the
// arrays; here we re-check the bounds so that no call can read or write outside them.
#include <string>

#include "binding/addon.h"
#include "binding/convert.h"
#include "core/gemm/gemm.h"

namespace mlpstream {

namespace {

struct MatrixArg {
  float* data;
  std::size_t length;
};

MatrixArg matrix(const Napi::Value& array, const Napi::Value& offset, const char* what) {
  auto a = convert::float32_array(array, what);
  const auto off = static_cast<std::size_t>(convert::integer(offset, "offset", 0, std::int64_t{1} << 40));
  if (off > a.ElementLength()) convert::throw_range(array.Env(), std::string(what) + " offset is past the end");
  return {a.Data() + off, a.ElementLength() - off};
}

// Elements a rows x cols matrix with leading dimension ld spans.
std::size_t span(std::int64_t rows, std::int64_t cols, std::int64_t ld) {
  if (rows == 0 || cols == 0) return 0;
  return static_cast<std::size_t>((rows - 1) * ld + cols);
}

// sgemm(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc)
Napi::Value sgemm_sync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 16) convert::throw_type(env, "sgemm needs 16 arguments");
  const bool ta = convert::boolean(info[0], "transA");
  const bool tb = convert::boolean(info[1], "transB");
  constexpr std::int64_t kMax = (std::int64_t{1} << 31) - 1;
  const std::int64_t m = convert::integer(info[2], "m", 0, kMax);
  const std::int64_t n = convert::integer(info[3], "n", 0, kMax);
  const std::int64_t k = convert::integer(info[4], "k", 0, kMax);
  const auto alpha = static_cast<float>(convert::number(info[5], "alpha"));
  const MatrixArg a = matrix(info[6], info[7], "a");
  const std::int64_t lda = convert::integer(info[8], "lda", 1, kMax);
  const MatrixArg b = matrix(info[9], info[10], "b");
  const std::int64_t ldb = convert::integer(info[11], "ldb", 1, kMax);
  const auto beta = static_cast<float>(convert::number(info[12], "beta"));
  const MatrixArg c = matrix(info[13], info[14], "c");
  const std::int64_t ldc = convert::integer(info[15], "ldc", 1, kMax);
  const std::int64_t a_rows = ta ? k : m, a_cols = ta ? m : k;
  const std::int64_t b_rows = tb ? n : k, b_cols = tb ? k : n;
  if (lda < a_cols || ldb < b_cols || ldc < n) convert::throw_range(env, "leading dimension smaller than the row width");
  if (span(a_rows, a_cols, lda) > a.length) convert::throw_range(env, "a is too short for its shape");
  if (span(b_rows, b_cols, ldb) > b.length) convert::throw_range(env, "b is too short for its shape");
  if (span(m, n, ldc) > c.length) convert::throw_range(env, "c is too short for its shape");
  if (m == 0 || n == 0) return env.Undefined();
  AddonData& data = addon_data(env);
  GemmWorkspace workspace;
  sgemm(*data.kernels, workspace, data.pool.get(), ta ? Transpose::kYes : Transpose::kNo,
        tb ? Transpose::kYes : Transpose::kNo, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha,
        a.data, static_cast<int>(lda), b.data, static_cast<int>(ldb), beta, c.data, static_cast<int>(ldc));
  return env.Undefined();
}

}  // namespace

void init_blas(Napi::Env env, Napi::Object exports) {
  exports.Set("sgemm", Napi::Function::New<sgemm_sync>(env, "sgemm"));
}

}  // namespace mlpstream
