// The public mini-BLAS: sgemm on Float32Arrays, synchronous and async. TypeScript validates
// sizes against the arrays; here we re-check the bounds so that no call can read or write
// outside them.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "binding/addon.h"
#include "binding/async_worker.h"
#include "binding/convert.h"
#include "core/gemm/gemm.h"
#include "core/util/aligned_buffer.h"

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

struct GemmCall {
  bool ta = false, tb = false;
  int m = 0, n = 0, k = 0;
  float alpha = 1.0f, beta = 0.0f;
  MatrixArg a{}, b{}, c{};
  int lda = 1, ldb = 1, ldc = 1;
  std::size_t a_span = 0, b_span = 0, c_span = 0;
};

// sgemm(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc)
GemmCall parse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 16) convert::throw_type(env, "sgemm needs 16 arguments");
  GemmCall g;
  g.ta = convert::boolean(info[0], "transA");
  g.tb = convert::boolean(info[1], "transB");
  constexpr std::int64_t kMax = (std::int64_t{1} << 31) - 1;
  const std::int64_t m = convert::integer(info[2], "m", 0, kMax);
  const std::int64_t n = convert::integer(info[3], "n", 0, kMax);
  const std::int64_t k = convert::integer(info[4], "k", 0, kMax);
  g.alpha = static_cast<float>(convert::number(info[5], "alpha"));
  g.a = matrix(info[6], info[7], "a");
  const std::int64_t lda = convert::integer(info[8], "lda", 1, kMax);
  g.b = matrix(info[9], info[10], "b");
  const std::int64_t ldb = convert::integer(info[11], "ldb", 1, kMax);
  g.beta = static_cast<float>(convert::number(info[12], "beta"));
  g.c = matrix(info[13], info[14], "c");
  const std::int64_t ldc = convert::integer(info[15], "ldc", 1, kMax);
  const std::int64_t a_rows = g.ta ? k : m, a_cols = g.ta ? m : k;
  const std::int64_t b_rows = g.tb ? n : k, b_cols = g.tb ? k : n;
  if (lda < a_cols || ldb < b_cols || ldc < n) convert::throw_range(env, "leading dimension smaller than the row width");
  g.a_span = span(a_rows, a_cols, lda);
  g.b_span = span(b_rows, b_cols, ldb);
  g.c_span = span(m, n, ldc);
  if (g.a_span > g.a.length) convert::throw_range(env, "a is too short for its shape");
  if (g.b_span > g.b.length) convert::throw_range(env, "b is too short for its shape");
  if (g.c_span > g.c.length) convert::throw_range(env, "c is too short for its shape");
  g.m = static_cast<int>(m);
  g.n = static_cast<int>(n);
  g.k = static_cast<int>(k);
  g.lda = static_cast<int>(lda);
  g.ldb = static_cast<int>(ldb);
  g.ldc = static_cast<int>(ldc);
  return g;
}

void run(const KernelTable& kernels, GemmWorkspace& workspace, ThreadPool* pool, const GemmCall& g, const float* a,
         const float* b, float* c) {
  sgemm(kernels, workspace, pool, g.ta ? Transpose::kYes : Transpose::kNo, g.tb ? Transpose::kYes : Transpose::kNo,
        g.m, g.n, g.k, g.alpha, a, g.lda, b, g.ldb, g.beta, c, g.ldc);
}

Napi::Value sgemm_sync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const GemmCall g = parse(info);
  if (g.m == 0 || g.n == 0) return env.Undefined();
  AddonData& data = addon_data(env);
  auto workspace = data.blas_workspaces->acquire();
  workspace->reserve(data.pool->size());
  run(*data.kernels, *workspace, data.pool.get(), g, g.a.data, g.b.data, g.c.data);
  data.blas_workspaces->release(std::move(workspace));
  return env.Undefined();
}

// The async product works on native copies of A, B and C, so JS may do anything to the
// arrays meanwhile (even transfer them); the result is copied into C on the JS thread, if C
// is still attached, and the promise resolves with C.
class SgemmWorker : public PromiseWorker {
 public:
  SgemmWorker(Napi::Env env, const GemmCall& g, Napi::Float32Array c_array, std::size_t c_offset)
      : PromiseWorker(env, "mlpstream.sgemmAsync"),
        call_(g),
        c_offset_(c_offset),
        kernels_(addon_data(env).kernels),
        pool_(addon_data(env).pool),
        workspaces_(addon_data(env).blas_workspaces),
        a_(addon_data(env).staging, g.a_span, g.a.data),
        b_(addon_data(env).staging, g.b_span, g.b.data),
        c_(addon_data(env).staging, g.c_span, g.c.data) {
    c_ref_ = Napi::Persistent(c_array);
  }

  void Execute() override {
    try {
      if (call_.m == 0 || call_.n == 0) return;
      auto workspace = workspaces_->acquire();
      workspace->reserve(pool_->size());
      run(*kernels_, *workspace, pool_.get(), call_, a_.data(), b_.data(), c_.data());
      workspaces_->release(std::move(workspace));
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("sgemmAsync failed");
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Float32Array c = c_ref_.Value().As<Napi::Float32Array>();
    if (c.ElementLength() < c_offset_ + call_.c_span || (call_.c_span != 0 && c.Data() == nullptr)) {
      throw Napi::Error::New(env, "c was detached or shrunk while sgemmAsync ran");
    }
    if (call_.c_span != 0) std::memcpy(c.Data() + c_offset_, c_.data(), call_.c_span * sizeof(float));
    return c;
  }

 private:
  GemmCall call_;
  std::size_t c_offset_;
  const KernelTable* kernels_;
  std::shared_ptr<ThreadPool> pool_;
  std::shared_ptr<WorkspacePool> workspaces_;
  Staged a_, b_, c_;
  Napi::Reference<Napi::Float32Array> c_ref_;
};

Napi::Value sgemm_async(const Napi::CallbackInfo& info) {
  const GemmCall g = parse(info);
  auto c_array = info[13].As<Napi::Float32Array>();
  const auto c_offset = static_cast<std::size_t>(info[14].As<Napi::Number>().Int64Value());
  auto* worker = new SgemmWorker(info.Env(), g, c_array, c_offset);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace

void init_blas(Napi::Env env, Napi::Object exports) {
  exports.Set("sgemm", Napi::Function::New<sgemm_sync>(env, "sgemm"));
  exports.Set("sgemmAsync", Napi::Function::New<sgemm_async>(env, "sgemmAsync"));
}

}  // namespace mlpstream
