// Times the native side of W3 alone: 10,000 full-batch epochs of the 2-4-1 XOR network
// (tanh, sigmoid + BCE, SGD lr 0.5), with and without the per-epoch work a run adds (metrics,
// commit). For profiling the tiny-epoch path without the JS stream; run under
// `valgrind --tool=callgrind` for instruction counts that do not depend on machine load.
//   cmake -S . -B build-tools -DMLPSTREAM_NATIVE_TOOLS=ON && cmake --build build-tools -j2
//   build-tools/xor_epochs [epochs]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "core/gemm/kernels.h"
#include "core/nn/model.h"
#include "core/nn/trainer.h"
#include "core/util/thread_pool.h"

using namespace mlpstream;

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 10000;
  ThreadPool pool(1);
  const KernelTable& kernels = select_kernels();
  for (const bool diagnostics : {true, false}) {
    Model model(Architecture(2, {LayerSpec{4, {Activation::kTanh, 0.01f}}, LayerSpec{1, {Activation::kSigmoid, 0.01f}}}));
    model.initialize(7);
    Dataset data;
    data.rows = 4;
    data.inputs = 2;
    data.outputs = 1;
    data.x.resize(8);
    data.y.resize(4);
    const float x[] = {0, 0, 0, 1, 1, 0, 1, 1};
    const float y[] = {0, 1, 1, 0};
    for (int i = 0; i < 8; ++i) data.x[static_cast<std::size_t>(i)] = x[i];
    for (int i = 0; i < 4; ++i) data.y[static_cast<std::size_t>(i)] = y[i];
    TrainConfig config;
    config.loss = Loss::kBinaryCrossEntropy;
    config.shuffle = false;
    config.optimizer.learning_rate = 0.5f;
    config.diagnostics = diagnostics;
    Trainer trainer(model, std::move(data), Dataset{}, config, kernels, &pool, false);
    std::atomic<bool> cancel{false};
    EpochMetrics metrics;
    const auto t0 = std::chrono::steady_clock::now();
    for (int e = 0; e < epochs; ++e) {
      trainer.run_epoch(cancel, metrics);
      trainer.commit(model, false);
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s, diagnostics %s: %d epochs in %.2f ms (%.3f us/epoch), loss %.5f\n", kernels.name,
                diagnostics ? "on " : "off", epochs, ms, ms * 1000 / epochs, metrics.loss);
  }
  return 0;
}
