// Internal entry points for the test suite: every kernel of every ISA table, callable
// from JS on small arrays, so tests can compare each path with a float64 reference.
// Exposed as `testing` on the addon; not part of the public API.
#include <algorithm>
#include <atomic>
#include <thread>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "binding/addon.h"
#include "binding/convert.h"
#include "core/gemm/gemm.h"
#include "core/nn/network.h"
#include "core/nn/optimizer.h"
#include "core/util/aligned_buffer.h"
#include "core/util/float_env.h"
#include "core/util/thread_pool.h"

namespace mlpstream {

namespace {

const KernelTable& table(const Napi::Value& v) {
  if (!v.IsString()) convert::throw_type(v.Env(), "isa must be a string");
  const std::string name = v.As<Napi::String>().Utf8Value();
  Isa isa;
  if (name == "portable") isa = Isa::kPortable;
  else if (name == "avx2") isa = Isa::kAvx2;
  else if (name == "avx512") isa = Isa::kAvx512;
  else convert::throw_range(v.Env(), "unknown isa " + name);
  if (!cpu_supports(isa)) convert::throw_range(v.Env(), "this CPU does not support " + name);
  return kernels_for(isa);
}

ActivationSpec activation(const Napi::Value& kind, const Napi::Value& slope) {
  return ActivationSpec{static_cast<Activation>(convert::integer(kind, "activation", 0, 5)),
                        static_cast<float>(convert::number(slope, "slope"))};
}

Napi::Float32Array copy_of(Napi::Env env, const Napi::Float32Array& a) {
  auto out = Napi::Float32Array::New(env, a.ElementLength());
  if (a.ElementLength() != 0) std::memcpy(out.Data(), a.Data(), a.ElementLength() * sizeof(float));
  return out;
}

Napi::Value isa_supported(const Napi::CallbackInfo& info) {
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  bool ok = false;
  if (name == "portable") ok = true;
  else if (name == "avx2") ok = cpu_supports(Isa::kAvx2);
  else if (name == "avx512") ok = cpu_supports(Isa::kAvx512);
  return Napi::Boolean::New(info.Env(), ok && kernels_for(name == "avx512" ? Isa::kAvx512 : name == "avx2" ? Isa::kAvx2 : Isa::kPortable).name == name);
}

#if defined(MLPSTREAM_X86)
// cpuidSupported(isa): the answer of cpuid.cc (CPUID and XCR0 read directly, the Windows
// builds' detection), for comparison with cpu_supports where that is __builtin_cpu_supports.
Napi::Value cpuid_supported(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) convert::throw_type(info.Env(), "isa must be a string");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  Isa isa = Isa::kPortable;
  if (name == "avx2") isa = Isa::kAvx2;
  else if (name == "avx512") isa = Isa::kAvx512;
  else if (name != "portable") convert::throw_range(info.Env(), "unknown isa " + name);
  return Napi::Boolean::New(info.Env(), cpuid_supports(isa));
}
#endif

Napi::Value activation_forward(const Napi::CallbackInfo& info) {
  const KernelTable& k = table(info[0]);
  auto x = convert::float32_array(info[3], "x");
  auto y = Napi::Float32Array::New(info.Env(), x.ElementLength());
  k.activation_forward(activation(info[1], info[2]), x.Data(), y.Data(), x.ElementLength());
  return y;
}

Napi::Value activation_backward(const Napi::CallbackInfo& info) {
  const KernelTable& k = table(info[0]);
  auto y = convert::float32_array(info[3], "y");
  auto dy = convert::float32_array(info[4], "dy");
  convert::require_length(dy, y.ElementLength(), "dy");
  auto dx = Napi::Float32Array::New(info.Env(), y.ElementLength());
  k.activation_backward(activation(info[1], info[2]), y.Data(), dy.Data(), dx.Data(), y.ElementLength());
  return dx;
}

Napi::Value softmax_rows(const Napi::CallbackInfo& info) {
  const KernelTable& k = table(info[0]);
  auto z = convert::float32_array(info[1], "z");
  const int rows = static_cast<int>(convert::integer(info[2], "rows", 1, 1 << 20));
  const int cols = static_cast<int>(convert::integer(info[3], "cols", 1, 1 << 20));
  convert::require_length(z, static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols), "z");
  auto y = Napi::Float32Array::New(info.Env(), z.ElementLength());
  k.softmax_rows(z.Data(), cols, y.Data(), cols, rows, cols);
  return y;
}

Napi::Value column_sums(const Napi::CallbackInfo& info) {
  const KernelTable& k = table(info[0]);
  auto x = convert::float32_array(info[1], "x");
  const int rows = static_cast<int>(convert::integer(info[2], "rows", 1, 1 << 20));
  const int cols = static_cast<int>(convert::integer(info[3], "cols", 1, 1 << 20));
  convert::require_length(x, static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols), "x");
  auto out = Napi::Float32Array::New(info.Env(), static_cast<std::size_t>(cols));
  k.column_sums(x.Data(), cols, rows, cols, out.Data());
  return out;
}

Napi::Value sum_squares(const Napi::CallbackInfo& info) {
  const KernelTable& k = table(info[0]);
  auto x = convert::float32_array(info[1], "x");
  return Napi::Number::New(info.Env(), k.sum_squares(x.Data(), x.ElementLength()));
}

// lossAndGrad(isa, lossCode, out, rows, cols, y|null, labels|null, scale)
Napi::Value loss_and_grad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const KernelTable& k = table(info[0]);
  const auto loss = static_cast<Loss>(convert::integer(info[1], "loss", 0, 2));
  auto out = convert::float32_array(info[2], "out");
  const int rows = static_cast<int>(convert::integer(info[3], "rows", 1, 1 << 20));
  const int cols = static_cast<int>(convert::integer(info[4], "cols", 1, 1 << 20));
  const std::size_t n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
  convert::require_length(out, n, "out");
  Targets targets;
  if (!info[5].IsNull()) {
    auto y = convert::float32_array(info[5], "y");
    convert::require_length(y, n, "y");
    targets.dense = y.Data();
  } else {
    auto labels = convert::int32_array(info[6], "labels");
    convert::require_length(labels, static_cast<std::size_t>(rows), "labels");
    for (std::size_t i = 0; i < labels.ElementLength(); ++i) {
      if (labels.Data()[i] < 0 || labels.Data()[i] >= cols) convert::throw_range(env, "label out of range");
    }
    targets.labels = labels.Data();
  }
  if (loss != Loss::kCrossEntropy && targets.dense == nullptr) convert::throw_type(env, "dense targets needed");
  const auto scale = static_cast<float>(convert::number(info[7], "scale"));
  auto grad = Napi::Float32Array::New(env, n);
  const LossSums sums = k.loss_and_grad(loss, out.Data(), cols, targets, rows, cols, scale, grad.Data(), cols);
  Napi::Object result = Napi::Object::New(env);
  result.Set("loss", sums.loss);
  result.Set("correct", sums.correct);
  result.Set("squaredError", sums.squared_error);
  result.Set("grad", grad);
  return result;
}

// sgemm(isa, threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, epilogue|null)
// Returns a new array: c's contents after the product (c itself is left untouched).
Napi::Value sgemm_test(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const KernelTable& k = table(info[0]);
  const int threads = static_cast<int>(convert::integer(info[1], "threads", 1, 64));
  const bool ta = convert::boolean(info[2], "transA");
  const bool tb = convert::boolean(info[3], "transB");
  const int m = static_cast<int>(convert::integer(info[4], "m", 1, 1 << 16));
  const int n = static_cast<int>(convert::integer(info[5], "n", 1, 1 << 16));
  const int kk = static_cast<int>(convert::integer(info[6], "k", 1, 1 << 16));
  const auto alpha = static_cast<float>(convert::number(info[7], "alpha"));
  auto a = convert::float32_array(info[8], "a");
  const int lda = static_cast<int>(convert::integer(info[9], "lda", 1, 1 << 20));
  auto b = convert::float32_array(info[10], "b");
  const int ldb = static_cast<int>(convert::integer(info[11], "ldb", 1, 1 << 20));
  const auto beta = static_cast<float>(convert::number(info[12], "beta"));
  auto c_in = convert::float32_array(info[13], "c");
  const int ldc = static_cast<int>(convert::integer(info[14], "ldc", 1, 1 << 20));
  const int a_rows = ta ? kk : m, a_cols = ta ? m : kk;
  const int b_rows = tb ? n : kk, b_cols = tb ? kk : n;
  auto need = [](int rows, int cols, int ld) { return static_cast<std::size_t>(rows - 1) * ld + cols; };
  if (lda < a_cols || ldb < b_cols || ldc < n || a.ElementLength() < need(a_rows, a_cols, lda) ||
      b.ElementLength() < need(b_rows, b_cols, ldb) || c_in.ElementLength() < need(m, n, ldc)) {
    convert::throw_range(env, "sgemm test: arrays too short for the shapes");
  }
  Epilogue epilogue;
  if (!info[15].IsNull() && !info[15].IsUndefined()) {
    Napi::Object e = info[15].As<Napi::Object>();
    epilogue.kind = static_cast<Epilogue::Kind>(convert::integer(e.Get("kind"), "epilogue kind", 0, 2));
    epilogue.activation = activation(e.Get("activation"), e.Get("slope"));
    if (epilogue.activation.kind == Activation::kSoftmax) convert::throw_range(env, "no softmax in an epilogue");
    if (epilogue.kind == Epilogue::Kind::kBiasActivation && e.Get("bias").IsTypedArray()) {
      auto bias = convert::float32_array(e.Get("bias"), "bias");
      convert::require_length(bias, static_cast<std::size_t>(n), "bias");
      epilogue.bias = bias.Data();
    }
    if (epilogue.kind == Epilogue::Kind::kActivationGrad) {
      auto y = convert::float32_array(e.Get("actOutput"), "actOutput");
      epilogue.ld_act_output = static_cast<int>(convert::integer(e.Get("ldActOutput"), "ldActOutput", n, 1 << 20));
      if (y.ElementLength() < need(m, n, epilogue.ld_act_output)) convert::throw_range(env, "actOutput too short");
      epilogue.act_output = y.Data();
    }
  }
  const auto path = info.Length() > 16 && info[16].IsNumber()
                        ? static_cast<GemmPath>(convert::integer(info[16], "path", 0, 3))
                        : GemmPath::kAuto;
  auto c = copy_of(env, c_in);
  ThreadPool pool(threads);
  GemmWorkspace workspace(threads);
  sgemm(k, workspace, &pool, ta ? Transpose::kYes : Transpose::kNo, tb ? Transpose::kYes : Transpose::kNo, m, n, kk,
        alpha, a.Data(), lda, b.Data(), ldb, beta, c.Data(), ldc, epilogue, path);
  return c;
}

Napi::Value log_softmax_rows(const Napi::CallbackInfo& info) {
  const KernelTable& k = table(info[0]);
  auto z = convert::float32_array(info[1], "z");
  const int rows = static_cast<int>(convert::integer(info[2], "rows", 1, 1 << 20));
  const int cols = static_cast<int>(convert::integer(info[3], "cols", 1, 1 << 20));
  convert::require_length(z, static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols), "z");
  auto y = Napi::Float32Array::New(info.Env(), z.ElementLength());
  k.log_softmax_rows(z.Data(), cols, y.Data(), cols, rows, cols);
  return y;
}

// optimizerUpdate(isa, kind: 'sgd'|'adam'|'rmsprop', params, grads, slot0|null, slot1|null, step)
// Updates copies and returns { params, slot0, slot1 }.
Napi::Value optimizer_update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const KernelTable& k = table(info[0]);
  const std::string kind = info[1].As<Napi::String>().Utf8Value();
  auto params_in = convert::float32_array(info[2], "params");
  auto grads = convert::float32_array(info[3], "grads");
  const std::size_t n = params_in.ElementLength();
  convert::require_length(grads, n, "grads");
  auto params = copy_of(env, params_in);
  Napi::Float32Array slot0, slot1;
  if (!info[4].IsNull()) {
    slot0 = copy_of(env, convert::float32_array(info[4], "slot0"));
    convert::require_length(slot0, n, "slot0");
  }
  if (!info[5].IsNull()) {
    slot1 = copy_of(env, convert::float32_array(info[5], "slot1"));
    convert::require_length(slot1, n, "slot1");
  }
  Napi::Object o = info[6].As<Napi::Object>();
  auto num = [&](const char* key, float fallback) {
    Napi::Value v = o.Get(key);
    return v.IsUndefined() ? fallback : static_cast<float>(convert::number(v, key));
  };
  OptimizerStep step;
  step.learning_rate = num("learningRate", step.learning_rate);
  step.weight_decay = num("weightDecay", step.weight_decay);
  step.momentum = num("momentum", step.momentum);
  step.nesterov = o.Get("nesterov").ToBoolean().Value();
  step.decoupled = o.Get("decoupled").ToBoolean().Value();
  step.beta1 = num("beta1", step.beta1);
  step.beta2 = num("beta2", step.beta2);
  step.step_size = num("stepSize", step.step_size);
  step.bias2_sqrt = num("bias2Sqrt", step.bias2_sqrt);
  step.rho = num("rho", step.rho);
  step.epsilon = num("epsilon", step.epsilon);
  float* s0 = slot0.IsEmpty() ? nullptr : slot0.Data();
  float* s1 = slot1.IsEmpty() ? nullptr : slot1.Data();
  if (kind == "sgd") {
    k.sgd_update(params.Data(), grads.Data(), s0, n, step);
  } else if (kind == "adam") {
    if (s0 == nullptr || s1 == nullptr) convert::throw_type(env, "adam needs two slots");
    k.adam_update(params.Data(), grads.Data(), s0, s1, n, step);
  } else if (kind == "rmsprop") {
    if (s0 == nullptr) convert::throw_type(env, "rmsprop needs a slot");
    k.rmsprop_update(params.Data(), grads.Data(), s0, n, step);
  } else {
    convert::throw_range(env, "unknown optimizer " + kind);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("params", params);
  result.Set("slot0", slot0.IsEmpty() ? env.Null() : Napi::Value(slot0));
  result.Set("slot1", slot1.IsEmpty() ? env.Null() : Napi::Value(slot1));
  return result;
}

// benchGemm(isa, threads, transA, transB, m, n, k, calls, reps, path): times `reps` rounds of
// `calls` products on random data in native code (no per-call JS overhead, as in training);
// returns each round's seconds.
Napi::Value bench_gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const KernelTable& k = table(info[0]);
  const int threads = static_cast<int>(convert::integer(info[1], "threads", 1, 256));
  const bool ta = convert::boolean(info[2], "transA");
  const bool tb = convert::boolean(info[3], "transB");
  const int m = static_cast<int>(convert::integer(info[4], "m", 1, 1 << 15));
  const int n = static_cast<int>(convert::integer(info[5], "n", 1, 1 << 15));
  const int kk = static_cast<int>(convert::integer(info[6], "k", 1, 1 << 15));
  const int calls = static_cast<int>(convert::integer(info[7], "calls", 1, 1 << 30));
  const int reps = static_cast<int>(convert::integer(info[8], "reps", 1, 1000));
  const auto path = static_cast<GemmPath>(convert::integer(info[9], "path", 0, 3));
  // Optional fused epilogue, as the training step uses it: 1 = bias + ReLU (forward),
  // 2 = times ReLU'(Y) (backward deltas, Y random with about half zeros).
  const int fused = info.Length() > 10 ? static_cast<int>(convert::integer(info[10], "epilogue", 0, 2)) : 0;
  AlignedBuffer<float> a(static_cast<std::size_t>(m) * kk), b(static_cast<std::size_t>(kk) * n),
      c(static_cast<std::size_t>(m) * n), bias(static_cast<std::size_t>(n)), y(static_cast<std::size_t>(m) * n);
  std::uint32_t x = 12345;
  for (auto* buf : {&a, &b, &bias, &y}) {
    for (float& v : *buf) {
      x = x * 1664525u + 1013904223u;
      v = static_cast<float>(x >> 8) * (1.0f / 16777216.0f) - 0.5f;
    }
  }
  for (float& v : y) v = v > 0.0f ? v : 0.0f;
  c.fill(0.0f);
  Epilogue epilogue;
  epilogue.activation.kind = Activation::kRelu;
  if (fused == 1) {
    epilogue.kind = Epilogue::Kind::kBiasActivation;
    epilogue.bias = bias.data();
  } else if (fused == 2) {
    epilogue.kind = Epilogue::Kind::kActivationGrad;
    epilogue.act_output = y.data();
    epilogue.ld_act_output = n;
  }
  ThreadPool pool(threads);
  GemmWorkspace workspace(threads);
  const Transpose tra = ta ? Transpose::kYes : Transpose::kNo, trb = tb ? Transpose::kYes : Transpose::kNo;
  const int lda = ta ? m : kk, ldb = tb ? kk : n;
  auto run = [&] {
    sgemm(k, workspace, &pool, tra, trb, m, n, kk, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), n, epilogue, path);
  };
  run();
  auto out = Napi::Float64Array::New(env, static_cast<std::size_t>(reps));
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i) run();
    out[static_cast<std::size_t>(r)] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return out;
}

// fmaPeak(isa, threads, iterations): runs the table's FMA loop on `threads` threads at once;
// returns { flops, seconds }.
Napi::Value fma_peak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const KernelTable& k = table(info[0]);
  const int threads = static_cast<int>(convert::integer(info[1], "threads", 1, 256));
  const auto iterations = convert::integer(info[2], "iterations", 1, std::int64_t{1} << 40);
  ThreadPool pool(threads);
  std::vector<double> flops(static_cast<std::size_t>(threads), 0.0);
  std::vector<float> sink(static_cast<std::size_t>(threads), 0.0f);
  auto task = [&](int t, int) {
    flops[static_cast<std::size_t>(t)] = k.fma_peak(iterations, &sink[static_cast<std::size_t>(t)]);
  };
  pool.parallel_for(threads, task);  // warm up (wakes the workers, raises the clock)
  const auto t0 = std::chrono::steady_clock::now();
  pool.parallel_for(threads, task);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double total = 0;
  for (double f : flops) total += f;
  Napi::Object result = Napi::Object::New(env);
  result.Set("flops", total);
  result.Set("seconds", seconds);
  result.Set("sink", static_cast<double>(sink[0]));
  return result;
}

// profileStep(isa, threads, steps, rows): the W2 training step (784-256-128-10, ReLU, softmax
// cross-entropy, SGD) on `rows` x 784 batches taken in order from 60,000 random rows, as the
// trainer runs it (same Network, same calls, FTZ on, packing buffers reserved first); returns
// the median microseconds per step of each phase.
Napi::Value profile_step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const KernelTable& k = table(info[0]);
  const int threads = static_cast<int>(convert::integer(info[1], "threads", 1, 256));
  const int steps = static_cast<int>(convert::integer(info[2], "steps", 1, 100000));
  const int rows = static_cast<int>(convert::integer(info[3], "rows", 1, 4096));
  ScopedFlushDenormals flush;
  const Architecture arch(784, {LayerSpec{256, {Activation::kRelu, 0.01f}}, LayerSpec{128, {Activation::kRelu, 0.01f}},
                                LayerSpec{10, {Activation::kSoftmax, 0.01f}}});
  constexpr int kSamples = 60000;
  AlignedBuffer<float> x(static_cast<std::size_t>(kSamples) * 784), params(arch.param_count()), grads(arch.param_count());
  std::vector<std::int32_t> labels(kSamples);
  std::uint32_t r = 7;
  auto next = [&r] {
    r = r * 1664525u + 1013904223u;
    return static_cast<float>(r >> 8) * (1.0f / 16777216.0f);
  };
  for (float& v : x) v = next();
  for (auto& l : labels) l = static_cast<std::int32_t>(next() * 10.0f) % 10;
  for (float& v : params) v = (next() - 0.5f) * 0.1f;
  ThreadPool pool(threads);
  Compute compute;
  compute.kernels = &k;
  compute.pool = &pool;
  compute.gemm.reserve(threads);
  Network network(arch);
  network.reserve(rows);
  OptimizerConfig oc;
  Optimizer optimizer(oc, arch.param_count());
  OptimizerStep step;
  step.learning_rate = 0.01f;
  const std::size_t allocations = compute.gemm.allocations();
  std::vector<double> t_fwd, t_loss, t_bwd, t_opt, t_opt_table, t_total, t_total_table;
  using Clock = std::chrono::steady_clock;
  auto us = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::micro>(b - a).count(); };
  int batch = 0;
  for (int s = 0; s < steps; ++s) {
    if ((batch + 1) * rows > kSamples) batch = 0;
    const float* xb = x.data() + static_cast<std::size_t>(batch) * rows * 784;
    Targets targets;
    targets.labels = labels.data() + static_cast<std::size_t>(batch) * rows;
    ++batch;
    const auto t0 = Clock::now();
    network.forward(compute, params.data(), xb, rows, /*logits_out=*/true);
    const auto t1 = Clock::now();
    network.loss_and_output_delta(compute, Loss::kCrossEntropy, targets, rows);
    const auto t2 = Clock::now();
    network.backward(compute, params.data(), xb, rows, grads.data());
    const auto t3 = Clock::now();
    // Even steps: the update on the calling thread only; odd steps: split over the pool (what
    // training does), so the profile shows what the split saves.
    optimizer.step(k, s % 2 == 0 ? nullptr : &pool, params.data(), grads.data(), params.size(), 0.01f);
    const auto t4 = Clock::now();
    t_fwd.push_back(us(t0, t1));
    t_loss.push_back(us(t1, t2));
    t_bwd.push_back(us(t2, t3));
    (s % 2 == 0 ? t_opt : t_opt_table).push_back(us(t3, t4));
    (s % 2 == 0 ? t_total : t_total_table).push_back(us(t0, t4));
  }
  auto quantile = [](std::vector<double> v, double q) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
  };
  auto median = [&](const std::vector<double>& v) { return quantile(v, 0.5); };
  Napi::Object o = Napi::Object::New(env);
  o.Set("forwardUs", median(t_fwd));
  o.Set("lossUs", median(t_loss));
  o.Set("backwardUs", median(t_bwd));
  o.Set("optimizerStepUs", median(t_opt));        // Optimizer::step (optimizer.cc, scalar)
  o.Set("optimizerKernelUs", median(t_opt_table));  // the table's sgd_update, split over the pool
  o.Set("stepUs", median(t_total));              // with Optimizer::step
  o.Set("stepUsTableKernel", median(t_total_table));  // with the table's sgd_update over the pool
  o.Set("stepUsTableKernelP10", quantile(t_total_table, 0.1));
  // The fastest tenth of the steps: on a shared machine, what a step costs when it has the cores.
  o.Set("forwardUsP10", quantile(t_fwd, 0.1));
  o.Set("backwardUsP10", quantile(t_bwd, 0.1));
  o.Set("stepUsP10", quantile(t_total, 0.1));
  o.Set("workspaceAllocationsDuringSteps", static_cast<double>(compute.gemm.allocations() - allocations));
  return o;
}

// sharedPoolGemm(isa, threads, callers, rounds): `callers` threads share one pool of `threads`
// and each runs `rounds` products (its own workspace) at the same time as the others; whoever
// finds the pool busy runs inline. Returns how many results differed, bit for bit, from the
// same product computed alone on one thread.
Napi::Value shared_pool_gemm(const Napi::CallbackInfo& info) {
  const KernelTable& k = table(info[0]);
  const int threads = static_cast<int>(convert::integer(info[1], "threads", 1, 64));
  const int callers = static_cast<int>(convert::integer(info[2], "callers", 1, 16));
  const int rounds = static_cast<int>(convert::integer(info[3], "rounds", 1, 10000));
  ThreadPool pool(threads);
  struct Job {
    int m, n, kk;
    AlignedBuffer<float> a, b, want, got;
  };
  std::vector<Job> jobs(static_cast<std::size_t>(callers));
  std::uint32_t r = 99;
  for (int c = 0; c < callers; ++c) {
    Job& j = jobs[static_cast<std::size_t>(c)];
    j.m = 100 + 37 * c;
    j.n = 150 + 11 * c;
    j.kk = 90 + 23 * c;
    j.a.resize(static_cast<std::size_t>(j.m) * j.kk);
    j.b.resize(static_cast<std::size_t>(j.kk) * j.n);
    for (auto* buf : {&j.a, &j.b}) {
      for (float& v : *buf) {
        r = r * 1664525u + 1013904223u;
        v = static_cast<float>(r >> 8) * (1.0f / 16777216.0f) - 0.5f;
      }
    }
    j.want.resize(static_cast<std::size_t>(j.m) * j.n);
    j.got.resize(j.want.size());
    GemmWorkspace ws(1);
    sgemm(k, ws, nullptr, Transpose::kNo, Transpose::kNo, j.m, j.n, j.kk, 1.0f, j.a.data(), j.kk, j.b.data(), j.n, 0.0f,
          j.want.data(), j.n);
  }
  std::atomic<int> differing{0};
  std::vector<std::thread> running;
  for (int c = 0; c < callers; ++c) {
    running.emplace_back([&, c] {
      Job& j = jobs[static_cast<std::size_t>(c)];
      GemmWorkspace ws(threads);
      for (int i = 0; i < rounds; ++i) {
        sgemm(k, ws, &pool, Transpose::kNo, Transpose::kNo, j.m, j.n, j.kk, 1.0f, j.a.data(), j.kk, j.b.data(), j.n,
              0.0f, j.got.data(), j.n);
        if (std::memcmp(j.got.data(), j.want.data(), j.want.size() * sizeof(float)) != 0) differing.fetch_add(1);
      }
    });
  }
  for (auto& t : running) t.join();
  return Napi::Number::New(info.Env(), differing.load());
}

Napi::Value gemm_blocking(const Napi::CallbackInfo& info) {
  const KernelTable& k = table(info[0]);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("mr", k.gemm_blocking.mr);
  o.Set("nr", k.gemm_blocking.nr);
  o.Set("mc", k.gemm_blocking.mc);
  o.Set("kc", k.gemm_blocking.kc);
  o.Set("nc", k.gemm_blocking.nc);
  return o;
}

}  // namespace

void init_testing(Napi::Env env, Napi::Object exports) {
  Napi::Object testing = Napi::Object::New(env);
  testing.Set("isaSupported", Napi::Function::New<isa_supported>(env));
#if defined(MLPSTREAM_X86)
  testing.Set("cpuidSupported", Napi::Function::New<cpuid_supported>(env));
#endif
  testing.Set("activationForward", Napi::Function::New<activation_forward>(env));
  testing.Set("activationBackward", Napi::Function::New<activation_backward>(env));
  testing.Set("softmaxRows", Napi::Function::New<softmax_rows>(env));
  testing.Set("columnSums", Napi::Function::New<column_sums>(env));
  testing.Set("sumSquares", Napi::Function::New<sum_squares>(env));
  testing.Set("lossAndGrad", Napi::Function::New<loss_and_grad>(env));
  testing.Set("sgemm", Napi::Function::New<sgemm_test>(env));
  testing.Set("logSoftmaxRows", Napi::Function::New<log_softmax_rows>(env));
  testing.Set("optimizerUpdate", Napi::Function::New<optimizer_update>(env));
  testing.Set("benchGemm", Napi::Function::New<bench_gemm>(env));
  testing.Set("fmaPeak", Napi::Function::New<fma_peak>(env));
  testing.Set("gemmBlocking", Napi::Function::New<gemm_blocking>(env));
  testing.Set("profileStep", Napi::Function::New<profile_step>(env));
  testing.Set("sharedPoolGemm", Napi::Function::New<shared_pool_gemm>(env));
  exports.Set("testing", testing);
}

}  // namespace mlpstream
